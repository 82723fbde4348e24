//! The relay as the simulation runs it: the product's own decisions
//! (`concord_relay::relay::Session` per connection, each document's
//! `concord_relay::hub::DocState`), driven the way `connection.rs` and
//! `hub.rs` drive them, over an in-memory store in place of SQLite.
//!
//! The store is a committed log per document, which survives a crash,
//! and a writer that commits everything queued as one transaction (group
//! commit) a little later, refusing the jobs of an epoch whose commit
//! failed (as `store.rs`'s fences do). A crash loses every session, every
//! hub and the queue; of the jobs queued, a prefix may have committed
//! (the transaction in flight made it to disk) and the rest are lost.
//! After a restart each document is rebuilt from its committed log.

use concord_relay::config::Config;
use concord_relay::error::CommitFailed;
use concord_relay::hub::{DocState, LoadFailed, Signal, Submission};
use concord_relay::relay::{Documents, Effect, Input, Log, Now, Session, Unusable};
use concord_wire::{
    ChangeSource, DocId, Frame, MAX_RECORD_BYTES, Record, ReplicaId, VersionVector,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::net::{ConnId, Dir, Wire};
use crate::sched::{Ctx, Event};
use crate::show;
use crate::time::{Clock, MS, Micros, SEC, duration};

/// The wall clock's reading when the simulation begins (before skew).
pub const T0_UNIX: u64 = 1_700_000_000;

/// The relay's clocks: a monotonic one at its own rate, and a wall clock
/// that also starts off by an offset (token expiry reads it).
#[derive(Debug, Clone, Copy)]
pub struct RelayClock {
    pub clock: Clock,
    pub wall_offset_secs: i64,
}

impl RelayClock {
    pub fn wall(self, now: Micros) -> u64 {
        let secs =
            i128::from(T0_UNIX + self.clock.local(now) / SEC) + i128::from(self.wall_offset_secs);
        u64::try_from(secs).unwrap_or(0)
    }
}

/// What survives a relay crash: the committed log of every document, its
/// rows joined as `store.rs` compacts them.
#[derive(Debug, Default)]
pub struct Store {
    logs: BTreeMap<DocId, Vec<Record>>,
    versions: BTreeMap<DocId, VersionVector>,
    /// While set, every commit fails (a full disk).
    pub failing: bool,
    /// The chance that any one commit fails.
    pub flaky: f64,
    /// How long the writer may take to start a commit (an fsync).
    pub latency: Micros,
}

impl Store {
    /// The version of `doc`'s committed log.
    pub fn version(&self, doc: &DocId) -> VersionVector {
        self.versions.get(doc).cloned().unwrap_or_default()
    }

    pub fn log(&self, doc: &DocId) -> &[Record] {
        self.logs.get(doc).map_or(&[], Vec::as_slice)
    }

    fn append(&mut self, doc: &DocId, batch: Vec<Record>) {
        let version = self.versions.entry(doc.clone()).or_default();
        for r in &batch {
            version.observe(r.replica(), r.last_seq());
        }
        self.logs.entry(doc.clone()).or_default().extend(batch);
    }

    /// `store.rs`'s compaction: each replica's run records that continue
    /// one another, from the one holding the seq before the one given on,
    /// become one row in the first one's place (up to `MAX_RECORD_BYTES`).
    fn compact(&mut self, doc: &DocId, from: &[(ReplicaId, u64)]) {
        let Some(log) = self.logs.get_mut(doc) else {
            return;
        };
        for &(replica, seq) in from {
            let mut out: Vec<Record> = Vec::with_capacity(log.len());
            // Where in `out` the replica's last row is, if it may grow.
            let mut growing: Option<usize> = None;
            for r in log.drain(..) {
                if r.replica() != replica || r.last_seq() + 1 < seq {
                    out.push(r);
                    continue;
                }
                if let (Some(at), Record::Run(next)) = (growing, &r)
                    && let Record::Run(acc) = &out[at]
                    && acc.continued_by(next)
                    && acc.bytes().len() + next.bytes().len() <= MAX_RECORD_BYTES
                {
                    out[at] = Record::Run(acc.join(next));
                    continue;
                }
                growing = matches!(r, Record::Run(_)).then_some(out.len());
                out.push(r);
            }
            *log = out;
        }
    }
}

/// One document in memory: its state, who is subscribed, commits pending.
#[derive(Debug)]
struct Hub {
    state: DocState,
    subscribers: BTreeSet<ConnId>,
    inflight: usize,
}

/// A batch a session admitted, waiting for the writer.
#[derive(Debug)]
struct Job {
    conn: ConnId,
    doc: DocId,
    submission: Submission,
    batch: Vec<Record>,
}

/// One connection: its session and what its driver keeps.
#[derive(Debug)]
struct Conn {
    device: usize,
    session: Session,
    /// The relay's monotonic clock when the connection began.
    start: Micros,
    joined: BTreeSet<DocId>,
    /// Messages received and not yet read (nothing is read while a commit
    /// is in flight: the session's back-pressure).
    inbox: VecDeque<Wire>,
    /// Commit results not yet handed to the session, in order.
    results: VecDeque<Result<VersionVector, CommitFailed>>,
    /// Documents changed by someone (a commit, a join or a leave).
    dirty: BTreeSet<DocId>,
    wake_due: bool,
    tick_at: Option<Micros>,
}

/// The documents a session reaches: the hubs it joined, and the writer's
/// queue a batch it admits goes to at once.
struct View<'a> {
    conn: ConnId,
    joined: &'a BTreeSet<DocId>,
    hubs: &'a mut BTreeMap<DocId, Hub>,
    queue: &'a mut VecDeque<Job>,
}

impl Documents for View<'_> {
    fn read<R>(&self, doc: &DocId, f: impl FnOnce(&DocState) -> R) -> Option<R> {
        if !self.joined.contains(doc) {
            return None;
        }
        self.hubs.get(doc).map(|h| f(&h.state))
    }

    fn admit<R>(
        &mut self,
        doc: &DocId,
        f: impl FnOnce(&mut DocState) -> (R, Vec<Record>),
    ) -> Option<R> {
        if !self.joined.contains(doc) {
            return None;
        }
        let hub = self.hubs.get_mut(doc)?;
        let (result, batch) = f(&mut hub.state);
        if !batch.is_empty() {
            hub.inflight += 1;
            self.queue.push_back(Job {
                conn: self.conn,
                doc: doc.clone(),
                submission: hub.state.submission(),
                batch,
            });
        }
        Some(result)
    }
}

#[derive(Debug)]
pub struct Relay {
    pub config: Config,
    pub clock: RelayClock,
    pub store: Store,
    up: bool,
    /// Bumped by every crash: events for an older process are ignored.
    pub life: u64,
    hubs: BTreeMap<DocId, Hub>,
    conns: BTreeMap<ConnId, Conn>,
    queue: VecDeque<Job>,
    /// Per document, the newest epoch that had a commit fail.
    fences: BTreeMap<DocId, u64>,
    next_epoch: u64,
    commit_due: bool,
}

const WHO: &str = "relay";

impl Relay {
    pub fn new(config: Config, clock: RelayClock) -> Self {
        Relay {
            config,
            clock,
            store: Store::default(),
            up: true,
            life: 0,
            hubs: BTreeMap::new(),
            conns: BTreeMap::new(),
            queue: VecDeque::new(),
            fences: BTreeMap::new(),
            next_epoch: 1,
            commit_due: false,
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Nothing waits for the writer.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    fn now(&self, start: Micros, now: Micros) -> Now {
        Now {
            elapsed: duration(self.clock.clock.local(now).saturating_sub(start)),
            unix_secs: self.clock.wall(now),
        }
    }

    // ---- connections ----

    /// A device opened connection `id`; false if the relay is down.
    pub fn accept(&mut self, id: ConnId, device: usize, ctx: &mut Ctx<'_>) -> bool {
        if !self.up {
            return false;
        }
        let start = self.clock.clock.local(ctx.now);
        let session = Session::new(&self.config, self.now(start, ctx.now));
        self.conns.insert(
            id,
            Conn {
                device,
                session,
                start,
                joined: BTreeSet::new(),
                inbox: VecDeque::new(),
                results: VecDeque::new(),
                dirty: BTreeSet::new(),
                wake_due: false,
                tick_at: None,
            },
        );
        self.schedule_tick(id, ctx);
        true
    }

    /// A message from the device arrives on `id`.
    pub fn deliver(&mut self, id: ConnId, wire: Wire, ctx: &mut Ctx<'_>) {
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.inbox.push_back(wire);
            self.wake_soon(id, ctx);
        }
    }

    fn wake_soon(&mut self, id: ConnId, ctx: &mut Ctx<'_>) {
        if let Some(conn) = self.conns.get_mut(&id)
            && !conn.wake_due
        {
            conn.wake_due = true;
            let at = ctx.now + ctx.rng.below(MS);
            ctx.at(
                at,
                Event::RelayWake {
                    conn: id,
                    relay: self.life,
                },
            );
        }
    }

    /// The connection's loop turns once: commit results, then one
    /// incoming message if it is reading, then whatever that caused.
    pub fn wake(&mut self, id: ConnId, ctx: &mut Ctx<'_>) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.wake_due = false;
        while let Some(result) = self.conns.get_mut(&id).and_then(|c| c.results.pop_front()) {
            self.input(id, Input::Committed(result), ctx);
            self.perform(id, ctx);
        }
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.session.reading()
            && let Some(wire) = conn.inbox.pop_front()
        {
            self.incoming(id, wire, ctx);
        }
        self.perform(id, ctx);
        if let Some(conn) = self.conns.get(&id)
            && conn.session.reading()
            && !conn.inbox.is_empty()
        {
            // One message per turn: the other connections run meanwhile.
            self.wake_soon(id, ctx);
        }
    }

    fn incoming(&mut self, id: ConnId, wire: Wire, ctx: &mut Ctx<'_>) {
        let device = self.conns.get(&id).map_or(0, |c| c.device);
        let input = match wire {
            Wire::Frame(bytes) | Wire::Sync(bytes)
                if bytes.len() > self.config.limits.max_message_bytes =>
            {
                Input::Unusable(Unusable::TooBig)
            }
            Wire::Frame(bytes) | Wire::Sync(bytes) => match Frame::decode(&bytes) {
                Ok(frame) => {
                    ctx.trace.line(
                        ctx.now,
                        WHO,
                        format_args!("c{id} <- d{device} {}", show::frame(&frame)),
                    );
                    Input::Frame(frame)
                }
                Err(e) => {
                    ctx.problem(
                        WHO,
                        &format!("c{id}: a frame from d{device} does not decode: {e}"),
                    );
                    Input::Malformed(e)
                }
            },
            Wire::Ping => {
                // The websocket library answers by itself.
                ctx.send(device, id, Dir::Down, Wire::Pong);
                Input::Heard
            }
            Wire::Pong => Input::Heard,
            Wire::Close(code) => {
                ctx.trace.line(
                    ctx.now,
                    WHO,
                    format_args!("c{id} closed by d{device} ({code})"),
                );
                self.drop_conn(id, ctx);
                return;
            }
        };
        self.input(id, input, ctx);
    }

    /// The session's deadline passed (if `at` is still its deadline).
    pub fn tick(&mut self, id: ConnId, at: Micros, ctx: &mut Ctx<'_>) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.tick_at != Some(at) {
            return;
        }
        conn.tick_at = None;
        self.input(id, Input::Tick, ctx);
        self.perform(id, ctx);
    }

    fn input(&mut self, id: ConnId, input: Input, ctx: &mut Ctx<'_>) {
        let Some(start) = self.conns.get(&id).map(|c| c.start) else {
            return;
        };
        let now = self.now(start, ctx.now);
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let mut view = View {
            conn: id,
            joined: &conn.joined,
            hubs: &mut self.hubs,
            queue: &mut self.queue,
        };
        conn.session.handle(input, now, &mut view);
    }

    fn poll(&mut self, id: ConnId) -> Option<Effect> {
        let conn = self.conns.get_mut(&id)?;
        let mut view = View {
            conn: id,
            joined: &conn.joined,
            hubs: &mut self.hubs,
            queue: &mut self.queue,
        };
        conn.session.poll(&mut view)
    }

    /// Does what the session says until it has nothing more to say, taking
    /// in the documents others changed meanwhile (as `connection.rs`).
    fn perform(&mut self, id: ConnId, ctx: &mut Ctx<'_>) {
        loop {
            let Some(effect) = self.poll(id) else {
                let Some(conn) = self.conns.get_mut(&id) else {
                    return;
                };
                let dirty = std::mem::take(&mut conn.dirty);
                if dirty.is_empty() {
                    break;
                }
                for doc in dirty {
                    self.input(id, Input::Changed(doc), ctx);
                }
                continue;
            };
            let device = self.conns.get(&id).map_or(0, |c| c.device);
            match effect {
                Effect::Send(frame) => {
                    ctx.trace.line(
                        ctx.now,
                        WHO,
                        format_args!("c{id} -> d{device} {}", show::frame(&frame)),
                    );
                    ctx.send(device, id, Dir::Down, Wire::frame(&frame));
                }
                Effect::Ping => ctx.send(device, id, Dir::Down, Wire::Ping),
                Effect::Join { doc, device: who } => {
                    let result = self.join(id, &doc, who, ctx);
                    self.input(id, Input::Joined { doc, result }, ctx);
                }
                Effect::Leave(doc) => self.leave(id, &doc, ctx),
                Effect::Close {
                    code,
                    reason,
                    frames,
                } => {
                    ctx.trace.line(
                        ctx.now,
                        WHO,
                        format_args!(
                            "c{id} closes ({code} {reason}) after {} frames",
                            frames.len()
                        ),
                    );
                    for frame in frames {
                        ctx.send(device, id, Dir::Down, Wire::frame(&frame));
                    }
                    ctx.send(device, id, Dir::Down, Wire::Close(code));
                    self.drop_conn(id, ctx);
                    return;
                }
                Effect::CloseForeign { .. } => {
                    ctx.problem(WHO, "a simulated device spoke another protocol version");
                    self.drop_conn(id, ctx);
                    return;
                }
                Effect::Reject(why) => {
                    *ctx.stats.relay_errors.entry(why.to_owned()).or_default() += 1;
                }
                Effect::Log(Log::CommitFailed { doc, error }) => ctx.trace.line(
                    ctx.now,
                    WHO,
                    format_args!("c{id} commit of {doc} failed: {error}"),
                ),
                Effect::Log(Log::TooSlow) => {
                    ctx.trace.line(ctx.now, WHO, format_args!("c{id} too slow"));
                }
            }
        }
        self.schedule_tick(id, ctx);
        if !self.queue.is_empty() && !self.commit_due {
            self.commit_due = true;
            let at = ctx.now + ctx.rng.range(MS, self.store.latency.max(MS));
            ctx.at(at, Event::Commit { relay: self.life });
        }
    }

    fn schedule_tick(&mut self, id: ConnId, ctx: &mut Ctx<'_>) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(deadline) = conn.session.deadline() else {
            return;
        };
        // Rounded up: at the tick the session's elapsed time has reached it.
        let micros = deadline.as_nanos().div_ceil(1000);
        let local = conn.start + u64::try_from(micros).unwrap_or(u64::MAX / 2);
        let at = self.clock.clock.true_span(local).max(ctx.now);
        if conn.tick_at != Some(at) {
            conn.tick_at = Some(at);
            ctx.at(
                at,
                Event::RelayTick {
                    conn: id,
                    relay: self.life,
                    at,
                },
            );
        }
    }

    /// `hub.rs`'s subscribe: the document is loaded from the store if it
    /// is not in memory, the connection joins it, everyone hears.
    fn join(
        &mut self,
        id: ConnId,
        doc: &DocId,
        device: ReplicaId,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), LoadFailed> {
        if !self.hubs.contains_key(doc) {
            let mut state = DocState::new(self.next_epoch);
            self.next_epoch += 1;
            if let Err(e) = state.install(self.store.log(doc).to_vec()) {
                ctx.problem(WHO, &format!("the stored log of {doc} does not load: {e}"));
                return Err(LoadFailed(e));
            }
            self.hubs.insert(
                doc.clone(),
                Hub {
                    state,
                    subscribers: BTreeSet::new(),
                    inflight: 0,
                },
            );
        }
        let (Some(hub), Some(conn)) = (self.hubs.get_mut(doc), self.conns.get_mut(&id)) else {
            return Err(LoadFailed("gone".into()));
        };
        hub.state.join(id, device, Arc::new(Signal::default()));
        hub.subscribers.insert(id);
        conn.joined.insert(doc.clone());
        self.mark_all(doc, ctx);
        Ok(())
    }

    fn leave(&mut self, id: ConnId, doc: &DocId, ctx: &mut Ctx<'_>) {
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.joined.remove(doc);
        }
        if let Some(hub) = self.hubs.get_mut(doc) {
            hub.state.leave(id);
            hub.subscribers.remove(&id);
        }
        self.mark_all(doc, ctx);
        self.evict_if_idle(doc);
    }

    /// The connection ended: it leaves every document.
    fn drop_conn(&mut self, id: ConnId, ctx: &mut Ctx<'_>) {
        if let Some(conn) = self.conns.remove(&id) {
            for doc in &conn.joined {
                if let Some(hub) = self.hubs.get_mut(doc) {
                    hub.state.leave(id);
                    hub.subscribers.remove(&id);
                }
                self.mark_all(doc, ctx);
                self.evict_if_idle(doc);
            }
        }
    }

    /// Every subscriber of `doc` is told it changed.
    fn mark_all(&mut self, doc: &DocId, ctx: &mut Ctx<'_>) {
        let Some(hub) = self.hubs.get(doc) else {
            return;
        };
        let subscribers: Vec<ConnId> = hub.subscribers.iter().copied().collect();
        for id in subscribers {
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.dirty.insert(doc.clone());
                self.wake_soon(id, ctx);
            }
        }
    }

    fn evict_if_idle(&mut self, doc: &DocId) {
        if self
            .hubs
            .get(doc)
            .is_some_and(|h| h.subscribers.is_empty() && h.inflight == 0)
            && let Some(mut hub) = self.hubs.remove(doc)
            && let Some(from) = hub.state.take_compaction(true)
        {
            // Leaving memory: join what is left to join, as `hub.rs` does.
            self.store.compact(doc, &from);
        }
    }

    // ---- the store's writer ----

    fn fenced(&self, job: &Job) -> bool {
        self.fences
            .get(&job.doc)
            .is_some_and(|&e| job.submission.epoch() <= e)
    }

    /// The writer commits everything queued as one transaction (jobs of
    /// an epoch that had a commit fail are refused), then reports each
    /// job to its document and its connection, in order.
    pub fn commit(&mut self, ctx: &mut Ctx<'_>) {
        self.commit_due = false;
        let jobs: Vec<Job> = self.queue.drain(..).collect();
        let fenced: Vec<bool> = jobs.iter().map(|j| self.fenced(j)).collect();
        let live = fenced.iter().filter(|f| !**f).count();
        let fails = live > 0 && (self.store.failing || ctx.rng.chance(self.store.flaky));
        if fails {
            ctx.stats.commit_failures += 1;
        }
        ctx.trace.line(
            ctx.now,
            WHO,
            format_args!(
                "commits {} jobs ({} refused as superseded): {}",
                jobs.len(),
                jobs.len() - live,
                if fails { "FAILS" } else { "ok" }
            ),
        );
        for (job, fenced) in jobs.into_iter().zip(fenced) {
            let epoch = job.submission.epoch();
            let reply = if fenced {
                Err(CommitFailed("superseded".into()))
            } else if fails {
                let e = self.fences.entry(job.doc.clone()).or_insert(epoch);
                *e = (*e).max(epoch);
                Err(CommitFailed("disk full".into()))
            } else {
                if self.fences.get(&job.doc).is_some_and(|&e| epoch > e) {
                    self.fences.remove(&job.doc);
                }
                self.store.append(&job.doc, job.batch.clone());
                Ok(())
            };
            self.completed(&job, reply, ctx);
        }
    }

    /// `hub.rs`'s completion: the document learns the result (committed
    /// and served, or its uncommitted tail dropped), then the connection.
    fn completed(&mut self, job: &Job, reply: Result<(), CommitFailed>, ctx: &mut Ctx<'_>) {
        let Some(hub) = self.hubs.get_mut(&job.doc) else {
            ctx.problem(
                WHO,
                &format!("a commit of {} with no document in memory", job.doc),
            );
            return;
        };
        hub.inflight -= 1;
        let mut served = false;
        let answer = match reply {
            Ok(()) => match hub.state.commit(job.submission) {
                Ok(s) => {
                    served = s;
                    if let Some(from) = hub.state.take_compaction(false) {
                        self.store.compact(&job.doc, &from);
                    }
                    Ok(hub.state.version())
                }
                Err(e) => {
                    ctx.problem(
                        WHO,
                        &format!("a commit of a rolled-back epoch of {} succeeded", job.doc),
                    );
                    Err(e)
                }
            },
            Err(e) => {
                let next = &mut self.next_epoch;
                hub.state.refuse(job.submission, || {
                    let epoch = *next;
                    *next += 1;
                    epoch
                });
                Err(e)
            }
        };
        if served {
            self.mark_all(&job.doc, ctx);
        }
        self.evict_if_idle(&job.doc);
        if let Some(conn) = self.conns.get_mut(&job.conn) {
            conn.results.push_back(answer);
            self.wake_soon(job.conn, ctx);
        }
    }

    // ---- crashes ----

    /// The process dies: of the jobs queued a prefix may have committed;
    /// everything in memory is gone. Returns the connections that were
    /// open, and the device on the other end of each.
    pub fn crash(&mut self, ctx: &mut Ctx<'_>) -> Vec<(ConnId, usize)> {
        let jobs: Vec<Job> = self.queue.drain(..).collect();
        let landed = if self.store.failing {
            0
        } else {
            ctx.rng.index(jobs.len() + 1)
        };
        for (i, job) in jobs.into_iter().enumerate() {
            if self.fenced(&job) {
                continue;
            }
            if i < landed {
                self.store.append(&job.doc, job.batch);
            } else {
                ctx.stats.commits_lost_in_crash += 1;
            }
        }
        let conns = self.conns.iter().map(|(id, c)| (*id, c.device)).collect();
        ctx.trace.line(
            ctx.now,
            WHO,
            format_args!("CRASHES; {landed} queued jobs made it to disk"),
        );
        self.conns.clear();
        self.hubs.clear();
        self.fences.clear();
        self.up = false;
        self.commit_due = false;
        self.life += 1;
        ctx.stats.relay_crashes += 1;
        conns
    }

    pub fn restart(&mut self, ctx: &mut Ctx<'_>) {
        if self.up {
            return;
        }
        self.up = true;
        self.next_epoch = 1;
        ctx.trace.line(ctx.now, WHO, format_args!("restarts"));
    }
}

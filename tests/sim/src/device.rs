//! A device as the simulation runs it: the product's `concord_sync::Device`
//! driven the way the native client drives it (saves written and reported,
//! frames moved, an anti-entropy timer that also watches for stalls and
//! silence, reconnects with backoff and jitter), over an in-memory "disk".
//!
//! The disk is what the device's saves wrote, per document; it survives a
//! crash. A save takes a while to write; when the device crashes, each
//! save in flight has landed or not (both happen). A restarted device is a
//! new `Device` loaded from the disk, as a restarted process is.

use std::collections::BTreeMap;
use std::time::Duration;

use concord_core::{ChangeId, ReplicaId};
use concord_sync::{Compaction, Device, DeviceEvent, Save, SaveId, SaveWhat, StoredDocument};
use concord_wire::{DocId, ErrorCode, Frame, SyncStatus, close};

use crate::ledger::{self, Line, Report};
use crate::net::{ConnId, Dir, Wire};
use crate::relay::Store;
use crate::sched::{Ctx, Event};
use crate::show;
use crate::time::{Clock, MS, Micros, SEC, duration};

/// The driver's timers, on the device's own clock (the native client's
/// defaults, the backoff shorter).
const ANTI_ENTROPY: Micros = 10 * SEC;
const STALL_TIMEOUT: Micros = 30 * SEC;
const BACKOFF_BASE: Micros = 200 * MS;
const BACKOFF_MAX: Micros = 5 * SEC;

/// The device's connection, as its driver sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Offline,
    Connecting,
    Open(ConnId),
}

/// An edit applied and not yet reported saved.
#[derive(Debug)]
struct Pending {
    doc: DocId,
    change: ChangeId,
    lines: Vec<Line>,
}

/// A running device process: what a crash loses.
#[derive(Debug)]
pub struct Running {
    pub device: Device,
    /// True time the process started: its monotonic clock's origin.
    origin: Micros,
    /// Saves handed to the store and not yet written.
    saves: BTreeMap<u64, Save>,
    pub link: Link,
    /// When something last arrived from the relay.
    last_heard: Micros,
    pending: Vec<Pending>,
}

#[derive(Debug)]
pub struct SimDevice {
    pub index: usize,
    pub name: String,
    pub replica: ReplicaId,
    pub clock: Clock,
    /// What the saves wrote, per document (and the token it syncs with).
    pub disk: BTreeMap<DocId, StoredDocument>,
    pub run: Option<Running>,
    /// Bumped by every crash: events for an older process are ignored.
    pub life: u64,
    /// The user wants it online.
    pub online: bool,
    /// Connection attempts since one last worked.
    attempts: u32,
    /// Edits made, over every life: tokens are `<name.n>`.
    edits: u64,
    pub compaction: Compaction,
    pub max_batch_bytes: usize,
    /// The chance that a save fails (the disk is full).
    pub flaky_disk: f64,
    /// How long a save may take to write (a slow disk, IndexedDB).
    pub save_latency: Micros,
}

impl SimDevice {
    pub fn new(index: usize, clock: Clock) -> Self {
        SimDevice {
            index,
            name: format!("d{index}"),
            replica: ReplicaId(0x101 + index as u128),
            clock,
            disk: BTreeMap::new(),
            run: None,
            life: 0,
            online: true,
            attempts: 0,
            edits: 0,
            compaction: Compaction::default(),
            max_batch_bytes: concord_wire::DEFAULT_MAX_BATCH_BYTES,
            flaky_disk: 0.0,
            save_latency: 40 * MS,
        }
    }

    /// The true time it takes the device's clock to advance `local`.
    fn span(&self, local: Micros) -> Micros {
        self.clock.true_span(local)
    }

    fn trace(&self, ctx: &mut Ctx<'_>, what: std::fmt::Arguments<'_>) {
        ctx.trace.line(ctx.now, &self.name, what);
    }

    // ---- life ----

    /// A new process: a new `Device` with every document on the disk.
    pub fn boot(&mut self, ctx: &mut Ctx<'_>) {
        if self.run.is_some() {
            return;
        }
        let mut device = Device::new(self.replica, ctx.rng.next_u64())
            .with_compaction(self.compaction)
            .with_max_batch_bytes(self.max_batch_bytes);
        for (doc, stored) in &self.disk {
            if let Err(e) = device.load(doc.clone(), stored.clone(), Duration::ZERO) {
                ctx.problem(
                    &self.name,
                    &format!("{doc} does not load from its store: {e}"),
                );
            }
        }
        self.trace(
            ctx,
            format_args!("boots with {} documents", self.disk.len()),
        );
        self.run = Some(Running {
            device,
            origin: ctx.now,
            saves: BTreeMap::new(),
            link: Link::Offline,
            last_heard: ctx.now,
            pending: Vec::new(),
        });
        self.attempts = 0;
        let (device, life) = (self.index, self.life);
        ctx.at(
            ctx.now + self.span(ANTI_ENTROPY),
            Event::DeviceTimer { device, life },
        );
        if self.online {
            ctx.at(ctx.now, Event::Connect { device, life });
        }
        self.settle(ctx);
    }

    /// The process dies. Each save in flight has landed or not. Returns
    /// the connection that was open.
    pub fn crash(&mut self, ctx: &mut Ctx<'_>) -> Option<ConnId> {
        let run = self.run.take()?;
        let mut landed = 0;
        for save in run.saves.into_values() {
            if ctx.rng.chance(0.5) {
                write(&mut self.disk, &save);
                landed += 1;
            } else {
                ctx.stats.saves_lost_in_crash += 1;
            }
        }
        self.life += 1;
        ctx.stats.device_crashes += 1;
        self.trace(
            ctx,
            format_args!(
                "CRASHES ({landed} saves in flight landed, {} edits unreported)",
                run.pending.len()
            ),
        );
        match run.link {
            Link::Open(conn) => Some(conn),
            _ => None,
        }
    }

    pub fn is_running(&self) -> bool {
        self.run.is_some()
    }

    pub fn link(&self) -> Link {
        self.run.as_ref().map_or(Link::Offline, |r| r.link)
    }

    // ---- documents ----

    /// Opens `doc` from a share link: an empty replica with `token`,
    /// recorded on the disk at once (as the client's `open`).
    pub fn join(&mut self, doc: &DocId, token: String, ctx: &mut Ctx<'_>) {
        if self.disk.contains_key(doc) {
            return;
        }
        let stored = StoredDocument {
            token,
            ..StoredDocument::default()
        };
        self.disk.insert(doc.clone(), stored.clone());
        self.trace(ctx, format_args!("joins {doc}"));
        if let Some(run) = &mut self.run {
            let now = device_time(self.clock, run.origin, ctx.now);
            if let Err(e) = run.device.load(doc.clone(), stored, now) {
                ctx.problem(&self.name, &format!("{doc} does not open: {e}"));
            }
        }
        self.settle(ctx);
    }

    /// A new token for `doc` (the old one expired or was refused).
    pub fn new_token(&mut self, doc: &DocId, token: String, ctx: &mut Ctx<'_>) {
        if let Some(stored) = self.disk.get_mut(doc) {
            stored.token.clone_from(&token);
        }
        let Some(run) = &mut self.run else {
            return;
        };
        let now = device_time(self.clock, run.origin, ctx.now);
        if run.device.is_open(doc) {
            let _ = run.device.set_token(doc, token, now);
        }
        self.settle(ctx);
    }

    /// One edit of `doc`'s body, recorded as tried; saved once the device
    /// says its store holds it.
    pub fn edit(&mut self, doc: &DocId, ctx: &mut Ctx<'_>) {
        let Some(run) = &mut self.run else {
            return;
        };
        if !run.device.is_open(doc) {
            return;
        }
        self.edits += 1;
        let (n, now) = (self.edits, device_time(self.clock, run.origin, ctx.now));
        let rng = &mut *ctx.rng;
        let tag = &self.name;
        let edited = run
            .device
            .edit(doc, |tx| ledger::edit(tx, rng, tag, n), now);
        match edited {
            Ok(Ok(lines)) => {
                let Ok(document) = run.device.document(doc) else {
                    return;
                };
                let replica = document.replica();
                let change = ChangeId::new(replica, document.version().get(replica));
                ctx.ledger.record(doc, &lines, Report::Tried);
                ctx.stats.edits += 1;
                ctx.trace.line(
                    ctx.now,
                    &self.name,
                    format_args!("edits {doc} as {change:?}: {lines:?}"),
                );
                run.pending.push(Pending {
                    doc: doc.clone(),
                    change,
                    lines,
                });
            }
            Ok(Err(e)) => ctx.problem(&self.name, &format!("an edit of {doc} failed: {e}")),
            Err(e) => ctx.problem(&self.name, &format!("an edit of {doc} failed: {e}")),
        }
        self.settle(ctx);
    }

    // ---- the store ----

    /// The save `id` is written (or fails, if the disk is flaky).
    pub fn save_done(&mut self, id: u64, ctx: &mut Ctx<'_>) {
        let Some(run) = &mut self.run else {
            return;
        };
        let Some(save) = run.saves.remove(&id) else {
            return;
        };
        let now = device_time(self.clock, run.origin, ctx.now);
        if ctx.rng.chance(self.flaky_disk) {
            ctx.stats.saves_failed += 1;
            ctx.trace.line(
                ctx.now,
                &self.name,
                format_args!("save #{id} of {} FAILS", save.doc),
            );
            run.device
                .save_failed(SaveId(id), "the disk is full".into(), now);
        } else {
            write(&mut self.disk, &save);
            run.device.saved(SaveId(id), now);
            let device = &run.device;
            let (ledger, trace) = (&mut *ctx.ledger, &mut *ctx.trace);
            run.pending.retain(|p| {
                let saved = device.durable(&p.doc).is_ok_and(|v| v.contains(p.change));
                if saved {
                    ledger.record(&p.doc, &p.lines, Report::Saved);
                    trace.line(
                        ctx.now,
                        &self.name,
                        format_args!("reports {:?} of {} saved", p.change, p.doc),
                    );
                }
                !saved
            });
        }
        self.settle(ctx);
    }

    /// Takes out what the device wants done: saves, frames, events.
    pub fn settle(&mut self, ctx: &mut Ctx<'_>) {
        let Some(run) = &mut self.run else {
            return;
        };
        let (device, life) = (self.index, self.life);
        while let Some(save) = run.device.poll_save() {
            let id = save.id.0;
            let what = match &save.what {
                SaveWhat::Append(c) => format!("append {}", show::changes(c)),
                SaveWhat::Snapshot(_) => "snapshot".to_owned(),
                SaveWhat::Replace { .. } => "replace".to_owned(),
            };
            ctx.trace.line(
                ctx.now,
                &self.name,
                format_args!("save #{id} of {}: {what}", save.doc),
            );
            let at = ctx.now + ctx.rng.range(MS, self.save_latency);
            ctx.at(
                at,
                Event::SaveDone {
                    device,
                    life,
                    save: id,
                },
            );
            run.saves.insert(id, save);
        }
        if let Link::Open(conn) = run.link {
            while let Some(frame) = run.device.poll_frame() {
                ctx.trace.line(
                    ctx.now,
                    &self.name,
                    format_args!("c{conn} -> {}", show::frame(&frame)),
                );
                ctx.send(device, conn, Dir::Up, Wire::frame(&frame));
            }
        }
        let events: Vec<DeviceEvent> = std::iter::from_fn(|| run.device.poll_event()).collect();
        for event in events {
            self.on_event(event, ctx);
        }
    }

    fn on_event(&mut self, event: DeviceEvent, ctx: &mut Ctx<'_>) {
        let name = &self.name;
        match event {
            DeviceEvent::RelayError {
                doc: Some(doc),
                code: code @ (ErrorCode::TokenExpired | ErrorCode::Unauthorized),
                ..
            } => {
                ctx.stats.tokens_refused += 1;
                ctx.trace.line(
                    ctx.now,
                    name,
                    format_args!("{doc} refused ({}): asks for a new token", code.name()),
                );
                let at = ctx.now + ctx.rng.range(100 * MS, 3 * SEC);
                let device = self.index;
                ctx.at(at, Event::NewToken { device, doc });
            }
            DeviceEvent::RelayError { code, .. } => {
                *ctx.stats
                    .relay_errors
                    .entry(format!("seen: {}", code.name()))
                    .or_default() += 1;
            }
            DeviceEvent::ChangeRejected {
                doc,
                change,
                reason,
            } => ctx.problem(
                name,
                &format!("{doc}: a change from the relay was rejected: {change:?}: {reason}"),
            ),
            DeviceEvent::ChangeUnreadable {
                doc,
                change,
                reason,
            } => ctx.problem(
                name,
                &format!("{doc}: a change from the relay is unreadable: {change:?}: {reason}"),
            ),
            DeviceEvent::IdForged { doc, forged, .. } => ctx.problem(
                name,
                &format!("{doc}: the relay holds another change as ours: {forged:?}"),
            ),
            DeviceEvent::Status { doc, status } => {
                ctx.trace
                    .line(ctx.now, name, format_args!("{doc} is {status:?}"));
            }
            DeviceEvent::SaveFailed { .. }
            | DeviceEvent::Connection(_)
            | DeviceEvent::RemoteChange { .. }
            | DeviceEvent::Presence { .. } => {}
        }
    }

    // ---- the connection ----

    /// The driver starts opening a connection.
    pub fn connecting(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(run) = &mut self.run else {
            return false;
        };
        if !self.online || run.link != Link::Offline {
            return false;
        }
        run.device.connecting();
        run.link = Link::Connecting;
        self.settle(ctx);
        true
    }

    /// The connection opened as `conn`.
    pub fn opened(&mut self, conn: ConnId, ctx: &mut Ctx<'_>) {
        let Some(run) = &mut self.run else {
            return;
        };
        let now = device_time(self.clock, run.origin, ctx.now);
        run.device.connected(now);
        run.link = Link::Open(conn);
        run.last_heard = ctx.now;
        ctx.trace
            .line(ctx.now, &self.name, format_args!("c{conn} opens"));
        self.settle(ctx);
    }

    /// The connection failed to open, or is gone: try again after a
    /// backoff with jitter.
    pub fn lost(&mut self, ctx: &mut Ctx<'_>) {
        let Some(run) = &mut self.run else {
            return;
        };
        let now = device_time(self.clock, run.origin, ctx.now);
        run.device.disconnected(now);
        run.link = Link::Offline;
        self.attempts += 1;
        if self.online {
            let full = BACKOFF_BASE
                .saturating_mul(1 << self.attempts.min(8))
                .min(BACKOFF_MAX);
            let wait = ctx.rng.range(full / 2, full);
            let (device, life) = (self.index, self.life);
            ctx.at(ctx.now + self.span(wait), Event::Connect { device, life });
        }
        self.settle(ctx);
    }

    /// The driver drops its socket (the relay hears of it, if the network
    /// lets it through).
    pub fn hang_up(&mut self, ctx: &mut Ctx<'_>) {
        if let Link::Open(conn) = self.link() {
            ctx.send(self.index, conn, Dir::Up, Wire::Close(close::NORMAL));
        }
        self.lost(ctx);
    }

    /// A message from the relay on `conn`.
    pub fn receive(&mut self, conn: ConnId, wire: Wire, ctx: &mut Ctx<'_>) {
        let Some(run) = &mut self.run else {
            return;
        };
        if run.link != Link::Open(conn) {
            return;
        }
        run.last_heard = ctx.now;
        let now = device_time(self.clock, run.origin, ctx.now);
        match wire {
            Wire::Frame(bytes) | Wire::Sync(bytes) => match Frame::decode(&bytes) {
                Ok(frame) => {
                    ctx.trace.line(
                        ctx.now,
                        &self.name,
                        format_args!("c{conn} <- {}", show::frame(&frame)),
                    );
                    self.attempts = 0;
                    run.device.receive(frame, now);
                }
                Err(e) => {
                    ctx.problem(
                        &self.name,
                        &format!("a frame from the relay does not decode: {e}"),
                    );
                }
            },
            Wire::Ping => ctx.send(self.index, conn, Dir::Up, Wire::Pong),
            Wire::Pong => {}
            Wire::Close(code) => {
                ctx.trace
                    .line(ctx.now, &self.name, format_args!("c{conn} closed ({code})"));
                self.lost(ctx);
                return;
            }
        }
        self.settle(ctx);
    }

    /// The driver's timer: on a live connection, repeat the version
    /// exchange, give up a stalled or silent connection, ping.
    pub fn timer(&mut self, ctx: &mut Ctx<'_>) {
        let Some(run) = &mut self.run else {
            return;
        };
        let (device, life) = (self.index, self.life);
        ctx.at(
            ctx.now + self.clock.true_span(ANTI_ENTROPY),
            Event::DeviceTimer { device, life },
        );
        let Link::Open(conn) = run.link else {
            return;
        };
        let now = device_time(self.clock, run.origin, ctx.now);
        run.device.anti_entropy(now);
        let silent = self.clock.local(ctx.now.saturating_sub(run.last_heard));
        if let Some(doc) = run.device.stalled(now, duration(STALL_TIMEOUT)) {
            ctx.trace.line(
                ctx.now,
                &self.name,
                format_args!("{doc} stalled: reconnects"),
            );
            self.hang_up(ctx);
        } else if silent > STALL_TIMEOUT {
            ctx.trace.line(
                ctx.now,
                &self.name,
                format_args!("the relay went silent: reconnects"),
            );
            self.hang_up(ctx);
        } else {
            ctx.send(self.index, conn, Dir::Up, Wire::Ping);
            self.settle(ctx);
        }
    }

    /// The user sets the device offline (or back online).
    pub fn set_online(&mut self, online: bool, ctx: &mut Ctx<'_>) {
        self.online = online;
        if online {
            self.attempts = 0;
            if self.link() == Link::Offline && self.is_running() {
                let (device, life) = (self.index, self.life);
                ctx.at(ctx.now, Event::Connect { device, life });
            }
        } else if self.link() != Link::Offline {
            ctx.stats.offline += 1;
            self.trace(ctx, format_args!("goes offline"));
            self.hang_up(ctx);
        }
    }

    /// Why the device is not yet quiet and equal to the relay's store for
    /// every one of `docs`, if it is not.
    pub fn unquiet(&self, docs: &[DocId], store: &Store) -> Option<String> {
        let Some(run) = &self.run else {
            return Some("not running".into());
        };
        if !matches!(run.link, Link::Open(_)) {
            return Some(format!("{:?}", run.link));
        }
        if !run.saves.is_empty() {
            return Some(format!("{} saves in flight", run.saves.len()));
        }
        for doc in docs {
            let Ok(document) = run.device.document(doc) else {
                return Some(format!("{doc} not open"));
            };
            let status = run.device.status(doc).ok()?;
            let unsaved = run.device.unsaved(doc).unwrap_or(0);
            let relay = store.version(doc);
            if status != SyncStatus::Synced || unsaved > 0 || *document.version() != relay {
                return Some(format!(
                    "{doc} {status:?}, {unsaved} unsaved, has {} and the relay {}",
                    show::version(document.version()),
                    show::version(&relay)
                ));
            }
        }
        None
    }
}

/// A device's monotonic time at true time `now`: since its process
/// started at `origin`, on its own clock.
fn device_time(clock: Clock, origin: Micros, now: Micros) -> Duration {
    duration(clock.local(now.saturating_sub(origin)))
}

/// Writes `save` to `disk`, all or nothing (as the device tests' store).
fn write(disk: &mut BTreeMap<DocId, StoredDocument>, save: &Save) {
    let entry = disk.entry(save.doc.clone()).or_default();
    match &save.what {
        SaveWhat::Append(changes) => entry.changes.extend(changes.iter().cloned()),
        SaveWhat::Snapshot(bytes) => {
            entry.snapshot = Some(bytes.clone());
            entry.changes.clear();
        }
        SaveWhat::Replace { snapshot, replica } => {
            entry.snapshot = Some(snapshot.clone());
            entry.changes.clear();
            entry.replica = Some(*replica);
        }
    }
}

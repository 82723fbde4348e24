//! One seeded run: the plan drawn from the seed, the event loop, the
//! chaos, the healing, and the checks at the end.
//!
//! A run goes through three phases. **Chaos**: devices join documents,
//! edit them (some before their first sync), crash and restart, go
//! offline; the relay crashes and restarts and its store fails for a
//! while; every path drops, duplicates and reorders messages, is cut or
//! partitioned; tokens expire by the relay's skewed clock and are renewed.
//! **Heal**: the faults stop, everything restarts and reconnects, every
//! device joins every document; the run waits (bounded) until every device
//! is synced, saved and equal to the relay's store. **Fresh**: a device
//! that never edited joins every document and must end up the same. Then
//! the checks: every replica equal, and every body holding exactly what
//! the devices said they saved.

use std::collections::BTreeSet;

use concord_relay::config::{Auth, Config, Limits};
use concord_relay::token::{self, Secret, mint};
use concord_sync::Compaction;
use concord_wire::{Access, DocId};

use crate::device::{Link, SimDevice};
use crate::ledger::Ledger;
use crate::net::{ConnId, Dir, Path};
use crate::relay::{Relay, RelayClock, T0_UNIX};
use crate::rng::Rng;
use crate::sched::{Ctx, Event, Out, Queue, Stats};
use crate::show;
use crate::time::{Clock, MS, Micros, SEC};
use crate::trace::Trace;

/// How long the healed system may take to become quiet and equal.
const HEAL_LIMIT: Micros = 600 * SEC;
/// A run that takes more events than this is stuck in a loop.
const MAX_EVENTS: u64 = 2_000_000;
/// Tokens handed out once healed: valid for days, whatever the skew.
const LONG_TOKEN: u64 = 10 * 24 * 3600;

/// What a run found.
#[derive(Debug)]
pub struct Outcome {
    pub seed: u64,
    /// Empty when the run passed.
    pub problems: Vec<String>,
    /// A hash of every trace line: the same seed gives the same hash.
    pub trace_hash: u64,
    /// The trace's last lines (or all of them, if asked).
    pub trace: Vec<String>,
    /// One paragraph: what the run did.
    pub summary: String,
    /// Every document's final body, as the fresh device has it.
    pub bodies: Vec<String>,
    /// What the run did, counted.
    pub stats: Stats,
    /// Inserts and deletes the devices reported saved.
    pub saved: (u64, u64),
}

/// The choices a seed makes before anything happens.
#[derive(Debug)]
struct Plan {
    devices: usize,
    docs: usize,
    chaos: Micros,
    /// The mean gap between two chaos steps.
    step: Micros,
    /// How long tokens handed out during the chaos are valid, at most.
    token_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Chaos,
    Heal { since: Micros },
    Fresh { since: Micros },
    Done,
}

struct World {
    seed: u64,
    now: Micros,
    rng: Rng,
    queue: Queue,
    out: Vec<Out>,
    trace: Trace,
    ledger: Ledger,
    stats: Stats,
    problems: Vec<String>,
    relay: Relay,
    devices: Vec<SimDevice>,
    paths: Vec<Path>,
    docs: Vec<DocId>,
    secret: Secret,
    plan: Plan,
    phase: Phase,
    next_conn: ConnId,
    /// Numbers the latest partition, offline spell and store failure, so
    /// that the end of an older one is ignored.
    partitions: Vec<u64>,
    spells: Vec<u64>,
    store_failures: u64,
    healed_after: Option<Micros>,
    /// Documents a device was told the relay holds more of than it does
    /// (reported once each).
    ack_violations: BTreeSet<(usize, DocId)>,
}

/// Runs the simulation of `seed`; `keep_trace` keeps every trace line.
pub fn run(seed: u64, keep_trace: bool) -> Outcome {
    let mut world = World::new(seed, keep_trace);
    world.start();
    world.run();
    world.outcome()
}

impl World {
    fn new(seed: u64, keep_trace: bool) -> Self {
        let mut rng = Rng::new(seed);
        let plan = Plan {
            devices: rng.range(2, 4) as usize,
            docs: rng.range(1, 3) as usize,
            chaos: rng.range(20, 90) * SEC,
            step: rng.range(200, 1500) * MS,
            token_secs: rng.range(60, 900),
        };
        let secret = Secret::new(vec![7u8; 32]).expect("a long enough secret");
        let config = relay_config(&mut rng, &secret);
        let clock = RelayClock {
            clock: skewed(&mut rng),
            wall_offset_secs: rng.range(0, 240).cast_signed() - 120,
        };
        let mut relay = Relay::new(config, clock);
        relay.store.flaky = if rng.chance(0.3) { 0.05 } else { 0.0 };
        relay.store.latency = rng.range(2, 200) * MS;
        let devices = (0..plan.devices)
            .map(|i| {
                let mut d = SimDevice::new(i, skewed(&mut rng));
                d.compaction = Compaction {
                    max_records: rng.range(2, 30) as usize,
                };
                if rng.chance(0.3) {
                    d.max_batch_bytes = rng.range(64, 600) as usize;
                }
                d.flaky_disk = if rng.chance(0.2) { 0.05 } else { 0.0 };
                d.save_latency = rng.range(2, 300) * MS;
                d
            })
            .collect();
        World {
            seed,
            now: 0,
            queue: Queue::default(),
            out: Vec::new(),
            trace: Trace::new(keep_trace),
            ledger: Ledger::default(),
            stats: Stats::default(),
            problems: Vec::new(),
            relay,
            devices,
            paths: (0..=plan.devices).map(|_| Path::default()).collect(),
            docs: (0..plan.docs)
                .map(|i| DocId::new(format!("note{i}")).expect("a valid id"))
                .collect(),
            secret,
            partitions: vec![0; plan.devices + 1],
            spells: vec![0; plan.devices + 1],
            plan,
            rng,
            phase: Phase::Chaos,
            next_conn: 1,
            store_failures: 0,
            healed_after: None,
            ack_violations: BTreeSet::new(),
        }
    }

    /// What each part may touch, beside the relay and the devices.
    fn parts(&mut self) -> (Ctx<'_>, &mut Relay, &mut Vec<SimDevice>) {
        let World {
            now,
            rng,
            trace,
            out,
            ledger,
            stats,
            problems,
            relay,
            devices,
            ..
        } = self;
        let ctx = Ctx {
            now: *now,
            rng,
            trace,
            out,
            ledger,
            stats,
            problems,
        };
        (ctx, relay, devices)
    }

    fn at(&mut self, at: Micros, event: Event) {
        self.queue.push(at, event);
    }

    fn note(&mut self, what: std::fmt::Arguments<'_>) {
        self.trace.line(self.now, "world", what);
    }

    /// Devices boot (some offline for a while, so they edit before their
    /// first sync), join some documents, and the chaos begins.
    fn start(&mut self) {
        let line = format!(
            "seed {}: {} devices, {} documents, {} s of chaos, a step every {} ms on average",
            self.seed,
            self.plan.devices,
            self.plan.docs,
            self.plan.chaos / SEC,
            self.plan.step / MS
        );
        self.note(format_args!("{line}"));
        for d in 0..self.plan.devices {
            for doc in self.docs.clone() {
                if self.rng.chance(0.6) {
                    let token = self.token(&doc, false);
                    let (mut ctx, _, devices) = self.parts();
                    devices[d].join(&doc, token, &mut ctx);
                }
            }
            if self.rng.chance(0.4) {
                self.devices[d].online = false;
                let back = self.rng.range(1, 30) * SEC;
                self.at(
                    back,
                    Event::BackOnline {
                        device: d,
                        number: 0,
                    },
                );
            }
            let (mut ctx, _, devices) = self.parts();
            devices[d].boot(&mut ctx);
        }
        let first = self.rng.below(self.plan.step);
        self.at(first, Event::Chaos);
        self.at(self.plan.chaos, Event::Heal);
        self.flush();
    }

    /// A token for `doc`, valid by the true clock for a while (or, once
    /// healing, for days).
    fn token(&mut self, doc: &DocId, long: bool) -> String {
        let secs = if long {
            LONG_TOKEN
        } else {
            self.rng
                .range(self.plan.token_secs / 2, self.plan.token_secs)
        };
        mint(
            &self.secret,
            doc,
            Access::ReadWrite,
            T0_UNIX + self.now / SEC + secs,
        )
    }

    fn run(&mut self) {
        while let Some((at, event)) = self.queue.pop() {
            self.now = at;
            self.stats.events += 1;
            if self.stats.events > MAX_EVENTS {
                self.problems
                    .push(format!("more than {MAX_EVENTS} events: stuck in a loop?"));
                break;
            }
            self.handle(event);
            self.flush();
            if self.phase == Phase::Done {
                break;
            }
        }
    }

    /// Puts what the parts asked for into the queue, messages through
    /// their path.
    fn flush(&mut self) {
        for out in std::mem::take(&mut self.out) {
            match out {
                Out::At(at, event) => self.queue.push(at, event),
                Out::Send {
                    device,
                    conn,
                    dir,
                    wire,
                } => {
                    let arrivals = self.paths[device].send(
                        self.now,
                        conn,
                        dir,
                        wire,
                        &mut self.rng,
                        &mut self.stats.net,
                    );
                    for a in arrivals {
                        self.queue.push(
                            a.at,
                            Event::Deliver {
                                device,
                                conn: a.conn,
                                dir: a.dir,
                                wire: a.wire,
                            },
                        );
                    }
                }
            }
        }
    }

    fn handle(&mut self, event: Event) {
        let relay_life = self.relay.life;
        let chaos = self.phase == Phase::Chaos;
        match event {
            Event::Deliver {
                conn,
                dir: Dir::Up,
                wire,
                ..
            } => {
                let (mut ctx, relay, _) = self.parts();
                relay.deliver(conn, wire, &mut ctx);
            }
            Event::Deliver {
                device,
                conn,
                dir: Dir::Down,
                wire,
            } => {
                let (mut ctx, _, devices) = self.parts();
                devices[device].receive(conn, wire, &mut ctx);
                self.check_acks(device);
            }
            Event::RelayWake { conn, relay } if relay == relay_life => {
                let (mut ctx, relay, _) = self.parts();
                relay.wake(conn, &mut ctx);
            }
            Event::RelayTick { conn, relay, at } if relay == relay_life => {
                let (mut ctx, relay, _) = self.parts();
                relay.tick(conn, at, &mut ctx);
            }
            Event::Commit { relay } if relay == relay_life => {
                let (mut ctx, relay, _) = self.parts();
                relay.commit(&mut ctx);
            }
            Event::RelayRestart => {
                let (mut ctx, relay, _) = self.parts();
                relay.restart(&mut ctx);
            }
            Event::DeviceTimer { device, life } if self.devices[device].life == life => {
                let (mut ctx, _, devices) = self.parts();
                devices[device].timer(&mut ctx);
            }
            Event::Connect { device, life } if self.devices[device].life == life => {
                self.connect(device);
            }
            Event::Connected { device, life } if self.devices[device].life == life => {
                self.connected(device);
            }
            Event::SaveDone { device, life, save } if self.devices[device].life == life => {
                let (mut ctx, _, devices) = self.parts();
                devices[device].save_done(save, &mut ctx);
            }
            Event::Crash { device, life } if self.devices[device].life == life => {
                self.crash_now(device);
            }
            Event::DeviceRestart { device } => {
                let (mut ctx, _, devices) = self.parts();
                devices[device].boot(&mut ctx);
            }
            Event::Type {
                device,
                life,
                doc,
                left,
            } if self.devices[device].life == life && chaos => self.type_on(device, doc, left),
            Event::NewToken { device, doc } => self.new_token(device, &doc),
            Event::Chaos if chaos => {
                self.chaos();
                let gap = self.rng.below(2 * self.plan.step);
                self.at(self.now + gap, Event::Chaos);
            }
            Event::PartitionEnds { device, number } if self.partitions[device] == number => {
                self.heal_path(device);
            }
            Event::StoreRecovers { number } if self.store_failures == number => {
                self.relay.store.failing = false;
                self.note(format_args!("the store commits again"));
            }
            Event::BackOnline { device, number } if self.spells[device] == number => {
                let (mut ctx, _, devices) = self.parts();
                devices[device].set_online(true, &mut ctx);
            }
            Event::Heal => self.heal(),
            Event::Check => self.check(),
            // For a process that died since, or a phase that ended.
            _ => {}
        }
    }

    /// One edit of a typing burst; the next follows shortly.
    fn type_on(&mut self, device: usize, doc: DocId, left: u32) {
        let (mut ctx, _, devices) = self.parts();
        devices[device].edit(&doc, &mut ctx);
        if left > 0 {
            let at = self.now + self.rng.range(30 * MS, 800 * MS);
            let life = self.devices[device].life;
            self.at(
                at,
                Event::Type {
                    device,
                    life,
                    doc,
                    left: left - 1,
                },
            );
        }
    }

    /// The relay refused `device`'s token for `doc`: its user opens the
    /// share link again and gets a new one, if the token has expired by
    /// the relay's clock. (A valid token refused is a bug: nobody fixes
    /// it for the device.)
    fn new_token(&mut self, device: usize, doc: &DocId) {
        let relay_now = self.relay.clock.wall(self.now);
        let d = &self.devices[device];
        let current = d.disk.get(doc).map(|s| s.token.clone()).unwrap_or_default();
        if token::verify(&self.secret, &current, doc, relay_now).is_ok() {
            let name = d.name.clone();
            self.trace.line(
                self.now,
                &name,
                format_args!("{doc}: its token is valid; no new one"),
            );
            return;
        }
        let token = self.token(doc, self.phase != Phase::Chaos);
        let (mut ctx, _, devices) = self.parts();
        devices[device].new_token(doc, token, &mut ctx);
    }

    fn problem(&mut self, who: &str, what: &str) {
        self.trace
            .line(self.now, who, format_args!("PROBLEM {what}"));
        self.problems.push(format!("{who}: {what}"));
    }

    /// A device starts opening a connection; it opens (or fails) a
    /// round trip later, or after a timeout if the path is partitioned.
    fn connect(&mut self, device: usize) {
        let (mut ctx, _, devices) = self.parts();
        if !devices[device].connecting(&mut ctx) {
            return;
        }
        let life = devices[device].life;
        let wait = if self.paths[device].reachable() {
            2 * Path::latency(&mut self.rng)
        } else {
            self.devices[device].clock.true_span(2 * SEC)
        };
        self.at(self.now + wait, Event::Connected { device, life });
    }

    fn connected(&mut self, device: usize) {
        if self.devices[device].link() != Link::Connecting {
            return;
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        let reachable = self.paths[device].reachable();
        let (mut ctx, relay, devices) = self.parts();
        if reachable && relay.accept(conn, device, &mut ctx) {
            devices[device].opened(conn, &mut ctx);
            // Now and then the device dies while its first sync runs.
            if self.phase == Phase::Chaos && self.rng.chance(0.05) {
                let soon = self.rng.range(MS, 300 * MS);
                self.crash_device(device, soon);
            }
        } else {
            let name = devices[device].name.clone();
            ctx.trace
                .line(ctx.now, &name, format_args!("cannot connect"));
            devices[device].lost(&mut ctx);
        }
    }

    /// Every Ack, Hello and change from the relay is committed: what a
    /// device counts as confirmed, the relay's store must hold.
    fn check_acks(&mut self, device: usize) {
        let Some(run) = &self.devices[device].run else {
            return;
        };
        let mut problems = Vec::new();
        for doc in &self.docs {
            if self.ack_violations.contains(&(device, doc.clone())) {
                continue;
            }
            let Ok(acked) = run.device.relay_acked(doc) else {
                continue;
            };
            let stored = self.relay.store.version(doc);
            if acked.iter().any(|(r, seq)| stored.get(r) < seq) {
                self.ack_violations.insert((device, doc.clone()));
                problems.push(format!(
                    "{doc}: the relay confirmed {} but its store holds {}",
                    show::version(acked),
                    show::version(&stored)
                ));
            }
        }
        let name = self.devices[device].name.clone();
        for what in problems {
            self.problem(&name, &what);
        }
    }
}

/// The relay's configuration for one run: sometimes tight limits (a low
/// rate, few held changes) so that refusals and re-asks happen too.
fn relay_config(rng: &mut Rng, secret: &Secret) -> Config {
    let mut limits = Limits::default();
    if rng.chance(0.3) {
        limits.max_pending_per_connection = rng.range(3, 30) as usize;
    }
    if rng.chance(0.3) {
        limits.max_changes_per_sec = f64::from(rng.range(5, 100) as u32);
        limits.changes_burst = f64::from(rng.range(3, 50) as u32);
    }
    limits.idle_timeout = std::time::Duration::from_secs(rng.range(30, 120));
    Config {
        auth: Auth::Secret(secret.clone()),
        limits,
        anti_entropy: std::time::Duration::from_secs(rng.range(5, 30)),
        web_dir: None,
    }
}

/// A clock 5% fast or slow at most.
fn skewed(rng: &mut Rng) -> Clock {
    Clock {
        rate_ppm: rng.range(950_000, 1_050_000),
    }
}

mod chaos;
mod end;

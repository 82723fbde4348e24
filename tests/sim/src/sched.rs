//! The event queue and what the parts of the simulation hand back to it.
//! Events run in time order, ties in the order they were scheduled: no
//! wall clock, no threads, nothing but the seed decides.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

use concord_wire::DocId;

use crate::ledger::Ledger;
use crate::net::{ConnId, Dir, NetStats, Wire};
use crate::rng::Rng;
use crate::time::Micros;
use crate::trace::Trace;

/// Something that happens at a moment of true time. Events for a device
/// or relay carry its incarnation: one that crashed meanwhile ignores them.
#[derive(Debug, Clone)]
pub enum Event {
    /// A message arrives at one end of `conn`.
    Deliver {
        device: usize,
        conn: ConnId,
        dir: Dir,
        wire: Wire,
    },
    /// The relay serves a connection: commit results, one incoming message,
    /// documents that changed.
    RelayWake {
        conn: ConnId,
        relay: u64,
    },
    /// A connection's session deadline.
    RelayTick {
        conn: ConnId,
        relay: u64,
        at: Micros,
    },
    /// The store's writer commits everything queued, as one transaction.
    Commit {
        relay: u64,
    },
    RelayRestart,
    /// A device's timer: anti-entropy, stall and silence checks, a Ping.
    DeviceTimer {
        device: usize,
        life: u64,
    },
    /// A device tries to open a connection.
    Connect {
        device: usize,
        life: u64,
    },
    /// The connection attempt ends: open, or failed.
    Connected {
        device: usize,
        life: u64,
    },
    /// A save handed to a device's store is written (or fails).
    SaveDone {
        device: usize,
        life: u64,
        save: u64,
    },
    /// A device's process dies.
    Crash {
        device: usize,
        life: u64,
    },
    DeviceRestart {
        device: usize,
    },
    /// A device's user types: `left` more edits of `doc` after this one.
    Type {
        device: usize,
        life: u64,
        doc: DocId,
        left: u32,
    },
    /// A device gets a new token for `doc` (its old one was refused).
    NewToken {
        device: usize,
        doc: DocId,
    },
    /// The chaos picks its next fault or edit.
    Chaos,
    /// A partition of a device's path ends.
    PartitionEnds {
        device: usize,
        number: u64,
    },
    /// The store commits again.
    StoreRecovers {
        number: u64,
    },
    /// A device that went offline comes back.
    BackOnline {
        device: usize,
        number: u64,
    },
    /// Faults stop; everything heals.
    Heal,
    /// After healing: is everything quiet and equal yet?
    Check,
}

/// What a part of the simulation asks for.
#[derive(Debug)]
pub enum Out {
    /// A message onto the network between `device` and the relay.
    Send {
        device: usize,
        conn: ConnId,
        dir: Dir,
        wire: Wire,
    },
    /// Something to happen at a later (or the same) moment.
    At(Micros, Event),
}

/// Counts for the run's summary line.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub events: u64,
    pub edits: u64,
    pub device_crashes: u64,
    pub saves_lost_in_crash: u64,
    pub saves_failed: u64,
    pub relay_crashes: u64,
    pub commits_lost_in_crash: u64,
    pub commit_failures: u64,
    pub cuts: u64,
    pub partitions: u64,
    pub offline: u64,
    pub tokens_refused: u64,
    pub relay_errors: BTreeMap<String, u64>,
    pub net: NetStats,
}

/// What every part may touch while it handles an event.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub now: Micros,
    pub rng: &'a mut Rng,
    pub trace: &'a mut Trace,
    pub out: &'a mut Vec<Out>,
    pub ledger: &'a mut Ledger,
    pub stats: &'a mut Stats,
    /// Anything an honest, eventually healed system must never do.
    pub problems: &'a mut Vec<String>,
}

impl Ctx<'_> {
    pub fn at(&mut self, at: Micros, event: Event) {
        self.out.push(Out::At(at, event));
    }

    pub fn send(&mut self, device: usize, conn: ConnId, dir: Dir, wire: Wire) {
        self.out.push(Out::Send {
            device,
            conn,
            dir,
            wire,
        });
    }

    pub fn problem(&mut self, who: &str, what: &str) {
        self.trace
            .line(self.now, who, format_args!("PROBLEM {what}"));
        self.problems.push(format!("{who}: {what}"));
    }
}

/// Events by time, then by the order they were scheduled.
#[derive(Debug, Default)]
pub struct Queue {
    heap: BinaryHeap<Entry>,
    next: u64,
}

#[derive(Debug)]
struct Entry {
    at: Micros,
    n: u64,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.n) == (other.at, other.n)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Reversed: the heap's greatest is the earliest.
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.n).cmp(&(self.at, self.n))
    }
}

impl Queue {
    pub fn push(&mut self, at: Micros, event: Event) {
        let n = self.next;
        self.next += 1;
        self.heap.push(Entry { at, n, event });
    }

    pub fn pop(&mut self) -> Option<(Micros, Event)> {
        self.heap.pop().map(|e| (e.at, e.event))
    }
}

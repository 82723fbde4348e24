//! The simulated network: between each device and the relay a `Path`
//! carrying websocket messages both ways, one connection at a time. It
//! delays every message, and may drop, duplicate or reorder it (as the
//! end-to-end tests' proxy does), black-hole or hold everything
//! (partitions), and refuse new connections while partitioned.

use concord_wire::Frame;

use crate::rng::Rng;
use crate::time::{MS, Micros};

/// One connection's id, never reused.
pub type ConnId = u64;

/// A websocket message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    /// A binary message: an encoded `Frame` that is not a `Sync`.
    Frame(Vec<u8>),
    /// An encoded `Frame::Sync`: the only messages the network reorders.
    /// The protocol promises that sync messages may arrive in any order,
    /// more than once or never; a websocket keeps its messages in order,
    /// so a reordered Subscribe (an expired token overtaking a fresh
    /// one) is no fault a real network makes.
    Sync(Vec<u8>),
    Ping,
    Pong,
    /// The sender closed the connection (with a close code), or its
    /// process died and the socket was reset.
    Close(u16),
}

impl Wire {
    /// `frame` as a websocket message.
    pub fn frame(frame: &Frame) -> Wire {
        match frame {
            Frame::Sync { .. } => Wire::Sync(frame.encode()),
            _ => Wire::Frame(frame.encode()),
        }
    }
}

/// Which way a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dir {
    /// Device to relay.
    Up,
    /// Relay to device.
    Down,
}

/// What a lossy path does to each message.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Faults {
    pub drop: f64,
    pub duplicate: f64,
    /// Sent with an extra delay, past the ones after it (sync messages).
    pub reorder: f64,
}

/// A partition: nothing gets through, and no connection opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// Messages are lost.
    Lost,
    /// Messages wait, and arrive when the partition ends.
    Held,
}

/// A message arriving.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub at: Micros,
    pub conn: ConnId,
    pub dir: Dir,
    pub wire: Wire,
}

/// What happened to the messages on a path, for the summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetStats {
    pub sent: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub held: u64,
}

/// The network between one device and the relay.
#[derive(Debug, Default)]
pub struct Path {
    pub faults: Faults,
    pub partition: Option<Partition>,
    held: Vec<(ConnId, Dir, Wire)>,
    /// When the last in-order message arrives, per direction (messages
    /// not reordered keep their order).
    tail: [Micros; 2],
}

/// Latency of one message.
const MIN_LATENCY: Micros = MS;
const MAX_LATENCY: Micros = 30 * MS;
/// A reordered message's extra delay, at most.
const MAX_REORDER: Micros = 300 * MS;

impl Path {
    /// Whether a connection can open now.
    pub fn reachable(&self) -> bool {
        self.partition.is_none()
    }

    /// Sends `wire`: what arrives, and when. A close is never dropped or
    /// duplicated (it is the socket ending), only lost in a partition.
    pub fn send(
        &mut self,
        now: Micros,
        conn: ConnId,
        dir: Dir,
        wire: Wire,
        rng: &mut Rng,
        stats: &mut NetStats,
    ) -> Vec<Delivery> {
        stats.sent += 1;
        match self.partition {
            Some(Partition::Lost) => {
                stats.dropped += 1;
                return Vec::new();
            }
            Some(Partition::Held) => {
                stats.held += 1;
                self.held.push((conn, dir, wire));
                return Vec::new();
            }
            None => {}
        }
        let control = matches!(wire, Wire::Close(_));
        if !control && rng.chance(self.faults.drop) {
            stats.dropped += 1;
            return Vec::new();
        }
        let copies = if !control && rng.chance(self.faults.duplicate) {
            stats.duplicated += 1;
            2
        } else {
            1
        };
        let mut out = Vec::with_capacity(copies);
        for _ in 0..copies {
            let at = if matches!(wire, Wire::Sync(_)) && rng.chance(self.faults.reorder) {
                stats.reordered += 1;
                now + rng.range(MIN_LATENCY, MAX_REORDER)
            } else {
                let tail = &mut self.tail[dir as usize];
                *tail = (*tail).max(now + rng.range(MIN_LATENCY, MAX_LATENCY));
                *tail
            };
            out.push(Delivery {
                at,
                conn,
                dir,
                wire: wire.clone(),
            });
        }
        out
    }

    /// Ends any partition: what it held arrives, in order.
    pub fn heal(&mut self, now: Micros, rng: &mut Rng) -> Vec<Delivery> {
        self.partition = None;
        std::mem::take(&mut self.held)
            .into_iter()
            .map(|(conn, dir, wire)| {
                let tail = &mut self.tail[dir as usize];
                *tail = (*tail).max(now + rng.range(MIN_LATENCY, MAX_LATENCY));
                Delivery {
                    at: *tail,
                    conn,
                    dir,
                    wire,
                }
            })
            .collect()
    }

    /// A one-way trip's delay, for what the network itself reports (a
    /// connection opening, a reset).
    pub fn latency(rng: &mut Rng) -> Micros {
        rng.range(MIN_LATENCY, MAX_LATENCY)
    }
}

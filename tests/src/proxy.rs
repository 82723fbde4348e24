//! A websocket proxy between clients and a relay that drops, duplicates,
//! reorders and delays messages, stalls or black-holes a direction for a
//! while, and cuts connections on demand.
//!
//! Messages are opaque to it: it never decodes a frame. Each direction of
//! each connection draws its decisions from its own RNG, seeded from the
//! proxy's seed, the connection's number and the direction, so a seed
//! reproduces the decisions for the same message sequence. Only data
//! messages (binary, text) suffer the random faults; pings, pongs and closes
//! pass. A stalled direction (`Proxy::stall`) holds or loses everything,
//! control messages too, as a network that stopped moving would.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// Per data message, the chance of each fault (checked in this order; the
/// rest pass untouched).
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    pub drop: f64,
    pub duplicate: f64,
    /// Held back and released after the next message, or after
    /// `reorder_delay` if none comes.
    pub reorder: f64,
    pub reorder_delay: Duration,
    /// Per data message that passes, the chance that it waits up to
    /// `max_delay` first, holding back those behind it (latency: the order
    /// is kept).
    pub delay: f64,
    pub max_delay: Duration,
}

/// One direction of every connection through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to relay.
    Up,
    /// Relay to client.
    Down,
}

/// What a direction does with the messages sent into it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stall {
    /// They pass (with the random `Faults`).
    #[default]
    Flowing,
    /// They wait, every one, and leave in order when the direction flows
    /// again (a link that froze for a while).
    Held,
    /// They vanish, every one, pings too, while the sockets stay open (a
    /// black hole: the other side hears nothing and is not told).
    Lost,
}

impl Faults {
    pub fn none() -> Self {
        Faults {
            reorder_delay: Duration::from_millis(50),
            ..Faults::default()
        }
    }
}

/// What the proxy did so far.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub forwarded: AtomicU64,
    pub dropped: AtomicU64,
    pub duplicated: AtomicU64,
    pub reordered: AtomicU64,
    pub delayed: AtomicU64,
    /// Messages that waited in a `Stall::Held` direction.
    pub held: AtomicU64,
    /// Messages lost in a `Stall::Lost` direction.
    pub lost: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    seed: u64,
    upstream: SocketAddr,
    faults: Mutex<Faults>,
    /// Bumped to cut every live connection.
    cut: watch::Sender<u64>,
    /// While set, new connections are dropped at once (a partition).
    blocked: AtomicBool,
    /// Per direction (`Direction as usize`).
    stall: [watch::Sender<Stall>; 2],
    stats: Stats,
}

impl Shared {
    fn faults(&self) -> Faults {
        *self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Listens on 127.0.0.1:0 and forwards each websocket to `upstream`
    /// (same path).
    pub async fn start(upstream: SocketAddr, seed: u64, faults: Faults) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            seed,
            upstream,
            faults: Mutex::new(faults),
            cut: watch::channel(0).0,
            blocked: AtomicBool::new(false),
            stall: [
                watch::channel(Stall::Flowing).0,
                watch::channel(Stall::Flowing).0,
            ],
            stats: Stats::default(),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Proxy {
            addr,
            shared,
            accept,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The sync endpoint through the proxy.
    pub fn url(&self) -> String {
        format!("ws://{}/v1/sync", self.addr)
    }

    pub fn set_faults(&self, faults: Faults) {
        *self
            .shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = faults;
    }

    /// Drops every live connection at once, both sides, without a close
    /// frame (as a network failure would). New connections are accepted.
    pub fn cut_all(&self) {
        self.shared.cut.send_modify(|n| *n += 1);
    }

    /// A partition: while `blocked`, live connections are cut and new ones
    /// dropped as soon as they are accepted.
    pub fn set_blocked(&self, blocked: bool) {
        self.shared.blocked.store(blocked, Ordering::SeqCst);
        if blocked {
            self.cut_all();
        }
    }

    /// Holds or loses everything sent in `direction` on every connection,
    /// live or new, until set back to `Stall::Flowing`.
    pub fn stall(&self, direction: Direction, stall: Stall) {
        self.shared.stall[direction as usize].send_replace(stall);
    }

    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut number = 0u64;
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        if shared.blocked.load(Ordering::SeqCst) {
            drop(tcp);
            continue;
        }
        number += 1;
        shared.stats.connections.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(serve(tcp, number, Arc::clone(&shared)));
    }
}

/// One client connection: accept the websocket, open one to the relay, pump
/// both ways until either side ends or the proxy cuts.
// The handshake callback's error type is tungstenite's, large or not.
#[allow(clippy::result_large_err)]
async fn serve(tcp: TcpStream, number: u64, shared: Arc<Shared>) {
    let mut cut = shared.cut.subscribe();
    let mut path = String::from("/");
    let callback = |req: &Request, resp: Response| {
        req.uri().path().clone_into(&mut path);
        Ok(resp)
    };
    let Ok(client) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    let url = format!("ws://{}{path}", shared.upstream);
    let Ok((relay, _)) = tokio_tungstenite::connect_async(url).await else {
        return; // dropping `client` closes it
    };
    let (client_tx, client_rx) = client.split();
    let (relay_tx, relay_rx) = relay.split();
    let seed = |direction: u64| {
        shared
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(number.wrapping_mul(2) + direction)
    };
    let up = pump(
        client_rx,
        relay_tx,
        StdRng::seed_from_u64(seed(0)),
        &shared,
        Direction::Up,
    );
    let down = pump(
        relay_rx,
        client_tx,
        StdRng::seed_from_u64(seed(1)),
        &shared,
        Direction::Down,
    );
    tokio::select! {
        () = up => {}
        () = down => {}
        _ = cut.changed() => {}
    }
}

/// Moves messages from `rx` to `tx`, with faults.
async fn pump<R, T>(mut rx: R, mut tx: T, mut rng: StdRng, shared: &Shared, direction: Direction)
where
    R: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
    T: futures_util::Sink<Message> + Unpin,
{
    let stats = &shared.stats;
    let mut stall = shared.stall[direction as usize].subscribe();
    // Held back to be reordered.
    let mut held: Vec<Message> = Vec::new();
    // Waiting while the direction is stalled.
    let mut stalled: VecDeque<Message> = VecDeque::new();
    loop {
        let faults = shared.faults();
        let state = *stall.borrow_and_update();
        if !settle(state, &mut stalled, &mut tx, stats).await {
            return;
        }
        let next = tokio::select! {
            m = rx.next() => m,
            () = tokio::time::sleep(faults.reorder_delay), if !held.is_empty() => {
                for m in held.drain(..) {
                    if tx.send(m).await.is_err() {
                        return;
                    }
                }
                continue;
            }
            changed = stall.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        let Some(Ok(msg)) = next else {
            return;
        };
        // As the direction is now: a message that comes after a switch is
        // treated as the switch says.
        let state = *stall.borrow_and_update();
        if !settle(state, &mut stalled, &mut tx, stats).await {
            return;
        }
        match state {
            Stall::Flowing => {}
            Stall::Held => {
                stats.held.fetch_add(1, Ordering::Relaxed);
                stalled.push_back(msg);
                continue;
            }
            Stall::Lost => {
                stats.lost.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        }
        let data = matches!(msg, Message::Binary(_) | Message::Text(_));
        if data {
            let roll: f64 = rng.random();
            if roll < faults.drop {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if roll < faults.drop + faults.duplicate {
                stats.duplicated.fetch_add(1, Ordering::Relaxed);
                if tx.send(msg.clone()).await.is_err() {
                    return;
                }
            } else if roll < faults.drop + faults.duplicate + faults.reorder {
                stats.reordered.fetch_add(1, Ordering::Relaxed);
                held.push(msg);
                continue;
            }
            // Drawn only when asked for, so seeds without delays repeat
            // the decisions they made before delays existed.
            if faults.delay > 0.0 && rng.random_bool(faults.delay.min(1.0)) {
                stats.delayed.fetch_add(1, Ordering::Relaxed);
                let most = u64::try_from(faults.max_delay.as_millis()).unwrap_or(u64::MAX);
                let wait = Duration::from_millis(rng.random_range(0..=most));
                tokio::time::sleep(wait).await;
            }
        }
        let closing = matches!(msg, Message::Close(_));
        if closing {
            held.clear();
        }
        if tx.send(msg).await.is_err() {
            return;
        }
        stats.forwarded.fetch_add(1, Ordering::Relaxed);
        // What was held goes after this message: reordered.
        for m in held.drain(..) {
            if tx.send(m).await.is_err() {
                return;
            }
        }
        if closing {
            return;
        }
    }
}

/// Carries out the direction's `state` on what waits in `stalled`: it
/// leaves, in order, once the direction flows, and is lost in a black hole.
/// False if the far side is gone.
async fn settle<T>(state: Stall, stalled: &mut VecDeque<Message>, tx: &mut T, stats: &Stats) -> bool
where
    T: futures_util::Sink<Message> + Unpin,
{
    match state {
        Stall::Flowing => {
            while let Some(m) = stalled.pop_front() {
                if tx.send(m).await.is_err() {
                    return false;
                }
            }
        }
        Stall::Held => {}
        Stall::Lost => {
            stats
                .lost
                .fetch_add(stalled.len() as u64, Ordering::Relaxed);
            stalled.clear();
        }
    }
    true
}

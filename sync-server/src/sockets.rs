//! Every accepted socket, counted from `accept` on: a silent socket holds a
//! file descriptor as surely as a websocket does.
//!
//! - At most `max_sockets` are open. When the relay is full, a new socket
//!   evicts the oldest one that has not become a websocket (a silent socket,
//!   an idle HTTP keep-alive, a handshake never finished); if every socket
//!   is a websocket, the new one is closed at once.
//! - A socket that is not a websocket is closed once it has moved no byte
//!   for `handshake_timeout`. Websockets time themselves out
//!   (`connection.rs`: nothing heard for the idle timeout).
//!
//! 1,100 silent sockets under a 1,024 descriptor limit used to lock out
//! `/healthz` and every client; now each newcomer pushes out the oldest of
//! them, and none outlives the handshake timeout.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

use crate::hub::lock;
use crate::metrics::Metrics;

/// Limits on accepted sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketLimits {
    pub max_sockets: usize,
    pub handshake_timeout: Duration,
}

#[derive(Debug, Default)]
struct Slot {
    evicted: AtomicBool,
    websocket: AtomicBool,
    waker: AtomicWaker,
}

#[derive(Debug, Default)]
struct Registry {
    next: u64,
    open: usize,
    /// Sockets that are not websockets, oldest first.
    waiting: BTreeMap<u64, Arc<Slot>>,
}

/// The count of open sockets, shared by the listener and every socket.
#[derive(Debug)]
pub struct Sockets {
    limits: SocketLimits,
    registry: Mutex<Registry>,
    metrics: Arc<Metrics>,
}

impl Sockets {
    pub fn new(limits: SocketLimits, metrics: Arc<Metrics>) -> Arc<Sockets> {
        Arc::new(Sockets {
            limits,
            registry: Mutex::new(Registry::default()),
            metrics,
        })
    }

    /// Sockets open now.
    pub fn open(&self) -> usize {
        lock(&self.registry).open
    }

    /// A slot for a new socket, evicting the oldest non-websocket if full;
    /// `None` if every open socket is a websocket.
    fn admit(self: &Arc<Self>) -> Option<(u64, Arc<Slot>)> {
        let mut reg = lock(&self.registry);
        if reg.open >= self.limits.max_sockets {
            let (_, oldest) = reg.waiting.pop_first()?;
            oldest.evicted.store(true, Ordering::Release);
            oldest.waker.wake();
            self.metrics.reject("socket_evicted");
        }
        reg.next += 1;
        reg.open += 1;
        let id = reg.next;
        let slot = Arc::new(Slot::default());
        reg.waiting.insert(id, Arc::clone(&slot));
        self.metrics.sockets.store(
            i64::try_from(reg.open).unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
        Some((id, slot))
    }

    fn became_websocket(&self, id: u64) {
        lock(&self.registry).waiting.remove(&id);
    }

    fn release(&self, id: u64) {
        let mut reg = lock(&self.registry);
        reg.open -= 1;
        reg.waiting.remove(&id);
        self.metrics.sockets.store(
            i64::try_from(reg.open).unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// The relay's listener: accepts, counts and wraps every socket.
#[derive(Debug)]
pub struct Listener {
    inner: TcpListener,
    sockets: Arc<Sockets>,
}

impl Listener {
    pub fn new(inner: TcpListener, sockets: Arc<Sockets>) -> Self {
        Listener { inner, sockets }
    }
}

impl axum::serve::Listener for Listener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (GuardedStream, SocketAddr) {
        loop {
            let (tcp, addr) = match self.inner.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors (EMFILE) or the like: the limits
                    // should prevent it; wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some((id, slot)) = self.sockets.admit() else {
                self.sockets.metrics.reject("socket_limit");
                drop(tcp);
                continue;
            };
            if let Err(e) = tcp.set_nodelay(true) {
                // Small frames, latency matters: no Nagle delay.
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
            let timeout = self.sockets.limits.handshake_timeout;
            let stream = GuardedStream {
                io: tcp,
                id,
                slot,
                sockets: Arc::clone(&self.sockets),
                timeout,
                deadline: Box::pin(tokio::time::sleep(timeout)),
            };
            return (stream, addr);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// An accepted socket: fails with `TimedOut` once it has moved nothing for
/// the handshake timeout (until it is a websocket), and with
/// `ConnectionAborted` once evicted.
#[derive(Debug)]
pub struct GuardedStream {
    io: TcpStream,
    id: u64,
    slot: Arc<Slot>,
    sockets: Arc<Sockets>,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl GuardedStream {
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.slot.evicted.load(Ordering::Acquire) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "evicted: the relay is full",
            ));
        }
        if !self.slot.websocket.load(Ordering::Acquire) {
            self.slot.waker.register(cx.waker());
            if self.deadline.as_mut().poll(cx).is_ready() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no websocket handshake in time",
                ));
            }
        }
        Ok(())
    }

    fn progressed(&mut self) {
        if !self.slot.websocket.load(Ordering::Relaxed) {
            self.deadline.as_mut().reset(Instant::now() + self.timeout);
        }
    }
}

impl Drop for GuardedStream {
    fn drop(&mut self) {
        self.sockets.release(self.id);
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.progressed();
        }
        r
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.progressed();
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// What a request knows about its socket (axum `ConnectInfo`): lets the
/// websocket route take the socket off the handshake clock.
#[derive(Debug, Clone)]
pub struct SocketInfo {
    id: u64,
    slot: Arc<Slot>,
    sockets: Arc<Sockets>,
}

impl SocketInfo {
    /// The socket is a websocket now: no handshake timeout, never evicted.
    pub fn became_websocket(&self) {
        self.slot.websocket.store(true, Ordering::Release);
        self.sockets.became_websocket(self.id);
    }
}

impl Connected<IncomingStream<'_, Listener>> for SocketInfo {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        let io = stream.io();
        SocketInfo {
            id: io.id,
            slot: Arc::clone(&io.slot),
            sockets: Arc::clone(&io.sockets),
        }
    }
}

/// Descriptors the relay keeps for itself (database, WAL, listener, logs).
pub const RESERVED_FDS: u64 = 64;
/// Sockets beyond `max_connections` that may be in a handshake or an HTTP
/// request (so `/healthz` answers when the websockets are at their limit).
pub const HANDSHAKE_HEADROOM: usize = 64;

/// `max_connections` fitted under a descriptor limit of `nofile`: every
/// websocket and every socket in a handshake holds one, and the relay
/// keeps `RESERVED_FDS`. Returns the websockets allowed and whether that
/// is fewer than asked.
pub fn fit_connections(max_connections: usize, nofile: u64) -> (usize, bool) {
    let budget = usize::try_from(nofile.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX);
    let fit = budget.saturating_sub(HANDSHAKE_HEADROOM).max(1);
    if max_connections > fit {
        (fit, true)
    } else {
        (max_connections, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_connections_is_kept_below_the_descriptor_limit() {
        assert_eq!(fit_connections(10_000, 1024), (896, true));
        assert_eq!(fit_connections(100, 1024), (100, false));
        assert_eq!(fit_connections(10_000, 1 << 20), (10_000, false));
        assert_eq!(fit_connections(10, 16), (1, true), "never zero");
    }

    #[tokio::test]
    async fn a_full_relay_evicts_the_oldest_socket_that_is_not_a_websocket() {
        let sockets = Sockets::new(
            SocketLimits {
                max_sockets: 2,
                handshake_timeout: Duration::from_mins(1),
            },
            Arc::default(),
        );
        let (a, slot_a) = sockets.admit().unwrap();
        let (_, slot_b) = sockets.admit().unwrap();
        slot_a.websocket.store(true, Ordering::Release);
        sockets.became_websocket(a);
        let (c, slot_c) = sockets.admit().expect("room made");
        assert!(
            slot_b.evicted.load(Ordering::Acquire),
            "the silent one goes"
        );
        assert!(!slot_a.evicted.load(Ordering::Acquire), "websockets stay");
        sockets.release(2);
        sockets.became_websocket(c);
        assert!(sockets.admit().is_none(), "all websockets: refused");
        assert!(!slot_c.evicted.load(Ordering::Acquire));
        assert_eq!(sockets.open(), 2);
    }
}

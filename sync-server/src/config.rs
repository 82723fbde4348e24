//! The relay's configuration: who may connect, and the limits that keep one
//! client from exhausting the relay. Also the token bucket behind the rate
//! limit (pure: the caller passes the time).

use std::time::Duration;

use crate::token::Secret;

/// How subscriptions are authorised.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Tokens signed with this secret.
    Secret(Secret),
    /// No checks at all: anyone can read and write every document.
    Open,
}

/// Per-connection and relay-wide limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest websocket message, in bytes (over it: close 1009).
    pub max_message_bytes: usize,
    /// Documents subscribed at once on one connection (Error TooManyDocuments).
    pub max_docs_per_connection: usize,
    /// Causally-unready records held for one connection (Error TooManyPending).
    pub max_pending_per_connection: usize,
    /// Their bytes, in total (Error TooManyPending).
    pub max_pending_bytes_per_connection: usize,
    /// Sustained records per second on one connection (Error RateLimited);
    /// a record counts one plus one per full KiB of its bytes, so a run of
    /// typing costs about what its bytes cost, not a unit per keystroke.
    pub max_changes_per_sec: f64,
    /// Records (counted so) a connection may send at once before the rate
    /// applies.
    pub changes_burst: f64,
    /// Rate-limited batches within `abuse_window` that close the connection (1008).
    pub max_rate_violations: u32,
    pub abuse_window: Duration,
    /// Open websockets on the relay (close 1013 beyond).
    pub max_connections: usize,
    /// A subscriber whose socket accepts nothing for this long is closed with
    /// 4000 (reconnect and resync).
    pub send_timeout: Duration,
    /// A socket that is not yet a websocket and moves no byte for this long
    /// is closed (silent sockets, unfinished handshakes, idle HTTP).
    pub handshake_timeout: Duration,
    /// A websocket from which nothing (not even a Pong to the relay's Ping)
    /// arrives for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 1 << 20,
            max_docs_per_connection: 100,
            max_pending_per_connection: 10_000,
            max_pending_bytes_per_connection: 8 << 20,
            max_changes_per_sec: 1000.0,
            changes_burst: 10_000.0,
            max_rate_violations: 20,
            abuse_window: Duration::from_secs(10),
            max_connections: 10_000,
            send_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_mins(2),
        }
    }
}

/// Everything the server needs besides its listener and store.
#[derive(Debug, Clone)]
pub struct Config {
    pub auth: Auth,
    pub limits: Limits,
    /// How often idle subscriptions repeat the version exchange.
    pub anti_entropy: Duration,
    /// Serve static files from here at `/` (the web demo).
    pub web_dir: Option<std::path::PathBuf>,
}

/// A token bucket: `rate` tokens per second, holding at most `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    /// Seconds (on the caller's clock) of the last refill.
    last: f64,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64, now: f64) -> Self {
        let burst = burst.max(1.0);
        TokenBucket {
            rate: rate.max(0.0),
            burst,
            tokens: burst,
            last: now,
        }
    }

    fn refill(&mut self, now: f64) {
        if now > self.last {
            self.tokens = (self.tokens + (now - self.last) * self.rate).min(self.burst);
            self.last = now;
        }
    }

    /// Takes up to `n` tokens; returns how many were granted.
    pub fn take_up_to(&mut self, n: usize, now: f64) -> usize {
        self.refill(now);
        let whole = self.tokens.floor().clamp(0.0, f64::from(u32::MAX));
        let granted = as_f64(n).min(whole);
        self.tokens -= granted;
        // A whole number in 0..=u32::MAX (clamped above).
        #[allow(clippy::cast_sign_loss)]
        let granted = granted as u32;
        granted as usize
    }

    /// Returns `n` tokens taken and not used (capped at the burst).
    pub fn give_back(&mut self, n: usize) {
        self.tokens = (self.tokens + as_f64(n)).min(self.burst);
    }

    /// Seconds until at least `n` tokens (capped at the burst) are available.
    pub fn wait_for(&mut self, n: usize, now: f64) -> f64 {
        self.refill(now);
        let want = as_f64(n).min(self.burst);
        if self.tokens >= want || self.rate <= 0.0 {
            0.0
        } else {
            (want - self.tokens) / self.rate
        }
    }
}

/// A count as f64 (counts beyond u32 are far above any limit anyway).
fn as_f64(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_grants_the_burst_then_the_rate() {
        let mut b = TokenBucket::new(10.0, 20.0, 0.0);
        assert_eq!(b.take_up_to(15, 0.0), 15);
        assert_eq!(b.take_up_to(15, 0.0), 5, "only what is left");
        assert_eq!(b.take_up_to(1, 0.0), 0);
        assert!((b.wait_for(10, 0.0) - 1.0).abs() < 1e-9);
        assert_eq!(b.take_up_to(100, 0.5), 5, "half a second at 10/s");
        assert_eq!(b.take_up_to(100, 100.0), 20, "never more than the burst");
    }

    #[test]
    fn a_clock_going_backwards_grants_nothing_extra() {
        let mut b = TokenBucket::new(10.0, 1.0, 5.0);
        assert_eq!(b.take_up_to(1, 5.0), 1);
        assert_eq!(b.take_up_to(1, 4.0), 0);
    }
}

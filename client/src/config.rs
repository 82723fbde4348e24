//! How a client connects.

use std::time::Duration;

use concord_core::ReplicaId;
use concord_sync::Compaction;

/// A client's settings. `Config::new` fills in defaults fit for a desktop app;
/// tests shorten the timers.
#[derive(Clone, Debug)]
pub struct Config {
    /// The relay's websocket endpoint, e.g. `ws://127.0.0.1:7070/v1/sync`.
    pub relay_url: String,
    /// This device's replica id, used when the store has none yet (a store
    /// that already holds one keeps its own: a replica id stays with its data).
    pub device: ReplicaId,
    /// How often the version exchange repeats on a live connection (it
    /// repairs lost messages), and how often liveness is checked.
    pub anti_entropy_interval: Duration,
    /// A document that should be syncing and has not moved for this long, or
    /// a connection silent for this long, is given up: reconnect.
    pub stall_timeout: Duration,
    /// Opening a connection (TCP and websocket handshake) may take this long.
    pub connect_timeout: Duration,
    /// Reconnect delays: full jitter up to `backoff_base * 2^attempt`, at most
    /// `backoff_max`; back to `backoff_base` after a session that worked.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Upper bound on the bytes of changes in one message (keep it well under
    /// the relay's message limit).
    pub max_batch_bytes: usize,
    /// The largest message accepted from the relay.
    pub max_message_bytes: usize,
    /// When a save is a snapshot rather than more change records.
    pub compaction: Compaction,
}

impl Config {
    pub fn new(relay_url: impl Into<String>, device: ReplicaId) -> Self {
        Config {
            relay_url: relay_url.into(),
            device,
            anti_entropy_interval: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            max_batch_bytes: 256 * 1024,
            max_message_bytes: 16 * 1024 * 1024,
            compaction: Compaction::default(),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), crate::ClientError> {
        use crate::ClientError::Config as Bad;
        // TLS is not compiled in: a relay behind a TLS proxy is future work.
        if !self.relay_url.starts_with("ws://") {
            return Err(Bad("relay_url must start with ws://"));
        }
        if self.anti_entropy_interval.is_zero() || self.stall_timeout.is_zero() {
            return Err(Bad("timers must be positive"));
        }
        if self.stall_timeout <= self.anti_entropy_interval {
            return Err(Bad("stall_timeout must exceed anti_entropy_interval"));
        }
        if self.backoff_base.is_zero() || self.connect_timeout.is_zero() {
            return Err(Bad("backoff_base and connect_timeout must be positive"));
        }
        if self.max_batch_bytes == 0
            || self.max_message_bytes == 0
            || self.compaction.max_records == 0
        {
            return Err(Bad("size limits must be positive"));
        }
        Ok(())
    }
}

//! Concord's native sync client: holds a device's replicas, connects to a
//! relay, subscribes every open document, reconnects with backoff and
//! jitter, resumes with anti-entropy, and reports per document what the relay
//! has acknowledged. No UI: a desktop app, a command line and the tests all
//! use it.
//!
//! ```text
//! Client (handle, cloneable) ──lock──► Engine: ClientSession + replicas + store
//!                                          ▲ frames in / out
//!                     connection task (tokio): websocket, timers, backoff
//! ```
//! The protocol is the core's `ClientSession`; this crate only moves bytes,
//! keeps time and saves. A change is saved before it is sent or acknowledged.

mod backoff;
mod client;
mod config;
mod connection;
mod engine;
mod error;
mod event;
mod replica;
mod store;

pub use backoff::Backoff;
pub use client::Client;
pub use config::Config;
pub use error::ClientError;
pub use event::{ClientEvent, ConnectionStatus};
pub use store::{MemoryStore, ReplicaStore, StoreError, StoredDocument};

pub use concord_core::SyncStatus;

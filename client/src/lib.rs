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
//!
//! ```no_run
//! use concord_client::{Client, Config, MemoryStore, SyncStatus};
//! use concord_core::{ObjId, ObjType, ReplicaId};
//! use concord_wire::DocId;
//!
//! # async fn example() -> Result<(), concord_client::ClientError> {
//! let config = Config::new("ws://127.0.0.1:7070/v1/sync", ReplicaId(0x5eed));
//! let client = Client::start(config, MemoryStore::new(), &tokio::runtime::Handle::current())?;
//! let notes = DocId::new("notes").expect("a valid id");
//! client.open(notes.clone(), "token minted by the relay")?;
//! client.edit(&notes, |tx| {
//!     let body = tx.put_object(ObjId::Root, "body", ObjType::Text)?;
//!     tx.insert_text(body, 0, "Hello")
//! })??;                                    // saved now, sent when connected
//! let mut events = client.events();        // repaint on these
//! while client.status(&notes)? != SyncStatus::Synced {
//!     let _ = events.recv().await;
//! }
//! client.shutdown().await;
//! # Ok(()) }
//! ```

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

pub use concord_wire::SyncStatus;

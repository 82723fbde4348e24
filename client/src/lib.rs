//! Concord's native sync client: holds a device's replicas, connects to a
//! relay, subscribes every open document, reconnects with backoff and
//! jitter, resumes with anti-entropy, and reports per document what the relay
//! has acknowledged. No UI: a desktop app, a command line and the tests all
//! use it.
//!
//! ```text
//! Client (handle, cloneable) ──lock──► Engine: concord-sync's Device + the store
//!                                          ▲ frames in / out, saves written at once
//!                     connection task (tokio): websocket, timers, backoff
//! ```
//! The protocol is `concord-sync`'s `Device`; this crate only moves bytes,
//! keeps time and writes what the device asks to save. A change is saved
//! before it is sent or acknowledged.
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
//! let edited = client.edit(&notes, |tx| {
//!     let body = tx.put_object(ObjId::Root, "body", ObjType::Text)?;
//!     tx.insert_text(body, 0, "Hello")
//! })?;                                     // applied (the document is open)
//! edited.value?;                           // the edit itself worked
//! edited.saved?;                           // saved now, sent when connected
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
mod device_store;
mod edited;
mod engine;
mod error;
mod event;

pub use backoff::Backoff;
pub use client::Client;
pub use config::Config;
pub use device_store::{DeviceStore, MemoryStore, StoreError, StoredDocument};
pub use edited::Edited;
pub use error::ClientError;
pub use event::{ConnectionStatus, DeviceEvent};

pub use concord_sync::{Compaction, SaveWhat};
pub use concord_wire::SyncStatus;

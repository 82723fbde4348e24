//! A device's side of sync, free of IO.
//!
//! - `device` — `Device`: a device's open documents, its session with the
//!   relay, saving as effects, one compaction policy, status and stalls,
//!   the recovery from a forged device id. The native client and the web
//!   demo are thin drivers of it.
//! - `save` — `Save` (what to write: append, snapshot, replace) and
//!   `Compaction` (when a save is a snapshot).
//! - `stored` — `StoredDocument`: what a driver reads back to open one.
//! - `event` — `DeviceEvent`, `ConnectionStatus`.
//! - `durability` — `Durability`: which of a document's changes the device
//!   has stored; a device announces, uploads and acknowledges only those.
//!
//! Pure like `concord-core`: no IO, no clock, no threads, no randomness
//! (time and a seed come in); builds for wasm32.

pub mod device;
pub mod durability;
pub mod event;
mod held;
pub mod save;
pub mod stored;

pub use device::{Device, DeviceError};
pub use durability::{Durability, Received};
pub use event::{ConnectionStatus, DeviceEvent};
pub use save::{Compaction, Save, SaveId, SaveWhat};
pub use stored::{LoadError, StoredDocument};

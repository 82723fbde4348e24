//! A device's side of sync, free of IO.
//!
//! - `durability` — `Durability`: which of a document's changes the device
//!   has stored; a device announces, uploads and acknowledges only those.
//!
//! Pure like `concord-core`: no IO, no clock, no threads; builds for wasm32.

pub mod durability;

pub use durability::{Durability, Received};

//! Concord in the browser: the very same CRDT core and sync session as the
//! desktop, compiled to WebAssembly.
//!
//! The division of labour is the invariant of this crate: Rust holds every
//! rule (merging, what to send, what to acknowledge, what to save), and
//! JavaScript only moves bytes (WebSocket, IndexedDB) and pixels.
//!
//! - `workspace` — concord-sync's `Device` (the same machine as the native
//!   client's: documents, relay session, saving as effects) driven for the
//!   page, plus reading and editing; free of IO, natively testable.
//! - `calendar` — `concord-calendar` (the desktop's calendar model) on
//!   those documents; times as HTML inputs write them.
//! - `api` — the `#[wasm_bindgen]` classes JavaScript sees (`Workspace`,
//!   `SaveBatch`, `SyncEvent`, `DocStatus`, `TextSelection`).
//! - `error` — `WebError`, thrown to JavaScript as `Error`.
//!
//! The page (`web-demo/static/`) and its JavaScript API (`concord.js`) are
//! described in `web-demo/README.md`.

pub mod api;
pub mod calendar;
pub mod error;
pub mod workspace;

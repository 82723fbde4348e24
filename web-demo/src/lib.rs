//! Concord in the browser: the very same CRDT core and sync session as the
//! desktop, compiled to WebAssembly.
//!
//! The division of labour is the invariant of this crate: Rust holds every
//! rule (merging, what to send, what to acknowledge, what to save), and
//! JavaScript only moves bytes (WebSocket, IndexedDB) and pixels.
//!
//! - `workspace` — the browser's replicas and its relay session (core's
//!   `ClientSession`), free of IO; natively testable.
//! - `calendar` — `concord-calendar` (the desktop's calendar model) on
//!   those documents; times as HTML inputs write them.
//! - `replica` — one document and which of its changes IndexedDB holds
//!   (saved before said).
//! - `api` — the `#[wasm_bindgen]` classes JavaScript sees (`Workspace`,
//!   `SaveBatch`, `SyncEvent`, `DocStatus`, `TextSelection`).
//! - `error` — `WebError`, thrown to JavaScript as `Error`.
//!
//! The page (`web-demo/static/`) and its JavaScript API (`concord.js`) are
//! described in `web-demo/README.md`.

pub mod api;
pub mod calendar;
pub mod error;
pub mod replica;
pub mod workspace;

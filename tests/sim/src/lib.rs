//! A deterministic simulation of the whole system (issue 15, item 4), as
//! FoundationDB and TigerBeetle's VOPR test: one seeded loop runs several
//! devices (`concord_sync::Device`, each as its driver runs it, over an
//! in-memory disk), the relay's core (`concord_relay::relay::Session` per
//! connection over each document's `concord_relay::hub::DocState`, and an
//! in-memory store with a committed log) and a network between them, with
//! faults, crashes and skewed clocks; then heals everything and checks
//! convergence and preservation. A virtual clock and an event queue drive
//! it all: no threads, no sockets, no sleeps, no real time. A seed replays
//! exactly.
//!
//! - `world` — a run: the plan a seed draws, the event loop, the chaos
//!   (`world/chaos.rs`), healing and the checks (`world/end.rs`).
//! - `device` — a device and its driver; its disk survives a crash, a
//!   save in flight may or may not.
//! - `relay` — the relay's core and its store; the committed log
//!   survives a crash, the queue and everything in memory do not.
//! - `net` — paths between devices and the relay: delay, drop, duplicate,
//!   reorder, partitions.
//! - `ledger` — token edits a checker can read back, and what devices said
//!   about them.
//! - `sched` (the event queue), `time` (clocks), `rng`, `trace`, `show`.
//!
//! Only the products' public APIs are used: `Device`'s calls and effects,
//! `Session`'s `handle`/`poll` with `Input`/`Effect`, `DocState` through
//! the relay's `Documents` trait, and `Frame`s as bytes.

pub mod device;
pub mod ledger;
pub mod net;
pub mod relay;
pub mod rng;
pub mod sched;
pub mod show;
pub mod time;
pub mod trace;
pub mod world;

pub use world::{Outcome, run};

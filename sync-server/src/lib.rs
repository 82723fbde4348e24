//! Concord's sync relay: one websocket per client at `/v1/sync`, many
//! documents per connection, a durable causal log of changes per document.
//!
//! How a change travels (see `PROTOCOL.md` at the repository root for the
//! wire format):
//! ```text
//! socket ─► connection.rs ─► admission.rs (new? duplicate? equivocation? ready?)
//!              │                     │ ready                 │ not ready
//!              │                     ▼                       ▼
//!              │            hub.rs (admitted, in memory)   held.rs (per connection)
//!              │                     │
//!              │                     ▼
//!              │            store.rs writer thread: group commit (one SQLite
//!              │                     │                transaction for many connections)
//!              ◄── Ack ──────────────┤ committed
//!   other subscribers ◄── marked dirty; each connection polls its SyncPeer
//! ```
//! Module map:
//! - `cli.rs` — flags, the `token` subcommand, process start-up.
//! - `config.rs` — the relay's configuration and limits; the token bucket.
//! - `token.rs` — HMAC-signed per-document access tokens (pure).
//! - `store.rs` — SQLite: schema, migrations, loads, the group-commit writer.
//! - `hub.rs` — per active document: the log in memory, subscribers, fan-out.
//! - `admission.rs` — pure decisions about one incoming change.
//! - `held.rs` — changes waiting for a dependency: bounded by count and
//!   bytes per connection, released by index (pure).
//! - `connection.rs` — one websocket: frames, subscriptions, limits.
//! - `metrics.rs` — counters and gauges, Prometheus text.
//! - `server.rs` — the axum router, static files, graceful shutdown.
//! - `sockets.rs` — every accepted socket counted and timed out until it is
//!   a websocket; the oldest silent one evicted when full.
//! - `error.rs` — the library's error types.
//!
//! Invariants: a change is acknowledged only after its transaction committed;
//! the stored log of every document is causally closed and in causal order;
//! a document whose load failed is never served or written; a failed commit
//! refuses the writes it held (they are asked for again) and stops nothing
//! else.

pub mod admission;
pub mod cli;
pub mod config;
pub mod connection;
pub mod error;
pub mod held;
pub mod hub;
pub mod metrics;
pub mod server;
pub mod sockets;
pub mod store;
pub mod token;

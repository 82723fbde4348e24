//! Concord's sync relay: one websocket per client at `/v1/sync`, many
//! documents per connection, a durable causal log of changes per document.
//!
//! What the relay decides about a connection is a sans-IO state machine,
//! `relay::Session`: frames, commit results, changes to a document and time
//! go in (`handle`, the time as an argument); frames to send, hubs to join
//! or leave, closes and log lines come out (`poll`), with the next deadline.
//! `connection.rs` only moves bytes and time for it.
//!
//! How a change travels (see `PROTOCOL.md` at the repository root for the
//! wire format):
//! ```text
//! socket ─► connection.rs ─► relay.rs: subscribed? token still valid? may write? rate?
//!              ▲                     │
//!              │            admission.rs (new? duplicate? equivocation? ready?)
//!              │                     │ ready                 │ not ready
//!              │                     ▼                       ▼
//!              │            hub.rs (admitted, in memory)   held.rs (per connection)
//!              │                     │
//!              │                     ▼
//!              │            store.rs writer thread: group commit (one SQLite
//!              │                     │                transaction for many connections)
//!              ◄── Ack ──────────────┤ committed (relay.rs: Input::Committed)
//!   other subscribers ◄── marked dirty; each connection's session polls its SyncPeer
//! ```
//! Module map:
//! - `cli.rs` — flags, the `token` subcommand, process start-up.
//! - `config.rs` — the relay's configuration and limits; the token bucket.
//! - `token.rs` — HMAC-signed per-document access tokens (pure).
//! - `log_store.rs` — `LogStore`, what the hub needs of a store (load,
//!   submit for a group commit, health, close), and its SQLite impl.
//! - `store.rs` — SQLite: schema, migrations, loads, the group-commit writer.
//! - `postgres.rs` — the same on PostgreSQL (`--store postgres://…`), for
//!   several relays on one database: a document's commits serialized by
//!   its row, a NOTIFY (document, version) per commit, catch-up reads.
//! - `fanout.rs` — several relays: brings a relay's hubs what the others
//!   committed (on their notifications, and by anti-entropy every second).
//! - `hub.rs` — per active document: the log in memory (`DocState`),
//!   subscribers, fan-out.
//! - `relay.rs` — one connection's decisions, pure: subscribe and
//!   authorize, expiry on a live subscription, read-only, the rate limit,
//!   admission and held changes, re-acks, presence, anti-entropy, asking
//!   again after a refusal, close codes. Its tests (`relay/tests.rs`, a
//!   module per area in `relay/tests/`) drive it with time passed in,
//!   against plain `DocState`s.
//! - `admission.rs` — pure decisions about one incoming change.
//! - `held.rs` — changes waiting for a dependency: bounded by count and
//!   bytes per connection, released by index (pure).
//! - `connection.rs` — one websocket: reads and decodes frames, feeds the
//!   session, performs its effects (send, ping, join or leave a hub,
//!   submit under the document's lock, close), sleeps until its deadline.
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
//! else; `relay.rs`, `admission.rs`, `held.rs`, `token.rs` and `config.rs`
//! read no clock and touch no socket, thread or database.

pub mod admission;
pub mod cli;
pub mod config;
pub mod connection;
pub mod error;
pub mod fanout;
pub mod held;
pub mod hub;
pub mod log_store;
pub mod metrics;
pub mod postgres;
pub mod relay;
pub mod server;
pub mod sockets;
pub mod store;
pub mod token;

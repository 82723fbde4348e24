//! Concord's wire: what travels between devices and relays, and everything
//! a relay may read.
//!
//! - `id`, `change`, `version` — replica ids, change ids and headers (id,
//!   dependencies, Lamport counter), version vectors.
//! - `encoded` — a change as bytes: the header, then the operations as an
//!   opaque block. Only the engine (`concord-core`) decodes operations; a
//!   relay depends on this crate alone, so it cannot (the compiler checks
//!   the relay never reads ops).
//! - `record` — records: one change, or a run record (consecutive changes
//!   of one replica under one header, the operations in opaque segments a
//!   relay can cut and join); what sync messages carry and a relay stores.
//! - `causal` — `CausalBuffer`: changes waiting for their dependencies.
//! - `frame`, `message` — relay frames (many documents per connection) and
//!   sync messages; `codec` — bounded varints and lengths.
//! - `sync` — `SyncPeer`, the per-document sync state machine, over any
//!   `ChangeSource` (a device's document, a relay's log).
//! - `session` — `ClientSession`, a client's side of one relay connection.
//!
//! Pure: no IO, no clock, no threads. `PROTOCOL.md` specifies the formats.

pub mod causal;
pub mod change;
pub mod codec;
pub mod encoded;
pub mod error;
pub mod frame;
pub mod id;
pub mod message;
pub mod record;
pub mod session;
pub mod sync;
pub mod version;

pub use causal::{BufferFull, CausalBuffer};
pub use change::{ChangeHeader, ChangeId, MAX_LAMPORT};
pub use encoded::EncodedChange;
pub use error::DecodeError;
pub use frame::{Access, DocId, ErrorCode, Frame, MAX_DOC_ID_LEN, MAX_TOKEN_LEN, close};
pub use id::ReplicaId;
pub use message::Message;
pub use record::{MAX_RECORD_BYTES, Record, RunRecord, SegmentRef};
pub use session::{ClientSession, DocumentSet, SessionEvent, SyncStatus};
pub use sync::{ChangeSource, DEFAULT_MAX_BATCH_BYTES, SyncPeer};
pub use version::VersionVector;

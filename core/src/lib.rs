//! Concord's CRDT engine.
//!
//! Pure: this crate performs no IO, reads no clock, draws no random numbers and
//! spawns nothing. Callers inject replica ids; everything else is derived from
//! the changes themselves.
//!
//! ```
//! use concord_core::{Document, ObjId, ObjType, ReplicaId};
//!
//! let mut alice = Document::new(ReplicaId(1));
//! let mut tx = alice.transaction();
//! let body = tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
//! tx.insert_text(body, 0, "Hello").unwrap();
//! let change = tx.commit().unwrap();
//!
//! let mut bob = Document::new(ReplicaId(2));
//! bob.apply(change).unwrap();
//! assert_eq!(bob.text(body).unwrap().to_string(), "Hello");
//! ```

pub mod batch;
pub mod change;
pub mod clock;
pub mod document;
pub mod encoding;
pub mod error;
pub mod id;
pub mod key_text;
mod log;
pub mod map;
pub mod reissue;
pub mod set;
pub mod sync;
pub mod text;
pub mod transaction;
pub mod value;

/// Version vectors and causal buffering are the wire's (`concord-wire`):
/// a relay uses them too.
pub use concord_wire::{causal, version};

pub use batch::BatchOutcome;
pub use change::{Change, ChangeHeader, ChangeId, NewValue, Op};
pub use clock::Lamport;
pub use concord_wire::MAX_LAMPORT;
pub use concord_wire::VersionVector;
/// Records (one change, or a run record) are the wire's: a relay stores
/// and joins them.
pub use concord_wire::{Record, RunRecord};
pub use document::{ApplyOutcome, DEFAULT_PENDING_CAPACITY, Document};
pub use encoding::{DecodeOps, EncodedChange};
pub use error::{ApplyError, DecodeError, EditError};
pub use id::{OpId, ReplicaId};
pub use key_text::KeyText;
pub use map::{LwwMap, MapEntry};
pub use reissue::Reissued;
pub use set::OrSet;
pub use text::{IdSpan, Text, TextError, TextInsert};
pub use transaction::Transaction;
pub use value::{ChildId, ObjId, ObjType, ScalarValue, Value};

//! Error types of the core, one enum per layer.

use crate::change::ChangeId;
use crate::text::TextError;
use crate::value::{ObjId, ObjType};
pub use concord_wire::DecodeError;

/// Why a change could not be applied. The document is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("could not decode change: {0}")]
    Decode(#[from] DecodeError),
    #[error("change {0:?} was already received with different content")]
    Equivocation(ChangeId),
    #[error("change {id:?} is invalid: {reason}")]
    Invalid { id: ChangeId, reason: EditError },
    #[error("causal buffer full ({capacity} changes waiting for dependencies)")]
    BufferFull { capacity: usize },
}

/// A local edit or an operation that does not fit the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("no object {0:?}")]
    NoSuchObject(ObjId),
    #[error("object {obj:?} is a {found:?}, not a {expected:?}")]
    WrongType {
        obj: ObjId,
        expected: ObjType,
        found: ObjType,
    },
    #[error("text: {0}")]
    Text(#[from] TextError),
    #[error("operation counters overflow")]
    CounterOverflow,
    #[error("invalid operation: {0}")]
    InvalidOp(&'static str),
}

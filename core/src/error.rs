//! Error types of the core, one enum per layer.

use crate::change::ChangeId;
use crate::text::TextError;
use crate::value::{ObjId, ObjType};

/// Bytes that are not a valid encoding. Never a panic, never a huge allocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("input ended early")]
    Truncated,
    #[error("not a Concord {0} (bad magic bytes)")]
    BadMagic(&'static str),
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    #[error("malformed variable-length integer")]
    BadVarint,
    #[error("declared length {0} exceeds the remaining input")]
    LengthTooLarge(u64),
    #[error("text is not valid UTF-8")]
    BadUtf8,
    #[error("unknown tag {0}")]
    UnknownTag(u8),
    #[error("{0} trailing bytes after the end")]
    TrailingBytes(usize),
    #[error("checksum mismatch: the data is corrupt")]
    Checksum,
    #[error("invalid data: {0}")]
    Invalid(&'static str),
}

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

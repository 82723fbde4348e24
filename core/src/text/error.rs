//! What can go wrong when a text operation or snapshot is rejected.

use crate::id::OpId;

/// Why a text operation or snapshot was rejected. A rejected operation leaves
/// the `Text` unchanged.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TextError {
    /// An operation refers to a character id this replica has never seen.
    #[error("unknown character id {0:?}")]
    UnknownId(OpId),
    /// An insert would reuse an id that already names a character.
    #[error("character id {0:?} already exists")]
    DuplicateId(OpId),
    /// An insert's ids `id .. id + len` do not fit in a `u64` counter.
    #[error("id range starting at {0:?} overflows the counter")]
    IdOverflow(OpId),
    /// An insert's `right_parent` does not share its `origin_left`, so the
    /// insert was not prepared against any state of this document.
    #[error("right parent {0:?} does not share the insert's origin_left")]
    BadRightParent(OpId),
    /// A local edit names a position past the end of the visible text.
    #[error("position {pos} is past the end of the text (length {len})")]
    OutOfBounds { pos: usize, len: usize },
    /// An insert with no characters.
    #[error("an insert must contain at least one character")]
    EmptyInsert,
    /// A delete of zero characters.
    #[error("a delete must cover at least one character")]
    EmptyDelete,
    /// A snapshot (`Text::from_spans`) that no sequence of operations produces.
    #[error("invalid text snapshot: {0}")]
    InvalidSnapshot(&'static str),
}

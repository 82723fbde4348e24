//! Replicated plain text with FugueMax ordering.
//!
//! Every character ever inserted is an item with an id (`OpId`), an
//! `origin_left` (the character it was typed after, None = document start) and
//! a `right_parent` (see `TextInsert`). Deleted characters stay in place as
//! tombstones, so operations can always refer to them. Concurrent inserts at the
//! same place are ordered as Fugue / FugueMax / YjsMod / Sync9 order them (the
//! Eg-walker reference's `integrate`): two people typing at the same spot get
//! one word after the other, never interleaved.
//!
//! Local and remote edits take the same path: `prepare_*` computes the
//! operation for a local edit without changing anything, `apply_*` integrates an
//! operation from anyone. Positions are Unicode code points (chars); UTF-8 and
//! UTF-16 conversions are provided for editors.
//!
//! Codemap:
//! - `span.rs`: a run of characters, the unit stored in the tree.
//! - `tree.rs`: the B-tree of spans in document order, with size aggregates,
//!   the id index and the edit cursor.
//! - `integrate.rs`: inserting (the FugueMax scan).
//! - `delete.rs`: deleting (tombstones).
//! - `convert.rs`: position conversions and stable cursors.
//! - `snapshot.rs`: `spans` / `from_spans`.
//! - `check.rs`: the deep invariant check used by tests.

mod check;
mod convert;
mod delete;
mod error;
mod integrate;
mod snapshot;
mod span;
mod tree;

#[cfg(test)]
mod tests;

use std::fmt;

pub use error::TextError;

use crate::id::OpId;
use span::Metric;
use tree::Tree;

/// A replicated plain-text sequence. See the module documentation.
#[derive(Clone, Default)]
pub struct Text {
    tree: Tree,
}

/// An insert operation. The characters get consecutive ids starting at the id
/// it is applied with: char `k` has id `id.offset(k)`, and for `k > 0`
/// origin_left `id.offset(k - 1)` and no right_parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextInsert {
    /// The character the insert was typed after (None = document start).
    pub origin_left: Option<OpId>,
    /// The character right after `origin_left` (tombstones included) when the
    /// insert was prepared, if its own origin_left is the same; else None.
    pub right_parent: Option<OpId>,
    /// Non-empty.
    pub content: String,
}

/// An insert as `integrate` reads it: `TextInsert` borrowed, or the parts of
/// a local keystroke, which has no `String` of its own.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InsertRef<'a> {
    pub origin_left: Option<OpId>,
    pub right_parent: Option<OpId>,
    pub content: &'a str,
}

impl<'a> From<&'a TextInsert> for InsertRef<'a> {
    fn from(ins: &'a TextInsert) -> Self {
        InsertRef {
            origin_left: ins.origin_left,
            right_parent: ins.right_parent,
            content: &ins.content,
        }
    }
}

/// Ids `start.counter .. start.counter + len` of one replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdSpan {
    pub start: OpId,
    pub len: u64,
}

/// One run in document order, for snapshots: consecutive ids, each char after
/// the first typed right after the previous one, same deleted state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanRecord {
    /// Id of the first char; char `k` has `id.offset(k)`.
    pub id: OpId,
    /// Number of chars, > 0.
    pub len: u64,
    /// Origins of the first char.
    pub origin_left: Option<OpId>,
    pub right_parent: Option<OpId>,
    /// The chars, or None when deleted.
    pub content: Option<String>,
}

impl Text {
    pub fn new() -> Self {
        Text::default()
    }

    /// Visible length in chars (code points).
    pub fn len_chars(&self) -> usize {
        self.tree.total.chars
    }

    /// Visible length in UTF-8 bytes.
    pub fn len_utf8(&self) -> usize {
        self.tree.total.utf8
    }

    /// Visible length in UTF-16 code units.
    pub fn len_utf16(&self) -> usize {
        self.tree.total.utf16
    }

    pub fn is_empty(&self) -> bool {
        self.tree.total.chars == 0
    }

    /// Byte offset of char position `pos` (`len_chars()` maps to the end).
    pub fn char_to_utf8(&self, pos: usize) -> Option<usize> {
        convert::char_to(&self.tree, pos, Metric::Utf8)
    }

    /// Char position of byte offset `byte`; None past the end or inside a char.
    pub fn utf8_to_char(&self, byte: usize) -> Option<usize> {
        convert::to_char(&self.tree, byte, Metric::Utf8)
    }

    /// UTF-16 offset of char position `pos` (`len_chars()` maps to the end).
    pub fn char_to_utf16(&self, pos: usize) -> Option<usize> {
        convert::char_to(&self.tree, pos, Metric::Utf16)
    }

    /// Char position of UTF-16 offset `unit`; None past the end or inside a
    /// surrogate pair.
    pub fn utf16_to_char(&self, unit: usize) -> Option<usize> {
        convert::to_char(&self.tree, unit, Metric::Utf16)
    }

    /// The op a local insert of `content` at char position `pos` must carry.
    /// Changes nothing: apply it with `apply_insert` and a fresh id.
    pub fn prepare_insert(&self, pos: usize, content: &str) -> Result<TextInsert, TextError> {
        if content.is_empty() {
            return Err(TextError::EmptyInsert);
        }
        let (origin_left, right_parent) = integrate::prepare_origins(&self.tree, pos)?;
        Ok(TextInsert {
            origin_left,
            right_parent,
            content: content.to_owned(),
        })
    }

    /// `prepare_insert` without the content: the `(origin_left,
    /// right_parent)` of an insert at `pos`.
    pub(crate) fn prepare_origins(
        &self,
        pos: usize,
    ) -> Result<(Option<OpId>, Option<OpId>), TextError> {
        integrate::prepare_origins(&self.tree, pos)
    }

    /// The one `IdSpan` of the visible chars `pos .. pos + len` (`len > 0`),
    /// or `None` when they are not one span (`prepare_delete` names them).
    pub(crate) fn prepare_delete_one(
        &self,
        pos: usize,
        len: usize,
    ) -> Result<Option<IdSpan>, TextError> {
        delete::prepare_delete_one(&self.tree, pos, len)
    }

    /// The ids of the visible chars `pos .. pos + len`, as maximal `IdSpan`s in
    /// document order. Changes nothing.
    pub fn prepare_delete(&self, pos: usize, len: usize) -> Result<Vec<IdSpan>, TextError> {
        delete::prepare_delete(&self.tree, pos, len)
    }

    /// Validates an insert without applying it: the content is non-empty, the
    /// origins exist (and `right_parent` shares `origin_left`), and the new ids
    /// `id .. id + chars` are all unused.
    pub fn check_insert(&self, id: OpId, ins: &TextInsert) -> Result<(), TextError> {
        integrate::check_insert(&self.tree, id, ins.into()).map(|_| ())
    }

    /// Integrates an insert whose first char has id `id` (local or remote).
    /// Returns the visible char position of its first char. On `Err` nothing
    /// changed.
    pub fn apply_insert(&mut self, id: OpId, ins: &TextInsert) -> Result<usize, TextError> {
        integrate::apply_insert(&mut self.tree, id, ins.into())
    }

    /// `apply_insert` of an insert given by its parts: the same checks, the
    /// same integration.
    pub(crate) fn apply_insert_ref(
        &mut self,
        id: OpId,
        ins: InsertRef<'_>,
    ) -> Result<usize, TextError> {
        integrate::apply_insert(&mut self.tree, id, ins)
    }

    /// Integrates an insert already checked against this text as it is
    /// (ids, origins; see `check_insert`), without checking it again.
    /// Returns the visible char position of its first char.
    pub(crate) fn apply_checked_insert(&mut self, id: OpId, ins: &TextInsert) -> usize {
        integrate::apply_checked(&mut self.tree, id, ins.into())
    }

    /// Validates a delete: every id of the span exists (deleted or not).
    pub fn check_delete(&self, span: IdSpan) -> Result<(), TextError> {
        delete::check_delete(&self.tree, span)
    }

    /// Tombstones the chars of `span`. Chars already deleted (also by a
    /// concurrent delete) stay deleted. Returns how many visible chars it
    /// removed. On `Err` nothing changed.
    pub fn apply_delete(&mut self, span: IdSpan) -> Result<usize, TextError> {
        delete::apply_delete(&mut self.tree, span)
    }

    /// Tombstones the chars of spans that all passed `check_delete`, which
    /// deleting one does not change. Returns how many visible chars it
    /// removed.
    pub(crate) fn apply_checked_deletes(&mut self, spans: &[IdSpan]) -> usize {
        spans
            .iter()
            .map(|span| delete::apply_checked(&mut self.tree, *span))
            .sum()
    }

    /// Whether a char with this id exists (deleted or not).
    pub fn contains_id(&self, id: OpId) -> bool {
        self.tree.locate(id).is_some()
    }

    /// The `origin_left` of the existing char `id` (`None` for a char typed
    /// at the document start).
    pub fn origin_left_of(&self, id: OpId) -> Result<Option<OpId>, TextError> {
        let loc = self.tree.locate(id).ok_or(TextError::UnknownId(id))?;
        Ok(self.tree.span_at(loc).origins_at(loc.off).0)
    }

    /// Whether any id of `span` exists.
    pub fn contains_any(&self, span: IdSpan) -> bool {
        span.len > 0 && self.tree.first_existing(span.start, span.len).is_some()
    }

    /// The id of the visible char at `pos`: a stable cursor.
    pub fn id_at(&self, pos: usize) -> Option<OpId> {
        convert::id_at(&self.tree, pos)
    }

    /// The current visible position of char `id`; for a deleted char, the
    /// position it would have (that of the next visible char).
    pub fn pos_of(&self, id: OpId) -> Option<usize> {
        convert::pos_of(&self.tree, id)
    }

    /// The whole sequence, tombstones included, as maximal runs in document
    /// order.
    pub fn spans(&self) -> Vec<SpanRecord> {
        snapshot::spans(&self.tree)
    }

    /// Rebuilds a `Text` from runs in document order (`spans()` output, or
    /// runs split further). Validates untrusted input fully and never panics:
    /// lengths match content, no zero lengths, ids unique, every origin_left
    /// names a char before its run, every right_parent a char after it with the
    /// same origin_left.
    pub fn from_spans(spans: Vec<SpanRecord>) -> Result<Text, TextError> {
        snapshot::from_spans(spans).map(|tree| Text { tree })
    }

    /// Deep invariant check for tests: panics on any violation (tree
    /// aggregates, parent links, id index, maximal runs, origins, cursor).
    pub fn check(&self) {
        check::check(&self.tree);
    }
}

/// Equal when the replicated state is: the same characters (tombstones
/// included) with the same ids, origins and content, in the same order. How the
/// tree happens to be laid out does not matter.
impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.tree.total == other.tree.total && self.spans() == other.spans()
    }
}

impl Eq for Text {}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in self.tree.iter() {
            if let Some(c) = &s.content {
                f.write_str(c)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Text")
            .field("text", &self.to_string())
            .field("items", &self.tree.total.items)
            .finish_non_exhaustive()
    }
}

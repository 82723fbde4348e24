//! Visible positions: converting between chars, UTF-8 bytes and UTF-16 units,
//! and between positions and character ids (stable cursors).

use super::span::{Metric, char_of_metric, metric_of_char};
use super::tree::Tree;
use crate::id::OpId;

/// The offset in metric `m` of visible char `pos` (`pos == len` is the end).
pub(super) fn char_to(tree: &Tree, pos: usize, m: Metric) -> Option<usize> {
    if pos >= tree.total.chars {
        return (pos == tree.total.chars).then(|| tree.total.get(m));
    }
    let (loc, before) = tree.find_char(pos)?;
    let span = tree.span_at(loc);
    let content = span.content.as_deref().expect("a visible char");
    Some(before.get(m) + metric_of_char(content, span.len, loc.off as usize, m))
}

/// The visible char at offset `unit` of metric `m`, None if `unit` falls inside
/// a char or past the end.
pub(super) fn to_char(tree: &Tree, unit: usize, m: Metric) -> Option<usize> {
    let total = tree.total.get(m);
    if unit >= total {
        return (unit == total).then_some(tree.total.chars);
    }
    let (leaf, start) = tree.find(m, unit)?;
    let (span, before) = tree.find_in_leaf(leaf, m, unit - start.get(m));
    let before = start.plus(before);
    let s = &tree.leaves[leaf].spans[span];
    let content = s.content.as_deref().expect("a visible char");
    let k = char_of_metric(content, s.len, unit - before.get(m), m)?;
    Some(before.chars + k)
}

pub(super) fn id_at(tree: &Tree, pos: usize) -> Option<OpId> {
    let loc = tree.locate_char(pos)?;
    Some(tree.span_at(loc).id().offset(loc.off))
}

/// The visible position of `id`; for a deleted char, the position of the
/// first visible char after it.
pub(super) fn pos_of(tree: &Tree, id: OpId) -> Option<usize> {
    let loc = tree.locate(id)?;
    let span = tree.span_at(loc);
    let before = tree.before_span(loc.leaf, loc.span).chars;
    Some(if span.is_deleted() {
        before
    } else {
        before + loc.off as usize
    })
}

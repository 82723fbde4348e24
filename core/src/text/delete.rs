//! Deleting: naming the ids of a visible range, and turning characters into
//! tombstones (which keep their place so later inserts can still refer to them).

use super::span::Agg;
use super::tree::{Loc, Tree};
use super::{IdSpan, TextError};
use crate::id::OpId;

pub(super) fn prepare_delete(
    tree: &Tree,
    pos: usize,
    len: usize,
) -> Result<Vec<IdSpan>, TextError> {
    let mut out: Vec<IdSpan> = Vec::new();
    visible_ids(tree, pos, len, |start, take| {
        match out.last_mut() {
            Some(last)
                if last.start.replica == start.replica
                    && last.start.counter + last.len == start.counter =>
            {
                last.len += take;
            }
            _ => out.push(IdSpan { start, len: take }),
        }
        true
    })?;
    Ok(out)
}

/// `prepare_delete` when its answer is one span (a keystroke's, nearly
/// always), without a `Vec`; `None` when it is not.
pub(super) fn prepare_delete_one(
    tree: &Tree,
    pos: usize,
    len: usize,
) -> Result<Option<IdSpan>, TextError> {
    let mut one: Option<IdSpan> = None;
    let mut single = true;
    visible_ids(tree, pos, len, |start, take| match &mut one {
        None => {
            one = Some(IdSpan { start, len: take });
            true
        }
        Some(last)
            if last.start.replica == start.replica
                && last.start.counter + last.len == start.counter =>
        {
            last.len += take;
            true
        }
        Some(_) => {
            single = false;
            false
        }
    })?;
    Ok(one.filter(|_| single))
}

/// Calls `each(first id, count)` for the visible chars `pos .. pos + len`,
/// piece by piece in document order, while it returns true.
fn visible_ids(
    tree: &Tree,
    pos: usize,
    len: usize,
    mut each: impl FnMut(OpId, u64) -> bool,
) -> Result<(), TextError> {
    let total = tree.total.chars;
    if pos.checked_add(len).is_none_or(|end| end > total) {
        return Err(TextError::OutOfBounds {
            pos: pos.saturating_add(len),
            len: total,
        });
    }
    if len == 0 {
        return Ok(());
    }
    let loc = tree.locate_char(pos).expect("pos < len");
    let (mut leaf, mut span, mut off) = (loc.leaf, loc.span, loc.off);
    let mut remaining = len as u64;
    loop {
        let s = tree.span(leaf, span);
        if !s.is_deleted() {
            let take = remaining.min(s.len - off);
            if !each(s.id().offset(off), take) {
                return Ok(());
            }
            remaining -= take;
            if remaining == 0 {
                return Ok(());
            }
        }
        (leaf, span) = tree
            .next_span(leaf, span)
            .expect("the aggregates promise enough visible chars");
        off = 0;
    }
}

/// Validates a delete: every id of the span exists.
pub(super) fn check_delete(tree: &Tree, target: IdSpan) -> Result<(), TextError> {
    if target.len == 0 {
        return Err(TextError::EmptyDelete);
    }
    let end = target
        .start
        .counter
        .checked_add(target.len)
        .ok_or(TextError::IdOverflow(target.start))?;
    let mut counter = target.start.counter;
    while counter < end {
        let id = OpId::new(target.start.replica, counter);
        let loc = tree.locate(id).ok_or(TextError::UnknownId(id))?;
        counter = tree.span_at(loc).end().min(end);
    }
    Ok(())
}

pub(super) fn apply_delete(tree: &mut Tree, target: IdSpan) -> Result<usize, TextError> {
    check_delete(tree, target)?;
    Ok(apply_checked(tree, target))
}

/// Deletes a span `check_delete` accepted.
pub(super) fn apply_checked(tree: &mut Tree, target: IdSpan) -> usize {
    let end = target.start.counter + target.len;
    let mut counter = target.start.counter;
    let mut removed = 0;
    while counter < end {
        let loc = tree
            .locate(OpId::new(target.start.replica, counter))
            .expect("checked");
        let n = (tree.span_at(loc).len - loc.off).min(end - counter);
        removed += delete_piece(tree, loc, n);
        counter += n;
    }
    removed
}

/// Deletes `n` chars from `loc`, all within its span. Returns how many were
/// visible.
fn delete_piece(tree: &mut Tree, loc: Loc, n: u64) -> usize {
    let leaf = loc.leaf;
    if tree.span_at(loc).is_deleted() {
        return 0;
    }
    let len = tree.span_at(loc).len;
    tree.touch(leaf);
    let start = tree.leaf_start(leaf);
    if let Some(removed) = extend_tombstone(tree, loc, n) {
        tree.set_cursor(leaf, start, loc.span.saturating_sub(1));
        return removed;
    }
    let mut idx = loc.span;
    if loc.off + n < len {
        tree.split_span(leaf, idx, loc.off + n);
    }
    if loc.off > 0 {
        tree.split_span(leaf, idx, loc.off);
        idx += 1;
    }
    let removed = tree.leaves[leaf].spans[idx].delete();
    tree.adjust(leaf, Agg::ZERO, removed);
    // Shorter pieces may now join a neighbour they were too long to join.
    tree.merge_range(leaf, idx.saturating_sub(2), idx + 1);
    tree.fix_overflow(leaf);
    tree.set_cursor(leaf, start, idx.saturating_sub(1));
    removed.chars
}

/// Deleting the end of a visible span right before the tombstones it continues
/// into (typing backspace), or the start of one right after the tombstones it
/// continues from (forward delete): moves the chars into that tombstone run
/// without splitting anything. Returns the visible chars removed, or None if
/// neither applies.
fn extend_tombstone(tree: &mut Tree, loc: Loc, n: u64) -> Option<usize> {
    let leaf = loc.leaf;
    let idx = loc.span;
    let spans = &mut tree.leaves[leaf].spans;
    let len = spans[idx].len;
    let removed = if loc.off > 0
        && loc.off + n == len
        && spans
            .get(idx + 1)
            .is_some_and(|d| d.is_deleted() && spans[idx].continues_into(d))
    {
        // The tombstones' start moves down; their index key, one of their
        // ids, still is one (see `tree.rs`), so the index stays as it is.
        let removed = spans[idx].truncate(loc.off);
        let (id, left) = (spans[idx].end(), spans[idx].last_id());
        let d = &mut spans[idx + 1];
        d.set_id(OpId::new(d.id().replica, id));
        d.set_origins(Some(left), None);
        d.len += n;
        removed
    } else if loc.off == 0
        && n < len
        && idx > 0
        && spans[idx - 1].is_deleted()
        && spans[idx - 1].continues_into(&spans[idx])
    {
        // A visible span is keyed by its first id, which moves up.
        let old = spans[idx].key();
        let removed = spans[idx].drop_front(n);
        spans[idx - 1].len += n;
        let new = spans[idx].key();
        tree.index.remove(&old);
        tree.index.insert(new, leaf);
        removed
    } else {
        return None;
    };
    tree.adjust(leaf, Agg::ZERO, removed);
    // The visible span got shorter and may now join a neighbour.
    tree.merge_range(leaf, idx.saturating_sub(1), idx);
    Some(removed.chars)
}

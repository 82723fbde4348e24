//! Inserting: preparing a local insert and integrating any insert, local or
//! remote, at its FugueMax place.
//!
//! A character's place is fixed by its `origin_left` (the character it was
//! typed after, None = document start) and its `right_parent` (the character
//! right after `origin_left` when it was typed, if that one shares the same
//! `origin_left`; None otherwise). Concurrent inserts after the same
//! `origin_left` are ordered by the scan in `find_slot`, the Eg-walker
//! reference's `integrate` (Fugue / YjsMod / Sync9 ordering) bounded at
//! `right_parent`, with ties broken by `OpId`.

use std::cmp::Ordering;

use super::span::{Agg, MAX_VISIBLE_RUN, Span, utf16_len, visible_runs};
use super::tree::{FIRST_LEAF, Loc, Tree};
use super::{InsertRef, TextError};
use crate::id::OpId;

/// Where a new character goes.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// Before everything.
    Start,
    /// Right after this character.
    After(Loc),
}

/// The origins a local insert at char position `pos` must carry:
/// `(origin_left, right_parent)`.
pub(super) fn prepare_origins(
    tree: &Tree,
    pos: usize,
) -> Result<(Option<OpId>, Option<OpId>), TextError> {
    if pos > tree.total.chars {
        return Err(TextError::OutOfBounds {
            pos,
            len: tree.total.chars,
        });
    }
    let (origin_left, next) = if pos == 0 {
        (None, tree.first_item())
    } else {
        let loc = tree.locate_char(pos - 1).expect("pos - 1 < len");
        (
            Some(tree.span_at(loc).id().offset(loc.off)),
            tree.item_after(loc),
        )
    };
    let right_parent = next.and_then(|loc| {
        let span = tree.span_at(loc);
        (span.origins_at(loc.off).0 == origin_left).then(|| span.id().offset(loc.off))
    });
    Ok((origin_left, right_parent))
}

/// Validates an insert; returns its length in chars.
pub(super) fn check_insert(tree: &Tree, id: OpId, ins: InsertRef<'_>) -> Result<u64, TextError> {
    if ins.content.is_empty() {
        return Err(TextError::EmptyInsert);
    }
    let n = ins.content.chars().count() as u64;
    if id.counter.checked_add(n).is_none() {
        return Err(TextError::IdOverflow(id));
    }
    if let Some(dup) = tree.first_existing(id, n) {
        return Err(TextError::DuplicateId(dup));
    }
    if let Some(left) = ins.origin_left
        && tree.locate(left).is_none()
    {
        return Err(TextError::UnknownId(left));
    }
    if let Some(right) = ins.right_parent {
        let loc = tree.locate(right).ok_or(TextError::UnknownId(right))?;
        if tree.span_at(loc).origins_at(loc.off).0 != ins.origin_left {
            return Err(TextError::BadRightParent(right));
        }
    }
    Ok(n)
}

pub(super) fn apply_insert(
    tree: &mut Tree,
    id: OpId,
    ins: InsertRef<'_>,
) -> Result<usize, TextError> {
    let n = check_insert(tree, id, ins)?;
    let slot = find_slot(tree, id, ins);
    Ok(place(tree, slot, id, ins, n))
}

/// Integrates an insert that `check_insert` accepted against this tree (or
/// that was checked against it as part of a batch).
pub(super) fn apply_checked(tree: &mut Tree, id: OpId, ins: InsertRef<'_>) -> usize {
    let n = ins.content.chars().count() as u64;
    let slot = find_slot(tree, id, ins);
    place(tree, slot, id, ins, n)
}

/// The FugueMax scan: where a new character `id` with these origins goes.
///
/// Walks the sequence from right after `origin_left`, one span at a time
/// (within a span every char after the first has the previous char as
/// origin_left, so a span is passed as a whole), and stops at `right_parent`.
fn find_slot(tree: &Tree, id: OpId, ins: InsertRef<'_>) -> Slot {
    let left = ins.origin_left;
    let right = ins.right_parent;
    let (mut dest, mut cur) = match left {
        None => (Slot::Start, tree.first_item()),
        Some(l) => {
            let loc = tree.locate(l).expect("checked");
            (Slot::After(loc), tree.item_after(loc))
        }
    };
    let mut scanning = false;
    // The span most recently passed (ids first..end of one replica), if any.
    let mut passed: Option<(OpId, u64)> = None;
    let mut left_idx = None;
    let mut right_idx = None;

    while let Some(c) = cur {
        let span = tree.span_at(c);
        let oid = span.id().offset(c.off);
        if Some(oid) == right {
            break;
        }
        let (oleft, oright) = span.origins_at(c.off);
        // Where is o's origin_left relative to ours? Anything between ours and
        // o has been passed by this scan, so when nothing has been passed yet a
        // different origin_left lies before ours.
        let order = match (left, oleft) {
            _ if oleft == left => Ordering::Equal,
            (None, _) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(l), Some(x)) => match passed {
                None => Ordering::Less,
                Some((first, end))
                    if x.replica == first.replica
                        && x.counter >= first.counter
                        && x.counter < end =>
                {
                    Ordering::Greater
                }
                Some(_) => {
                    let li = *left_idx.get_or_insert_with(|| tree.item_index_of(l));
                    tree.item_index_of(x).cmp(&li)
                }
            },
        };
        match order {
            Ordering::Less => break,
            Ordering::Equal => {
                if oright == right {
                    if id < oid {
                        break;
                    }
                    scanning = false;
                } else {
                    scanning = match (oright, right) {
                        (None, _) => false,
                        (Some(_), None) => true,
                        (Some(a), Some(b)) => {
                            let ri = *right_idx.get_or_insert_with(|| tree.item_index_of(b));
                            tree.item_index_of(a) < ri
                        }
                    };
                }
            }
            Ordering::Greater => {}
        }
        passed = Some((oid, span.end()));
        if !scanning {
            dest = Slot::After(Loc {
                off: span.len - 1,
                ..c
            });
        }
        cur = tree
            .next_span(c.leaf, c.span)
            .map(|(leaf, span)| Loc { leaf, span, off: 0 });
    }
    dest
}

/// Puts the new characters at `slot`; returns the visible position of the
/// first one.
fn place(tree: &mut Tree, slot: Slot, id: OpId, ins: InsertRef<'_>, n: u64) -> usize {
    let (leaf, idx) = match slot {
        Slot::Start => (FIRST_LEAF, 0),
        Slot::After(loc) => (loc.leaf, loc.span + 1),
    };
    tree.touch(leaf);
    if let Slot::After(loc) = slot
        && loc.off + 1 < tree.span_at(loc).len
    {
        tree.split_span(loc.leaf, loc.span, loc.off + 1);
    }
    let start = tree.leaf_start(leaf);
    let before = tree.leaves[leaf].spans[..idx]
        .iter()
        .fold(start.chars, |a, s| a + s.chars());

    if idx > 0 && extends(&tree.leaves[leaf].spans[idx - 1], id, ins, n) {
        // Typing at the end of a run: extend it in place.
        let span = &mut tree.leaves[leaf].spans[idx - 1];
        let utf16 = utf16_len(ins.content);
        span.len += n;
        span.set_utf16(span.utf16() + utf16);
        span.content
            .as_mut()
            .expect("extends a visible span")
            .push_str(ins.content);
        let agg = Agg {
            items: n,
            chars: n as usize,
            utf8: ins.content.len(),
            utf16,
        };
        tree.adjust(leaf, agg, Agg::ZERO);
        tree.note_ids(id.replica, id.counter + n);
        tree.set_cursor(leaf, start, idx - 1);
        return before;
    }

    let mut last = idx;
    let runs = visible_runs(id, ins.origin_left, ins.right_parent, ins.content, n);
    for (k, span) in runs.enumerate() {
        last = idx + k;
        tree.insert_span(leaf, last, span);
    }
    // A split leaves shorter pieces that may now join their other neighbour.
    tree.merge_range(leaf, idx.saturating_sub(2), last + 1);
    tree.fix_overflow(leaf);
    tree.set_cursor(leaf, start, last);
    before
}

/// Whether chars `id .. id + n` typed after `ins.origin_left` continue `span`,
/// the visible span they directly follow.
fn extends(span: &Span, id: OpId, ins: InsertRef<'_>, n: u64) -> bool {
    !span.is_deleted()
        && ins.right_parent.is_none()
        && span.id().replica == id.replica
        && span.end() == id.counter
        && ins.origin_left == Some(span.last_id())
        && span.len + n <= MAX_VISIBLE_RUN
}

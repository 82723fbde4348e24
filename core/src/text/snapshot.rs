//! Snapshots: the sequence as maximal runs (`SpanRecord`s), and rebuilding a
//! `Text` from untrusted runs.

use std::collections::BTreeMap;

use super::span::{Agg, Span, visible_runs};
use super::tree::{FIRST_LEAF, NONE, Tree};
use super::{SpanRecord, TextError};
use crate::id::OpId;

/// Most characters (tombstones included) a snapshot may hold. Keeps every sum
/// of lengths far from overflowing, whatever the input claims.
const MAX_ITEMS: u64 = 1 << 48;

pub(super) fn spans(tree: &Tree) -> Vec<SpanRecord> {
    let mut out: Vec<SpanRecord> = Vec::new();
    for s in tree.iter() {
        if let Some(r) = out.last_mut()
            && continues(r, s)
        {
            r.len += s.len;
            if let (Some(a), Some(b)) = (&mut r.content, &s.content) {
                a.push_str(b);
            }
            continue;
        }
        out.push(SpanRecord {
            id: s.id(),
            len: s.len,
            origin_left: s.origin_left(),
            right_parent: s.right_parent(),
            content: s.content.clone(),
        });
    }
    out
}

/// Whether span `s` continues the run `r` (without the length cap the tree
/// puts on visible spans).
fn continues(r: &SpanRecord, s: &Span) -> bool {
    s.id() == r.id.offset(r.len)
        && s.origin_left() == Some(r.id.offset(r.len - 1))
        && s.right_parent().is_none()
        && s.content.is_some() == r.content.is_some()
}

pub(super) fn from_spans(records: Vec<SpanRecord>) -> Result<Tree, TextError> {
    validate(&records)?;
    Ok(build(records))
}

/// Everything `from_spans` promises to check, before building anything.
fn validate(records: &[SpanRecord]) -> Result<(), TextError> {
    use TextError::InvalidSnapshot as Invalid;

    // Lengths and ids.
    let mut starts = Vec::with_capacity(records.len());
    let mut by_id: BTreeMap<OpId, usize> = BTreeMap::new();
    let mut total: u64 = 0;
    for (i, r) in records.iter().enumerate() {
        if r.len == 0 {
            return Err(Invalid("a run has length zero"));
        }
        let end =
            r.id.counter
                .checked_add(r.len)
                .ok_or(Invalid("a run's ids overflow the counter"))?;
        if let Some(c) = &r.content
            && c.chars().count() as u64 != r.len
        {
            return Err(Invalid("a run's content does not match its length"));
        }
        if let Some((prev, &j)) = by_id.range(..OpId::new(r.id.replica, end)).next_back()
            && prev.replica == r.id.replica
            && prev.counter + records[j].len > r.id.counter
        {
            return Err(Invalid("an id appears twice"));
        }
        by_id.insert(r.id, i);
        starts.push(total);
        total = total
            .checked_add(r.len)
            .filter(|&t| t <= MAX_ITEMS)
            .ok_or(Invalid("too many characters"))?;
    }

    // Origins: origin_left comes before its run, right_parent after it and
    // shares its origin_left.
    let find = |id: OpId| -> Option<(usize, u64)> {
        let (start, &j) = by_id.range(..=id).next_back()?;
        (start.replica == id.replica && id.counter < start.counter + records[j].len)
            .then(|| (j, id.counter - start.counter))
    };
    for (i, r) in records.iter().enumerate() {
        if let Some(left) = r.origin_left {
            let (j, off) = find(left).ok_or(Invalid("origin_left names an unknown id"))?;
            if starts[j] + off >= starts[i] {
                return Err(Invalid("origin_left does not precede its run"));
            }
        }
        if let Some(right) = r.right_parent {
            let (j, off) = find(right).ok_or(Invalid("right_parent names an unknown id"))?;
            if starts[j] + off <= starts[i] {
                return Err(Invalid("right_parent does not follow its run"));
            }
            let rl = if off == 0 {
                records[j].origin_left
            } else {
                Some(records[j].id.offset(off - 1))
            };
            if rl != r.origin_left {
                return Err(Invalid("right_parent does not share the run's origin_left"));
            }
        }
    }

    Ok(())
}

/// The tree of valid records.
fn build(records: Vec<SpanRecord>) -> Tree {
    let mut tree = Tree::default();
    let mut leaf = FIRST_LEAF;
    for r in records {
        match r.content {
            None => push(
                &mut tree,
                &mut leaf,
                Span::deleted(r.id, r.len, r.origin_left, r.right_parent),
            ),
            Some(content) => {
                let runs = visible_runs(r.id, r.origin_left, r.right_parent, &content, r.len);
                for span in runs {
                    push(&mut tree, &mut leaf, span);
                }
            }
        }
    }
    tree
}

/// Appends a span at the end of the sequence; `leaf` is the last leaf.
fn push(tree: &mut Tree, leaf: &mut usize, span: Span) {
    tree.note_ids(span.id().replica, span.end());
    let spans = &mut tree.leaves[*leaf].spans;
    if let Some(last) = spans.last_mut()
        && last.can_append(&span)
    {
        let agg = span.agg();
        last.append(span);
        tree.adjust(*leaf, agg, Agg::ZERO);
        return;
    }
    let idx = spans.len();
    tree.insert_span(*leaf, idx, span);
    tree.fix_overflow(*leaf);
    while tree.leaves[*leaf].next != NONE {
        *leaf = tree.leaves[*leaf].next;
    }
}

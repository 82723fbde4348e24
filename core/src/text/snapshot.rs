//! Snapshots: the sequence as maximal runs (`SpanRecord`s), and rebuilding a
//! `Text` from untrusted runs.

use super::span::{MAX_VISIBLE_RUN, Span, visible_runs};
use super::tree::Tree;
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
    let by_id = validate(&records)?;
    Ok(build(records, &by_id))
}

/// Everything `from_spans` promises to check, before building anything.
/// Returns the records' first ids sorted, each with its record's index.
fn validate(records: &[SpanRecord]) -> Result<Vec<(OpId, usize)>, TextError> {
    use TextError::InvalidSnapshot as Invalid;

    // Lengths and ids: `by_id` sorted by id, so that overlapping runs are
    // neighbours and a lookup is a binary search.
    let mut starts = Vec::with_capacity(records.len());
    let mut by_id: Vec<(OpId, usize)> = Vec::with_capacity(records.len());
    let mut total: u64 = 0;
    for (i, r) in records.iter().enumerate() {
        if r.len == 0 {
            return Err(Invalid("a run has length zero"));
        }
        if r.id.counter.checked_add(r.len).is_none() {
            return Err(Invalid("a run's ids overflow the counter"));
        }
        if let Some(c) = &r.content
            && c.chars().count() as u64 != r.len
        {
            return Err(Invalid("a run's content does not match its length"));
        }
        by_id.push((r.id, i));
        starts.push(total);
        total = total
            .checked_add(r.len)
            .filter(|&t| t <= MAX_ITEMS)
            .ok_or(Invalid("too many characters"))?;
    }
    by_id.sort_unstable();
    for w in by_id.windows(2) {
        let ((a, i), (b, _)) = (w[0], w[1]);
        if a.replica == b.replica && a.counter + records[i].len > b.counter {
            return Err(Invalid("an id appears twice"));
        }
    }

    // Origins: origin_left comes before its run, right_parent after it and
    // shares its origin_left.
    // Ids are unique, so the run holding `id` is the one found by search;
    // a run's neighbour in document order (`near`) often holds it.
    let find = |id: OpId, near: usize| -> Option<(usize, u64)> {
        if let Some(r) = records.get(near)
            && r.id.replica == id.replica
            && r.id.counter <= id.counter
            && id.counter - r.id.counter < r.len
        {
            return Some((near, id.counter - r.id.counter));
        }
        let k = by_id
            .partition_point(|(start, _)| *start <= id)
            .checked_sub(1)?;
        let (start, j) = by_id[k];
        (start.replica == id.replica && id.counter < start.counter + records[j].len)
            .then(|| (j, id.counter - start.counter))
    };
    for (i, r) in records.iter().enumerate() {
        if let Some(left) = r.origin_left {
            let (j, off) =
                find(left, i.wrapping_sub(1)).ok_or(Invalid("origin_left names an unknown id"))?;
            if starts[j] + off >= starts[i] {
                return Err(Invalid("origin_left does not precede its run"));
            }
        }
        if let Some(right) = r.right_parent {
            let (j, off) = find(right, i + 1).ok_or(Invalid("right_parent names an unknown id"))?;
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

    Ok(by_id)
}

/// Appends `span` to the last span if it continues it, else after it.
fn push(spans: &mut Vec<Span>, span: Span) {
    match spans.last_mut() {
        Some(last) if last.can_append(&span) => last.append(span),
        _ => spans.push(span),
    }
}

/// The tree of valid records: maximal spans, laid into leaves in one pass.
/// `by_id` (from `validate`) orders the id index without another sort.
fn build(records: Vec<SpanRecord>, by_id: &[(OpId, usize)]) -> Tree {
    let mut spans: Vec<Span> = Vec::with_capacity(records.len());
    // Per record, the spans that start in it: none when it joined the span
    // before, several when a long visible run is cut.
    let mut started: Vec<(usize, usize)> = Vec::with_capacity(records.len());
    for r in records {
        let before = spans.len();
        match r.content {
            None => push(
                &mut spans,
                Span::deleted(r.id, r.len, r.origin_left, r.right_parent),
            ),
            Some(content) if r.len <= MAX_VISIBLE_RUN => push(
                &mut spans,
                Span::visible(r.id, r.origin_left, r.right_parent, content, r.len),
            ),
            Some(content) => {
                for span in visible_runs(r.id, r.origin_left, r.right_parent, &content, r.len) {
                    push(&mut spans, span);
                }
            }
        }
        started.push((before, spans.len()));
    }
    // A record's spans have ascending ids inside the record's own range, and
    // the ranges are disjoint: in `by_id` order they are sorted.
    let order: Vec<usize> = by_id
        .iter()
        .flat_map(|&(_, i)| started[i].0..started[i].1)
        .collect();
    Tree::from_ordered(spans, &order)
}

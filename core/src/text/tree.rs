//! The sequence tree: every character ever inserted (tombstones included), in
//! document order, as spans in the leaves of a B-tree.
//!
//! Leaves and internal nodes live in two arena `Vec`s and point to their parent
//! by index. Each internal node stores, per child, the sizes (`Agg`) summed over
//! that child, so finding a visible position in chars, UTF-8 or UTF-16 is one
//! root-to-leaf descent. Leaves are chained left to right for scans.
//!
//! The id index maps one id of every span to its leaf, so a remote operation
//! finds the characters it names without a scan. A visible span is keyed by
//! its first id; a tombstone by any of its ids, because backspacing moves a
//! tombstone run's start down (the deleted chars join it) and re-keying it on
//! every keystroke would cost more than the rest of the delete. Keys lie in
//! disjoint id ranges, so the span holding an id is keyed by the greatest key
//! at or below it, or, when its start moved down, by the least key above it
//! (`lookup`). The index changes only when a span is split, merged away or
//! moved to another leaf, or by a forward delete; typing that extends a span
//! and backspacing leave it alone.
//!
//! Nothing is ever removed from the sequence (deleting makes a tombstone), so
//! leaves never empty and the tree only splits.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::span::{Agg, Metric, PackedId, Span};
use crate::id::{OpId, ReplicaId};

/// Most spans a leaf holds between operations. (Unit tests use tiny nodes so
/// that small cases already split leaves and grow the tree.)
pub(super) const LEAF_CAP: usize = if cfg!(test) { 4 } else { 32 };
/// Most children an internal node holds between operations.
pub(super) const NODE_CAP: usize = if cfg!(test) { 4 } else { 16 };
/// "No node": the root's parent, the last leaf's `next`.
pub(super) const NONE: usize = usize::MAX;
/// The leftmost leaf. Leaves split to the right, so it stays the first.
pub(super) const FIRST_LEAF: usize = 0;

/// A character's place: span `span` of leaf `leaf`, char `off` of that span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Loc {
    pub leaf: usize,
    pub span: usize,
    pub off: u64,
}

/// Where the last edit happened, so the next edit nearby skips the descent.
/// `start` (the sizes of everything before `leaf`) stays exact because every
/// edit of another leaf drops the cursor; `span` is only a hint.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cursor {
    pub leaf: usize,
    pub start: Agg,
    pub span: usize,
}

#[derive(Clone, Debug)]
pub(super) struct Leaf {
    pub spans: Vec<Span>,
    /// Sum over `spans` (equal to the entry in the parent's `aggs`).
    pub agg: Agg,
    pub parent: usize,
    pub next: usize,
}

#[derive(Clone, Debug)]
pub(super) struct Node {
    /// Leaf indices for nodes of level 1, node indices above.
    pub children: Vec<usize>,
    pub aggs: Vec<Agg>,
    pub parent: usize,
}

#[derive(Clone, Debug)]
pub(super) struct Tree {
    pub leaves: Vec<Leaf>,
    pub nodes: Vec<Node>,
    pub root: usize,
    /// Levels of internal nodes above the leaves (at least 1).
    pub height: usize,
    pub total: Agg,
    /// One id of each span -> its leaf: the first id of a visible span, any
    /// id of a tombstone (see the module documentation).
    pub index: BTreeMap<PackedId, usize>,
    /// Per replica, one past the highest counter stored: ids from there on are
    /// new without a look at the index.
    pub max_end: BTreeMap<ReplicaId, u64>,
    pub cursor: Option<Cursor>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            leaves: vec![Leaf {
                spans: Vec::new(),
                agg: Agg::ZERO,
                parent: 0,
                next: NONE,
            }],
            nodes: vec![Node {
                children: vec![FIRST_LEAF],
                aggs: vec![Agg::ZERO],
                parent: NONE,
            }],
            root: 0,
            height: 1,
            total: Agg::ZERO,
            index: BTreeMap::new(),
            max_end: BTreeMap::new(),
            cursor: None,
        }
    }
}

fn span_metric(s: &Span, m: Metric) -> usize {
    match m {
        Metric::Chars => s.chars(),
        Metric::Utf8 => s.content.as_ref().map_or(0, String::len),
        Metric::Utf16 => s.utf16(),
    }
}

impl Tree {
    pub fn span(&self, leaf: usize, span: usize) -> &Span {
        &self.leaves[leaf].spans[span]
    }

    pub fn span_at(&self, loc: Loc) -> &Span {
        self.span(loc.leaf, loc.span)
    }

    // ---- navigation ----

    /// The leaf holding position `target` (in metric `m`) and the sizes of
    /// everything before that leaf. None if `target` is past the end.
    pub fn find(&self, m: Metric, target: usize) -> Option<(usize, Agg)> {
        if let Some(c) = self.cursor {
            let s = c.start.get(m);
            if target >= s && target - s < self.leaves[c.leaf].agg.get(m) {
                return Some((c.leaf, c.start));
            }
        }
        let mut node = self.root;
        let mut start = Agg::ZERO;
        for level in (1..=self.height).rev() {
            let n = &self.nodes[node];
            let mut child = None;
            for (i, a) in n.aggs.iter().enumerate() {
                if target < start.get(m) + a.get(m) {
                    child = Some(n.children[i]);
                    break;
                }
                start = start.plus(*a);
            }
            let child = child?;
            if level == 1 {
                return Some((child, start));
            }
            node = child;
        }
        unreachable!("height is at least 1")
    }

    /// In `leaf`, the span holding leaf-relative position `rel` (metric `m`),
    /// and the sizes of the spans before it.
    pub fn find_in_leaf(&self, leaf: usize, m: Metric, rel: usize) -> (usize, Agg) {
        let mut before = Agg::ZERO;
        for (i, s) in self.leaves[leaf].spans.iter().enumerate() {
            let w = span_metric(s, m);
            if rel < before.get(m) + w {
                return (i, before);
            }
            before = before.plus(s.agg());
        }
        panic!("leaf aggregate disagrees with its spans");
    }

    /// The visible char at `pos` (what an edit at `pos` needs: no sizes).
    pub fn locate_char(&self, pos: usize) -> Option<Loc> {
        let (leaf, start) = self.find(Metric::Chars, pos)?;
        let mut rel = pos - start.chars;
        for (span, s) in self.leaves[leaf].spans.iter().enumerate() {
            let w = s.chars();
            if rel < w {
                return Some(Loc {
                    leaf,
                    span,
                    off: rel as u64,
                });
            }
            rel -= w;
        }
        panic!("leaf aggregate disagrees with its spans");
    }

    /// The visible char at `pos`, with the sizes of everything before its span.
    pub fn find_char(&self, pos: usize) -> Option<(Loc, Agg)> {
        let (leaf, start) = self.find(Metric::Chars, pos)?;
        let (span, before) = self.find_in_leaf(leaf, Metric::Chars, pos - start.chars);
        let off = (pos - start.chars - before.chars) as u64;
        Some((Loc { leaf, span, off }, start.plus(before)))
    }

    /// Sizes of everything before `leaf`.
    pub fn leaf_start(&self, leaf: usize) -> Agg {
        if let Some(c) = self.cursor
            && c.leaf == leaf
        {
            return c.start;
        }
        self.leaf_start_slow(leaf)
    }

    pub fn leaf_start_slow(&self, leaf: usize) -> Agg {
        let mut start = Agg::ZERO;
        let mut child = leaf;
        let mut node = self.leaves[leaf].parent;
        while node != NONE {
            let n = &self.nodes[node];
            let i = self.child_index(node, child);
            for a in &n.aggs[..i] {
                start = start.plus(*a);
            }
            child = node;
            node = n.parent;
        }
        start
    }

    pub fn child_index(&self, node: usize, child: usize) -> usize {
        self.nodes[node]
            .children
            .iter()
            .position(|&c| c == child)
            .expect("a child is listed by its parent")
    }

    /// Sizes of everything before the span at `loc` (ignoring `loc.off`).
    pub fn before_span(&self, leaf: usize, span: usize) -> Agg {
        self.leaves[leaf].spans[..span]
            .iter()
            .fold(self.leaf_start(leaf), |a, s| a.plus(s.agg()))
    }

    /// Index of a character in the full sequence (tombstones included).
    pub fn item_index(&self, loc: Loc) -> u64 {
        self.before_span(loc.leaf, loc.span).items + loc.off
    }

    /// Index in the full sequence of a stored character.
    pub fn item_index_of(&self, id: OpId) -> u64 {
        let loc = self
            .locate(id)
            .expect("origins of stored characters are stored");
        self.item_index(loc)
    }

    /// Where the character `id` is, if it exists (deleted or not).
    pub fn locate(&self, id: OpId) -> Option<Loc> {
        if let Some(c) = self.cursor {
            let spans = &self.leaves[c.leaf].spans;
            for span in [c.span, c.span + 1] {
                if let Some(s) = spans.get(span)
                    && s.contains(id)
                {
                    let off = id.counter - s.id().counter;
                    return Some(Loc {
                        leaf: c.leaf,
                        span,
                        off,
                    });
                }
            }
        }
        let (leaf, span) = self.lookup(id)?;
        let off = id.counter - self.leaves[leaf].spans[span].id().counter;
        Some(Loc { leaf, span, off })
    }

    /// The leaf and span holding `id`, through the id index.
    fn lookup(&self, id: OpId) -> Option<(usize, usize)> {
        let key = PackedId::new(id);
        if let Some((k, &leaf)) = self.index.range(..=key).next_back()
            && k.same_replica(key)
            && let Some(span) = self.span_holding(leaf, id)
        {
            return Some((leaf, span));
        }
        // A tombstone whose start moved down past its key.
        let (k, &leaf) = self.key_after(key)?;
        if !k.same_replica(key) {
            return None;
        }
        self.span_holding(leaf, id).map(|span| (leaf, span))
    }

    /// The least key above `key`, with its leaf.
    fn key_after(&self, key: PackedId) -> Option<(&PackedId, &usize)> {
        self.index
            .range((Bound::Excluded(key), Bound::Unbounded))
            .next()
    }

    /// Position in `leaf` of the span holding `id`, if it is there.
    fn span_holding(&self, leaf: usize, id: OpId) -> Option<usize> {
        self.leaves[leaf].spans.iter().position(|s| s.contains(id))
    }

    /// The index key of a stored span: its first id if visible, else the one
    /// key among its ids.
    pub fn key_of(&self, s: &Span) -> PackedId {
        if s.is_deleted() {
            *self
                .index
                .range(s.key_range())
                .next()
                .expect("every span is in the id index")
                .0
        } else {
            s.key()
        }
    }

    /// The first existing id among `id .. id + n`, if any.
    pub fn first_existing(&self, id: OpId, n: u64) -> Option<OpId> {
        if self
            .max_end
            .get(&id.replica)
            .is_none_or(|&end| end <= id.counter)
        {
            return None;
        }
        let key = PackedId::new(id);
        if let Some((k, &leaf)) = self.index.range(..=key).next_back()
            && k.same_replica(key)
            && self.span_holding(leaf, id).is_some()
        {
            return Some(id);
        }
        // No span holding `id` is keyed at or below it, so the first span at
        // or after `id` is keyed by the least key above it.
        let (k, &leaf) = self.key_after(key)?;
        if !k.same_replica(key) {
            return None;
        }
        let s = &self.leaves[leaf].spans[self
            .span_holding(leaf, k.get())
            .expect("the id index names the leaf of each span")];
        let first = s.id().max(id);
        (first.counter < id.counter.saturating_add(n)).then_some(first)
    }

    /// The first span of the sequence.
    pub fn first_span(&self) -> Option<(usize, usize)> {
        self.next_nonempty_leaf(FIRST_LEAF).map(|l| (l, 0))
    }

    /// The first item of the sequence, if any.
    pub fn first_item(&self) -> Option<Loc> {
        self.first_span()
            .map(|(leaf, span)| Loc { leaf, span, off: 0 })
    }

    /// The item right after `loc` in document order (tombstones included).
    pub fn item_after(&self, loc: Loc) -> Option<Loc> {
        if loc.off + 1 < self.span_at(loc).len {
            Some(Loc {
                off: loc.off + 1,
                ..loc
            })
        } else {
            self.next_span(loc.leaf, loc.span)
                .map(|(leaf, span)| Loc { leaf, span, off: 0 })
        }
    }

    /// The span after `(leaf, span)` in document order.
    pub fn next_span(&self, leaf: usize, span: usize) -> Option<(usize, usize)> {
        if span + 1 < self.leaves[leaf].spans.len() {
            return Some((leaf, span + 1));
        }
        self.next_nonempty_leaf(self.leaves[leaf].next)
            .map(|l| (l, 0))
    }

    fn next_nonempty_leaf(&self, mut leaf: usize) -> Option<usize> {
        while leaf != NONE {
            if !self.leaves[leaf].spans.is_empty() {
                return Some(leaf);
            }
            leaf = self.leaves[leaf].next;
        }
        None
    }

    /// All spans in document order.
    pub fn iter(&self) -> impl Iterator<Item = &Span> {
        let mut leaf = FIRST_LEAF;
        std::iter::from_fn(move || {
            if leaf == NONE {
                return None;
            }
            let l = &self.leaves[leaf];
            leaf = l.next;
            Some(l.spans.iter())
        })
        .flatten()
    }

    // ---- edits ----

    /// Call before editing `leaf`: the cursor's `start` stays exact only for
    /// edits of its own leaf.
    pub fn touch(&mut self, leaf: usize) {
        if self.cursor.is_some_and(|c| c.leaf != leaf) {
            self.cursor = None;
        }
    }

    /// Records that `leaf`'s content grew by `add` and shrank by `sub`.
    pub fn adjust(&mut self, leaf: usize, add: Agg, sub: Agg) {
        let l = &mut self.leaves[leaf];
        l.agg = l.agg.plus(add).minus(sub);
        let mut child = leaf;
        let mut node = l.parent;
        while node != NONE {
            let i = self.child_index(node, child);
            let n = &mut self.nodes[node];
            n.aggs[i] = n.aggs[i].plus(add).minus(sub);
            child = node;
            node = n.parent;
        }
        self.total = self.total.plus(add).minus(sub);
    }

    /// Splits span `span` of `leaf` at char `at`; the right part follows it.
    pub fn split_span(&mut self, leaf: usize, span: usize, at: u64) {
        // The span's key stays with the part holding it; the other part is
        // keyed by its first id.
        let key = self.key_of(&self.leaves[leaf].spans[span]);
        let spans = &mut self.leaves[leaf].spans;
        let right = spans[span].split_off(at);
        let new_key = if key < right.key() {
            right.key()
        } else {
            spans[span].key()
        };
        self.index.insert(new_key, leaf);
        reserve_one(spans);
        spans.insert(span + 1, right);
    }

    /// Records that ids up to `end` (exclusive) of `replica` are stored.
    pub fn note_ids(&mut self, replica: ReplicaId, end: u64) {
        let max = self.max_end.entry(replica).or_insert(end);
        *max = (*max).max(end);
    }

    /// Inserts a new span at `idx` of `leaf`.
    pub fn insert_span(&mut self, leaf: usize, idx: usize, span: Span) {
        self.note_ids(span.id().replica, span.end());
        let agg = span.agg();
        self.index.insert(span.key(), leaf);
        let spans = &mut self.leaves[leaf].spans;
        reserve_one(spans);
        spans.insert(idx, span);
        self.adjust(leaf, agg, Agg::ZERO);
    }

    /// Merges span `i` of `leaf` with span `i + 1` if they form one run.
    pub fn try_merge(&mut self, leaf: usize, i: usize) -> bool {
        let spans = &self.leaves[leaf].spans;
        if i + 1 >= spans.len() || !spans[i].can_append(&spans[i + 1]) {
            return false;
        }
        let next = &spans[i + 1];
        // Most tombstones are still keyed by their first id.
        if self.index.remove(&next.key()).is_none() {
            let key = self.key_of(next);
            self.index.remove(&key);
        }
        let spans = &mut self.leaves[leaf].spans;
        let next = spans.remove(i + 1);
        spans[i].append(next);
        true
    }

    /// Tries to merge each adjacent pair `(i, i + 1)` for `i` in `lo..=hi`.
    pub fn merge_range(&mut self, leaf: usize, lo: usize, hi: usize) {
        for i in (lo..=hi).rev() {
            self.try_merge(leaf, i);
        }
    }

    /// Splits `leaf` (and its ancestors) until every node is within capacity.
    pub fn fix_overflow(&mut self, leaf: usize) {
        while self.leaves[leaf].spans.len() > LEAF_CAP {
            let at = self.leaves[leaf].spans.len() - LEAF_CAP / 2;
            self.split_leaf(leaf, at);
        }
    }

    /// Moves spans `at..` of `leaf` to a new leaf right after it.
    fn split_leaf(&mut self, leaf: usize, at: usize) {
        let new = self.leaves.len();
        // Both halves keep only the room they use: a leaf that stops
        // growing (most do, as edits move on) wastes nothing.
        let spans: Vec<Span> = self.leaves[leaf].spans.drain(at..).collect();
        self.leaves[leaf].spans.shrink_to_fit();
        let mut agg = Agg::ZERO;
        for s in &spans {
            agg = agg.plus(s.agg());
            // Most spans are still keyed by their first id.
            let slot = match self.index.get_mut(&s.key()) {
                Some(l) => Some(l),
                None => self.index.range_mut(s.key_range()).next().map(|(_, l)| l),
            };
            *slot.expect("every span is in the id index") = new;
        }
        let parent = self.leaves[leaf].parent;
        let old = &mut self.leaves[leaf];
        old.agg = old.agg.minus(agg);
        let left = old.agg;
        let next = std::mem::replace(&mut old.next, new);
        self.leaves.push(Leaf {
            spans,
            agg,
            parent,
            next,
        });
        let i = self.child_index(parent, leaf);
        let p = &mut self.nodes[parent];
        p.aggs[i] = left;
        p.children.insert(i + 1, new);
        p.aggs.insert(i + 1, agg);
        self.fix_node_overflow(parent, 1);
    }

    /// Splits internal node `node` (at `level`, 1 = parent of leaves) until it
    /// is within capacity, growing a new root when the root splits.
    fn fix_node_overflow(&mut self, node: usize, level: usize) {
        while self.nodes[node].children.len() > NODE_CAP {
            if self.nodes[node].parent == NONE {
                let root = self.nodes.len();
                let sum = sum(&self.nodes[node].aggs);
                self.nodes.push(Node {
                    children: vec![node],
                    aggs: vec![sum],
                    parent: NONE,
                });
                self.nodes[node].parent = root;
                self.root = root;
                self.height += 1;
            }
            let new = self.nodes.len();
            let n = &mut self.nodes[node];
            let at = n.children.len() - NODE_CAP / 2;
            let children: Vec<usize> = n.children.drain(at..).collect();
            let aggs: Vec<Agg> = n.aggs.drain(at..).collect();
            let parent = n.parent;
            let moved = sum(&aggs);
            for &c in &children {
                if level == 1 {
                    self.leaves[c].parent = new;
                } else {
                    self.nodes[c].parent = new;
                }
            }
            self.nodes.push(Node {
                children,
                aggs,
                parent,
            });
            let i = self.child_index(parent, node);
            let p = &mut self.nodes[parent];
            p.aggs[i] = p.aggs[i].minus(moved);
            p.children.insert(i + 1, new);
            p.aggs.insert(i + 1, moved);
            self.fix_node_overflow(parent, level + 1);
        }
    }

    /// A tree holding `spans` (in document order, maximal) and nothing else:
    /// leaves filled to three quarters, nodes built bottom-up, the id index
    /// built from sorted keys. What loading a snapshot does, in one pass.
    /// The tree of `spans` (maximal, in document order); `by_key` lists
    /// every span's index once, in the order of the spans' keys.
    pub fn from_ordered(spans: Vec<Span>, by_key: &[usize]) -> Tree {
        let mut tree = Tree::default();
        if spans.is_empty() {
            return tree;
        }
        let fill = (LEAF_CAP * 3 / 4).max(1);
        tree.leaves.clear();
        let keys: Vec<(PackedId, usize)> =
            by_key.iter().map(|&i| (spans[i].key(), i / fill)).collect();
        debug_assert!(keys.windows(2).all(|w| w[0].0 < w[1].0));
        let mut spans = spans.into_iter().peekable();
        while spans.peek().is_some() {
            let leaf = tree.leaves.len();
            let chunk: Vec<Span> = spans.by_ref().take(fill).collect();
            let mut agg = Agg::ZERO;
            for s in &chunk {
                agg = agg.plus(s.agg());
                let end = tree.max_end.entry(s.id().replica).or_insert(0);
                *end = (*end).max(s.end());
            }
            tree.total = tree.total.plus(agg);
            tree.leaves.push(Leaf {
                spans: chunk,
                agg,
                parent: NONE,
                next: if spans.peek().is_some() {
                    leaf + 1
                } else {
                    NONE
                },
            });
        }
        tree.index = BTreeMap::from_iter(keys);
        // Internal nodes, one level at a time: `level` holds (index, sum)
        // of the level below, leaves first.
        tree.nodes.clear();
        let node_fill = (NODE_CAP * 3 / 4).max(2);
        let mut level: Vec<(usize, Agg)> = tree
            .leaves
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.agg))
            .collect();
        let mut height = 0;
        loop {
            height += 1;
            let mut above = Vec::with_capacity(level.len() / node_fill + 1);
            for group in level.chunks(node_fill) {
                let node = tree.nodes.len();
                for &(child, _) in group {
                    if height == 1 {
                        tree.leaves[child].parent = node;
                    } else {
                        tree.nodes[child].parent = node;
                    }
                }
                let aggs: Vec<Agg> = group.iter().map(|&(_, a)| a).collect();
                above.push((node, sum(&aggs)));
                tree.nodes.push(Node {
                    children: group.iter().map(|&(c, _)| c).collect(),
                    aggs,
                    parent: NONE,
                });
            }
            if above.len() == 1 {
                tree.root = above[0].0;
                tree.height = height;
                return tree;
            }
            level = above;
        }
    }

    /// Points the cursor at span `span` of `leaf` after an edit there, where
    /// `start` is the sizes before `leaf` (valid before any leaf split) and the
    /// leaf may since have been split to the right.
    pub fn set_cursor(&mut self, mut leaf: usize, mut start: Agg, mut span: usize) {
        while span >= self.leaves[leaf].spans.len() && self.leaves[leaf].next != NONE {
            span -= self.leaves[leaf].spans.len();
            start = start.plus(self.leaves[leaf].agg);
            leaf = self.leaves[leaf].next;
        }
        self.cursor = Some(Cursor { leaf, start, span });
    }
}

/// Makes room for one more span in a leaf, a few at a time: spans are big
/// and most leaves stop growing once edits move on, so room kept spare costs
/// more than copying a leaf (at most `LEAF_CAP` spans) now and then.
fn reserve_one(spans: &mut Vec<Span>) {
    if spans.len() == spans.capacity() {
        spans.reserve_exact(LEAF_GROWTH);
    }
}

/// Spans a full leaf grows by.
const LEAF_GROWTH: usize = 4;

pub(super) fn sum(aggs: &[Agg]) -> Agg {
    aggs.iter().fold(Agg::ZERO, |a, b| a.plus(*b))
}

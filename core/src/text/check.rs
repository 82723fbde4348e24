//! The deep invariant check tests run after every step. Panics on the first
//! violation, naming it.

use super::span::{Agg, MAX_VISIBLE_RUN, utf16_len};
use super::tree::{FIRST_LEAF, LEAF_CAP, NODE_CAP, NONE, Tree, sum};

pub(super) fn check(tree: &Tree) {
    let leaves = check_shape(tree);
    check_leaves(tree, &leaves);
    check_index(tree);
    check_origins(tree);
    if let Some(c) = tree.cursor {
        assert!(c.leaf < tree.leaves.len(), "cursor leaf");
        assert_eq!(c.start, tree.leaf_start_slow(c.leaf), "cursor start");
    }
}

/// Parent links, aggregates and the leaf chain; returns the leaves in order.
fn check_shape(tree: &Tree) -> Vec<usize> {
    assert!(tree.height >= 1, "height");
    assert_eq!(tree.nodes[tree.root].parent, NONE, "root has no parent");
    let mut leaves = Vec::new();
    let mut nodes = 0;
    let total = check_node(tree, tree.root, tree.height, &mut leaves, &mut nodes);
    assert_eq!(total, tree.total, "total aggregate");
    assert_eq!(nodes, tree.nodes.len(), "every node is reachable");
    assert_eq!(leaves.len(), tree.leaves.len(), "every leaf is reachable");

    // The leaf chain follows document order.
    assert_eq!(leaves[0], FIRST_LEAF, "first leaf");
    for w in leaves.windows(2) {
        assert_eq!(tree.leaves[w[0]].next, w[1], "leaf chain");
    }
    assert_eq!(
        tree.leaves[*leaves.last().expect("a leaf")].next,
        NONE,
        "last leaf"
    );
    leaves
}

/// Spans: lengths, content, maximal runs, id index entries.
fn check_leaves(tree: &Tree, leaves: &[usize]) {
    let mut span_count = 0;
    for &l in leaves {
        let leaf = &tree.leaves[l];
        assert!(leaf.spans.len() <= LEAF_CAP, "leaf {l} over capacity");
        assert!(
            !leaf.spans.is_empty() || (tree.total.items == 0 && tree.leaves.len() == 1),
            "only the leaf of an empty sequence is empty"
        );
        let agg = leaf.spans.iter().fold(Agg::ZERO, |a, s| a.plus(s.agg()));
        assert_eq!(agg, leaf.agg, "leaf {l} aggregate");
        for s in &leaf.spans {
            span_count += 1;
            assert!(s.len > 0, "empty span {:?}", s.id());
            assert!(
                s.id().counter.checked_add(s.len).is_some(),
                "span ids overflow"
            );
            match &s.content {
                Some(c) => {
                    assert_eq!(
                        c.chars().count() as u64,
                        s.len,
                        "content length {:?}",
                        s.id()
                    );
                    assert_eq!(utf16_len(c), s.utf16(), "utf16 length {:?}", s.id());
                    assert!(s.len <= MAX_VISIBLE_RUN, "visible span too long");
                }
                None => assert_eq!(s.utf16(), 0, "deleted span has utf16 {:?}", s.id()),
            }
            // One key among the span's ids, its first if visible.
            let keys: Vec<_> = tree.index.range(s.key_range()).collect();
            assert_eq!(keys.len(), 1, "id index keys of {:?}", s.id());
            assert_eq!(*keys[0].1, l, "id index leaf of {:?}", s.id());
            assert!(
                s.is_deleted() || *keys[0].0 == s.key(),
                "visible {:?} is keyed by its first id",
                s.id()
            );
        }
        for w in leaf.spans.windows(2) {
            assert!(
                !w[0].can_append(&w[1]),
                "runs {:?} and {:?} should be one span",
                w[0].id(),
                w[1].id()
            );
        }
    }
    assert_eq!(
        tree.index.len(),
        span_count,
        "id index has no stale entries"
    );
}

/// Id ranges are disjoint, and max_end is the end of each replica's last.
fn check_index(tree: &Tree) {
    let mut max_end = std::collections::BTreeMap::new();
    let mut prev: Option<(crate::id::OpId, u64)> = None;
    for (&key, &leaf) in &tree.index {
        let s = tree.leaves[leaf]
            .spans
            .iter()
            .find(|s| s.contains(key.get()))
            .expect("indexed span");
        let id = s.id();
        if let Some((p, end)) = prev {
            assert!(
                p.replica != id.replica || end <= id.counter,
                "ids overlap at {id:?}"
            );
        }
        prev = Some((id, s.end()));
        max_end.insert(id.replica, s.end());
    }
    assert_eq!(max_end, tree.max_end, "max_end per replica");
}

/// origin_left before each char, right_parent after it and sharing its
/// origin_left; lookups by id agree with the order.
fn check_origins(tree: &Tree) {
    let mut item = 0u64;
    for s in tree.iter() {
        if let Some(l) = s.origin_left() {
            let loc = tree.locate(l).expect("origin_left exists");
            assert!(
                tree.item_index(loc) < item,
                "origin_left of {:?} is not before it",
                s.id()
            );
        }
        if let Some(r) = s.right_parent() {
            let loc = tree.locate(r).expect("right_parent exists");
            assert!(
                tree.item_index(loc) > item,
                "right_parent of {:?} is not after it",
                s.id()
            );
            let rs = tree.span_at(loc);
            assert_eq!(
                rs.origins_at(loc.off).0,
                s.origin_left(),
                "right_parent of {:?}",
                s.id()
            );
        }
        let loc = tree.locate(s.id()).expect("every span is found by id");
        assert_eq!(tree.item_index(loc), item, "item index of {:?}", s.id());
        item += s.len;
    }
    assert_eq!(item, tree.total.items, "items");
}

fn check_node(
    tree: &Tree,
    node: usize,
    level: usize,
    leaves: &mut Vec<usize>,
    nodes: &mut usize,
) -> Agg {
    *nodes += 1;
    let n = &tree.nodes[node];
    assert!(!n.children.is_empty(), "node {node} has no children");
    assert!(n.children.len() <= NODE_CAP, "node {node} over capacity");
    assert_eq!(n.children.len(), n.aggs.len(), "node {node} aggs");
    for (&c, &a) in n.children.iter().zip(&n.aggs) {
        let agg = if level == 1 {
            assert_eq!(tree.leaves[c].parent, node, "leaf {c} parent");
            leaves.push(c);
            tree.leaves[c].agg
        } else {
            assert_eq!(tree.nodes[c].parent, node, "node {c} parent");
            check_node(tree, c, level - 1, leaves, nodes)
        };
        assert_eq!(agg, a, "aggregate of child {c} of node {node}");
    }
    sum(&n.aggs)
}

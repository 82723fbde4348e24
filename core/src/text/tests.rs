//! Unit tests of the text CRDT; `check()` after every step. Under `cfg(test)`
//! leaves, nodes and visible runs are tiny, so these tests and the property
//! tests at the end (shared with `core/tests/text_props.rs`) exercise every
//! split and merge of the tree on small inputs.

use proptest::prelude::*;

use super::span::MAX_VISIBLE_RUN;
use super::tree::LEAF_CAP;
use super::*;
use crate::id::ReplicaId;

#[path = "../../tests/it/support/text_model.rs"]
mod sim;

fn id(replica: u128, counter: u64) -> OpId {
    OpId::new(ReplicaId(replica), counter)
}

/// One replica editing locally, as the document layer does it.
struct Editor {
    text: Text,
    replica: u128,
    next: u64,
}

impl Editor {
    fn new(replica: u128) -> Self {
        Editor {
            text: Text::new(),
            replica,
            next: 1,
        }
    }

    fn insert(&mut self, pos: usize, s: &str) -> (OpId, TextInsert) {
        let ins = self.text.prepare_insert(pos, s).unwrap();
        let at = id(self.replica, self.next);
        self.next += s.chars().count() as u64;
        assert_eq!(self.text.apply_insert(at, &ins), Ok(pos));
        self.text.check();
        (at, ins)
    }

    fn delete(&mut self, pos: usize, len: usize) -> Vec<IdSpan> {
        let spans = self.text.prepare_delete(pos, len).unwrap();
        let mut removed = 0;
        for s in &spans {
            removed += self.text.apply_delete(*s).unwrap();
            self.text.check();
        }
        assert_eq!(removed, len);
        spans
    }
}

#[test]
fn empty_text() {
    let t = Text::new();
    t.check();
    assert_eq!(t.to_string(), "");
    assert!(t.is_empty());
    assert_eq!((t.len_chars(), t.len_utf8(), t.len_utf16()), (0, 0, 0));
    assert_eq!(t.char_to_utf8(0), Some(0));
    assert_eq!(t.char_to_utf8(1), None);
    assert_eq!(t.utf16_to_char(0), Some(0));
    assert_eq!(t.id_at(0), None);
    assert_eq!(t.spans(), vec![]);
    assert_eq!(t.prepare_delete(0, 0), Ok(vec![]));
    assert_eq!(
        t.prepare_insert(0, "a"),
        Ok(TextInsert {
            origin_left: None,
            right_parent: None,
            content: "a".into()
        })
    );
    assert_eq!(Text::from_spans(vec![]), Ok(Text::new()));
}

#[test]
fn typing_forms_one_run() {
    let mut e = Editor::new(1);
    for (i, c) in "hello".chars().enumerate() {
        e.insert(i, &c.to_string());
    }
    assert_eq!(e.text.to_string(), "hello");
    assert_eq!(
        e.text.spans(),
        vec![SpanRecord {
            id: id(1, 1),
            len: 5,
            origin_left: None,
            right_parent: None,
            content: Some("hello".into())
        }]
    );
}

#[test]
fn prepare_insert_origins() {
    let mut e = Editor::new(1);
    e.insert(0, "abc"); // ids 1..=3
    // Middle of a run: right_parent is the next char of the run.
    let ins = e.text.prepare_insert(1, "x").unwrap();
    assert_eq!(ins.origin_left, Some(id(1, 1)));
    assert_eq!(ins.right_parent, Some(id(1, 2)));
    // At the start: the first char has no origin_left either.
    let ins = e.text.prepare_insert(0, "x").unwrap();
    assert_eq!((ins.origin_left, ins.right_parent), (None, Some(id(1, 1))));
    // At the end: nothing after.
    let ins = e.text.prepare_insert(3, "x").unwrap();
    assert_eq!((ins.origin_left, ins.right_parent), (Some(id(1, 3)), None));
    // The next item counts even when deleted.
    e.delete(1, 1); // "ac", b (1,2) is a tombstone
    let ins = e.text.prepare_insert(1, "x").unwrap();
    assert_eq!(
        (ins.origin_left, ins.right_parent),
        (Some(id(1, 1)), Some(id(1, 2)))
    );
    // A next item with another origin_left is not a right parent.
    e.insert(2, "yz"); // after c: "acyz"
    e.insert(0, "q"); // "qacyz", q's origin_left None, right_parent a
    let ins = e.text.prepare_insert(1, "x").unwrap();
    assert_eq!((ins.origin_left, ins.right_parent), (Some(id(1, 6)), None));
}

#[test]
fn insert_in_middle_and_delete() {
    let mut e = Editor::new(7);
    e.insert(0, "hello world");
    e.insert(5, ",");
    assert_eq!(e.text.to_string(), "hello, world");
    e.delete(0, 1);
    e.insert(0, "H");
    assert_eq!(e.text.to_string(), "Hello, world");
    e.delete(5, 7);
    assert_eq!(e.text.to_string(), "Hello");
    e.delete(0, 5);
    assert_eq!(e.text.to_string(), "");
    assert!(e.text.is_empty());
    e.insert(0, "again");
    assert_eq!(e.text.to_string(), "again");
}

#[test]
fn backspacing_merges_tombstones() {
    let mut e = Editor::new(1);
    e.insert(0, "abcdef");
    for pos in (2..6).rev() {
        e.delete(pos, 1);
    }
    assert_eq!(e.text.to_string(), "ab");
    let spans = e.text.spans();
    assert_eq!(spans.len(), 2);
    assert_eq!(
        (spans[1].id, spans[1].len, spans[1].content.clone()),
        (id(1, 3), 4, None)
    );
}

#[test]
fn backspacing_leaves_the_id_index_alone() {
    let mut e = Editor::new(1);
    e.insert(0, "abcdef");
    // The first backspace splits "f" off as a tombstone keyed by its id.
    e.delete(5, 1);
    let index = e.text.tree.index.clone();
    assert!(index.contains_key(&super::span::PackedId::new(id(1, 6))));
    // The next ones move the tombstones' start down without re-keying them.
    for pos in (2..5).rev() {
        e.delete(pos, 1);
        assert_eq!(e.text.tree.index, index);
    }
    assert_eq!(e.text.to_string(), "ab");
    // The chars below the key are found through the index alone.
    e.text.tree.cursor = None;
    for c in 3..7 {
        assert!(e.text.contains_id(id(1, c)), "{c}");
        assert_eq!(e.text.pos_of(id(1, c)), Some(2));
        assert_eq!(e.text.origin_left_of(id(1, c)), Ok(Some(id(1, c - 1))));
    }
    assert!(!e.text.contains_id(id(1, 7)));
    assert!(e.text.contains_any(IdSpan {
        start: id(1, 0),
        len: 4
    }));
    assert!(!e.text.contains_any(IdSpan {
        start: id(1, 7),
        len: 4
    }));
    // A concurrent insert after a char below the key splits the tombstones:
    // the key stays with the part holding it, the other part gets its own.
    let ins = TextInsert {
        origin_left: Some(id(1, 4)),
        right_parent: None,
        content: "X".into(),
    };
    assert_eq!(e.text.apply_insert(id(2, 1), &ins), Ok(2));
    e.text.check();
    assert_eq!(e.text.to_string(), "abX");
    // Another replica's delete reaches the chars on both sides of the split.
    assert_eq!(
        e.text.apply_delete(IdSpan {
            start: id(1, 2),
            len: 5
        }),
        Ok(1)
    );
    e.text.check();
    assert_eq!(e.text.to_string(), "aX");
}

#[test]
fn deletes_are_idempotent_and_report_visible_count() {
    let mut e = Editor::new(1);
    e.insert(0, "abcdef");
    let spans = e.delete(1, 2);
    assert_eq!(
        spans,
        vec![IdSpan {
            start: id(1, 2),
            len: 2
        }]
    );
    assert_eq!(e.text.apply_delete(spans[0]), Ok(0));
    // A span partly deleted already removes only the rest.
    assert_eq!(
        e.text.apply_delete(IdSpan {
            start: id(1, 1),
            len: 6
        }),
        Ok(4)
    );
    e.text.check();
    assert_eq!(e.text.to_string(), "");
}

#[test]
fn delete_spans_across_runs_and_replicas() {
    let mut a = Editor::new(1);
    let (i1, ins1) = a.insert(0, "abcd");
    let mut b = Editor::new(2);
    b.text.apply_insert(i1, &ins1).unwrap();
    b.insert(2, "XY");
    // "abXYcd": prepare_delete over all of it names three spans.
    let spans = b.text.prepare_delete(1, 4).unwrap();
    assert_eq!(
        spans,
        vec![
            IdSpan {
                start: id(1, 2),
                len: 1
            },
            IdSpan {
                start: id(2, 1),
                len: 2
            },
            IdSpan {
                start: id(1, 3),
                len: 1
            },
        ]
    );
    // One IdSpan can cover chars now split by other inserts.
    assert_eq!(
        b.text.apply_delete(IdSpan {
            start: id(1, 1),
            len: 4
        }),
        Ok(4)
    );
    b.text.check();
    assert_eq!(b.text.to_string(), "XY");
}

/// "abc" typed by replica 1 (ids 1..=3), then "b" deleted.
fn ac() -> Editor {
    let mut e = Editor::new(1);
    e.insert(0, "abc");
    e.delete(1, 1);
    e
}

#[test]
fn rejected_inserts_change_nothing() {
    let mut e = ac();
    let before = e.text.clone();
    let spans_before = e.text.spans();
    let mk = |l: Option<OpId>, r: Option<OpId>, c: &str| TextInsert {
        origin_left: l,
        right_parent: r,
        content: c.into(),
    };
    let cases = [
        (id(2, 1), mk(None, None, ""), TextError::EmptyInsert),
        (
            id(1, 3),
            mk(None, None, "x"),
            TextError::DuplicateId(id(1, 3)),
        ),
        (
            id(1, 0),
            mk(None, None, "xy"),
            TextError::DuplicateId(id(1, 1)),
        ),
        (
            id(2, 1),
            mk(Some(id(9, 9)), None, "x"),
            TextError::UnknownId(id(9, 9)),
        ),
        (
            id(2, 1),
            mk(None, Some(id(9, 9)), "x"),
            TextError::UnknownId(id(9, 9)),
        ),
        (
            id(2, 1),
            mk(None, Some(id(1, 2)), "x"),
            TextError::BadRightParent(id(1, 2)),
        ),
        (
            id(2, u64::MAX),
            mk(None, None, "xy"),
            TextError::IdOverflow(id(2, u64::MAX)),
        ),
        // Its own ids do not exist yet.
        (
            id(2, 1),
            mk(Some(id(2, 1)), None, "x"),
            TextError::UnknownId(id(2, 1)),
        ),
    ];
    for (at, ins, err) in cases {
        assert_eq!(e.text.check_insert(at, &ins), Err(err.clone()));
        assert_eq!(e.text.apply_insert(at, &ins), Err(err));
        e.text.check();
        assert_eq!(e.text.spans(), spans_before);
    }
    assert_eq!(e.text, before);
}

#[test]
fn rejected_deletes_change_nothing() {
    let mut e = ac();
    let spans_before = e.text.spans();
    let span = |r, c, len| IdSpan {
        start: id(r, c),
        len,
    };
    let cases = [
        (span(1, 1, 0), TextError::EmptyDelete),
        (span(1, 2, 3), TextError::UnknownId(id(1, 4))),
        (span(3, 1, 1), TextError::UnknownId(id(3, 1))),
        (span(1, u64::MAX, 2), TextError::IdOverflow(id(1, u64::MAX))),
    ];
    for (span, err) in cases {
        assert_eq!(e.text.check_delete(span), Err(err.clone()));
        assert_eq!(e.text.apply_delete(span), Err(err));
        e.text.check();
        assert_eq!(e.text.spans(), spans_before);
    }
}

#[test]
fn local_edits_out_of_bounds() {
    let t = ac().text;
    let oob = |pos, len| TextError::OutOfBounds { pos, len };
    assert_eq!(t.prepare_insert(3, "x").unwrap_err(), oob(3, 2));
    assert_eq!(t.prepare_insert(0, ""), Err(TextError::EmptyInsert));
    assert_eq!(t.prepare_delete(1, 2).unwrap_err(), oob(3, 2));
    assert_eq!(t.prepare_delete(3, 0).unwrap_err(), oob(3, 2));
    assert_eq!(
        t.prepare_delete(1, usize::MAX).unwrap_err(),
        oob(usize::MAX, 2)
    );
    assert_eq!(t.prepare_delete(2, 0), Ok(vec![]));
}

#[test]
fn unicode_positions() {
    let mut e = Editor::new(1);
    // a(1,1,1) é(1,2,1) 日(1,3,1) 😀(1,4,2) b(1,1,1)
    e.insert(0, "aé日😀b");
    let t = &e.text;
    assert_eq!((t.len_chars(), t.len_utf8(), t.len_utf16()), (5, 11, 6));
    let utf8 = [0, 1, 3, 6, 10, 11];
    let utf16 = [0, 1, 2, 3, 5, 6];
    for pos in 0..=5 {
        assert_eq!(t.char_to_utf8(pos), Some(utf8[pos]), "utf8 of {pos}");
        assert_eq!(t.char_to_utf16(pos), Some(utf16[pos]), "utf16 of {pos}");
        assert_eq!(t.utf8_to_char(utf8[pos]), Some(pos));
        assert_eq!(t.utf16_to_char(utf16[pos]), Some(pos));
    }
    assert_eq!(t.char_to_utf8(6), None);
    for inside in [2, 4, 5, 7, 8, 9] {
        assert_eq!(t.utf8_to_char(inside), None, "byte {inside}");
    }
    assert_eq!(t.utf8_to_char(12), None);
    assert_eq!(t.utf16_to_char(4), None, "inside the surrogate pair");
    assert_eq!(t.utf16_to_char(7), None);
    // Deleting the emoji removes 4 bytes and 2 units.
    e.delete(3, 1);
    assert_eq!(e.text.to_string(), "aé日b");
    assert_eq!((e.text.len_utf8(), e.text.len_utf16()), (7, 4));
    e.insert(1, "😀");
    assert_eq!(e.text.to_string(), "a😀é日b");
    assert_eq!(e.text.char_to_utf16(2), Some(3));
}

#[test]
fn stable_cursors() {
    let mut e = Editor::new(1);
    e.insert(0, "abcdef");
    let d = e.text.id_at(3).unwrap();
    assert_eq!(d, id(1, 4));
    assert_eq!(e.text.pos_of(d), Some(3));
    e.insert(0, "XY");
    assert_eq!(e.text.pos_of(d), Some(5));
    e.delete(4, 2); // deletes c and d
    assert_eq!(e.text.to_string(), "XYabef");
    assert_eq!(
        e.text.pos_of(d),
        Some(4),
        "a deleted char sits before the next visible one"
    );
    assert_eq!(e.text.id_at(4), Some(id(1, 5)));
    assert_eq!(e.text.id_at(6), None);
    assert_eq!(e.text.pos_of(id(5, 5)), None);
    assert!(e.text.contains_id(d));
    assert!(!e.text.contains_id(id(1, 9)));
}

#[test]
fn concurrent_inserts_at_same_place_order_by_id() {
    let mut base = Editor::new(1);
    let (i0, ins0) = base.insert(0, "ab");
    let mut x = Editor::new(2);
    let mut y = Editor::new(3);
    for e in [&mut x, &mut y] {
        e.text.apply_insert(i0, &ins0).unwrap();
    }
    let ox = x.insert(1, "X");
    let oy = y.insert(1, "Y");
    x.text.apply_insert(oy.0, &oy.1).unwrap();
    y.text.apply_insert(ox.0, &ox.1).unwrap();
    x.text.check();
    y.text.check();
    assert_eq!(x.text.to_string(), "aXYb");
    assert_eq!(x.text, y.text);
}

#[test]
fn large_documents_split_the_tree() {
    let mut e = Editor::new(1);
    // Inserting at alternating ends of the text makes one span per insert.
    let mut model = String::new();
    for i in 0..3000u64 {
        let c = char::from(b'a' + (i % 26) as u8);
        let pos = if i % 2 == 0 { 0 } else { model.len() / 2 };
        let ins = e.text.prepare_insert(pos, &c.to_string()).unwrap();
        e.text.apply_insert(id(1, 10 + i), &ins).unwrap();
        model.insert(pos, c);
        if i % 97 == 0 {
            e.text.check();
        }
    }
    e.text.check();
    assert!(e.text.tree.height >= 3, "height {}", e.text.tree.height);
    assert_eq!(e.text.to_string(), model);
    let mut copy = Text::from_spans(e.text.spans()).unwrap();
    copy.check();
    assert!(copy.tree.height >= 3, "loaded height {}", copy.tree.height);
    assert_eq!(copy, e.text);
    assert_eq!(copy.to_string(), model);
    // The tree a snapshot builds in one pass edits like any other: the same
    // edits on both end equal.
    for (k, pos) in [0, 1, 700, 1500, 2999, 3000, 42].into_iter().enumerate() {
        let pos = pos.min(e.text.len_chars());
        let ins = e.text.prepare_insert(pos, "xyz").unwrap();
        assert_eq!(copy.prepare_insert(pos, "xyz").unwrap(), ins);
        let at = id(2, 1 + 3 * k as u64);
        e.text.apply_insert(at, &ins).unwrap();
        copy.apply_insert(at, &ins).unwrap();
        let del = e.text.prepare_delete(pos / 2, 5).unwrap();
        assert_eq!(copy.prepare_delete(pos / 2, 5).unwrap(), del);
        for span in del {
            e.text.apply_delete(span).unwrap();
            copy.apply_delete(span).unwrap();
        }
        copy.check();
    }
    e.text.check();
    assert_eq!(copy, e.text);
    assert_eq!(copy.to_string(), e.text.to_string());
}

#[test]
fn long_inserts_are_chunked_and_joined_back() {
    let mut e = Editor::new(1);
    let long: String = "é".repeat(MAX_VISIBLE_RUN as usize * 3 + 5);
    e.insert(0, &long);
    assert_eq!(e.text.len_chars(), long.chars().count());
    assert_eq!(e.text.spans().len(), 1, "one run in the snapshot");
    assert_eq!(e.text.tree.iter().count(), 4, "chunks of MAX_VISIBLE_RUN");
    // Deleting most of two adjacent chunks lets their rests join.
    let n = MAX_VISIBLE_RUN as usize;
    e.delete(n + 1, n - 2);
    e.delete(1, n - 2);
    assert_eq!(
        e.text.to_string(),
        "é".repeat(long.chars().count() - 2 * n + 4)
    );
    // A huge paste in the middle of a full leaf splits it many times.
    let mut many = Editor::new(2);
    for i in 0..LEAF_CAP {
        many.insert(i, if i % 2 == 0 { "x" } else { "y" });
        many.insert(0, "z");
    }
    let paste: String = "0123456789".repeat(MAX_VISIBLE_RUN as usize * 10);
    many.insert(5, &paste);
    assert_eq!(many.text.len_chars(), 2 * LEAF_CAP + paste.len());
}

#[test]
fn snapshot_round_trip_and_validation() {
    let mut a = Editor::new(1);
    a.insert(0, "hello world");
    a.delete(2, 3);
    a.insert(3, "日本");
    let spans = a.text.spans();
    let b = Text::from_spans(spans.clone()).unwrap();
    b.check();
    assert_eq!(b, a.text);
    assert_eq!(b.to_string(), a.text.to_string());

    // Non-maximal runs are accepted and joined.
    let mut split = Vec::new();
    for r in &spans {
        if let (Some(c), true) = (&r.content, r.len > 1) {
            let first: String = c.chars().take(1).collect();
            let rest: String = c.chars().skip(1).collect();
            split.push(SpanRecord {
                len: 1,
                content: Some(first),
                ..r.clone()
            });
            split.push(SpanRecord {
                id: r.id.offset(1),
                len: r.len - 1,
                origin_left: Some(r.id),
                right_parent: None,
                content: Some(rest),
            });
        } else {
            split.push(r.clone());
        }
    }
    assert_eq!(Text::from_spans(split).unwrap(), a.text);

    let invalid = |f: &dyn Fn(&mut Vec<SpanRecord>)| {
        let mut s = spans.clone();
        f(&mut s);
        Text::from_spans(s)
    };
    let bad = TextError::InvalidSnapshot;
    assert_eq!(
        invalid(&|s| s[0].len = 0),
        Err(bad("a run has length zero"))
    );
    assert_eq!(
        invalid(&|s| s[0].len += 1),
        Err(bad("a run's content does not match its length"))
    );
    assert_eq!(
        invalid(&|s| s[0].id.counter = u64::MAX - 1),
        Err(bad("a run's ids overflow the counter"))
    );
    assert_eq!(
        invalid(&|s| s[1].id = s[0].id),
        Err(bad("an id appears twice"))
    );
    assert_eq!(
        invalid(&|s| s[0].origin_left = Some(id(1, 4))),
        Err(bad("origin_left does not precede its run"))
    );
    assert_eq!(
        invalid(&|s| s[0].origin_left = Some(id(8, 8))),
        Err(bad("origin_left names an unknown id"))
    );
    assert_eq!(
        invalid(&|s| s[1].right_parent = Some(id(1, 1))),
        Err(bad("right_parent does not follow its run"))
    );
    assert_eq!(
        invalid(&|s| s[1].right_parent = Some(id(8, 8))),
        Err(bad("right_parent names an unknown id"))
    );
    assert_eq!(
        invalid(&|s| {
            let last = s.last().unwrap().id;
            s[0].right_parent = Some(last);
        }),
        Err(bad("right_parent does not share the run's origin_left"))
    );
    assert_eq!(
        invalid(&|s| {
            for (i, r) in s.iter_mut().enumerate() {
                r.id = id(50 + i as u128, 0);
                r.content = None;
                r.len = 1 << 47;
                r.origin_left = None;
                r.right_parent = None;
            }
        }),
        Err(bad("too many characters"))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn tiny_tree_local_edits_match_a_model(edits in prop::collection::vec(sim::edit(), 1..80)) {
        sim::Local::run_all(&edits).check_end()?;
    }

    #[test]
    fn tiny_tree_replicas_match_the_reference(steps in prop::collection::vec(sim::step(3), 1..60)) {
        sim::run_replicas(3, &steps)?;
    }

    #[test]
    fn id_lookups_agree_with_a_scan(
        edits in prop::collection::vec((0..2usize, sim::edit()), 1..60)
    ) {
        let mut t = Text::new();
        let mut next = [1u64; 2];
        let mut caret = 0;
        for (r, e) in &edits {
            edit_as(&mut t, id(*r as u128 + 1, next[*r]), &mut caret, e);
            next[*r] = t.tree.max_end.get(&ReplicaId(*r as u128 + 1)).copied().unwrap_or(1);
            t.check();
            lookups_agree_with_a_scan(&t, &next);
        }
    }
}

/// Applies `e` as local edits, new chars numbered from `first`.
fn edit_as(t: &mut Text, first: OpId, caret: &mut usize, e: &sim::Edit) {
    let mut next = first;
    let mut insert = |t: &mut Text, pos: usize, s: &str| {
        let ins = t.prepare_insert(pos, s).unwrap();
        t.apply_insert(next, &ins).unwrap();
        next = next.offset(s.chars().count() as u64);
    };
    let delete = |t: &mut Text, pos: usize, len: usize| {
        for span in t.prepare_delete(pos, len).unwrap() {
            t.apply_delete(span).unwrap();
        }
    };
    match e {
        sim::Edit::Insert(p, s) => {
            let pos = sim::at(*p, t.len_chars());
            insert(t, pos, s);
            *caret = pos + s.chars().count();
        }
        sim::Edit::Type(s) => {
            *caret = (*caret).min(t.len_chars());
            for c in s.chars() {
                insert(t, *caret, &c.to_string());
                *caret += 1;
            }
        }
        sim::Edit::Delete(p, n) => {
            let pos = sim::at(*p, t.len_chars());
            delete(t, pos, (*n).min(t.len_chars() - pos));
            *caret = pos;
        }
        sim::Edit::Backspace(n) => {
            *caret = (*caret).min(t.len_chars());
            for _ in 0..*n {
                if *caret > 0 {
                    *caret -= 1;
                    delete(t, *caret, 1);
                }
            }
        }
        sim::Edit::ForwardDelete(n) => {
            *caret = (*caret).min(t.len_chars());
            for _ in 0..*n {
                if *caret < t.len_chars() {
                    delete(t, *caret, 1);
                }
            }
        }
    }
}

/// Every id of replicas 1 and 2 below `next` (and a few past it), looked up
/// through the id index (the cursor dropped), is found where a scan of the
/// spans finds it; so is the first existing id of every short range.
fn lookups_agree_with_a_scan(t: &Text, next: &[u64; 2]) {
    let mut tree = t.tree.clone();
    tree.cursor = None;
    let mut scan = std::collections::BTreeMap::new();
    for (i, s) in tree.iter().enumerate() {
        for k in 0..s.len {
            scan.insert(s.id().offset(k), (i, k));
        }
    }
    let spans: Vec<_> = tree.iter().cloned().collect();
    for (r, &end) in next.iter().enumerate() {
        for c in 0..end + 2 {
            let x = id(r as u128 + 1, c);
            let found = tree.locate(x).map(|loc| {
                let s = tree.span_at(loc);
                let i = spans.iter().position(|o| o == s).expect("a stored span");
                (i, loc.off)
            });
            assert_eq!(found, scan.get(&x).copied(), "locate {x:?}");
            for n in 1..4 {
                let first = scan
                    .range(x..id(r as u128 + 1, c + n))
                    .next()
                    .map(|(&y, _)| y);
                assert_eq!(tree.first_existing(x, n), first, "first_existing {x:?} {n}");
            }
        }
    }
}

#[test]
fn spans_and_their_ids_stay_small() {
    // Spans are most of a text's memory (see `Span`).
    assert_eq!(std::mem::size_of::<super::span::PackedId>(), 24);
    assert_eq!(std::mem::size_of::<super::span::Span>(), 112);
}

#[test]
fn packed_ids_order_like_op_ids() {
    use super::span::PackedId;
    let ids = [
        OpId::new(ReplicaId(0), 0),
        OpId::new(ReplicaId(1), u64::MAX),
        OpId::new(ReplicaId(u128::from(u64::MAX)), 3),
        OpId::new(ReplicaId(1 << 64), 0),
        OpId::new(ReplicaId(u128::MAX), 7),
    ];
    for a in ids {
        assert_eq!(PackedId::new(a).get(), a);
        for b in ids {
            assert_eq!(PackedId::new(a).cmp(&PackedId::new(b)), a.cmp(&b));
        }
    }
}

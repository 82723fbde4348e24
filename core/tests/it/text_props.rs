//! Property tests of the text CRDT (with the tree's real capacities):
//! - one replica against a `Vec<char>` model (text, lengths, UTF-8 / UTF-16
//!   conversions, stable cursors, snapshots),
//! - replicas editing concurrently and exchanging ops in different causal
//!   orders, each checked op by op against a naive implementation of the same
//!   ordering rules, and converging,
//! - `from_spans` and remote inserts on arbitrary input: an error that changes
//!   nothing, or a valid text, never a panic.
//!
//! `check()` runs after every step.

use concord_core::text::SpanRecord;
use concord_core::{IdSpan, OpId, ReplicaId, Text, TextError, TextInsert};
use proptest::prelude::*;

#[path = "support/text_model.rs"]
mod sim;

use sim::{ALPHABET, Local, content, edit, run_replicas, step};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn local_edits_match_a_string_model(edits in prop::collection::vec(edit(), 1..120)) {
        Local::run_all(&edits).check_end()?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn two_replicas_converge(steps in prop::collection::vec(step(2), 1..60)) {
        run_replicas(2, &steps)?;
    }

    #[test]
    fn three_replicas_converge(steps in prop::collection::vec(step(3), 1..80)) {
        run_replicas(3, &steps)?;
    }
}

// ---- snapshots from untrusted input ----

fn opt_id() -> impl Strategy<Value = Option<OpId>> {
    prop::option::of((0..3u128, 0..12u64).prop_map(|(r, c)| OpId::new(ReplicaId(r), c)))
}

fn record() -> impl Strategy<Value = SpanRecord> {
    (
        (0..3u128, prop_oneof![0..12u64, Just(u64::MAX - 1)]),
        prop_oneof![0..5u64, Just(u64::MAX)],
        opt_id(),
        opt_id(),
        prop::option::of(prop::collection::vec(prop::sample::select(ALPHABET), 0..5)),
    )
        .prop_map(
            |((r, c), len, origin_left, right_parent, content)| SpanRecord {
                id: OpId::new(ReplicaId(r), c),
                len,
                origin_left,
                right_parent,
                content: content.map(|v| v.into_iter().collect()),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn from_spans_never_panics(records in prop::collection::vec(record(), 0..8)) {
        if let Ok(t) = Text::from_spans(records) {
            t.check();
            still_editable(t);
        }
    }

    /// Valid snapshots with one field changed: rejected or still consistent.
    #[test]
    fn mutated_snapshots_never_panic(
        edits in prop::collection::vec(edit(), 1..30),
        which in 0..64usize,
        field in 0..5u8,
        value in opt_id(),
        len in 0..6u64,
    ) {
        let mut spans = Local::run_all(&edits).text.spans();
        if !spans.is_empty() {
            let i = which % spans.len();
            match field {
                0 => spans[i].origin_left = value,
                1 => spans[i].right_parent = value,
                2 => spans[i].len = len,
                3 => spans[i].content = None,
                _ => {
                    let j = (i + 1) % spans.len();
                    spans.swap(i, j);
                }
            }
        }
        if let Ok(t) = Text::from_spans(spans) {
            t.check();
            still_editable(t);
        }
    }

    /// Remote inserts with arbitrary ids and origins: rejected with the text
    /// unchanged, or integrated with every invariant intact.
    #[test]
    fn arbitrary_remote_inserts_never_break_the_text(
        edits in prop::collection::vec(edit(), 0..30),
        inserts in prop::collection::vec((opt_id(), opt_id(), opt_id(), content()), 1..20),
    ) {
        let mut t = Local::run_all(&edits).text;
        for (id, origin_left, right_parent, content) in inserts {
            let id = id.unwrap_or(OpId::new(ReplicaId(7), 0));
            let ins = TextInsert { origin_left, right_parent, content };
            let before = t.clone();
            let checked = t.check_insert(id, &ins);
            let applied = t.apply_insert(id, &ins);
            prop_assert_eq!(checked.is_ok(), applied.is_ok());
            if let Ok(pos) = applied {
                prop_assert_eq!(t.pos_of(id), Some(pos));
            } else {
                prop_assert_eq!(&t, &before);
            }
            t.check();
        }
        still_editable(t);
    }
}

/// Local edits still work on `t`, whatever history it has.
fn still_editable(mut t: Text) {
    let mut counter = 1000;
    for pos in [0, t.len_chars() / 2, t.len_chars()] {
        let ins = t.prepare_insert(pos, "xy").unwrap();
        assert_eq!(
            t.apply_insert(OpId::new(ReplicaId(9), counter), &ins),
            Ok(pos)
        );
        counter += 2;
        t.check();
    }
    for span in t.prepare_delete(t.len_chars() / 2, 3).unwrap() {
        t.apply_delete(span).unwrap();
        t.check();
    }
    let copy = Text::from_spans(t.spans()).unwrap();
    assert_eq!(copy, t);
}

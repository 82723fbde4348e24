//! Containers at a key (issue 13): replicas that make "the same" text
//! concurrently must end with one text holding everything, never a hidden
//! one, and documents the old code left with several texts at a key show
//! them all.
//!
//! The property: random concurrent histories of 2 to 4 replicas that start
//! empty (each may make the body before it ever synced, with today's
//! `put_object` or the way the old code made it), type and delete at random
//! and sync pairs now and then. After everyone syncs, every replica shows
//! the same text, and it holds exactly the characters inserted and not
//! deleted by anyone: no character a person typed is missing. Each inserted
//! character is unique, so the check is by character.

use std::collections::BTreeSet;

use concord_core::{
    Change, ChangeHeader, ChangeId, Document, NewValue, ObjId, ObjType, Op, ReplicaId,
};
use proptest::prelude::*;
use proptest::test_runner::Config;

const BODY: &str = "body";

#[derive(Clone, Debug)]
enum Action {
    /// Inserts `len` new characters at a fraction of the shown text.
    Type { at: usize, pos: u8, len: u8 },
    /// Deletes up to `len` characters at a fraction of the shown text.
    Delete { at: usize, pos: u8, len: u8 },
    /// `put_object` on the body (today's code: the same container).
    Create { at: usize },
    /// Makes a body the way the code before derived ids did, if the replica
    /// has none: a new object with the op's id.
    LegacyCreate { at: usize },
    /// Sends everything `from` has to `to`.
    Sync { from: usize, to: usize },
}

fn arb_action(n: usize) -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (0..n, any::<u8>(), 1..4u8).prop_map(|(at, pos, len)| Action::Type { at, pos, len }),
        3 => (0..n, any::<u8>(), 1..6u8).prop_map(|(at, pos, len)| Action::Delete { at, pos, len }),
        1 => (0..n).prop_map(|at| Action::Create { at }),
        1 => (0..n).prop_map(|at| Action::LegacyCreate { at }),
        3 => (0..n, 0..n).prop_map(|(from, to)| Action::Sync { from, to }),
    ]
}

fn arb_history() -> impl Strategy<Value = (usize, Vec<Action>)> {
    (2..=4usize).prop_flat_map(|n| (Just(n), proptest::collection::vec(arb_action(n), 1..60)))
}

/// What people did: every character inserted, every character deleted.
#[derive(Default)]
struct Record {
    next: u32,
    inserted: BTreeSet<char>,
    deleted: BTreeSet<char>,
}

impl Record {
    fn fresh(&mut self) -> char {
        // CJK ideographs: one code point each, none repeated.
        let c = char::from_u32(0x4E00 + self.next).expect("a CJK ideograph");
        self.next += 1;
        self.inserted.insert(c);
        c
    }
}

fn body(doc: &Document) -> String {
    doc.key_text(ObjId::Root, BODY).to_string()
}

/// A change making a body as the old `put_object` did (`NewValue::
/// LegacyObject`), numbered and dated as the replica's next change.
fn legacy_create(doc: &mut Document) {
    let replica = doc.replica();
    let heads = doc.heads();
    let lamport = heads
        .iter()
        .filter_map(|h| doc.change(*h))
        .map(|c| c.header().lamport)
        .max()
        .unwrap_or(0)
        + 1;
    let change = Change {
        header: ChangeHeader {
            id: ChangeId::new(replica, doc.version().get(replica) + 1),
            deps: heads.into_iter().filter(|h| h.replica != replica).collect(),
            lamport,
        },
        ops: vec![Op::MapSet {
            obj: ObjId::Root,
            key: BODY.into(),
            value: NewValue::LegacyObject(ObjType::Text),
            pred: doc.map(ObjId::Root).unwrap().current_ids(BODY),
        }],
    };
    let outcome = doc.apply(change.encode()).unwrap();
    assert_eq!(outcome.applied.len(), 1);
}

fn send(from: &Document, to: &mut Document) {
    for change in from.changes_since(to.version()) {
        to.apply(change).unwrap();
    }
}

fn run(n: usize, actions: &[Action]) -> Result<(), TestCaseError> {
    let mut docs: Vec<Document> = (0..n)
        .map(|i| Document::new(ReplicaId(0x100 + i as u128)))
        .collect();
    let mut record = Record::default();
    for action in actions {
        match *action {
            Action::Type { at, pos, len } => {
                let doc = &mut docs[at];
                let shown = body(doc).chars().count();
                let pos = usize::from(pos) * (shown + 1) / 256;
                let insert: String = (0..len).map(|_| record.fresh()).collect();
                let mut tx = doc.transaction();
                tx.splice_key_text(ObjId::Root, BODY, pos, 0, &insert)
                    .unwrap();
            }
            Action::Delete { at, pos, len } => {
                let doc = &mut docs[at];
                let shown: Vec<char> = body(doc).chars().collect();
                if shown.is_empty() {
                    continue;
                }
                let pos = usize::from(pos) * shown.len() / 256;
                let len = usize::from(len).min(shown.len() - pos);
                record.deleted.extend(&shown[pos..pos + len]);
                let mut tx = doc.transaction();
                tx.splice_key_text(ObjId::Root, BODY, pos, len, "").unwrap();
            }
            Action::Create { at } => {
                let mut tx = docs[at].transaction();
                tx.put_object(ObjId::Root, BODY, ObjType::Text).unwrap();
            }
            Action::LegacyCreate { at } => {
                if docs[at].key_text(ObjId::Root, BODY).is_missing() {
                    legacy_create(&mut docs[at]);
                }
            }
            Action::Sync { from, to } if from != to => {
                let source = docs[from].clone();
                send(&source, &mut docs[to]);
            }
            Action::Sync { .. } => {}
        }
    }
    for _ in 0..2 {
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    let source = docs[i].clone();
                    send(&source, &mut docs[j]);
                }
            }
        }
    }
    let text = body(&docs[0]);
    for doc in &docs {
        prop_assert_eq!(&body(doc), &text, "replicas disagree");
        prop_assert!(doc == &docs[0]);
    }
    let shown: BTreeSet<char> = text.chars().collect();
    prop_assert_eq!(shown.len(), text.chars().count(), "a character twice");
    let expected: BTreeSet<char> = record
        .inserted
        .difference(&record.deleted)
        .copied()
        .collect();
    let missing: String = expected.difference(&shown).collect();
    let undead: String = shown.difference(&expected).collect();
    prop_assert!(
        missing.is_empty(),
        "typed, never deleted, not shown: {missing:?}"
    );
    prop_assert!(
        undead.is_empty(),
        "deleted or never typed, shown: {undead:?}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: 300, failure_persistence: None, ..Config::default() })]

    #[test]
    fn no_character_anyone_typed_and_no_one_deleted_is_ever_hidden((n, actions) in arb_history()) {
        run(n, &actions)?;
    }
}

/// The repro in the model: the creator types and shares; the
/// joiner types before its first sync; both sync. Both texts stay.
#[test]
fn the_creator_s_text_survives_a_joiner_who_typed_before_syncing() {
    use Action::{Sync, Type};
    let actions = [
        Type {
            at: 0,
            pos: 0,
            len: 3,
        },
        Type {
            at: 1,
            pos: 0,
            len: 2,
        },
        Sync { from: 0, to: 1 },
        Sync { from: 1, to: 0 },
    ];
    run(2, &actions).unwrap();
}

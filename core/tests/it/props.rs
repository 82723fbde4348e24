//! Property tests of whole documents.
//!
//! - Concurrent histories from three replicas (forks of one base that edit and
//!   now and then merge each other): any delivery order, with duplicates, gives
//!   the same state and the same `save()` bytes; `merge` is commutative,
//!   associative and idempotent.
//! - The root map against a `BTreeMap` model, a set against a `BTreeSet` model.
//! - A batch (`export_since` / `apply_batch`) gives what its changes give.
//! - `save`/`load` round trips, and a loaded document keeps editing exactly as
//!   the original would.
//!
//! Failures are not persisted to a file: paste the shrunk case below as a named
//! regression test instead.

use std::collections::{BTreeMap, BTreeSet};

use concord_core::{
    ChangeId, Document, EncodedChange, ObjId, ObjType, ReplicaId, ScalarValue, Value, VersionVector,
};
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::support::rng::Rng;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

const KEYS: &[&str] = &["a", "b", "", "日本"];
const TEXTS: &[&str] = &["a", "bc", "é", "日本", "😀", "x😀y"];
/// The three editing replicas, deliberately not in index order.
const REPLICAS: [ReplicaId; 3] = [ReplicaId(0xB0B), ReplicaId(0xA11CE), ReplicaId(0x10)];
const BASE: ReplicaId = ReplicaId(0xBA5E);

fn arb_scalar() -> impl Strategy<Value = ScalarValue> {
    prop_oneof![
        Just(ScalarValue::Null),
        any::<bool>().prop_map(ScalarValue::Bool),
        any::<i64>().prop_map(ScalarValue::Int),
        any::<f64>().prop_map(ScalarValue::F64),
        "\\PC{0,6}".prop_map(ScalarValue::Str),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(ScalarValue::Bytes),
    ]
}

/// Few distinct values (so adds and removes meet), including floats that are
/// equal under `==` but distinct under the total order.
fn arb_set_value() -> impl Strategy<Value = ScalarValue> {
    prop_oneof![
        Just(ScalarValue::Int(1)),
        Just(ScalarValue::Int(2)),
        Just(ScalarValue::F64(0.0)),
        Just(ScalarValue::F64(-0.0)),
        Just(ScalarValue::F64(f64::NAN)),
        Just(ScalarValue::from("x")),
        Just(ScalarValue::from("😀")),
    ]
}

// ---- concurrent histories ----

#[derive(Clone, Debug)]
enum Edit {
    Put(usize, ScalarValue),
    Delete(usize),
    PutMap(usize),
    /// A put into the nested map at `meta[key]`, if there is one.
    NestedPut(usize, usize, ScalarValue),
    Add(ScalarValue),
    Remove(ScalarValue),
    /// Position taken modulo `len + 1`.
    Insert(u16, usize),
    /// Position taken modulo `len`, length clamped to what is left.
    DeleteText(u16, u8),
}

#[derive(Clone, Debug)]
enum Step {
    /// One transaction by the replica.
    Edit(Vec<Edit>),
    /// The replica merges another replica's current state.
    Merge(usize),
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    let key = 0..KEYS.len();
    prop_oneof![
        3 => (key.clone(), arb_scalar()).prop_map(|(k, v)| Edit::Put(k, v)),
        1 => key.clone().prop_map(Edit::Delete),
        1 => key.clone().prop_map(Edit::PutMap),
        2 => (key.clone(), key, arb_scalar()).prop_map(|(k, n, v)| Edit::NestedPut(k, n, v)),
        2 => arb_set_value().prop_map(Edit::Add),
        2 => arb_set_value().prop_map(Edit::Remove),
        4 => (any::<u16>(), 0..TEXTS.len()).prop_map(|(p, t)| Edit::Insert(p, t)),
        2 => (any::<u16>(), 1..6u8).prop_map(|(p, n)| Edit::DeleteText(p, n)),
    ]
}

fn arb_script() -> impl Strategy<Value = Vec<(usize, Step)>> {
    let step = prop_oneof![
        4 => proptest::collection::vec(arb_edit(), 1..4).prop_map(Step::Edit),
        1 => (0..3usize).prop_map(Step::Merge),
    ];
    proptest::collection::vec((0..3usize, step), 1..24)
}

#[derive(Clone, Copy, Debug)]
struct Shared {
    body: ObjId,
    meta: ObjId,
    tags: ObjId,
}

/// The common base every replica forks from.
fn base() -> (Document, Shared) {
    let mut doc = Document::new(BASE);
    let mut tx = doc.transaction();
    let body = tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
    let meta = tx.put_object(ObjId::Root, "meta", ObjType::Map).unwrap();
    let tags = tx.put_object(ObjId::Root, "tags", ObjType::Set).unwrap();
    tx.insert_text(body, 0, "base").unwrap();
    tx.commit().unwrap();
    (doc, Shared { body, meta, tags })
}

fn apply_edits(doc: &mut Document, shared: Shared, edits: &[Edit]) {
    let Shared { body, meta, tags } = shared;
    let mut tx = doc.transaction();
    for edit in edits {
        match edit {
            Edit::Put(k, v) => tx.put(meta, KEYS[*k], v.clone()).unwrap(),
            Edit::Delete(k) => tx.delete(meta, KEYS[*k]).unwrap(),
            Edit::PutMap(k) => {
                tx.put_object(meta, KEYS[*k], ObjType::Map).unwrap();
            }
            Edit::NestedPut(k, n, v) => {
                if let Some(Value::Object(child, ObjType::Map)) =
                    tx.doc().get(meta, KEYS[*k]).unwrap().cloned()
                {
                    tx.put(child, KEYS[*n], v.clone()).unwrap();
                }
            }
            Edit::Add(v) => tx.add(tags, v.clone()).unwrap(),
            Edit::Remove(v) => {
                tx.remove(tags, v).unwrap();
            }
            Edit::Insert(p, t) => {
                let len = tx.doc().text(body).unwrap().len_chars();
                tx.insert_text(body, *p as usize % (len + 1), TEXTS[*t])
                    .unwrap();
            }
            Edit::DeleteText(p, n) => {
                let len = tx.doc().text(body).unwrap().len_chars();
                if len > 0 {
                    let pos = *p as usize % len;
                    tx.delete_text(body, pos, (*n as usize).min(len - pos))
                        .unwrap();
                }
            }
        }
    }
    tx.commit();
}

/// The three replicas after running the script.
fn run_script(script: &[(usize, Step)]) -> (Vec<Document>, Shared) {
    let (base, shared) = base();
    let mut docs: Vec<Document> = REPLICAS.iter().map(|&r| base.fork(r)).collect();
    for (r, step) in script {
        match step {
            Step::Edit(edits) => apply_edits(&mut docs[*r], shared, edits),
            Step::Merge(from) => {
                let other = docs[*from].clone();
                docs[*r].merge(&other).unwrap();
            }
        }
    }
    (docs, shared)
}

/// Every change any replica has, once each.
fn all_changes(docs: &[Document]) -> Vec<EncodedChange> {
    let mut all: BTreeMap<ChangeId, EncodedChange> = BTreeMap::new();
    for doc in docs {
        for c in doc.changes_since(&VersionVector::new()) {
            all.insert(c.id(), c);
        }
    }
    all.into_values().collect()
}

/// Applies a change that must be accepted, together with every held change it
/// releases (a released change that fails is only reported in `rejected`).
fn apply_ok(doc: &mut Document, change: EncodedChange) {
    let id = change.id();
    let outcome = doc
        .apply(change)
        .unwrap_or_else(|e| panic!("{id:?} rejected: {e}"));
    assert!(
        outcome.rejected.is_empty(),
        "held changes released by {id:?} were rejected: {:?}",
        outcome.rejected
    );
}

fn merged(a: &Document, b: &Document) -> Document {
    let mut m = a.clone();
    m.merge(b).unwrap();
    m
}

/// Equal state and history, and equal canonical bytes.
fn same(a: &Document, b: &Document) -> bool {
    a == b && a.save() == b.save()
}

fn describe(doc: &Document, shared: Shared) -> String {
    format!(
        "version {:?}, body {:?}, tags {:?}",
        doc.version(),
        doc.text(shared.body).unwrap().to_string(),
        doc.set(shared.tags).unwrap().values().collect::<Vec<_>>()
    )
}

proptest! {
    #![proptest_config(config(256))]

    /// Delivering every change in any order, with duplicates, to a fresh
    /// document (or to a replica that has some of them) ends in the same state
    /// and the same bytes as merging the replicas.
    #[test]
    fn delivery_order_and_duplicates_do_not_matter(
        script in arb_script(),
        order in any::<u64>(),
        dups in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
    ) {
        let (docs, shared) = run_script(&script);
        let full = merged(&merged(&docs[0], &docs[1]), &docs[2]);
        let mut changes = all_changes(&docs);
        prop_assert_eq!(changes.len() as u64, full.version().total());
        for d in &dups {
            changes.push(d.get(&changes).clone());
        }
        Rng::new(order).shuffle(&mut changes);

        let mut fresh = Document::new(ReplicaId(0xF00D));
        for c in &changes {
            apply_ok(&mut fresh, c.clone());
        }
        prop_assert!(fresh.pending().is_empty(), "still held: {:?}", fresh.pending());
        prop_assert!(
            same(&fresh, &full),
            "fresh: {}\nmerged: {}", describe(&fresh, shared), describe(&full, shared)
        );

        let mut partial = docs[1].clone();
        for c in changes.into_iter().rev() {
            apply_ok(&mut partial, c);
        }
        prop_assert!(partial.pending().is_empty());
        prop_assert!(same(&partial, &full));
    }

    #[test]
    fn merge_is_commutative_associative_idempotent(script in arb_script()) {
        let (docs, shared) = run_script(&script);
        let [a, b, c] = [&docs[0], &docs[1], &docs[2]];

        let ab = merged(a, b);
        let ba = merged(b, a);
        prop_assert!(
            same(&ab, &ba),
            "a+b: {}\nb+a: {}", describe(&ab, shared), describe(&ba, shared)
        );

        let ab_c = merged(&ab, c);
        let a_bc = merged(a, &merged(b, c));
        prop_assert!(
            same(&ab_c, &a_bc),
            "(a+b)+c: {}\na+(b+c): {}", describe(&ab_c, shared), describe(&a_bc, shared)
        );

        for d in [a, b, c] {
            prop_assert!(same(&merged(d, d), d), "merging a document with itself changed it");
            let (base, _) = base();
            prop_assert!(same(&merged(d, &base), d), "merging an ancestor changed it");
            prop_assert!(same(&merged(&ab_c, d), &ab_c), "merging a part changed the whole");
        }
    }

    /// A batch (`export_since`) brings a fresh replica, or one that has part
    /// of the history, to exactly the state and bytes its changes delivered
    /// one by one give; applying it again changes nothing.
    #[test]
    fn a_batch_gives_what_its_changes_give(script in arb_script()) {
        let (docs, shared) = run_script(&script);
        for (i, doc) in docs.iter().enumerate() {
            let mut fresh = Document::new(ReplicaId(0xF00D));
            let outcome = fresh.apply_batch(&doc.export_since(&VersionVector::new())).unwrap();
            prop_assert_eq!(outcome.applied, doc.version().total());
            prop_assert!(outcome.rejected.is_empty() && fresh.pending().is_empty());
            prop_assert!(
                same(&fresh, doc),
                "batch: {}
source: {}", describe(&fresh, shared), describe(doc, shared)
            );
            let again = fresh.apply_batch(&doc.export_since(&VersionVector::new())).unwrap();
            prop_assert_eq!(again.applied, 0);
            prop_assert!(same(&fresh, doc), "a batch applied twice changed the document");

            let other = &docs[(i + 1) % docs.len()];
            let mut behind = other.clone();
            behind.apply_batch(&doc.export_since(other.version())).unwrap();
            prop_assert!(behind.pending().is_empty());
            prop_assert!(same(&behind, &merged(other, doc)));
        }
    }

    /// `load(save())` is the same document, re-saves to the same bytes, and
    /// goes on editing exactly as the original: same next change, byte for byte.
    #[test]
    fn save_load_round_trips(script in arb_script(), extra in proptest::collection::vec(arb_edit(), 1..4)) {
        let (docs, shared) = run_script(&script);
        let full = merged(&merged(&docs[0], &docs[1]), &docs[2]);
        for doc in docs.iter().chain([&full]) {
            let bytes = doc.save();
            let mut loaded = Document::load(&bytes, doc.replica()).unwrap();
            prop_assert!(loaded == *doc, "load(save()) differs");
            prop_assert_eq!(loaded.heads(), doc.heads());
            prop_assert!(loaded.save() == bytes, "re-saving changes the bytes");

            let mut original = doc.clone();
            apply_edits(&mut original, shared, &extra);
            apply_edits(&mut loaded, shared, &extra);
            let since = doc.version();
            let next_original = original.changes_since(since);
            let next_loaded = loaded.changes_since(since);
            prop_assert_eq!(next_original.len(), next_loaded.len());
            for (x, y) in next_original.iter().zip(&next_loaded) {
                prop_assert!(x.bytes() == y.bytes(), "a loaded document makes a different change");
            }
            prop_assert!(same(&original, &loaded));
        }
    }
}

// ---- models ----

#[derive(Clone, Debug)]
enum MapEdit {
    Put(usize, ScalarValue),
    Delete(usize),
    Commit,
}

fn arb_map_edits() -> impl Strategy<Value = Vec<MapEdit>> {
    proptest::collection::vec(
        prop_oneof![
            4 => (0..KEYS.len(), arb_scalar()).prop_map(|(k, v)| MapEdit::Put(k, v)),
            2 => (0..KEYS.len()).prop_map(MapEdit::Delete),
            1 => Just(MapEdit::Commit),
        ],
        0..48,
    )
}

#[derive(Clone, Debug)]
enum SetEdit {
    Add(ScalarValue),
    Remove(ScalarValue),
    Commit,
}

fn arb_set_edits() -> impl Strategy<Value = Vec<SetEdit>> {
    proptest::collection::vec(
        prop_oneof![
            3 => arb_set_value().prop_map(SetEdit::Add),
            3 => arb_set_value().prop_map(SetEdit::Remove),
            1 => Just(SetEdit::Commit),
        ],
        0..48,
    )
}

/// The root map as a model: key -> winning scalar, and exactly one value per key
/// (a single replica has no concurrent writes).
fn root_as_model(doc: &Document) -> BTreeMap<String, ScalarValue> {
    let map = doc.map(ObjId::Root).unwrap();
    map.keys()
        .map(|k| {
            assert_eq!(
                map.get_all(k).len(),
                1,
                "single writer, yet {k:?} has several values"
            );
            let value = map
                .get(k)
                .and_then(Value::as_scalar)
                .expect("a scalar")
                .clone();
            (k.to_owned(), value)
        })
        .collect()
}

/// A second replica that receives every change ends equal, byte for byte, and
/// so does `load(save())`.
fn assert_replicates(doc: &Document) {
    let mut other = Document::new(ReplicaId(0xFEED));
    for c in doc.changes_since(&VersionVector::new()) {
        apply_ok(&mut other, c);
    }
    assert!(same(&other, doc), "a replica given every change differs");
    let loaded = Document::load(&doc.save(), ReplicaId(3)).unwrap();
    assert!(same(&loaded, doc), "load(save()) differs");
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn map_matches_btreemap_model(edits in arb_map_edits()) {
        let mut doc = Document::new(ReplicaId(1));
        let mut model: BTreeMap<String, ScalarValue> = BTreeMap::new();
        for group in edits.split(|e| matches!(e, MapEdit::Commit)) {
            let mut tx = doc.transaction();
            for edit in group {
                match edit {
                    MapEdit::Put(k, v) => {
                        tx.put(ObjId::Root, KEYS[*k], v.clone()).unwrap();
                        model.insert(KEYS[*k].to_owned(), v.clone());
                    }
                    MapEdit::Delete(k) => {
                        tx.delete(ObjId::Root, KEYS[*k]).unwrap();
                        model.remove(KEYS[*k]);
                    }
                    MapEdit::Commit => unreachable!("split removes commits"),
                }
                // Edits are visible inside the transaction at once.
                prop_assert_eq!(&root_as_model(tx.doc()), &model);
            }
            tx.commit();
            prop_assert_eq!(&root_as_model(&doc), &model);
        }
        for (k, v) in &model {
            prop_assert_eq!(doc.get(ObjId::Root, k).unwrap(), Some(&Value::Scalar(v.clone())));
        }
        for k in KEYS {
            if !model.contains_key(*k) {
                prop_assert_eq!(doc.get(ObjId::Root, k).unwrap(), None);
                prop_assert!(doc.get_all(ObjId::Root, k).unwrap().is_empty());
            }
        }
        assert_replicates(&doc);
    }

    #[test]
    fn set_matches_btreeset_model(edits in arb_set_edits()) {
        let mut doc = Document::new(ReplicaId(1));
        let set = {
            let mut tx = doc.transaction();
            let set = tx.put_object(ObjId::Root, "s", ObjType::Set).unwrap();
            tx.commit();
            set
        };
        let mut model: BTreeSet<ScalarValue> = BTreeSet::new();
        for group in edits.split(|e| matches!(e, SetEdit::Commit)) {
            let mut tx = doc.transaction();
            for edit in group {
                match edit {
                    SetEdit::Add(v) => {
                        tx.add(set, v.clone()).unwrap();
                        model.insert(v.clone());
                    }
                    SetEdit::Remove(v) => {
                        let was = model.remove(v);
                        prop_assert_eq!(tx.remove(set, v).unwrap(), was, "remove({}) result", v);
                    }
                    SetEdit::Commit => unreachable!("split removes commits"),
                }
            }
            tx.commit();
            let values: BTreeSet<ScalarValue> = doc.set(set).unwrap().values().cloned().collect();
            prop_assert_eq!(&values, &model);
            prop_assert_eq!(doc.set(set).unwrap().len(), model.len());
            for v in &model {
                prop_assert!(doc.set(set).unwrap().contains(v));
            }
        }
        assert_replicates(&doc);
    }
}

// ---- regression tests (shrunk cases) ----

/// Shrunk from `merge_is_commutative_associative_idempotent`: a change that
/// types a char continuing an existing run and then deletes across the old and
/// the new chars carries one `IdSpan` covering both. Its author applies it, but
/// every other replica rejected it (`UnknownId`): `validate_ops` accepted a
/// delete span only if it lay wholly in the text before the change or wholly in
/// one insert of the same change.
#[test]
fn regression_delete_span_across_old_text_and_same_change_insert() {
    let mut alice = Document::new(ReplicaId(1));
    let mut tx = alice.transaction();
    let body = tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
    tx.insert_text(body, 0, "ab").unwrap();
    let first = tx.commit().unwrap();
    let mut tx = alice.transaction();
    tx.insert_text(body, 2, "c").unwrap(); // ids continue "ab": one run
    tx.delete_text(body, 0, 3).unwrap(); // one span: 2 old chars + 1 new
    let second = tx.commit().unwrap();
    assert_eq!(alice.text(body).unwrap().to_string(), "");

    let mut bob = Document::new(ReplicaId(2));
    bob.apply(first).unwrap();
    let outcome = bob.apply(second);
    assert!(outcome.is_ok(), "bob rejects alice's change: {outcome:?}");
    assert!(same(&bob, &alice));
}

/// Same bug, inside one change: two inserts that form one run, then a delete
/// of both, is one span covering two inserts of the change.
#[test]
fn regression_delete_span_across_two_inserts_of_one_change() {
    let mut alice = Document::new(ReplicaId(1));
    let mut tx = alice.transaction();
    let body = tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
    tx.insert_text(body, 0, "a").unwrap();
    tx.insert_text(body, 1, "b").unwrap();
    tx.delete_text(body, 0, 2).unwrap();
    let change = tx.commit().unwrap();

    let mut bob = Document::new(ReplicaId(2));
    let outcome = bob.apply(change);
    assert!(outcome.is_ok(), "bob rejects alice's change: {outcome:?}");
    assert!(same(&bob, &alice));
}

//! Batches (`export_since` / `apply_batch`): what the fast path must keep
//! from the change-by-change path — causal delivery, held changes, bad input.
//! That a batch gives exactly what its changes give is a property test in
//! `props.rs`.

use concord_core::{
    ApplyError, ChangeId, DecodeError, Document, EncodedChange, ObjId, ObjType, ReplicaId,
    VersionVector,
};

const ALICE: ReplicaId = ReplicaId(0xA11CE);
const BOB: ReplicaId = ReplicaId(0xB0B);

/// A document with a text "body", then `typed` typed one char per change
/// (one text run) by its replica.
fn typed(replica: ReplicaId, typed: &str) -> (Document, ObjId) {
    let mut doc = Document::new(replica);
    let mut tx = doc.transaction();
    let body = tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
    tx.commit().unwrap();
    type_at_end(&mut doc, body, typed);
    (doc, body)
}

fn type_at_end(doc: &mut Document, body: ObjId, typed: &str) -> Vec<EncodedChange> {
    let mut changes = Vec::new();
    for c in typed.chars() {
        let mut tx = doc.transaction();
        let len = tx.doc().text(body).unwrap().len_chars();
        tx.insert_text(body, len, &c.to_string()).unwrap();
        changes.push(tx.commit().unwrap());
    }
    changes
}

fn body_of(doc: &Document, body: ObjId) -> String {
    doc.text(body).unwrap().to_string()
}

#[test]
fn a_change_waiting_on_a_run_is_released_by_the_batch() {
    let (alice, body) = typed(ALICE, "hello");
    // Bob sees everything and appends; his change waits on Alice's typing.
    let mut bob = alice.fork(BOB);
    let bobs = type_at_end(&mut bob, body, "!");
    let mut carol = Document::new(ReplicaId(0xC));
    assert!(carol.apply(bobs[0].clone()).unwrap().pending);

    let outcome = carol
        .apply_batch(&alice.export_since(&VersionVector::new()))
        .unwrap();
    assert_eq!(
        outcome.applied,
        alice.version().total() + 1,
        "the held change too"
    );
    assert!(carol.pending().is_empty());
    assert_eq!(body_of(&carol, body), "hello!");
    assert!(carol == bob);
}

#[test]
fn a_run_some_of_whose_changes_are_held_goes_change_by_change() {
    let (mut alice, body) = typed(ALICE, "ab");
    let later = type_at_end(&mut alice, body, "cdef");
    let mut bob = Document::new(BOB);
    // Bob holds Alice's "e" (it waits for "c" and "d"), then gets everything.
    assert!(bob.apply(later[2].clone()).unwrap().pending);
    let outcome = bob
        .apply_batch(&alice.export_since(&VersionVector::new()))
        .unwrap();
    assert_eq!(outcome.applied, alice.version().total());
    assert_eq!(outcome.duplicates, 1, "the held \"e\" counts once");
    assert!(bob.pending().is_empty());
    assert!(bob == alice);

    // A replica with the run's start gets its rest.
    let mut start = Document::new(ReplicaId(7));
    start
        .apply_all(
            alice
                .changes_since(&VersionVector::new())
                .into_iter()
                .take(3),
        )
        .unwrap();
    assert_eq!(start.version().total(), 3, "the text, \"a\" and \"b\"");
    start
        .apply_batch(&alice.export_since(start.version()))
        .unwrap();
    assert!(start == alice);
}

#[test]
fn a_batch_that_is_early_waits_for_what_it_lacks() {
    let (alice, body) = typed(ALICE, "xy");
    let mut bob = alice.fork(BOB);
    type_at_end(&mut bob, body, "z");
    let mut carol = Document::new(ReplicaId(0xC));
    // Bob's part only: it needs Alice's, which has not arrived.
    let outcome = carol
        .apply_batch(&bob.export_since(alice.version()))
        .unwrap();
    assert_eq!((outcome.applied, outcome.pending), (0, 1));
    let outcome = carol
        .apply_batch(&alice.export_since(&VersionVector::new()))
        .unwrap();
    assert_eq!(outcome.applied, bob.version().total());
    assert_eq!(body_of(&carol, body), "xyz");
}

/// A run whose ops name characters the receiver does not have (here because
/// the receiver got a different change under the same id first) is refused
/// with the change that is wrong, and what came before it stays applied.
#[test]
fn a_run_that_does_not_fit_is_refused_change_by_change() {
    let (alice, _) = typed(ALICE, "abc");
    let (mut other, body) = typed(ALICE, "");
    let mut tx = other.transaction();
    tx.insert_text(body, 0, "Q").unwrap();
    tx.commit().unwrap();
    let mut bob = Document::new(BOB);
    // Bob knows a different Alice change 2 ("Q" instead of "a").
    bob.apply_all(other.changes_since(&VersionVector::new()))
        .unwrap();
    let before = bob.save();
    let err = bob
        .apply_batch(&alice.export_since(&VersionVector::new()))
        .unwrap_err();
    assert!(
        matches!(err, ApplyError::Equivocation(id) if id.seq == 2),
        "{err:?}"
    );
    assert_eq!(bob.save(), before, "nothing of the refused run was applied");
}

#[test]
fn every_truncation_and_corruption_of_a_batch_is_an_error_and_changes_nothing() {
    let (mut alice, body) = typed(ALICE, "héllo wörld");
    let mut tx = alice.transaction();
    tx.delete_text(body, 2, 3).unwrap();
    tx.commit().unwrap();
    type_at_end(&mut alice, body, "😀!");
    let batch = alice.export_since(&VersionVector::new());
    let (bob_base, _) = typed(BOB, "kept");
    for cut in 0..batch.len() {
        let mut bob = bob_base.clone();
        assert!(
            bob.apply_batch(&batch[..cut]).is_err(),
            "a batch cut at {cut} bytes was accepted"
        );
        assert!(
            bob == bob_base,
            "a batch cut at {cut} bytes changed the document"
        );
    }
    let mut longer = batch.clone();
    longer.push(0);
    assert!(matches!(
        bob_base.clone().apply_batch(&longer),
        Err(ApplyError::Decode(DecodeError::TrailingBytes(1)))
    ));
    let mut wrong = batch.clone();
    wrong[0] = b'X';
    assert!(matches!(
        bob_base.clone().apply_batch(&wrong),
        Err(ApplyError::Decode(DecodeError::BadMagic("batch")))
    ));
    // Every single flipped byte: an error or a valid batch, never a panic,
    // and an error leaves nothing half applied.
    for i in 0..batch.len() {
        let mut flipped = batch.clone();
        flipped[i] ^= 0x5A;
        let mut bob = Document::new(BOB);
        if let Err(ApplyError::Decode(_)) = bob.apply_batch(&flipped) {
            assert!(
                bob == Document::new(BOB),
                "a malformed batch changed the document"
            );
        }
    }
}

/// The fast path's own check: a run that is causally ready but names a
/// character the receiver lacks (it got another change under the id that
/// made it) is never half applied: the fast path refuses it, and change by
/// change its changes do not fit, so each is applied as an empty change
/// (`Document::unreadable`), as it would be delivered alone.
#[test]
fn a_ready_run_naming_an_unknown_character_becomes_empty_changes() {
    let (base, body) = typed(ALICE, "");
    let carol = ReplicaId(0xC);
    let mut carols = base.fork(carol);
    type_in_one_change(&mut carols, body, "xyz");
    let mut alice = base.clone();
    alice.merge(&carols).unwrap();
    type_at_end(&mut alice, body, "!?");

    // Bob has another change (carol, 1): "q", one char where "xyz" were three.
    let mut other_carol = base.fork(carol);
    type_in_one_change(&mut other_carol, body, "q");
    let mut bob = base.fork(BOB);
    bob.merge(&other_carol).unwrap();
    let mut one_by_one = bob.clone();
    let outcome = bob.apply_batch(&alice.export_since(bob.version())).unwrap();
    let alices: Vec<ChangeId> = outcome
        .unreadable
        .iter()
        .copied()
        .filter(|id| id.replica == ALICE)
        .collect();
    assert_eq!(alices.len(), 2, "{outcome:?}");
    assert!(alices.iter().all(|id| bob.unreadable().contains_key(id)));
    assert_eq!(body_of(&bob, body), "q", "nothing of the run was applied");
    one_by_one
        .apply_all(alice.changes_since(one_by_one.version()))
        .unwrap();
    assert!(
        one_by_one == bob,
        "the batch ends where its changes one by one end"
    );
}

fn type_in_one_change(doc: &mut Document, body: ObjId, text: &str) {
    let mut tx = doc.transaction();
    let len = tx.doc().text(body).unwrap().len_chars();
    tx.insert_text(body, len, text).unwrap();
    tx.commit().unwrap();
}

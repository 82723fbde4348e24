//! Concurrent edits a person can read: what Concord does when two people edit
//! the same thing at the same time.

use concord_core::{Document, ObjId, ObjType, ReplicaId, ScalarValue, Value};

/// Alice and Bob share a document with a text "list" and a set "people".
fn shared_start() -> (Document, Document, ObjId, ObjId) {
    let mut alice = Document::new(ReplicaId(1));
    let mut tx = alice.transaction();
    let list = tx.put_object(ObjId::Root, "list", ObjType::Text).unwrap();
    tx.insert_text(list, 0, "Shopping:").unwrap();
    let people = tx.put_object(ObjId::Root, "people", ObjType::Set).unwrap();
    tx.add(people, "carol").unwrap();
    tx.commit();
    let bob = alice.fork(ReplicaId(2));
    (alice, bob, list, people)
}

/// Types `word` at the end, one keystroke (one change) at a time.
fn type_word(doc: &mut Document, text: ObjId, word: &str) {
    for ch in word.chars() {
        let end = doc.text(text).unwrap().len_chars();
        let mut tx = doc.transaction();
        tx.insert_text(text, end, &ch.to_string()).unwrap();
        tx.commit();
    }
}

fn sync(a: &mut Document, b: &mut Document) {
    a.merge(b).unwrap();
    b.merge(a).unwrap();
}

#[test]
fn concurrent_typing_at_the_same_place_never_interleaves() {
    // The Fugue paper's example: both append a word at the same position while
    // offline. An RGA-style CRDT may produce "Shopping: emgiglsk"; FugueMax keeps
    // each person's word in one piece.
    let (mut alice, mut bob, list, _) = shared_start();
    type_word(&mut alice, list, " eggs");
    type_word(&mut bob, list, " milk");
    sync(&mut alice, &mut bob);

    let merged = alice.text(list).unwrap().to_string();
    assert_eq!(merged, bob.text(list).unwrap().to_string());
    assert!(
        merged == "Shopping: eggs milk" || merged == "Shopping: milk eggs",
        "interleaved: {merged:?}"
    );
}

#[test]
fn concurrent_typing_in_the_middle_of_a_word_typed_backwards_stays_whole() {
    // Typing backwards (each char inserted before the previous one) is the case
    // where YATA/Yjs-style orderings still interleave.
    let (mut alice, mut bob, list, _) = shared_start();
    for (doc, word) in [(&mut alice, "abc"), (&mut bob, "xyz")] {
        for ch in word.chars().rev() {
            let mut tx = doc.transaction();
            tx.insert_text(list, 9, &ch.to_string()).unwrap();
            tx.commit();
        }
    }
    sync(&mut alice, &mut bob);
    let merged = alice.text(list).unwrap().to_string();
    assert_eq!(merged, bob.text(list).unwrap().to_string());
    assert!(
        merged == "Shopping:abcxyz" || merged == "Shopping:xyzabc",
        "interleaved: {merged:?}"
    );
}

#[test]
fn add_wins_over_a_concurrent_remove_in_the_set() {
    // Alice removes Carol from the guest list while Bob, offline, invites her
    // again. Bob's add was not seen by Alice's remove, so it survives.
    let (mut alice, mut bob, _, people) = shared_start();
    let carol = ScalarValue::from("carol");
    let mut tx = alice.transaction();
    assert!(tx.remove(people, &carol).unwrap());
    tx.commit();
    assert!(!alice.set(people).unwrap().contains(&carol));

    let mut tx = bob.transaction();
    tx.add(people, "carol").unwrap();
    tx.commit();

    sync(&mut alice, &mut bob);
    assert!(alice.set(people).unwrap().contains(&carol));
    assert_eq!(alice, bob);

    // A remove that has seen both adds removes her for good.
    let mut tx = alice.transaction();
    tx.remove(people, &carol).unwrap();
    tx.commit();
    sync(&mut alice, &mut bob);
    assert!(!bob.set(people).unwrap().contains(&carol));
}

#[test]
fn two_writers_on_one_map_key_both_stay_visible() {
    // Alice and Bob rename the document concurrently. Everyone sees the same
    // winner (`get`), and `get_all` shows both names so the app can ask.
    let (mut alice, mut bob, _, _) = shared_start();
    let mut tx = alice.transaction();
    tx.put(ObjId::Root, "title", "Groceries").unwrap();
    tx.commit();
    let mut tx = bob.transaction();
    tx.put(ObjId::Root, "title", "Weekend shopping").unwrap();
    tx.commit();
    sync(&mut alice, &mut bob);

    let names = |doc: &Document| -> Vec<Value> {
        doc.get_all(ObjId::Root, "title")
            .unwrap()
            .iter()
            .map(|e| e.value.clone())
            .collect()
    };
    let both = names(&alice);
    assert_eq!(both.len(), 2, "both concurrent titles are kept");
    assert_eq!(names(&bob), both, "same order on every replica");
    // Equal Lamport counters: the higher replica id (Bob) wins everywhere.
    let winner = Value::Scalar("Weekend shopping".into());
    assert_eq!(alice.get(ObjId::Root, "title").unwrap(), Some(&winner));
    assert_eq!(bob.get(ObjId::Root, "title").unwrap(), Some(&winner));

    // Alice picks her own name: the new write has seen both, so it replaces both.
    let mut tx = alice.transaction();
    tx.put(ObjId::Root, "title", "Groceries").unwrap();
    tx.commit();
    sync(&mut alice, &mut bob);
    assert_eq!(names(&bob), vec![Value::Scalar("Groceries".into())]);
}

#[test]
fn a_later_write_wins_over_an_earlier_one_regardless_of_replica_id() {
    // Bob has the higher replica id, but Alice's write causally follows his.
    let (mut alice, mut bob, _, _) = shared_start();
    let mut tx = bob.transaction();
    tx.put(ObjId::Root, "status", "draft").unwrap();
    tx.commit();
    sync(&mut alice, &mut bob);
    let mut tx = alice.transaction();
    tx.put(ObjId::Root, "status", "final").unwrap();
    tx.commit();
    sync(&mut alice, &mut bob);
    assert_eq!(
        bob.get_all(ObjId::Root, "status").unwrap().len(),
        1,
        "no conflict: one write saw the other"
    );
    assert_eq!(
        bob.get(ObjId::Root, "status").unwrap(),
        Some(&Value::Scalar("final".into()))
    );
}

#[test]
fn concurrent_delete_and_edit_of_a_key_keeps_the_edit() {
    let (mut alice, mut bob, _, _) = shared_start();
    let mut tx = alice.transaction();
    tx.put(ObjId::Root, "note", "v1").unwrap();
    tx.commit();
    sync(&mut alice, &mut bob);
    let mut tx = alice.transaction();
    tx.delete(ObjId::Root, "note").unwrap();
    tx.commit();
    let mut tx = bob.transaction();
    tx.put(ObjId::Root, "note", "v2").unwrap();
    tx.commit();
    sync(&mut alice, &mut bob);
    assert_eq!(
        alice.get(ObjId::Root, "note").unwrap(),
        Some(&Value::Scalar("v2".into()))
    );
    assert_eq!(alice, bob);
}

//! Causal delivery and anti-entropy at the document level, and the sync
//! protocol state machine between two documents.

use concord_core::{ApplyError, Document, EncodedChange, ObjId, ObjType, ReplicaId, VersionVector};
use concord_wire::{Message, SyncPeer};

/// Three changes by Alice, each typing one more character.
fn alice_types(n: usize) -> (Document, ObjId, Vec<EncodedChange>) {
    let mut alice = Document::new(ReplicaId(1));
    let mut tx = alice.transaction();
    let text = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
    let mut changes = vec![tx.commit().unwrap()];
    for i in 0..n {
        let mut tx = alice.transaction();
        tx.insert_text(text, i, "x").unwrap();
        changes.push(tx.commit().unwrap());
    }
    (alice, text, changes)
}

#[test]
fn changes_delivered_backwards_wait_and_then_apply() {
    let (alice, text, changes) = alice_types(3);
    let mut bob = Document::new(ReplicaId(2));
    for c in changes.iter().skip(1).rev() {
        let outcome = bob.apply(c.clone()).unwrap();
        assert!(outcome.pending && outcome.applied.is_empty());
    }
    assert_eq!(bob.pending().len(), 3);
    assert_eq!(bob.missing(), vec![changes[0].id()]);
    let outcome = bob.apply(changes[0].clone()).unwrap();
    assert_eq!(
        outcome.applied.len(),
        4,
        "the first change releases the rest"
    );
    assert!(bob.pending().is_empty() && bob.missing().is_empty());
    assert_eq!(bob.text(text).unwrap().to_string(), "xxx");
    assert_eq!(bob, alice);
}

#[test]
fn duplicates_are_no_ops_and_equivocation_is_rejected() {
    let (_, _, changes) = alice_types(1);
    let mut bob = Document::new(ReplicaId(2));
    bob.apply_all(changes.clone()).unwrap();
    let before = bob.save();
    assert!(bob.apply(changes[1].clone()).unwrap().duplicate);
    assert_eq!(bob.save(), before);

    // A different change claiming the same id.
    let mut mallory = Document::new(ReplicaId(1));
    let mut tx = mallory.transaction();
    tx.put(ObjId::Root, "evil", true).unwrap();
    let forged = tx.commit().unwrap();
    assert_eq!(forged.id(), changes[0].id());
    assert_eq!(
        bob.apply(forged).unwrap_err(),
        ApplyError::Equivocation(changes[0].id())
    );
    assert_eq!(bob.save(), before);
}

#[test]
fn a_full_causal_buffer_is_an_error_and_the_document_keeps_working() {
    let (alice, _, changes) = alice_types(4);
    let mut bob = Document::new(ReplicaId(2)).with_pending_capacity(2);
    bob.apply(changes[4].clone()).unwrap();
    bob.apply(changes[3].clone()).unwrap();
    assert_eq!(
        bob.apply(changes[2].clone()).unwrap_err(),
        ApplyError::BufferFull { capacity: 2 }
    );
    // Anti-entropy fills the gap later.
    bob.apply_all(alice.changes_since(bob.version())).unwrap();
    assert_eq!(bob, alice);
}

#[test]
fn changes_since_returns_exactly_what_the_other_side_lacks() {
    let (alice, _, changes) = alice_types(5);
    let mut bob = Document::new(ReplicaId(2));
    bob.apply_all(changes[..3].iter().cloned()).unwrap();
    let missing = alice.changes_since(bob.version());
    let ids: Vec<_> = missing.iter().map(EncodedChange::id).collect();
    let expected: Vec<_> = changes[3..].iter().map(EncodedChange::id).collect();
    assert_eq!(ids, expected);
    assert!(alice.changes_since(alice.version()).is_empty());
    assert_eq!(
        alice.changes_since(&VersionVector::new()).len(),
        alice.history_len()
    );
}

/// Sends everything `from` has to say to `to`; returns how many messages.
fn one_way(
    from: &Document,
    from_peer: &mut SyncPeer,
    to: &mut Document,
    to_peer: &mut SyncPeer,
) -> usize {
    let mut messages = 0;
    while let Some(msg) = from_peer.poll_message(from) {
        messages += 1;
        let msg = Message::decode(&msg.encode()).unwrap();
        let outcome = to.apply_records(to_peer.receive(msg));
        assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
        to_peer.stored(to.version());
    }
    messages
}

/// Moves every message between two peers until neither has anything to say.
fn pump(a: &mut Document, pa: &mut SyncPeer, b: &mut Document, pb: &mut SyncPeer) -> usize {
    let mut total = 0;
    loop {
        let sent = one_way(a, pa, b, pb) + one_way(b, pb, a, pa);
        if sent == 0 {
            return total;
        }
        total += sent;
        assert!(total < 1000, "sync did not settle");
    }
}

#[test]
fn two_peers_sync_and_acknowledge_through_the_state_machine() {
    let (mut alice, text, _) = alice_types(3);
    let mut bob = Document::new(ReplicaId(2));
    let (mut pa, mut pb) = (SyncPeer::new(), SyncPeer::new());
    pump(&mut alice, &mut pa, &mut bob, &mut pb);
    assert_eq!(bob, alice);
    assert_eq!(
        pa.unacked(alice.version()),
        0,
        "Bob acknowledged everything"
    );

    // Bob edits; Alice learns it through the same machines.
    let mut tx = bob.transaction();
    tx.insert_text(text, 0, "B").unwrap();
    tx.commit();
    assert_eq!(pb.unacked(bob.version()), 1);
    pump(&mut alice, &mut pa, &mut bob, &mut pb);
    assert_eq!(alice.text(text).unwrap().to_string(), "Bxxx");
    assert_eq!(pb.unacked(bob.version()), 0);
}

#[test]
fn a_lost_batch_is_repaired_by_the_next_anti_entropy_round() {
    let (mut alice, _, _) = alice_types(3);
    let mut bob = Document::new(ReplicaId(2));
    let (mut pa, mut pb) = (SyncPeer::new(), SyncPeer::new());
    // Exchange hellos, then lose Alice's batch of changes.
    let hello_a = pa.poll_message(&alice).unwrap();
    let hello_b = pb.poll_message(&bob).unwrap();
    pb.receive(hello_a);
    pa.receive(hello_b);
    let lost = pa.poll_message(&alice).unwrap();
    assert!(matches!(lost, Message::Records { .. }));
    assert_eq!(pump(&mut alice, &mut pa, &mut bob, &mut pb), 0);
    assert_ne!(bob, alice, "the batch was lost");

    pb.request_anti_entropy();
    pump(&mut alice, &mut pa, &mut bob, &mut pb);
    assert_eq!(bob, alice);
}

#[test]
fn a_reconnect_starts_from_a_clean_slate() {
    let (mut alice, _, _) = alice_types(2);
    let mut bob = Document::new(ReplicaId(2));
    let (mut pa, mut pb) = (SyncPeer::new(), SyncPeer::new());
    pump(&mut alice, &mut pa, &mut bob, &mut pb);
    // Bob loses his copy (a new device with the same peer state would loop or
    // stall if state survived the reconnect: automerge-repo #206).
    let mut bob = Document::new(ReplicaId(3));
    pa.reset();
    pb.reset();
    pump(&mut alice, &mut pa, &mut bob, &mut pb);
    assert_eq!(bob, alice);
}

/// A change with a valid header whose ops block is garbage: what a relay,
/// which never reads ops, stores and serves (issue 13, item 5).
fn garbage_change(replica: ReplicaId) -> EncodedChange {
    let mut bytes = b"CC\x01".to_vec();
    bytes.extend_from_slice(&replica.to_bytes());
    bytes.extend_from_slice(&[1, 1, 0, 0]); // seq 1, lamport 1, no table, no deps
    bytes.extend_from_slice(&[3, 0xff, 0xff, 0xff]); // ops: 3 bytes of garbage
    EncodedChange::decode(bytes).expect("the header is valid")
}

/// Issue 13: a change whose ops did not decode was acknowledged and served
/// by the relay, and from then on every device's sync failed. Now it is an
/// empty change on every replica, and what depends on it still applies.
#[test]
fn an_unreadable_change_is_an_empty_change_and_its_dependents_still_apply() {
    let mallory = ReplicaId(0x66);
    let bad = garbage_change(mallory);
    let (mut bob, text, changes) = alice_types(0);
    let outcome = bob.apply(bad.clone()).unwrap();
    assert_eq!(outcome.unreadable, [bad.id()]);
    let mut tx = bob.transaction();
    tx.insert_text(text, 0, "after").unwrap();
    let after = tx.commit().unwrap();
    assert!(after.header().deps.contains(&bad.id()), "it depends on it");

    // Carol gets them backwards: the dependent waits, the bad one releases it.
    let mut carol = Document::new(ReplicaId(3));
    carol.apply_all(changes).unwrap();
    assert!(carol.apply(after.clone()).unwrap().pending);
    let outcome = carol.apply(bad.clone()).unwrap();
    assert_eq!(outcome.applied, [bad.id(), after.id()]);
    assert_eq!(outcome.unreadable, [bad.id()]);
    assert_eq!(carol.text(text).unwrap().to_string(), "after");
    assert!(carol.unreadable()[&bad.id()].contains("do not decode"));
    assert_eq!(carol.save(), bob.save(), "both replicas agree");
    // And it syncs on: Dave gets everything from Carol.
    let mut dave = Document::new(ReplicaId(4));
    dave.apply_all(carol.changes_since(&VersionVector::new()))
        .unwrap();
    assert_eq!(dave.save(), carol.save());
    let mut eve = Document::new(ReplicaId(5));
    eve.merge(&carol).unwrap();
    assert_eq!(eve.save(), carol.save());
}

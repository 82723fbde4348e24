//! `SyncPeer` (concord-wire) between documents: the unit tests of the
//! protocol machine, here because they need a document to sync.

use concord_core::{ChangeId, Document, ObjId, ObjType, Record, ReplicaId, VersionVector};
use concord_wire::{Message, SyncPeer};

#[test]
fn hello_first_then_what_the_peer_lacks_then_acks() {
    let mut doc = Document::new(ReplicaId(1));
    let mut tx = doc.transaction();
    tx.put(ObjId::Root, "k", 1i64).unwrap();
    tx.commit();
    let mut peer = SyncPeer::new();
    assert!(matches!(
        peer.poll_message(&doc),
        Some(Message::Hello { .. })
    ));
    assert!(
        peer.poll_message(&doc).is_none(),
        "nothing until they speak"
    );
    assert!(!peer.knows_peer());

    peer.receive(Message::Hello {
        version: VersionVector::new(),
    });
    let Some(Message::Records { records }) = peer.poll_message(&doc) else {
        panic!("expected the missing change");
    };
    assert_eq!(records.len(), 1);
    assert!(peer.poll_message(&doc).is_none(), "sent once, not again");
    assert_eq!(peer.unacked(doc.version()), 1);

    peer.receive(Message::Ack {
        version: doc.version().clone(),
    });
    assert_eq!(peer.unacked(doc.version()), 0);

    // Storing something new makes us acknowledge it, once.
    peer.stored(doc.version());
    assert!(matches!(peer.poll_message(&doc), Some(Message::Ack { .. })));
    assert!(peer.poll_message(&doc).is_none());
}

#[test]
fn regression_a_hello_claiming_huge_seqs_is_harmless() {
    let mut doc = Document::new(ReplicaId(1));
    let mut tx = doc.transaction();
    tx.put(ObjId::Root, "k", 1i64).unwrap();
    tx.commit();
    let mut peer = SyncPeer::new();
    peer.poll_message(&doc);
    let huge: VersionVector = [(ReplicaId(1), u64::MAX), (ReplicaId(2), u64::MAX)]
        .into_iter()
        .collect();
    peer.receive(Message::Hello { version: huge });
    // They claim to have it all: we ask for their copy of our own last
    // change, once, in case it is not ours (the probe).
    match peer.poll_message(&doc) {
        Some(Message::Hello { version }) => {
            assert_eq!(version.get(ReplicaId(1)), 0, "ours from seq 1 on");
        }
        other => panic!("expected the probe, got {other:?}"),
    }
    assert!(
        peer.poll_message(&doc).is_none(),
        "they claim to have it all"
    );
    assert_eq!(peer.unacked(doc.version()), 0);
    assert_eq!(
        VersionVector::new().count_missing_from(&doc.version().clone()),
        0
    );
    let mut two_huge = VersionVector::new();
    two_huge.observe(ReplicaId(3), u64::MAX);
    two_huge.observe(ReplicaId(4), u64::MAX);
    assert_eq!(two_huge.count_missing_from(&VersionVector::new()), u64::MAX);
}

#[test]
fn the_probe_asks_for_the_peers_copy_of_our_last_change_once_per_seq() {
    let mut doc = Document::new(ReplicaId(1));
    for i in 0..3i64 {
        let mut tx = doc.transaction();
        tx.put(ObjId::Root, "k", i).unwrap();
        tx.commit();
    }
    let mut peer = SyncPeer::new();
    peer.poll_message(&doc);
    let claims = |seq| -> VersionVector { [(ReplicaId(1), seq)].into_iter().collect() };
    peer.receive(Message::Hello { version: claims(2) });
    let Some(Message::Hello { version }) = peer.poll_message(&doc) else {
        panic!("the probe");
    };
    assert_eq!(version.get(ReplicaId(1)), 1, "lacks our seq 2 on");
    let Some(Message::Records { records }) = peer.poll_message(&doc) else {
        panic!("then what they lack");
    };
    assert_eq!(records[0].first_seq(), 3);
    // The same claim again (anti-entropy): asked already on this connection.
    peer.receive(Message::Hello { version: claims(3) });
    assert!(matches!(
        peer.poll_message(&doc),
        Some(Message::Hello { .. })
    ));
    peer.receive(Message::Hello { version: claims(3) });
    assert_eq!(peer.poll_message(&doc), None);
    // A new connection asks again.
    peer.reset();
    peer.poll_message(&doc);
    peer.receive(Message::Hello { version: claims(3) });
    assert!(matches!(
        peer.poll_message(&doc),
        Some(Message::Hello { .. })
    ));
    assert!(!peer.scanning_own());
    peer.request_own_changes();
    let Some(Message::Hello { version }) = peer.poll_message(&doc) else {
        panic!("a Hello without our own changes");
    };
    assert_eq!(version.get(ReplicaId(1)), 0);
    assert!(peer.scanning_own());
}

#[test]
fn regression_changes_received_from_the_peer_count_as_held_by_it() {
    // Found in the desktop app: a device showed "3 changes not yet on the
    // relay" for changes the relay had just sent it.
    let mut theirs = Document::new(ReplicaId(2));
    let mut tx = theirs.transaction();
    tx.put(ObjId::Root, "k", 1i64).unwrap();
    let change = tx.commit().unwrap();
    let mut mine = Document::new(ReplicaId(1));
    let mut peer = SyncPeer::new();
    peer.poll_message(&mine);
    peer.receive(Message::Hello {
        version: VersionVector::new(),
    });
    let outcome = mine.apply_records(peer.receive(Message::Records {
        records: vec![change.into()],
    }));
    assert!(outcome.refused.is_empty());
    assert_eq!(peer.unacked(mine.version()), 0);
}

#[test]
fn batches_are_bounded() {
    let mut doc = Document::new(ReplicaId(1));
    for i in 0..10i64 {
        let mut tx = doc.transaction();
        tx.put(ObjId::Root, "k", i).unwrap();
        tx.commit();
    }
    let mut peer = SyncPeer::new().with_max_batch_bytes(1);
    peer.poll_message(&doc);
    peer.receive(Message::Hello {
        version: VersionVector::new(),
    });
    let mut batches = 0;
    while let Some(Message::Records { records }) = peer.poll_message(&doc) {
        assert_eq!(records.len(), 1, "at least one record, even over the limit");
        batches += 1;
    }
    assert_eq!(batches, 10);
}

#[test]
fn typing_travels_as_run_records_a_rewind_sends_again() {
    let mut doc = Document::new(ReplicaId(1));
    let mut tx = doc.transaction();
    let text = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
    tx.commit();
    for i in 0..100 {
        let mut tx = doc.transaction();
        tx.insert_text(text, i, "a").unwrap();
        tx.commit();
    }
    let mut peer = SyncPeer::new();
    peer.poll_message(&doc);
    peer.receive(Message::Hello {
        version: VersionVector::new(),
    });
    let Some(Message::Records { records }) = peer.poll_message(&doc) else {
        panic!("records");
    };
    assert_eq!(records.len(), 2, "the text's creation, then one run record");
    assert!(matches!(&records[1], Record::Run(r) if r.count() == 100));
    assert_eq!(peer.poll_message(&doc), None);
    // The peer could not confirm our changes from 51 on: they go again.
    peer.rewind(ReplicaId(1), 51);
    assert!(matches!(
        peer.poll_message(&doc),
        Some(Message::Hello { .. })
    ));
    let Some(Message::Records { records }) = peer.poll_message(&doc) else {
        panic!("records again");
    };
    assert_eq!(
        records.iter().map(Record::first_seq).collect::<Vec<_>>(),
        vec![51]
    );
    assert_eq!(records[0].last_seq(), 101);
    let mut other = Document::new(ReplicaId(2));
    let outcome = other.apply_records(doc.records_since(&VersionVector::new(), usize::MAX));
    assert_eq!(outcome.applied, 101);
    assert_eq!(other, doc);
    assert_eq!(
        other.change(ChangeId::new(ReplicaId(1), 60)),
        doc.change(ChangeId::new(ReplicaId(1), 60))
    );
}

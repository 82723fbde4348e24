//! `SyncPeer` (concord-wire) between documents: the unit tests of the
//! protocol machine, here because they need a document to sync.

use concord_core::{ChangeId, Document, ObjId, ReplicaId, VersionVector};
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
    let Some(Message::Changes { changes }) = peer.poll_message(&doc) else {
        panic!("expected the missing change");
    };
    assert_eq!(changes.len(), 1);
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
    // They claim to have it all: only our own last change goes again,
    // once, in case the copy they have is not ours (the probe).
    match peer.poll_message(&doc) {
        Some(Message::Changes { changes }) => {
            assert_eq!(changes.len(), 1);
            assert_eq!(changes[0].id(), ChangeId::new(ReplicaId(1), 1));
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
    for c in peer.receive(Message::Changes {
        changes: vec![change],
    }) {
        mine.apply(c).unwrap();
    }
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
    while let Some(Message::Changes { changes }) = peer.poll_message(&doc) {
        assert_eq!(changes.len(), 1, "at least one change, even over the limit");
        batches += 1;
    }
    assert_eq!(batches, 10);
}

//! `ClientSession` (concord-wire) over documents: the unit tests of the
//! client's session machine, here because they need documents to sync.

use std::collections::BTreeMap;

use concord_core::{Document, ObjId, ReplicaId, VersionVector};
use concord_wire::{
    Access, ClientSession, DocId, ErrorCode, Frame, Message, SessionEvent, SyncStatus,
};

fn hello(version: VersionVector) -> Message {
    Message::Hello { version }
}

fn doc_id() -> DocId {
    DocId::new("doc").unwrap()
}

fn docs_with_one_change() -> BTreeMap<DocId, Document> {
    let mut d = Document::new(ReplicaId(1));
    let mut tx = d.transaction();
    tx.put(ObjId::Root, "k", 1i64).unwrap();
    tx.commit();
    BTreeMap::from([(doc_id(), d)])
}

#[test]
fn subscribes_then_syncs_then_is_synced() {
    let docs = docs_with_one_change();
    let local = docs[&doc_id()].version().clone();
    let mut s = ClientSession::new(ReplicaId(1));
    s.subscribe(doc_id(), "tok".into());
    assert_eq!(s.status(&doc_id(), &local), SyncStatus::Offline);
    assert_eq!(s.poll_frame(&docs), None, "nothing while offline");

    s.connected();
    assert_eq!(s.status(&doc_id(), &local), SyncStatus::Connecting);
    assert!(matches!(s.poll_frame(&docs), Some(Frame::Subscribe { .. })));
    assert_eq!(s.poll_frame(&docs), None, "waits for the relay");

    s.receive(Frame::Subscribed {
        doc: doc_id(),
        access: Access::ReadWrite,
    });
    assert!(matches!(
        s.poll_frame(&docs),
        Some(Frame::Sync {
            message: Message::Hello { .. },
            ..
        })
    ));
    s.receive(Frame::Sync {
        doc: doc_id(),
        message: hello(VersionVector::new()),
    });
    assert!(matches!(
        s.poll_frame(&docs),
        Some(Frame::Sync {
            message: Message::Records { .. },
            ..
        })
    ));
    assert_eq!(
        s.status(&doc_id(), &local),
        SyncStatus::Syncing { unacked: 1 }
    );
    s.receive(Frame::Sync {
        doc: doc_id(),
        message: Message::Ack {
            version: local.clone(),
        },
    });
    assert_eq!(s.status(&doc_id(), &local), SyncStatus::Synced);

    s.disconnected();
    assert_eq!(s.status(&doc_id(), &local), SyncStatus::Offline);
    s.connected();
    assert!(
        matches!(s.poll_frame(&docs), Some(Frame::Subscribe { .. })),
        "a reconnect subscribes again"
    );
}

#[test]
fn a_refused_subscription_waits_for_a_new_token() {
    let docs = docs_with_one_change();
    let mut s = ClientSession::new(ReplicaId(1));
    s.subscribe(doc_id(), "bad".into());
    s.connected();
    s.poll_frame(&docs);
    let events = s.receive(Frame::Error {
        doc: Some(doc_id()),
        code: ErrorCode::Unauthorized,
        detail: "bad token".into(),
    });
    assert!(matches!(events[..], [SessionEvent::Refused { .. }]));
    s.connected();
    assert_eq!(s.poll_frame(&docs), None, "not retried with the same token");
    s.subscribe(doc_id(), "good".into());
    assert!(matches!(s.poll_frame(&docs), Some(Frame::Subscribe { token, .. }) if token == "good"));
}

/// Found by the whole-system simulation (`tests/sim`, seeds 47, 416 and
/// 3339): a token set while a Subscribe with an expired one was in flight
/// (or while the relay ended the old one's subscription); the refusal of
/// the old token came first, and the document stayed refused although the
/// relay accepted the new one, or (the connection lost before that answer)
/// was never subscribed with the new token at all.
#[test]
fn a_refusal_of_an_older_token_does_not_outlive_the_newer_one() {
    let docs = docs_with_one_change();
    let local = docs[&doc_id()].version().clone();
    let refusal = || Frame::Error {
        doc: Some(doc_id()),
        code: ErrorCode::TokenExpired,
        detail: "token expired".into(),
    };
    let subscribed = || Frame::Subscribed {
        doc: doc_id(),
        access: Access::ReadWrite,
    };
    let mut s = ClientSession::new(ReplicaId(1));
    s.subscribe(doc_id(), "expired".into());
    s.connected();
    assert!(matches!(s.poll_frame(&docs), Some(Frame::Subscribe { .. })));
    s.subscribe(doc_id(), "fresh".into());
    assert!(
        matches!(s.poll_frame(&docs), Some(Frame::Subscribe { token, .. }) if token == "fresh")
    );
    let events = s.receive(refusal());
    assert!(
        matches!(events[..], [SessionEvent::Error { .. }]),
        "the old token's refusal: {events:?}"
    );
    assert_eq!(s.status(&doc_id(), &local), SyncStatus::Connecting);
    let events = s.receive(subscribed());
    assert!(matches!(events[..], [SessionEvent::Subscribed { .. }]));
    assert_eq!(
        s.status(&doc_id(), &local),
        SyncStatus::Syncing { unacked: 1 }
    );

    // The connection is lost before the new token's answer: the next one
    // subscribes with it.
    s.subscribe(doc_id(), "expired again".into());
    s.connected();
    s.poll_frame(&docs);
    s.subscribe(doc_id(), "fresh again".into());
    s.poll_frame(&docs);
    s.receive(refusal());
    s.disconnected();
    s.connected();
    assert!(
        matches!(s.poll_frame(&docs), Some(Frame::Subscribe { token, .. }) if token == "fresh again")
    );
    // A refusal with nothing newer out is one.
    let events = s.receive(refusal());
    assert!(matches!(events[..], [SessionEvent::Refused { .. }]));
    // And the relay's answer to a newer Subscribe, after a refusal, wins.
    s.receive(subscribed());
    assert_eq!(s.access(&doc_id()), Some(Access::ReadWrite));

    // The relay ends the old token's live subscription (its expiry) while
    // the new token's Subscribe is out, and the connection is lost before
    // the answer (seed 3339): the next connection asks once more.
    s.subscribe(doc_id(), "fresh at last".into());
    s.poll_frame(&docs);
    let events = s.receive(refusal());
    assert!(matches!(events[..], [SessionEvent::Refused { .. }]));
    s.disconnected();
    s.connected();
    assert!(
        matches!(s.poll_frame(&docs), Some(Frame::Subscribe { token, .. }) if token == "fresh at last")
    );
    s.receive(refusal());
    s.disconnected();
    s.connected();
    assert_eq!(
        s.poll_frame(&docs),
        None,
        "refused with nothing else out: not retried with the same token"
    );
}

#[test]
fn read_only_never_sends_changes() {
    let docs = docs_with_one_change();
    let local = docs[&doc_id()].version().clone();
    let mut s = ClientSession::new(ReplicaId(1));
    s.subscribe(doc_id(), "ro".into());
    s.connected();
    s.poll_frame(&docs);
    s.receive(Frame::Subscribed {
        doc: doc_id(),
        access: Access::Read,
    });
    s.poll_frame(&docs); // Hello
    s.receive(Frame::Sync {
        doc: doc_id(),
        message: hello(VersionVector::new()),
    });
    assert_eq!(s.poll_frame(&docs), None);
    assert_eq!(s.status(&doc_id(), &local), SyncStatus::Synced);
}

#[test]
fn acked_is_what_the_relay_confirmed_on_this_connection() {
    let docs = docs_with_one_change();
    let local = docs[&doc_id()].version().clone();
    let mut s = ClientSession::new(ReplicaId(1));
    assert_eq!(s.acked(&doc_id()), None);
    s.subscribe(doc_id(), "t".into());
    s.connected();
    s.poll_frame(&docs);
    s.receive(Frame::Subscribed {
        doc: doc_id(),
        access: Access::ReadWrite,
    });
    assert_eq!(s.acked(&doc_id()), Some(&VersionVector::new()));
    s.receive(Frame::Sync {
        doc: doc_id(),
        message: Message::Ack {
            version: local.clone(),
        },
    });
    assert_eq!(s.acked(&doc_id()), Some(&local));
    s.connected();
    assert_eq!(s.acked(&doc_id()), Some(&VersionVector::new()));
}

#[test]
fn unsubscribe_tells_the_relay() {
    let docs = docs_with_one_change();
    let mut s = ClientSession::new(ReplicaId(1));
    s.subscribe(doc_id(), "t".into());
    s.connected();
    s.poll_frame(&docs);
    s.unsubscribe(&doc_id());
    assert_eq!(
        s.poll_frame(&docs),
        Some(Frame::Unsubscribe { doc: doc_id() })
    );
    assert!(!s.is_subscribed(&doc_id()));
}

//! The engine against a fake relay made of core parts (a document as its
//! store, a `SyncPeer` per subscription): status transitions, save-before-ack,
//! store failures, bad changes, stalls. No sockets.

use std::collections::BTreeMap;
use std::time::Duration;

use concord_core::{Document, EncodedChange, ObjId, ObjType, ReplicaId, VersionVector};
use concord_wire::{Access, DocId, ErrorCode, Frame, Message, SyncPeer, SyncStatus};
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::Engine;
use crate::device_store::MemoryStore;
use crate::event::DeviceEvent;

fn engine(store: &MemoryStore, events: broadcast::Sender<DeviceEvent>) -> Engine {
    let device = concord_sync::Device::new(ReplicaId(1), 7).with_max_batch_bytes(1024);
    Engine::new(device, Box::new(store.clone()), events, Instant::now())
}

fn doc_id() -> DocId {
    DocId::new("notes").unwrap()
}

/// The relay's side for one document, out of core parts.
struct FakeRelay {
    doc: Document,
    peers: BTreeMap<DocId, SyncPeer>,
    /// Frames the relay would send.
    outbox: Vec<Frame>,
}

impl FakeRelay {
    fn new() -> Self {
        FakeRelay {
            doc: Document::new(ReplicaId(999)),
            peers: BTreeMap::new(),
            outbox: Vec::new(),
        }
    }

    fn receive(&mut self, frame: Frame) {
        match frame {
            Frame::Subscribe { doc, .. } => {
                self.peers.insert(doc.clone(), SyncPeer::new());
                self.outbox.push(Frame::Subscribed {
                    doc,
                    access: Access::ReadWrite,
                });
            }
            Frame::Sync { doc, message } => {
                let peer = self.peers.get_mut(&doc).unwrap();
                let records = peer.receive(message);
                if !records.is_empty() {
                    let outcome = self.doc.apply_records(records);
                    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
                    peer.stored(self.doc.version());
                }
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }

    fn poll(&mut self) {
        for (doc, peer) in &mut self.peers {
            while let Some(message) = peer.poll_message(&self.doc) {
                self.outbox.push(Frame::Sync {
                    doc: doc.clone(),
                    message,
                });
            }
        }
    }
}

struct Rig {
    engine: Engine,
    store: MemoryStore,
    events: broadcast::Receiver<DeviceEvent>,
    relay: FakeRelay,
    now: Instant,
}

impl Rig {
    fn new() -> Self {
        let store = MemoryStore::new();
        let (tx, events) = broadcast::channel(256);
        let engine = engine(&store, tx);
        Rig {
            engine,
            store,
            events,
            relay: FakeRelay::new(),
            now: Instant::now(),
        }
    }

    /// Moves frames both ways until both sides are quiet; returns what the
    /// client sent.
    fn exchange(&mut self) -> Vec<Frame> {
        let mut sent = Vec::new();
        for _ in 0..100 {
            let out = self.engine.poll_frames(usize::MAX);
            sent.extend(out.iter().cloned());
            let quiet = out.is_empty();
            for f in out {
                self.relay.receive(f);
            }
            self.relay.poll();
            let incoming = std::mem::take(&mut self.relay.outbox);
            if quiet && incoming.is_empty() {
                return sent;
            }
            for f in incoming {
                self.engine.receive(f, self.now);
            }
        }
        panic!("no quiescence");
    }

    fn status(&self) -> SyncStatus {
        self.engine.status(&doc_id()).unwrap()
    }

    fn drain_events(&mut self) -> Vec<DeviceEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

fn sent_changes(frames: &[Frame]) -> Vec<concord_core::Record> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Sync {
                message: Message::Records { records },
                ..
            } => Some(records.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn write_text(rig: &mut Rig, s: &str) {
    let now = rig.now;
    rig.engine
        .edit(
            &doc_id(),
            |tx| {
                let t = tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
                tx.insert_text(t, 0, s).unwrap();
            },
            now,
        )
        .unwrap()
        .value_if_saved()
        .unwrap();
}

#[test]
fn status_goes_offline_connecting_syncing_synced() {
    let mut rig = Rig::new();
    rig.engine.open(doc_id(), "tok".into(), rig.now).unwrap();
    write_text(&mut rig, "hello");
    assert_eq!(rig.status(), SyncStatus::Offline);
    assert_eq!(rig.engine.unacked(&doc_id()).unwrap(), 1);

    rig.engine.connected(rig.now);
    assert_eq!(rig.status(), SyncStatus::Connecting);
    let sent = rig.exchange();
    assert_eq!(sent_changes(&sent).len(), 1);
    assert_eq!(rig.status(), SyncStatus::Synced);
    assert_eq!(rig.engine.unacked(&doc_id()).unwrap(), 0);
    assert_eq!(
        rig.relay.doc.version(),
        rig.engine.document(&doc_id()).unwrap().version()
    );
    assert_eq!(
        &rig.engine.relay_acked(&doc_id()).unwrap(),
        rig.relay.doc.version()
    );

    let statuses: Vec<SyncStatus> = rig
        .drain_events()
        .into_iter()
        .filter_map(|e| match e {
            DeviceEvent::Status { status, .. } => Some(status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.first(), Some(&SyncStatus::Offline));
    assert_eq!(statuses.get(1), Some(&SyncStatus::Connecting));
    assert_eq!(statuses.last(), Some(&SyncStatus::Synced));

    rig.engine.disconnected(rig.now);
    assert_eq!(rig.status(), SyncStatus::Offline);
    assert_eq!(
        &rig.engine.relay_acked(&doc_id()).unwrap(),
        rig.relay.doc.version(),
        "what the relay confirmed stays known across connections"
    );
}

#[test]
fn a_remote_change_is_saved_before_it_is_acknowledged() {
    let mut rig = Rig::new();
    rig.engine.open(doc_id(), "tok".into(), rig.now).unwrap();
    rig.engine.connected(rig.now);
    rig.exchange();
    assert_eq!(rig.status(), SyncStatus::Synced);

    // Another device's change reaches the relay and is pushed to us.
    let mut other = Document::new(ReplicaId(2));
    let mut tx = other.transaction();
    tx.put(ObjId::Root, "k", 7i64).unwrap();
    let change = tx.commit().unwrap();
    rig.relay.doc.apply(change.clone()).unwrap();
    rig.engine.receive(
        Frame::Sync {
            doc: doc_id(),
            message: Message::Records {
                records: vec![change.into()],
            },
        },
        rig.now,
    );
    assert_eq!(rig.store.change_count(&doc_id()), 1, "saved at once");
    let out = rig.engine.poll_frames(usize::MAX);
    assert!(
        matches!(&out[..], [Frame::Sync { message: Message::Ack { version }, .. }] if version == rig.relay.doc.version()),
        "{out:?}"
    );
    assert!(
        rig.drain_events()
            .contains(&DeviceEvent::RemoteChange { doc: doc_id() })
    );
}

#[test]
fn nothing_unsaved_is_sent_or_acknowledged() {
    let mut rig = Rig::new();
    rig.engine.open(doc_id(), "tok".into(), rig.now).unwrap();
    rig.engine.connected(rig.now);
    rig.exchange();

    rig.store.set_failing(true);
    let now = rig.now;
    let edited = rig
        .engine
        .edit(&doc_id(), |tx| tx.put(ObjId::Root, "k", 1i64).unwrap(), now)
        .unwrap();
    assert!(edited.saved.is_err(), "applied, not saved");
    assert_eq!(rig.engine.unsaved(&doc_id()).unwrap(), 1);
    assert_eq!(rig.status(), SyncStatus::Syncing { unacked: 1 });
    rig.engine.anti_entropy(now);
    let sent = rig.exchange();
    assert!(sent_changes(&sent).is_empty(), "unsaved: not sent");
    for f in &sent {
        if let Frame::Sync {
            message: Message::Hello { version } | Message::Ack { version },
            ..
        } = f
        {
            assert!(version.is_empty(), "unsaved: not announced");
        }
    }
    assert!(rig.relay.doc.version().is_empty());

    rig.store.set_failing(false);
    rig.engine.anti_entropy(now);
    let sent = rig.exchange();
    assert_eq!(
        sent_changes(&sent).len(),
        1,
        "saved by the retry, then sent"
    );
    assert_eq!(rig.store.change_count(&doc_id()), 1);
    assert_eq!(rig.status(), SyncStatus::Synced);
}

#[test]
fn a_bad_remote_change_is_reported_and_leaves_the_document_alone() {
    let mut rig = Rig::new();
    rig.engine.open(doc_id(), "tok".into(), rig.now).unwrap();
    rig.engine.connected(rig.now);
    rig.exchange();

    // Two different changes with the same id: the second is equivocation.
    let change_with = |v: i64| {
        let mut d = Document::new(ReplicaId(5));
        let mut tx = d.transaction();
        tx.put(ObjId::Root, "k", v).unwrap();
        tx.commit().unwrap()
    };
    let (good, evil) = (change_with(1), change_with(2));
    let sync = |c: EncodedChange| Frame::Sync {
        doc: doc_id(),
        message: Message::Records {
            records: vec![c.into()],
        },
    };
    rig.engine.receive(sync(good), rig.now);
    let before = rig.engine.document(&doc_id()).unwrap().clone();
    rig.drain_events();
    rig.engine.receive(sync(evil), rig.now);
    assert_eq!(rig.engine.document(&doc_id()).unwrap(), &before);
    assert!(
        rig.drain_events()
            .iter()
            .any(|e| matches!(e, DeviceEvent::ChangeRejected { .. }))
    );
    // Still usable.
    write_text(&mut rig, "still here");
    assert_eq!(rig.store.change_count(&doc_id()), 2);
}

#[test]
fn an_unanswered_subscription_stalls() {
    let mut rig = Rig::new();
    rig.engine.open(doc_id(), "tok".into(), rig.now).unwrap();
    rig.engine.connected(rig.now);
    let out = rig.engine.poll_frames(usize::MAX);
    assert!(matches!(&out[..], [Frame::Subscribe { .. }]));
    let timeout = Duration::from_secs(5);
    assert_eq!(rig.engine.stalled(rig.now + timeout / 2, timeout), None);
    assert_eq!(
        rig.engine.stalled(rig.now + timeout * 2, timeout),
        Some(doc_id()),
        "the connection task reconnects"
    );
}

#[test]
fn a_synced_document_does_not_stall_and_a_new_edit_restarts_the_clock() {
    let mut rig = Rig::new();
    rig.engine.open(doc_id(), "tok".into(), rig.now).unwrap();
    rig.engine.connected(rig.now);
    rig.exchange();
    let timeout = Duration::from_secs(5);
    let later = rig.now + timeout * 10;
    assert_eq!(rig.engine.stalled(later, timeout), None);
    rig.engine
        .edit(
            &doc_id(),
            |tx| tx.put(ObjId::Root, "k", 1i64).unwrap(),
            later,
        )
        .unwrap()
        .value_if_saved()
        .unwrap();
    assert_eq!(rig.engine.stalled(later + timeout / 2, timeout), None);
    assert_eq!(
        rig.engine.stalled(later + timeout * 2, timeout),
        Some(doc_id()),
        "an edit the relay never acknowledges"
    );
}

#[test]
fn a_refused_subscription_shows_and_a_new_token_retries() {
    let mut rig = Rig::new();
    rig.engine.open(doc_id(), "bad".into(), rig.now).unwrap();
    rig.engine.connected(rig.now);
    rig.engine.poll_frames(usize::MAX);
    rig.engine.receive(
        Frame::Error {
            doc: Some(doc_id()),
            code: ErrorCode::Unauthorized,
            detail: "no".into(),
        },
        rig.now,
    );
    assert!(matches!(
        rig.status(),
        SyncStatus::Refused {
            code: ErrorCode::Unauthorized,
            ..
        }
    ));
    assert_eq!(
        rig.engine
            .stalled(rig.now + Duration::from_secs(999), Duration::from_secs(1)),
        None
    );
    rig.engine.open(doc_id(), "good".into(), rig.now).unwrap();
    assert!(matches!(
        &rig.engine.poll_frames(usize::MAX)[..],
        [Frame::Subscribe { token, .. }] if token == "good"
    ));
}

#[test]
fn a_reopened_document_comes_back_from_the_store() {
    let mut rig = Rig::new();
    rig.engine.open(doc_id(), "tok".into(), rig.now).unwrap();
    write_text(&mut rig, "kept");
    let version = rig.engine.document(&doc_id()).unwrap().version().clone();
    rig.engine.close(&doc_id(), rig.now).unwrap();
    assert!(rig.engine.document(&doc_id()).is_err());

    let (tx, _rx) = broadcast::channel(16);
    let mut fresh = engine(&rig.store, tx);
    fresh.open(doc_id(), "tok".into(), rig.now).unwrap();
    assert_eq!(fresh.document(&doc_id()).unwrap().version(), &version);
    assert_ne!(version, VersionVector::new());
}

#[test]
fn regression_frames_for_an_unanswered_subscription_are_not_movement() {
    // Seen through the fault proxy: the relay got the Subscribe, its
    // Subscribed was dropped, and its periodic Hellos (which the session
    // ignores until Subscribed) kept the document from ever counting as
    // stalled, so it stayed Connecting forever.
    let mut rig = Rig::new();
    rig.engine.open(doc_id(), "tok".into(), rig.now).unwrap();
    rig.engine.connected(rig.now);
    rig.engine.poll_frames(usize::MAX);
    let timeout = Duration::from_secs(5);
    for s in 1..=10 {
        rig.engine.receive(
            Frame::Sync {
                doc: doc_id(),
                message: Message::Hello {
                    version: VersionVector::new(),
                },
            },
            rig.now + Duration::from_secs(s),
        );
    }
    assert_eq!(rig.status(), SyncStatus::Connecting);
    assert_eq!(
        rig.engine
            .stalled(rig.now + Duration::from_secs(10), timeout),
        Some(doc_id())
    );
}

#[test]
fn regression_typing_does_not_postpone_a_stall() {
    // Seen through the fault proxy dropping every message: each local edit
    // changed the status (Syncing{n} to Syncing{n+1}) and restarted the
    // stall clock, so a client typing steadily never gave up a dead
    // connection and nothing synced until the typing stopped.
    let mut rig = Rig::new();
    rig.engine.open(doc_id(), "tok".into(), rig.now).unwrap();
    rig.engine.connected(rig.now);
    rig.exchange();
    assert_eq!(rig.status(), SyncStatus::Synced);
    let timeout = Duration::from_secs(5);
    for ms in (0..10_000).step_by(100) {
        let at = rig.now + Duration::from_millis(ms);
        rig.engine
            .edit(&doc_id(), |tx| tx.put(ObjId::Root, "k", 1i64).unwrap(), at)
            .unwrap()
            .value_if_saved()
            .unwrap();
    }
    assert!(matches!(rig.status(), SyncStatus::Syncing { .. }));
    assert_eq!(
        rig.engine
            .stalled(rig.now + Duration::from_secs(10), timeout),
        Some(doc_id())
    );
}

#[test]
fn a_subscription_the_relay_forgot_is_made_again() {
    let mut rig = Rig::new();
    rig.engine.open(doc_id(), "tok".into(), rig.now).unwrap();
    rig.engine.connected(rig.now);
    rig.exchange();
    assert_eq!(rig.status(), SyncStatus::Synced);
    rig.engine.receive(
        Frame::Error {
            doc: Some(doc_id()),
            code: ErrorCode::NotSubscribed,
            detail: "not subscribed".into(),
        },
        rig.now,
    );
    assert!(matches!(
        &rig.engine.poll_frames(usize::MAX)[..],
        [Frame::Subscribe { token, .. }] if token == "tok"
    ));
}

#[test]
fn the_store_gets_a_snapshot_when_the_compaction_policy_says_so() {
    let store = MemoryStore::new();
    let (tx, _rx) = broadcast::channel(64);
    let device = concord_sync::Device::new(ReplicaId(1), 7)
        .with_compaction(concord_sync::Compaction { max_records: 3 });
    let mut engine = Engine::new(device, Box::new(store.clone()), tx, Instant::now());
    let now = Instant::now();
    engine.open(doc_id(), "tok".into(), now).unwrap();
    for i in 0..3 {
        let edited = engine
            .edit(&doc_id(), |tx| tx.put(ObjId::Root, "k", i).unwrap(), now)
            .unwrap();
        assert!(edited.saved.is_ok());
    }
    assert_eq!(store.change_count(&doc_id()), 3);
    assert!(!store.has_snapshot(&doc_id()));
    engine
        .edit(&doc_id(), |tx| tx.put(ObjId::Root, "k", 9i64).unwrap(), now)
        .unwrap()
        .value_if_saved()
        .unwrap();
    assert!(
        store.has_snapshot(&doc_id()),
        "the fourth record makes a snapshot"
    );
    assert_eq!(store.change_count(&doc_id()), 0);
    let version = engine.document(&doc_id()).unwrap().version().clone();
    engine.close(&doc_id(), now).unwrap();
    assert_eq!(
        engine.peek(&doc_id(), |d| d.version().clone()).unwrap(),
        version,
        "a closed document reads back from the store"
    );
}

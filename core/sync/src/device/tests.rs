//! The device against a store in memory and a fake relay made of the
//! wire's pieces (a document as its store, a `SyncPeer` per subscription).
//! Time is a number the tests move; saves land when a test says so.

use std::collections::BTreeMap;
use std::time::Duration;

use concord_core::{Document, EncodedChange, ObjId, ObjType, Record, ReplicaId, VersionVector};
use concord_wire::{Access, DocId, ErrorCode, Frame, Message, SyncPeer, SyncStatus};

use super::{Device, DeviceError};
use crate::event::{ConnectionStatus, DeviceEvent};
use crate::save::{Compaction, Save, SaveWhat};
use crate::stored::StoredDocument;

const ME: ReplicaId = ReplicaId(1);
const SEED: u64 = 0x5eed;

fn doc_id() -> DocId {
    DocId::new("notes").unwrap()
}

/// A store as a driver keeps it: what `Save`s wrote, per document.
#[derive(Default)]
struct Store {
    docs: BTreeMap<DocId, StoredDocument>,
    failing: bool,
    writes: Vec<SaveWhat>,
}

impl Store {
    fn write(&mut self, save: &Save) -> Result<(), String> {
        if self.failing {
            return Err("the disk is full".into());
        }
        self.writes.push(save.what.clone());
        let entry = self.docs.entry(save.doc.clone()).or_default();
        match &save.what {
            SaveWhat::Append(changes) => entry.changes.extend(changes.iter().cloned()),
            SaveWhat::Snapshot(bytes) => {
                entry.snapshot = Some(bytes.clone());
                entry.changes.clear();
            }
            SaveWhat::Replace { snapshot, replica } => {
                entry.snapshot = Some(snapshot.clone());
                entry.changes.clear();
                entry.replica = Some(*replica);
            }
        }
        Ok(())
    }
}

/// The relay's side, out of the wire's pieces and a document as its store.
struct FakeRelay {
    doc: Document,
    peers: BTreeMap<DocId, SyncPeer>,
    /// Whether it answers a Subscribe.
    answers: bool,
    outbox: Vec<Frame>,
}

impl FakeRelay {
    fn new() -> Self {
        FakeRelay {
            doc: Document::new(ReplicaId(999)),
            peers: BTreeMap::new(),
            answers: true,
            outbox: Vec::new(),
        }
    }

    fn receive(&mut self, frame: Frame) {
        match frame {
            Frame::Subscribe { doc, .. } => {
                if !self.answers {
                    return;
                }
                self.peers.insert(doc.clone(), SyncPeer::new());
                self.outbox.push(Frame::Subscribed {
                    doc,
                    access: Access::ReadWrite,
                });
            }
            Frame::Sync { doc, message } => {
                let peer = self.peers.get_mut(&doc).unwrap();
                let outcome = self.doc.apply_records(peer.receive(message));
                if let Some((id, _)) = outcome.refused.first() {
                    self.outbox.push(Frame::Error {
                        doc: Some(doc.clone()),
                        code: ErrorCode::Equivocation,
                        detail: format!("{id:?}"),
                    });
                }
                peer.stored(self.doc.version());
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
    device: Device,
    store: Store,
    relay: FakeRelay,
    now: Duration,
    events: Vec<DeviceEvent>,
    /// Saves handed out and not yet reported (a slow store).
    writing: Vec<Save>,
    /// Whether saves land at once (a synchronous store) or wait in `writing`.
    slow: bool,
}

impl Rig {
    fn new() -> Self {
        Rig {
            device: Device::new(ME, SEED).with_max_batch_bytes(1024),
            store: Store::default(),
            relay: FakeRelay::new(),
            now: Duration::from_secs(100),
            events: Vec::new(),
            writing: Vec::new(),
            slow: false,
        }
    }

    /// Opens the test document, empty or from the store.
    fn open(&mut self) {
        let stored = self.store.docs.get(&doc_id()).cloned().unwrap_or_default();
        self.device.load(doc_id(), stored, self.now).unwrap();
        self.settle();
    }

    /// Writes every save due (or parks it, for a slow store) and collects
    /// the events.
    fn settle(&mut self) {
        while let Some(save) = self.device.poll_save() {
            if self.slow {
                self.writing.push(save);
            } else {
                self.land(&save);
            }
        }
        while let Some(e) = self.device.poll_event() {
            self.events.push(e);
        }
    }

    fn land(&mut self, save: &Save) {
        match self.store.write(save) {
            Ok(()) => self.device.saved(save.id, self.now),
            Err(reason) => self.device.save_failed(save.id, reason, self.now),
        }
    }

    /// Lands the saves a slow store was writing.
    fn land_all(&mut self) {
        for save in std::mem::take(&mut self.writing) {
            self.land(&save);
        }
        self.settle();
    }

    /// Moves frames both ways until both sides are quiet; returns what the
    /// device sent.
    fn exchange(&mut self) -> Vec<Frame> {
        let mut sent = Vec::new();
        for _ in 0..100 {
            self.settle();
            let out: Vec<Frame> = std::iter::from_fn(|| self.device.poll_frame()).collect();
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
                self.device.receive(f, self.now);
            }
        }
        panic!("no quiescence");
    }

    fn edit(&mut self, key: &str, value: i64) {
        self.device
            .edit(
                &doc_id(),
                |tx| tx.put(ObjId::Root, key, value).unwrap(),
                self.now,
            )
            .unwrap();
        self.settle();
    }

    fn status(&self) -> SyncStatus {
        self.device.status(&doc_id()).unwrap()
    }

    fn take_events(&mut self) -> Vec<DeviceEvent> {
        self.settle();
        std::mem::take(&mut self.events)
    }
}

fn sent_records(frames: &[Frame]) -> Vec<Record> {
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

/// The changes the records sent hold, by id.
fn sent_changes(frames: &[Frame]) -> Vec<concord_core::ChangeId> {
    sent_records(frames)
        .iter()
        .flat_map(|r| r.ids().collect::<Vec<_>>())
        .collect()
}

fn announced(frames: &[Frame]) -> Vec<VersionVector> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Sync {
                message: Message::Hello { version } | Message::Ack { version },
                ..
            } => Some(version.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn status_goes_offline_connecting_syncing_synced_and_says_so() {
    let mut rig = Rig::new();
    rig.open();
    rig.edit("k", 1);
    assert_eq!(rig.status(), SyncStatus::Offline);
    assert_eq!(rig.device.unsent(&doc_id()).unwrap(), 1);

    rig.device.connected(rig.now);
    assert_eq!(rig.status(), SyncStatus::Connecting);
    let sent = rig.exchange();
    assert_eq!(sent_changes(&sent).len(), 1);
    assert_eq!(rig.status(), SyncStatus::Synced);
    assert_eq!(rig.device.unsent(&doc_id()).unwrap(), 0);
    assert_eq!(
        rig.device.relay_acked(&doc_id()).unwrap(),
        rig.relay.doc.version()
    );

    let events = rig.take_events();
    let statuses: Vec<&SyncStatus> = events
        .iter()
        .filter_map(|e| match e {
            DeviceEvent::Status { status, .. } => Some(status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.first(), Some(&&SyncStatus::Offline));
    assert_eq!(statuses.get(1), Some(&&SyncStatus::Connecting));
    assert_eq!(statuses.last(), Some(&&SyncStatus::Synced));
    assert!(events.contains(&DeviceEvent::Connection(ConnectionStatus::Connected)));

    rig.device.disconnected(rig.now);
    assert_eq!(rig.status(), SyncStatus::Offline);
    assert_eq!(
        rig.device.relay_acked(&doc_id()).unwrap(),
        rig.relay.doc.version(),
        "what the relay confirmed stays known across connections"
    );
    assert!(
        rig.take_events()
            .contains(&DeviceEvent::Connection(ConnectionStatus::Offline))
    );
}

#[test]
fn a_local_change_is_announced_and_sent_only_once_its_save_landed() {
    let mut rig = Rig::new();
    rig.slow = true;
    rig.open();
    rig.device.connected(rig.now);
    rig.exchange();
    rig.edit("k", 1);
    assert!(
        matches!(&rig.writing[..], [Save { what: SaveWhat::Append(c), .. }] if c.len() == 1),
        "{:?}",
        rig.writing
    );
    rig.device.anti_entropy(rig.now);
    let sent = rig.exchange();
    assert!(sent_changes(&sent).is_empty(), "still being written");
    assert!(announced(&sent).iter().all(VersionVector::is_empty));
    assert_eq!(rig.device.unsaved(&doc_id()).unwrap(), 1);
    assert!(rig.device.durable(&doc_id()).unwrap().is_empty());
    // One save per document in flight: a second edit waits for the first.
    rig.edit("k", 2);
    assert_eq!(rig.writing.len(), 1);

    rig.land_all();
    assert_eq!(rig.writing.len(), 1, "then the second edit is written");
    assert_eq!(rig.device.durable(&doc_id()).unwrap().get(ME), 1);
    let sent = rig.exchange();
    assert_eq!(sent_changes(&sent).len(), 1, "only the saved change");
    rig.land_all();
    let sent = rig.exchange();
    assert_eq!(sent_changes(&sent).len(), 1);
    assert_eq!(rig.status(), SyncStatus::Synced);
    assert_eq!(rig.store.docs[&doc_id()].changes.len(), 2);
}

#[test]
fn a_remote_change_is_acknowledged_only_once_it_is_saved() {
    let mut rig = Rig::new();
    rig.slow = true;
    rig.open();
    rig.device.connected(rig.now);
    rig.exchange();

    let mut other = Document::new(ReplicaId(2));
    let mut tx = other.transaction();
    tx.put(ObjId::Root, "k", 7i64).unwrap();
    let change = tx.commit().unwrap();
    rig.relay.doc.apply(change.clone()).unwrap();
    rig.device.receive(
        Frame::Sync {
            doc: doc_id(),
            message: Message::Records {
                records: vec![change.into()],
            },
        },
        rig.now,
    );
    rig.settle();
    assert!(
        rig.events
            .contains(&DeviceEvent::RemoteChange { doc: doc_id() })
    );
    let acks = |frames: Vec<Frame>| {
        frames
            .into_iter()
            .filter(|f| {
                matches!(
                    f,
                    Frame::Sync {
                        message: Message::Ack { .. },
                        ..
                    }
                )
            })
            .count()
    };
    assert_eq!(
        acks(std::iter::from_fn(|| rig.device.poll_frame()).collect()),
        0,
        "not acknowledged while it is written"
    );
    rig.land_all();
    let out: Vec<Frame> = std::iter::from_fn(|| rig.device.poll_frame()).collect();
    assert!(
        matches!(&out[..], [Frame::Sync { message: Message::Ack { version }, .. }] if version == rig.relay.doc.version()),
        "{out:?}"
    );
    assert_eq!(acks(out), 1);
}

#[test]
fn a_failed_save_is_reported_held_back_and_offered_again() {
    let mut rig = Rig::new();
    rig.open();
    rig.device.connected(rig.now);
    rig.exchange();

    rig.store.failing = true;
    rig.edit("k", 1);
    let events = rig.take_events();
    assert!(
        events.iter().any(
            |e| matches!(e, DeviceEvent::SaveFailed { reason, .. } if reason.contains("full"))
        ),
        "{events:?}"
    );
    assert_eq!(rig.device.unsaved(&doc_id()).unwrap(), 1);
    assert_eq!(rig.device.poll_save(), None, "not asked again in a loop");
    assert_eq!(rig.status(), SyncStatus::Syncing { unacked: 1 });
    let sent = rig.exchange();
    assert!(sent_changes(&sent).is_empty(), "unsaved: not sent");

    // The next edit tries again, with both changes.
    rig.edit("k", 2);
    assert_eq!(rig.device.unsaved(&doc_id()).unwrap(), 2);
    rig.store.failing = false;
    assert_eq!(rig.device.poll_save(), None, "it failed again");
    // The anti-entropy timer tries again too.
    rig.device.anti_entropy(rig.now);
    rig.settle();
    assert!(matches!(&rig.store.writes[..], [SaveWhat::Append(c)] if c.len() == 2));
    let sent = rig.exchange();
    assert_eq!(
        sent_changes(&sent).len(),
        2,
        "saved by the retry, then sent"
    );
    assert_eq!(rig.status(), SyncStatus::Synced);
}

#[test]
fn past_the_compaction_limit_a_save_is_a_snapshot_and_the_store_reloads() {
    let mut rig = Rig::new();
    rig.device = Device::new(ME, SEED).with_compaction(Compaction { max_records: 5 });
    rig.open();
    for i in 0..12 {
        rig.edit("k", i);
    }
    let kinds: Vec<&str> = rig
        .store
        .writes
        .iter()
        .map(|w| match w {
            SaveWhat::Append(_) => "append",
            SaveWhat::Snapshot(_) => "snapshot",
            SaveWhat::Replace { .. } => "replace",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "append", "append", "append", "append", "append", "snapshot", "append", "append",
            "append", "append", "append", "snapshot"
        ]
    );
    let stored = rig.store.docs[&doc_id()].clone();
    assert!(
        stored.changes.is_empty(),
        "the snapshot covers every record"
    );
    let version = rig.device.document(&doc_id()).unwrap().version().clone();
    let mut again = Device::new(ME, SEED);
    again.load(doc_id(), stored, rig.now).unwrap();
    assert_eq!(again.document(&doc_id()).unwrap().version(), &version);
    assert_eq!(again.unsaved(&doc_id()).unwrap(), 0);
}

#[test]
fn a_document_made_here_is_first_saved_whole_then_appended_to() {
    let mut rig = Rig::new();
    let mut d = Document::new(ME);
    let mut tx = d.transaction();
    let body = tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
    tx.insert_text(body, 0, "hello").unwrap();
    tx.commit();
    rig.device
        .start(doc_id(), String::new(), d, rig.now)
        .unwrap();
    assert_eq!(rig.device.unsaved(&doc_id()).unwrap(), 1);
    rig.settle();
    rig.edit("k", 1);
    assert!(matches!(
        &rig.store.writes[..],
        [SaveWhat::Snapshot(_), SaveWhat::Append(c)] if c.len() == 1
    ));
    assert!(matches!(
        rig.device
            .start(doc_id(), String::new(), Document::new(ME), rig.now),
        Err(DeviceError::AlreadyOpen(_))
    ));
    let mut again = Device::new(ME, SEED);
    again
        .load(doc_id(), rig.store.docs[&doc_id()].clone(), rig.now)
        .unwrap();
    assert_eq!(
        again
            .document(&doc_id())
            .unwrap()
            .key_text(ObjId::Root, "body")
            .to_string(),
        "hello"
    );
}

#[test]
fn stored_parts_that_do_not_make_a_document_open_nothing() {
    let mut rig = Rig::new();
    rig.open();
    rig.edit("k", 1);
    let mut stored = rig.store.docs[&doc_id()].clone();
    stored.snapshot = Some(b"not a document".to_vec());
    let mut device = Device::new(ME, SEED);
    assert!(matches!(
        device.load(doc_id(), stored, rig.now),
        Err(DeviceError::Load { .. })
    ));
    // A change whose dependency is not stored.
    let mut d = Document::new(ReplicaId(7));
    for i in 0..2 {
        let mut tx = d.transaction();
        tx.put(ObjId::Root, "k", i).unwrap();
        tx.commit();
    }
    let stored = StoredDocument {
        changes: d.changes_since(&VersionVector::new())[1..].to_vec(),
        ..StoredDocument::default()
    };
    assert!(matches!(
        device.load(doc_id(), stored, rig.now),
        Err(DeviceError::Load { .. })
    ));
    assert_eq!(device.documents().count(), 0, "nothing half-opened");
}

#[test]
fn an_unanswered_subscription_stalls_and_its_frames_are_not_movement() {
    let mut rig = Rig::new();
    rig.relay.answers = false;
    rig.open();
    rig.device.connected(rig.now);
    let out: Vec<Frame> = std::iter::from_fn(|| rig.device.poll_frame()).collect();
    assert!(matches!(&out[..], [Frame::Subscribe { .. }]));
    let timeout = Duration::from_secs(5);
    // Seen through the fault proxy: the relay's Hellos for a subscription
    // whose Subscribed was lost kept the document from ever stalling.
    for s in 1..=10 {
        rig.device.receive(
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
    assert_eq!(rig.device.stalled(rig.now + timeout / 2, timeout), None);
    assert_eq!(
        rig.device.stalled(rig.now + timeout * 2, timeout),
        Some(doc_id()),
        "the driver reconnects"
    );
}

#[test]
fn typing_starts_the_stall_clock_once_and_does_not_postpone_it() {
    let mut rig = Rig::new();
    rig.open();
    rig.device.connected(rig.now);
    rig.exchange();
    let timeout = Duration::from_secs(5);
    let start = rig.now;
    assert_eq!(rig.device.stalled(start + timeout * 10, timeout), None);
    // The relay stops answering; the device types on, every 100 ms.
    rig.now = start + timeout * 10;
    for _ in 0..100 {
        rig.edit("k", 1);
        rig.now += Duration::from_millis(100);
    }
    assert!(matches!(rig.status(), SyncStatus::Syncing { .. }));
    let typing_began = start + timeout * 10;
    assert_eq!(
        rig.device.stalled(typing_began + timeout / 2, timeout),
        None
    );
    assert_eq!(
        rig.device.stalled(typing_began + timeout * 2, timeout),
        Some(doc_id()),
        "an edit the relay never acknowledges"
    );
}

#[test]
fn a_refused_subscription_shows_and_a_new_token_retries() {
    let mut rig = Rig::new();
    rig.open();
    rig.device.connected(rig.now);
    let _ = rig.device.poll_frame();
    rig.device.receive(
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
    assert!(rig.take_events().iter().any(|e| matches!(
        e,
        DeviceEvent::RelayError {
            doc: Some(_),
            code: ErrorCode::Unauthorized,
            ..
        }
    )));
    assert_eq!(
        rig.device
            .stalled(rig.now + Duration::from_secs(999), Duration::from_secs(1)),
        None
    );
    rig.device
        .set_token(&doc_id(), "good".into(), rig.now)
        .unwrap();
    assert!(matches!(
        rig.device.poll_frame(),
        Some(Frame::Subscribe { token, .. }) if token == "good"
    ));

    // A subscription the relay forgot is made again, with the same token.
    rig.exchange();
    rig.device.receive(
        Frame::Error {
            doc: Some(doc_id()),
            code: ErrorCode::NotSubscribed,
            detail: "not subscribed".into(),
        },
        rig.now,
    );
    assert!(matches!(
        rig.device.poll_frame(),
        Some(Frame::Subscribe { token, .. }) if token == "good"
    ));
}

/// Someone writes as the device: the relay holds a change under its id at
/// the seq its next change takes.
fn forge_next_change(rig: &mut Rig) -> EncodedChange {
    let mut mallory = Document::new(ME);
    mallory
        .apply_all(rig.relay.doc.changes_since(&VersionVector::new()))
        .unwrap();
    let mut tx = mallory.transaction();
    tx.put(ObjId::Root, "forged", 666i64).unwrap();
    let forged = tx.commit().unwrap();
    rig.relay.doc.apply(forged.clone()).unwrap();
    forged
}

/// The relay's anti-entropy timer: it says Hello again.
fn relay_hello(rig: &mut Rig) {
    rig.relay
        .peers
        .get_mut(&doc_id())
        .unwrap()
        .request_anti_entropy();
}

#[test]
fn a_forged_id_is_recovered_under_a_fresh_id_once_the_store_is_replaced() {
    let mut rig = Rig::new();
    rig.slow = true;
    rig.open();
    rig.edit("k", 1);
    rig.land_all();
    rig.device.connected(rig.now);
    rig.exchange();
    rig.device.disconnected(rig.now);
    // Offline, the device writes its second change; meanwhile someone
    // else sent one as ours.
    rig.edit("mine", 2);
    rig.land_all();
    let forged = forge_next_change(&mut rig);
    assert_eq!(forged.id().seq, 2);

    rig.device.connected(rig.now);
    rig.exchange();
    assert!(
        matches!(
            &rig.writing[..],
            [Save {
                what: SaveWhat::Replace { .. },
                ..
            }]
        ),
        "{:?}",
        rig.writing
    );
    let events = rig.take_events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, DeviceEvent::IdForged { .. })),
        "not before the store holds the re-made changes"
    );
    let fresh = rig.device.document(&doc_id()).unwrap().replica();
    assert_ne!(fresh, ME);
    assert_eq!(
        rig.relay.doc.version().get(fresh),
        0,
        "nothing re-made is sent before it is stored"
    );

    rig.land_all();
    let events = rig.take_events();
    assert!(
        events.contains(&DeviceEvent::IdForged {
            doc: doc_id(),
            forged: forged.id(),
            new_replica: fresh,
            remade: 1,
        }),
        "{events:?}"
    );
    // The sync starts over; the relay's next Hello (its anti-entropy
    // timer) brings the re-made change out.
    relay_hello(&mut rig);
    rig.exchange();
    rig.land_all();
    rig.exchange();
    assert_eq!(rig.status(), SyncStatus::Synced);
    assert_eq!(rig.relay.doc.version().get(fresh), 1, "our edit, re-made");
    let mine = rig.device.document(&doc_id()).unwrap();
    assert_eq!(mine.version(), rig.relay.doc.version());
    for key in ["k", "mine", "forged"] {
        assert!(mine.get(ObjId::Root, key).unwrap().is_some(), "{key}");
    }

    // The store holds the new history and the replica to edit as.
    let stored = rig.store.docs[&doc_id()].clone();
    assert_eq!(stored.replica, Some(fresh));
    let mut again = Device::new(ME, SEED);
    again.load(doc_id(), stored, rig.now).unwrap();
    assert_eq!(again.document(&doc_id()).unwrap().replica(), fresh);
    assert_eq!(again.document(&doc_id()).unwrap().version(), mine.version());

    // The same seed draws the same fresh id: a run replays exactly.
    let mut replay = Rig::new();
    replay.device = Device::new(ME, SEED);
    replay
        .device
        .load(doc_id(), StoredDocument::default(), replay.now)
        .unwrap();
    replay.edit("k", 1);
    replay.device.connected(replay.now);
    replay.exchange();
    replay.device.disconnected(replay.now);
    replay.edit("mine", 2);
    forge_next_change(&mut replay);
    replay.device.connected(replay.now);
    replay.exchange();
    assert_eq!(replay.device.document(&doc_id()).unwrap().replica(), fresh);
}

#[test]
fn a_failed_replace_is_offered_again_and_sends_nothing_meanwhile() {
    let mut rig = Rig::new();
    rig.open();
    rig.edit("k", 1);
    rig.device.connected(rig.now);
    rig.exchange();
    rig.device.disconnected(rig.now);
    rig.edit("mine", 2);
    forge_next_change(&mut rig);
    rig.store.failing = true;
    rig.device.connected(rig.now);
    let sent = rig.exchange();
    let fresh = rig.device.document(&doc_id()).unwrap().replica();
    assert!(
        sent_changes(&sent).iter().all(|c| c.replica != fresh),
        "nothing re-made goes out unsaved"
    );
    let events = rig.take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, DeviceEvent::SaveFailed { .. }))
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, DeviceEvent::IdForged { .. }))
    );
    assert_eq!(
        rig.store.docs[&doc_id()].replica,
        None,
        "the store is as it was"
    );

    rig.store.failing = false;
    rig.device.anti_entropy(rig.now);
    rig.exchange();
    assert_eq!(rig.store.docs[&doc_id()].replica, Some(fresh));
    assert!(
        rig.take_events()
            .iter()
            .any(|e| matches!(e, DeviceEvent::IdForged { .. }))
    );
    relay_hello(&mut rig);
    rig.exchange();
    assert_eq!(rig.relay.doc.version().get(fresh), 1);
    assert_eq!(rig.status(), SyncStatus::Synced);
}

#[test]
fn a_report_for_a_forgotten_document_or_an_older_history_changes_nothing() {
    let mut rig = Rig::new();
    rig.slow = true;
    rig.open();
    rig.edit("k", 1);
    let save = rig.writing.pop().unwrap();
    rig.device.forget(&doc_id()).unwrap();
    rig.device.saved(save.id, rig.now);
    assert!(matches!(
        rig.device.unsaved(&doc_id()),
        Err(DeviceError::NotOpen(_))
    ));

    // An append in flight when the history is re-made: its report ends the
    // flight and the replace follows; nothing counts as stored before it.
    let mut rig = Rig::new();
    rig.open();
    rig.edit("k", 1);
    rig.device.connected(rig.now);
    rig.exchange();
    rig.device.disconnected(rig.now);
    rig.slow = true;
    rig.edit("mine", 2);
    let append = rig.writing.pop().unwrap();
    assert!(matches!(append.what, SaveWhat::Append(_)));
    forge_next_change(&mut rig);
    rig.device.connected(rig.now);
    rig.exchange();
    assert!(rig.writing.is_empty(), "the append is still in flight");
    rig.land(&append);
    rig.settle();
    assert!(
        matches!(
            &rig.writing[..],
            [Save {
                what: SaveWhat::Replace { .. },
                ..
            }]
        ),
        "{:?}",
        rig.writing
    );
    let unsaved = rig.device.unsaved(&doc_id()).unwrap();
    assert!(unsaved >= 2, "the whole re-made history waits: {unsaved}");
    rig.land_all();
    assert_eq!(rig.device.unsaved(&doc_id()).unwrap(), 0);
}

/// A change with a valid header whose ops block is garbage (what a relay,
/// which never reads ops, stores and serves).
fn garbage_change(replica: ReplicaId) -> EncodedChange {
    let mut bytes = b"CC\x01".to_vec();
    bytes.extend_from_slice(&replica.to_bytes());
    bytes.extend_from_slice(&[1, 1, 0, 0]);
    bytes.extend_from_slice(&[3, 0xff, 0xff, 0xff]);
    EncodedChange::decode(bytes).unwrap()
}

#[test]
fn an_unreadable_change_is_reported_saved_and_acknowledged() {
    let mut rig = Rig::new();
    rig.open();
    rig.device.connected(rig.now);
    rig.exchange();
    let bad = garbage_change(ReplicaId(0x66));
    rig.relay.doc.apply(bad.clone()).unwrap();
    relay_hello(&mut rig);
    rig.exchange();
    let events = rig.take_events();
    assert!(
        events.iter().any(|e| matches!(
            e,
            DeviceEvent::ChangeUnreadable { change, reason, .. }
                if *change == bad.id() && reason.contains("do not decode")
        )),
        "{events:?}"
    );
    assert_eq!(
        rig.status(),
        SyncStatus::Synced,
        "one bad change stalls no one"
    );
    assert_eq!(rig.store.docs[&doc_id()].changes.len(), 1);
}

#[test]
fn a_change_that_contradicts_one_held_is_rejected_and_reported() {
    let mut rig = Rig::new();
    rig.open();
    let change_with = |v: i64| {
        let mut d = Document::new(ReplicaId(5));
        let mut tx = d.transaction();
        tx.put(ObjId::Root, "k", v).unwrap();
        tx.commit().unwrap()
    };
    let (good, evil) = (change_with(1), change_with(2));
    rig.device.connected(rig.now);
    rig.exchange();
    let sync = |c: EncodedChange| Frame::Sync {
        doc: doc_id(),
        message: Message::Records {
            records: vec![c.into()],
        },
    };
    rig.device.receive(sync(good), rig.now);
    rig.settle();
    let before = rig.device.document(&doc_id()).unwrap().clone();
    rig.take_events();
    rig.device.receive(sync(evil.clone()), rig.now);
    assert_eq!(rig.device.document(&doc_id()).unwrap(), &before);
    assert!(rig.take_events().iter().any(|e| matches!(
        e,
        DeviceEvent::ChangeRejected { change, .. } if *change == evil.id()
    )));
    assert_eq!(
        rig.device.document(&doc_id()).unwrap().replica(),
        ME,
        "another replica's equivocation is no forged id of ours"
    );
}

#[test]
fn a_read_only_token_claims_read_until_the_relay_says_otherwise() {
    let mut device = Device::new(ME, SEED);
    // "notes:r:4102444800" as a relay's v1 token payload.
    let token = "v1.bm90ZXM6cjo0MTAyNDQ0ODAw.c2lnbmF0dXJl";
    device
        .load(
            doc_id(),
            StoredDocument {
                token: token.into(),
                ..StoredDocument::default()
            },
            Duration::ZERO,
        )
        .unwrap();
    assert_eq!(device.access(&doc_id()).unwrap(), Access::Read);
    assert_eq!(device.granted(&doc_id()), None);
    assert_eq!(device.token(&doc_id()).unwrap(), token);
}

/// The relay claims our changes up to a seq whose copy someone else sent
/// (our own copy never reached it): the device asks for the relay's copy
/// (the probe), finds it is not ours, asks for every change of ours the
/// relay holds, and re-makes ours from the first forged one.
#[test]
fn a_forgery_at_the_top_of_what_the_relay_holds_is_found_by_the_probe() {
    let mut rig = Rig::new();
    rig.open();
    rig.edit("k", 1);
    rig.device.connected(rig.now);
    rig.exchange();
    rig.device.disconnected(rig.now);
    rig.edit("mine", 2);
    rig.edit("mine too", 3);
    // Someone sent our seqs 2 and 3 first.
    forge_next_change(&mut rig);
    let forged = forge_next_change(&mut rig);
    assert_eq!(forged.id().seq, 3);
    rig.device.connected(rig.now);
    let sent = rig.exchange();
    // No upload of ours was refused (the relay has 3 of ours already, so
    // there is nothing to send): the probe found it.
    assert!(sent_changes(&sent).iter().all(|c| c.replica != ME));
    let hellos = announced(&sent);
    assert!(
        hellos.iter().any(|v| v.get(ME) == 2),
        "the probe asked for the relay's copy of our seq 3: {hellos:?}"
    );
    assert!(
        hellos.iter().skip(1).any(|v| v.get(ME) == 0),
        "then for every change of ours it holds: {hellos:?}"
    );
    let events = rig.take_events();
    assert!(
        events.iter().any(|e| matches!(
            e,
            DeviceEvent::IdForged { forged, remade: 2, .. } if forged.seq == 2
        )),
        "recovered from the first forged change, not the one probed: {events:?}"
    );
    relay_hello(&mut rig);
    rig.exchange();
    assert_eq!(rig.status(), SyncStatus::Synced);
}

/// A long history arrives as a few run records, applied without a change
/// per keystroke; what waits for saving is a version, and the save is one
/// snapshot.
#[test]
fn typing_from_the_relay_arrives_as_run_records_and_is_saved_as_a_snapshot() {
    let mut rig = Rig::new();
    rig.device = Device::new(ME, SEED).with_max_batch_bytes(256 * 1024);
    let mut writer = Document::new(ReplicaId(2));
    let mut tx = writer.transaction();
    let text = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
    tx.commit();
    for i in 0..20_000 {
        let mut tx = writer.transaction();
        tx.insert_text(text, i, "a").unwrap();
        tx.commit();
    }
    rig.relay
        .doc
        .apply_records(writer.records_since(&VersionVector::new(), usize::MAX));
    rig.open();
    rig.device.connected(rig.now);
    rig.exchange();
    assert_eq!(rig.status(), SyncStatus::Synced);
    assert_eq!(rig.device.document(&doc_id()).unwrap(), &writer);
    let snapshots = rig
        .store
        .writes
        .iter()
        .filter(|w| matches!(w, SaveWhat::Snapshot(_)))
        .count();
    assert_eq!(snapshots, 1, "{} writes", rig.store.writes.len());
    assert_eq!(rig.device.unsaved(&doc_id()).unwrap(), 0);
}

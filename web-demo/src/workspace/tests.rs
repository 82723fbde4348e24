use super::*;
use concord_sync::{Compaction, SaveWhat};
use concord_wire::{Message, SyncPeer};

/// A relay reduced to its protocol: one document, a `SyncPeer` per browser.
struct MiniRelay {
    doc: Document,
    peers: Vec<SyncPeer>,
    /// What each browser's subscription is granted.
    grants: Vec<Access>,
}

impl MiniRelay {
    fn new(browsers: usize) -> Self {
        MiniRelay {
            doc: Document::new(ReplicaId(999)),
            peers: (0..browsers).map(|_| SyncPeer::new()).collect(),
            grants: vec![Access::ReadWrite; browsers],
        }
    }

    /// Takes one frame from browser `i`; returns the frames for it.
    fn handle(&mut self, i: usize, bytes: &[u8]) -> Vec<Vec<u8>> {
        match Frame::decode(bytes).unwrap() {
            Frame::Subscribe { doc, .. } => {
                self.peers[i].reset();
                vec![
                    Frame::Subscribed {
                        doc,
                        access: self.grants[i],
                    }
                    .encode(),
                ]
            }
            Frame::Sync { message, .. } => {
                let records = self.peers[i].receive(message);
                let outcome = self.doc.apply_records(records);
                assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
                self.peers[i].stored(self.doc.version());
                Vec::new()
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }

    fn outgoing(&mut self, i: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(message) = self.peers[i].poll_message(&self.doc) {
            out.push(
                Frame::Sync {
                    doc: doc(),
                    message,
                }
                .encode(),
            );
        }
        out
    }
}

fn doc() -> DocId {
    DocId::new("notes").unwrap()
}

/// Writes every due batch "to IndexedDB" (here: it just succeeds).
fn save_all(w: &mut Workspace) {
    while let Some(save) = w.poll_save() {
        w.saved(save.id);
    }
}

/// Moves frames both ways until nothing moves; saves what arrives.
fn pump(relay: &mut MiniRelay, browsers: &mut [&mut Workspace]) {
    for _ in 0..100 {
        let mut moved = false;
        for (i, w) in browsers.iter_mut().enumerate() {
            save_all(w);
            while let Some(f) = w.poll_frame() {
                moved = true;
                for back in relay.handle(i, &f) {
                    w.receive(&back).unwrap();
                }
            }
        }
        for (i, w) in browsers.iter_mut().enumerate() {
            for f in relay.outgoing(i) {
                moved = true;
                w.receive(&f).unwrap();
            }
            save_all(w);
        }
        if !moved {
            return;
        }
    }
    panic!("the exchange does not settle");
}

fn browser(device: u128) -> Workspace {
    let mut w = Workspace::standing(ReplicaId(device));
    w.connected();
    w
}

#[test]
fn two_browsers_converge_and_end_synced() {
    let mut relay = MiniRelay::new(2);
    let mut a = browser(1);
    let mut b = browser(2);
    a.create_note(doc(), String::new(), "Plan").unwrap();
    b.join(doc(), String::new()).unwrap();
    pump(&mut relay, &mut [&mut a, &mut b]);
    assert_eq!(b.title(&doc()).unwrap(), "Plan");

    a.splice_text(&doc(), "body", 0, 0, "hello").unwrap();
    b.splice_text(&doc(), "body", 0, 0, "world").unwrap();
    pump(&mut relay, &mut [&mut a, &mut b]);
    let text = a.text(&doc(), "body").unwrap();
    assert_eq!(text, b.text(&doc(), "body").unwrap());
    assert!(text == "helloworld" || text == "worldhello", "{text}");
    assert_eq!(a.status(&doc()).unwrap(), SyncStatus::Synced);
    assert_eq!(b.status(&doc()).unwrap(), SyncStatus::Synced);
}

#[test]
fn an_unsaved_edit_is_neither_sent_nor_counted_as_synced() {
    let mut relay = MiniRelay::new(1);
    let mut a = browser(1);
    a.create_note(doc(), String::new(), "t").unwrap();
    pump(&mut relay, &mut [&mut a]);
    a.splice_text(&doc(), "body", 0, 0, "x").unwrap();
    // The save is taken but not confirmed: IndexedDB is still writing.
    let writing = a.poll_save().expect("a save");
    while let Some(f) = a.poll_frame() {
        assert!(
            !matches!(
                Frame::decode(&f).unwrap(),
                Frame::Sync {
                    message: Message::Records { .. },
                    ..
                }
            ),
            "an unsaved change went out"
        );
        relay.handle(0, &f);
    }
    assert_eq!(
        relay.doc.version().get(ReplicaId(1)),
        1,
        "only the creation"
    );
    assert_ne!(a.status(&doc()).unwrap(), SyncStatus::Synced);
    a.saved(writing.id);
    pump(&mut relay, &mut [&mut a]);
    assert_eq!(relay.doc.version().get(ReplicaId(1)), 2);
    assert_eq!(a.status(&doc()).unwrap(), SyncStatus::Synced);
    assert_eq!(a.unsent(&doc()).unwrap(), 0);
    assert_eq!(a.relay_acked(&doc()).unwrap(), 2);

    // Offline, only this device's own new changes count as unsent, also
    // after a reload that remembers what the relay had confirmed.
    a.disconnected();
    a.splice_text(&doc(), "body", 0, 0, "y").unwrap();
    save_all(&mut a);
    assert_eq!(a.unsent(&doc()).unwrap(), 1);
    let file = a.export(&doc()).unwrap();
    let mut reloaded = Workspace::standing(ReplicaId(1));
    reloaded
        .load(doc(), String::new(), Some(&file), Vec::new(), 2, None)
        .unwrap();
    assert_eq!(reloaded.unsent(&doc()).unwrap(), 1);
}

#[test]
fn remote_edits_keep_the_selection_on_its_characters() {
    let mut relay = MiniRelay::new(2);
    let mut a = browser(1);
    let mut b = browser(2);
    a.create_note(doc(), String::new(), "t").unwrap();
    // An emoji is two UTF-16 units: positions must not drift by one.
    a.splice_text(&doc(), "body", 0, 0, "😀 hello world")
        .unwrap();
    b.join(doc(), String::new()).unwrap();
    pump(&mut relay, &mut [&mut a, &mut b]);

    // A selects "hello" (UTF-16 3..8).
    let sel = a.selection(&doc(), TextAt::Root("body"), 3, 8).unwrap();
    b.splice_text(&doc(), "body", 0, 0, ">> ").unwrap();
    b.splice_text(&doc(), "body", 14, 0, "!").unwrap();
    pump(&mut relay, &mut [&mut a, &mut b]);
    let text = a.text(&doc(), "body").unwrap();
    assert_eq!(text, ">> 😀 hello wo!rld");
    assert_eq!(
        a.resolve(&doc(), TextAt::Root("body"), sel).unwrap(),
        (6, 11)
    );
    let units: Vec<u16> = text.encode_utf16().collect();
    assert_eq!(String::from_utf16(&units[6..11]).unwrap(), "hello");
}

#[test]
fn a_field_edit_made_before_a_remote_change_landed_moves_past_it() {
    let mut relay = MiniRelay::new(2);
    let mut a = browser(1);
    let mut b = browser(2);
    a.create_note(doc(), String::new(), "t").unwrap();
    a.splice_text(&doc(), "body", 0, 0, "hello").unwrap();
    b.join(doc(), String::new()).unwrap();
    pump(&mut relay, &mut [&mut a, &mut b]);

    // A's field shows "hello"; B's ">> " lands before A's field reports
    // its "!" (an IME composition, say).
    b.splice_text(&doc(), "body", 0, 0, ">> ").unwrap();
    pump(&mut relay, &mut [&mut a, &mut b]);
    assert!(a.input(&doc(), "body", "hello", "hello!", Some(6)).unwrap());
    pump(&mut relay, &mut [&mut a, &mut b]);
    assert_eq!(a.text(&doc(), "body").unwrap(), ">> hello!");
    assert_eq!(b.text(&doc(), "body").unwrap(), ">> hello!");
    // The caret decides which "l" was typed; nothing typed changes nothing.
    assert!(
        a.input(&doc(), "body", ">> hello!", ">> helllo!", Some(6))
            .unwrap()
    );
    assert!(!a.input(&doc(), "body", "same", "same", None).unwrap());
}

#[test]
fn what_was_saved_loads_again_and_corrupt_bytes_are_refused() {
    // A store: the latest snapshot and the change records after it.
    let mut snapshot: Option<Vec<u8>> = None;
    let mut records: Vec<Vec<u8>> = Vec::new();
    let mut a = Workspace::standing(ReplicaId(1));
    a.create_note(doc(), "tok".into(), "Plan").unwrap();
    for i in 0..(Compaction::DEFAULT_MAX_RECORDS + 20) {
        a.splice_text(&doc(), "body", i, 0, "x").unwrap();
        if i % 7 == 0 {
            while let Some(save) = a.poll_save() {
                match save.what {
                    SaveWhat::Snapshot(bytes) => {
                        snapshot = Some(bytes);
                        records.clear();
                    }
                    SaveWhat::Append(changes) => {
                        records.extend(changes.iter().map(|c| c.bytes().to_vec()));
                    }
                    SaveWhat::Replace { .. } => panic!("nobody forged an id"),
                }
                a.saved(save.id);
            }
        }
    }
    assert!(snapshot.is_some(), "compacted on the way");
    let unsaved = a.unsaved(&doc()).unwrap();
    assert!(unsaved > 0, "the last edits are not saved yet");

    let mut reloaded = Workspace::standing(ReplicaId(1));
    reloaded
        .load(
            doc(),
            "tok".into(),
            snapshot.as_deref(),
            records.clone(),
            0,
            None,
        )
        .unwrap();
    let saved_len = Compaction::DEFAULT_MAX_RECORDS + 20 - unsaved;
    assert_eq!(reloaded.text(&doc(), "body").unwrap().len(), saved_len);
    assert_eq!(reloaded.title(&doc()).unwrap(), "Plan");
    assert_eq!(reloaded.token(&doc()).unwrap(), "tok");
    assert!(matches!(
        reloaded.load(doc(), "tok".into(), None, Vec::new(), 0, None),
        Err(WebError::AlreadyOpen(_))
    ));

    let mut corrupt = snapshot.clone().unwrap();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0xff;
    let mut broken = Workspace::standing(ReplicaId(1));
    assert!(matches!(
        broken.load(
            doc(),
            "tok".into(),
            Some(&corrupt),
            records.clone(),
            0,
            None
        ),
        Err(WebError::Load { .. })
    ));
    let mut bad_record = records.clone();
    bad_record.push(vec![1, 2, 3]);
    assert!(matches!(
        broken.load(
            doc(),
            "tok".into(),
            snapshot.as_deref(),
            bad_record,
            0,
            None
        ),
        Err(WebError::Load { .. })
    ));
    assert_eq!(broken.documents().count(), 0, "nothing half-opened");
}

#[test]
fn bad_input_is_an_error_and_changes_nothing() {
    let mut a = browser(1);
    a.create_note(doc(), String::new(), "t").unwrap();
    a.splice_text(&doc(), "body", 0, 0, "😀").unwrap();
    let version = a.version(&doc()).unwrap();
    assert!(matches!(a.receive(b"not a frame"), Err(WebError::Frame(_))));
    assert!(matches!(
        a.splice_text(&doc(), "body", 5, 0, "x"),
        Err(WebError::Position { .. })
    ));
    assert!(
        a.splice_text(&doc(), "body", 1, 0, "x").is_err(),
        "inside a surrogate pair"
    );
    assert!(matches!(
        a.import_into(&doc(), b"garbage"),
        Err(WebError::Import(_))
    ));
    assert_eq!(a.version(&doc()).unwrap(), version);
    assert!(matches!(
        a.text(&DocId::new("other").unwrap(), "body"),
        Err(WebError::NotOpen(_))
    ));
    assert!(doc_id("no spaces").is_err());
    assert!(device_id("xyz").is_err());
    assert!(device_id(&"0".repeat(32)).is_ok());
    assert!(random16(&[0; 15]).is_err());
}

#[test]
fn export_and_import_carry_a_whole_document() {
    let mut a = browser(1);
    a.create_note(doc(), String::new(), "Plan").unwrap();
    a.splice_text(&doc(), "body", 0, 0, "hello").unwrap();
    a.put(&doc(), "colour", ScalarValue::Str("red".into()))
        .unwrap();
    let file = a.export(&doc()).unwrap();

    let mut b = browser(2);
    let copy = DocId::new("copy").unwrap();
    b.import_new(copy.clone(), String::new(), &file).unwrap();
    assert_eq!(b.text(&copy, "body").unwrap(), "hello");
    assert_eq!(
        b.get(&copy, "colour").unwrap(),
        Some(Value::Scalar(ScalarValue::Str("red".into())))
    );
    assert_eq!(b.unsaved(&copy).unwrap(), 3, "to be saved and synced");

    // Merging into a document that has part of it takes only the rest.
    let mut c = browser(3);
    c.join(doc(), String::new()).unwrap();
    assert_eq!(c.import_into(&doc(), &file).unwrap(), 3);
    assert_eq!(c.import_into(&doc(), &file).unwrap(), 0);
    assert_eq!(c.keys(&doc()).unwrap(), vec!["body", "colour", "title"]);
}

/// Tokens as the relay mints them for "notes" (`v1.<payload>.<signature>`,
/// payload base64url of "notes:r:4102444800" / "notes:rw:4102444800"); the
/// browser reads the payload without the secret.
const READ_TOKEN: &str = "v1.bm90ZXM6cjo0MTAyNDQ0ODAw.c2lnbmF0dXJl";
const READ_WRITE_TOKEN: &str = "v1.bm90ZXM6cnc6NDEwMjQ0NDgwMA.c2lnbmF0dXJl";

fn refused_as_read_only<T: std::fmt::Debug>(result: Result<T, WebError>) {
    match result {
        Err(WebError::ReadOnly(d)) => assert_eq!(d, doc()),
        other => panic!("expected a read-only refusal, got {other:?}"),
    }
}

/// Regression: a document opened from a read-only share link let the page
/// edit it; the relay refused the changes and they stayed "unsent" forever.
#[test]
fn a_read_only_link_refuses_every_edit_and_queues_nothing() {
    let mut relay = MiniRelay::new(2);
    relay.grants[1] = Access::Read;
    let mut writer = browser(1);
    writer
        .create_note(doc(), READ_WRITE_TOKEN.into(), "Plan")
        .unwrap();
    writer.splice_text(&doc(), "body", 0, 0, "hello").unwrap();
    pump(&mut relay, &mut [&mut writer]);
    let file = writer.export(&doc()).unwrap();

    // Offline, before any relay said anything: the token's claim counts.
    let mut reader = Workspace::standing(ReplicaId(2));
    reader
        .load(doc(), READ_TOKEN.into(), Some(&file), Vec::new(), 0, None)
        .unwrap();
    save_all(&mut reader);
    assert_eq!(reader.access(&doc()).unwrap(), Access::Read);
    assert!(reader.read_only(&doc()).unwrap());
    let version = reader.version(&doc()).unwrap();
    let saved = reader.export(&doc()).unwrap();

    refused_as_read_only(reader.splice_text(&doc(), "body", 0, 0, "x"));
    refused_as_read_only(reader.input(&doc(), "body", "hello", "hello!", Some(6)));
    refused_as_read_only(reader.put(&doc(), "k", ScalarValue::Int(1)));
    refused_as_read_only(reader.delete(&doc(), "title"));
    refused_as_read_only(reader.set_title(&doc(), "Mine"));
    refused_as_read_only(reader.rename_calendar(&doc(), "Mine"));
    refused_as_read_only(reader.edit(&doc(), |_| Ok(())));
    refused_as_read_only(reader.import_into(&doc(), &file));

    assert_eq!(reader.text(&doc(), "body").unwrap(), "hello");
    assert_eq!(reader.title(&doc()).unwrap(), "Plan");
    assert_eq!(reader.version(&doc()).unwrap(), version);
    assert_eq!(reader.export(&doc()).unwrap(), saved, "byte-identical");
    assert!(reader.poll_save().is_none(), "nothing to save");
    assert_eq!(reader.unsaved(&doc()).unwrap(), 0);
    assert_eq!(reader.unsent(&doc()).unwrap(), 0);

    // Online with read access: nothing goes out, the writer's edits come in.
    reader.connected();
    writer.splice_text(&doc(), "body", 5, 0, " world").unwrap();
    pump(&mut relay, &mut [&mut writer, &mut reader]);
    assert!(reader.read_only(&doc()).unwrap());
    assert_eq!(reader.text(&doc(), "body").unwrap(), "hello world");
    assert_eq!(relay.doc.version().get(ReplicaId(2)), 0, "nothing sent");
    assert_eq!(reader.unsent(&doc()).unwrap(), 0);
    assert_eq!(reader.status(&doc()).unwrap(), SyncStatus::Synced);
    refused_as_read_only(reader.splice_text(&doc(), "body", 0, 0, "x"));
    assert_eq!(reader.text(&doc(), "body").unwrap(), "hello world");
}

#[test]
fn a_read_write_link_edits_until_the_relay_grants_only_read() {
    let mut relay = MiniRelay::new(1);
    let mut w = browser(1);
    w.create_note(doc(), READ_WRITE_TOKEN.into(), "Plan")
        .unwrap();
    assert_eq!(w.access(&doc()).unwrap(), Access::ReadWrite);
    w.splice_text(&doc(), "body", 0, 0, "mine").unwrap();
    assert_eq!(w.text(&doc(), "body").unwrap(), "mine");
    assert!(w.unsaved(&doc()).unwrap() > 0, "queued to save");
    pump(&mut relay, &mut [&mut w]);
    assert_eq!(relay.doc.version().get(ReplicaId(1)), 2, "sent");

    // A token that claims nothing (a `--dev` relay's) edits too.
    let mut dev = browser(3);
    dev.join(doc(), String::new()).unwrap();
    assert!(!dev.read_only(&doc()).unwrap());

    // The relay has the last word: it granted only read on this connection.
    w.disconnected();
    relay.grants[0] = Access::Read;
    w.connected();
    pump(&mut relay, &mut [&mut w]);
    assert!(w.read_only(&doc()).unwrap());
    refused_as_read_only(w.splice_text(&doc(), "body", 0, 0, "x"));
    assert_eq!(w.text(&doc(), "body").unwrap(), "mine");
}

/// A document this browser holds, empty, as IndexedDB would hand it back.
fn loaded(device: u128) -> Workspace {
    let mut w = Workspace::standing(ReplicaId(device));
    w.load(doc(), String::new(), None, Vec::new(), 0, None)
        .unwrap();
    w
}

fn sends_changes(frames: &[Vec<u8>]) -> bool {
    frames.iter().any(|f| {
        matches!(
            Frame::decode(f).unwrap(),
            Frame::Sync {
                message: Message::Records { .. },
                ..
            }
        )
    })
}

#[test]
fn nothing_is_offered_to_the_relay_before_it_is_saved() {
    let mut relay = MiniRelay::new(1);
    let mut w = loaded(1);
    w.connected();
    pump(&mut relay, &mut [&mut w]);
    w.put(&doc(), "a", ScalarValue::Int(1)).unwrap();
    let Some(Save {
        id,
        what: SaveWhat::Append(batch),
        ..
    }) = w.poll_save()
    else {
        panic!("an append batch")
    };
    assert_eq!(batch.len(), 1);
    assert_eq!(w.poll_save(), None, "one batch in flight at a time");
    w.put(&doc(), "b", ScalarValue::Int(1)).unwrap();
    w.anti_entropy();
    let frames: Vec<Vec<u8>> = std::iter::from_fn(|| w.poll_frame()).collect();
    assert!(!sends_changes(&frames), "nothing unsaved goes out");
    w.saved(id);
    assert_eq!(
        w.unsaved(&doc()).unwrap(),
        1,
        "the edit made while saving still waits"
    );
    let frames: Vec<Vec<u8>> = std::iter::from_fn(|| w.poll_frame()).collect();
    assert!(sends_changes(&frames), "the saved one goes out");
}

#[test]
fn a_failed_save_keeps_everything_queued() {
    let mut w = loaded(1);
    w.put(&doc(), "a", ScalarValue::Int(1)).unwrap();
    let save = w.poll_save().expect("a batch");
    w.save_failed(save.id, "quota exceeded".into());
    assert!(
        std::iter::from_fn(|| w.poll_event()).any(|e| matches!(
            e,
            DeviceEvent::SaveFailed { reason, .. } if reason == "quota exceeded"
        )),
        "the page is told"
    );
    w.put(&doc(), "b", ScalarValue::Int(1)).unwrap();
    let Some(Save {
        id,
        what: SaveWhat::Append(batch),
        ..
    }) = w.poll_save()
    else {
        panic!("an append batch")
    };
    assert_eq!(batch.len(), 2, "the failed change is written again");
    w.saved(id);
    assert_eq!(w.unsaved(&doc()).unwrap(), 0);
    assert_eq!(w.poll_save(), None, "nothing in flight, nothing due");
}

#[test]
fn many_records_are_compacted_into_a_snapshot() {
    let mut d = Document::new(ReplicaId(1));
    for i in 0..Compaction::DEFAULT_MAX_RECORDS {
        let mut tx = d.transaction();
        tx.put(ObjId::Root, "k", i64::try_from(i).unwrap()).unwrap();
        tx.commit();
    }
    let records = d
        .changes_since(&VersionVector::new())
        .iter()
        .map(|c| c.bytes().to_vec())
        .collect();
    let mut w = Workspace::standing(ReplicaId(1));
    w.load(doc(), String::new(), None, records, 0, None)
        .unwrap();
    w.put(&doc(), "a", ScalarValue::Int(1)).unwrap();
    let Some(Save {
        id,
        what: SaveWhat::Snapshot(bytes),
        ..
    }) = w.poll_save()
    else {
        panic!("a snapshot")
    };
    let back = Document::load(&bytes, ReplicaId(1)).unwrap();
    assert_eq!(back.version(), &w.version(&doc()).unwrap());
    w.saved(id);
    w.put(&doc(), "b", ScalarValue::Int(1)).unwrap();
    assert!(matches!(
        w.poll_save(),
        Some(Save {
            what: SaveWhat::Append(_),
            ..
        })
    ));
}

#[test]
fn a_document_made_here_is_first_saved_whole() {
    let mut w = Workspace::standing(ReplicaId(1));
    w.create_note(doc(), String::new(), "Plan").unwrap();
    assert_eq!(w.unsaved(&doc()).unwrap(), 1);
    let save = w.poll_save().expect("a batch");
    assert!(matches!(save.what, SaveWhat::Snapshot(_)));
    w.saved(save.id);
    assert_eq!(w.unsaved(&doc()).unwrap(), 0);
}

#[test]
fn a_document_waiting_on_a_silent_relay_stalls_by_the_page_clock() {
    let clock = std::rc::Rc::new(std::cell::Cell::new(Duration::ZERO));
    let now = std::rc::Rc::clone(&clock);
    let mut w = Workspace::new(ReplicaId(1), 1, Box::new(move || now.get()));
    w.load(doc(), String::new(), None, Vec::new(), 0, None)
        .unwrap();
    w.connected();
    assert!(w.poll_frame().is_some(), "it subscribes; nobody answers");
    let timeout = Duration::from_secs(20);
    clock.set(Duration::from_secs(10));
    assert_eq!(w.stalled(timeout), None);
    clock.set(Duration::from_secs(30));
    assert_eq!(w.stalled(timeout), Some(doc()));
}

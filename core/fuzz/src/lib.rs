//! What the fuzz targets check on arbitrary bytes. The regression test
//! `core/tests/it/fuzz_regressions.rs` includes this file and runs the same
//! checks on every file of `core/tests/fuzz-regressions/`.
//!
//! Bytes from outside are an `Err`, never a panic; a rejected change leaves
//! the document exactly as it was; whatever is accepted re-encodes to the same
//! bytes and still saves and loads.

use std::sync::OnceLock;

use concord_core::{
    ApplyError, ApplyOutcome, DecodeOps, Document, EncodedChange, ObjId, ObjType, Record,
    ReplicaId, Value,
};
use concord_wire::{Message, SyncPeer};

/// A small document with a map, a set and a text edited by two replicas:
/// what fuzzed changes are applied to.
pub fn sample_doc() -> Document {
    static SAMPLE: OnceLock<Document> = OnceLock::new();
    SAMPLE
        .get_or_init(|| {
            let mut a = Document::new(ReplicaId(1));
            let mut tx = a.transaction();
            let text = tx
                .put_object(ObjId::Root, "text", ObjType::Text)
                .expect("root is a map");
            tx.insert_text(text, 0, "héllo wörld").expect("in bounds");
            let tags = tx
                .put_object(ObjId::Root, "tags", ObjType::Set)
                .expect("root is a map");
            tx.add(tags, "draft").expect("a set");
            tx.put(ObjId::Root, "title", "notes")
                .expect("root is a map");
            tx.commit();
            let mut b = a.fork(ReplicaId(2));
            let mut tx = b.transaction();
            tx.splice_text(text, 1, 4, "i 😀").expect("in bounds");
            tx.put(ObjId::Root, "title", 7_i64).expect("root is a map");
            let from_b = tx.commit().expect("edits were made");
            let mut tx = a.transaction();
            tx.insert_text(text, 11, "!").expect("in bounds");
            tx.add(tags, 1.5).expect("a set");
            tx.commit();
            a.apply(from_b).expect("a valid change");
            a
        })
        .clone()
}

/// Changes by a third replica that apply to `sample_doc()`, the first one
/// ready, the rest following it: valid inputs to start fuzzing from.
pub fn sample_changes() -> Vec<EncodedChange> {
    let mut c = sample_doc().fork(ReplicaId(3));
    let (text, tags) = text_and_tags(&c);
    let mut out = Vec::new();
    let mut tx = c.transaction();
    tx.splice_text(text, 0, 2, "日本").expect("in bounds");
    tx.remove(tags, &"draft".into()).expect("a set");
    out.extend(tx.commit());
    let mut tx = c.transaction();
    tx.insert_text(text, 3, "Ω").expect("in bounds");
    tx.delete(ObjId::Root, "title").expect("root is a map");
    tx.put_object(ObjId::Root, "meta", ObjType::Map)
        .expect("root is a map");
    out.extend(tx.commit());
    out
}

fn text_and_tags(doc: &Document) -> (ObjId, ObjId) {
    let obj = |key| match doc.get(ObjId::Root, key) {
        Ok(Some(Value::Object(id, _))) => *id,
        other => panic!("sample document lacks {key}: {other:?}"),
    };
    (obj("text"), obj("tags"))
}

/// `EncodedChange::decode`, `decode_change`, and `apply_bytes` on the sample
/// document.
pub fn check_change(data: &[u8]) {
    if let Ok(encoded) = EncodedChange::decode(data.to_vec()) {
        assert_eq!(encoded.bytes(), data);
        if let Ok(change) = encoded.decode_change() {
            assert_eq!(&change.header, encoded.header());
            assert_eq!(
                change.encode().bytes(),
                data,
                "decode_change accepted bytes that do not re-encode to themselves"
            );
        }
    }
    let mut doc = sample_doc();
    let before = doc.save();
    let result = doc.apply_bytes(data.to_vec());
    check_apply_result(&doc, &before, result.as_ref());
}

/// `Message::decode`; the records of a `Records` message are applied to
/// the sample document (`check_applied_records`).
pub fn check_message(data: &[u8]) {
    let Ok(message) = Message::decode(data) else {
        return;
    };
    assert_eq!(
        message.encode(),
        data,
        "a decoded message re-encodes to other bytes"
    );
    if let Message::Records { records } = message {
        check_applied_records(records);
    }
}

/// `Record::decode` (a change or a run record); the record is applied to
/// the sample document as it is, and cut after each of its segments
/// (`RunRecord::tail`, what a relay sends a peer that has the start).
pub fn check_record(data: &[u8]) {
    let Ok(record) = Record::decode(data.to_vec()) else {
        return;
    };
    assert_eq!(record.bytes(), data);
    assert!(record.first_seq() <= record.last_seq());
    if let Record::Run(run) = &record {
        for i in 1..run.segment_count() {
            let tail = run.tail(i);
            assert_eq!(tail.last_seq(), run.last_seq());
            check_applied_records(vec![Record::Run(tail)]);
        }
    }
    check_applied_records(vec![record]);
}

/// Applies `records` to the sample document: nothing panics; a refused
/// change leaves no trace; what was applied is exactly what the same
/// changes give one by one; the document still saves and loads.
fn check_applied_records(records: Vec<Record>) {
    let base = sample_doc();
    let mut doc = base.clone();
    let outcome = doc.apply_records(records);
    if outcome.applied == 0 {
        assert!(
            doc.save() == base.save(),
            "records that applied nothing changed the document"
        );
    }
    check_same_as_one_by_one(&base, &doc);
}

/// `doc` (made from `base` by records) is what its new changes give applied
/// one by one to `base`, and it saves and loads.
fn check_same_as_one_by_one(base: &Document, doc: &Document) {
    let mut replay = base.clone();
    replay
        .apply_all(doc.changes_since(base.version()))
        .unwrap_or_else(|e| panic!("changes records applied do not apply one by one: {e}"));
    let saved = doc.save();
    assert!(
        replay.save() == saved,
        "records and their changes one by one give different documents"
    );
    let loaded = Document::load(&saved, ReplicaId(9))
        .unwrap_or_else(|e| panic!("after records the document saves bytes that do not load: {e}"));
    assert!(loaded.save() == saved, "save, load, save changed the bytes");
}

/// `Document::load` of the bytes as they are, then with their last four
/// bytes replaced by the right checksum (so mutations get past the CRC).
pub fn check_document(data: &[u8]) {
    check_load(data);
    if let Some(body_len) = data.len().checked_sub(4) {
        let body = &data[..body_len];
        let mut fixed = body.to_vec();
        fixed.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
        check_load(&fixed);
    }
}

fn check_load(data: &[u8]) {
    let Ok(mut doc) = Document::load(data, ReplicaId(9)) else {
        return;
    };
    let saved = doc.save();
    let again = Document::load(&saved, ReplicaId(9))
        .unwrap_or_else(|e| panic!("a loaded document saves to bytes that do not load: {e}"));
    assert_eq!(again.save(), saved, "save, load, save changed the bytes");
    // Reading and editing what was loaded must not panic either.
    let keys: Vec<String> = doc
        .map(ObjId::Root)
        .map(|m| m.keys().map(str::to_owned).collect())
        .unwrap_or_default();
    for key in keys {
        if let Ok(Some(Value::Object(obj, ObjType::Text))) = doc.get(ObjId::Root, &key) {
            let obj = *obj;
            let len = doc.text(obj).map_or(0, |t| t.to_string().chars().count());
            let mut tx = doc.transaction();
            let _ = tx.insert_text(obj, len / 2, "x");
            let _ = tx.delete_text(obj, 0, 1);
            tx.commit();
        }
    }
    let mut tx = doc.transaction();
    let _ = tx.put(ObjId::Root, "fuzz", 1_i64);
    tx.commit();
    for change in sample_changes() {
        let before = doc.save();
        let result = doc.apply(change);
        check_apply_result(&doc, &before, result.as_ref());
    }
}

/// A batch made here: a third replica typing into the sample document, one
/// char per change, plus a deletion (text runs and a single change).
pub fn sample_batch() -> Vec<u8> {
    let base = sample_doc();
    let mut c = base.fork(ReplicaId(3));
    let (text, _) = text_and_tags(&c);
    for (i, ch) in "typed, ünïcode 😀".chars().enumerate() {
        let mut tx = c.transaction();
        tx.insert_text(text, 2 + i, &ch.to_string())
            .expect("in bounds");
        tx.commit();
    }
    let mut tx = c.transaction();
    tx.delete_text(text, 0, 3).expect("in bounds");
    tx.put(ObjId::Root, "title", "typed")
        .expect("root is a map");
    tx.commit();
    c.export_since(base.version())
}

/// `Document::apply_batch` on the sample document: malformed bytes change
/// nothing; whatever it applied is exactly what the same changes give one
/// by one; the document still saves and loads.
pub fn check_batch(data: &[u8]) {
    let base = sample_doc();
    let mut doc = base.clone();
    let before = doc.save();
    if let Err(ApplyError::Decode(_)) = doc.apply_batch(data) {
        assert!(
            doc.save() == before,
            "a malformed batch modified the document"
        );
    }
    check_same_as_one_by_one(&base, &doc);
}

/// A rejected change leaves the document as it was; after an accepted one
/// the document still saves and loads.
fn check_apply_result<E: std::fmt::Display>(
    doc: &Document,
    before: &[u8],
    result: Result<&ApplyOutcome, &E>,
) {
    let saved = doc.save();
    match result {
        Err(_) => assert!(saved == before, "a rejected change modified the document"),
        Ok(outcome) => {
            if outcome.applied.is_empty() {
                assert!(
                    saved == before,
                    "a change that was not applied modified the document"
                );
            }
            let loaded = Document::load(&saved, ReplicaId(9)).unwrap_or_else(|e| {
                panic!("after accepting a change the document saves bytes that do not load: {e}")
            });
            assert!(loaded.save() == saved, "save, load, save changed the bytes");
        }
    }
}

/// The sync state machine driven by arbitrary bytes: a script of actions
/// (receive a message, poll what to send, anti-entropy, reconnect, edit
/// locally). Whatever a peer says, nothing panics, every message we send
/// decodes to itself, and the document still saves and loads.
pub fn check_sync(data: &[u8]) {
    let mut doc = sample_doc();
    let mut peer = SyncPeer::new().with_max_batch_bytes(64);
    let mut rest = data;
    while let Some((&action, tail)) = rest.split_first() {
        rest = tail;
        match action % 5 {
            0 => {
                let Some((&len, tail)) = rest.split_first() else {
                    break;
                };
                let (message, tail) = tail.split_at(usize::from(len).min(tail.len()));
                rest = tail;
                let Ok(message) = Message::decode(message) else {
                    continue;
                };
                let before = doc.clone();
                doc.apply_records(peer.receive(message));
                check_same_as_one_by_one(&before, &doc);
                peer.stored(doc.version());
            }
            1 => {
                for _ in 0..64 {
                    let Some(message) = peer.poll_message(&doc) else {
                        break;
                    };
                    let bytes = message.encode();
                    assert_eq!(
                        Message::decode(&bytes).as_ref(),
                        Ok(&message),
                        "a message we send does not decode to itself"
                    );
                }
            }
            2 => peer.request_anti_entropy(),
            3 => peer.reset(),
            _ => {
                let mut tx = doc.transaction();
                tx.put(ObjId::Root, "fuzz", i64::from(action))
                    .expect("the root is a map");
                tx.commit();
            }
        }
    }
    let _ = peer.unacked(doc.version());
    assert!(
        Document::load(&doc.save(), ReplicaId(7)).is_ok(),
        "a document that synced does not load"
    );
}

//! Every file of `core/tests/fuzz-regressions/` (inputs the fuzzer found and
//! hand-made adversarial ones) goes through the checks of the fuzz targets:
//! no panic, a rejected change leaves the document unchanged.

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use std::path::PathBuf;

use std::fmt::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

use concord_core::{
    ApplyError, Change, ChangeHeader, ChangeId, ChildId, DecodeError, Document, EncodedChange,
    ObjId, ObjType, Op, OpId, Record, ReplicaId, TextInsert, Value,
};
use concord_wire::Message;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz-regressions");

/// The input files (everything but the README), sorted by name.
fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(DIR)
        .unwrap_or_else(|e| panic!("{DIR}: {e}"))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, bytes)
        })
        .filter(|(name, _)| name != "README.md")
        .collect();
    files.sort();
    files
}

fn input(name: &str) -> Vec<u8> {
    let path = PathBuf::from(DIR).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_input_goes_through_every_decoder_without_panicking() {
    let files = inputs();
    assert!(files.len() >= 8, "only {} inputs in {DIR}", files.len());
    let panicked: Vec<String> = files
        .iter()
        .filter(|(_, bytes)| {
            catch_unwind(|| {
                checks::check_change(bytes);
                checks::check_message(bytes);
                checks::check_document(bytes);
                checks::check_sync(bytes);
                checks::check_batch(bytes);
                checks::check_record(bytes);
            })
            .is_err()
        })
        .map(|(name, bytes)| {
            let hex = bytes.iter().fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
            format!("{name} (hex {hex})")
        })
        .collect();
    assert!(
        panicked.is_empty(),
        "{} of {} inputs failed a check (messages above):\n{}",
        panicked.len(),
        files.len(),
        panicked.join("\n")
    );
}

#[test]
fn the_sample_batch_applies_and_every_truncation_is_refused() {
    let batch = checks::sample_batch();
    checks::check_batch(&batch);
    let mut doc = checks::sample_doc();
    let outcome = doc.apply_batch(&batch).expect("a valid batch");
    assert_eq!(outcome.applied, 17, "16 typed chars and the deletion");
    for len in 0..batch.len() {
        checks::check_batch(&batch[..len]);
    }
}

/// Found by the `batch` target (`batch-bad-ops-late-3f45a1c8.bin`, a batch
/// of version 1, which is refused now): a batch whose second single change
/// has a valid header but ops that do not decode was refused only when that
/// change came to be applied, after the first record had been. Now such a
/// change is applied as an empty change (issue 13: one unreadable change
/// must stall no one), in the batch as alone, and the batch is whole.
/// `batch-v2-bad-ops-late.bin` is the same case in today's batch: the
/// sample batch with the ops of its last single change spoiled.
#[test]
fn a_batch_with_a_late_change_that_does_not_decode_applies_it_as_an_empty_change() {
    assert_eq!(
        checks::sample_doc()
            .apply_batch(&input("batch-bad-ops-late-3f45a1c8.bin"))
            .unwrap_err(),
        ApplyError::Decode(DecodeError::UnsupportedVersion(1))
    );
    let bytes = bad_ops_late_batch();
    pin_fixture("batch-v2-bad-ops-late.bin", &bytes);
    let base = checks::sample_doc();
    let mut doc = base.clone();
    let outcome = doc
        .apply_batch(&bytes)
        .expect("the batch's structure is valid");
    assert_eq!(outcome.applied, 17);
    let undecodable = outcome
        .unreadable
        .iter()
        .filter(|id| doc.unreadable()[id].contains("do not decode"))
        .count();
    assert_eq!(undecodable, 1, "{:?}", doc.unreadable());
    let mut one_by_one = base.clone();
    one_by_one
        .apply_all(doc.changes_since(base.version()))
        .unwrap();
    assert!(one_by_one == doc);
}

/// The sample batch with the ops of its last single change spoiled (their
/// first byte, the op count, made an unknown op).
fn bad_ops_late_batch() -> Vec<u8> {
    let batch = checks::sample_batch();
    let mut records = Vec::new();
    let mut doc = checks::sample_doc();
    doc.apply_batch(&batch).unwrap();
    let base = checks::sample_doc();
    for record in doc.records_since(base.version(), usize::MAX) {
        records.push(record.bytes().to_vec());
    }
    let last = records
        .iter_mut()
        .rev()
        .find(|r| r.starts_with(b"CC"))
        .expect("a single change");
    // The ops block is last (`n op...`): make its op count 1 and its first
    // op's tag 0xff, keeping its length.
    let change = EncodedChange::decode(last.clone()).unwrap();
    let (_, ops) = change.parts().unwrap();
    let start = last.len() - ops.len();
    last[start] = 1;
    last[start + 1] = 0xff;
    let mut out = b"CCBAT\x02".to_vec();
    out.push(u8::try_from(records.len()).unwrap());
    for r in records {
        let mut len = Vec::new();
        let mut n = r.len();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                len.push(byte);
                break;
            }
            len.push(byte | 0x80);
        }
        out.extend_from_slice(&len);
        out.extend_from_slice(&r);
    }
    out
}

/// Writes `bytes` as fixture `name` when `CONCORD_WRITE_FIXTURES` is set,
/// and checks that the fixture holds exactly them: a format change is never
/// silent.
fn pin_fixture(name: &str, bytes: &[u8]) {
    let path = PathBuf::from(DIR).join(name);
    if std::env::var_os("CONCORD_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, bytes).unwrap();
    }
    assert!(
        input(name) == bytes,
        "{name}: the encoding changed (CONCORD_WRITE_FIXTURES=1 rewrites it)"
    );
}

/// The seeds of the message, record and batch targets in today's formats,
/// pinned: a Hello, a Records message holding a single change and a run
/// record (a third replica typing), that run record alone, the batch.
#[test]
fn the_valid_seeds_are_today_s_encodings() {
    let base = checks::sample_doc();
    let mut doc = base.clone();
    doc.apply_batch(&checks::sample_batch()).unwrap();
    let records = doc.records_since(base.version(), usize::MAX);
    let run = records
        .iter()
        .find(|r| matches!(r, Record::Run(_)))
        .expect("the typing is a run record");
    pin_fixture("valid-record-run.bin", run.bytes());
    pin_fixture(
        "valid-message-records.bin",
        &Message::Records {
            records: records.clone(),
        }
        .encode(),
    );
    pin_fixture(
        "valid-message-hello.bin",
        &Message::Hello {
            version: doc.version().clone(),
        }
        .encode(),
    );
    pin_fixture("valid-batch.bin", &checks::sample_batch());
    for name in [
        "valid-record-run.bin",
        "valid-message-records.bin",
        "valid-batch.bin",
    ] {
        let bytes = input(name);
        checks::check_record(&bytes);
        checks::check_message(&bytes);
        checks::check_batch(&bytes);
    }
}

#[test]
fn sample_changes_apply_to_the_sample_document() {
    let mut doc = checks::sample_doc();
    for change in checks::sample_changes() {
        let id = change.id();
        let outcome = doc.apply(change).expect("a valid change");
        assert_eq!(outcome.applied, [id]);
    }
}

#[test]
fn a_truncated_change_is_rejected_at_every_length() {
    let bytes = input("valid-change.bin");
    EncodedChange::decode(bytes.clone()).expect("the untruncated change decodes");
    for len in 0..bytes.len() {
        let result = EncodedChange::decode(bytes[..len].to_vec());
        assert!(result.is_err(), "accepted the first {len} bytes");
        let mut doc = checks::sample_doc();
        let before = doc.save();
        assert!(doc.apply_bytes(bytes[..len].to_vec()).is_err());
        assert!(doc.save() == before);
    }
    assert!(matches!(
        EncodedChange::decode(input("change-truncated.bin")),
        Err(DecodeError::Truncated | DecodeError::LengthTooLarge(_))
    ));
}

#[test]
fn a_change_with_bad_magic_or_version_is_rejected() {
    assert_eq!(
        EncodedChange::decode(input("change-bad-magic.bin")),
        Err(DecodeError::BadMagic("change"))
    );
    assert_eq!(
        EncodedChange::decode(input("change-version-2.bin")),
        Err(DecodeError::UnsupportedVersion(2))
    );
    assert_eq!(
        Message::decode(&input("message-version-0.bin")),
        Err(DecodeError::UnsupportedVersion(0))
    );
    assert_eq!(
        Document::load(&input("document-bad-magic.bin"), ReplicaId(1)).unwrap_err(),
        DecodeError::BadMagic("document")
    );
}

#[test]
fn huge_declared_lengths_are_rejected_before_allocating() {
    for name in [
        "change-huge-replica-count.bin",
        "change-huge-ops-length.bin",
        "message-v2-huge-record-count.bin",
    ] {
        let bytes = input(name);
        let change = EncodedChange::decode(bytes.clone());
        let message = Message::decode(&bytes);
        let rejected = |r: &Result<_, DecodeError>| matches!(r, Err(DecodeError::LengthTooLarge(n)) if *n > 1 << 30);
        assert!(
            rejected(&change.map(|_| ())) || rejected(&message.map(|_| ())),
            "{name} was not rejected for its length"
        );
    }
}

#[test]
fn a_document_with_a_bad_checksum_is_rejected() {
    assert_eq!(
        Document::load(&input("document-bad-crc.bin"), ReplicaId(1)).unwrap_err(),
        DecodeError::Checksum
    );
}

// ---- found by the fuzzer ----

/// A change by replica 3 holding `ops`, made on top of the sample document.
fn change_on_sample(doc: &Document, ops: Vec<Op>) -> EncodedChange {
    let me = ReplicaId(3);
    let deps: Vec<ChangeId> = doc
        .heads()
        .into_iter()
        .filter(|h| h.replica != me)
        .collect();
    let lamport = doc
        .heads()
        .iter()
        .map(|h| {
            doc.change(*h)
                .expect("a head is in the history")
                .header()
                .lamport
        })
        .max()
        .expect("the sample document has changes")
        + 1;
    Change {
        header: ChangeHeader {
            id: ChangeId::new(me, doc.version().get(me) + 1),
            deps,
            lamport,
        },
        ops,
    }
    .encode()
}

/// The change does not fit: no panic, and it is applied as an empty change
/// (`Document::unreadable`) that leaves the text as it was.
fn assert_applied_as_empty(doc: &mut Document, text: ObjId, change: EncodedChange) {
    let before = doc.text(text).unwrap().to_string();
    let id = change.id();
    let outcome = catch_unwind(AssertUnwindSafe(|| doc.apply(change)))
        .expect("Document::apply panicked on an invalid change")
        .expect("a change whose header fits is applied");
    assert_eq!(outcome.unreadable, [id]);
    assert_eq!(doc.text(text).unwrap().to_string(), before);
}

/// `change-bad-right-parent-*` (target `change`) and
/// `message-right-parent-is-origin-*` (target `message`): an insert whose
/// `right_parent` is a known character, but not one that shares the insert's
/// `origin_left` (or is the origin itself), passes `Document::validate_ops`;
/// `Text::apply_insert` then refuses it (`TextError::BadRightParent`) and
/// `Document::apply_ready` panics on its `expect("a validated operation
/// applies")`. It should never panic; since issue 13 such a change is
/// applied as an empty change, the text as it was.
#[test]
fn an_insert_with_a_right_parent_that_does_not_fit_is_an_empty_change_not_a_panic() {
    let mut doc = checks::sample_doc();
    let text = ObjId::Child(ChildId::of(ObjId::Root, "text", ObjType::Text));
    assert!(matches!(
        doc.get(ObjId::Root, "text"),
        Ok(Some(Value::Object(id, _))) if *id == text
    ));
    // R2@2 is the first char replica 2 typed, after R1@2 ("h"): its
    // origin_left is R1@2, not the document start.
    let r2_2 = OpId::new(ReplicaId(2), 2);
    for (origin_left, right_parent) in [(None, r2_2), (Some(r2_2), r2_2)] {
        let insert = Op::TextInsert {
            obj: text,
            insert: TextInsert {
                origin_left,
                right_parent: Some(right_parent),
                content: "x".to_owned(),
            },
        };
        let change = change_on_sample(&doc, vec![insert]);
        assert_applied_as_empty(&mut doc, text, change);
    }
}

/// `document-lamport-order-*` (target `document`): `Document::load` accepts a
/// history whose change R1#1 has Lamport 5 while R1#2, which follows it, has
/// 2. `apply_ready` refuses such a change, `load` does not check it, and
/// `save` writes the history sorted by Lamport, so R1#2 comes before R1#1:
/// the saved bytes no longer load ("history is not causally complete"). A
/// document that loads must save bytes that load.
///
/// The input is in the format version 2 it was found in; `document-v3-
/// lamport-order.bin` is the same history (R1#1 Lamport 5, R1#2 Lamport 2)
/// in version 3, which must be rejected outright.
#[test]
fn a_document_that_loads_saves_bytes_that_load() {
    for name in [
        "document-lamport-order-47bc1033.bin",
        "document-v3-lamport-order.bin",
    ] {
        let bytes = input(name);
        if let Ok(doc) = Document::load(&bytes, ReplicaId(1)) {
            let saved = doc.save();
            let reloaded = Document::load(&saved, ReplicaId(1));
            assert!(
                reloaded.is_ok(),
                "{name}: the document loaded, but its save does not: {reloaded:?}"
            );
        }
    }
    assert_eq!(
        Document::load(&input("document-v3-lamport-order.bin"), ReplicaId(1)).unwrap_err(),
        DecodeError::Invalid("history has a lamport out of causal order")
    );
}

/// A document of format 5 with all it added: a container at a key
/// (`ObjId::Child`), an object made the old way (`NewValue::LegacyObject`)
/// and a change applied as empty (`Document::unreadable`, record tag 2).
/// `valid-document-v5.bin` holds its bytes, so the format cannot change
/// silently, and it seeds the `document` fuzz target with the new paths.
fn version_5_sample() -> Document {
    let mut doc = Document::new(ReplicaId(1));
    let mut tx = doc.transaction();
    tx.splice_key_text(ObjId::Root, "body", 0, 0, "child text")
        .unwrap();
    tx.commit().unwrap();
    let legacy = Change {
        header: ChangeHeader {
            id: ChangeId::new(ReplicaId(2), 1),
            deps: vec![ChangeId::new(ReplicaId(1), 1)],
            lamport: 2,
        },
        ops: vec![Op::MapSet {
            obj: ObjId::Root,
            key: "old".into(),
            value: concord_core::NewValue::LegacyObject(ObjType::Text),
            pred: vec![],
        }],
    };
    doc.apply(legacy.encode()).unwrap();
    let mut garbage = b"CC\x01".to_vec();
    garbage.extend_from_slice(&ReplicaId(3).to_bytes());
    garbage.extend_from_slice(&[1, 1, 0, 0, 2, 0xff, 0xff]);
    doc.apply_bytes(garbage).unwrap();
    doc
}

#[test]
fn a_version_5_document_with_a_child_a_legacy_object_and_an_unreadable_change_is_pinned() {
    let saved = version_5_sample().save();
    let path = PathBuf::from(DIR).join("valid-document-v5.bin");
    if std::env::var_os("CONCORD_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, &saved).unwrap();
    }
    assert!(
        saved == input("valid-document-v5.bin"),
        "the saved format changed"
    );
    let doc = Document::load(&saved, ReplicaId(9)).unwrap();
    assert_eq!(doc.key_text(ObjId::Root, "body").to_string(), "child text");
    assert_eq!(doc.unreadable().len(), 1);
    assert!(
        doc.key_text(ObjId::Root, "old")
            .objects()
            .all(|o| matches!(o, ObjId::Op(_)))
    );
}

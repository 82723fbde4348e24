//! Encodings: golden bytes, round trips, and untrusted input that must be
//! rejected cleanly (no panic, no huge allocation, no partial change).

use concord_core::{
    ApplyError, Change, ChangeHeader, ChangeId, ChildId, DecodeError, DecodeOps, Document,
    EncodedChange, IdSpan, ObjId, ObjType, OpId, ReplicaId, TextInsert, Value, VersionVector,
};
use concord_wire::Message;

const ALICE: ReplicaId = ReplicaId(0x000a_11ce);
const BOB: ReplicaId = ReplicaId(0x0b0b);

/// A document with one of everything, edited by two replicas.
fn sample() -> (Document, ObjId) {
    let mut doc = Document::new(ALICE);
    let mut tx = doc.transaction();
    tx.put(ObjId::Root, "title", "Notes").unwrap();
    tx.put(ObjId::Root, "pi", 3.25).unwrap();
    tx.put(ObjId::Root, "n", -7i64).unwrap();
    tx.put(ObjId::Root, "blob", vec![0u8, 1, 2]).unwrap();
    tx.put(ObjId::Root, "done", true).unwrap();
    let text = tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
    tx.insert_text(text, 0, "héllo 日本 😀").unwrap();
    let tags = tx.put_object(ObjId::Root, "tags", ObjType::Set).unwrap();
    tx.add(tags, "a").unwrap();
    tx.add(tags, 5i64).unwrap();
    let meta = tx.put_object(ObjId::Root, "meta", ObjType::Map).unwrap();
    tx.put(meta, "k", "v").unwrap();
    tx.commit();
    let mut bob = doc.fork(BOB);
    let mut tx = bob.transaction();
    tx.splice_text(text, 1, 3, "ey").unwrap();
    tx.remove(tags, &"a".into()).unwrap();
    tx.put(ObjId::Root, "title", "Bob's notes").unwrap();
    tx.commit();
    let mut tx = doc.transaction();
    tx.put(ObjId::Root, "title", "Alice's notes").unwrap();
    tx.commit();
    doc.merge(&bob).unwrap();
    (doc, text)
}

#[test]
fn golden_change_encoding() {
    // If this fails, the change format changed: bump its version and keep
    // decoding the old one, or every stored document breaks.
    let change = Change {
        header: ChangeHeader {
            id: ChangeId::new(BOB, 2),
            deps: vec![ChangeId::new(ALICE, 7)],
            lamport: 9,
        },
        ops: vec![
            concord_core::Op::TextInsert {
                obj: ObjId::Op(OpId::new(ALICE, 3)),
                insert: TextInsert {
                    origin_left: Some(OpId::new(ALICE, 4)),
                    right_parent: None,
                    content: "hé".into(),
                },
            },
            concord_core::Op::TextDelete {
                obj: ObjId::Op(OpId::new(ALICE, 3)),
                spans: vec![IdSpan {
                    start: OpId::new(ALICE, 5),
                    len: 2,
                }],
            },
        ],
    };
    let encoded = change.encode();
    let hex = encoded.bytes().iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write;
        write!(hex, "{b:02x}").unwrap();
        hex
    });
    assert_eq!(hex, GOLDEN_CHANGE_HEX);
    assert_eq!(encoded.decode_change().unwrap(), change);
}

#[test]
fn a_change_with_an_unused_replica_in_its_table_is_not_canonical() {
    // Same change as the golden one, with a second, unused table entry: the
    // only way the same change could have two byte strings.
    let golden: Vec<u8> = (0..GOLDEN_CHANGE_HEX.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&GOLDEN_CHANGE_HEX[i..i + 2], 16).unwrap())
        .collect();
    // magic(2) version(1) replica(16) seq(1) lamport(1) = 21 bytes, then the
    // table count (1) and one 16-byte entry.
    assert_eq!(golden[21], 1);
    let mut padded = golden[..21].to_vec();
    padded.push(2);
    padded.extend_from_slice(&golden[22..38]);
    padded.extend_from_slice(&[0xff; 16]);
    padded.extend_from_slice(&golden[38..]);
    let header_only = EncodedChange::decode(padded).expect("the header is well formed");
    assert_eq!(
        header_only.decode_change(),
        Err(DecodeError::Invalid(
            "replica table lists an unused replica"
        ))
    );
    assert!(
        EncodedChange::decode(golden)
            .unwrap()
            .decode_change()
            .is_ok()
    );
}

const GOLDEN_CHANGE_HEX: &str = "43430100000000000000000000000000000b0b020901000000000000000000000000000a11ce01010712020502030204000368c3a906020301010502";

#[test]
fn save_and_load_round_trip_with_every_kind_of_value() {
    let (doc, text) = sample();
    let bytes = doc.save();
    let loaded = Document::load(&bytes, ReplicaId(99)).unwrap();
    assert_eq!(loaded, doc);
    assert_eq!(loaded.save(), bytes, "saving is deterministic");
    assert_eq!(loaded.text(text).unwrap().to_string(), "heyo 日本 😀");
    assert_eq!(loaded.get_all(ObjId::Root, "title").unwrap().len(), 2);

    // The loaded document keeps working, as a new replica.
    let mut loaded = loaded;
    let mut tx = loaded.transaction();
    tx.insert_text(text, 0, "¡").unwrap();
    let change = tx.commit().unwrap();
    let mut doc = doc;
    doc.apply(change).unwrap();
    assert_eq!(doc.text(text).unwrap().to_string(), "¡heyo 日本 😀");
}

#[test]
fn every_truncation_of_a_change_or_document_is_an_error() {
    let (doc, _) = sample();
    let saved = doc.save();
    for cut in 0..saved.len() {
        assert!(
            Document::load(&saved[..cut], ALICE).is_err(),
            "cut at {cut}"
        );
    }
    for change in doc.changes_since(&VersionVector::new()) {
        let bytes = change.bytes();
        for cut in 0..bytes.len() {
            assert!(
                EncodedChange::decode(bytes[..cut].to_vec()).is_err(),
                "cut at {cut}"
            );
        }
    }
}

#[test]
fn corrupt_bytes_never_panic_and_corrupt_documents_fail_the_checksum() {
    let (doc, _) = sample();
    let saved = doc.save();
    for i in 0..saved.len() {
        let mut bad = saved.clone();
        bad[i] ^= 0x40;
        assert!(Document::load(&bad, ALICE).is_err(), "flip at {i}");
    }
    // Flipped change bytes either fail to decode or decode to something that
    // a document rejects or accepts; never a panic, and a rejected change
    // leaves the document byte-identical.
    let changes = doc.changes_since(&VersionVector::new());
    let base = Document::new(BOB);
    for change in &changes {
        for i in 0..change.bytes().len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = change.bytes().to_vec();
                bad[i] ^= flip;
                let mut target = base.clone();
                let before = target.save();
                if let Ok(decoded) = EncodedChange::decode(bad)
                    && target.apply(decoded).is_err()
                {
                    assert_eq!(target.save(), before);
                }
            }
        }
    }
}

#[test]
fn huge_declared_lengths_are_rejected() {
    // Magic, version, replica, seq 1, lamport 1, then "2^40 other replicas".
    let mut bytes = b"CC\x01".to_vec();
    bytes.extend_from_slice(&[7u8; 16]);
    bytes.extend_from_slice(&[1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
    assert!(matches!(
        EncodedChange::decode(bytes),
        Err(DecodeError::LengthTooLarge(_))
    ));
    let mut msg = b"CS\x02\x02".to_vec();
    msg.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(
        Message::decode(&msg),
        Err(DecodeError::LengthTooLarge(_))
    ));
    // A run record declaring 2^40 dependencies, and 2^40 segments.
    let mut run = b"CR\x01".to_vec();
    run.extend_from_slice(&[7u8; 16]);
    run.extend_from_slice(&[1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
    assert!(matches!(
        concord_core::Record::decode(run.clone()),
        Err(DecodeError::LengthTooLarge(_))
    ));
    run.truncate(21);
    run.extend_from_slice(&[0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
    assert!(matches!(
        concord_core::Record::decode(run),
        Err(DecodeError::LengthTooLarge(_))
    ));
    assert!(matches!(
        Document::load(b"garbage", ALICE),
        Err(DecodeError::BadMagic(_) | DecodeError::Truncated)
    ));
}

#[test]
fn a_change_with_a_bad_operation_becomes_an_empty_change_on_every_replica() {
    // Op 1 is valid, op 2 deletes a character that does not exist: nothing of
    // the change may stick (loro #1068: a failed import left a half-change).
    let (mut doc, text) = sample();
    let before = doc.save();
    let change = Change {
        header: ChangeHeader {
            id: ChangeId::new(ReplicaId(5), 1),
            deps: doc.heads(),
            lamport: 1000,
        },
        ops: vec![
            concord_core::Op::TextInsert {
                obj: text,
                insert: TextInsert {
                    origin_left: None,
                    right_parent: None,
                    content: "ok".into(),
                },
            },
            concord_core::Op::TextDelete {
                obj: text,
                spans: vec![IdSpan {
                    start: OpId::new(ReplicaId(77), 1),
                    len: 1,
                }],
            },
        ],
    };
    // Its ops do not fit (it deletes a char no one made): it is applied as
    // an empty change, the same on every replica, and remembered as such.
    let mut other = Document::load(&before, ReplicaId(6)).unwrap();
    let text_before = doc.text(text).unwrap().to_string();
    let outcome = doc.apply(change.encode()).unwrap();
    assert_eq!(outcome.applied, [ChangeId::new(ReplicaId(5), 1)]);
    assert_eq!(outcome.unreadable, outcome.applied, "nothing of it applied");
    assert_eq!(doc.text(text).unwrap().to_string(), text_before);
    assert!(doc.version().contains(ChangeId::new(ReplicaId(5), 1)));
    let why = &doc.unreadable()[&ChangeId::new(ReplicaId(5), 1)];
    assert!(why.contains("unknown character id"), "{why}");
    assert!(doc.pending().is_empty());
    other.apply(change.encode()).unwrap();
    assert_eq!(other.save(), doc.save(), "every replica does the same");
    let loaded = Document::load(&doc.save(), ReplicaId(7)).unwrap();
    assert_eq!(loaded.unreadable(), doc.unreadable(), "saved and loaded");
    assert_eq!(loaded.save(), doc.save());
}

#[test]
fn a_change_whose_lamport_does_not_exceed_its_dependencies_is_rejected() {
    let (mut doc, _) = sample();
    let before = doc.save();
    let change = Change {
        header: ChangeHeader {
            id: ChangeId::new(ReplicaId(5), 1),
            deps: doc.heads(),
            lamport: 1,
        },
        ops: vec![concord_core::Op::MapDelete {
            obj: ObjId::Root,
            key: "x".into(),
            pred: vec![],
        }],
    };
    assert!(doc.apply(change.encode()).is_err());
    assert_eq!(doc.save(), before);
}

#[test]
fn regression_a_peer_cannot_push_the_lamport_clock_to_overflow() {
    // A change with lamport u64::MAX used to be accepted; the next local
    // edit then computed u64::MAX + 1.
    let (mut doc, _) = sample();
    let before = doc.save();
    let heads = doc.heads();
    let change = |lamport| Change {
        header: ChangeHeader {
            id: ChangeId::new(ReplicaId(5), 1),
            deps: heads.clone(),
            lamport,
        },
        ops: vec![concord_core::Op::MapDelete {
            obj: ObjId::Root,
            key: "x".into(),
            pred: vec![],
        }],
    };
    let err = doc.apply(change(u64::MAX).encode()).unwrap_err();
    assert!(matches!(err, ApplyError::Invalid { .. }), "{err}");
    assert_eq!(doc.save(), before);
    doc.apply(change(concord_core::MAX_LAMPORT).encode())
        .unwrap();
    let mut tx = doc.transaction();
    tx.put(ObjId::Root, "still", "works").unwrap();
    tx.commit().unwrap();
}

#[test]
fn importing_garbage_or_a_corrupt_document_leaves_the_document_unchanged() {
    let (mut doc, _) = sample();
    let before = doc.save();
    assert!(doc.import(b"not a document at all").is_err());
    let mut corrupt = before.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 1;
    assert!(doc.import(&corrupt).is_err());
    assert_eq!(doc.save(), before);

    // A valid import merges.
    let mut other = Document::new(ReplicaId(42));
    let mut tx = other.transaction();
    tx.put(ObjId::Root, "from", "elsewhere").unwrap();
    tx.commit();
    doc.import(&other.save()).unwrap();
    assert!(doc.get(ObjId::Root, "from").unwrap().is_some());
}

#[test]
fn messages_round_trip() {
    let (doc, _) = sample();
    let msgs = [
        Message::Hello {
            version: doc.version().clone(),
        },
        Message::Records {
            records: doc
                .changes_since(&VersionVector::new())
                .into_iter()
                .map(Into::into)
                .collect(),
        },
        Message::Records {
            records: doc.records_since(&VersionVector::new(), usize::MAX),
        },
        Message::Ack {
            version: VersionVector::new(),
        },
    ];
    for msg in msgs {
        let bytes = msg.encode();
        assert_eq!(Message::decode(&bytes).unwrap(), msg);
        for cut in 0..bytes.len() {
            assert!(Message::decode(&bytes[..cut]).is_err());
        }
    }
}

/// Version 3 ended a text run at every change whose dependencies differed
/// from the run's, so the change typed right after a merge sat in a run of
/// its own. `document-v3-typing-after-merges.bin` was saved by the version 3
/// code (two replicas typing and merging four times); it loads into today's
/// runs with every change byte for byte as version 3 made it (the checksum
/// of their bytes was taken from the version 3 code), and saves as today's
/// version (5: version 4 plus containers at keys).
#[test]
fn a_version_3_document_loads_with_its_changes_and_saves_as_today_s_version() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fuzz-regressions/document-v3-typing-after-merges.bin"
    );
    let v3 = std::fs::read(path).unwrap();
    assert_eq!(v3[5], 3, "the fixture is a version 3 document");
    let doc = Document::load(&v3, ReplicaId(0xC)).unwrap();
    let Some(Value::Object(body, ObjType::Text)) = doc.get(ObjId::Root, "body").unwrap() else {
        panic!("no body text");
    };
    assert_eq!(
        doc.text(*body).unwrap().to_string(),
        "aapa hlbt ae apa hlbt aeeta alpha beta "
    );
    let changes = doc.changes_since(&VersionVector::new());
    assert_eq!(changes.len(), 53);
    let bytes: Vec<u8> = changes.iter().flat_map(|c| c.bytes().to_vec()).collect();
    assert_eq!((crc32fast::hash(&bytes), bytes.len()), (0x9064_be31, 2196));

    let v4 = doc.save();
    assert_eq!(v4[5], 5, "{:x?}", &v4[..8]);
    assert!(v4.len() < v3.len(), "runs no longer end at merges");
    let reloaded = Document::load(&v4, ReplicaId(0xC)).unwrap();
    assert!(reloaded == doc);
    let mut fresh = Document::new(ReplicaId(0xD));
    fresh.apply_all(changes).unwrap();
    assert_eq!(
        fresh.save(),
        v4,
        "the same changes one by one give the same bytes"
    );
}

/// Format 5: a change that sets a key to its container (value tag 24 + t)
/// and edits the container (`obj` as `1 0` + 16 bytes). Pinned like the
/// change above: the derivation and the encoding are both contracts.
#[test]
fn golden_container_at_a_key_encoding() {
    let body = ObjId::Child(ChildId::of(ObjId::Root, "body", ObjType::Text));
    let change = Change {
        header: ChangeHeader {
            id: ChangeId::new(BOB, 1),
            deps: vec![],
            lamport: 1,
        },
        ops: vec![
            concord_core::Op::MapSet {
                obj: ObjId::Root,
                key: "body".into(),
                value: concord_core::NewValue::Object(ObjType::Text),
                pred: vec![],
            },
            concord_core::Op::TextInsert {
                obj: body,
                insert: TextInsert {
                    origin_left: None,
                    right_parent: None,
                    content: "hi".into(),
                },
            },
        ],
    };
    let encoded = change.encode();
    let hex = encoded.bytes().iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write;
        write!(hex, "{b:02x}").unwrap();
        hex
    });
    assert_eq!(
        hex,
        concat!(
            "434301",
            "00000000000000000000000000000b0b",
            "0101",
            "00",
            "00",
            "22",
            "02",
            "01",
            "00",
            "04626f6479",
            "1a",
            "00",
            "05",
            "0100",
            "67b84d3559a515287683b2f466f6a12d",
            "00",
            "00",
            "026869",
        )
    );
    assert_eq!(encoded.decode_change().unwrap(), change);
    let mut doc = Document::new(ALICE);
    doc.apply(encoded).unwrap();
    assert_eq!(doc.key_text(ObjId::Root, "body").to_string(), "hi");
}

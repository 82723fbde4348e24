//! Records: typing as run records, admitted on their headers, partly known,
//! overlapping what is stored where the relay cannot compare, counted
//! against the rate by their weight; and a client of protocol 1.

use concord_core::ObjType;
use concord_wire::RunRecord;

use super::*;

/// `n` keystrokes by `replica` after the change that makes the text: the
/// records a device sends if it uploads after `sent_every` keystrokes each
/// time (a run record per upload), and the document.
fn typing(replica: u128, n: usize, sent_every: usize) -> (Document, Vec<Record>) {
    let mut d = Document::new(ReplicaId(replica));
    let mut tx = d.transaction();
    let text = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
    tx.commit();
    let mut out = d.records_since(&VersionVector::new(), usize::MAX);
    let mut sent = d.version().clone();
    for i in 0..n {
        let mut tx = d.transaction();
        tx.insert_text(text, i, "k").unwrap();
        tx.commit();
        if (i + 1) % sent_every == 0 || i + 1 == n {
            out.extend(d.records_since(&sent, usize::MAX));
            sent = d.version().clone();
        }
    }
    (d, out)
}

fn records_sent(effects: &[Effect]) -> Vec<Record> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(Frame::Sync {
                message: Message::Records { records },
                ..
            }) => Some(records.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn run_records_are_stored_as_sent_and_served_joined() {
    let mut relay = Relay::new(limits());
    let (mut a, mut b) = (relay.connect(1), relay.connect(2));
    relay.subscribed(&mut a, "d");
    let (typed, records) = typing(1, 100, 10);
    assert_eq!(records.len(), 11, "the text's creation, ten uploads");
    relay.input(&mut a, changes("d", &records));
    assert_eq!(relay.submitted(), std::slice::from_ref(&records));
    let effects = relay.commit_for(&mut a);
    assert_eq!(effects, [ack("d", typed.version().clone())]);
    // A fresh subscriber gets them as two records: the ten runs joined.
    relay.subscribed(&mut b, "d");
    let effects = relay.input(
        &mut b,
        sync(
            "d",
            Message::Hello {
                version: VersionVector::new(),
            },
        ),
    );
    let served = records_sent(&effects);
    assert_eq!(served.len(), 2);
    let mut fresh = Document::new(ReplicaId(9));
    assert!(fresh.apply_records(served).refused.is_empty());
    assert!(fresh.save() == typed.save());
}

#[test]
fn a_record_partly_stored_is_stored_from_its_first_new_segment() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let (_, records) = typing(1, 30, 10);
    relay.input(&mut a, changes("d", &records[..3]));
    relay.commit_for(&mut a);
    // The same uploads, joined as a relay would have (the device resends
    // after a lost Ack): the stored segments compare equal.
    let Record::Run(second) = &records[1] else {
        panic!("a run record")
    };
    let mut joined = second.clone();
    for r in &records[2..] {
        let Record::Run(next) = r else { panic!() };
        joined = joined.join(next);
    }
    let effects = relay.input(&mut a, changes("d", &[Record::Run(joined)]));
    assert!(errors(&effects).is_empty(), "{effects:?}");
    let stored = relay.submitted();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0][0].first_seq(), stored[0][0].last_seq()),
        (22, 31),
        "the third upload only"
    );
}

#[test]
fn a_record_overlapping_what_is_stored_otherwise_cut_gets_the_stored_copy_back() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    relay.input(
        &mut a,
        sync(
            "d",
            Message::Hello {
                version: VersionVector::new(),
            },
        ),
    );
    let (typed, uploads) = typing(1, 30, 10);
    relay.input(&mut a, changes("d", &uploads[..3]));
    relay.commit_for(&mut a);
    // The device, told the relay has less than it has (a Hello that
    // crossed its uploads), sends its typing again cut otherwise: one
    // record from seq 2 to 31.
    let again = typed.records_since(&[(ReplicaId(1), 1)].into_iter().collect(), usize::MAX);
    assert_eq!(again.len(), 1);
    let effects = relay.input(&mut a, changes("d", &again));
    assert!(
        errors(&effects).is_empty(),
        "not an equivocation: {effects:?}"
    );
    assert!(relay.submitted().is_empty(), "nothing stored");
    assert!(
        !effects.iter().any(|e| matches!(
            e,
            Effect::Send(Frame::Sync {
                message: Message::Ack { .. },
                ..
            })
        )),
        "no Ack for what could not be compared"
    );
    // The relay sends what it holds from seq 2 on (the client compares it),
    // and its Hello.
    let back = records_sent(&effects);
    assert_eq!(back.first().map(Record::first_seq), Some(2));
    assert_eq!(back.last().map(Record::last_seq), Some(21));
    assert_eq!(hellos(&effects), [doc("d")]);
    let mut check = typed.clone();
    let outcome = check.apply_records(back);
    assert_eq!((outcome.duplicates, outcome.refused.len()), (20, 0));
}

#[test]
fn a_stored_segment_with_other_bytes_is_an_equivocation() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let (_, mine) = typing(1, 10, 10);
    relay.input(&mut a, changes("d", &mine));
    relay.commit_for(&mut a);
    let (_, forged) = typing(1, 10, 10);
    let Record::Run(run) = &forged[1] else {
        panic!()
    };
    let seg = run.segment(0);
    let mut body = seg.body.to_vec();
    let last = body.len() - 1;
    body[last] = b'z';
    let evil = RunRecord::new(ReplicaId(1), 2, seg.first_lamport, &[], &[(10, &body)]).unwrap();
    let effects = relay.input(&mut a, changes("d", &[Record::Run(evil)]));
    assert_eq!(errors(&effects), [ErrorCode::Equivocation]);
    assert!(relay.submitted().is_empty());
}

#[test]
fn the_rate_counts_a_record_by_its_weight_not_its_keystrokes() {
    let mut relay = Relay::new(Limits {
        max_changes_per_sec: 10.0,
        changes_burst: 20.0,
        ..limits()
    });
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    // 2,000 keystrokes in one record: a few KiB, a few units.
    let (_, records) = typing(1, 2000, 2000);
    let weight: usize = records.iter().map(|r| 1 + r.bytes().len() / 1024).sum();
    assert!(weight < 20, "{weight}");
    let effects = relay.input(&mut a, changes("d", &records));
    assert!(errors(&effects).is_empty(), "{effects:?}");
    assert_eq!(relay.submitted(), [records]);
    relay.commit_for(&mut a);
    // What is over the rate is dropped whole, record by record.
    let (_, more) = typing(2, 30, 1);
    let effects = relay.input(&mut a, changes("d", &more));
    assert_eq!(errors(&effects), [ErrorCode::RateLimited]);
    let kept = relay.submitted();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].len() < more.len() && !kept[0].is_empty());
    assert_eq!(kept[0][..], more[..kept[0].len()]);
}

#[test]
fn a_client_of_protocol_1_is_told_so_in_its_own_framing_and_closed() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    let effects = relay.input(&mut a, Input::Unusable(Unusable::Version(1)));
    let [
        Effect::Reject("unsupported_version"),
        Effect::CloseForeign {
            version: 1,
            frame,
            code,
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}");
    };
    assert_eq!(*code, close::UNSUPPORTED_VERSION);
    let Frame::Error {
        doc: None,
        code: ErrorCode::UnsupportedVersion,
        detail,
    } = frame
    else {
        panic!("{frame:?}");
    };
    assert!(detail.contains("version 2"), "{detail}");
    let bytes = frame.encode_as(1);
    assert_eq!(&bytes[..4], b"CF\x01\x05", "an Error frame of version 1");
    assert!(a.session.is_closed());
    // A version from the future is answered in ours.
    let mut b = relay.connect(2);
    let effects = relay.input(&mut b, Input::Unusable(Unusable::Version(9)));
    assert!(matches!(
        effects.last(),
        Some(Effect::CloseForeign { version: 2, .. })
    ));
}

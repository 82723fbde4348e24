//! Records (`records_since` / `apply_records`): typing as run records cut,
//! joined, partly known, sent as it is typed, forged or spoiled — each ends
//! where its changes delivered one by one end, and the receiver keeps its
//! history as the sender does (runs stay maximal, so both save the same
//! bytes).

use concord_core::{
    ApplyError, ChangeId, Document, ObjId, ObjType, Record, ReplicaId, RunRecord, VersionVector,
};
use concord_wire::MAX_RECORD_BYTES;

const ALICE: ReplicaId = ReplicaId(0xA11CE);
const BOB: ReplicaId = ReplicaId(0xB0B);

/// Alice's document: a text "body", then `n` chars typed one per change.
fn typing(n: usize) -> (Document, ObjId) {
    let mut doc = Document::new(ALICE);
    let mut tx = doc.transaction();
    let body = tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
    tx.commit().unwrap();
    type_chars(&mut doc, body, n);
    (doc, body)
}

/// Types `n` chars, one per change: mostly after the previous one, now and
/// then elsewhere or a backspace, so runs hold every kind of op.
fn type_chars(doc: &mut Document, body: ObjId, n: usize) {
    for i in 0..n {
        let mut tx = doc.transaction();
        let len = tx.doc().text(body).unwrap().len_chars();
        match i % 17 {
            5 if len > 0 => tx.delete_text(body, len - 1, 1).unwrap(),
            11 => tx.insert_text(body, len / 2, "é").unwrap(),
            _ => tx.insert_text(body, len, "x").unwrap(),
        }
        tx.commit().unwrap();
    }
}

fn all(doc: &Document) -> Vec<Record> {
    doc.records_since(&VersionVector::new(), usize::MAX)
}

/// `doc` after `records`, and after the same changes one by one: equal, and
/// saving the same bytes as `expected`.
fn assert_same_as_one_by_one(start: &Document, records: Vec<Record>, expected: &Document) {
    let mut doc = start.clone();
    let outcome = doc.apply_records(records);
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    let mut one_by_one = start.clone();
    one_by_one
        .apply_all(expected.changes_since(start.version()))
        .unwrap();
    assert!(doc == one_by_one, "records and changes one by one differ");
    assert!(
        doc.save() == expected.save(),
        "the history is kept otherwise"
    );
}

#[test]
fn a_long_run_is_cut_into_bounded_records_and_joins_again_on_arrival() {
    let (alice, _) = typing(60_000);
    let records = all(&alice);
    assert!(records.len() > 2, "cut: {} records", records.len());
    for r in &records {
        assert!(
            r.bytes().len() <= MAX_RECORD_BYTES + 256,
            "{}",
            r.bytes().len()
        );
    }
    let seqs: Vec<(u64, u64)> = records
        .iter()
        .map(|r| (r.first_seq(), r.last_seq()))
        .collect();
    for pair in seqs.windows(2) {
        assert_eq!(pair[0].1 + 1, pair[1].0, "cut at change boundaries");
    }
    assert_same_as_one_by_one(&Document::new(BOB), records, &alice);
}

#[test]
fn records_joined_or_cut_between_segments_mean_the_same_changes() {
    let (alice, _) = typing(300);
    // Typing sent as it is typed: a record per keystroke.
    let mut keystrokes = Vec::new();
    let mut since = VersionVector::new();
    for seq in 1..=alice.version().get(ALICE) {
        let mut until = VersionVector::new();
        until.observe(ALICE, seq);
        let r = alice.records_between(&since, &until, usize::MAX);
        assert_eq!(r.len(), 1);
        keystrokes.extend(r);
        since = until;
    }
    assert_same_as_one_by_one(&Document::new(BOB), keystrokes.clone(), &alice);
    // Joined as a relay joins them: one record of many segments.
    let runs: Vec<RunRecord> = keystrokes
        .iter()
        .filter_map(|r| match r {
            Record::Run(run) => Some(run.clone()),
            Record::Change(_) => None,
        })
        .collect();
    let joined = runs[1..]
        .iter()
        .fold(runs[0].clone(), |acc, next| acc.join(next));
    assert_eq!(joined.segment_count(), 300);
    let first = keystrokes[0].clone();
    assert!(matches!(first, Record::Change(_)), "the text's creation");
    let records = vec![first.clone(), Record::Run(joined.clone())];
    assert_same_as_one_by_one(&Document::new(BOB), records, &alice);
    // Cut after segment 120, with the receiver holding the first 120.
    let mut half = Document::new(BOB);
    half.apply_records(vec![first, Record::Run(joined.clone())]);
    let mut start = Document::new(BOB);
    let mut until = VersionVector::new();
    until.observe(ALICE, 121);
    start.apply_records(alice.records_between(&VersionVector::new(), &until, usize::MAX));
    assert_same_as_one_by_one(&start, vec![Record::Run(joined.tail(120))], &alice);
    assert!(half == alice);
}

#[test]
fn a_record_partly_known_applies_its_rest_and_its_known_part_is_compared() {
    let (alice, _) = typing(200);
    let mut bob = Document::new(BOB);
    let mut until = VersionVector::new();
    until.observe(ALICE, 77);
    bob.apply_records(alice.records_between(&VersionVector::new(), &until, usize::MAX));
    let outcome = bob.apply_records(all(&alice));
    assert!(outcome.refused.is_empty());
    assert_eq!(outcome.duplicates, 77);
    assert!(bob.save() == alice.save());
}

#[test]
fn typing_into_someone_elses_text_cuts_with_its_own_table_of_replicas() {
    // Bob types between Alice's chars, so his run names Alice's ids; cut
    // anywhere, each piece lists the replicas it names itself.
    let (alice, body) = typing(50);
    let mut bob = alice.fork(BOB);
    for i in 0..3000 {
        let mut tx = bob.transaction();
        let len = tx.doc().text(body).unwrap().len_chars();
        tx.insert_text(body, (i * 7) % len, "b").unwrap();
        tx.commit().unwrap();
    }
    let mut carol = alice.fork(ReplicaId(0xC));
    for cut in [1u64, 2, 64, 65, 1000, 2999] {
        let mut since = alice.version().clone();
        since.observe(BOB, cut);
        let mut start = alice.fork(ReplicaId(0xC));
        let mut until = alice.version().clone();
        until.observe(BOB, cut);
        start.apply_records(bob.records_between(alice.version(), &until, usize::MAX));
        assert_same_as_one_by_one(&start, bob.records_since(&since, usize::MAX), &bob);
    }
    carol.apply_records(bob.records_since(alice.version(), 1));
    assert!(
        carol.version().get(BOB) > 0,
        "a bounded batch has one record at least"
    );
}

#[test]
fn a_forged_change_inside_a_known_segment_is_an_equivocation() {
    let (alice, body) = typing(20);
    // Someone else's Alice: the same up to seq 10, then other typing.
    let mut forged = alice.clone();
    let mut until = VersionVector::new();
    until.observe(ALICE, 10);
    let mut fake = Document::new(ALICE);
    fake.apply_records(alice.records_between(&VersionVector::new(), &until, usize::MAX));
    let mut tx = fake.transaction();
    tx.insert_text(body, 0, "F").unwrap();
    tx.commit().unwrap();
    type_chars(&mut fake, body, 9);
    let before = forged.save();
    let outcome = forged.apply_records(all(&fake));
    assert_eq!(outcome.duplicates, 10);
    assert!(
        matches!(outcome.refused.as_slice(), [(id, ApplyError::Equivocation(_))] if id.seq == 11),
        "{:?}",
        outcome.refused
    );
    assert!(forged.save() == before, "nothing of the forgery applied");
}

#[test]
fn a_segment_that_does_not_decode_is_empty_unreadable_changes_on_every_replica() {
    let (alice, _) = typing(5);
    let runs: Vec<RunRecord> = all(&alice)
        .into_iter()
        .filter_map(|r| match r {
            Record::Run(run) => Some(run),
            Record::Change(_) => None,
        })
        .collect();
    let run = &runs[0];
    let spoiled = RunRecord::new(
        ALICE,
        run.first_seq(),
        run.first_lamport(),
        run.deps(),
        &[(run.count(), b"\x01garbage")],
    )
    .unwrap();
    let mut base = Document::new(BOB);
    base.apply_records(alice.records_between(
        &VersionVector::new(),
        &[(ALICE, 1)].into_iter().collect(),
        usize::MAX,
    ));
    // In order, and with the record arriving before the change it follows
    // (held, then released): the same document either way.
    let mut in_order = base.clone();
    let outcome = in_order.apply_records(vec![Record::Run(spoiled.clone())]);
    assert_eq!(outcome.unreadable.len(), 5);
    let mut early = Document::new(BOB);
    let outcome = early.apply_records(vec![Record::Run(spoiled.clone())]);
    assert_eq!(outcome.pending, 5);
    early.apply_records(alice.records_between(
        &VersionVector::new(),
        &[(ALICE, 1)].into_iter().collect(),
        usize::MAX,
    ));
    assert!(early == in_order);
    assert!(early.save() == in_order.save());
    assert_eq!(in_order.unreadable().len(), 5);
    assert_eq!(in_order.version().get(ALICE), 6);
    // What follows still applies, as empty changes do not take op counters
    // (so its own ops name characters that do not exist: unreadable too).
    let mut tail_seq = VersionVector::new();
    tail_seq.observe(ALICE, 6);
    let (more, body) = typing(8);
    let _ = body;
    in_order.apply_records(more.records_since(&tail_seq, usize::MAX));
    assert_eq!(in_order.version().get(ALICE), 9);
}

#[test]
fn records_between_stops_at_what_until_holds() {
    let (alice, _) = typing(100);
    let until: VersionVector = [(ALICE, 40)].into_iter().collect();
    let records = alice.records_between(&VersionVector::new(), &until, usize::MAX);
    assert_eq!(records.last().map(Record::last_seq), Some(40));
    let since: VersionVector = [(ALICE, 40)].into_iter().collect();
    assert!(alice.records_between(&since, &until, usize::MAX).is_empty());
    assert_eq!(
        alice.records_since(&since, usize::MAX)[0].first_seq(),
        41,
        "the rest starts where the receiver is"
    );
    assert_eq!(
        alice
            .change(ChangeId::new(ALICE, 41))
            .unwrap()
            .header()
            .lamport,
        alice.records_since(&since, usize::MAX)[0].first_lamport()
    );
}

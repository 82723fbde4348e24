//! Pure decisions about one incoming record, given what the relay already
//! holds for its document. No locks, no IO: the hub asks, this answers.
//!
//! A record (one change, or a run record: `concord_wire::record`) is read
//! by its header alone. The relay compares what it cannot decode only where
//! it can tell two encodings apart: a single change against the single
//! change it holds at that seq, a segment against a segment it holds with
//! the same first seq and count. Equal bytes there are the same changes
//! (their encoding is canonical), different bytes an equivocation. Where
//! the boundaries differ (an honest device may cut its typing otherwise on
//! a resend, and a relay upgraded from protocol 1 holds typing as single
//! changes) the relay cannot judge: it stores nothing from there on and
//! sends the client its own copy of those changes (the client compares
//! them, and finds any forgery), then asks for the rest again.

use concord_wire::{ChangeId, MAX_LAMPORT, Record, ReplicaId, VersionVector};

/// What the relay holds at one seq: the single change or the segment of a
/// run record that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held<'a> {
    Change {
        bytes: &'a [u8],
    },
    Segment {
        first_seq: u64,
        count: u64,
        first_lamport: u64,
        deps: &'a [ChangeId],
        body: &'a [u8],
    },
}

/// What the relay holds, as `classify` asks about it.
pub trait Holdings {
    /// Everything admitted (committed or in flight).
    fn admitted(&self) -> &VersionVector;
    /// What holds `(replica, seq)`, if it is admitted.
    fn held(&self, replica: ReplicaId, seq: u64) -> Option<Held<'_>>;
    /// The Lamport counter of an admitted change.
    fn lamport(&self, id: ChangeId) -> Option<u64>;
}

/// What to do with an incoming record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Store this: the record, or its segments from the first the relay
    /// lacks on (everything before them is held exactly so). Everything it
    /// depends on is held.
    New(Record),
    /// Every change of it is held exactly so: nothing to do (an idempotent
    /// re-send).
    Duplicate,
    /// It starts after what the relay holds of its replica, or a dependency
    /// is missing: hold it until they arrive.
    NotReady,
    /// A change or segment held with other bytes: refuse (Error
    /// Equivocation).
    Equivocation,
    /// It overlaps changes the relay holds where it cannot compare (other
    /// boundaries, another encoding): nothing of it from `from_seq` on is
    /// stored; the client is sent the relay's copy from there, and asked
    /// for the rest again.
    Unconfirmed { from_seq: u64 },
    /// It can never be stored (Error InvalidChange).
    Invalid(&'static str),
}

/// Largest seq or Lamport counter the store keeps (SQLite integers are i64).
pub const MAX_STORED_COUNTER: u64 = i64::MAX as u64;

/// Classifies `record` against what `held` holds of its document.
pub fn classify(record: &Record, held: &impl Holdings) -> Verdict {
    let replica = record.replica();
    if record.first_seq() == 0 || record.last_seq() > MAX_STORED_COUNTER {
        return Verdict::Invalid("seq out of range");
    }
    if record.first_lamport() == 0 || record.last_lamport() > MAX_LAMPORT {
        return Verdict::Invalid("lamport out of range");
    }
    if record.deps().iter().any(|d| d.replica == replica) {
        return Verdict::Invalid("a dependency on its own replica");
    }
    if record.deps().iter().any(|d| d.seq == 0) {
        return Verdict::Invalid("a dependency with seq 0");
    }
    let known = held.admitted().get(replica);
    if record.first_seq() > known {
        return first_new(record, held, known);
    }
    match record {
        Record::Change(change) => match held.held(replica, change.id().seq) {
            Some(Held::Change { bytes }) if bytes == change.bytes() => Verdict::Duplicate,
            Some(Held::Change { .. }) => Verdict::Equivocation,
            Some(Held::Segment { .. }) => Verdict::Unconfirmed {
                from_seq: change.id().seq,
            },
            // The version says held, the lookup disagrees: a broken
            // invariant in the caller. Refuse rather than store twice.
            None => Verdict::Invalid("inconsistent relay state"),
        },
        Record::Run(run) => {
            for (i, seg) in run.segments().enumerate() {
                if seg.first_seq > known {
                    return first_new(&Record::Run(run.tail(i)), held, known);
                }
                if seg.last_seq() > known {
                    return Verdict::Unconfirmed {
                        from_seq: seg.first_seq,
                    };
                }
                match held.held(replica, seg.first_seq) {
                    Some(Held::Segment {
                        first_seq,
                        count,
                        first_lamport,
                        deps,
                        body,
                    }) if first_seq == seg.first_seq && count == seg.count => {
                        if first_lamport != seg.first_lamport
                            || deps != seg.deps
                            || body != seg.body
                        {
                            return Verdict::Equivocation;
                        }
                    }
                    Some(_) => {
                        return Verdict::Unconfirmed {
                            from_seq: seg.first_seq,
                        };
                    }
                    None => return Verdict::Invalid("inconsistent relay state"),
                }
            }
            Verdict::Duplicate
        }
    }
}

/// A record that starts after the `known` changes of its replica the relay
/// holds: new if it follows them and its dependencies are held.
fn first_new(record: &Record, held: &impl Holdings, known: u64) -> Verdict {
    let header = record.first_header();
    if !header.is_ready(held.admitted()) {
        return Verdict::NotReady;
    }
    debug_assert_eq!(record.first_seq(), known + 1);
    for dep in header.all_deps() {
        match held.lamport(dep) {
            Some(lamport) if lamport < header.lamport => {}
            Some(_) => return Verdict::Invalid("lamport not above its dependencies"),
            None => return Verdict::Invalid("inconsistent relay state"),
        }
    }
    Verdict::New(record.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::{Document, ObjId, ObjType};
    use concord_wire::{ChangeHeader, EncodedChange, RunRecord};
    use std::collections::BTreeMap;

    /// What a relay holds: records by replica, as `DocState` keeps them.
    #[derive(Default)]
    struct Log {
        records: BTreeMap<ReplicaId, Vec<Record>>,
        version: VersionVector,
    }

    impl Log {
        fn add(&mut self, r: &Record) {
            self.records.entry(r.replica()).or_default().push(r.clone());
            self.version.observe(r.replica(), r.last_seq());
        }

        fn find(&self, replica: ReplicaId, seq: u64) -> Option<&Record> {
            self.records
                .get(&replica)?
                .iter()
                .find(|r| r.first_seq() <= seq && seq <= r.last_seq())
        }
    }

    impl Holdings for Log {
        fn admitted(&self) -> &VersionVector {
            &self.version
        }

        fn held(&self, replica: ReplicaId, seq: u64) -> Option<Held<'_>> {
            Some(match self.find(replica, seq)? {
                Record::Change(c) => Held::Change { bytes: c.bytes() },
                Record::Run(run) => {
                    let s = run.segment(run.segment_of(seq)?);
                    Held::Segment {
                        first_seq: s.first_seq,
                        count: s.count,
                        first_lamport: s.first_lamport,
                        deps: s.deps,
                        body: s.body,
                    }
                }
            })
        }

        fn lamport(&self, id: ChangeId) -> Option<u64> {
            let r = self.find(id.replica, id.seq)?;
            Some(r.first_lamport() + (id.seq - r.first_seq()))
        }
    }

    fn change(r: u128, seq: u64, lamport: u64, deps: &[(u128, u64)], ops: u8) -> Record {
        let header = ChangeHeader {
            id: ChangeId::new(ReplicaId(r), seq),
            deps: deps
                .iter()
                .map(|&(r, s)| ChangeId::new(ReplicaId(r), s))
                .collect(),
            lamport,
        };
        let table = concord_wire::encoded::ChangeTable::new(
            ReplicaId(r),
            header.deps.iter().map(|d| d.replica).collect(),
        );
        let bytes = concord_wire::encoded::write_change(&header, &table, |w| w.u8(ops));
        Record::Change(EncodedChange::decode(bytes).unwrap())
    }

    fn run(r: u128, seq: u64, lamport: u64, deps: &[(u128, u64)], segs: &[(u64, &[u8])]) -> Record {
        let deps: Vec<ChangeId> = deps
            .iter()
            .map(|&(r, s)| ChangeId::new(ReplicaId(r), s))
            .collect();
        Record::Run(RunRecord::new(ReplicaId(r), seq, lamport, &deps, segs).unwrap())
    }

    #[test]
    fn a_single_change_is_new_duplicate_or_an_equivocation() {
        let mut log = Log::default();
        let a1 = change(1, 1, 1, &[], 0);
        assert_eq!(classify(&a1, &log), Verdict::New(a1.clone()));
        log.add(&a1);
        assert_eq!(classify(&a1, &log), Verdict::Duplicate);
        assert_eq!(
            classify(&change(1, 1, 1, &[], 1), &log),
            Verdict::Equivocation
        );
    }

    #[test]
    fn missing_dependencies_wait() {
        let mut log = Log::default();
        assert_eq!(classify(&change(1, 2, 2, &[], 0), &log), Verdict::NotReady);
        let b = run(2, 1, 2, &[(1, 1)], &[(3, b"x")]);
        assert_eq!(classify(&b, &log), Verdict::NotReady);
        log.add(&change(1, 1, 1, &[], 0));
        assert_eq!(classify(&b, &log), Verdict::New(b.clone()));
    }

    #[test]
    fn impossible_records_are_invalid() {
        let mut log = Log::default();
        log.add(&change(1, 1, 5, &[], 0));
        let invalid = |r: Record, log: &Log| matches!(classify(&r, log), Verdict::Invalid(_));
        assert!(
            invalid(change(2, 1, 5, &[(1, 1)], 0), &log),
            "lamport not above a dep"
        );
        assert!(
            invalid(change(1, 2, 3, &[], 0), &log),
            "nor its predecessor"
        );
        assert!(
            invalid(run(1, 2, 5, &[], &[(2, b"a")]), &log),
            "a run's either"
        );
        assert!(invalid(change(3, u64::MAX, 9, &[], 0), &log));
        assert!(invalid(change(3, 1, MAX_LAMPORT + 1, &[], 0), &log));
        assert!(
            invalid(run(3, 1, MAX_LAMPORT, &[], &[(2, b"a")]), &log),
            "its last change's Lamport counter out of range"
        );
    }

    #[test]
    fn a_run_record_partly_held_is_stored_from_the_first_segment_the_relay_lacks() {
        let mut log = Log::default();
        let first = run(1, 1, 1, &[], &[(2, b"ab"), (3, b"cde")]);
        log.add(&first);
        assert_eq!(classify(&first, &log), Verdict::Duplicate);
        // A resend with one more segment: the known segments compare equal,
        // the new one is stored alone.
        let more = run(1, 1, 1, &[], &[(2, b"ab"), (3, b"cde"), (1, b"f")]);
        let Verdict::New(Record::Run(tail)) = classify(&more, &log) else {
            panic!("the new segment is new");
        };
        assert_eq!(
            (tail.first_seq(), tail.count(), tail.first_lamport()),
            (6, 1, 6)
        );
        assert!(tail.deps().is_empty());
        // From the second segment on, also equal where held.
        let from_second = run(1, 3, 3, &[], &[(3, b"cde"), (1, b"f")]);
        assert!(matches!(classify(&from_second, &log), Verdict::New(_)));
    }

    #[test]
    fn held_segments_with_other_bytes_are_equivocations_other_boundaries_unconfirmed() {
        let mut log = Log::default();
        log.add(&run(1, 1, 1, &[], &[(2, b"ab"), (3, b"cde")]));
        assert_eq!(
            classify(&run(1, 3, 3, &[], &[(3, b"cdX")]), &log),
            Verdict::Equivocation
        );
        assert_eq!(
            classify(&run(1, 3, 4, &[], &[(3, b"cde")]), &log),
            Verdict::Equivocation,
            "another Lamport counter is another change"
        );
        assert_eq!(
            classify(&run(1, 1, 1, &[(2, 1)], &[(2, b"ab")]), &log),
            Verdict::Equivocation,
            "and so are other dependencies"
        );
        // Cut elsewhere: the relay cannot compare, and stores nothing.
        assert_eq!(
            classify(&run(1, 1, 1, &[], &[(5, b"abcde")]), &log),
            Verdict::Unconfirmed { from_seq: 1 }
        );
        assert_eq!(
            classify(&run(1, 3, 3, &[], &[(4, b"cdef")]), &log),
            Verdict::Unconfirmed { from_seq: 3 },
            "a segment across the end of what is held"
        );
        assert_eq!(
            classify(&change(1, 4, 4, &[], 0), &log),
            Verdict::Unconfirmed { from_seq: 4 },
            "a single change where a segment is held"
        );
        // Typing a relay of protocol 1 holds as single changes.
        let mut v1 = Log::default();
        v1.add(&change(1, 1, 1, &[], 0));
        assert_eq!(
            classify(&run(1, 1, 1, &[], &[(1, b"a")]), &v1),
            Verdict::Unconfirmed { from_seq: 1 }
        );
    }

    /// Real records from the engine: a device's typing, cut two ways.
    #[test]
    fn typing_sent_twice_cut_the_same_way_is_a_duplicate() {
        let mut d = Document::new(ReplicaId(3));
        let mut tx = d.transaction();
        let text = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
        tx.commit();
        for i in 0..50 {
            let mut tx = d.transaction();
            tx.insert_text(text, i, "x").unwrap();
            tx.commit();
        }
        let mut log = Log::default();
        let all = d.records_since(&VersionVector::new(), usize::MAX);
        for r in &all {
            assert!(matches!(classify(r, &log), Verdict::New(_)));
            log.add(r);
        }
        for r in &d.records_since(&VersionVector::new(), usize::MAX) {
            assert_eq!(classify(r, &log), Verdict::Duplicate);
        }
        let mut since = VersionVector::new();
        since.observe(ReplicaId(3), 20);
        let later = d.records_since(&since, usize::MAX);
        assert_eq!(
            classify(&later[0], &log),
            Verdict::Unconfirmed { from_seq: 21 }
        );
    }
}

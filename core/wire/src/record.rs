//! Records: what a `Records` message carries and what a relay stores.
//!
//! A record is one change (`EncodedChange`, "CC" bytes) or a *run record*
//! ("CR"): consecutive changes of one replica, each one Lamport tick after
//! the one before, the first with its dependencies and every later one
//! depending on its predecessor alone. A run record's header says all that
//! (replica, first seq, first Lamport counter, the first change's
//! dependencies) and is all a relay reads; its body is one or more
//! *segments*, each a count of changes and bytes only the engine reads
//! (`concord-core`: the changes' text object, op counters and operations).
//!
//! ```text
//! "CR" version(1)
//! replica[16] first_seq first_lamport        -- the first change
//! n_deps (replica[16] seq)*n_deps            -- its dependencies: sorted, other replicas
//! n_segments (count body)*n_segments         -- count >= 1; body: length-prefixed, opaque
//! ```
//! A segment's changes follow from its place: segment `i` starts at the
//! first seq plus the counts before it, its Lamport counter likewise, and
//! only the first segment's first change has the header's dependencies.
//! So a relay can cut a record between segments (`RunRecord::tail`) and
//! join two records of which the second continues the first
//! (`RunRecord::join`: same replica, next seq, next Lamport counter, no
//! dependencies of its own) by concatenating their segments, without
//! changing what any change is. The header is self-contained (full replica
//! ids, no table shared with other records), so every record can be stored,
//! sent and joined on its own.

use std::sync::Arc;

use crate::change::{ChangeHeader, ChangeId};
use crate::codec::{Reader, Writer};
use crate::encoded::EncodedChange;
use crate::error::DecodeError;
use crate::id::ReplicaId;

const MAGIC: &[u8; 2] = b"CR";
const VERSION: u8 = 1;

/// The largest run record a device or a relay makes (a segment of typing,
/// or segments a relay joins), so that a record always fits a message well
/// under a relay's message limit. Records received may be larger (up to
/// that limit).
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// One or more consecutive changes of one replica, as bytes: a single
/// change, or a run record. Cloning is cheap: the bytes are shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Change(EncodedChange),
    Run(RunRecord),
}

impl From<EncodedChange> for Record {
    fn from(change: EncodedChange) -> Self {
        Record::Change(change)
    }
}

impl From<RunRecord> for Record {
    fn from(run: RunRecord) -> Self {
        Record::Run(run)
    }
}

impl Record {
    /// Decodes a record (untrusted bytes): a change or a run record, told
    /// apart by their magic. Only what a relay reads is checked here.
    pub fn decode(bytes: Vec<u8>) -> Result<Record, DecodeError> {
        Self::decode_shared(bytes.into())
    }

    pub fn decode_shared(bytes: Arc<[u8]>) -> Result<Record, DecodeError> {
        if bytes.starts_with(MAGIC) {
            RunRecord::decode_shared(bytes).map(Record::Run)
        } else {
            EncodedChange::decode_shared(bytes).map(Record::Change)
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Record::Change(c) => c.bytes(),
            Record::Run(r) => &r.bytes,
        }
    }

    pub fn shared_bytes(&self) -> &Arc<[u8]> {
        match self {
            Record::Change(c) => c.shared_bytes(),
            Record::Run(r) => &r.bytes,
        }
    }

    pub fn replica(&self) -> ReplicaId {
        match self {
            Record::Change(c) => c.id().replica,
            Record::Run(r) => r.replica,
        }
    }

    pub fn first_seq(&self) -> u64 {
        match self {
            Record::Change(c) => c.id().seq,
            Record::Run(r) => r.first_seq,
        }
    }

    /// Number of changes (at least 1).
    pub fn count(&self) -> u64 {
        match self {
            Record::Change(_) => 1,
            Record::Run(r) => r.count,
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.first_seq() + (self.count() - 1)
    }

    pub fn first_lamport(&self) -> u64 {
        match self {
            Record::Change(c) => c.header().lamport,
            Record::Run(r) => r.first_lamport,
        }
    }

    pub fn last_lamport(&self) -> u64 {
        self.first_lamport() + (self.count() - 1)
    }

    /// The first change's dependencies on other replicas.
    pub fn deps(&self) -> &[ChangeId] {
        match self {
            Record::Change(c) => &c.header().deps,
            Record::Run(r) => &r.deps,
        }
    }

    /// The first change's header: what the record waits for, and where it
    /// starts.
    pub fn first_header(&self) -> ChangeHeader {
        match self {
            Record::Change(c) => c.header().clone(),
            Record::Run(r) => r.first_header(),
        }
    }

    /// The change ids the record holds.
    pub fn ids(&self) -> impl Iterator<Item = ChangeId> + '_ {
        let replica = self.replica();
        (self.first_seq()..=self.last_seq()).map(move |seq| ChangeId::new(replica, seq))
    }
}

/// Where a segment lies in its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    /// Index of its first change in the record.
    start: u64,
    count: u64,
    /// Its body: `bytes[from..to]`.
    from: usize,
    to: usize,
}

/// A run record, header decoded, segments located, bodies opaque.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    replica: ReplicaId,
    first_seq: u64,
    first_lamport: u64,
    deps: Vec<ChangeId>,
    count: u64,
    segments: Vec<Segment>,
    bytes: Arc<[u8]>,
}

/// One segment of a run record, with what its place says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentRef<'a> {
    pub replica: ReplicaId,
    pub first_seq: u64,
    pub first_lamport: u64,
    /// The dependencies of its first change (empty but for the record's
    /// first segment).
    pub deps: &'a [ChangeId],
    pub count: u64,
    /// The engine's bytes.
    pub body: &'a [u8],
}

impl SegmentRef<'_> {
    pub fn last_seq(&self) -> u64 {
        self.first_seq + (self.count - 1)
    }
}

impl RunRecord {
    /// A run record of `replica`'s changes from `first_seq`, the first with
    /// Lamport counter `first_lamport` and dependencies `deps` (sorted,
    /// other replicas), in `segments` (count, body). Checked as `decode`
    /// checks received bytes.
    pub fn new(
        replica: ReplicaId,
        first_seq: u64,
        first_lamport: u64,
        deps: &[ChangeId],
        segments: &[(u64, &[u8])],
    ) -> Result<RunRecord, DecodeError> {
        let size: usize = segments.iter().map(|(_, b)| b.len() + 12).sum();
        let mut w = Writer::with_capacity(48 + 24 * deps.len() + size);
        w.raw(MAGIC);
        w.u8(VERSION);
        w.raw(&replica.to_bytes());
        w.uvarint(first_seq);
        w.uvarint(first_lamport);
        w.len(deps.len());
        for d in deps {
            w.raw(&d.replica.to_bytes());
            w.uvarint(d.seq);
        }
        w.len(segments.len());
        for (count, body) in segments {
            w.uvarint(*count);
            w.bytes(body);
        }
        RunRecord::decode_shared(w.into_inner().into())
    }

    pub fn decode_shared(bytes: Arc<[u8]>) -> Result<RunRecord, DecodeError> {
        let mut r = Reader::new(&bytes);
        if r.raw(2).map_err(|_| DecodeError::BadMagic("run record"))? != MAGIC {
            return Err(DecodeError::BadMagic("run record"));
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let replica = ReplicaId::from_bytes(r.array()?);
        let first_seq = r.uvarint()?;
        let first_lamport = r.uvarint()?;
        if first_seq == 0 || first_lamport == 0 {
            return Err(DecodeError::Invalid("seq and lamport start at 1"));
        }
        let n = r.count(17)?;
        let mut deps: Vec<ChangeId> = Vec::with_capacity(n);
        for _ in 0..n {
            let dep = ChangeId::new(ReplicaId::from_bytes(r.array()?), r.uvarint()?);
            if dep.seq == 0
                || dep.replica == replica
                || deps.last().is_some_and(|last| last.replica >= dep.replica)
            {
                return Err(DecodeError::Invalid(
                    "dependencies not sorted, distinct, other replicas",
                ));
            }
            deps.push(dep);
        }
        let n = r.count(3)?;
        if n == 0 {
            return Err(DecodeError::Invalid("a run record without segments"));
        }
        let mut segments = Vec::with_capacity(n);
        let mut count = 0u64;
        for _ in 0..n {
            let c = r.uvarint()?;
            let body = r.bytes()?;
            if c == 0 || body.is_empty() {
                return Err(DecodeError::Invalid("an empty segment"));
            }
            let to = r.position();
            segments.push(Segment {
                start: count,
                count: c,
                from: to - body.len(),
                to,
            });
            count = count
                .checked_add(c)
                .ok_or(DecodeError::Invalid("run record too long"))?;
        }
        r.finish()?;
        if first_seq.checked_add(count - 1).is_none()
            || first_lamport.checked_add(count - 1).is_none()
        {
            return Err(DecodeError::Invalid("run record counters overflow"));
        }
        Ok(RunRecord {
            replica,
            first_seq,
            first_lamport,
            deps,
            count,
            segments,
            bytes,
        })
    }

    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    pub fn last_seq(&self) -> u64 {
        self.first_seq + (self.count - 1)
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn first_lamport(&self) -> u64 {
        self.first_lamport
    }

    pub fn last_lamport(&self) -> u64 {
        self.first_lamport + (self.count - 1)
    }

    pub fn deps(&self) -> &[ChangeId] {
        &self.deps
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn first_header(&self) -> ChangeHeader {
        ChangeHeader {
            id: ChangeId::new(self.replica, self.first_seq),
            deps: self.deps.clone(),
            lamport: self.first_lamport,
        }
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The `i`-th segment.
    pub fn segment(&self, i: usize) -> SegmentRef<'_> {
        let s = self.segments[i];
        SegmentRef {
            replica: self.replica,
            first_seq: self.first_seq + s.start,
            first_lamport: self.first_lamport + s.start,
            deps: if i == 0 { &self.deps } else { &[] },
            count: s.count,
            body: &self.bytes[s.from..s.to],
        }
    }

    pub fn segments(&self) -> impl Iterator<Item = SegmentRef<'_>> + '_ {
        (0..self.segments.len()).map(|i| self.segment(i))
    }

    /// The index of the segment holding `seq`, if the record holds it.
    pub fn segment_of(&self, seq: u64) -> Option<usize> {
        if seq < self.first_seq || seq > self.last_seq() {
            return None;
        }
        let at = seq - self.first_seq;
        Some(self.segments.partition_point(|s| s.start <= at) - 1)
    }

    /// The record from segment `from` on: the same changes, headed by that
    /// segment's first (no dependencies of its own unless `from` is 0).
    #[must_use]
    pub fn tail(&self, from: usize) -> RunRecord {
        if from == 0 {
            return self.clone();
        }
        let first = self.segment(from);
        let segments: Vec<(u64, &[u8])> = (from..self.segments.len())
            .map(|i| {
                let s = self.segment(i);
                (s.count, s.body)
            })
            .collect();
        RunRecord::new(
            self.replica,
            first.first_seq,
            first.first_lamport,
            &[],
            &segments,
        )
        .expect("a tail of a valid run record is valid")
    }

    /// Does `next` directly continue this record: the same replica, the
    /// next seq and the next Lamport counter, no dependencies of its own?
    /// Then `join` makes one record of both, meaning the same changes.
    pub fn continued_by(&self, next: &RunRecord) -> bool {
        next.replica == self.replica
            && self.last_seq().checked_add(1) == Some(next.first_seq)
            && self.last_lamport().checked_add(1) == Some(next.first_lamport)
            && next.deps.is_empty()
    }

    /// This record and `next`, which continues it (`continued_by`), as one:
    /// this header, the segments of both.
    #[must_use]
    pub fn join(&self, next: &RunRecord) -> RunRecord {
        assert!(
            self.continued_by(next),
            "join of records that do not follow"
        );
        let segments: Vec<(u64, &[u8])> = self
            .segments()
            .chain(next.segments())
            .map(|s| (s.count, s.body))
            .collect();
        RunRecord::new(
            self.replica,
            self.first_seq,
            self.first_lamport,
            &self.deps,
            &segments,
        )
        .expect("two valid run records that follow each other join into a valid one")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(r: u128, seq: u64) -> ChangeId {
        ChangeId::new(ReplicaId(r), seq)
    }

    fn run(first_seq: u64, lamport: u64, deps: &[ChangeId], segs: &[(u64, &[u8])]) -> RunRecord {
        RunRecord::new(ReplicaId(7), first_seq, lamport, deps, segs).unwrap()
    }

    /// Golden bytes: a format change must never be silent.
    #[test]
    fn a_run_record_has_exactly_these_bytes() {
        let r = run(3, 10, &[dep(2, 5)], &[(2, b"ab"), (1, b"c")]);
        let mut expected = b"CR\x01".to_vec();
        expected.extend_from_slice(&ReplicaId(7).to_bytes());
        expected.extend_from_slice(&[3, 10, 1]);
        expected.extend_from_slice(&ReplicaId(2).to_bytes());
        expected.extend_from_slice(&[5, 2, 2, 2, b'a', b'b', 1, 1, b'c']);
        assert_eq!(r.bytes(), &expected[..]);
        assert_eq!((r.first_seq(), r.last_seq(), r.count()), (3, 5, 3));
        assert_eq!((r.first_lamport(), r.last_lamport()), (10, 12));
        let segs: Vec<_> = r.segments().collect();
        assert_eq!(segs[1].first_seq, 5);
        assert_eq!(segs[1].first_lamport, 12);
        assert!(segs[1].deps.is_empty());
        assert_eq!(segs[0].deps, &[dep(2, 5)]);
        assert_eq!(segs[1].body, b"c");
        let back = Record::decode(expected).unwrap();
        assert_eq!(back, Record::Run(r));
    }

    #[test]
    fn tails_and_joins_keep_every_segment_where_it_was() {
        let a = run(1, 4, &[dep(2, 1)], &[(2, b"ab"), (3, b"cde")]);
        let b = run(6, 9, &[], &[(1, b"f")]);
        assert!(a.continued_by(&b));
        let ab = a.join(&b);
        assert_eq!(
            (ab.first_seq(), ab.last_seq(), ab.last_lamport()),
            (1, 6, 9)
        );
        assert_eq!(ab.segment_count(), 3);
        assert_eq!(ab.segment(2), b.segment(0));
        assert_eq!(ab.segment_of(3), Some(1));
        assert_eq!(ab.segment_of(6), Some(2));
        assert_eq!(ab.segment_of(7), None);
        let tail = ab.tail(1);
        assert_eq!(tail.first_seq(), 3);
        assert_eq!(tail.first_lamport(), 6);
        assert!(tail.deps().is_empty());
        assert_eq!(tail.segment(1), b.segment(0));
        assert_eq!(ab.tail(0), ab);
        // Not continued: a dependency, a Lamport jump, a gap, another replica.
        assert!(!a.continued_by(&run(6, 9, &[dep(3, 1)], &[(1, b"f")])));
        assert!(!a.continued_by(&run(6, 10, &[], &[(1, b"f")])));
        assert!(!a.continued_by(&run(7, 9, &[], &[(1, b"f")])));
        let other = RunRecord::new(ReplicaId(8), 6, 9, &[], &[(1, b"f")]).unwrap();
        assert!(!a.continued_by(&other));
    }

    #[test]
    fn bad_run_records_are_errors_never_panics() {
        let good = run(3, 10, &[dep(2, 5)], &[(2, b"ab"), (1, b"c")]);
        let bytes = good.bytes().to_vec();
        for cut in 0..bytes.len() {
            assert!(
                Record::decode(bytes[..cut].to_vec()).is_err(),
                "cut at {cut}"
            );
        }
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[i] ^= flip;
                if let Ok(Record::Run(r)) = Record::decode(bad) {
                    // Whatever decodes is consistent.
                    assert_eq!(r.segments().map(|s| s.count).sum::<u64>(), r.count());
                    let _ = r.tail(r.segment_count() - 1);
                }
            }
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Record::decode(trailing).is_err());
        let bad = |deps: &[ChangeId], segs: &[(u64, &[u8])], seq, lamport| {
            RunRecord::new(ReplicaId(7), seq, lamport, deps, segs).is_err()
        };
        assert!(bad(&[], &[], 1, 1), "no segment");
        assert!(bad(&[], &[(0, b"a")], 1, 1), "a segment of no change");
        assert!(bad(&[], &[(1, b"")], 1, 1), "an empty body");
        assert!(bad(&[], &[(1, b"a")], 0, 1), "seq 0");
        assert!(bad(&[], &[(1, b"a")], 1, 0), "lamport 0");
        assert!(
            bad(&[dep(7, 1)], &[(1, b"a")], 1, 2),
            "a dependency on itself"
        );
        assert!(bad(&[dep(3, 1), dep(2, 1)], &[(1, b"a")], 1, 2), "unsorted");
        assert!(bad(&[dep(3, 0)], &[(1, b"a")], 1, 2), "dependency seq 0");
        assert!(bad(&[], &[(2, b"a")], u64::MAX, 1), "seq overflow");
        assert!(bad(&[], &[(2, b"a")], 1, u64::MAX), "lamport overflow");
    }

    #[test]
    fn a_single_change_is_a_record_too() {
        let header = ChangeHeader {
            id: ChangeId::new(ReplicaId(5), 2),
            deps: vec![dep(1, 1)],
            lamport: 3,
        };
        let table = crate::encoded::ChangeTable::new(ReplicaId(5), vec![ReplicaId(1)]);
        let bytes = crate::encoded::write_change(&header, &table, |w| w.uvarint(0));
        let record = Record::decode(bytes.clone()).unwrap();
        assert!(matches!(record, Record::Change(_)));
        assert_eq!(record.bytes(), &bytes[..]);
        assert_eq!(record.first_header(), header);
        assert_eq!(
            (record.count(), record.last_seq(), record.last_lamport()),
            (1, 2, 3)
        );
        assert_eq!(
            record.ids().collect::<Vec<_>>(),
            vec![ChangeId::new(ReplicaId(5), 2)]
        );
    }
}

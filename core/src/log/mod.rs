//! The history: every applied change, per replica in seq order. Typing —
//! runs of changes holding only text ops — is kept compactly as text runs
//! (`run.rs`); any other change as its encoded bytes. A change's bytes are
//! rebuilt from its run when it is asked for.

mod run;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use concord_wire::{self as wire, MAX_RECORD_BYTES, SegmentRef};

use crate::change::{Change, ChangeHeader, ChangeId};
use crate::encoding::EncodedChange;
use crate::encoding::record::{run_record, segment_body};
use crate::id::ReplicaId;
use crate::value::ObjId;
use crate::version::VersionVector;

use run::Cursor;
pub(crate) use run::{RunOp, SavedRun, TextOpRef, TextRun};

/// A change kept as its encoded bytes (shared with whoever sent or received
/// them). The header is read again from the bytes when the change is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Single {
    seq: u64,
    lamport: u64,
    bytes: Arc<[u8]>,
}

impl Single {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }
}

/// One or more consecutive changes of a replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    Single(Single),
    Run(Box<TextRun>),
}

impl Record {
    pub(crate) fn first_seq(&self) -> u64 {
        match self {
            Record::Single(s) => s.seq,
            Record::Run(r) => r.first_seq,
        }
    }

    pub(crate) fn first_lamport(&self) -> u64 {
        match self {
            Record::Single(s) => s.lamport,
            Record::Run(r) => r.first_lamport,
        }
    }

    pub(crate) fn len(&self) -> u64 {
        match self {
            Record::Single(_) => 1,
            Record::Run(r) => r.len,
        }
    }

    fn start(&self) -> Option<Cursor> {
        match self {
            Record::Single(_) => None,
            Record::Run(r) => Some(r.cursor(0)),
        }
    }
}

/// A change's place in its replica's list.
#[derive(Clone, Copy, Debug)]
struct Pos {
    rec: usize,
    /// Index of the change in the record.
    index: u64,
    /// Where it starts, in a run.
    at: Option<Cursor>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ReplicaLog {
    records: Vec<Record>,
    /// Per record, the seq and Lamport counter of its first change: what
    /// finding a change searches, kept apart from the (boxed) records so the
    /// search does not chase a pointer per step.
    starts: Vec<(u64, u64)>,
    /// Number of changes.
    changes: u64,
    /// Counter for the replica's next operation.
    next_op: u64,
}

impl ReplicaLog {
    fn new() -> Self {
        ReplicaLog {
            records: Vec::new(),
            starts: Vec::new(),
            changes: 0,
            next_op: 1,
        }
    }

    fn record_of(&self, seq: u64) -> Option<(usize, u64)> {
        if seq == 0 || seq > self.changes {
            return None;
        }
        let rec = self.starts.partition_point(|&(first, _)| first <= seq) - 1;
        Some((rec, seq - self.starts[rec].0))
    }

    fn pos(&self, seq: u64) -> Option<Pos> {
        let (rec, index) = self.record_of(seq)?;
        let at = match &self.records[rec] {
            Record::Single(_) => None,
            Record::Run(run) => Some(run.cursor(index)),
        };
        Some(Pos { rec, index, at })
    }

    fn lamport(&self, pos: Pos) -> u64 {
        self.starts[pos.rec].1 + pos.index
    }

    fn push(&mut self, record: Record) {
        self.starts
            .push((record.first_seq(), record.first_lamport()));
        self.records.push(record);
    }

    /// The change at `pos`, and the position of the next one.
    fn read(&self, pos: Pos) -> (EncodedChange, Option<Pos>) {
        let record = &self.records[pos.rec];
        let (change, at) = match record {
            Record::Single(s) => (
                EncodedChange::decode_shared(Arc::clone(&s.bytes))
                    .expect("the history holds only changes that decoded"),
                None,
            ),
            Record::Run(run) => {
                let at = pos.at.expect("a position in a run has a cursor");
                let (change, next) = run.change(pos.index, at);
                (change.encode(), Some(next))
            }
        };
        let next = if pos.index + 1 < record.len() {
            Some(Pos {
                rec: pos.rec,
                index: pos.index + 1,
                at,
            })
        } else {
            self.records.get(pos.rec + 1).map(|r| Pos {
                rec: pos.rec + 1,
                index: 0,
                at: r.start(),
            })
        };
        (change, next)
    }
}

/// Iterator of `ChangeLog::since`: a k-way merge of the replicas' lists.
#[derive(Debug)]
pub(crate) struct Since<'a> {
    lists: Vec<&'a ReplicaLog>,
    /// Per list, the position of the next change (the one on the heap).
    next: Vec<Option<Pos>>,
    /// The head of every non-exhausted list: (lamport, id, list).
    heap: BinaryHeap<Reverse<(u64, ChangeId, usize)>>,
}

impl Iterator for Since<'_> {
    type Item = EncodedChange;

    fn next(&mut self) -> Option<Self::Item> {
        let Reverse((_, id, i)) = self.heap.pop()?;
        let list = self.lists[i];
        let pos = self.next[i].take().expect("a list on the heap has a next");
        let (change, following) = list.read(pos);
        if let Some(following) = following {
            let following_id = ChangeId::new(id.replica, id.seq + 1);
            self.heap
                .push(Reverse((list.lamport(following), following_id, i)));
            self.next[i] = Some(following);
        }
        Some(change)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChangeLog {
    replicas: BTreeMap<ReplicaId, ReplicaLog>,
}

impl ChangeLog {
    /// One change, its bytes rebuilt if it is kept in a run.
    pub(crate) fn get(&self, id: ChangeId) -> Option<EncodedChange> {
        let list = self.replicas.get(&id.replica)?;
        Some(list.read(list.pos(id.seq)?).0)
    }

    /// The Lamport counter of a change.
    pub(crate) fn lamport(&self, id: ChangeId) -> Option<u64> {
        let list = self.replicas.get(&id.replica)?;
        let (rec, index) = list.record_of(id.seq)?;
        Some(list.starts[rec].1 + index)
    }

    /// `push` for a change of one text op on `obj`, given by its parts (a
    /// keystroke): joins or starts a text run without a `Change` and returns
    /// true, or, when a run cannot hold it, changes nothing and returns false
    /// (then `push` the change).
    pub(crate) fn push_one(
        &mut self,
        header: &ChangeHeader,
        obj: ObjId,
        op: TextOpRef<'_>,
        first_op: u64,
        width: u64,
    ) -> bool {
        let id = header.id;
        let list = self
            .replicas
            .entry(id.replica)
            .or_insert_with(ReplicaLog::new);
        assert_eq!(list.changes + 1, id.seq, "log must stay gap-free");
        debug_assert_eq!(list.next_op, first_op);
        let joined = match list.records.last_mut() {
            Some(Record::Run(run)) => run.try_push_one(header, first_op, obj, op),
            _ => false,
        };
        if !joined {
            let Some(run) = TextRun::start_one(header, first_op, obj, op) else {
                return false;
            };
            if let Some(Record::Run(last)) = list.records.last_mut() {
                last.finish();
            }
            list.push(Record::Run(Box::new(run)));
        }
        list.changes += 1;
        list.next_op = first_op + width;
        true
    }

    /// Appends the next change of its replica, whose ops use counters
    /// `first_op .. first_op + width`. A change that continues the replica's
    /// text run joins it; one that can start a run starts one; any other is
    /// kept as its bytes (`bytes`, or encoded now), which are returned.
    pub(crate) fn push(
        &mut self,
        change: &Change,
        bytes: Option<&Arc<[u8]>>,
        first_op: u64,
        width: u64,
    ) -> Option<Arc<[u8]>> {
        let id = change.id();
        let list = self
            .replicas
            .entry(id.replica)
            .or_insert_with(ReplicaLog::new);
        assert_eq!(list.changes + 1, id.seq, "log must stay gap-free");
        debug_assert_eq!(list.next_op, first_op);
        let mut stored = None;
        let joined = match list.records.last_mut() {
            Some(Record::Run(run)) => run.try_push(change, first_op),
            _ => false,
        };
        if !joined {
            if let Some(Record::Run(run)) = list.records.last_mut() {
                run.finish();
            }
            let record = if let Some(run) = TextRun::start(change, first_op) {
                Record::Run(Box::new(run))
            } else {
                let bytes =
                    bytes.map_or_else(|| Arc::clone(change.encode().shared_bytes()), Arc::clone);
                stored = Some(Arc::clone(&bytes));
                Record::Single(Single {
                    seq: id.seq,
                    lamport: change.header.lamport,
                    bytes,
                })
            };
            list.push(record);
        }
        list.changes += 1;
        list.next_op = first_op + width;
        stored
    }

    /// Appends a run read from a saved document (the next changes of its
    /// replica, checked by the loader).
    pub(crate) fn push_run(&mut self, run: TextRun) {
        let list = self
            .replicas
            .entry(run.replica)
            .or_insert_with(ReplicaLog::new);
        assert_eq!(list.changes + 1, run.first_seq, "log must stay gap-free");
        assert_eq!(list.next_op, run.first_op, "op counters must stay gap-free");
        list.changes += run.len;
        list.next_op = run.end_op;
        list.push(Record::Run(Box::new(run)));
    }

    /// Appends a run that continues the replica's last run (see
    /// `TextRun::extend`), so that runs stay maximal.
    pub(crate) fn extend_run(&mut self, run: &TextRun) {
        let list = self
            .replicas
            .get_mut(&run.replica)
            .expect("a continued run has a replica list");
        let Some(Record::Run(last)) = list.records.last_mut() else {
            unreachable!("a continued run follows a run");
        };
        last.extend(run);
        list.changes += run.len;
        list.next_op = run.end_op;
    }

    /// The replica's last record, if it is a run.
    pub(crate) fn last_run(&self, replica: ReplicaId) -> Option<&TextRun> {
        match self.replicas.get(&replica)?.records.last()? {
            Record::Run(run) => Some(run),
            Record::Single(_) => None,
        }
    }

    /// Every text run.
    pub(crate) fn runs(&self) -> impl Iterator<Item = &TextRun> {
        self.replicas
            .values()
            .flat_map(|l| &l.records)
            .filter_map(|r| match r {
                Record::Run(run) => Some(&**run),
                Record::Single(_) => None,
            })
    }

    /// Every record in a causal order that depends only on the history: by
    /// the Lamport counter of its first change, then by that change's id. (A
    /// run's changes all depend on what its first change depends on, which
    /// has a smaller Lamport counter.)
    pub(crate) fn records(&self) -> Vec<(ReplicaId, &Record)> {
        let mut out: Vec<(ReplicaId, &Record)> = self
            .replicas
            .iter()
            .flat_map(|(&r, l)| l.records.iter().map(move |rec| (r, rec)))
            .collect();
        out.sort_unstable_by_key(|(r, rec)| (rec.first_lamport(), *r, rec.first_seq()));
        out
    }

    /// Counter for the next operation of `replica`.
    pub(crate) fn next_op(&self, replica: ReplicaId) -> u64 {
        self.replicas.get(&replica).map_or(1, |l| l.next_op)
    }

    /// The changes `since` lacks, in causal order: by Lamport counter, which
    /// every dependency has strictly smaller, then by id. Lazy: each replica's
    /// list is already in Lamport order, so this merges them and a caller
    /// taking one bounded batch pays for that batch, not for the rest.
    pub(crate) fn since(&self, since: &VersionVector) -> Since<'_> {
        let mut lists = Vec::new();
        let mut next = Vec::new();
        let mut heap = BinaryHeap::new();
        for (&r, list) in &self.replicas {
            // `since` may come from a peer and claim any seq, u64::MAX
            // included: never compute with it unchecked.
            let Some(seq) = since.get(r).checked_add(1) else {
                continue;
            };
            if let Some(pos) = list.pos(seq) {
                heap.push(Reverse((
                    list.lamport(pos),
                    ChangeId::new(r, seq),
                    lists.len(),
                )));
                lists.push(list);
                next.push(Some(pos));
            }
        }
        Since { lists, next, heap }
    }

    pub(crate) fn len(&self) -> usize {
        self.replicas.values().map(|l| l.changes as usize).sum()
    }

    /// The changes `since` lacks and `until` (if given) holds, as records
    /// in causal order, at most about `max_bytes` of them (at least one if
    /// any change is missing). Typing goes as run records of at most
    /// `MAX_RECORD_BYTES` each, cut at change boundaries; any other change
    /// as its bytes. Lazy like `since`: a caller taking one bounded batch
    /// pays for that batch.
    pub(crate) fn records_between(
        &self,
        since: &VersionVector,
        until: Option<&VersionVector>,
        max_bytes: usize,
    ) -> Vec<wire::Record> {
        // Per replica list: the next change to send (record, index in it)
        // and the last seq to send; the heap orders lists by the Lamport
        // counter of their next change (then replica): every dependency of
        // a record's first change has a smaller one, and the rest of a run
        // depends on that first change alone.
        let mut lists = Vec::new();
        let mut heap = BinaryHeap::new();
        for (&r, list) in &self.replicas {
            let Some(from) = since.get(r).checked_add(1) else {
                continue;
            };
            let to = until.map_or(list.changes, |u| u.get(r).min(list.changes));
            if from > to {
                continue;
            }
            let (rec, index) = list.record_of(from).expect("from is at most the last seq");
            heap.push(Reverse((list.starts[rec].1 + index, r, lists.len())));
            lists.push((list, rec, index, to));
        }
        let mut out = Vec::new();
        let mut total = 0;
        while let Some(Reverse((_, r, i))) = heap.pop() {
            let (list, rec, index, to) = lists[i];
            let record = &list.records[rec];
            let first = record.first_seq();
            let last = (first + record.len() - 1).min(to);
            let (piece, end) = match record {
                Record::Single(single) => (
                    wire::Record::Change(
                        EncodedChange::decode_shared(Arc::clone(&single.bytes))
                            .expect("the history holds only changes that decoded"),
                    ),
                    1,
                ),
                Record::Run(run) => {
                    let end = run.piece_end(index, last - first + 1, MAX_RECORD_BYTES);
                    (wire::Record::Run(run_record(run, index, end)), end)
                }
            };
            total += piece.bytes().len();
            if total > max_bytes && !out.is_empty() {
                break;
            }
            out.push(piece);
            let next_seq = first + end;
            if next_seq <= to {
                let (rec, index) = list.record_of(next_seq).expect("next_seq is logged");
                heap.push(Reverse((list.starts[rec].1 + index, r, i)));
                lists[i] = (list, rec, index, to);
            }
            if total >= max_bytes {
                break;
            }
        }
        out
    }

    /// Does the history hold exactly the changes of `seg` as they are
    /// encoded there: all of them within one run, the same op counters,
    /// Lamport counters, dependencies and bytes? (A quick check that a
    /// received segment is a duplicate; `false` says nothing more.)
    pub(crate) fn segment_matches(&self, seg: &SegmentRef<'_>) -> bool {
        let Some(list) = self.replicas.get(&seg.replica) else {
            return false;
        };
        let Some((rec, index)) = list.record_of(seg.first_seq) else {
            return false;
        };
        let Record::Run(run) = &list.records[rec] else {
            return false;
        };
        let end = index + seg.count;
        end <= run.len
            && run.first_lamport + index == seg.first_lamport
            && (if index == 0 {
                run.deps.as_slice() == seg.deps
            } else {
                seg.deps.is_empty()
            })
            && segment_body(run, index, end) == seg.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{ChangeHeader, Op};
    use crate::id::OpId;
    use crate::text::{IdSpan, TextInsert};
    use crate::value::ObjId;

    fn header(r: u128, seq: u64, deps: &[(u128, u64)], lamport: u64) -> ChangeHeader {
        ChangeHeader {
            id: ChangeId::new(ReplicaId(r), seq),
            deps: deps
                .iter()
                .map(|&(r, s)| ChangeId::new(ReplicaId(r), s))
                .collect(),
            lamport,
        }
    }

    /// Pushes a change without ops that claims `width` op counters.
    fn push_empty(log: &mut ChangeLog, h: ChangeHeader, width: u64) {
        let first_op = log.next_op(h.id.replica);
        let change = Change {
            header: h,
            ops: vec![],
        };
        assert!(
            log.push(&change, None, first_op, width).is_some(),
            "kept as bytes"
        );
    }

    fn push(log: &mut ChangeLog, change: &Change) {
        let first_op = log.next_op(change.id().replica);
        log.push(change, None, first_op, change.width());
    }

    #[test]
    fn since_returns_the_missing_changes_in_causal_order() {
        let mut log = ChangeLog::default();
        push_empty(&mut log, header(2, 1, &[], 1), 2);
        push_empty(&mut log, header(1, 1, &[(2, 1)], 2), 2);
        push_empty(&mut log, header(2, 2, &[(1, 1)], 3), 2);
        assert_eq!(log.next_op(ReplicaId(2)), 5);
        assert_eq!(log.next_op(ReplicaId(9)), 1);
        let ids = |v: Since<'_>| v.map(|c| c.id()).collect::<Vec<_>>();
        assert_eq!(
            ids(log.since(&VersionVector::new())),
            vec![
                ChangeId::new(ReplicaId(2), 1),
                ChangeId::new(ReplicaId(1), 1),
                ChangeId::new(ReplicaId(2), 2)
            ]
        );
        let have: VersionVector = [(ReplicaId(2), 1)].into_iter().collect();
        assert_eq!(
            ids(log.since(&have)),
            vec![
                ChangeId::new(ReplicaId(1), 1),
                ChangeId::new(ReplicaId(2), 2)
            ]
        );
        assert_eq!(log.len(), 3);
        assert!(log.get(ChangeId::new(ReplicaId(1), 0)).is_none());
        let all: VersionVector = [(ReplicaId(1), u64::MAX)].into_iter().collect();
        assert_eq!(ids(log.since(&all)).len(), 2, "a huge seq is harmless");
    }

    const TEXT: ObjId = ObjId::Op(OpId {
        replica: ReplicaId(1),
        counter: 1,
    });

    fn insert(origin_left: Option<OpId>, right_parent: Option<OpId>, content: &str) -> Op {
        Op::TextInsert {
            obj: TEXT,
            insert: TextInsert {
                origin_left,
                right_parent,
                content: content.into(),
            },
        }
    }

    fn delete(spans: &[(u128, u64, u64)]) -> Op {
        Op::TextDelete {
            obj: TEXT,
            spans: spans
                .iter()
                .map(|&(r, c, len)| IdSpan {
                    start: OpId::new(ReplicaId(r), c),
                    len,
                })
                .collect(),
        }
    }

    fn id(r: u128, c: u64) -> OpId {
        OpId::new(ReplicaId(r), c)
    }

    /// Typing by replica 7 (op counters from 1): every kind of op a run
    /// writes, ids of its own and of others, plus changes that end a run.
    fn typing() -> Vec<Change> {
        let ops: Vec<Vec<Op>> = vec![
            vec![insert(Some(id(1, 3)), Some(id(2, 5)), "a")],
            vec![insert(Some(id(7, 1)), None, "b")],
            vec![insert(Some(id(7, 1)), Some(id(7, 2)), "日本😀")],
            vec![insert(None, Some(id(1, 9)), "c")],
            vec![delete(&[(7, 2, 1)])],
            vec![delete(&[(7, 6, 1)])],
            vec![delete(&[(7, 3, 2), (1, 4, 1), (3, 8, 5)])],
            vec![delete(&[(2, 1, 3)]), insert(Some(id(7, 8)), None, "xy")],
            vec![
                insert(Some(id(9, 100)), Some(id(7, 1)), "z"),
                delete(&[(7, 12, 1)]),
            ],
            // Regression: the last op of a run is a delete whose last span
            // takes two bytes (kind, length): its span count was checked
            // against three bytes per span and the run failed to decode.
            vec![delete(&[(7, 12, 1), (7, 14, 1)])],
        ];
        let mut out = Vec::new();
        for (i, ops) in ops.into_iter().enumerate() {
            let seq = i as u64 + 1;
            // The first change depends on another replica's; the rest only
            // on their predecessors.
            let deps: &[(u128, u64)] = if seq == 1 { &[(1, 4)] } else { &[] };
            out.push(Change {
                header: header(7, seq, deps, 10 + seq),
                ops,
            });
        }
        out
    }

    #[test]
    fn typing_is_one_run_and_each_change_comes_back_byte_identical() {
        let mut log = ChangeLog::default();
        let changes = typing();
        for c in &changes {
            push(&mut log, c);
        }
        assert_eq!(log.runs().count(), 1);
        assert_eq!(log.next_op(ReplicaId(7)), 16);
        for c in &changes {
            let got = log.get(c.id()).unwrap();
            assert_eq!(got.bytes(), c.encode().bytes(), "{:?}", c.id());
            assert_eq!(log.lamport(c.id()), Some(c.header.lamport));
        }
        let all: Vec<_> = log.since(&VersionVector::new()).collect();
        let expected: Vec<_> = changes.iter().map(Change::encode).collect();
        assert_eq!(all, expected);
        // The run as saved loads back equal.
        let run = log.last_run(ReplicaId(7)).unwrap();
        let loaded = TextRun::from_saved(SavedRun {
            replica: run.replica,
            first_seq: 1,
            first_lamport: 11,
            first_op: 1,
            obj: TEXT,
            deps: run.deps.clone(),
            others: run.others.clone(),
            len: run.len,
            data: run.data(),
        })
        .unwrap();
        assert_eq!(&loaded, run);
    }

    #[test]
    fn typing_after_the_previous_char_writes_what_the_general_encoder_writes() {
        // ASCII typed after the previous char takes try_push's short path;
        // a non-ASCII char, a right_parent or a jump the general one.
        let typed = ["a", "b", "é", "c", "d"];
        let mut changes = Vec::new();
        for (i, c) in typed.iter().enumerate() {
            let seq = i as u64 + 1;
            let left = (seq > 1).then(|| id(3, seq - 1));
            let deps: &[(u128, u64)] = if seq == 1 { &[(1, 4)] } else { &[] };
            changes.push(Change {
                header: header(3, seq, deps, 20 + seq),
                ops: vec![insert(left, None, c)],
            });
        }
        let mut log = ChangeLog::default();
        for c in &changes {
            push(&mut log, c);
        }
        let fast = log.last_run(ReplicaId(3)).unwrap();
        let mut general = TextRun::start(&changes[0], 1).unwrap();
        for c in &changes[1..] {
            general.append_for_test(c);
        }
        assert_eq!(fast.data(), general.data());
        assert_eq!(fast, &general);
        for c in &changes {
            assert_eq!(log.get(c.id()).unwrap().bytes(), c.encode().bytes());
        }
    }

    #[test]
    fn a_run_ends_where_a_change_does_not_continue_it() {
        let mut log = ChangeLog::default();
        let mut c = typing();
        c.truncate(6);
        c[2].header.lamport += 5; // the clock jumped (a merge)
        for later in &mut c[3..] {
            later.header.lamport += 5;
        }
        // A merge: change 5 depends on another replica's; 6 only on 5.
        c[4].header.deps = vec![ChangeId::new(ReplicaId(2), 3)];
        c.push(Change {
            header: header(7, 7, &[], 22),
            ops: vec![Op::SetAdd {
                obj: TEXT,
                value: crate::value::ScalarValue::Null,
            }],
        });
        c.push(Change {
            header: header(7, 8, &[], 23),
            ops: vec![insert(Some(id(7, 4)), None, "q")],
        });
        for change in &c {
            push(&mut log, change);
        }
        // [1 2] [3 4] [5 6] single(7) [8]
        assert_eq!(log.runs().count(), 4);
        assert_eq!(log.records().len(), 5);
        for change in &c {
            assert_eq!(
                log.get(change.id()).unwrap().bytes(),
                change.encode().bytes()
            );
        }
    }

    /// Regression: a run used to end at every change whose dependencies
    /// differed from the run's, so typing after each merge took two runs
    /// (the change after the merge, then the rest); friendsforever kept
    /// 4,721 runs for 26,078 changes.
    #[test]
    fn typing_on_after_a_merge_stays_one_run() {
        let mut log = ChangeLog::default();
        let mut changes = Vec::new();
        for seq in 1..=6u64 {
            // Changes 1 and 4 come right after merging replica 2's changes.
            let deps: &[(u128, u64)] = match seq {
                1 => &[(2, 1)],
                4 => &[(2, 5)],
                _ => &[],
            };
            let lamport = if seq < 4 { seq + 1 } else { seq + 10 };
            let left = (seq > 1).then(|| id(6, seq - 1));
            changes.push(Change {
                header: header(6, seq, deps, lamport),
                ops: vec![insert(left, None, "t")],
            });
        }
        for c in &changes {
            push(&mut log, c);
        }
        assert_eq!(log.runs().count(), 2, "[1 2 3] [4 5 6]");
        for c in &changes {
            assert_eq!(log.get(c.id()).unwrap().bytes(), c.encode().bytes());
        }
    }

    #[test]
    fn long_runs_find_any_change_through_checkpoints() {
        let mut log = ChangeLog::default();
        let mut changes = Vec::new();
        for seq in 1..=300u64 {
            let op = if seq % 7 == 0 {
                delete(&[(5, seq - 1, 1)])
            } else {
                insert(Some(id(5, seq - 1)).filter(|_| seq > 1), None, "é")
            };
            changes.push(Change {
                header: header(5, seq, &[], seq),
                ops: vec![op],
            });
        }
        for c in &changes {
            push(&mut log, c);
        }
        assert_eq!(log.runs().count(), 1);
        for c in changes.iter().rev() {
            assert_eq!(log.get(c.id()).unwrap().bytes(), c.encode().bytes());
        }
        let have: VersionVector = [(ReplicaId(5), 130)].into_iter().collect();
        let rest: Vec<_> = log.since(&have).map(|c| c.id().seq).collect();
        assert_eq!(rest, (131..=300).collect::<Vec<_>>());
    }

    #[test]
    fn ids_a_run_cannot_write_keep_the_change_as_bytes() {
        // An own id at or after the op's counter (only a document loaded
        // from odd bytes could hold such a char) and a zero counter.
        let mut log = ChangeLog::default();
        let own_ahead = Change {
            header: header(4, 1, &[], 1),
            ops: vec![insert(Some(id(4, 1)), None, "a")],
        };
        push(&mut log, &own_ahead);
        let zero = Change {
            header: header(4, 2, &[], 2),
            ops: vec![delete(&[(1, 0, 1)])],
        };
        push(&mut log, &zero);
        assert_eq!(log.runs().count(), 0);
        assert_eq!(log.get(own_ahead.id()).unwrap(), own_ahead.encode());
    }

    #[test]
    fn corrupt_run_bytes_are_errors_never_panics() {
        let mut log = ChangeLog::default();
        for c in &typing() {
            push(&mut log, c);
        }
        let run = log.last_run(ReplicaId(7)).unwrap();
        let load = |data: &[u8], len: u64, others: Vec<ReplicaId>| {
            TextRun::from_saved(SavedRun {
                replica: ReplicaId(7),
                first_seq: 1,
                first_lamport: 11,
                first_op: 1,
                obj: TEXT,
                deps: vec![],
                others,
                len,
                data,
            })
        };
        let data = run.data().to_vec();
        let others = run.others.clone();
        assert!(load(&data, run.len, others.clone()).is_ok());
        assert!(load(&data, run.len + 1, others.clone()).is_err());
        assert!(load(&data, 0, others.clone()).is_err());
        assert!(load(&data[..0], 1, others.clone()).is_err());
        // One insert after char 5 of the other replica number 1 (or 0).
        let (r1, r2) = (ReplicaId(1), ReplicaId(2));
        assert!(load(&[0x0d, 0x00, 0x05, b'a'], 1, vec![r1]).is_ok());
        assert!(
            load(&[0x0d, 0x01, 0x05, b'a'], 1, vec![r1, r2]).is_err(),
            "a replica mentioned before the ones listed ahead of it"
        );
        assert!(
            load(&[0x0d, 0x00, 0x00, b'a'], 1, vec![r1]).is_err(),
            "counter 0"
        );
        assert!(
            load(&[0x0d, 0x00, 0x05], 1, vec![r1]).is_err(),
            "no content"
        );
        assert!(
            load(&[0x0c, 0x00, 0x05, b'a'], 1, vec![r1]).is_err(),
            "no last op"
        );
        assert!(
            load(&[0x4d, 0x00, 0x05, 1, b'a'], 1, vec![r1]).is_err(),
            "multi of one"
        );
        assert!(load(&[0x05, 0xff], 1, vec![]).is_err(), "bad UTF-8");
        // Typing one ASCII char after the previous (the loader's fast path)
        // needs a previous op; a non-ASCII char takes the general path.
        assert!(load(&[0x05, b'a'], 1, vec![]).is_err(), "no op before op 1");
        let typed = [0x01, b'a', 0x05, b'b', 0x05, 0xc3, 0xa9, 0x05, b'c'];
        assert!(load(&typed, 4, vec![]).is_ok());
        assert!(load(&typed[..8], 3, vec![]).is_err(), "cut inside a char");
        assert!(load(&[0x0f, 0x00, 0x05], 1, vec![r1]).is_ok());
        assert!(
            load(&[0x1f, 0x00, 0x05, 0x01, 0x00], 1, vec![r1]).is_err(),
            "general delete form for one span of one char"
        );
        assert!(load(&[0x1f, 0x00, 0x05, 0x02, 0x00], 1, vec![r1]).is_ok());
        let mut extra = others.clone();
        extra.push(ReplicaId(77));
        assert!(load(&data, run.len, extra).is_err(), "unused replica");
        for cut in 0..data.len() {
            let _ = load(&data[..cut], run.len, others.clone());
        }
        for i in 0..data.len() {
            for flip in [0x01u8, 0x02, 0x10, 0x40, 0x80, 0xff] {
                let mut bad = data.clone();
                bad[i] ^= flip;
                if let Ok(loaded) = load(&bad, run.len, others.clone()) {
                    // Whatever loads must give changes back without panics.
                    for index in 0..loaded.len {
                        let _ = loaded.change(index, loaded.cursor(index)).0.encode();
                    }
                }
            }
        }
    }
}

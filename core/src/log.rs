//! The history: every applied change, encoded, per replica in seq order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use std::sync::Arc;

use crate::change::ChangeId;
use crate::encoding::EncodedChange;
use crate::id::ReplicaId;
use crate::version::VersionVector;

/// One applied change: its encoded bytes (shared with whoever received or
/// sent them) and what ordering and op ids need. The header is read again
/// from the bytes when the change is sent, rather than kept decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogEntry {
    pub(crate) lamport: u64,
    /// Counter of the change's first operation.
    pub(crate) first_op: u64,
    /// Op counters used by the change.
    pub(crate) width: u64,
    pub(crate) bytes: Arc<[u8]>,
}

impl LogEntry {
    pub(crate) fn new(change: &EncodedChange, first_op: u64, width: u64) -> Self {
        LogEntry {
            lamport: change.header().lamport,
            first_op,
            width,
            bytes: Arc::clone(change.shared_bytes()),
        }
    }

    /// The change, header decoded again.
    pub(crate) fn change(&self) -> EncodedChange {
        EncodedChange::decode_shared(Arc::clone(&self.bytes))
            .expect("the history holds only changes that decoded")
    }
}

/// Iterator of `ChangeLog::since`: a k-way merge of the replicas' lists.
#[derive(Debug)]
pub(crate) struct Since<'a> {
    lists: Vec<(ReplicaId, &'a [LogEntry])>,
    /// Per list, the index of the next entry to put on the heap.
    next: Vec<usize>,
    /// The head of every non-exhausted list: (lamport, id, list).
    heap: BinaryHeap<Reverse<(u64, ChangeId, usize)>>,
}

impl<'a> Iterator for Since<'a> {
    type Item = (ChangeId, &'a LogEntry);

    fn next(&mut self) -> Option<Self::Item> {
        let Reverse((_, id, i)) = self.heap.pop()?;
        let (r, list) = self.lists[i];
        let entry = &list[self.next[i] - 1];
        if let Some(following) = list.get(self.next[i]) {
            let following_id = ChangeId::new(r, id.seq + 1);
            self.heap
                .push(Reverse((following.lamport, following_id, i)));
            self.next[i] += 1;
        }
        Some((id, entry))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChangeLog {
    replicas: BTreeMap<ReplicaId, Vec<LogEntry>>,
}

impl ChangeLog {
    pub(crate) fn get(&self, id: ChangeId) -> Option<&LogEntry> {
        let index = usize::try_from(id.seq.checked_sub(1)?).ok()?;
        self.replicas.get(&id.replica)?.get(index)
    }

    /// Appends the next change of its replica.
    pub(crate) fn push(&mut self, id: ChangeId, entry: LogEntry) {
        let list = self.replicas.entry(id.replica).or_default();
        assert_eq!(list.len() as u64 + 1, id.seq, "log must stay gap-free");
        list.push(entry);
    }

    /// Counter for the next operation of `replica`.
    pub(crate) fn next_op(&self, replica: ReplicaId) -> u64 {
        self.replicas
            .get(&replica)
            .and_then(|l| l.last())
            .map_or(1, |e| e.first_op + e.width)
    }

    /// The changes `since` lacks, in causal order: by Lamport counter, which
    /// every dependency has strictly smaller, then by id. Lazy: each replica's
    /// list is already in Lamport order, so this merges them and a caller
    /// taking one bounded batch pays for that batch, not for sorting the rest.
    pub(crate) fn since(&self, since: &VersionVector) -> Since<'_> {
        let lists: Vec<(ReplicaId, &[LogEntry])> = self
            .replicas
            .iter()
            .map(|(&r, list)| {
                // `since` may come from a peer and claim any seq, u64::MAX
                // included: never compute with it, only skip by it.
                let skip = usize::try_from(since.get(r)).unwrap_or(usize::MAX);
                (r, list.get(skip..).unwrap_or(&[]))
            })
            .collect();
        let mut next = vec![0; lists.len()];
        let mut heap = BinaryHeap::new();
        for (i, (r, list)) in lists.iter().enumerate() {
            if let Some(first) = list.first() {
                let seq = (self.replicas[r].len() - list.len()) as u64 + 1;
                heap.push(Reverse((first.lamport, ChangeId::new(*r, seq), i)));
                next[i] = 1;
            }
        }
        Since { lists, next, heap }
    }

    pub(crate) fn len(&self) -> usize {
        self.replicas.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Change, ChangeHeader};

    fn entry(r: u128, seq: u64, deps: &[(u128, u64)], lamport: u64, first_op: u64) -> LogEntry {
        let change = Change {
            header: ChangeHeader {
                id: ChangeId::new(ReplicaId(r), seq),
                deps: deps
                    .iter()
                    .map(|&(r, s)| ChangeId::new(ReplicaId(r), s))
                    .collect(),
                lamport,
            },
            ops: vec![],
        };
        LogEntry::new(&change.encode(), first_op, 2)
    }

    fn push(log: &mut ChangeLog, e: LogEntry) {
        let id = e.change().id();
        log.push(id, e);
    }

    #[test]
    fn since_returns_the_missing_changes_in_causal_order() {
        let mut log = ChangeLog::default();
        push(&mut log, entry(2, 1, &[], 1, 1));
        push(&mut log, entry(1, 1, &[(2, 1)], 2, 1));
        push(&mut log, entry(2, 2, &[(1, 1)], 3, 3));
        assert_eq!(log.next_op(ReplicaId(2)), 5);
        assert_eq!(log.next_op(ReplicaId(9)), 1);
        let ids = |v: Since<'_>| {
            v.map(|(id, e)| {
                assert_eq!(id, e.change().id());
                id
            })
            .collect::<Vec<_>>()
        };
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
    }
}

//! The history: every applied change, encoded, per replica in seq order.

use std::collections::BTreeMap;

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
    /// every dependency has strictly smaller, then by id.
    pub(crate) fn since(&self, since: &VersionVector) -> Vec<(ChangeId, &LogEntry)> {
        let mut out: Vec<(ChangeId, &LogEntry)> = self
            .replicas
            .iter()
            .flat_map(|(&r, list)| {
                // `since` may come from a peer and claim any seq, u64::MAX
                // included: never compute with it, only skip by it.
                let skip = usize::try_from(since.get(r)).unwrap_or(usize::MAX);
                list.iter()
                    .enumerate()
                    .skip(skip)
                    .map(move |(i, e)| (ChangeId::new(r, i as u64 + 1), e))
            })
            .collect();
        out.sort_by_key(|(id, e)| (e.lamport, *id));
        out
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
        let ids = |v: Vec<(ChangeId, &LogEntry)>| {
            v.iter()
                .map(|(id, e)| {
                    assert_eq!(*id, e.change().id());
                    *id
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

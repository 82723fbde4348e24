//! The history: every applied change, encoded, per replica in seq order.

use std::collections::BTreeMap;

use crate::change::ChangeId;
use crate::encoding::EncodedChange;
use crate::id::ReplicaId;
use crate::version::VersionVector;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogEntry {
    pub(crate) lamport: u64,
    /// Counter of the change's first operation.
    pub(crate) first_op: u64,
    /// Op counters used by the change.
    pub(crate) width: u64,
    pub(crate) change: EncodedChange,
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
    pub(crate) fn push(&mut self, entry: LogEntry) {
        let id = entry.change.id();
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
    pub(crate) fn since(&self, since: &VersionVector) -> Vec<&LogEntry> {
        let mut out: Vec<&LogEntry> = self
            .replicas
            .iter()
            .flat_map(|(&r, list)| {
                let from = usize::try_from(since.get(r)).unwrap_or(usize::MAX);
                list.get(from..).unwrap_or(&[])
            })
            .collect();
        out.sort_by_key(|e| (e.lamport, e.change.id()));
        out
    }

    pub(crate) fn len(&self) -> usize {
        self.replicas.values().map(Vec::len).sum()
    }
}

//! Causal delivery: changes whose dependencies have not arrived wait here.
//!
//! Generic over the payload so the relay (which keeps operations opaque) and
//! documents (which decode them) share one implementation.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use crate::change::{ChangeHeader, ChangeId};
use crate::id::ReplicaId;
use crate::version::VersionVector;

/// A bounded buffer of causally-unready changes, indexed by the first
/// dependency each one still waits for, so that applying a change wakes exactly
/// the changes blocked on it (no scan of the whole buffer).
#[derive(Clone, Debug)]
pub struct CausalBuffer<T> {
    capacity: usize,
    pending: BTreeMap<ChangeId, (ChangeHeader, T)>,
    /// missing dependency -> pending changes blocked on it
    waiting_on: BTreeMap<ChangeId, Vec<ChangeId>>,
}

/// The buffer is full; the change was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("causal buffer full ({capacity} changes waiting)")]
pub struct BufferFull {
    pub capacity: usize,
}

impl<T> CausalBuffer<T> {
    pub fn new(capacity: usize) -> Self {
        CausalBuffer {
            capacity,
            pending: BTreeMap::new(),
            waiting_on: BTreeMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn get(&self, id: ChangeId) -> Option<&T> {
        self.pending.get(&id).map(|(_, t)| t)
    }

    /// Holds a change that is not ready on top of `version`. A change already
    /// held is kept as it was (callers check for equivocation with `get`).
    pub fn insert(
        &mut self,
        header: ChangeHeader,
        item: T,
        version: &VersionVector,
    ) -> Result<(), BufferFull> {
        if self.pending.contains_key(&header.id) {
            return Ok(());
        }
        if self.pending.len() >= self.capacity {
            return Err(BufferFull {
                capacity: self.capacity,
            });
        }
        let Some(missing) = first_missing(&header, version) else {
            debug_assert!(false, "insert of a ready change {:?}", header.id);
            return Ok(());
        };
        self.waiting_on.entry(missing).or_default().push(header.id);
        self.pending.insert(header.id, (header, item));
        Ok(())
    }

    /// Call after `applied` has been applied (so `version` includes it): removes
    /// and returns the held changes that are now ready, in id order. Apply each,
    /// then call again with its id.
    pub fn take_ready_after(
        &mut self,
        applied: ChangeId,
        version: &VersionVector,
    ) -> Vec<(ChangeHeader, T)> {
        let Some(blocked) = self.waiting_on.remove(&applied) else {
            return Vec::new();
        };
        let mut ready = Vec::new();
        for id in blocked {
            let Some((header, _)) = self.pending.get(&id) else {
                continue;
            };
            match first_missing(header, version) {
                Some(next) => self.waiting_on.entry(next).or_default().push(id),
                None => {
                    if let Some(entry) = self.pending.remove(&id) {
                        ready.push(entry);
                    }
                }
            }
        }
        ready.sort_by_key(|(h, _)| h.id);
        ready
    }

    /// Whether a change of `replica` with a seq in `seqs` is held.
    pub fn holds_any(&self, replica: ReplicaId, seqs: RangeInclusive<u64>) -> bool {
        let (from, to) = seqs.into_inner();
        self.pending
            .range(ChangeId::new(replica, from)..=ChangeId::new(replica, to))
            .next()
            .is_some()
    }

    /// The changes of `replica` with a seq in `seqs` that held changes wait
    /// for (pass each to `take_ready_after` once it is applied).
    pub fn waited_on(&self, replica: ReplicaId, seqs: RangeInclusive<u64>) -> Vec<ChangeId> {
        let (from, to) = seqs.into_inner();
        self.waiting_on
            .range(ChangeId::new(replica, from)..=ChangeId::new(replica, to))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Ids of the changes held.
    pub fn pending_ids(&self) -> Vec<ChangeId> {
        self.pending.keys().copied().collect()
    }

    /// Dependencies that are neither applied nor held: what to ask peers for.
    pub fn missing(&self) -> Vec<ChangeId> {
        self.waiting_on
            .keys()
            .filter(|id| !self.pending.contains_key(id))
            .copied()
            .collect()
    }

    /// Drops everything held (e.g. when a peer will resend from scratch).
    pub fn clear(&mut self) {
        self.pending.clear();
        self.waiting_on.clear();
    }
}

/// The first dependency of `header` that `version` lacks. The change waits
/// for exactly that change (not for the next seq of its replica): it can only
/// become ready once that one is applied, so a chain delivered newest first
/// is released in linear time, each change waking the next.
fn first_missing(header: &ChangeHeader, version: &VersionVector) -> Option<ChangeId> {
    header.all_deps().find(|dep| !version.contains(*dep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ReplicaId;

    fn header(r: u128, seq: u64, deps: &[(u128, u64)]) -> ChangeHeader {
        ChangeHeader {
            id: ChangeId::new(ReplicaId(r), seq),
            deps: deps
                .iter()
                .map(|&(r, s)| ChangeId::new(ReplicaId(r), s))
                .collect(),
            lamport: seq,
        }
    }

    #[test]
    fn releases_changes_when_their_dependencies_arrive() {
        let mut version = VersionVector::new();
        let mut buf = CausalBuffer::new(10);
        // (1,3) arrives before (1,1) and (1,2); (2,1) depends on (1,2).
        buf.insert(header(1, 3, &[]), "1/3", &version).unwrap();
        buf.insert(header(2, 1, &[(1, 2)]), "2/1", &version)
            .unwrap();
        assert_eq!(buf.len(), 2);
        // Both wait for (1,2): what a peer must send, with what precedes it.
        assert_eq!(buf.missing(), vec![ChangeId::new(ReplicaId(1), 2)]);

        version.observe(ReplicaId(1), 1);
        let ready = buf.take_ready_after(ChangeId::new(ReplicaId(1), 1), &version);
        assert!(ready.is_empty(), "still waiting for (1,2)");
        version.observe(ReplicaId(1), 2);
        let ready: Vec<_> = buf
            .take_ready_after(ChangeId::new(ReplicaId(1), 2), &version)
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(ready, vec!["1/3", "2/1"]);
        assert!(buf.is_empty());
    }

    #[test]
    fn regression_newest_first_chain_is_released_one_by_one() {
        // Delivered newest first, every change used to wait on (r, 1); the
        // arrival of (r, 1) then re-indexed all of them, then all but one on
        // (r, 2)... quadratic. Each must wait on its own predecessor instead.
        let n = 1000;
        let mut version = VersionVector::new();
        let mut buf = CausalBuffer::new(n);
        for seq in (2..=n as u64).rev() {
            buf.insert(header(1, seq, &[]), seq, &version).unwrap();
        }
        assert!(buf.waiting_on.values().all(|w| w.len() == 1));
        let mut released = Vec::new();
        let mut applied = ChangeId::new(ReplicaId(1), 1);
        version.observe(ReplicaId(1), 1);
        loop {
            let ready = buf.take_ready_after(applied, &version);
            assert!(ready.len() <= 1, "one arrival wakes only its successor");
            let Some((h, seq)) = ready.into_iter().next() else {
                break;
            };
            version.observe(h.id.replica, h.id.seq);
            applied = h.id;
            released.push(seq);
        }
        assert_eq!(released, (2..=n as u64).collect::<Vec<_>>());
        assert!(buf.is_empty());
    }

    #[test]
    fn a_full_buffer_is_an_error_not_a_crash() {
        let version = VersionVector::new();
        let mut buf = CausalBuffer::new(1);
        buf.insert(header(1, 2, &[]), (), &version).unwrap();
        assert_eq!(
            buf.insert(header(1, 3, &[]), (), &version),
            Err(BufferFull { capacity: 1 })
        );
        assert_eq!(buf.len(), 1);
    }
}

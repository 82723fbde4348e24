//! Version vectors: which changes a replica has, as "seq 1..=n of replica r".

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use crate::change::ChangeId;
use crate::id::ReplicaId;

/// For each replica, the highest sequence number seen. Because every replica's
/// changes are applied in sequence order, this summarises the whole set
/// `{(r, 1..=n)}`. Zero entries are never stored, so equal sets compare equal.
///
/// `PartialOrd` is the real partial order of sets: `None` for concurrent vectors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VersionVector(BTreeMap<ReplicaId, u64>);

impl VersionVector {
    pub fn new() -> Self {
        VersionVector(BTreeMap::new())
    }

    /// Highest seq of `replica` covered (0 = none).
    pub fn get(&self, replica: ReplicaId) -> u64 {
        self.0.get(&replica).copied().unwrap_or(0)
    }

    /// Raises the entry for `replica` to at least `seq`.
    pub fn observe(&mut self, replica: ReplicaId, seq: u64) {
        if seq == 0 {
            return;
        }
        let entry = self.0.entry(replica).or_insert(0);
        *entry = (*entry).max(seq);
    }

    /// Sets the entry for `replica` to exactly `seq` (0 removes it).
    pub fn set(&mut self, replica: ReplicaId, seq: u64) {
        if seq == 0 {
            self.0.remove(&replica);
        } else {
            self.0.insert(replica, seq);
        }
    }

    /// Does this vector include the change `id`?
    pub fn contains(&self, id: ChangeId) -> bool {
        id.seq != 0 && self.get(id.replica) >= id.seq
    }

    /// Pointwise maximum: the union of both sets of changes.
    pub fn merge(&mut self, other: &VersionVector) {
        for (&r, &s) in &other.0 {
            self.observe(r, s);
        }
    }

    /// What this vector has that `other` lacks: for every replica, the range of
    /// seqs `other` is missing. Empty when `self <= other`.
    pub fn diff(&self, other: &VersionVector) -> Vec<(ReplicaId, RangeInclusive<u64>)> {
        self.0
            .iter()
            .filter_map(|(&r, &mine)| {
                let theirs = other.get(r);
                (mine > theirs).then(|| (r, theirs + 1..=mine))
            })
            .collect()
    }

    /// Number of changes in `self` but not in `other`.
    pub fn count_missing_from(&self, other: &VersionVector) -> u64 {
        // Saturating: either vector may come from a peer claiming huge seqs.
        self.diff(other)
            .into_iter()
            .map(|(_, range)| (range.end() - range.start()).saturating_add(1))
            .fold(0, u64::saturating_add)
    }

    /// Total number of changes covered.
    pub fn total(&self) -> u64 {
        self.0.values().fold(0, |a, &b| a.saturating_add(b))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Entries in replica order.
    pub fn iter(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.0.iter().map(|(&r, &s)| (r, s))
    }
}

impl FromIterator<(ReplicaId, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (ReplicaId, u64)>>(iter: I) -> Self {
        let mut vv = VersionVector::new();
        for (r, s) in iter {
            vv.observe(r, s);
        }
        vv
    }
}

impl PartialOrd for VersionVector {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let self_ahead = self.0.iter().any(|(&r, &s)| s > other.get(r));
        let other_ahead = other.0.iter().any(|(&r, &s)| s > self.get(r));
        match (self_ahead, other_ahead) {
            (false, false) => Some(Ordering::Equal),
            (true, false) => Some(Ordering::Greater),
            (false, true) => Some(Ordering::Less),
            (true, true) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vv(entries: &[(u128, u64)]) -> VersionVector {
        entries.iter().map(|&(r, s)| (ReplicaId(r), s)).collect()
    }

    #[test]
    fn concurrent_vectors_are_unordered() {
        let a = vv(&[(1, 2), (2, 1)]);
        let b = vv(&[(1, 1), (2, 2)]);
        assert_eq!(a.partial_cmp(&b), None);
        assert!(a.partial_cmp(&b).is_none() && a != b);
    }

    #[test]
    fn dominated_vector_is_less() {
        let a = vv(&[(1, 2)]);
        let b = vv(&[(1, 3), (2, 1)]);
        assert!(a < b);
        assert!(b > a);
        assert_eq!(vv(&[(1, 0)]), VersionVector::new(), "zero entries vanish");
    }

    #[test]
    fn diff_lists_exactly_what_the_other_lacks() {
        let a = vv(&[(1, 5), (2, 2), (3, 1)]);
        let b = vv(&[(1, 3), (2, 4)]);
        assert_eq!(
            a.diff(&b),
            vec![(ReplicaId(1), 4..=5), (ReplicaId(3), 1..=1)]
        );
        assert_eq!(a.count_missing_from(&b), 3);
        assert!(b.diff(&b).is_empty());
    }

    fn arb_vv() -> impl Strategy<Value = VersionVector> {
        proptest::collection::btree_map(0u128..4, 0u64..5, 0..4)
            .prop_map(|m| m.into_iter().map(|(r, s)| (ReplicaId(r), s)).collect())
    }

    proptest! {
        #[test]
        fn merge_is_commutative_associative_idempotent(a in arb_vv(), b in arb_vv(), c in arb_vv()) {
            let mut ab = a.clone(); ab.merge(&b);
            let mut ba = b.clone(); ba.merge(&a);
            prop_assert_eq!(&ab, &ba);
            let mut ab_c = ab.clone(); ab_c.merge(&c);
            let mut bc = b.clone(); bc.merge(&c);
            let mut a_bc = a.clone(); a_bc.merge(&bc);
            prop_assert_eq!(&ab_c, &a_bc);
            let mut aa = a.clone(); aa.merge(&a);
            prop_assert_eq!(&aa, &a);
        }

        #[test]
        fn partial_order_agrees_with_merge(a in arb_vv(), b in arb_vv()) {
            let mut m = a.clone(); m.merge(&b);
            prop_assert!(a <= m && b <= m);
            prop_assert_eq!(a <= b, m == b);
            prop_assert_eq!(a.diff(&b).is_empty(), a <= b);
        }
    }
}

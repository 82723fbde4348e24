//! What a relay knows of a change: its id and causal metadata. The
//! operations are the engine's (`concord-core`) and stay opaque here.

use std::fmt;

use crate::id::ReplicaId;
use crate::version::VersionVector;

/// The largest Lamport counter a change may carry. Far beyond any real
/// history, and it leaves room to count on: a peer cannot push our clock to
/// `u64::MAX` and make our next local change overflow.
pub const MAX_LAMPORT: u64 = 1 << 62;

/// `(replica, seq)`: the `seq`-th change made by `replica` (seq starts at 1).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangeId {
    pub replica: ReplicaId,
    pub seq: u64,
}

impl ChangeId {
    pub fn new(replica: ReplicaId, seq: u64) -> Self {
        ChangeId { replica, seq }
    }
}

impl fmt::Debug for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}#{}", self.replica, self.seq)
    }
}

/// The causal metadata of a change: all a relay needs to store and order it
/// without reading its operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeHeader {
    pub id: ChangeId,
    /// Changes by *other* replicas this one depends on, sorted and distinct.
    /// The dependency on `(replica, seq - 1)` is implicit.
    pub deps: Vec<ChangeId>,
    /// Lamport counter: greater than the lamport of every dependency.
    pub lamport: u64,
}

impl ChangeHeader {
    /// Every change that must be applied before this one, including the
    /// implicit previous change of the same replica.
    pub fn all_deps(&self) -> impl Iterator<Item = ChangeId> + '_ {
        let prev = (self.id.seq > 1).then(|| ChangeId::new(self.id.replica, self.id.seq - 1));
        prev.into_iter().chain(self.deps.iter().copied())
    }

    /// Can this change be applied on top of `version`?
    pub fn is_ready(&self, version: &VersionVector) -> bool {
        version.get(self.id.replica) + 1 == self.id.seq
            && self.deps.iter().all(|d| version.contains(*d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_depends_on_its_predecessor_and_its_listed_deps() {
        let header = ChangeHeader {
            id: ChangeId::new(ReplicaId(1), 3),
            deps: vec![ChangeId::new(ReplicaId(2), 5)],
            lamport: 9,
        };
        let deps: Vec<_> = header.all_deps().collect();
        assert_eq!(
            deps,
            vec![
                ChangeId::new(ReplicaId(1), 2),
                ChangeId::new(ReplicaId(2), 5)
            ]
        );
        let mut version: VersionVector = [(ReplicaId(2), 5)].into_iter().collect();
        assert!(!header.is_ready(&version), "missing (1, 2)");
        version.observe(ReplicaId(1), 2);
        assert!(header.is_ready(&version));
        version.observe(ReplicaId(1), 3);
        assert!(!header.is_ready(&version), "already applied");
    }
}

//! Lamport timestamps: a total order consistent with causality.

use crate::id::ReplicaId;

/// `(counter, replica)`: if change A happened before change B then
/// `A.lamport < B.lamport`; concurrent changes are ordered by counter and then
/// by replica id, so every replica breaks every tie the same way. Never wall
/// clock time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lamport {
    pub counter: u64,
    pub replica: ReplicaId,
}

impl Lamport {
    pub fn new(counter: u64, replica: ReplicaId) -> Self {
        Lamport { counter, replica }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_orders_before_replica() {
        let a = Lamport::new(1, ReplicaId(9));
        let b = Lamport::new(2, ReplicaId(1));
        assert!(a < b);
        let c = Lamport::new(2, ReplicaId(2));
        assert!(b < c, "equal counters fall back to the replica id");
    }
}

//! Which operation made something: `OpId` (a replica and its op counter).

use std::fmt;

pub use concord_wire::ReplicaId;

/// The id of one operation, or of one character of a text insert: the replica
/// that made it and that replica's operation counter (1, 2, 3, ...; an insert of
/// `n` characters uses `n` consecutive counters).
///
/// Ordered by `(replica, counter)`: this is the tie-break the FugueMax text
/// ordering uses between concurrent siblings. It is *not* a causal order; use
/// `Lamport` for last-writer-wins.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct OpId {
    pub replica: ReplicaId,
    pub counter: u64,
}

impl OpId {
    pub fn new(replica: ReplicaId, counter: u64) -> Self {
        OpId { replica, counter }
    }

    /// The id `n` operations later from the same replica.
    #[must_use]
    pub fn offset(self, n: u64) -> Self {
        OpId {
            replica: self.replica,
            counter: self.counter + n,
        }
    }
}

impl fmt::Debug for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}@{}", self.replica, self.counter)
    }
}

//! Identity: who made something (`ReplicaId`) and which of their operations it
//! was (`OpId`).

use std::fmt;

/// A replica (one device's copy of one document). 128 random bits chosen by the
/// caller: the core never reads a random source itself.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ReplicaId(pub u128);

impl ReplicaId {
    /// Builds an id from 16 random bytes supplied by the caller.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        ReplicaId(u128::from_be_bytes(bytes))
    }

    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }
}

impl fmt::Debug for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Short form keeps test output readable; the full id is in Display.
        write!(f, "R{:x}", self.0)
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

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

//! Who made a change: `ReplicaId`.

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

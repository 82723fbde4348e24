//! Pure decisions about one incoming change, given what the relay already
//! holds for its document. No locks, no IO: the hub asks, this answers.

use concord_wire::{ChangeHeader, ChangeId, MAX_LAMPORT, VersionVector};

/// What the relay knows about a change it already holds.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    pub bytes: &'a [u8],
    pub lamport: u64,
}

/// What to do with an incoming change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Store it: everything it depends on is held.
    New,
    /// Already held with the same bytes: nothing to do (idempotent re-send).
    Duplicate,
    /// Already held with different bytes: refuse (Error Equivocation).
    Equivocation,
    /// A dependency is missing: hold it until it arrives.
    NotReady,
    /// It can never be stored (Error InvalidChange).
    Invalid(&'static str),
}

/// Largest seq or Lamport counter the store keeps (SQLite integers are i64).
pub const MAX_STORED_COUNTER: u64 = i64::MAX as u64;

/// Classifies `header` (with `bytes`) against `version`, the set of changes
/// held, where `known` looks up a held change.
pub fn classify<'a>(
    header: &ChangeHeader,
    bytes: &[u8],
    version: &VersionVector,
    known: impl Fn(ChangeId) -> Option<Known<'a>>,
) -> Verdict {
    let id = header.id;
    if id.seq == 0 || id.seq > MAX_STORED_COUNTER {
        return Verdict::Invalid("seq out of range");
    }
    if header.lamport > MAX_LAMPORT || header.lamport == 0 {
        return Verdict::Invalid("lamport out of range");
    }
    if header.deps.iter().any(|d| d.replica == id.replica) {
        return Verdict::Invalid("a dependency on its own replica");
    }
    if header.deps.iter().any(|d| d.seq == 0) {
        return Verdict::Invalid("a dependency with seq 0");
    }
    if version.contains(id) {
        return match known(id) {
            Some(k) if k.bytes == bytes => Verdict::Duplicate,
            Some(_) => Verdict::Equivocation,
            // The version says held, the lookup disagrees: a broken invariant
            // in the caller. Refuse rather than store twice.
            None => Verdict::Invalid("inconsistent relay state"),
        };
    }
    if !header.is_ready(version) {
        return Verdict::NotReady;
    }
    for dep in header.all_deps() {
        match known(dep) {
            Some(k) if k.lamport < header.lamport => {}
            Some(_) => return Verdict::Invalid("lamport not above its dependencies"),
            None => return Verdict::Invalid("inconsistent relay state"),
        }
    }
    Verdict::New
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::ReplicaId;
    use std::collections::BTreeMap;

    fn h(r: u128, seq: u64, lamport: u64, deps: &[(u128, u64)]) -> ChangeHeader {
        ChangeHeader {
            id: ChangeId::new(ReplicaId(r), seq),
            deps: deps
                .iter()
                .map(|&(r, s)| ChangeId::new(ReplicaId(r), s))
                .collect(),
            lamport,
        }
    }

    struct Held(BTreeMap<ChangeId, (Vec<u8>, u64)>, VersionVector);

    impl Held {
        fn new() -> Self {
            Held(BTreeMap::new(), VersionVector::new())
        }
        fn add(&mut self, header: &ChangeHeader, bytes: &[u8]) {
            self.0.insert(header.id, (bytes.to_vec(), header.lamport));
            self.1.observe(header.id.replica, header.id.seq);
        }
        fn classify(&self, header: &ChangeHeader, bytes: &[u8]) -> Verdict {
            classify(header, bytes, &self.1, |id| {
                self.0.get(&id).map(|(b, l)| Known {
                    bytes: b,
                    lamport: *l,
                })
            })
        }
    }

    #[test]
    fn new_duplicate_and_equivocation() {
        let mut held = Held::new();
        let a1 = h(1, 1, 1, &[]);
        assert_eq!(held.classify(&a1, b"x"), Verdict::New);
        held.add(&a1, b"x");
        assert_eq!(held.classify(&a1, b"x"), Verdict::Duplicate);
        assert_eq!(held.classify(&a1, b"y"), Verdict::Equivocation);
    }

    #[test]
    fn missing_dependencies_wait() {
        let mut held = Held::new();
        assert_eq!(held.classify(&h(1, 2, 2, &[]), b""), Verdict::NotReady);
        assert_eq!(
            held.classify(&h(2, 1, 2, &[(1, 1)]), b""),
            Verdict::NotReady
        );
        held.add(&h(1, 1, 1, &[]), b"");
        assert_eq!(held.classify(&h(2, 1, 2, &[(1, 1)]), b""), Verdict::New);
        assert_eq!(held.classify(&h(1, 2, 2, &[]), b""), Verdict::New);
    }

    #[test]
    fn impossible_changes_are_invalid() {
        let mut held = Held::new();
        held.add(&h(1, 1, 5, &[]), b"");
        assert!(matches!(
            held.classify(&h(2, 1, 5, &[(1, 1)]), b""),
            Verdict::Invalid(_)
        ));
        assert!(matches!(
            held.classify(&h(1, 2, 3, &[]), b""),
            Verdict::Invalid(_)
        ));
        assert!(matches!(
            held.classify(&h(1, 2, 9, &[(1, 1)]), b""),
            Verdict::Invalid(_)
        ));
        assert!(matches!(
            held.classify(&h(3, u64::MAX, 9, &[]), b""),
            Verdict::Invalid(_)
        ));
        assert!(matches!(
            held.classify(&h(3, 1, MAX_LAMPORT + 1, &[]), b""),
            Verdict::Invalid(_)
        ));
    }
}

//! Add-wins observed-remove set.
//!
//! Every add carries a unique tag (its op id). A remove carries a vector clock
//! of op counters: it removes exactly the tags it covers, i.e. the adds the
//! remover had seen. That clock stays on the element as its tombstone, so an
//! add it covers can never come back, while a concurrent add (not covered)
//! survives.

use std::collections::{BTreeMap, BTreeSet};

use crate::id::OpId;
use crate::value::ScalarValue;
use crate::version::VersionVector;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Element {
    /// Live add tags.
    pub(crate) adds: BTreeSet<OpId>,
    /// Tombstone: the union of the clocks of every remove of this value.
    pub(crate) removed: VersionVector,
}

impl Element {
    fn covered(removed: &VersionVector, tag: OpId) -> bool {
        removed.get(tag.replica) >= tag.counter
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrSet {
    elements: BTreeMap<ScalarValue, Element>,
}

impl OrSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, value: ScalarValue, tag: OpId) {
        let element = self.elements.entry(value).or_default();
        if !Element::covered(&element.removed, tag) {
            element.adds.insert(tag);
        }
    }

    pub fn remove(&mut self, value: &ScalarValue, observed: &VersionVector) {
        if let Some(element) = self.elements.get_mut(value) {
            element.removed.merge(observed);
            let removed = &element.removed;
            element.adds.retain(|&tag| !Element::covered(removed, tag));
        } else {
            let mut element = Element::default();
            element.removed.merge(observed);
            self.elements.insert(value.clone(), element);
        }
    }

    /// The clock a local remove of `value` carries: per replica, the newest add
    /// tag of `value` it has seen. `None` when `value` is absent.
    pub fn observed(&self, value: &ScalarValue) -> Option<VersionVector> {
        let element = self.elements.get(value)?;
        if element.adds.is_empty() {
            return None;
        }
        Some(
            element
                .adds
                .iter()
                .map(|t| (t.replica, t.counter))
                .collect(),
        )
    }

    pub fn contains(&self, value: &ScalarValue) -> bool {
        self.elements.get(value).is_some_and(|e| !e.adds.is_empty())
    }

    /// Present values in order.
    pub fn values(&self) -> impl Iterator<Item = &ScalarValue> {
        self.elements
            .iter()
            .filter(|(_, e)| !e.adds.is_empty())
            .map(|(v, _)| v)
    }

    pub fn len(&self) -> usize {
        self.values().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn elements(&self) -> impl Iterator<Item = (&ScalarValue, &Element)> {
        self.elements.iter()
    }

    pub(crate) fn restore(&mut self, value: ScalarValue, element: Element) {
        self.elements.insert(value, element);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ReplicaId;

    fn tag(r: u128, c: u64) -> OpId {
        OpId::new(ReplicaId(r), c)
    }

    #[test]
    fn add_wins_over_concurrent_remove() {
        // Both replicas know "bob" (added by replica 1). Replica 1 removes him
        // while replica 2 concurrently adds him again.
        let bob = ScalarValue::from("bob");
        let mut base = OrSet::new();
        base.add(bob.clone(), tag(1, 1));
        let observed = base.observed(&bob).expect("bob is present");

        let mut r1 = base.clone();
        r1.remove(&bob, &observed);
        r1.add(bob.clone(), tag(2, 1));

        let mut r2 = base.clone();
        r2.add(bob.clone(), tag(2, 1));
        r2.remove(&bob, &observed);

        assert_eq!(r1, r2);
        assert!(r1.contains(&bob), "the concurrent re-add survives");
        assert_eq!(
            r1.observed(&bob),
            Some([(ReplicaId(2), 1)].into_iter().collect())
        );
    }

    #[test]
    fn remove_covers_exactly_the_adds_it_saw() {
        let x = ScalarValue::Int(7);
        let mut s = OrSet::new();
        s.add(x.clone(), tag(1, 1));
        s.add(x.clone(), tag(1, 4));
        let seen = s.observed(&x).expect("present");
        s.remove(&x, &seen);
        assert!(!s.contains(&x));
        // An old add delivered again is still covered by the tombstone.
        s.add(x.clone(), tag(1, 1));
        assert!(!s.contains(&x));
        s.add(x.clone(), tag(1, 5));
        assert!(s.contains(&x));
        assert_eq!(s.values().collect::<Vec<_>>(), vec![&x]);
    }
}

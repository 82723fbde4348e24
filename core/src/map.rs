//! Last-writer-wins map whose losing concurrent values stay inspectable.
//!
//! Each key holds a multi-value register: a write lists the values it saw
//! (`pred`) and replaces exactly those. Writes that did not see each other both
//! remain; `get` picks the one with the greatest Lamport timestamp (replica id
//! breaks ties), `get_all` shows them all so an app can offer a choice.

use std::collections::BTreeMap;

use crate::clock::Lamport;
use crate::id::OpId;
use crate::value::Value;

/// One surviving value of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapEntry {
    /// The operation that wrote it; list it in `pred` to supersede it.
    pub id: OpId,
    pub lamport: Lamport,
    pub value: Value,
}

impl MapEntry {
    /// The total order that decides the winner: Lamport timestamp, then the op
    /// counter (two writes in one change).
    fn rank(&self) -> (Lamport, u64) {
        (self.lamport, self.id.counter)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LwwMap {
    /// Per key, surviving entries sorted winner first. Keys with no surviving
    /// entry are removed.
    entries: BTreeMap<String, Vec<MapEntry>>,
}

impl LwwMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` (or deletes, when `None`), superseding `pred`.
    pub fn apply(&mut self, key: &str, pred: &[OpId], new: Option<MapEntry>) {
        let list = self.entries.entry(key.to_owned()).or_default();
        list.retain(|e| !pred.contains(&e.id));
        if let Some(entry) = new {
            let at = list
                .iter()
                .position(|e| e.rank() < entry.rank())
                .unwrap_or(list.len());
            list.insert(at, entry);
        }
        if list.is_empty() {
            self.entries.remove(key);
        }
    }

    /// The winning value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .get(key)
            .and_then(|l| l.first())
            .map(|e| &e.value)
    }

    /// Every concurrent value, winner first.
    pub fn get_all(&self, key: &str) -> &[MapEntry] {
        self.entries.get(key).map_or(&[], Vec::as_slice)
    }

    /// Ids of the current values of `key`: what a new write supersedes.
    pub fn current_ids(&self, key: &str) -> Vec<OpId> {
        self.get_all(key).iter().map(|e| e.id).collect()
    }

    /// Keys with a value, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All keys and entries in key order, for snapshots.
    pub(crate) fn iter_entries(&self) -> impl Iterator<Item = (&str, &[MapEntry])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Rebuilds one key from a snapshot.
    pub(crate) fn restore_key(&mut self, key: String, mut entries: Vec<MapEntry>) {
        entries.sort_by_key(|e| std::cmp::Reverse(e.rank()));
        if !entries.is_empty() {
            self.entries.insert(key, entries);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ReplicaId;
    use crate::value::ScalarValue;

    fn entry(r: u128, counter: u64, lamport: u64, v: &str) -> MapEntry {
        MapEntry {
            id: OpId::new(ReplicaId(r), counter),
            lamport: Lamport::new(lamport, ReplicaId(r)),
            value: Value::Scalar(ScalarValue::from(v)),
        }
    }

    #[test]
    fn two_writers_on_one_key_keep_both_values() {
        // Alice and Bob both rename the document without seeing each other.
        let alice = entry(1, 1, 5, "Plans");
        let bob = entry(2, 1, 5, "Roadmap");
        let mut m1 = LwwMap::new();
        m1.apply("title", &[], Some(alice.clone()));
        m1.apply("title", &[], Some(bob.clone()));
        let mut m2 = LwwMap::new();
        m2.apply("title", &[], Some(bob.clone()));
        m2.apply("title", &[], Some(alice.clone()));
        assert_eq!(m1, m2, "order of delivery does not matter");
        // Same Lamport counter: the higher replica id wins, on every replica.
        assert_eq!(m1.get("title"), Some(&bob.value));
        let all: Vec<_> = m1
            .get_all("title")
            .iter()
            .map(|e| e.value.clone())
            .collect();
        assert_eq!(all, vec![bob.value.clone(), alice.value.clone()]);
        // Picking one supersedes both.
        let pick = entry(1, 2, 6, "Plans");
        m1.apply("title", &[alice.id, bob.id], Some(pick.clone()));
        assert_eq!(m1.get_all("title"), std::slice::from_ref(&pick));
    }

    #[test]
    fn concurrent_delete_and_write_keeps_the_write() {
        let first = entry(1, 1, 1, "a");
        let mut m = LwwMap::new();
        m.apply("k", &[], Some(first.clone()));
        let update = entry(2, 1, 2, "b");
        m.apply("k", &[first.id], Some(update.clone()));
        // A delete that only saw `first` does not remove `update`.
        m.apply("k", &[first.id], None);
        assert_eq!(m.get("k"), Some(&update.value));
        m.apply("k", &[update.id], None);
        assert_eq!(m.get("k"), None);
        assert!(m.is_empty());
    }
}

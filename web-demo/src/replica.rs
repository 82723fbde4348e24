//! One document held by this browser: the CRDT state, its token, and which
//! of its changes IndexedDB holds.
//!
//! Saving in a browser is asynchronous: the page takes a batch
//! (`take_save`), writes it in one IndexedDB transaction, and reports back
//! (`saved` or `save_failed`). One batch per document is in flight at a time,
//! so batches land in the order they were taken. Only what is durable exists
//! as far as the relay is concerned: the version we announce, the changes we
//! upload and the version we acknowledge come from `durable`, so nothing a
//! reload could lose is ever sent or acknowledged.

use concord_core::{Document, EncodedChange, VersionVector};
use concord_sync::{Durability, Received};
use concord_wire::ChangeSource;

/// After this many change records since the last snapshot, the next save
/// writes a snapshot instead (and drops the records), so a reload reads one
/// compact blob rather than thousands of keystrokes.
pub const COMPACT_AFTER: usize = 500;

/// What the page must write, in one IndexedDB transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveBatch {
    /// Append these change records (in this order).
    Append(Vec<EncodedChange>),
    /// Replace the document's snapshot with these bytes (`Document::save`)
    /// and delete every change record stored for it.
    Snapshot(Vec<u8>),
}

#[derive(Clone, Copy, Debug)]
struct InFlight {
    count: usize,
    snapshot: bool,
}

#[derive(Debug)]
pub struct Replica {
    pub doc: Document,
    pub token: String,
    /// What IndexedDB holds and what waits for saving.
    saving: Durability,
    /// The batch being written: it covers the first `count` unsaved changes.
    in_flight: Option<InFlight>,
    /// Change records stored after the last snapshot.
    records: usize,
    /// How many of this device's own changes the relay has confirmed
    /// storing, over every connection (kept in IndexedDB too, so "N
    /// unsent" stays right offline and after a reload).
    pub relay_acked: u64,
}

impl Replica {
    /// A replica whose whole state is already stored, `records` of it as
    /// change records after the snapshot.
    pub fn loaded(doc: Document, token: String, records: usize) -> Self {
        Replica {
            saving: Durability::stored(&doc),
            doc,
            token,
            in_flight: None,
            records,
            relay_acked: 0,
        }
    }

    /// A replica nothing of which is stored yet: its first save is a
    /// snapshot, which also creates the stored entry.
    pub fn fresh(doc: Document, token: String) -> Self {
        let mut replica = Replica::loaded(doc, token, COMPACT_AFTER);
        replica.saving = Durability::nothing_stored(&replica.doc);
        replica
    }

    /// Takes changes applied to `doc` (in the order applied) to be saved.
    pub fn applied(&mut self, changes: impl IntoIterator<Item = EncodedChange>) {
        self.saving.applied(changes);
    }

    /// Applies changes from the relay one by one and queues what was applied
    /// for saving (`Durability::apply_received`).
    pub fn apply_received(&mut self, changes: Vec<EncodedChange>) -> Received {
        self.saving.apply_received(&mut self.doc, changes)
    }

    /// Changes applied but not yet durable (in flight included).
    pub fn unsaved(&self) -> usize {
        self.saving.unsaved().len()
    }

    pub fn is_saving(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The next batch to write, unless one is in flight or nothing waits.
    pub fn take_save(&mut self) -> Option<SaveBatch> {
        let unsaved = self.saving.unsaved();
        if self.in_flight.is_some() || unsaved.is_empty() {
            return None;
        }
        let count = unsaved.len();
        let snapshot = self.records + count > COMPACT_AFTER;
        let batch = if snapshot {
            SaveBatch::Snapshot(self.doc.save())
        } else {
            SaveBatch::Append(unsaved.to_vec())
        };
        self.in_flight = Some(InFlight { count, snapshot });
        Some(batch)
    }

    /// The batch in flight is durable. Returns whether there was one.
    pub fn saved(&mut self) -> bool {
        let Some(batch) = self.in_flight.take() else {
            return false;
        };
        self.saving.saved(batch.count);
        self.records = if batch.snapshot {
            0
        } else {
            self.records + batch.count
        };
        true
    }

    /// The batch in flight was not written: everything stays queued.
    pub fn save_failed(&mut self) {
        self.in_flight = None;
    }

    pub fn durable(&self) -> &VersionVector {
        self.saving.durable()
    }

    /// This device's own changes the relay has not confirmed storing.
    pub fn unsent(&self) -> u64 {
        let own = self.doc.version().get(self.doc.replica());
        own.saturating_sub(self.relay_acked)
    }
}

impl ChangeSource for Replica {
    fn version(&self) -> VersionVector {
        self.saving.durable().clone()
    }

    fn changes_since(&self, since: &VersionVector, max_bytes: usize) -> Vec<EncodedChange> {
        self.saving.changes_since(&self.doc, since, max_bytes)
    }

    fn own_replica(&self) -> Option<concord_core::ReplicaId> {
        Some(self.doc.replica())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::{ObjId, ReplicaId};

    fn edit(replica: &mut Replica, key: &str) {
        let mut tx = replica.doc.transaction();
        tx.put(ObjId::Root, key, 1i64).unwrap();
        let change = tx.commit().unwrap();
        replica.applied([change]);
    }

    #[test]
    fn nothing_is_offered_to_the_relay_before_it_is_saved() {
        let mut r = Replica::loaded(Document::new(ReplicaId(1)), String::new(), 0);
        edit(&mut r, "a");
        assert!(
            r.changes_since(&VersionVector::new(), usize::MAX)
                .is_empty()
        );
        assert!(ChangeSource::version(&r).is_empty());

        let Some(SaveBatch::Append(batch)) = r.take_save() else {
            panic!("an append batch")
        };
        assert_eq!(batch.len(), 1);
        assert_eq!(r.take_save(), None, "one batch in flight at a time");
        edit(&mut r, "b");
        assert!(r.saved());
        assert_eq!(r.unsaved(), 1, "the edit made while saving still waits");
        assert_eq!(r.changes_since(&VersionVector::new(), usize::MAX).len(), 1);
        assert_eq!(ChangeSource::version(&r).total(), 1);
    }

    #[test]
    fn a_failed_save_keeps_everything_queued() {
        let mut r = Replica::loaded(Document::new(ReplicaId(1)), String::new(), 0);
        edit(&mut r, "a");
        assert!(r.take_save().is_some());
        r.save_failed();
        edit(&mut r, "b");
        let Some(SaveBatch::Append(batch)) = r.take_save() else {
            panic!("an append batch")
        };
        assert_eq!(batch.len(), 2, "the failed change is written again");
        assert!(r.saved());
        assert_eq!(r.unsaved(), 0);
        assert!(!r.saved(), "nothing in flight");
    }

    #[test]
    fn many_records_are_compacted_into_a_snapshot() {
        let mut r = Replica::loaded(Document::new(ReplicaId(1)), String::new(), COMPACT_AFTER);
        edit(&mut r, "a");
        let Some(SaveBatch::Snapshot(bytes)) = r.take_save() else {
            panic!("a snapshot")
        };
        let back = Document::load(&bytes, ReplicaId(1)).unwrap();
        assert_eq!(back.version(), r.doc.version());
        r.saved();
        edit(&mut r, "b");
        assert!(matches!(r.take_save(), Some(SaveBatch::Append(_))));
    }

    #[test]
    fn a_fresh_replica_is_first_saved_whole() {
        let mut d = Document::new(ReplicaId(1));
        let mut tx = d.transaction();
        tx.put(ObjId::Root, "k", "v").unwrap();
        tx.commit();
        let mut r = Replica::fresh(d, String::new());
        assert_eq!(r.unsaved(), 1);
        assert!(matches!(r.take_save(), Some(SaveBatch::Snapshot(_))));
        r.saved();
        assert_eq!(ChangeSource::version(&r).total(), 1);
    }
}

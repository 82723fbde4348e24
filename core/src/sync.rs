//! A document as the sync state machines (`concord-wire`) see it: the
//! changes a peer lacks come from its history, and it makes changes as its
//! replica.

use concord_wire::{ChangeSource, Record, ReplicaId, VersionVector};

use crate::document::Document;

impl ChangeSource for Document {
    fn version(&self) -> VersionVector {
        Document::version(self).clone()
    }

    fn records_since(&self, since: &VersionVector, max_bytes: usize) -> Vec<Record> {
        Document::records_since(self, since, max_bytes)
    }

    fn own_replica(&self) -> Option<ReplicaId> {
        Some(self.replica())
    }
}

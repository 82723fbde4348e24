//! One document held by this device: the CRDT state, its token, and which of
//! its changes are saved.
//!
//! Only saved changes exist as far as the relay is concerned: the version we
//! announce, the changes we upload and the version we acknowledge all come
//! from `durable`, so nothing unsaved is ever sent or acknowledged.

use std::collections::BTreeMap;

use concord_core::{Document, EncodedChange, ReplicaId, VersionVector};
use concord_sync::{Durability, Received};
use concord_wire::{ChangeSource, DocId, DocumentSet};

use crate::store::{ReplicaStore, StoreError};

#[derive(Debug)]
pub(crate) struct Replica {
    pub(crate) doc: Document,
    pub(crate) token: String,
    /// What the store holds and what waits for saving.
    saving: Durability,
}

impl Replica {
    /// A replica whose whole state is already stored.
    pub(crate) fn loaded(doc: Document, token: String) -> Self {
        Replica {
            saving: Durability::stored(&doc),
            doc,
            token,
        }
    }

    /// Takes changes applied to `doc` (in the order applied) to be saved.
    pub(crate) fn applied(&mut self, changes: impl IntoIterator<Item = EncodedChange>) {
        self.saving.applied(changes);
    }

    /// Applies changes from the relay one by one and queues what was applied
    /// for saving (`Durability::apply_received`).
    pub(crate) fn apply_received(&mut self, changes: Vec<EncodedChange>) -> Received {
        self.saving.apply_received(&mut self.doc, changes)
    }

    pub(crate) fn unsaved(&self) -> usize {
        self.saving.unsaved().len()
    }

    /// Saves what is unsaved, all or nothing. On an error everything stays
    /// queued for the next attempt.
    pub(crate) fn save(
        &mut self,
        id: &DocId,
        store: &mut dyn ReplicaStore,
    ) -> Result<bool, StoreError> {
        let unsaved = self.saving.unsaved();
        if unsaved.is_empty() {
            return Ok(false);
        }
        let count = unsaved.len();
        store.persist(id, unsaved)?;
        self.saving.saved(count);
        Ok(true)
    }

    pub(crate) fn durable(&self) -> &VersionVector {
        self.saving.durable()
    }
}

impl ChangeSource for Replica {
    fn version(&self) -> VersionVector {
        self.saving.durable().clone()
    }

    fn changes_since(&self, since: &VersionVector, max_bytes: usize) -> Vec<EncodedChange> {
        self.saving.changes_since(&self.doc, since, max_bytes)
    }

    fn own_replica(&self) -> Option<ReplicaId> {
        Some(self.doc.replica())
    }
}

/// The replicas by document id.
#[derive(Debug, Default)]
pub(crate) struct Replicas(pub(crate) BTreeMap<DocId, Replica>);

impl DocumentSet for Replicas {
    fn change_source(&self, doc: &DocId) -> Option<&dyn ChangeSource> {
        self.0.get(doc).map(|r| r as &dyn ChangeSource)
    }
}

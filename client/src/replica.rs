//! One document held by this device: the CRDT state, its token, and which of
//! its changes are saved.
//!
//! Only saved changes exist as far as the relay is concerned: the version we
//! announce, the changes we upload and the version we acknowledge all come
//! from `durable`, so nothing unsaved is ever sent or acknowledged.

use std::collections::BTreeMap;

use concord_core::{ChangeSource, DocId, Document, DocumentSet, EncodedChange, VersionVector};

use crate::store::{ReplicaStore, StoreError};

#[derive(Debug)]
pub(crate) struct Replica {
    pub(crate) doc: Document,
    pub(crate) token: String,
    /// What the store holds.
    durable: VersionVector,
    /// Applied in memory, not yet saved, in the order applied.
    unsaved: Vec<EncodedChange>,
}

impl Replica {
    /// A replica whose whole state is already stored.
    pub(crate) fn loaded(doc: Document, token: String) -> Self {
        let durable = doc.version().clone();
        Replica {
            doc,
            token,
            durable,
            unsaved: Vec::new(),
        }
    }

    /// Takes changes applied to `doc` (in the order applied) to be saved.
    pub(crate) fn applied(&mut self, changes: impl IntoIterator<Item = EncodedChange>) {
        self.unsaved.extend(changes);
    }

    pub(crate) fn unsaved(&self) -> usize {
        self.unsaved.len()
    }

    /// Saves what is unsaved, all or nothing. On an error everything stays
    /// queued for the next attempt.
    pub(crate) fn save(
        &mut self,
        id: &DocId,
        store: &mut dyn ReplicaStore,
    ) -> Result<bool, StoreError> {
        if self.unsaved.is_empty() {
            return Ok(false);
        }
        store.persist(id, &self.unsaved)?;
        for c in self.unsaved.drain(..) {
            self.durable.observe(c.id().replica, c.id().seq);
        }
        Ok(true)
    }

    pub(crate) fn durable(&self) -> &VersionVector {
        &self.durable
    }
}

impl ChangeSource for Replica {
    fn version(&self) -> VersionVector {
        self.durable.clone()
    }

    fn changes_since(&self, since: &VersionVector, max_bytes: usize) -> Vec<EncodedChange> {
        let mut batch = self.doc.changes_since_limited(since, max_bytes);
        if !self.unsaved.is_empty() {
            // Saving is in apply order, so the saved changes stay causally
            // closed and dropping the unsaved ones keeps the batch sendable.
            batch.retain(|c| self.durable.contains(c.id()));
        }
        batch
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

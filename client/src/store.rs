//! Where a device keeps its replicas: behind a small trait, so the desktop
//! app can use SQLite and the tests memory.
//!
//! The client calls `persist` with changes (local edits and changes from the
//! relay, in the order they were applied, so each batch is causally closed on
//! top of what was persisted before) and only after it returned `Ok` does it
//! send a local change or acknowledge a remote one to the relay.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use concord_core::{EncodedChange, ReplicaId};
use concord_wire::DocId;

/// A storage failure, with the backend's error inside.
#[derive(Debug, thiserror::Error)]
#[error("replica store: {0}")]
pub struct StoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl StoreError {
    pub fn msg(msg: impl Into<String>) -> Self {
        StoreError(msg.into().into())
    }
}

/// A document as stored: its token, an optional snapshot (`Document::save`
/// bytes) and the changes persisted after it, in the order they were applied.
#[derive(Clone, Debug, Default)]
pub struct StoredDocument {
    pub token: String,
    pub snapshot: Option<Vec<u8>>,
    pub changes: Vec<EncodedChange>,
    /// The replica this device edits the document as, when not its device
    /// id: after someone forged the device's id in it (`replace`).
    pub replica: Option<ReplicaId>,
}

/// A device's durable state.
pub trait ReplicaStore: Send + 'static {
    /// The device's replica id, once one was stored.
    fn device(&mut self) -> Result<Option<ReplicaId>, StoreError>;
    /// Remembers the device's replica id (called once, before any change).
    fn set_device(&mut self, device: ReplicaId) -> Result<(), StoreError>;
    /// The documents held, with their tokens, in id order.
    fn documents(&mut self) -> Result<Vec<(DocId, String)>, StoreError>;
    /// One document, if held.
    fn load(&mut self, doc: &DocId) -> Result<Option<StoredDocument>, StoreError>;
    /// Creates the document's entry, or replaces its token.
    fn set_token(&mut self, doc: &DocId, token: &str) -> Result<(), StoreError>;
    /// Durably appends changes (all or none) to an existing entry.
    fn persist(&mut self, doc: &DocId, changes: &[EncodedChange]) -> Result<(), StoreError>;
    /// Durably makes `snapshot` the document's whole stored state (no
    /// changes after it), edited as `replica` from now on (all or none).
    /// After `Document::reissue`, which takes changes out of the history.
    fn replace(
        &mut self,
        doc: &DocId,
        snapshot: Vec<u8>,
        replica: ReplicaId,
    ) -> Result<(), StoreError>;
}

#[derive(Debug, Default)]
struct MemoryInner {
    device: Option<ReplicaId>,
    docs: BTreeMap<DocId, StoredDocument>,
    /// Test hook: while set, `persist` fails.
    failing: bool,
}

/// Keeps everything in memory. Clones share the data, so a test can start a
/// new client on the same "disk" after dropping the old one.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<MemoryInner>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// While `failing`, every `persist` returns an error (to test that
    /// nothing unsaved is sent or acknowledged).
    pub fn set_failing(&self, failing: bool) {
        self.lock().failing = failing;
    }

    /// How many changes are stored for `doc`.
    pub fn change_count(&self, doc: &DocId) -> usize {
        self.lock().docs.get(doc).map_or(0, |d| d.changes.len())
    }
}

impl ReplicaStore for MemoryStore {
    fn device(&mut self) -> Result<Option<ReplicaId>, StoreError> {
        Ok(self.lock().device)
    }

    fn set_device(&mut self, device: ReplicaId) -> Result<(), StoreError> {
        self.lock().device = Some(device);
        Ok(())
    }

    fn documents(&mut self) -> Result<Vec<(DocId, String)>, StoreError> {
        Ok(self
            .lock()
            .docs
            .iter()
            .map(|(id, d)| (id.clone(), d.token.clone()))
            .collect())
    }

    fn load(&mut self, doc: &DocId) -> Result<Option<StoredDocument>, StoreError> {
        Ok(self.lock().docs.get(doc).cloned())
    }

    fn set_token(&mut self, doc: &DocId, token: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        token.clone_into(&mut inner.docs.entry(doc.clone()).or_default().token);
        Ok(())
    }

    fn replace(
        &mut self,
        doc: &DocId,
        snapshot: Vec<u8>,
        replica: ReplicaId,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.failing {
            return Err(StoreError::msg("memory store set to fail"));
        }
        let entry = inner
            .docs
            .get_mut(doc)
            .ok_or_else(|| StoreError::msg(format!("no document {doc}")))?;
        entry.snapshot = Some(snapshot);
        entry.changes.clear();
        entry.replica = Some(replica);
        Ok(())
    }

    fn persist(&mut self, doc: &DocId, changes: &[EncodedChange]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.failing {
            return Err(StoreError::msg("memory store set to fail"));
        }
        let entry = inner
            .docs
            .get_mut(doc)
            .ok_or_else(|| StoreError::msg(format!("no document {doc}")))?;
        entry.changes.extend_from_slice(changes);
        Ok(())
    }
}

//! Where a device keeps its replicas: behind a small trait, so the desktop
//! app can use SQLite and the tests memory.
//!
//! The client hands the store what the device asks to save (`SaveWhat`:
//! change records to append in the order they were applied, so each batch
//! is causally closed on top of what was saved before; a snapshot that
//! covers every record; a replacement after a forged id) and only after it
//! returned `Ok` does it send a local change or acknowledge a remote one to
//! the relay.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use concord_core::ReplicaId;
use concord_sync::SaveWhat;
pub use concord_sync::StoredDocument;
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

/// A device's durable state.
pub trait DeviceStore: Send + 'static {
    /// The device's replica id, once one was stored.
    fn device(&mut self) -> Result<Option<ReplicaId>, StoreError>;
    /// Remembers the device's replica id (called once, before any change).
    fn set_device(&mut self, device: ReplicaId) -> Result<(), StoreError>;
    /// The documents held, with their tokens, in id order.
    fn documents(&mut self) -> Result<Vec<(DocId, String)>, StoreError>;
    /// One document, if held (`relay_acked_own` may stay 0).
    fn load(&mut self, doc: &DocId) -> Result<Option<StoredDocument>, StoreError>;
    /// Creates the document's entry, or replaces its token.
    fn set_token(&mut self, doc: &DocId, token: &str) -> Result<(), StoreError>;
    /// Durably writes what the device asked to save, all or none, to an
    /// existing entry.
    fn save(&mut self, doc: &DocId, what: &SaveWhat) -> Result<(), StoreError>;
    /// Removes the document and everything stored for it.
    fn delete(&mut self, doc: &DocId) -> Result<(), StoreError>;
}

#[derive(Debug, Default)]
struct MemoryInner {
    device: Option<ReplicaId>,
    docs: BTreeMap<DocId, StoredDocument>,
    /// Test hook: while set, `save` fails.
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

    /// While `failing`, every `save` returns an error (to test that
    /// nothing unsaved is sent or acknowledged).
    pub fn set_failing(&self, failing: bool) {
        self.lock().failing = failing;
    }

    /// How many change records are stored for `doc` after its snapshot.
    pub fn change_count(&self, doc: &DocId) -> usize {
        self.lock().docs.get(doc).map_or(0, |d| d.changes.len())
    }

    /// Whether a snapshot is stored for `doc`.
    pub fn has_snapshot(&self, doc: &DocId) -> bool {
        self.lock()
            .docs
            .get(doc)
            .is_some_and(|d| d.snapshot.is_some())
    }
}

impl DeviceStore for MemoryStore {
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

    fn save(&mut self, doc: &DocId, what: &SaveWhat) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.failing {
            return Err(StoreError::msg("memory store set to fail"));
        }
        let entry = inner
            .docs
            .get_mut(doc)
            .ok_or_else(|| StoreError::msg(format!("no document {doc}")))?;
        match what {
            SaveWhat::Append(changes) => entry.changes.extend_from_slice(changes),
            SaveWhat::Snapshot(snapshot) => {
                entry.snapshot = Some(snapshot.clone());
                entry.changes.clear();
            }
            SaveWhat::Replace { snapshot, replica } => {
                entry.snapshot = Some(snapshot.clone());
                entry.changes.clear();
                entry.replica = Some(*replica);
            }
        }
        Ok(())
    }

    fn delete(&mut self, doc: &DocId) -> Result<(), StoreError> {
        self.lock().docs.remove(doc);
        Ok(())
    }
}

//! The replica store as the sync client sees it.
//!
//! The client owns persistence of changes (it saves before it sends or
//! acknowledges); the app also reads the store (document list, titles).
//! Both go through one `SharedStore`, a mutex around the one connection.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use concord_client::{
    ReplicaStore as ClientStore, SaveWhat, StoreError as ClientStoreError, StoredDocument,
};
use concord_core::ReplicaId;
use concord_wire::DocId;

use crate::store::ReplicaStore;

/// Milliseconds since the Unix epoch (the desktop owns the clock).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[derive(Clone, Debug)]
pub struct SharedStore(Arc<Mutex<ReplicaStore>>);

impl SharedStore {
    pub fn new(store: ReplicaStore) -> Self {
        SharedStore(Arc::new(Mutex::new(store)))
    }

    /// The store, for the app's own reads and writes. Held briefly.
    pub fn lock(&self) -> MutexGuard<'_, ReplicaStore> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn wrap(e: crate::store::StoreError) -> ClientStoreError {
    ClientStoreError(Box::new(e))
}

impl ClientStore for SharedStore {
    fn device(&mut self) -> Result<Option<ReplicaId>, ClientStoreError> {
        Ok(Some(self.lock().device()))
    }

    fn set_device(&mut self, device: ReplicaId) -> Result<(), ClientStoreError> {
        if device == self.lock().device() {
            Ok(())
        } else {
            Err(ClientStoreError::msg(
                "this store already has a device id; it cannot change",
            ))
        }
    }

    fn documents(&mut self) -> Result<Vec<(DocId, String)>, ClientStoreError> {
        let mut docs: Vec<(DocId, String)> = self
            .lock()
            .list()
            .map_err(wrap)?
            .into_iter()
            .map(|d| (d.id, d.token.unwrap_or_default()))
            .collect();
        docs.sort();
        Ok(docs)
    }

    fn load(&mut self, doc: &DocId) -> Result<Option<StoredDocument>, ClientStoreError> {
        let store = self.lock();
        let Some(parts) = store.load_parts(doc).map_err(wrap)? else {
            return Ok(None);
        };
        let token = store.info(doc).map_err(wrap)?.token.unwrap_or_default();
        Ok(Some(StoredDocument {
            token,
            snapshot: parts.snapshot,
            changes: parts.changes,
            replica: Some(parts.replica),
            relay_acked_own: 0,
        }))
    }

    fn set_token(&mut self, doc: &DocId, token: &str) -> Result<(), ClientStoreError> {
        let mut store = self.lock();
        let token = (!token.is_empty()).then_some(token);
        if store.contains(doc).map_err(wrap)? {
            store.set_token(doc, token).map_err(wrap)
        } else {
            store.create(doc, "", now_ms(), token).map_err(wrap)
        }
    }

    fn save(&mut self, doc: &DocId, what: &SaveWhat) -> Result<(), ClientStoreError> {
        let mut store = self.lock();
        match what {
            SaveWhat::Append(changes) => store.append(doc, changes, None, now_ms()),
            SaveWhat::Snapshot(snapshot) => store.snapshot(doc, snapshot),
            SaveWhat::Replace { snapshot, replica } => store.replace(doc, snapshot, *replica),
        }
        .map_err(wrap)
    }

    fn delete(&mut self, doc: &DocId) -> Result<(), ClientStoreError> {
        self.lock().delete(doc).map_err(wrap)
    }
}

/// Starts the sync client on `runtime` over the store. Without a relay the
/// client stays offline for good (local only).
pub fn start_client(
    store: &SharedStore,
    relay: Option<&str>,
    runtime: &tokio::runtime::Handle,
) -> Result<concord_client::Client, concord_client::ClientError> {
    let device = store.lock().device();
    let url = relay.map_or_else(
        || "ws://127.0.0.1:9/v1/sync".to_owned(),
        crate::share::sync_url,
    );
    let client = concord_client::Client::start(
        concord_client::Config::new(url, device),
        store.clone(),
        runtime,
    )?;
    if relay.is_none() {
        client.set_online(false);
    }
    Ok(client)
}

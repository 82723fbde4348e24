//! The replica store shared by the sync client and the document list.
//!
//! Documents' contents go through the sync client only: it loads them,
//! saves what its device asks (before it sends or acknowledges) and
//! deletes them. Beside it the window and the commands keep the document
//! list's cache in the same file (titles, kinds, the first-run mark),
//! through the few methods of `SharedStore` below. Both go through one
//! mutex around the one connection.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use concord_client::{
    DeviceStore as ClientStore, SaveWhat, StoreError as ClientStoreError, StoredDocument,
};
use concord_core::ReplicaId;
use concord_wire::DocId;

use crate::store::{DocKind, DocumentInfo, SqliteStore, StoreError};

/// Milliseconds since the Unix epoch (the desktop owns the clock).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[derive(Clone, Debug)]
pub struct SharedStore(Arc<Mutex<SqliteStore>>);

impl SharedStore {
    pub fn new(store: SqliteStore) -> Self {
        SharedStore(Arc::new(Mutex::new(store)))
    }

    /// Held briefly; not for documents' contents (those go through the
    /// client).
    fn lock(&self) -> MutexGuard<'_, SqliteStore> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ---- the document list's cache ----

    /// The documents this device holds, as the list shows them.
    pub fn list(&self) -> Result<Vec<DocumentInfo>, StoreError> {
        self.lock().list()
    }

    /// One document's entry in the list.
    pub fn info(&self, id: &DocId) -> Result<DocumentInfo, StoreError> {
        self.lock().info(id)
    }

    /// The title the list shows (the document's own title lives in it).
    pub fn set_title(&self, id: &DocId, title: &str) -> Result<(), StoreError> {
        self.lock().set_title(id, title)
    }

    /// What the list shows the document as.
    pub fn set_kind(&self, id: &DocId, kind: DocKind) -> Result<(), StoreError> {
        self.lock().set_kind(id, kind)
    }

    /// Whether the first run (the demo calendar) happened.
    pub fn first_run_done(&self) -> Result<bool, StoreError> {
        self.lock().first_run_done()
    }

    pub fn mark_first_run_done(&self) -> Result<(), StoreError> {
        self.lock().mark_first_run_done()
    }
}

fn wrap(e: StoreError) -> ClientStoreError {
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
    start_client_with(store, relay, runtime, |_| {})
}

/// `start_client`, with the settings changed by `adjust` first.
pub fn start_client_with(
    store: &SharedStore,
    relay: Option<&str>,
    runtime: &tokio::runtime::Handle,
    adjust: impl FnOnce(&mut concord_client::Config),
) -> Result<concord_client::Client, concord_client::ClientError> {
    let device = store.lock().device();
    let url = relay.map_or_else(
        || "ws://127.0.0.1:9/v1/sync".to_owned(),
        crate::share::sync_url,
    );
    let mut config = concord_client::Config::new(url, device);
    adjust(&mut config);
    let client = concord_client::Client::start(config, store.clone(), runtime)?;
    if relay.is_none() {
        client.set_online(false);
    }
    Ok(client)
}

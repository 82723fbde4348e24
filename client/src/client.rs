//! The handle a UI, a command line or a test holds.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use concord_core::{Document, ObjId, ReplicaId, Transaction, VersionVector};
use concord_wire::{Access, DocId, SyncStatus};
use tokio::runtime::Handle;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::Config;
use crate::device_store::DeviceStore;
use crate::edited::Edited;
use crate::engine::Engine;
use crate::error::ClientError;
use crate::event::{ConnectionStatus, DeviceEvent};

/// Events buffered per receiver before a slow one starts losing them.
const EVENT_CAPACITY: usize = 1024;

pub(crate) struct Shared {
    pub(crate) config: Config,
    engine: Mutex<Engine>,
    /// Wakes the connection task: something to send, online/offline, shutdown.
    pub(crate) wake: Notify,
    events: broadcast::Sender<DeviceEvent>,
    task: Mutex<Option<JoinHandle<()>>>,
    device: ReplicaId,
}

impl Shared {
    /// Held only briefly and never across an `.await`. A panic while it was
    /// held (in a caller's edit closure) leaves the engine usable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A device's sync client. Cheap to clone; no method waits on the network.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("device", &self.shared.device)
            .field("relay", &self.shared.config.relay_url)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts the client on `runtime`: it connects (unless set offline) and
    /// keeps every open document in sync until `shutdown`.
    pub fn start(
        config: Config,
        mut store: impl DeviceStore,
        runtime: &Handle,
    ) -> Result<Client, ClientError> {
        config.validate()?;
        let device = if let Some(stored) = store.device()? {
            if stored != config.device {
                tracing::warn!(%stored, configured = %config.device, "the store's replica id wins");
            }
            stored
        } else {
            store.set_device(config.device)?;
            config.device
        };
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let machine = concord_sync::Device::new(device, rand::random())
            .with_max_batch_bytes(config.max_batch_bytes)
            .with_compaction(config.compaction);
        let engine = Engine::new(machine, Box::new(store), events.clone(), Instant::now());
        let shared = Arc::new(Shared {
            config,
            engine: Mutex::new(engine),
            wake: Notify::new(),
            events,
            task: Mutex::new(None),
            device,
        });
        let task = runtime.spawn(crate::connection::run(Arc::clone(&shared)));
        *shared.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
        Ok(Client { shared })
    }

    fn engine(&self) -> MutexGuard<'_, Engine> {
        self.shared.lock()
    }

    fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// This device's replica id.
    pub fn device(&self) -> ReplicaId {
        self.shared.device
    }

    /// Opens `doc` (from the store, or empty if this device never held it)
    /// and syncs it with `token`. Opening an open document with a new token
    /// replaces the token (and retries a refused subscription).
    pub fn open(&self, doc: DocId, token: impl Into<String>) -> Result<(), ClientError> {
        self.engine().open(doc, token.into(), Instant::now())?;
        self.wake();
        Ok(())
    }

    /// Starts a new document this device has never held.
    pub fn create(&self, doc: DocId, token: impl Into<String>) -> Result<(), ClientError> {
        let mut engine = self.engine();
        if engine.exists(&doc)? {
            return Err(ClientError::AlreadyExists(doc));
        }
        engine.open(doc, token.into(), Instant::now())?;
        drop(engine);
        self.wake();
        Ok(())
    }

    /// Stops syncing `doc` and lets go of it once it is saved; the store
    /// keeps it.
    pub fn close(&self, doc: &DocId) -> Result<(), ClientError> {
        self.engine().close(doc, Instant::now())?;
        self.wake();
        Ok(())
    }

    /// Stops syncing `doc` and removes it from this device (the relay and
    /// other devices keep theirs).
    pub fn delete(&self, doc: &DocId) -> Result<(), ClientError> {
        self.engine().delete(doc)?;
        self.wake();
        Ok(())
    }

    /// The open documents.
    pub fn documents(&self) -> Vec<DocId> {
        self.engine().documents()
    }

    /// The documents the store holds, with their tokens.
    pub fn stored_documents(&self) -> Result<Vec<(DocId, String)>, ClientError> {
        self.engine().stored_documents()
    }

    /// A local change: `f` edits through a transaction (each edit applies at
    /// once); the change is then saved and, once saved, sent. `Err` means
    /// nothing was applied (the document is not open); `Edited::saved` says
    /// whether the store holds the change (if not, saving is retried and
    /// the change is sent only once saved). Keep `f` short: it runs under
    /// the client's lock (and must not call the client).
    pub fn edit<R>(
        &self,
        doc: &DocId,
        f: impl FnOnce(&mut Transaction<'_>) -> R,
    ) -> Result<Edited<R>, ClientError> {
        let out = self.engine().edit(doc, f, Instant::now());
        self.wake();
        out
    }

    /// Reads a document. Keep `f` short: it runs under the client's lock
    /// (and must not call the client).
    pub fn with_document<R>(
        &self,
        doc: &DocId,
        f: impl FnOnce(&Document) -> R,
    ) -> Result<R, ClientError> {
        Ok(f(self.engine().document(doc)?))
    }

    /// Reads a document this device holds, open or not (one that is not
    /// open is loaded from the store for this call only). Keep `f` short:
    /// it runs under the client's lock (and must not call the client).
    pub fn peek<R>(&self, doc: &DocId, f: impl FnOnce(&Document) -> R) -> Result<R, ClientError> {
        self.engine().peek(doc, f)
    }

    /// The text under `key` of the root map (`Document::key_text`), if it
    /// holds a text.
    pub fn text(&self, doc: &DocId, key: &str) -> Result<Option<String>, ClientError> {
        self.with_document(doc, |d| {
            let text = d.key_text(ObjId::Root, key);
            (!text.is_missing()).then(|| text.to_string())
        })
    }

    /// The access the relay granted to `doc` on this connection, once it
    /// answered the subscription.
    pub fn access(&self, doc: &DocId) -> Option<Access> {
        self.engine().access(doc)
    }

    /// Where `doc` stands with the relay.
    pub fn status(&self, doc: &DocId) -> Result<SyncStatus, ClientError> {
        self.engine().status(doc)
    }

    /// The connection to the relay.
    pub fn connection(&self) -> ConnectionStatus {
        self.engine().connection()
    }

    /// How many of `doc`'s changes the relay has not acknowledged.
    pub fn unacked(&self, doc: &DocId) -> Result<u64, ClientError> {
        self.engine().unacked(doc)
    }

    /// How many of `doc`'s changes are applied but not yet saved.
    pub fn unsaved(&self, doc: &DocId) -> Result<usize, ClientError> {
        self.engine().unsaved(doc)
    }

    /// Everything the relay has ever confirmed storing of `doc`, as seen by
    /// this client.
    pub fn relay_acked(&self, doc: &DocId) -> Result<VersionVector, ClientError> {
        self.engine().relay_acked(doc)
    }

    /// `doc`'s version (what this device has applied).
    pub fn version(&self, doc: &DocId) -> Result<VersionVector, ClientError> {
        self.with_document(doc, |d| d.version().clone())
    }

    /// The devices connected to `doc`, as the relay last said.
    pub fn presence(&self, doc: &DocId) -> Vec<ReplicaId> {
        self.engine().presence(doc)
    }

    /// Work offline (`false`: disconnect and stay so) or online again.
    pub fn set_online(&self, online: bool) {
        self.engine().online = online;
        self.wake();
    }

    pub fn is_online(&self) -> bool {
        self.engine().online
    }

    /// Events for a UI: status changes, remote changes, errors.
    pub fn events(&self) -> broadcast::Receiver<DeviceEvent> {
        self.shared.events.subscribe()
    }

    /// Closes the connection and stops the client. Unsaved changes stay
    /// unsaved (the store already holds everything `edit` returned `Ok` for).
    pub async fn shutdown(&self) {
        self.engine().shutdown = true;
        self.wake();
        let task = self
            .shared
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the connection task failed");
        }
    }
}

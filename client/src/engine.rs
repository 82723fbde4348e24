//! The client's state behind the handle's mutex: the sans-IO `Device` and
//! the store it saves to. No IO but the store and no waiting here: the
//! connection task feeds frames in and takes frames out, the handle edits
//! and reads. After every call the saves the device asks for are written at
//! once (the store is synchronous) and reported back, and its events go out
//! on the broadcast channel, so the mutex is held only briefly.

use std::collections::BTreeMap;
use std::time::Duration;

use concord_core::{Document, ReplicaId, Transaction, VersionVector};
use concord_sync::{Device, DeviceEvent, StoredDocument};
use concord_wire::{Access, DocId, Frame, SyncStatus};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::device_store::{DeviceStore, StoreError};
use crate::edited::Edited;
use crate::error::ClientError;
use crate::event::ConnectionStatus;

pub(crate) struct Engine {
    device: Device,
    store: Box<dyn DeviceStore>,
    events: broadcast::Sender<DeviceEvent>,
    /// Time for the device is measured from here.
    origin: Instant,
    pub(crate) online: bool,
    pub(crate) shutdown: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("device", &self.device.device())
            .field("documents", &self.device.documents().collect::<Vec<_>>())
            .field("connection", &self.device.connection())
            .field("online", &self.online)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn new(
        device: Device,
        store: Box<dyn DeviceStore>,
        events: broadcast::Sender<DeviceEvent>,
        origin: Instant,
    ) -> Self {
        Engine {
            device,
            store,
            events,
            origin,
            online: true,
            shutdown: false,
        }
    }

    fn at(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.origin)
    }

    /// Writes every save the device asks for and reports each back, then
    /// sends its events. Returns the store's error per document that failed.
    fn settle(&mut self, now: Instant) -> BTreeMap<DocId, StoreError> {
        let at = self.at(now);
        let mut failed = BTreeMap::new();
        while let Some(save) = self.device.poll_save() {
            match self.store.save(&save.doc, &save.what) {
                Ok(()) => self.device.saved(save.id, at),
                Err(e) => {
                    self.device.save_failed(save.id, e.to_string(), at);
                    failed.insert(save.doc, e);
                }
            }
        }
        while let Some(event) = self.device.poll_event() {
            log(&event);
            // No receiver is fine: nobody is watching.
            let _ = self.events.send(event);
        }
        failed
    }

    // ---- documents ----

    /// Loads (or starts) `doc` and syncs it with `token`.
    pub(crate) fn open(
        &mut self,
        doc: DocId,
        token: String,
        now: Instant,
    ) -> Result<(), ClientError> {
        let at = self.at(now);
        if self.device.is_open(&doc) {
            let changed = self.device.token(&doc)? != token;
            let refused = matches!(self.device.status(&doc)?, SyncStatus::Refused { .. });
            if changed {
                self.store.set_token(&doc, &token)?;
            }
            if changed || refused {
                self.device.set_token(&doc, token, at)?;
            }
        } else {
            let stored = self.store.load(&doc)?;
            // A new document gets its entry now, its changes as they come.
            if stored.as_ref().is_none_or(|s| s.token != token) {
                self.store.set_token(&doc, &token)?;
            }
            let stored = stored.unwrap_or_default();
            self.device
                .load(doc, StoredDocument { token, ..stored }, at)?;
        }
        self.settle(now);
        Ok(())
    }

    pub(crate) fn exists(&mut self, doc: &DocId) -> Result<bool, ClientError> {
        Ok(self.device.is_open(doc) || self.store.load(doc)?.is_some())
    }

    /// Stops syncing `doc` and lets go of it once everything is saved (the
    /// store keeps it).
    pub(crate) fn close(&mut self, doc: &DocId, now: Instant) -> Result<(), ClientError> {
        self.device.unsaved(doc)?;
        self.device.retry_saves();
        if let Some(e) = self.settle(now).remove(doc) {
            return Err(e.into());
        }
        self.device.forget(doc)?;
        Ok(())
    }

    /// Lets go of `doc` and removes it from the store.
    pub(crate) fn delete(&mut self, doc: &DocId) -> Result<(), ClientError> {
        if self.device.is_open(doc) {
            self.device.forget(doc)?;
        }
        self.store.delete(doc)?;
        Ok(())
    }

    pub(crate) fn stored_documents(&mut self) -> Result<Vec<(DocId, String)>, ClientError> {
        Ok(self.store.documents()?)
    }

    pub(crate) fn documents(&self) -> Vec<DocId> {
        self.device.documents().cloned().collect()
    }

    pub(crate) fn document(&self, doc: &DocId) -> Result<&Document, ClientError> {
        Ok(self.device.document(doc)?)
    }

    /// `f` on `doc` as this device holds it: the open one, else the stored
    /// one, loaded for this call only.
    pub(crate) fn peek<R>(
        &mut self,
        doc: &DocId,
        f: impl FnOnce(&Document) -> R,
    ) -> Result<R, ClientError> {
        if let Ok(d) = self.device.document(doc) {
            return Ok(f(d));
        }
        let stored = self
            .store
            .load(doc)?
            .ok_or_else(|| ClientError::NotHeld(doc.clone()))?;
        let d = stored
            .into_document(self.device.device())
            .map_err(|e| ClientError::Load {
                doc: doc.clone(),
                reason: e.to_string(),
            })?;
        Ok(f(&d))
    }

    /// A local transaction: applied at once, saved, then (by the connection
    /// task) sent.
    pub(crate) fn edit<R>(
        &mut self,
        doc: &DocId,
        f: impl FnOnce(&mut Transaction<'_>) -> R,
        now: Instant,
    ) -> Result<Edited<R>, ClientError> {
        let value = self.device.edit(doc, f, self.at(now))?;
        let saved = match self.settle(now).remove(doc) {
            Some(e) => Err(e),
            None => Ok(()),
        };
        Ok(Edited { value, saved })
    }

    // ---- status ----

    pub(crate) fn status(&self, doc: &DocId) -> Result<SyncStatus, ClientError> {
        Ok(self.device.status(doc)?)
    }

    pub(crate) fn unacked(&self, doc: &DocId) -> Result<u64, ClientError> {
        Ok(self.device.unacked(doc)?)
    }

    pub(crate) fn unsaved(&self, doc: &DocId) -> Result<usize, ClientError> {
        Ok(self.device.unsaved(doc)?)
    }

    pub(crate) fn relay_acked(&self, doc: &DocId) -> Result<VersionVector, ClientError> {
        Ok(self.device.relay_acked(doc)?.clone())
    }

    pub(crate) fn access(&self, doc: &DocId) -> Option<Access> {
        self.device.granted(doc)
    }

    pub(crate) fn presence(&self, doc: &DocId) -> Vec<ReplicaId> {
        self.device.presence(doc).to_vec()
    }

    pub(crate) fn connection(&self) -> ConnectionStatus {
        self.device.connection()
    }

    /// A document waiting on the relay that has not moved for `timeout`.
    pub(crate) fn stalled(&self, now: Instant, timeout: Duration) -> Option<DocId> {
        self.device.stalled(self.at(now), timeout)
    }

    // ---- the connection ----

    pub(crate) fn connecting(&mut self, now: Instant) {
        self.device.connecting();
        self.settle(now);
    }

    pub(crate) fn connected(&mut self, now: Instant) {
        self.device.connected(self.at(now));
        self.settle(now);
    }

    pub(crate) fn disconnected(&mut self, now: Instant) {
        self.device.disconnected(self.at(now));
        self.settle(now);
    }

    /// Repeat the version exchange; retry failed saves.
    pub(crate) fn anti_entropy(&mut self, now: Instant) {
        self.device.anti_entropy(self.at(now));
        for (doc, e) in self.settle(now) {
            tracing::warn!(%doc, error = %e, "saving still fails");
        }
    }

    /// The next frames to send, at most `max`.
    pub(crate) fn poll_frames(&mut self, max: usize) -> Vec<Frame> {
        std::iter::from_fn(|| self.device.poll_frame())
            .take(max)
            .collect()
    }

    /// Takes in one frame from the relay.
    pub(crate) fn receive(&mut self, frame: Frame, now: Instant) {
        self.device.receive(frame, self.at(now));
        self.settle(now);
    }
}

/// What the log says about an event.
fn log(event: &DeviceEvent) {
    match event {
        DeviceEvent::RelayError { doc, code, detail } => {
            tracing::warn!(?doc, %code, %detail, "relay error");
        }
        DeviceEvent::ChangeRejected {
            doc,
            change,
            reason,
        } => {
            tracing::warn!(%doc, ?change, %reason, "rejected a change from the relay");
        }
        DeviceEvent::ChangeUnreadable {
            doc,
            change,
            reason,
        } => {
            tracing::warn!(%doc, ?change, %reason, "a change from the relay could not be read");
        }
        DeviceEvent::IdForged {
            doc,
            forged,
            new_replica,
            remade,
        } => {
            tracing::warn!(%doc, ?forged, new = %new_replica, remade, "another device wrote under this device's id; our edits go out under a new id");
        }
        DeviceEvent::SaveFailed { doc, reason } => {
            tracing::warn!(%doc, %reason, "saving failed");
        }
        DeviceEvent::Connection(_)
        | DeviceEvent::Status { .. }
        | DeviceEvent::RemoteChange { .. }
        | DeviceEvent::Presence { .. } => {}
    }
}

#[cfg(test)]
mod tests;

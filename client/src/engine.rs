//! The client's state behind the handle's mutex: the core `ClientSession`,
//! the replicas and the store. No IO and no waiting here: the connection task
//! feeds frames in and takes frames out, the handle edits and reads. Every
//! method runs in microseconds plus one store call, so the mutex is held only
//! briefly.

use std::collections::BTreeMap;
use std::time::Duration;

use concord_core::{
    ApplyError, ChangeId, Document, EncodedChange, ReplicaId, Transaction, VersionVector,
};
use concord_wire::{Access, ClientSession, DocId, ErrorCode, Frame, SessionEvent, SyncStatus};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::error::ClientError;
use crate::event::{ClientEvent, ConnectionStatus};
use crate::replica::{Replica, Replicas};
use crate::store::ReplicaStore;

#[derive(Debug)]
struct Tracked {
    status: SyncStatus,
    /// When the document last moved: it started waiting on the relay
    /// (subscribing or syncing), or a frame for its answered subscription
    /// arrived. Local edits while syncing do not count. A document waiting
    /// on the relay that has not moved for a while is stalled.
    moved: Instant,
}

pub(crate) struct Engine {
    device: ReplicaId,
    session: ClientSession,
    replicas: Replicas,
    store: Box<dyn ReplicaStore>,
    events: broadcast::Sender<ClientEvent>,
    tracked: BTreeMap<DocId, Tracked>,
    /// Per document, every version the relay has confirmed storing, across
    /// connections.
    relay_acked: BTreeMap<DocId, VersionVector>,
    connection: ConnectionStatus,
    pub(crate) online: bool,
    pub(crate) shutdown: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("device", &self.device)
            .field("documents", &self.replicas.0.keys().collect::<Vec<_>>())
            .field("connection", &self.connection)
            .field("online", &self.online)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn new(
        device: ReplicaId,
        store: Box<dyn ReplicaStore>,
        events: broadcast::Sender<ClientEvent>,
        max_batch_bytes: usize,
    ) -> Self {
        Engine {
            device,
            session: ClientSession::new(device).with_max_batch_bytes(max_batch_bytes),
            replicas: Replicas::default(),
            store,
            events,
            tracked: BTreeMap::new(),
            relay_acked: BTreeMap::new(),
            connection: ConnectionStatus::Offline,
            online: true,
            shutdown: false,
        }
    }

    fn emit(&self, event: ClientEvent) {
        send(&self.events, event);
    }

    // ---- documents ----

    /// Loads (or starts) `doc` and syncs it with `token`.
    pub(crate) fn open(
        &mut self,
        doc: DocId,
        token: String,
        now: Instant,
    ) -> Result<(), ClientError> {
        if let Some(replica) = self.replicas.0.get_mut(&doc) {
            let refused = matches!(
                self.session.status(&doc, replica.doc.version()),
                SyncStatus::Refused { .. }
            );
            if replica.token != token {
                self.store.set_token(&doc, &token)?;
                replica.token.clone_from(&token);
            } else if !refused {
                return Ok(());
            }
            self.session.subscribe(doc, token);
            self.refresh(now);
            return Ok(());
        }
        let replica = self.load(&doc, &token)?;
        self.relay_acked.entry(doc.clone()).or_default();
        self.replicas.0.insert(doc.clone(), replica);
        self.session.subscribe(doc, token);
        self.refresh(now);
        Ok(())
    }

    /// The stored replica of `doc` (its entry created if new), with `token`.
    fn load(&mut self, doc: &DocId, token: &str) -> Result<Replica, ClientError> {
        let Some(stored) = self.store.load(doc)? else {
            self.store.set_token(doc, token)?;
            return Ok(Replica::loaded(
                Document::new(self.device),
                token.to_owned(),
            ));
        };
        let bad = |reason: String| ClientError::Load {
            doc: doc.clone(),
            reason,
        };
        // The device's id, unless someone forged it in this document and
        // our changes were re-made under another (`reissue`).
        let me = stored.replica.unwrap_or(self.device);
        let mut d = if let Some(bytes) = &stored.snapshot {
            Document::load(bytes, me).map_err(|e| bad(e.to_string()))?
        } else {
            Document::new(me)
        };
        d.apply_all(stored.changes)
            .map_err(|e| bad(e.to_string()))?;
        if !d.pending().is_empty() {
            return Err(bad("stored changes lack dependencies".into()));
        }
        if stored.token != token {
            self.store.set_token(doc, token)?;
        }
        Ok(Replica::loaded(d, token.to_owned()))
    }

    pub(crate) fn exists(&mut self, doc: &DocId) -> Result<bool, ClientError> {
        Ok(self.replicas.0.contains_key(doc) || self.store.load(doc)?.is_some())
    }

    /// Stops syncing `doc` and lets go of it (the store keeps it).
    pub(crate) fn close(&mut self, doc: &DocId) -> Result<(), ClientError> {
        let replica = self
            .replicas
            .0
            .get_mut(doc)
            .ok_or_else(|| ClientError::NotOpen(doc.clone()))?;
        replica.save(doc, self.store.as_mut())?;
        self.replicas.0.remove(doc);
        self.tracked.remove(doc);
        self.relay_acked.remove(doc);
        self.session.unsubscribe(doc);
        Ok(())
    }

    pub(crate) fn stored_documents(&mut self) -> Result<Vec<(DocId, String)>, ClientError> {
        Ok(self.store.documents()?)
    }

    pub(crate) fn documents(&self) -> Vec<DocId> {
        self.replicas.0.keys().cloned().collect()
    }

    fn replica(&self, doc: &DocId) -> Result<&Replica, ClientError> {
        self.replicas
            .0
            .get(doc)
            .ok_or_else(|| ClientError::NotOpen(doc.clone()))
    }

    pub(crate) fn document(&self, doc: &DocId) -> Result<&Document, ClientError> {
        Ok(&self.replica(doc)?.doc)
    }

    /// A local transaction: applied at once, saved, then (by the connection
    /// task) sent.
    pub(crate) fn edit<R>(
        &mut self,
        doc: &DocId,
        f: impl FnOnce(&mut Transaction<'_>) -> R,
        now: Instant,
    ) -> Result<R, ClientError> {
        let replica = self
            .replicas
            .0
            .get_mut(doc)
            .ok_or_else(|| ClientError::NotOpen(doc.clone()))?;
        let mut tx = replica.doc.transaction();
        let out = f(&mut tx);
        if let Some(change) = tx.commit() {
            replica.applied([change]);
        }
        let saved = replica.save(doc, self.store.as_mut());
        if let Err(e) = &saved {
            self.emit(ClientEvent::StoreFailed {
                doc: doc.clone(),
                reason: e.to_string(),
            });
        }
        self.refresh(now);
        saved?;
        Ok(out)
    }

    // ---- status ----

    pub(crate) fn status(&self, doc: &DocId) -> Result<SyncStatus, ClientError> {
        let replica = self.replica(doc)?;
        Ok(self.session.status(doc, replica.doc.version()))
    }

    pub(crate) fn unacked(&self, doc: &DocId) -> Result<u64, ClientError> {
        let replica = self.replica(doc)?;
        Ok(self.session.unacked(doc, replica.doc.version()))
    }

    pub(crate) fn unsaved(&self, doc: &DocId) -> Result<usize, ClientError> {
        Ok(self.replica(doc)?.unsaved())
    }

    pub(crate) fn relay_acked(&self, doc: &DocId) -> Result<VersionVector, ClientError> {
        self.replica(doc)?;
        Ok(self.relay_acked.get(doc).cloned().unwrap_or_default())
    }

    pub(crate) fn access(&self, doc: &DocId) -> Option<Access> {
        self.session.access(doc)
    }

    pub(crate) fn presence(&self, doc: &DocId) -> Vec<ReplicaId> {
        self.session.presence(doc).to_vec()
    }

    pub(crate) fn connection(&self) -> ConnectionStatus {
        self.connection
    }

    pub(crate) fn set_connection(&mut self, status: ConnectionStatus) {
        if self.connection != status {
            self.connection = status;
            self.emit(ClientEvent::Connection(status));
        }
    }

    /// Recomputes every document's status; reports the ones that changed.
    fn refresh(&mut self, now: Instant) {
        for (doc, replica) in &self.replicas.0 {
            let status = self.session.status(doc, replica.doc.version());
            match self.tracked.get_mut(doc) {
                Some(t) if t.status == status => continue,
                Some(t) => {
                    // Starting to move starts the clock; moving on (more
                    // local edits while Syncing) does not: only the relay
                    // answering does (see `receive`).
                    if !should_move(&t.status) {
                        t.moved = now;
                    }
                    t.status.clone_from(&status);
                }
                None => {
                    self.tracked.insert(
                        doc.clone(),
                        Tracked {
                            status: status.clone(),
                            moved: now,
                        },
                    );
                }
            }
            self.emit(ClientEvent::Status {
                doc: doc.clone(),
                status,
            });
        }
    }

    /// A document that should be moving (subscribing or syncing) and has not
    /// for `timeout`: its subscription went unanswered or a message was lost
    /// and nothing repaired it. The connection task reconnects.
    pub(crate) fn stalled(&self, now: Instant, timeout: Duration) -> Option<DocId> {
        self.tracked.iter().find_map(|(doc, t)| {
            (should_move(&t.status) && now.duration_since(t.moved) > timeout).then(|| doc.clone())
        })
    }

    // ---- the connection ----

    pub(crate) fn connected(&mut self, now: Instant) {
        self.session.connected();
        self.set_connection(ConnectionStatus::Connected);
        for t in self.tracked.values_mut() {
            t.moved = now;
        }
        self.refresh(now);
    }

    pub(crate) fn disconnected(&mut self, now: Instant) {
        self.session.disconnected();
        self.refresh(now);
    }

    /// Repeat the version exchange; retry failed saves.
    pub(crate) fn anti_entropy(&mut self, now: Instant) {
        self.session.request_anti_entropy();
        let mut saved = Vec::new();
        for (doc, replica) in &mut self.replicas.0 {
            if replica.unsaved() > 0 {
                match replica.save(doc, self.store.as_mut()) {
                    Ok(_) => saved.push((doc.clone(), replica.durable().clone())),
                    Err(e) => tracing::warn!(%doc, error = %e, "saving still fails"),
                }
            }
        }
        for (doc, durable) in saved {
            self.session.stored(&doc, &durable);
        }
        self.refresh(now);
    }

    /// The next frames to send, at most `max`.
    pub(crate) fn poll_frames(&mut self, max: usize) -> Vec<Frame> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.session.poll_frame(&self.replicas) {
                Some(f) => out.push(f),
                None => break,
            }
        }
        out
    }

    /// Takes in one frame from the relay.
    pub(crate) fn receive(&mut self, frame: Frame, now: Instant) {
        let doc = frame.doc().cloned();
        for event in self.session.receive(frame) {
            match event {
                SessionEvent::Changes { doc, changes } => self.apply_remote(&doc, changes),
                SessionEvent::Subscribed { doc, access } => {
                    tracing::debug!(%doc, ?access, "subscribed");
                }
                SessionEvent::Refused {
                    doc,
                    code: ErrorCode::NotSubscribed,
                    detail,
                } => {
                    // The relay lost track of the subscription (not our
                    // token's fault): subscribe again rather than give up.
                    tracing::info!(%doc, %detail, "the relay forgot the subscription; resubscribing");
                    if let Some(replica) = self.replicas.0.get(&doc) {
                        self.session.subscribe(doc, replica.token.clone());
                    }
                }
                SessionEvent::Refused { doc, code, detail } => {
                    tracing::warn!(%doc, %code, %detail, "subscription refused");
                    self.emit(ClientEvent::RelayError {
                        doc: Some(doc),
                        code,
                        detail,
                    });
                }
                SessionEvent::Error { doc, code, detail } => {
                    tracing::warn!(?doc, %code, %detail, "relay error");
                    self.emit(ClientEvent::RelayError { doc, code, detail });
                }
                SessionEvent::Presence { doc, devices } => {
                    self.emit(ClientEvent::Presence { doc, devices });
                }
            }
        }
        if let Some(doc) = doc {
            if let (Some(acked), Some(relay)) =
                (self.session.acked(&doc), self.relay_acked.get_mut(&doc))
            {
                relay.merge(acked);
            }
            // Frames count as movement only once the subscription is
            // answered: a relay that got our Subscribe but whose Subscribed
            // was lost keeps sending Hellos the session ignores.
            if self.session.access(&doc).is_some()
                && let Some(t) = self.tracked.get_mut(&doc)
            {
                t.moved = now;
            }
        }
        self.refresh(now);
    }

    /// Someone sent changes under this device's id in `doc` (the relay
    /// holds another change as ours at `from_seq`): our changes from there
    /// on are re-made under a fresh replica id (`Document::reissue`), the
    /// store replaced by the result, and the document syncs again from the
    /// start. Nothing typed is lost; the user is told.
    fn reissue(&mut self, doc: &DocId, from_seq: u64) {
        let Some(replica) = self.replicas.0.get_mut(doc) else {
            return;
        };
        let old = replica.doc.replica();
        let fresh = ReplicaId(rand::random());
        let out = match replica.doc.reissue(from_seq, fresh) {
            Ok(out) => out,
            Err(e) => {
                tracing::error!(%doc, error = %e, "cannot re-make our changes under a new id");
                send(
                    &self.events,
                    ClientEvent::ChangeRejected {
                        doc: doc.clone(),
                        reason: format!(
                            "another device wrote as this one and our edits could not be re-made: {e}"
                        ),
                    },
                );
                return;
            }
        };
        if let Err(e) = self.store.replace(doc, out.doc.save(), fresh) {
            // Nothing changed: the next exchange meets the forged change
            // again and tries again.
            tracing::warn!(%doc, error = %e, "saving the re-made changes failed");
            send(
                &self.events,
                ClientEvent::StoreFailed {
                    doc: doc.clone(),
                    reason: e.to_string(),
                },
            );
            return;
        }
        tracing::warn!(%doc, forged = ?ChangeId::new(old, from_seq), new = %fresh, remade = out.changes.len(), "another device wrote under this device's id; our edits go out under a new id");
        *replica = Replica::loaded(out.doc, replica.token.clone());
        self.relay_acked.insert(doc.clone(), VersionVector::new());
        self.session.resync(doc);
        send(
            &self.events,
            ClientEvent::IdForged {
                doc: doc.clone(),
                forged: ChangeId::new(old, from_seq),
                new_replica: fresh,
                remade: out.changes.len(),
            },
        );
    }

    /// Applies changes from the relay one by one (a bad one is reported and
    /// skipped, the document unchanged by it), saves what was applied, then
    /// lets the session acknowledge it.
    fn apply_remote(&mut self, doc: &DocId, changes: Vec<EncodedChange>) {
        let Some(replica) = self.replicas.0.get_mut(doc) else {
            return;
        };
        let received = replica.apply_received(changes);
        // A change from the relay under our own id that is not ours: someone
        // forged this device's id, and our changes from that seq on can never
        // be stored. They are re-made under a fresh id (below).
        let own = replica.doc.replica();
        let forged = received
            .refused
            .iter()
            .filter(|(id, e)| id.replica == own && matches!(e, ApplyError::Equivocation(_)))
            .map(|(id, _)| id.seq)
            .min();
        for reason in received
            .refused
            .into_iter()
            .map(|(id, e)| format!("{id:?}: {e}"))
        {
            tracing::warn!(%doc, %reason, "rejected a change from the relay");
            send(
                &self.events,
                ClientEvent::ChangeRejected {
                    doc: doc.clone(),
                    reason,
                },
            );
        }
        for id in received.unreadable {
            let reason = replica
                .doc
                .unreadable()
                .get(&id)
                .cloned()
                .unwrap_or_default();
            tracing::warn!(%doc, change = ?id, %reason, "a change from the relay could not be read");
            send(
                &self.events,
                ClientEvent::ChangeUnreadable {
                    doc: doc.clone(),
                    change: id,
                    reason,
                },
            );
        }
        if let Some(seq) = forged {
            self.reissue(doc, seq);
            return;
        }
        if received.applied == 0 {
            return;
        }
        match replica.save(doc, self.store.as_mut()) {
            Ok(_) => {
                let durable = replica.durable().clone();
                self.session.stored(doc, &durable);
            }
            Err(e) => {
                tracing::warn!(%doc, error = %e, "saving remote changes failed");
                send(
                    &self.events,
                    ClientEvent::StoreFailed {
                        doc: doc.clone(),
                        reason: e.to_string(),
                    },
                );
            }
        }
        send(&self.events, ClientEvent::RemoteChange { doc: doc.clone() });
    }
}

/// Is the document waiting on the relay (subscribing or syncing)?
fn should_move(status: &SyncStatus) -> bool {
    matches!(status, SyncStatus::Connecting | SyncStatus::Syncing { .. })
}

fn send(events: &broadcast::Sender<ClientEvent>, event: ClientEvent) {
    // No receiver is fine: nobody is watching.
    let _ = events.send(event);
}

#[cfg(test)]
mod tests;

//! A device's side of sync as one state machine, free of IO.
//!
//! `Device` owns the documents a device has open, its session with the
//! relay (the wire's `ClientSession`), which of their changes are stored,
//! one compaction policy, each document's status and since when it has
//! not moved. The native client (tokio + SQLite) and the browser (a
//! WebSocket + IndexedDB) drive the same machine; they only move bytes:
//!
//! ```text
//! device.load(doc, stored, now)                 // read from the store
//! device.connected(now)                          // a socket is open
//! loop {
//!     while let Some(save) = device.poll_save() {  // write it, then report:
//!         store.write(&save)?; device.saved(save.id, now);
//!     }
//!     while let Some(frame) = device.poll_frame() { send(frame.encode()) }
//!     while let Some(event) = device.poll_event() { show(event) }
//!     device.receive(Frame::decode(&recv())?, now);
//! }
//! ```
//! Time comes in as a `Duration` since an origin the driver chooses, and
//! the fresh replica id a forged id calls for comes from a seed the driver
//! passes in: nothing here reads a clock or draws a random number.

use std::collections::VecDeque;
use std::time::Duration;

use concord_core::{ApplyError, ChangeId, Document, Record, ReplicaId, Transaction, VersionVector};
use concord_wire::{Access, ClientSession, DocId, ErrorCode, Frame, SessionEvent, SyncStatus};

use crate::durability::Durability;
use crate::event::{ConnectionStatus, DeviceEvent};
use crate::held::{Docs, Held, StoreCopy, Tracked};
use crate::save::{Compaction, Save, SaveId};
use crate::stored::{LoadError, StoredDocument};

/// What a device refuses to do.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("document {0} is not open")]
    NotOpen(DocId),
    #[error("document {0} is already open")]
    AlreadyOpen(DocId),
    #[error("document {doc} could not be loaded: {source}")]
    Load {
        doc: DocId,
        #[source]
        source: LoadError,
    },
    /// Changes from a file did not apply (the document is unchanged).
    #[error("changes refused: {0}")]
    Apply(#[from] ApplyError),
}

#[derive(Debug)]
pub struct Device {
    /// The replica id documents made here edit as.
    me: ReplicaId,
    session: ClientSession,
    docs: Docs,
    compaction: Compaction,
    connection: ConnectionStatus,
    events: VecDeque<DeviceEvent>,
    next_save: u64,
    /// splitmix64 state: fresh replica ids for reissued changes.
    random: u64,
}

impl Device {
    /// A device that edits as `device`; `seed` (drawn by the driver) makes
    /// the fresh replica ids a forged id calls for.
    pub fn new(device: ReplicaId, seed: u64) -> Self {
        Device {
            me: device,
            session: ClientSession::new(device),
            docs: Docs::default(),
            compaction: Compaction::default(),
            connection: ConnectionStatus::Offline,
            events: VecDeque::new(),
            next_save: 0,
            random: seed,
        }
    }

    /// Bound the bytes of each Changes message (keep it well under the
    /// relay's message size limit).
    #[must_use]
    pub fn with_max_batch_bytes(mut self, max: usize) -> Self {
        self.session = self.session.with_max_batch_bytes(max);
        self
    }

    #[must_use]
    pub fn with_compaction(mut self, compaction: Compaction) -> Self {
        self.compaction = compaction;
        self
    }

    /// The device's replica id (documents made here edit as it).
    pub fn device(&self) -> ReplicaId {
        self.me
    }

    // ---- documents ----

    /// Opens a document from what the store holds and starts syncing it.
    /// Parts that do not make a document open nothing.
    pub fn load(
        &mut self,
        doc: DocId,
        mut stored: StoredDocument,
        now: Duration,
    ) -> Result<(), DeviceError> {
        if self.docs.0.contains_key(&doc) {
            return Err(DeviceError::AlreadyOpen(doc));
        }
        let token = std::mem::take(&mut stored.token);
        let records = stored.changes.len();
        let acked = stored.relay_acked_own;
        let d = match stored.into_document(self.me) {
            Ok(d) => d,
            Err(source) => return Err(DeviceError::Load { doc, source }),
        };
        let durability = Durability::stored(&d);
        let mut held = Held::new(d, token, durability, StoreCopy::Records(records));
        held.relay_acked.observe(held.doc.replica(), acked);
        self.add(doc, held, now);
        Ok(())
    }

    /// Adds a document made here, nothing of which is stored yet (new,
    /// imported, or an empty replica of one on the relay), and syncs it.
    /// Its first save is a whole snapshot.
    pub fn start(
        &mut self,
        doc: DocId,
        token: String,
        document: Document,
        now: Duration,
    ) -> Result<(), DeviceError> {
        if self.docs.0.contains_key(&doc) {
            return Err(DeviceError::AlreadyOpen(doc));
        }
        let durability = Durability::nothing_stored(&document);
        self.add(
            doc,
            Held::new(document, token, durability, StoreCopy::Nothing),
            now,
        );
        Ok(())
    }

    fn add(&mut self, doc: DocId, held: Held, now: Duration) {
        self.session.subscribe(doc.clone(), held.token.clone());
        self.docs.0.insert(doc, held);
        self.refresh(now);
    }

    /// Syncs `doc` with a new token; also retries a refused subscription.
    pub fn set_token(
        &mut self,
        doc: &DocId,
        token: String,
        now: Duration,
    ) -> Result<(), DeviceError> {
        self.held_mut(doc)?.token.clone_from(&token);
        self.session.subscribe(doc.clone(), token);
        self.refresh(now);
        Ok(())
    }

    /// Stops syncing `doc` and lets go of it, unsaved changes and all (a
    /// driver that keeps the document saves first: `unsaved`). A report
    /// for its save in flight is ignored.
    pub fn forget(&mut self, doc: &DocId) -> Result<(), DeviceError> {
        self.docs
            .0
            .remove(doc)
            .ok_or_else(|| DeviceError::NotOpen(doc.clone()))?;
        self.session.unsubscribe(doc);
        Ok(())
    }

    pub fn is_open(&self, doc: &DocId) -> bool {
        self.docs.0.contains_key(doc)
    }

    /// The open documents, in id order.
    pub fn documents(&self) -> impl Iterator<Item = &DocId> {
        self.docs.0.keys()
    }

    pub fn document(&self, doc: &DocId) -> Result<&Document, DeviceError> {
        Ok(&self.held(doc)?.doc)
    }

    pub fn token(&self, doc: &DocId) -> Result<&str, DeviceError> {
        Ok(&self.held(doc)?.token)
    }

    /// A local transaction: `f` edits (each edit applies at once), the
    /// change is queued for saving, and once saved it is sent.
    pub fn edit<R>(
        &mut self,
        doc: &DocId,
        f: impl FnOnce(&mut Transaction<'_>) -> R,
        now: Duration,
    ) -> Result<R, DeviceError> {
        let held = self.held_mut(doc)?;
        let mut tx = held.doc.transaction();
        let out = f(&mut tx);
        tx.commit();
        // An edit also retries a save that failed.
        held.may_save = true;
        self.refresh(now);
        Ok(out)
    }

    /// Takes every change of `other` that `doc` lacks, as local changes to
    /// save and sync (a file made by `Document::save`). Returns how many
    /// were new. All or nothing.
    pub fn merge(
        &mut self,
        doc: &DocId,
        other: &Document,
        now: Duration,
    ) -> Result<usize, DeviceError> {
        let held = self.held_mut(doc)?;
        let n = held.doc.merge(other)?.applied.len();
        held.may_save = true;
        self.refresh(now);
        Ok(n)
    }

    fn held(&self, doc: &DocId) -> Result<&Held, DeviceError> {
        self.docs
            .0
            .get(doc)
            .ok_or_else(|| DeviceError::NotOpen(doc.clone()))
    }

    fn held_mut(&mut self, doc: &DocId) -> Result<&mut Held, DeviceError> {
        self.docs
            .0
            .get_mut(doc)
            .ok_or_else(|| DeviceError::NotOpen(doc.clone()))
    }

    // ---- saving ----

    /// The next write for the store: at most one per document in flight,
    /// none for a document whose last save failed until it changes again
    /// or `retry_saves`. Write it, then report `saved` or `save_failed`.
    pub fn poll_save(&mut self) -> Option<Save> {
        let id = SaveId(self.next_save);
        for (doc, held) in &mut self.docs.0 {
            if let Some(what) = held.take_save(id, self.compaction) {
                self.next_save += 1;
                return Some(Save {
                    id,
                    doc: doc.clone(),
                    what,
                });
            }
        }
        None
    }

    /// The save `id` is durable: what it held may now be announced, sent
    /// and acknowledged.
    pub fn saved(&mut self, id: SaveId, now: Duration) {
        let Some(doc) = self.flight_of(id) else {
            return;
        };
        let Some(held) = self.docs.0.get_mut(&doc) else {
            return;
        };
        let Some(flight) = held.in_flight.take() else {
            return;
        };
        if flight.generation == held.generation {
            held.durability.saved(&flight.version);
            if let StoreCopy::Reissued {
                replica,
                forged,
                remade,
            } = held.copy
            {
                // What the relay confirmed was for the old history.
                held.relay_acked = VersionVector::new();
                self.session.resync(&doc);
                self.events.push_back(DeviceEvent::IdForged {
                    doc: doc.clone(),
                    forged,
                    new_replica: replica,
                    remade,
                });
            }
            held.copy = flight.lands_as;
            let durable = held.durability.durable().clone();
            self.session.stored(&doc, &durable);
        }
        self.refresh(now);
    }

    /// The save `id` was not written: everything it held stays queued, and
    /// is offered again after the next change to the document or
    /// `retry_saves`.
    pub fn save_failed(&mut self, id: SaveId, reason: String, now: Duration) {
        let Some(doc) = self.flight_of(id) else {
            return;
        };
        let Some(held) = self.docs.0.get_mut(&doc) else {
            return;
        };
        held.in_flight = None;
        held.may_save = false;
        self.events
            .push_back(DeviceEvent::SaveFailed { doc, reason });
        self.refresh(now);
    }

    /// The document whose save in flight is `id`.
    fn flight_of(&self, id: SaveId) -> Option<DocId> {
        self.docs
            .0
            .iter()
            .find(|(_, h)| h.in_flight.as_ref().is_some_and(|f| f.id == id))
            .map(|(doc, _)| doc.clone())
    }

    /// Offers again the saves that failed.
    pub fn retry_saves(&mut self) {
        for held in self.docs.0.values_mut() {
            held.may_save = true;
        }
    }

    /// How many of `doc`'s changes are applied but not stored (a save in
    /// flight included).
    pub fn unsaved(&self, doc: &DocId) -> Result<usize, DeviceError> {
        let held = self.held(doc)?;
        Ok(usize::try_from(held.durability.unsaved(&held.doc)).unwrap_or(usize::MAX))
    }

    /// The version of `doc` the store holds, as the saves reported written
    /// say: what the device announces and acknowledges. A change in it is
    /// saved (an edit may be reported done).
    pub fn durable(&self, doc: &DocId) -> Result<&VersionVector, DeviceError> {
        Ok(self.held(doc)?.durability.durable())
    }

    // ---- the relay ----

    /// The driver is opening a connection.
    pub fn connecting(&mut self) {
        self.set_connection(ConnectionStatus::Connecting);
    }

    /// A connection is open: every subscription starts over.
    pub fn connected(&mut self, now: Duration) {
        self.session.connected();
        self.set_connection(ConnectionStatus::Connected);
        for t in self.docs.0.values_mut().filter_map(|h| h.tracked.as_mut()) {
            t.moved = now;
        }
        self.refresh(now);
    }

    /// The connection is gone (or never opened).
    pub fn disconnected(&mut self, now: Duration) {
        self.session.disconnected();
        self.set_connection(ConnectionStatus::Offline);
        self.refresh(now);
    }

    fn set_connection(&mut self, status: ConnectionStatus) {
        if self.connection != status {
            self.connection = status;
            self.events.push_back(DeviceEvent::Connection(status));
        }
    }

    /// Repeat the version exchange (a timer calls it on a live connection:
    /// it repairs anything lost) and retry failed saves.
    pub fn anti_entropy(&mut self, now: Duration) {
        self.session.request_anti_entropy();
        self.retry_saves();
        self.refresh(now);
    }

    /// The next frame to send, if any.
    pub fn poll_frame(&mut self) -> Option<Frame> {
        self.session.poll_frame(&self.docs)
    }

    /// Takes in one frame from the relay.
    pub fn receive(&mut self, frame: Frame, now: Duration) {
        let about = frame.doc().cloned();
        for event in self.session.receive(frame) {
            match event {
                SessionEvent::Records { doc, records } => self.apply_remote(&doc, records),
                SessionEvent::Subscribed { .. } => {}
                SessionEvent::Refused {
                    doc,
                    code: ErrorCode::NotSubscribed,
                    ..
                } => {
                    // The relay lost track of the subscription (not our
                    // token's fault): subscribe again rather than give up.
                    if let Some(held) = self.docs.0.get(&doc) {
                        self.session.subscribe(doc, held.token.clone());
                    }
                }
                SessionEvent::Refused { doc, code, detail } => {
                    self.events.push_back(DeviceEvent::RelayError {
                        doc: Some(doc),
                        code,
                        detail,
                    });
                }
                SessionEvent::Error { doc, code, detail } => {
                    self.events
                        .push_back(DeviceEvent::RelayError { doc, code, detail });
                }
                SessionEvent::Presence { doc, devices } => {
                    self.events
                        .push_back(DeviceEvent::Presence { doc, devices });
                }
            }
        }
        if let Some(doc) = about
            && let Some(held) = self.docs.0.get_mut(&doc)
        {
            if let Some(acked) = self.session.acked(&doc) {
                held.relay_acked.merge(acked);
            }
            // Frames count as movement only once the subscription is
            // answered: a relay that got our Subscribe but whose Subscribed
            // was lost keeps sending Hellos the session ignores.
            if self.session.access(&doc).is_some()
                && let Some(t) = held.tracked.as_mut()
            {
                t.moved = now;
            }
        }
        self.refresh(now);
    }

    /// Applies records from the relay (a bad change is reported and
    /// skipped, the document unchanged by it); what was applied waits for
    /// saving, and the session acknowledges it once saved.
    fn apply_remote(&mut self, doc: &DocId, records: Vec<Record>) {
        let Some(held) = self.docs.0.get_mut(doc) else {
            return;
        };
        let received = held.durability.apply_received(&mut held.doc, records);
        // A change from the relay under our own id that is not ours: someone
        // forged this device's id, and our changes from that seq on can never
        // be stored. Once every change of ours the relay holds is on its way
        // (`request_own_changes`), the first forged one is the first one
        // refused, and ours from there are re-made under a fresh id (below).
        let own = held.doc.replica();
        let forged = received
            .refused
            .iter()
            .filter(|(id, e)| id.replica == own && matches!(e, ApplyError::Equivocation(_)))
            .map(|(id, _)| id.seq)
            .min();
        for (change, e) in received.refused {
            self.events.push_back(DeviceEvent::ChangeRejected {
                doc: doc.clone(),
                change,
                reason: e.to_string(),
            });
        }
        for change in received.unreadable {
            let reason = held
                .doc
                .unreadable()
                .get(&change)
                .cloned()
                .unwrap_or_default();
            self.events.push_back(DeviceEvent::ChangeUnreadable {
                doc: doc.clone(),
                change,
                reason,
            });
        }
        if received.applied > 0 {
            held.may_save = true;
            self.events
                .push_back(DeviceEvent::RemoteChange { doc: doc.clone() });
        }
        if let Some(seq) = forged {
            if self.session.scanning_own(doc) {
                self.reissue(doc, seq);
            } else {
                // Found by the probe or a copy the relay sent back: an
                // earlier change of ours may be forged too.
                self.session.request_own_changes(doc);
            }
        }
    }

    /// Someone sent changes under this device's id in `doc` (the relay
    /// holds another change as ours at `from_seq`): our changes from there
    /// on are re-made under a fresh replica id (`Document::reissue`) and the
    /// document goes on as the result at once. Its next save replaces the
    /// stored document; until that lands nothing of it is announced or
    /// sent, and then it syncs again from the start and the user is told
    /// (`IdForged`). Nothing typed is lost.
    fn reissue(&mut self, doc: &DocId, from_seq: u64) {
        let Some(held) = self.docs.0.get_mut(doc) else {
            return;
        };
        let fresh = fresh_replica(&mut self.random, self.me, &held.doc);
        let forged = ChangeId::new(held.doc.replica(), from_seq);
        match held.doc.reissue(from_seq, fresh) {
            Ok(out) => {
                held.doc = out.doc;
                held.durability = Durability::nothing_stored(&held.doc);
                held.copy = StoreCopy::Reissued {
                    replica: fresh,
                    forged,
                    remade: out.changes.len(),
                };
                held.generation += 1;
                held.may_save = true;
            }
            Err(e) => self.events.push_back(DeviceEvent::ChangeRejected {
                doc: doc.clone(),
                change: forged,
                reason: format!(
                    "another device wrote as this one and our edits could not be re-made: {e}"
                ),
            }),
        }
    }

    // ---- status ----

    /// Where `doc` stands with the relay.
    pub fn status(&self, doc: &DocId) -> Result<SyncStatus, DeviceError> {
        let held = self.held(doc)?;
        Ok(self.session.status(doc, held.doc.version()))
    }

    pub fn connection(&self) -> ConnectionStatus {
        self.connection
    }

    /// How many of `doc`'s changes the relay has not acknowledged on this
    /// connection.
    pub fn unacked(&self, doc: &DocId) -> Result<u64, DeviceError> {
        let held = self.held(doc)?;
        Ok(self.session.unacked(doc, held.doc.version()))
    }

    /// How many of this replica's own changes to `doc` the relay has not
    /// confirmed storing, over every connection (and, for a store that
    /// keeps `StoredDocument::relay_acked_own`, over reloads).
    pub fn unsent(&self, doc: &DocId) -> Result<u64, DeviceError> {
        Ok(self.held(doc)?.unsent())
    }

    /// Every version of `doc` the relay has confirmed storing, over every
    /// connection.
    pub fn relay_acked(&self, doc: &DocId) -> Result<&VersionVector, DeviceError> {
        Ok(&self.held(doc)?.relay_acked)
    }

    /// The access the relay granted to `doc` on this connection, once it
    /// answered the subscription.
    pub fn granted(&self, doc: &DocId) -> Option<Access> {
        self.session.access(doc)
    }

    /// What this device may do to `doc`: what the relay granted on this
    /// connection, otherwise what the token claims (so a read-only share
    /// link is read-only offline too). A token that claims nothing (a
    /// `--dev` relay's, a document made here without one) counts as
    /// read-write until the relay says otherwise.
    pub fn access(&self, doc: &DocId) -> Result<Access, DeviceError> {
        let held = self.held(doc)?;
        Ok(self
            .session
            .access(doc)
            .or_else(|| Access::claimed_by_token(&held.token))
            .unwrap_or(Access::ReadWrite))
    }

    /// The devices connected to `doc`, as the relay last said.
    pub fn presence(&self, doc: &DocId) -> &[ReplicaId] {
        self.session.presence(doc)
    }

    /// A document that should be moving (subscribing or syncing) and has
    /// not for `timeout`: its subscription went unanswered or a message was
    /// lost and nothing repaired it. The driver reconnects.
    pub fn stalled(&self, now: Duration, timeout: Duration) -> Option<DocId> {
        self.docs.0.iter().find_map(|(doc, held)| {
            let t = held.tracked.as_ref()?;
            (waits_on_relay(&t.status) && now.saturating_sub(t.moved) > timeout)
                .then(|| doc.clone())
        })
    }

    /// Recomputes every document's status; reports the ones that changed.
    fn refresh(&mut self, now: Duration) {
        for (doc, held) in &mut self.docs.0 {
            let status = self.session.status(doc, held.doc.version());
            match held.tracked.as_mut() {
                Some(t) if t.status == status => continue,
                Some(t) => {
                    // Starting to wait starts the clock; waiting on (more
                    // local edits while Syncing) does not: only the relay
                    // answering does (see `receive`).
                    if !waits_on_relay(&t.status) {
                        t.moved = now;
                    }
                    t.status.clone_from(&status);
                }
                None => {
                    held.tracked = Some(Tracked {
                        status: status.clone(),
                        moved: now,
                    });
                }
            }
            self.events.push_back(DeviceEvent::Status {
                doc: doc.clone(),
                status,
            });
        }
    }

    // ---- events ----

    /// The next event for the user, oldest first.
    pub fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }
}

/// A replica id nobody in `doc` uses (nor `device`), drawn from `state`.
fn fresh_replica(state: &mut u64, device: ReplicaId, doc: &Document) -> ReplicaId {
    loop {
        let high = u128::from(splitmix64(state));
        let id = ReplicaId(high << 64 | u128::from(splitmix64(state)));
        if id.0 != 0 && id != device && id != doc.replica() && doc.version().get(id) == 0 {
            return id;
        }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Is the document waiting on the relay (subscribing or syncing)?
fn waits_on_relay(status: &SyncStatus) -> bool {
    matches!(status, SyncStatus::Connecting | SyncStatus::Syncing { .. })
}

#[cfg(test)]
mod tests;

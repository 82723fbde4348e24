//! The browser's replicas and its relay session, free of IO.
//!
//! This is the browser's counterpart of `concord-client`'s engine: it owns
//! the documents and drives core's `ClientSession`. JavaScript moves the
//! bytes: it feeds frames from the WebSocket into `receive`, sends what
//! `poll_frame` returns, writes what `take_save` returns to IndexedDB and
//! reports back with `saved`. Nothing here waits, reads a clock or draws a
//! random number.

use std::collections::BTreeMap;

use concord_core::{
    Document, EncodedChange, ObjId, ReplicaId, ScalarValue, Transaction, Value, VersionVector,
};
use concord_note::editor::{self, Anchor};
use concord_note::note;
use concord_wire::{
    Access, ChangeSource, ClientSession, DocId, DocumentSet, ErrorCode, Frame, SessionEvent,
    SyncStatus,
};

use crate::error::WebError;
use crate::replica::{Replica, SaveBatch};

/// Something the page should act on after `receive`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebEvent {
    /// Remote changes were applied: save (`take_save`) and redraw.
    Changed { doc: DocId },
    /// The relay refused the subscription (bad or expired token).
    Refused {
        doc: DocId,
        code: ErrorCode,
        detail: String,
    },
    /// An error that does not end the subscription, or a change from the
    /// relay this replica could not take.
    Error {
        doc: Option<DocId>,
        code: Option<ErrorCode>,
        detail: String,
    },
    /// Who is connected to the document now.
    Presence { doc: DocId, devices: Vec<ReplicaId> },
}

/// A text selection that stays on its characters while others edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection {
    pub start: Anchor,
    pub end: Anchor,
}

#[derive(Debug)]
struct Replicas(BTreeMap<DocId, Replica>);

impl DocumentSet for Replicas {
    fn change_source(&self, doc: &DocId) -> Option<&dyn ChangeSource> {
        self.0.get(doc).map(|r| r as &dyn ChangeSource)
    }
}

#[derive(Debug)]
pub struct Workspace {
    device: ReplicaId,
    session: ClientSession,
    replicas: Replicas,
}

/// Parses a document id given by the page.
pub fn doc_id(id: &str) -> Result<DocId, WebError> {
    DocId::new(id).map_err(|_| WebError::BadDocId(id.to_owned()))
}

/// Parses a device id (`ReplicaId` display form: 32 hex digits).
pub fn device_id(hex: &str) -> Result<ReplicaId, WebError> {
    let ok = hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    u128::from_str_radix(hex, 16)
        .ok()
        .filter(|_| ok)
        .map(ReplicaId)
        .ok_or_else(|| WebError::BadDevice(hex.to_owned()))
}

/// 16 random bytes (drawn by the caller) as 16 bytes, or an error.
pub fn random16(bytes: &[u8]) -> Result<[u8; 16], WebError> {
    bytes
        .try_into()
        .map_err(|_| WebError::BadRandom(bytes.len()))
}

impl Workspace {
    pub fn new(device: ReplicaId) -> Self {
        Workspace {
            device,
            session: ClientSession::new(device),
            replicas: Replicas(BTreeMap::new()),
        }
    }

    pub fn device(&self) -> ReplicaId {
        self.device
    }

    // ---- documents ----

    /// Opens a stored document: its snapshot (if any) and the change records
    /// stored after it, in the order they were stored, and how many of this
    /// device's changes the relay had confirmed (`relay_acked`). Starts
    /// syncing it.
    pub fn load(
        &mut self,
        doc: DocId,
        token: String,
        snapshot: Option<&[u8]>,
        records: Vec<Vec<u8>>,
        relay_acked: u64,
    ) -> Result<(), WebError> {
        if self.replicas.0.contains_key(&doc) {
            return Err(WebError::AlreadyOpen(doc));
        }
        let bad = |reason: String| WebError::Load {
            doc: doc.clone(),
            reason,
        };
        let mut d = match snapshot {
            Some(bytes) => Document::load(bytes, self.device).map_err(|e| bad(e.to_string()))?,
            None => Document::new(self.device),
        };
        let count = records.len();
        let changes = records
            .into_iter()
            .map(EncodedChange::decode)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        d.apply_all(changes).map_err(|e| bad(e.to_string()))?;
        if !d.pending().is_empty() {
            return Err(bad("stored changes lack dependencies".into()));
        }
        self.session.subscribe(doc.clone(), token.clone());
        let mut replica = Replica::loaded(d, token, count);
        replica.relay_acked = relay_acked;
        self.replicas.0.insert(doc, replica);
        Ok(())
    }

    /// Starts an empty replica of a document that lives on the relay (a
    /// share link): it fills in as it syncs.
    pub fn join(&mut self, doc: DocId, token: String) -> Result<(), WebError> {
        self.start_document(doc, token, Document::new(self.device))
    }

    /// Creates a new text document (title + empty body).
    pub fn create_note(&mut self, doc: DocId, token: String, title: &str) -> Result<(), WebError> {
        let mut d = Document::new(self.device);
        let mut tx = d.transaction();
        note::create(&mut tx, title)?;
        tx.commit();
        self.start_document(doc, token, d)
    }

    /// A new document from a file made by `export` (any document's saved
    /// bytes), under a new id.
    pub fn import_new(&mut self, doc: DocId, token: String, bytes: &[u8]) -> Result<(), WebError> {
        let d = Document::load(bytes, self.device).map_err(WebError::Import)?;
        self.start_document(doc, token, d)
    }

    /// Adds a document made here (nothing of it stored yet) and syncs it.
    pub(crate) fn start_document(
        &mut self,
        doc: DocId,
        token: String,
        d: Document,
    ) -> Result<(), WebError> {
        if self.replicas.0.contains_key(&doc) {
            return Err(WebError::AlreadyOpen(doc));
        }
        self.session.subscribe(doc.clone(), token.clone());
        self.replicas.0.insert(doc, Replica::fresh(d, token));
        Ok(())
    }

    /// Merges a file made by `export` into an open document: what it has
    /// that the document lacks becomes local changes to save and sync.
    pub fn import_into(&mut self, doc: &DocId, bytes: &[u8]) -> Result<usize, WebError> {
        self.writable(doc)?;
        let other = Document::load(bytes, self.device).map_err(WebError::Import)?;
        let replica = self.replica_mut(doc)?;
        let outcome = replica.doc.merge(&other)?;
        let applied: Vec<EncodedChange> = outcome
            .applied
            .iter()
            .filter_map(|id| replica.doc.change(*id))
            .collect();
        let n = applied.len();
        replica.applied(applied);
        Ok(n)
    }

    /// The document's full state as one file (snapshot + history).
    pub fn export(&self, doc: &DocId) -> Result<Vec<u8>, WebError> {
        Ok(self.document(doc)?.save())
    }

    /// Stops syncing a document and lets go of it (the page deletes it from
    /// IndexedDB).
    pub fn forget(&mut self, doc: &DocId) -> Result<(), WebError> {
        self.replicas
            .0
            .remove(doc)
            .ok_or_else(|| WebError::NotOpen(doc.clone()))?;
        self.session.unsubscribe(doc);
        Ok(())
    }

    /// Syncs with a new token (e.g. after a refusal).
    pub fn set_token(&mut self, doc: &DocId, token: String) -> Result<(), WebError> {
        self.replica_mut(doc)?.token.clone_from(&token);
        self.session.subscribe(doc.clone(), token);
        Ok(())
    }

    pub fn token(&self, doc: &DocId) -> Result<&str, WebError> {
        Ok(&self.replica(doc)?.token)
    }

    pub fn documents(&self) -> impl Iterator<Item = &DocId> {
        self.replicas.0.keys()
    }

    fn replica(&self, doc: &DocId) -> Result<&Replica, WebError> {
        self.replicas
            .0
            .get(doc)
            .ok_or_else(|| WebError::NotOpen(doc.clone()))
    }

    fn replica_mut(&mut self, doc: &DocId) -> Result<&mut Replica, WebError> {
        self.replicas
            .0
            .get_mut(doc)
            .ok_or_else(|| WebError::NotOpen(doc.clone()))
    }

    pub fn document(&self, doc: &DocId) -> Result<&Document, WebError> {
        Ok(&self.replica(doc)?.doc)
    }

    /// What this device may do to `doc`: what the relay granted on this
    /// connection, otherwise what the token claims (so a read-only share
    /// link opens read-only offline too). A token that claims nothing (a
    /// `--dev` relay's, a document made here without one) counts as
    /// read-write until the relay says otherwise.
    pub fn access(&self, doc: &DocId) -> Result<Access, WebError> {
        let replica = self.replica(doc)?;
        Ok(self
            .session
            .access(doc)
            .or_else(|| Access::claimed_by_token(&replica.token))
            .unwrap_or(Access::ReadWrite))
    }

    pub fn read_only(&self, doc: &DocId) -> Result<bool, WebError> {
        Ok(!self.access(doc)?.can_write())
    }

    /// Refuses a local write to a read-only document: the relay would
    /// refuse it, and it would wait unsent forever.
    fn writable(&self, doc: &DocId) -> Result<(), WebError> {
        if self.read_only(doc)? {
            return Err(WebError::ReadOnly(doc.clone()));
        }
        Ok(())
    }

    /// A local transaction: applied at once, queued for saving (and, once
    /// saved, for sending). Returns whether it changed anything. Every
    /// local write comes through here (or `import_into`); a read-only
    /// document refuses it with `WebError::ReadOnly`, changing nothing.
    pub fn edit<R>(
        &mut self,
        doc: &DocId,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<R, WebError>,
    ) -> Result<(R, bool), WebError> {
        self.writable(doc)?;
        let replica = self.replica_mut(doc)?;
        let mut tx = replica.doc.transaction();
        let out = f(&mut tx)?;
        let change = tx.commit();
        let changed = change.is_some();
        replica.applied(change);
        Ok((out, changed))
    }

    // ---- maps and text ----

    /// The root map's value under `key` (the winner if concurrent).
    pub fn get(&self, doc: &DocId, key: &str) -> Result<Option<Value>, WebError> {
        Ok(self.document(doc)?.get(ObjId::Root, key)?.cloned())
    }

    /// Every concurrent value under `key`, winner first.
    pub fn get_all(&self, doc: &DocId, key: &str) -> Result<Vec<Value>, WebError> {
        Ok(self
            .document(doc)?
            .get_all(ObjId::Root, key)?
            .iter()
            .map(|e| e.value.clone())
            .collect())
    }

    pub fn keys(&self, doc: &DocId) -> Result<Vec<String>, WebError> {
        Ok(self
            .document(doc)?
            .map(ObjId::Root)?
            .keys()
            .map(str::to_owned)
            .collect())
    }

    pub fn put(&mut self, doc: &DocId, key: &str, value: ScalarValue) -> Result<(), WebError> {
        self.edit(doc, |tx| Ok(tx.put(ObjId::Root, key, value)?))?;
        Ok(())
    }

    pub fn delete(&mut self, doc: &DocId, key: &str) -> Result<(), WebError> {
        self.edit(doc, |tx| Ok(tx.delete(ObjId::Root, key)?))?;
        Ok(())
    }

    /// The text under root `key` ("" if there is none).
    pub fn text(&self, doc: &DocId, key: &str) -> Result<String, WebError> {
        let d = self.document(doc)?;
        Ok(d.key_text(ObjId::Root, key).to_string())
    }

    /// Replaces `del` UTF-16 units at `pos` (UTF-16) of the text under root
    /// `key` with `insert`; creates the text if there is none.
    pub fn splice_text(
        &mut self,
        doc: &DocId,
        key: &str,
        pos: usize,
        del: usize,
        insert: &str,
    ) -> Result<(), WebError> {
        self.edit(doc, |tx| {
            let text = tx.doc().key_text(ObjId::Root, key);
            let len = text.len_utf16();
            let end = pos
                .checked_add(del)
                .ok_or(WebError::Position { pos, len })?;
            let start = text
                .utf16_to_char(pos)
                .ok_or(WebError::Position { pos, len })?;
            let end = text
                .utf16_to_char(end)
                .ok_or(WebError::Position { pos: end, len })?;
            Ok(tx.splice_key_text(ObjId::Root, key, start, end - start, insert)?)
        })?;
        Ok(())
    }

    /// A text field's edit: it showed `before`, now holds `after`, the caret
    /// at `caret` (UTF-16, in `after`). Turned into one splice; if remote
    /// changes landed since the field showed `before`, the splice moves past
    /// them. Returns whether the document changed.
    pub fn input(
        &mut self,
        doc: &DocId,
        key: &str,
        before: &str,
        after: &str,
        caret: Option<usize>,
    ) -> Result<bool, WebError> {
        let caret = caret.map(|c| utf16_to_char_in(after, c));
        let Some(splice) = editor::diff(before, after, caret) else {
            return Ok(false);
        };
        let now = self.text(doc, key)?;
        let splice = if now == before {
            splice
        } else {
            editor::rebase(&splice, before, &now)
        };
        let ((), changed) = self.edit(doc, |tx| {
            Ok(tx.splice_key_text(ObjId::Root, key, splice.pos, splice.del, &splice.insert)?)
        })?;
        Ok(changed)
    }

    /// Anchors a selection (UTF-16 positions) of the text under `key` on its
    /// characters.
    pub fn selection(
        &self,
        doc: &DocId,
        key: &str,
        start: usize,
        end: usize,
    ) -> Result<Selection, WebError> {
        let text = self.document(doc)?.key_text(ObjId::Root, key);
        let to_char = |p: usize| {
            text.utf16_to_char(p.min(text.len_utf16()))
                .unwrap_or(text.len_chars())
        };
        Ok(Selection {
            start: Anchor::at(&text, to_char(start)),
            end: Anchor::at(&text, to_char(end)),
        })
    }

    /// Where an anchored selection is now (UTF-16 positions).
    pub fn resolve(
        &self,
        doc: &DocId,
        key: &str,
        sel: Selection,
    ) -> Result<(usize, usize), WebError> {
        let text = self.document(doc)?.key_text(ObjId::Root, key);
        let to16 = |a: Anchor| {
            text.char_to_utf16(a.resolve(&text))
                .unwrap_or(text.len_utf16())
        };
        Ok((to16(sel.start), to16(sel.end)))
    }

    // ---- notes ----

    pub fn title(&self, doc: &DocId) -> Result<String, WebError> {
        Ok(note::title(self.document(doc)?))
    }

    pub fn titles(&self, doc: &DocId) -> Result<Vec<String>, WebError> {
        Ok(note::titles(self.document(doc)?))
    }

    pub fn set_title(&mut self, doc: &DocId, title: &str) -> Result<(), WebError> {
        self.edit(doc, |tx| Ok(note::set_title(tx, title)?))?;
        Ok(())
    }

    // ---- saving ----

    /// The next batch to write for `doc`, if one is due and none in flight.
    pub fn take_save(&mut self, doc: &DocId) -> Result<Option<SaveBatch>, WebError> {
        Ok(self.replica_mut(doc)?.take_save())
    }

    /// The batch in flight for `doc` is durable: from now on it may be sent
    /// and acknowledged.
    pub fn saved(&mut self, doc: &DocId) -> Result<(), WebError> {
        let replica = self.replica_mut(doc)?;
        if replica.saved() {
            let durable = replica.durable().clone();
            self.session.stored(doc, &durable);
        }
        Ok(())
    }

    pub fn save_failed(&mut self, doc: &DocId) -> Result<(), WebError> {
        self.replica_mut(doc)?.save_failed();
        Ok(())
    }

    /// Changes applied but not yet in IndexedDB.
    pub fn unsaved(&self, doc: &DocId) -> Result<usize, WebError> {
        Ok(self.replica(doc)?.unsaved())
    }

    // ---- the relay ----

    pub fn connected(&mut self) {
        self.session.connected();
    }

    pub fn disconnected(&mut self) {
        self.session.disconnected();
    }

    /// Repeat the version exchange on every subscription (a timer calls it).
    pub fn anti_entropy(&mut self) {
        self.session.request_anti_entropy();
    }

    /// The next frame to send, encoded.
    pub fn poll_frame(&mut self) -> Option<Vec<u8>> {
        self.session.poll_frame(&self.replicas).map(|f| f.encode())
    }

    /// Takes in one frame (a binary WebSocket message) from the relay.
    /// Undecodable bytes are an error and change nothing.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Vec<WebEvent>, WebError> {
        let frame = Frame::decode(bytes).map_err(WebError::Frame)?;
        let about = frame.doc().cloned();
        let mut out = Vec::new();
        for event in self.session.receive(frame) {
            match event {
                SessionEvent::Changes { doc, changes } => {
                    self.apply_remote(&doc, changes, &mut out);
                }
                SessionEvent::Subscribed { .. } => {}
                SessionEvent::Refused {
                    doc,
                    code: ErrorCode::NotSubscribed,
                    ..
                } => {
                    // The relay lost track of the subscription (not our
                    // token's fault): subscribe again rather than give up.
                    if let Some(replica) = self.replicas.0.get(&doc) {
                        self.session.subscribe(doc, replica.token.clone());
                    }
                }
                SessionEvent::Refused { doc, code, detail } => {
                    out.push(WebEvent::Refused { doc, code, detail });
                }
                SessionEvent::Error { doc, code, detail } => out.push(WebEvent::Error {
                    doc,
                    code: Some(code),
                    detail,
                }),
                SessionEvent::Presence { doc, devices } => {
                    out.push(WebEvent::Presence { doc, devices });
                }
            }
        }
        if let Some(doc) = about
            && let Some(acked) = self.session.acked(&doc)
            && let Some(replica) = self.replicas.0.get_mut(&doc)
        {
            replica.relay_acked = replica.relay_acked.max(acked.get(self.device));
        }
        Ok(out)
    }

    /// Applies changes from the relay one by one (a bad one is reported and
    /// skipped, the document unchanged by it) and queues them for saving;
    /// they are acknowledged once saved.
    fn apply_remote(&mut self, doc: &DocId, changes: Vec<EncodedChange>, out: &mut Vec<WebEvent>) {
        let Some(replica) = self.replicas.0.get_mut(doc) else {
            return;
        };
        let received = replica.apply_received(changes);
        let own = replica.doc.replica();
        for (id, e) in received.refused {
            if id.replica == own && matches!(e, concord_core::ApplyError::Equivocation(_)) {
                // Someone wrote under this browser's id. Its edits stay
                // here, unsent; the native client re-makes them under a new
                // id (`Document::reissue`), the browser does not yet.
                out.push(WebEvent::Error {
                    doc: Some(doc.clone()),
                    code: None,
                    detail: format!(
                        "another device wrote into this document under this browser's id \
                         ({id:?}); your edits since then are kept here but cannot be sent"
                    ),
                });
            } else {
                out.push(rejected(doc, id, &e));
            }
        }
        if !received.unreadable.is_empty()
            && let Some(summary) = replica.doc.unreadable_summary()
        {
            out.push(WebEvent::Error {
                doc: Some(doc.clone()),
                code: None,
                detail: summary,
            });
        }
        if received.applied > 0 {
            out.push(WebEvent::Changed { doc: doc.clone() });
        }
    }

    /// Where `doc` stands with the relay.
    pub fn status(&self, doc: &DocId) -> Result<SyncStatus, WebError> {
        let replica = self.replica(doc)?;
        Ok(self.session.status(doc, replica.doc.version()))
    }

    /// How many of this device's changes to `doc` the relay has not
    /// confirmed storing ("N unsent"), across connections and reloads.
    pub fn unsent(&self, doc: &DocId) -> Result<u64, WebError> {
        Ok(self.replica(doc)?.unsent())
    }

    /// How many of this device's changes the relay has confirmed storing
    /// (the page keeps it in IndexedDB for `load`).
    pub fn relay_acked(&self, doc: &DocId) -> Result<u64, WebError> {
        Ok(self.replica(doc)?.relay_acked)
    }

    pub fn presence(&self, doc: &DocId) -> &[ReplicaId] {
        self.session.presence(doc)
    }

    pub fn version(&self, doc: &DocId) -> Result<VersionVector, WebError> {
        Ok(self.document(doc)?.version().clone())
    }
}

fn rejected(doc: &DocId, id: concord_core::ChangeId, e: &impl std::fmt::Display) -> WebEvent {
    WebEvent::Error {
        doc: Some(doc.clone()),
        code: None,
        detail: format!("a change from the relay was refused ({id:?}): {e}"),
    }
}

/// The char position of UTF-16 offset `unit` in `s` (clamped to its end; an
/// offset inside a surrogate pair counts the pair as before it).
fn utf16_to_char_in(s: &str, unit: usize) -> usize {
    let mut units = 0;
    for (i, c) in s.chars().enumerate() {
        if units >= unit {
            return i;
        }
        units += c.len_utf16();
    }
    s.chars().count()
}

#[cfg(test)]
mod tests;

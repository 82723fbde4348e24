//! The browser's side of sync: concord-sync's `Device`, driven for the
//! page, plus what the page reads and edits (maps, text, notes).
//!
//! The same device machine as the native client's; only the driving
//! differs. JavaScript moves the bytes: it feeds frames from the WebSocket
//! into `receive`, sends what `poll_frame` returns, writes what `poll_save`
//! returns to IndexedDB (asynchronously: one write per document in flight)
//! and reports back with `saved` or `save_failed`, and shows what
//! `poll_event` says. Nothing here waits or draws a random number; the
//! clock is handed in at construction.

use std::time::Duration;

use concord_calendar::{Calendar, CalendarError, CalendarTx};
use concord_core::{
    Document, EncodedChange, KeyText, ObjId, ReplicaId, ScalarValue, Transaction, Value,
    VersionVector,
};
use concord_note::editor::{self, Anchor};
use concord_note::note;
use concord_sync::{Device, DeviceError, DeviceEvent, Save, SaveId, StoredDocument};
use concord_wire::{Access, DocId, Frame, SyncStatus};

use crate::error::WebError;

/// A text selection that stays on its characters while others edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection {
    pub start: Anchor,
    pub end: Anchor,
}

/// Where a collaborative text lives: under a root key (a note's body is
/// `Root("body")`), or in a calendar event's notes (`Notes(uid)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextAt<'a> {
    Root(&'a str),
    Notes(&'a str),
}

/// Runs `f` on the text at `at` in `d` (an empty text if there is none).
fn with_text<R>(
    d: &Document,
    at: TextAt<'_>,
    f: impl FnOnce(&KeyText<'_>) -> R,
) -> Result<R, WebError> {
    match at {
        TextAt::Root(key) => Ok(f(&d.key_text(ObjId::Root, key))),
        TextAt::Notes(uid) => {
            let calendar = Calendar::open(d)?;
            let text = calendar
                .notes_text(uid)
                .ok_or_else(|| CalendarError::NoSuchEvent(uid.to_owned()))?;
            Ok(f(&text))
        }
    }
}

/// Time since an origin the page chooses (`performance.now()`).
pub type Clock = Box<dyn Fn() -> Duration>;

pub struct Workspace {
    device: Device,
    clock: Clock,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
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
    /// A workspace editing as `device`. `seed` (random, from the page)
    /// makes the fresh id a forged device id calls for; `clock` says how
    /// late it is (for the stall watchdog).
    pub fn new(device: ReplicaId, seed: u64, clock: Clock) -> Self {
        Workspace {
            device: Device::new(device, seed),
            clock,
        }
    }

    pub fn device(&self) -> ReplicaId {
        self.device.device()
    }

    fn now(&self) -> Duration {
        (self.clock)()
    }

    // ---- documents ----

    /// Opens a stored document: its snapshot (if any) and the change records
    /// stored after it, in the order they were stored, how many of its own
    /// changes the relay had confirmed (`relay_acked`), and the replica it
    /// is edited as if a `Replace` said so. Starts syncing it.
    pub fn load(
        &mut self,
        doc: DocId,
        token: String,
        snapshot: Option<&[u8]>,
        records: Vec<Vec<u8>>,
        relay_acked: u64,
        replica: Option<ReplicaId>,
    ) -> Result<(), WebError> {
        let changes = records
            .into_iter()
            .map(EncodedChange::decode)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WebError::Load {
                doc: doc.clone(),
                reason: e.to_string(),
            })?;
        let stored = StoredDocument {
            token,
            snapshot: snapshot.map(<[u8]>::to_vec),
            changes,
            replica,
            relay_acked_own: relay_acked,
        };
        let now = self.now();
        Ok(self.device.load(doc, stored, now)?)
    }

    /// Starts an empty replica of a document that lives on the relay (a
    /// share link): it fills in as it syncs.
    pub fn join(&mut self, doc: DocId, token: String) -> Result<(), WebError> {
        self.start_document(doc, token, Document::new(self.device()))
    }

    /// Creates a new text document (title + empty body).
    pub fn create_note(&mut self, doc: DocId, token: String, title: &str) -> Result<(), WebError> {
        let mut d = Document::new(self.device());
        let mut tx = d.transaction();
        note::create(&mut tx, title)?;
        tx.commit();
        self.start_document(doc, token, d)
    }

    /// A new document from a file made by `export` (any document's saved
    /// bytes), under a new id.
    pub fn import_new(&mut self, doc: DocId, token: String, bytes: &[u8]) -> Result<(), WebError> {
        let d = Document::load(bytes, self.device()).map_err(WebError::Import)?;
        self.start_document(doc, token, d)
    }

    /// Adds a document made here (nothing of it stored yet) and syncs it.
    pub(crate) fn start_document(
        &mut self,
        doc: DocId,
        token: String,
        d: Document,
    ) -> Result<(), WebError> {
        let now = self.now();
        Ok(self.device.start(doc, token, d, now)?)
    }

    /// Merges a file made by `export` into an open document: what it has
    /// that the document lacks becomes local changes to save and sync.
    pub fn import_into(&mut self, doc: &DocId, bytes: &[u8]) -> Result<usize, WebError> {
        self.writable(doc)?;
        let other = Document::load(bytes, self.device()).map_err(WebError::Import)?;
        let now = self.now();
        Ok(self.device.merge(doc, &other, now)?)
    }

    /// The document's full state as one file (snapshot + history).
    pub fn export(&self, doc: &DocId) -> Result<Vec<u8>, WebError> {
        Ok(self.document(doc)?.save())
    }

    /// Stops syncing a document and lets go of it (the page deletes it from
    /// IndexedDB).
    pub fn forget(&mut self, doc: &DocId) -> Result<(), WebError> {
        Ok(self.device.forget(doc)?)
    }

    /// Syncs with a new token (e.g. after a refusal).
    pub fn set_token(&mut self, doc: &DocId, token: String) -> Result<(), WebError> {
        let now = self.now();
        Ok(self.device.set_token(doc, token, now)?)
    }

    pub fn token(&self, doc: &DocId) -> Result<&str, WebError> {
        Ok(self.device.token(doc)?)
    }

    pub fn documents(&self) -> impl Iterator<Item = &DocId> {
        self.device.documents()
    }

    pub fn document(&self, doc: &DocId) -> Result<&Document, WebError> {
        Ok(self.device.document(doc)?)
    }

    /// What this device may do to `doc` (`Device::access`: what the relay
    /// granted, else what the token claims).
    pub fn access(&self, doc: &DocId) -> Result<Access, WebError> {
        Ok(self.device.access(doc)?)
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
        let before = self.document(doc)?.version().total();
        let now = self.now();
        let out = self.device.edit(doc, f, now)?;
        let changed = self.document(doc)?.version().total() != before;
        Ok((out?, changed))
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
        self.field_text(doc, TextAt::Root(key))
    }

    /// The text at `at` ("" if there is none).
    pub fn field_text(&self, doc: &DocId, at: TextAt<'_>) -> Result<String, WebError> {
        with_text(self.document(doc)?, at, |text| text.to_string())
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

    /// A text field's edit of the text under root `key`: see `field_input`.
    /// Returns whether the document changed.
    pub fn input(
        &mut self,
        doc: &DocId,
        key: &str,
        before: &str,
        after: &str,
        caret: Option<usize>,
    ) -> Result<bool, WebError> {
        Ok(self
            .field_input(doc, TextAt::Root(key), before, after, caret)?
            .is_some())
    }

    /// A text field's edit: it showed `before`, now holds `after`, the caret
    /// at `caret` (UTF-16, in `after`). Turned into one splice; if remote
    /// changes landed since the field showed `before` (the field was left
    /// alone meanwhile, as during an IME composition), the splice moves past
    /// them. Returns where the caret belongs in the document's text now
    /// (UTF-16: after what the splice inserted), or `None` if nothing changed.
    pub fn field_input(
        &mut self,
        doc: &DocId,
        at: TextAt<'_>,
        before: &str,
        after: &str,
        caret: Option<usize>,
    ) -> Result<Option<usize>, WebError> {
        let caret = caret.map(|c| utf16_to_char_in(after, c));
        let Some(splice) = editor::diff(before, after, caret) else {
            return Ok(None);
        };
        let now = self.field_text(doc, at)?;
        let splice = if now == before {
            splice
        } else {
            editor::rebase(&splice, before, &now)
        };
        let ((), changed) = self.edit(doc, |tx| match at {
            TextAt::Root(key) => {
                Ok(tx.splice_key_text(ObjId::Root, key, splice.pos, splice.del, &splice.insert)?)
            }
            TextAt::Notes(uid) => Ok(CalendarTx::open(tx)?.splice_notes(
                uid,
                splice.pos,
                splice.del,
                &splice.insert,
            )?),
        })?;
        if !changed {
            return Ok(None);
        }
        let end = splice.pos + splice.insert.chars().count();
        with_text(self.document(doc)?, at, |text| {
            text.char_to_utf16(end).unwrap_or(text.len_utf16())
        })
        .map(Some)
    }

    /// Anchors a selection (UTF-16 positions) of the text at `at` on its
    /// characters.
    pub fn selection(
        &self,
        doc: &DocId,
        at: TextAt<'_>,
        start: usize,
        end: usize,
    ) -> Result<Selection, WebError> {
        with_text(self.document(doc)?, at, |text| {
            let to_char = |p: usize| {
                text.utf16_to_char(p.min(text.len_utf16()))
                    .unwrap_or(text.len_chars())
            };
            Selection {
                start: Anchor::at(text, to_char(start)),
                end: Anchor::at(text, to_char(end)),
            }
        })
    }

    /// Where an anchored selection is now (UTF-16 positions).
    pub fn resolve(
        &self,
        doc: &DocId,
        at: TextAt<'_>,
        sel: Selection,
    ) -> Result<(usize, usize), WebError> {
        with_text(self.document(doc)?, at, |text| {
            let to16 = |a: Anchor| {
                text.char_to_utf16(a.resolve(text))
                    .unwrap_or(text.len_utf16())
            };
            (to16(sel.start), to16(sel.end))
        })
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

    /// The next write for IndexedDB, if one is due: at most one per
    /// document in flight.
    pub fn poll_save(&mut self) -> Option<Save> {
        self.device.poll_save()
    }

    /// The write `id` is durable: from now on it may be sent and
    /// acknowledged.
    pub fn saved(&mut self, id: SaveId) {
        let now = self.now();
        self.device.saved(id, now);
    }

    /// The write `id` failed: it is offered again after the next change to
    /// its document, or after `retry_saves`.
    pub fn save_failed(&mut self, id: SaveId, reason: String) {
        let now = self.now();
        self.device.save_failed(id, reason, now);
    }

    pub fn retry_saves(&mut self) {
        self.device.retry_saves();
    }

    /// Changes applied but not yet in IndexedDB.
    pub fn unsaved(&self, doc: &DocId) -> Result<usize, WebError> {
        Ok(self.device.unsaved(doc)?)
    }

    // ---- the relay ----

    pub fn connected(&mut self) {
        let now = self.now();
        self.device.connected(now);
    }

    pub fn disconnected(&mut self) {
        let now = self.now();
        self.device.disconnected(now);
    }

    /// Repeat the version exchange on every subscription and retry failed
    /// saves (a timer calls it).
    pub fn anti_entropy(&mut self) {
        let now = self.now();
        self.device.anti_entropy(now);
    }

    /// The next frame to send, encoded.
    pub fn poll_frame(&mut self) -> Option<Vec<u8>> {
        self.device.poll_frame().map(|f| f.encode())
    }

    /// Takes in one frame (a binary WebSocket message) from the relay.
    /// Undecodable bytes are an error and change nothing.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(), WebError> {
        let frame = Frame::decode(bytes).map_err(WebError::Frame)?;
        let now = self.now();
        self.device.receive(frame, now);
        Ok(())
    }

    /// The next thing that happened, for the page to show.
    pub fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.device.poll_event()
    }

    /// A document waiting on the relay that has not moved for `timeout`:
    /// the page reconnects.
    pub fn stalled(&self, timeout: Duration) -> Option<DocId> {
        self.device.stalled(self.now(), timeout)
    }

    /// Where `doc` stands with the relay.
    pub fn status(&self, doc: &DocId) -> Result<SyncStatus, WebError> {
        Ok(self.device.status(doc)?)
    }

    /// How many of this device's changes to `doc` the relay has not
    /// confirmed storing ("N unsent"), across connections and reloads.
    pub fn unsent(&self, doc: &DocId) -> Result<u64, WebError> {
        Ok(self.device.unsent(doc)?)
    }

    /// How many of its own changes to `doc` the relay has confirmed
    /// storing (the page keeps it in IndexedDB for `load`).
    pub fn relay_acked(&self, doc: &DocId) -> Result<u64, WebError> {
        let own = self.document(doc)?.replica();
        Ok(self.device.relay_acked(doc)?.get(own))
    }

    pub fn presence(&self, doc: &DocId) -> &[ReplicaId] {
        self.device.presence(doc)
    }

    pub fn version(&self, doc: &DocId) -> Result<VersionVector, WebError> {
        Ok(self.document(doc)?.version().clone())
    }
}

impl From<DeviceError> for WebError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::NotOpen(doc) => WebError::NotOpen(doc),
            DeviceError::AlreadyOpen(doc) => WebError::AlreadyOpen(doc),
            DeviceError::Load { doc, source } => WebError::Load {
                doc,
                reason: source.to_string(),
            },
            DeviceError::Apply(e) => WebError::Apply(e),
        }
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
impl Workspace {
    /// A workspace whose clock stands still, for tests that do not look at
    /// stalls.
    pub(crate) fn standing(device: ReplicaId) -> Self {
        Workspace::new(device, 1, Box::new(|| Duration::ZERO))
    }
}

#[cfg(test)]
mod tests;

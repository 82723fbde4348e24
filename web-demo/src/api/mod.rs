//! The JavaScript binding: `Workspace` and the small classes it returns.
//!
//! Thin by design: each method parses its arguments, calls the pure
//! `workspace::Workspace`, and converts the answer. Positions in text are
//! UTF-16 code units, like JavaScript strings and `<textarea>` selections.
//! Errors are thrown as `Error` with a message for people.

use std::time::Duration;

use concord_core::{ScalarValue, Value};
use concord_sync::{DeviceEvent, Save, SaveId, SaveWhat};
use concord_wire::SyncStatus;
use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

mod calendar;

pub use calendar::{CalendarEvent, CalendarOccurrence};

use crate::error::WebError;
use crate::workspace::{self, Selection, TextAt, device_id, doc_id, random16};

impl From<WebError> for JsValue {
    fn from(e: WebError) -> JsValue {
        JsError::new(&e.to_string()).into()
    }
}

/// One browser profile's Concord: its replicas (documents) and its session
/// with the relay. JavaScript keeps it fed: frames from the WebSocket go to
/// `receive`, frames from `pollFrame` go to the WebSocket, batches from
/// `pollSave` go to IndexedDB and are confirmed with `saved`, and
/// `takeEvents` says what happened.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Workspace {
    inner: workspace::Workspace,
}

#[wasm_bindgen]
impl Workspace {
    /// A workspace for this device. `device` is the replica id as 32 hex
    /// digits (make one once per browser profile with `Workspace.newId` and
    /// keep it: two tabs must never share one at the same time); `random`
    /// is 16 random bytes (`crypto.getRandomValues`), the seed of the fresh
    /// id a forged device id calls for.
    #[wasm_bindgen(constructor)]
    pub fn new(device: &str, random: &[u8]) -> Result<Workspace, WebError> {
        let random = random16(random)?;
        let (high, low) = random.split_at(8);
        let fold = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
        Ok(Workspace {
            inner: workspace::Workspace::new(
                device_id(device)?,
                fold(high) ^ fold(low),
                Box::new(page_clock),
            ),
        })
    }

    /// A fresh id (32 hex digits) from 16 random bytes the caller drew
    /// (`crypto.getRandomValues`): for a device or a new document.
    #[wasm_bindgen(js_name = newId)]
    pub fn new_id(random: &[u8]) -> Result<String, WebError> {
        Ok(concord_wire::DocId::from_random(random16(random)?).to_string())
    }

    /// This device's replica id.
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> String {
        self.inner.device().to_string()
    }

    // ---- documents ----

    /// Opens a stored document from its snapshot (or `null`) and the change
    /// records stored after it, in stored order, and starts syncing it.
    /// `relayAcked` is what `relayAcked` said before (0 if unknown);
    /// `replica` is the `replica` of the last batch that had one (or
    /// `undefined`). Throws if the bytes are corrupt: then nothing is
    /// opened, and the page must not write over what is stored.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "wasm-bindgen hands JavaScript arrays over by value"
    )]
    pub fn load(
        &mut self,
        doc: &str,
        token: &str,
        snapshot: Option<Vec<u8>>,
        records: Vec<Uint8Array>,
        relay_acked: f64,
        replica: Option<String>,
    ) -> Result<(), WebError> {
        let records = records.iter().map(Uint8Array::to_vec).collect();
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a change count the page stored; junk becomes 0"
        )]
        let acked = if relay_acked.is_finite() && relay_acked > 0.0 {
            relay_acked as u64
        } else {
            0
        };
        let replica = replica.as_deref().map(device_id).transpose()?;
        self.inner.load(
            doc_id(doc)?,
            token.into(),
            snapshot.as_deref(),
            records,
            acked,
            replica,
        )
    }

    /// How many of this device's changes to `doc` the relay has confirmed
    /// storing; keep it with the document and hand it to `load`.
    #[wasm_bindgen(js_name = relayAcked)]
    pub fn relay_acked(&self, doc: &str) -> Result<f64, WebError> {
        #[allow(
            clippy::cast_precision_loss,
            reason = "change counts stay far below 2^53"
        )]
        Ok(self.inner.relay_acked(&doc_id(doc)?)? as f64)
    }

    /// Creates a new text document (`title` + empty `body`) and starts
    /// syncing it.
    #[wasm_bindgen(js_name = createNote)]
    pub fn create_note(&mut self, doc: &str, token: &str, title: &str) -> Result<(), WebError> {
        self.inner.create_note(doc_id(doc)?, token.into(), title)
    }

    /// Starts an empty replica of a document that lives on the relay (from a
    /// share link); it fills in as it syncs.
    pub fn join(&mut self, doc: &str, token: &str) -> Result<(), WebError> {
        self.inner.join(doc_id(doc)?, token.into())
    }

    /// A new document `doc` from a file made by `export`.
    #[wasm_bindgen(js_name = importNew)]
    pub fn import_new(&mut self, doc: &str, token: &str, bytes: &[u8]) -> Result<(), WebError> {
        self.inner.import_new(doc_id(doc)?, token.into(), bytes)
    }

    /// Merges a file made by `export` into an open document. Returns how
    /// many changes were new.
    #[wasm_bindgen(js_name = importInto)]
    pub fn import_into(&mut self, doc: &str, bytes: &[u8]) -> Result<u32, WebError> {
        let n = self.inner.import_into(&doc_id(doc)?, bytes)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The whole document (state and history) as one file.
    pub fn export(&self, doc: &str) -> Result<Vec<u8>, WebError> {
        self.inner.export(&doc_id(doc)?)
    }

    /// Stops syncing a document and lets go of it.
    pub fn forget(&mut self, doc: &str) -> Result<(), WebError> {
        self.inner.forget(&doc_id(doc)?)
    }

    /// Replaces a document's access token and subscribes again.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&mut self, doc: &str, token: &str) -> Result<(), WebError> {
        self.inner.set_token(&doc_id(doc)?, token.into())
    }

    /// Whether `doc` is read-only: the relay granted read access on this
    /// connection, or (before it said) the token claims only read. Every
    /// edit of a read-only document throws.
    #[wasm_bindgen(js_name = readOnly)]
    pub fn read_only(&self, doc: &str) -> Result<bool, WebError> {
        self.inner.read_only(&doc_id(doc)?)
    }

    pub fn token(&self, doc: &str) -> Result<String, WebError> {
        Ok(self.inner.token(&doc_id(doc)?)?.to_owned())
    }

    /// The open documents' ids, sorted.
    pub fn documents(&self) -> Vec<String> {
        self.inner.documents().map(ToString::to_string).collect()
    }

    // ---- maps ----

    /// The value under `key` in the document's root map (the winner of
    /// concurrent writes): a string, number, boolean, `null`, `Uint8Array`,
    /// `{object: "text" | "map" | "set"}` for a nested object, or
    /// `undefined` if the key is not set.
    pub fn get(&self, doc: &str, key: &str) -> Result<JsValue, WebError> {
        Ok(self
            .inner
            .get(&doc_id(doc)?, key)?
            .map_or(JsValue::UNDEFINED, |v| to_js(&v)))
    }

    /// Every concurrent value under `key`, winner first (more than one means
    /// two devices wrote it at once; writing it again resolves that).
    #[wasm_bindgen(js_name = getAll)]
    pub fn get_all(&self, doc: &str, key: &str) -> Result<Vec<JsValue>, WebError> {
        Ok(self
            .inner
            .get_all(&doc_id(doc)?, key)?
            .iter()
            .map(to_js)
            .collect())
    }

    /// The root map's keys, sorted.
    pub fn keys(&self, doc: &str) -> Result<Vec<String>, WebError> {
        self.inner.keys(&doc_id(doc)?)
    }

    /// Sets `key` of the root map: a string, a number (a safe integer is
    /// stored as an integer), a bigint, a boolean, `null` or a `Uint8Array`.
    pub fn put(&mut self, doc: &str, key: &str, value: &JsValue) -> Result<(), WebError> {
        let value = from_js(value)?;
        self.inner.put(&doc_id(doc)?, key, value)
    }

    /// Removes `key` from the root map.
    pub fn delete(&mut self, doc: &str, key: &str) -> Result<(), WebError> {
        self.inner.delete(&doc_id(doc)?, key)
    }

    // ---- text ----

    /// The text under root `key` ("" if none). A note's body is `"body"`.
    pub fn text(&self, doc: &str, key: &str) -> Result<String, WebError> {
        self.inner.text(&doc_id(doc)?, key)
    }

    /// Deletes `del` UTF-16 units at `pos` of the text under `key`, then
    /// inserts `insert` there (creating the text if needed).
    #[wasm_bindgen(js_name = spliceText)]
    pub fn splice_text(
        &mut self,
        doc: &str,
        key: &str,
        pos: u32,
        del: u32,
        insert: &str,
    ) -> Result<(), WebError> {
        self.inner
            .splice_text(&doc_id(doc)?, key, pos as usize, del as usize, insert)
    }

    /// A text field's edit: it showed `before` and now holds `after`, the
    /// caret at `caret` (or `undefined`). Becomes one splice, moved past any
    /// remote edit that landed since `before`. Returns whether the document
    /// changed.
    pub fn input(
        &mut self,
        doc: &str,
        key: &str,
        before: &str,
        after: &str,
        caret: Option<u32>,
    ) -> Result<bool, WebError> {
        self.inner
            .input(&doc_id(doc)?, key, before, after, caret.map(|c| c as usize))
    }

    /// `input`, returning where the caret belongs in the document's text
    /// now (UTF-16: after what the edit inserted, moved past any remote
    /// edit that landed meanwhile), or `undefined` if nothing changed. What
    /// a bound text field uses: after an IME composition, remote edits may
    /// have landed in front of the caret.
    #[wasm_bindgen(js_name = inputText)]
    pub fn input_text(
        &mut self,
        doc: &str,
        key: &str,
        before: &str,
        after: &str,
        caret: Option<u32>,
    ) -> Result<Option<u32>, WebError> {
        Ok(self
            .inner
            .field_input(
                &doc_id(doc)?,
                TextAt::Root(key),
                before,
                after,
                caret.map(|c| c as usize),
            )?
            .map(to_u32))
    }

    /// Anchors a selection of the text under `key` on its characters; after
    /// remote edits, `resolveSelection` says where it is now.
    pub fn selection(
        &self,
        doc: &str,
        key: &str,
        start: u32,
        end: u32,
    ) -> Result<TextSelection, WebError> {
        Ok(TextSelection(self.inner.selection(
            &doc_id(doc)?,
            TextAt::Root(key),
            start as usize,
            end as usize,
        )?))
    }

    /// `[start, end]` of an anchored selection in the text as it is now.
    #[wasm_bindgen(js_name = resolveSelection)]
    pub fn resolve_selection(
        &self,
        doc: &str,
        key: &str,
        selection: &TextSelection,
    ) -> Result<Vec<u32>, WebError> {
        let (start, end) = self
            .inner
            .resolve(&doc_id(doc)?, TextAt::Root(key), selection.0)?;
        Ok(vec![to_u32(start), to_u32(end)])
    }

    // ---- notes ----

    /// A note's title ("" if none).
    pub fn title(&self, doc: &str) -> Result<String, WebError> {
        self.inner.title(&doc_id(doc)?)
    }

    /// Every concurrent title, winner first.
    pub fn titles(&self, doc: &str) -> Result<Vec<String>, WebError> {
        self.inner.titles(&doc_id(doc)?)
    }

    /// Renames a note (also picks one of concurrent titles).
    #[wasm_bindgen(js_name = setTitle)]
    pub fn set_title(&mut self, doc: &str, title: &str) -> Result<(), WebError> {
        self.inner.set_title(&doc_id(doc)?, title)
    }

    // ---- saving ----

    /// The next batch to write to IndexedDB, or `undefined` if nothing
    /// waits (at most one batch per document is in flight). Write it in one
    /// transaction, then call `saved(batch.id)` (or `saveFailed`).
    #[wasm_bindgen(js_name = pollSave)]
    pub fn poll_save(&mut self) -> Option<SaveBatch> {
        self.inner.poll_save().map(SaveBatch)
    }

    /// The batch `id` is durable: what it held may now be sent and
    /// acknowledged.
    pub fn saved(&mut self, id: f64) {
        self.inner.saved(save_id(id));
    }

    /// The batch `id` was not written; it is offered again after the next
    /// edit of its document or `retrySaves`.
    #[wasm_bindgen(js_name = saveFailed)]
    pub fn save_failed(&mut self, id: f64, reason: &str) {
        self.inner.save_failed(save_id(id), reason.into());
    }

    /// Offers the batches that failed again (call after a pause).
    #[wasm_bindgen(js_name = retrySaves)]
    pub fn retry_saves(&mut self) {
        self.inner.retry_saves();
    }

    // ---- the relay ----

    /// A WebSocket to the relay is open: every subscription starts over.
    pub fn connected(&mut self) {
        self.inner.connected();
    }

    /// The WebSocket is gone.
    pub fn disconnected(&mut self) {
        self.inner.disconnected();
    }

    /// Repeats the version exchange (call every few seconds: it repairs
    /// anything lost) and offers failed batches again.
    #[wasm_bindgen(js_name = antiEntropy)]
    pub fn anti_entropy(&mut self) {
        self.inner.anti_entropy();
    }

    /// The next binary message to send to the relay, or `undefined`.
    #[wasm_bindgen(js_name = pollFrame)]
    pub fn poll_frame(&mut self) -> Option<Vec<u8>> {
        self.inner.poll_frame()
    }

    /// Takes in one binary message from the relay (`takeEvents` says what
    /// happened). Throws on bytes that are not a frame (nothing changes
    /// then).
    pub fn receive(&mut self, frame: &[u8]) -> Result<(), WebError> {
        self.inner.receive(frame)
    }

    /// What happened since the last call, oldest first.
    #[wasm_bindgen(js_name = takeEvents)]
    pub fn take_events(&mut self) -> Vec<SyncEvent> {
        std::iter::from_fn(|| self.inner.poll_event())
            .map(SyncEvent)
            .collect()
    }

    /// A document waiting on the relay that has not moved for `timeoutMs`
    /// (its id), or `undefined`: then reconnect.
    pub fn stalled(&self, timeout_ms: f64) -> Option<String> {
        let timeout = Duration::from_secs_f64(timeout_ms.max(0.0) / 1000.0);
        self.inner.stalled(timeout).map(|d| d.to_string())
    }

    /// Where a document stands with the relay.
    pub fn status(&self, doc: &str) -> Result<DocStatus, WebError> {
        let id = doc_id(doc)?;
        Ok(DocStatus {
            status: self.inner.status(&id)?,
            unacked: self.inner.unsent(&id)?,
            unsaved: self.inner.unsaved(&id)?,
        })
    }

    /// The devices (replica ids) connected to the document, as the relay
    /// last said.
    pub fn presence(&self, doc: &str) -> Result<Vec<String>, WebError> {
        Ok(self
            .inner
            .presence(&doc_id(doc)?)
            .iter()
            .map(ToString::to_string)
            .collect())
    }
}

/// A selection anchored on characters (see `Workspace.selection`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct TextSelection(pub(crate) Selection);

/// A batch to write to IndexedDB in one transaction.
#[wasm_bindgen]
#[derive(Debug)]
pub struct SaveBatch(Save);

#[wasm_bindgen]
impl SaveBatch {
    /// What to confirm with `saved` or `saveFailed`.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> f64 {
        #[allow(clippy::cast_precision_loss, reason = "save ids stay far below 2^53")]
        let id = self.0.id.0 as f64;
        id
    }

    /// The document it is for.
    #[wasm_bindgen(getter)]
    pub fn doc(&self) -> String {
        self.0.doc.to_string()
    }

    /// If set, replace the document's snapshot with these bytes and delete
    /// its change records; otherwise append `changes`.
    #[wasm_bindgen(getter)]
    pub fn snapshot(&self) -> Option<Vec<u8>> {
        match &self.0.what {
            SaveWhat::Snapshot(bytes)
            | SaveWhat::Replace {
                snapshot: bytes, ..
            } => Some(bytes.clone()),
            SaveWhat::Append(_) => None,
        }
    }

    /// If set (with a snapshot), the document is edited as this replica id
    /// from now on: keep it with the document (for `load`) and count its
    /// confirmed changes from 0 again.
    #[wasm_bindgen(getter)]
    pub fn replica(&self) -> Option<String> {
        match &self.0.what {
            SaveWhat::Replace { replica, .. } => Some(replica.to_string()),
            _ => None,
        }
    }

    /// Change records to append, in order.
    #[wasm_bindgen(getter)]
    pub fn changes(&self) -> Vec<Uint8Array> {
        match &self.0.what {
            SaveWhat::Append(changes) => changes
                .iter()
                .map(|c| Uint8Array::from(c.bytes()))
                .collect(),
            SaveWhat::Snapshot(_) | SaveWhat::Replace { .. } => Vec::new(),
        }
    }
}

/// Something that happened (`Workspace.takeEvents`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct SyncEvent(DeviceEvent);

#[wasm_bindgen]
impl SyncEvent {
    /// `"changed"` (remote changes applied: redraw), `"status"`,
    /// `"presence"`, `"refused"` (the relay ended the subscription),
    /// `"error"` (the relay's, or a change from it this replica could not
    /// take), `"saveFailed"`, `"reissued"` (someone wrote under this
    /// browser's id; our edits were kept and go out under a new one) or
    /// `"connection"`.
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> String {
        match &self.0 {
            DeviceEvent::RemoteChange { .. } => "changed",
            DeviceEvent::Status { .. } => "status",
            DeviceEvent::Presence { .. } => "presence",
            DeviceEvent::RelayError {
                doc: Some(_), code, ..
            } if code.ends_subscription() => "refused",
            DeviceEvent::RelayError { .. }
            | DeviceEvent::ChangeRejected { .. }
            | DeviceEvent::ChangeUnreadable { .. } => "error",
            DeviceEvent::SaveFailed { .. } => "saveFailed",
            DeviceEvent::IdForged { .. } => "reissued",
            DeviceEvent::Connection(_) => "connection",
        }
        .into()
    }

    /// The document concerned, if any.
    #[wasm_bindgen(getter)]
    pub fn doc(&self) -> Option<String> {
        match &self.0 {
            DeviceEvent::RemoteChange { doc }
            | DeviceEvent::Status { doc, .. }
            | DeviceEvent::Presence { doc, .. }
            | DeviceEvent::ChangeRejected { doc, .. }
            | DeviceEvent::ChangeUnreadable { doc, .. }
            | DeviceEvent::SaveFailed { doc, .. }
            | DeviceEvent::IdForged { doc, .. } => Some(doc.to_string()),
            DeviceEvent::RelayError { doc, .. } => doc.as_ref().map(ToString::to_string),
            DeviceEvent::Connection(_) => None,
        }
    }

    /// For errors, refusals, failed saves and reissues: what to tell the
    /// person.
    #[wasm_bindgen(getter)]
    pub fn detail(&self) -> Option<String> {
        match &self.0 {
            DeviceEvent::RelayError { code, detail, .. } => {
                Some(format!("{}: {detail}", code.name()))
            }
            DeviceEvent::ChangeRejected { change, reason, .. } => Some(format!(
                "a change from the relay was refused ({change:?}): {reason}"
            )),
            DeviceEvent::ChangeUnreadable { change, reason, .. } => Some(format!(
                "a change from the relay could not be read and was left out ({change:?}): {reason}"
            )),
            DeviceEvent::SaveFailed { reason, .. } => Some(format!("not saved yet: {reason}")),
            DeviceEvent::IdForged { forged, remade, .. } => Some(format!(
                "another device wrote into this document under this browser's id ({forged:?}); \
                 your {remade} edit(s) since then were kept and are sent again under a new id"
            )),
            DeviceEvent::Status { .. }
            | DeviceEvent::RemoteChange { .. }
            | DeviceEvent::Presence { .. }
            | DeviceEvent::Connection(_) => None,
        }
    }
}

/// Where a document stands: `state` is `"offline"`, `"connecting"`,
/// `"syncing"`, `"synced"` or `"refused"`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct DocStatus {
    status: SyncStatus,
    unacked: u64,
    unsaved: usize,
}

#[wasm_bindgen]
impl DocStatus {
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        match self.status {
            SyncStatus::Offline => "offline",
            SyncStatus::Connecting => "connecting",
            SyncStatus::Syncing { .. } => "syncing",
            SyncStatus::Synced => "synced",
            SyncStatus::Refused { .. } => "refused",
        }
        .into()
    }

    /// This device's changes the relay has not confirmed storing ("N
    /// unsent"), counted across connections and reloads.
    #[wasm_bindgen(getter)]
    pub fn unacked(&self) -> u32 {
        u32::try_from(self.unacked).unwrap_or(u32::MAX)
    }

    /// Changes not yet written to IndexedDB.
    #[wasm_bindgen(getter)]
    pub fn unsaved(&self) -> u32 {
        to_u32(self.unsaved)
    }

    /// Why the relay refused the subscription, if it did.
    #[wasm_bindgen(getter)]
    pub fn detail(&self) -> Option<String> {
        match &self.status {
            SyncStatus::Refused { code, detail } => Some(format!("{}: {detail}", code.name())),
            _ => None,
        }
    }
}

/// A save id as JavaScript holds it.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the page hands back an id it was given"
)]
fn save_id(id: f64) -> SaveId {
    SaveId(id as u64)
}

/// The page's clock: `performance.now()` (monotonic), else `Date.now()`.
fn page_clock() -> Duration {
    let global = js_sys::global();
    let ms = js_sys::Reflect::get(&global, &"performance".into())
        .ok()
        .filter(|p| !p.is_undefined())
        .and_then(|perf| {
            let now = js_sys::Reflect::get(&perf, &"now".into()).ok()?;
            now.dyn_ref::<js_sys::Function>()?
                .call0(&perf)
                .ok()?
                .as_f64()
        })
        .unwrap_or_else(js_sys::Date::now);
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;
const MAX_SAFE_INTEGER_F64: f64 = 9_007_199_254_740_991.0;

fn to_js(value: &Value) -> JsValue {
    match value {
        Value::Scalar(s) => match s {
            ScalarValue::Null => JsValue::NULL,
            ScalarValue::Bool(b) => JsValue::from_bool(*b),
            #[allow(clippy::cast_precision_loss, reason = "exact within the safe range")]
            ScalarValue::Int(i) if i.abs() <= MAX_SAFE_INTEGER => JsValue::from_f64(*i as f64),
            ScalarValue::Int(i) => JsValue::from(*i),
            ScalarValue::F64(x) => JsValue::from_f64(*x),
            ScalarValue::Str(s) => JsValue::from_str(s),
            ScalarValue::Bytes(b) => Uint8Array::from(b.as_slice()).into(),
        },
        Value::Object(_, ty) => {
            let o = js_sys::Object::new();
            let name = match ty {
                concord_core::ObjType::Map => "map",
                concord_core::ObjType::Set => "set",
                concord_core::ObjType::Text => "text",
            };
            // Setting a property on a fresh plain object cannot fail.
            let _ = js_sys::Reflect::set(&o, &"object".into(), &name.into());
            o.into()
        }
    }
}

fn from_js(value: &JsValue) -> Result<ScalarValue, WebError> {
    if value.is_null() {
        return Ok(ScalarValue::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(ScalarValue::Bool(b));
    }
    if let Some(s) = value.as_string() {
        return Ok(ScalarValue::Str(s));
    }
    if let Some(x) = value.as_f64() {
        let int = x.fract() == 0.0 && x.abs() <= MAX_SAFE_INTEGER_F64;
        return Ok(if int {
            ScalarValue::Int(x as i64)
        } else {
            ScalarValue::F64(x)
        });
    }
    if value.is_bigint() {
        return i64::try_from(value.clone())
            .map(ScalarValue::Int)
            .map_err(|_| WebError::Value);
    }
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        return Ok(ScalarValue::Bytes(bytes.to_vec()));
    }
    Err(WebError::Value)
}

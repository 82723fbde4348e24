//! The window: a document list (notes and calendars), the open document
//! (a note's title and body, or a calendar's week or month), and what sync
//! is doing.
//!
//! Every edit goes through the sync client (`Client::edit`), which applies it
//! at once and saves it before the frame ends; nothing here waits on the
//! network. Remote edits arrive in the client in the background; each frame
//! the editor notices the new version, reloads the text, and puts the caret
//! back on the characters it was on (`editor::Anchor`).

use concord_client::{Client, ConnectionStatus, DeviceEvent, Edited, SyncStatus};
use concord_core::VersionVector;
use concord_wire::{Access, DocId};
use egui::{Color32, RichText};

use crate::calendar::CalendarView;
use crate::calendar::zone::device_zone;
use crate::editor::{self, Anchor};
use crate::note;
use crate::replicas::SharedStore;
use crate::share::{self, ShareLink};
use crate::store::{DocKind, DocumentInfo};

/// The body of the open document as the text field shows it.
#[derive(Debug)]
struct OpenDoc {
    id: DocId,
    /// The text field's contents.
    buffer: String,
    title: String,
    /// The document version `buffer` and `title` reflect.
    shown: VersionVector,
    /// Caret and selection ends, riding on character ids.
    anchors: Option<(Anchor, Anchor)>,
    read_only: bool,
    /// Where the caret must go before the field next draws (after a reload).
    pending_caret: Option<(usize, usize)>,
}

/// The whole app. `relay` is `None` when this device works local-only.
pub struct ConcordApp {
    client: Client,
    store: SharedStore,
    relay: Option<String>,
    events: tokio::sync::broadcast::Receiver<DeviceEvent>,
    docs: Vec<DocumentInfo>,
    search: String,
    open: Option<OpenDoc>,
    share_link: Option<String>,
    open_link: Option<(String, Option<String>)>,
    confirm_delete: Option<DocId>,
    /// The last error worth telling the user, shown until dismissed.
    notice: Option<String>,
    list_dirty: bool,
    /// The open document's calendar view, when it is a calendar.
    calendar: Option<CalendarView>,
    /// The zone calendars show times in (this computer's to begin with).
    zone: chrono_tz::Tz,
    /// The import dialog: file path and what went wrong.
    import: Option<(String, Option<String>)>,
}

impl std::fmt::Debug for ConcordApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConcordApp")
            .field("relay", &self.relay)
            .field("docs", &self.docs.len())
            .finish_non_exhaustive()
    }
}

/// Id of the body text field (tests and the caret logic use it).
pub const BODY_FIELD: &str = "body";

impl ConcordApp {
    pub fn new(client: Client, store: SharedStore, relay: Option<String>) -> Self {
        let events = client.events();
        let mut app = ConcordApp {
            client,
            store,
            relay,
            events,
            docs: Vec::new(),
            search: String::new(),
            open: None,
            share_link: None,
            open_link: None,
            confirm_delete: None,
            notice: None,
            list_dirty: true,
            calendar: None,
            zone: device_zone(),
            import: None,
        };
        app.refresh_list();
        // Sync every document this device holds, not only the open one.
        if app.relay.is_some() {
            for info in app.docs.clone() {
                if let Err(e) = app
                    .client
                    .open(info.id.clone(), info.token.clone().unwrap_or_default())
                {
                    app.notice = Some(format!("cannot open {}: {e}", info.title));
                }
            }
        }
        if let Some(first) = app.docs.first().map(|d| d.id.clone()) {
            app.select(&first);
        }
        app
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The open document's id.
    pub fn open_document(&self) -> Option<&DocId> {
        self.open.as_ref().map(|o| &o.id)
    }

    /// The open calendar's view (when the open document is a calendar).
    pub fn calendar(&self) -> Option<&CalendarView> {
        self.calendar.as_ref()
    }

    pub fn calendar_mut(&mut self) -> Option<&mut CalendarView> {
        self.calendar.as_mut()
    }

    /// The documents in the list, as the store has them.
    pub fn documents(&self) -> &[DocumentInfo] {
        &self.docs
    }

    /// Sets the zone calendars show times in.
    pub fn set_zone(&mut self, zone: chrono_tz::Tz) {
        self.zone = zone;
        if let Some(view) = &mut self.calendar {
            view.zone = zone;
        }
    }

    fn refresh_list(&mut self) {
        match self.store.list() {
            Ok(docs) => self.docs = docs,
            Err(e) => self.notice = Some(format!("cannot read the document list: {e}")),
        }
        self.list_dirty = false;
        // Documents whose kind was never looked at (from a share link, an
        // older Concord, or the command line): look once.
        let unknown: Vec<DocId> = self
            .docs
            .iter()
            .filter(|d| d.kind.is_none())
            .map(|d| d.id.clone())
            .collect();
        for id in unknown {
            if let Ok(Some(kind)) = self.client.peek(&id, DocKind::known) {
                self.remember_kind(&id, kind);
            }
        }
    }

    fn remember_kind(&mut self, id: &DocId, kind: DocKind) {
        let Some(info) = self.docs.iter_mut().find(|d| &d.id == id) else {
            return;
        };
        if info.kind == Some(kind) {
            return;
        }
        info.kind = Some(kind);
        if let Err(e) = self.store.set_kind(id, kind) {
            self.notice = Some(format!("cannot save the document list: {e}"));
        }
    }

    /// Keeps the open document's view in step with what it is: a document
    /// from a share link becomes a calendar once its first change arrives.
    fn sync_kind(&mut self) {
        let Some(id) = self.open.as_ref().map(|o| o.id.clone()) else {
            self.calendar = None;
            return;
        };
        let Ok(kind) = self.client.with_document(&id, DocKind::of) else {
            return;
        };
        if let Ok(Some(known)) = self.client.with_document(&id, DocKind::known) {
            self.remember_kind(&id, known);
        }
        match kind {
            DocKind::Calendar => {
                if self.calendar.as_ref().is_none_or(|c| c.doc() != &id) {
                    self.calendar = Some(CalendarView::new(id, self.zone));
                }
            }
            DocKind::Note => self.calendar = None,
        }
    }

    /// Opens a document in the editor.
    pub fn select(&mut self, id: &DocId) {
        let token = self
            .docs
            .iter()
            .find(|d| &d.id == id)
            .and_then(|d| d.token.clone())
            .unwrap_or_default();
        if let Err(e) = self.client.open(id.clone(), token.clone()) {
            self.notice = Some(format!("cannot open the document: {e}"));
            return;
        }
        let read_only = Access::claimed_by_token(&token) == Some(Access::Read);
        self.open = Some(OpenDoc {
            id: id.clone(),
            buffer: String::new(),
            title: String::new(),
            // Forces a load on the next frame.
            shown: VersionVector::new(),
            anchors: None,
            read_only,
            pending_caret: None,
        });
        self.reload_open(true);
        self.calendar = None;
        self.sync_kind();
    }

    /// Creates a calendar and opens it.
    pub fn create_calendar(&mut self, name: &str) -> Option<DocId> {
        let id = DocId::from_random(rand::random());
        let result = self.client.create(id.clone(), "").and_then(|()| {
            self.client.edit(&id, |tx| {
                concord_calendar::CalendarTx::create(tx, name).map(|_| ())
            })
        });
        let failed = match result {
            Ok(Edited {
                value: Ok(()),
                saved: Ok(()),
            }) => None,
            Ok(Edited { value: Err(e), .. }) => Some(e.to_string()),
            Ok(Edited { saved: Err(e), .. }) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(e) = failed {
            self.notice = Some(format!("cannot create a calendar: {e}"));
            return None;
        }
        self.save_title(&id, name);
        if let Err(e) = self.store.set_kind(&id, DocKind::Calendar) {
            self.notice = Some(format!("cannot save the document list: {e}"));
        }
        self.refresh_list();
        self.select(&id);
        Some(id)
    }

    /// Reads an iCalendar file into a new calendar and opens it. Returns
    /// its id and what the import skipped or adjusted.
    pub fn import_ics(&mut self, path: &str) -> Result<(DocId, Vec<String>), String> {
        let path = std::path::Path::new(path.trim());
        let size = std::fs::metadata(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .len();
        if size > concord_calendar::ics::MAX_ICS_BYTES as u64 {
            return Err(format!(
                "{} is larger than {} MiB",
                path.display(),
                concord_calendar::ics::MAX_ICS_BYTES >> 20
            ));
        }
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
        let imported = concord_calendar::parse_ics(&text, self.zone)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let fallback = path.file_stem().map_or_else(
            || "Imported calendar".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        );
        let id = DocId::from_random(rand::random());
        self.client
            .create(id.clone(), "")
            .map_err(|e| format!("cannot create a calendar: {e}"))?;
        let written = self
            .client
            .edit(&id, |tx| imported.write(tx, &fallback))
            .map_err(|e| e.to_string())
            .and_then(|edited| edited.value_if_saved().map_err(|e| e.to_string()))
            .map_err(|e| format!("cannot save the calendar: {e}"));
        if let Err(e) = written.and_then(|r| r.map_err(|e| format!("cannot import: {e}"))) {
            // Leave nothing half-made in the list.
            let _ = self.client.delete(&id);
            return Err(e);
        }
        let name = imported.name.clone().unwrap_or(fallback);
        self.save_title(&id, &name);
        if let Err(e) = self.store.set_kind(&id, DocKind::Calendar) {
            self.notice = Some(format!("cannot save the document list: {e}"));
        }
        self.refresh_list();
        self.select(&id);
        Ok((
            id,
            imported.warnings.iter().map(ToString::to_string).collect(),
        ))
    }

    /// Creates a document and opens it.
    pub fn create_document(&mut self, title: &str) -> Option<DocId> {
        let id = DocId::from_random(rand::random());
        let result = self.client.create(id.clone(), "").and_then(|()| {
            let edited = self.client.edit(&id, |tx| note::create(tx, title))?;
            Ok(edited.saved?)
        });
        if let Err(e) = result {
            self.notice = Some(format!("cannot create a document: {e}"));
            return None;
        }
        self.save_title(&id, title);
        self.refresh_list();
        self.select(&id);
        Some(id)
    }

    fn save_title(&mut self, id: &DocId, title: &str) {
        if let Err(e) = self.store.set_title(id, title) {
            self.notice = Some(format!("cannot save the title: {e}"));
        }
    }

    /// Reloads the open document's text if it changed (remote edits),
    /// keeping the caret on its characters.
    fn reload_open(&mut self, force: bool) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let result = self.client.with_document(&open.id, |doc| {
            if !force && doc.version() == &open.shown {
                return None;
            }
            let text = note::body(doc);
            let caret = open
                .anchors
                .map(|(a, b)| (a.resolve(&text), b.resolve(&text)));
            Some((
                note::body_text(doc),
                note::title(doc),
                doc.version().clone(),
                caret,
            ))
        });
        match result {
            Ok(Some((body, title, version, caret))) => {
                open.buffer = body;
                open.title = title;
                open.shown = version;
                open.pending_caret = caret;
            }
            Ok(None) => {}
            Err(e) => self.notice = Some(format!("cannot read the document: {e}")),
        }
    }

    fn status_line(&self) -> (String, Color32) {
        let Some(open) = &self.open else {
            return ("No document open".into(), Color32::GRAY);
        };
        if self.relay.is_none() {
            return (
                "Local only: no relay configured".into(),
                Color32::from_rgb(120, 120, 120),
            );
        }
        if !self.client.is_online() {
            let n = self.client.unacked(&open.id).unwrap_or(0);
            return (
                if n == 0 {
                    "Working offline".into()
                } else {
                    format!("Working offline: {n} changes not yet on the relay")
                },
                Color32::from_rgb(120, 120, 120),
            );
        }
        match self.client.status(&open.id) {
            Ok(SyncStatus::Synced) => ("Synced".into(), Color32::from_rgb(30, 140, 60)),
            Ok(SyncStatus::Syncing { unacked: 0 }) => {
                ("Syncing…".into(), Color32::from_rgb(200, 130, 0))
            }
            Ok(SyncStatus::Syncing { unacked }) => (
                format!("Syncing: {unacked} changes not yet on the relay"),
                Color32::from_rgb(200, 130, 0),
            ),
            Ok(SyncStatus::Connecting) => ("Connecting…".into(), Color32::from_rgb(200, 130, 0)),
            Ok(SyncStatus::Offline) => {
                let n = self.client.unacked(&open.id).unwrap_or(0);
                let what = match self.client.connection() {
                    ConnectionStatus::Connecting => "Connecting…",
                    _ => "Offline",
                };
                if n == 0 {
                    (what.into(), Color32::from_rgb(120, 120, 120))
                } else {
                    (
                        format!("{what}: {n} changes not yet on the relay"),
                        Color32::from_rgb(120, 120, 120),
                    )
                }
            }
            Ok(SyncStatus::Refused { code, detail }) => (
                format!("The relay refused this document: {code} {detail}"),
                Color32::from_rgb(190, 30, 30),
            ),
            Err(e) => (format!("{e}"), Color32::from_rgb(190, 30, 30)),
        }
    }

    fn drain_events(&mut self) {
        use tokio::sync::broadcast::error::TryRecvError;
        loop {
            match self.events.try_recv() {
                Ok(DeviceEvent::RemoteChange { doc }) => {
                    self.list_dirty = true;
                    // Keep the cached title (and kind) in step with remote
                    // changes.
                    if let Ok(title) = self.client.with_document(&doc, document_title) {
                        self.save_title(&doc, &title);
                    }
                    if let Ok(Some(kind)) = self.client.with_document(&doc, DocKind::known) {
                        self.remember_kind(&doc, kind);
                    }
                }
                Ok(DeviceEvent::SaveFailed { reason, .. }) => {
                    self.notice = Some(format!("saving failed (will retry): {reason}"));
                }
                Ok(DeviceEvent::ChangeRejected { reason, .. }) => {
                    self.notice = Some(format!("a change from the relay was rejected: {reason}"));
                }
                Ok(DeviceEvent::IdForged {
                    doc,
                    forged,
                    remade,
                    ..
                }) => {
                    self.notice = Some(format!(
                        "Another device wrote into this document under this device's id \
                         ({forged:?}). Your {remade} edit{} since then {} kept and sent again \
                         under a new device id.",
                        if remade == 1 { "" } else { "s" },
                        if remade == 1 { "was" } else { "were" },
                    ));
                    if self.open.as_ref().is_some_and(|o| o.id == doc) {
                        self.reload_open(true);
                    }
                    self.list_dirty = true;
                }
                Ok(DeviceEvent::ChangeUnreadable { doc, .. }) => {
                    if let Ok(Some(summary)) = self
                        .client
                        .with_document(&doc, concord_core::Document::unreadable_summary)
                    {
                        self.notice = Some(summary);
                    }
                }
                Ok(_) => {}
                Err(TryRecvError::Lagged(_)) => self.list_dirty = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
    }

    /// One frame of the whole window.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.drain_events();
        if self.list_dirty {
            self.refresh_list();
        }
        self.sync_kind();
        if self.calendar.is_none() {
            self.reload_open(false);
        }

        egui::Panel::top("top").show(ui, |ui| self.top_bar(ui));
        egui::Panel::left("documents")
            .default_size(240.0)
            .show(ui, |ui| self.document_list(ui));
        egui::CentralPanel::default().show(ui, |ui| {
            if self.calendar.is_some() {
                self.calendar_view(ui);
            } else {
                self.editor(ui);
            }
        });
        self.dialogs(ui);
        // Remote changes and status arrive in the background.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(250));
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("Concord");
            ui.separator();
            let (text, colour) = self.status_line();
            status_dot(ui, colour);
            ui.label(text);
            if let Some(open) = &self.open {
                let others = self
                    .client
                    .presence(&open.id)
                    .into_iter()
                    .filter(|d| *d != self.client.device())
                    .count();
                if others > 0 {
                    ui.separator();
                    ui.label(format!(
                        "{others} other device{} here",
                        if others == 1 { " is" } else { "s are" }
                    ));
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if self.relay.is_some() {
                    let mut offline = !self.client.is_online();
                    if ui.checkbox(&mut offline, "Work offline").changed() {
                        self.client.set_online(!offline);
                    }
                }
                if ui.button("Open shared document…").clicked() {
                    self.open_link = Some((String::new(), None));
                }
                if self.open.is_some() && ui.button("Share…").clicked() {
                    self.share_link = Some(self.share_text());
                }
            });
        });
        // Changes that could not be read stay listed with the document:
        // what someone wrote may be missing from it.
        if let Some(open) = &self.open
            && let Ok(Some(summary)) = self
                .client
                .with_document(&open.id, concord_core::Document::unreadable_summary)
        {
            ui.label(RichText::new(summary).color(Color32::from_rgb(200, 110, 0)));
        }
        if let Some(notice) = self.notice.clone() {
            ui.horizontal(|ui| {
                ui.label(RichText::new(notice).color(Color32::from_rgb(190, 30, 30)));
                if ui.small_button("Dismiss").clicked() {
                    self.notice = None;
                }
            });
        }
    }

    fn share_text(&self) -> String {
        let (Some(open), Some(relay)) = (&self.open, &self.relay) else {
            return "Sharing needs a relay: start Concord with --relay URL.".into();
        };
        let token = self
            .docs
            .iter()
            .find(|d| d.id == open.id)
            .and_then(|d| d.token.clone())
            .unwrap_or_default();
        ShareLink::new(relay, open.id.clone(), token).to_string()
    }

    fn document_list(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let label = ui.label("Search");
            ui.add(
                egui::TextEdit::singleline(&mut self.search)
                    .hint_text("title")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
        });
        ui.horizontal(|ui| {
            if ui.button("New note").clicked() {
                self.create_document("Untitled");
            }
            if ui.button("New calendar").clicked() {
                self.create_calendar("Calendar");
            }
        });
        if ui.button("Import .ics…").clicked() {
            self.import = Some((String::new(), None));
        }
        ui.separator();
        let needle = self.search.to_lowercase();
        let selected = self.open.as_ref().map(|o| o.id.clone());
        let mut clicked = None;
        let mut delete = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            for info in &self.docs {
                let title = if info.title.is_empty() {
                    "Untitled"
                } else {
                    &info.title
                };
                if !needle.is_empty() && !title.to_lowercase().contains(&needle) {
                    continue;
                }
                let is_open = selected.as_ref() == Some(&info.id);
                let row = ui
                    .horizontal(|ui| {
                        kind_badge(ui, info.kind);
                        ui.selectable_label(is_open, title)
                    })
                    .inner;
                if row.clicked() {
                    clicked = Some(info.id.clone());
                }
                row.context_menu(|ui| {
                    if ui.button("Delete from this device…").clicked() {
                        delete = Some(info.id.clone());
                    }
                });
            }
        });
        if let Some(id) = clicked {
            self.select(&id);
        }
        if delete.is_some() {
            self.confirm_delete = delete;
        }
    }

    fn editor(&mut self, ui: &mut egui::Ui) {
        let Some(open) = self.open.as_mut() else {
            ui.centered_and_justified(|ui| {
                ui.label("No document yet: press \"New note\" or \"New calendar\".");
            });
            return;
        };
        let id = open.id.clone();
        let titles = self
            .client
            .with_document(&id, note::titles)
            .unwrap_or_default();
        let (new_title, delete) = title_section(open, &titles, ui);
        let (before, caret) = body_section(open, ui);

        let mut failed = None;
        // What the document's version must be after this frame if nothing
        // but our own edits happened: then the field already shows it.
        let mut expected = open.shown.clone();
        let device = self.client.device();
        let committed = |expected: &mut VersionVector| {
            expected.observe(device, expected.get(device) + 1);
        };
        if let Some(splice) = editor::diff(&before, &open.buffer, caret.map(|c| c.0)) {
            let shown = open.shown.clone();
            let before_text = before.clone();
            let result = self.client.edit(&id, |tx| {
                let splice = if tx.doc().version() == &shown {
                    splice
                } else {
                    // A remote change landed during this frame: move the
                    // edit past it rather than lose it.
                    editor::rebase(&splice, &before_text, &note::body_text(tx.doc()))
                };
                note::splice(tx, splice.pos, splice.del, &splice.insert)
            });
            match result {
                Ok(Edited {
                    value: Ok(()),
                    saved,
                }) => {
                    committed(&mut expected);
                    if let Err(e) = saved {
                        // Applied, saving is retried: it is in the document.
                        failed = Some(format!("edit not saved yet: {e}"));
                    }
                }
                Ok(Edited { value: Err(e), .. }) => failed = Some(format!("edit refused: {e}")),
                Err(e) => failed = Some(format!("cannot edit: {e}")),
            }
            self.list_dirty = true;
        }
        if let Some(title) = new_title {
            match self.client.edit(&id, |tx| note::set_title(tx, &title)) {
                Ok(Edited {
                    value: Ok(()),
                    saved: Ok(()),
                }) => {
                    committed(&mut expected);
                    if let Err(e) = self.store.set_title(&id, &title) {
                        failed = Some(format!("cannot save the title: {e}"));
                    }
                    self.list_dirty = true;
                }
                Ok(Edited { value: Err(e), .. }) => failed = Some(format!("rename refused: {e}")),
                Ok(Edited { saved: Err(e), .. }) => {
                    committed(&mut expected);
                    failed = Some(format!("rename not saved yet: {e}"));
                }
                Err(e) => failed = Some(format!("cannot rename: {e}")),
            }
        }
        // Re-anchor the caret on the text as it now stands. If a remote
        // change slipped in during the frame, `shown` stays behind and the
        // next frame reloads; the caret's positions then count characters of
        // the text as shown, not as it now is, so the anchors it had stay
        // (unless this frame typed, when the best guess is all there is).
        let typed = expected != open.shown;
        let anchors = self.client.with_document(&id, |doc| {
            let text = note::body(doc);
            let anchors = caret.map(|(a, b)| (Anchor::at(&text, a), Anchor::at(&text, b)));
            (doc.version() == &expected, anchors)
        });
        if let (Ok((clean, anchors)), Some(open)) = (anchors, self.open.as_mut()) {
            if clean || typed {
                open.anchors = anchors;
            }
            if clean {
                open.shown = expected;
            }
        }
        if failed.is_some() {
            self.notice = failed;
        }
        if delete {
            self.confirm_delete = Some(id);
        }
    }

    fn dialogs(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if let Some(link) = self.share_link.clone() {
            let mut keep = true;
            egui::Window::new("Share")
                .collapsible(false)
                .open(&mut keep)
                .show(&ctx, |ui| {
                    let label = ui.label("Anyone with this link can open the document:");
                    let mut text = link.clone();
                    ui.add(egui::TextEdit::singleline(&mut text).desired_width(420.0))
                        .labelled_by(label.id);
                    if ui.button("Copy").clicked() {
                        ui.ctx().copy_text(link.clone());
                    }
                });
            if !keep {
                self.share_link = None;
            }
        }
        if let Some((mut text, error)) = self.open_link.clone() {
            let mut keep = true;
            let mut go = false;
            egui::Window::new("Open shared document")
                .collapsible(false)
                .open(&mut keep)
                .show(&ctx, |ui| {
                    let label = ui.label("Link");
                    ui.add(egui::TextEdit::singleline(&mut text).desired_width(420.0))
                        .labelled_by(label.id);
                    if let Some(e) = &error {
                        ui.label(RichText::new(e).color(Color32::from_rgb(190, 30, 30)));
                    }
                    go = ui.button("Open").clicked();
                });
            self.open_link = keep.then(|| (text.clone(), error));
            if go {
                match self.open_shared(&text) {
                    Ok(()) => self.open_link = None,
                    Err(e) => self.open_link = Some((text, Some(e))),
                }
            }
        }
        if let Some((mut path, error)) = self.import.clone() {
            let mut keep = true;
            let mut go = false;
            egui::Window::new("Import calendar")
                .collapsible(false)
                .open(&mut keep)
                .show(&ctx, |ui| {
                    ui.label("An iCalendar (.ics) file becomes a new calendar.");
                    ui.horizontal(|ui| {
                        let label = ui.label("File");
                        ui.add(
                            egui::TextEdit::singleline(&mut path)
                                .hint_text("/path/to/calendar.ics")
                                .desired_width(360.0),
                        )
                        .labelled_by(label.id);
                    });
                    if let Some(e) = &error {
                        ui.label(RichText::new(e).color(Color32::from_rgb(190, 30, 30)));
                    }
                    go = ui.button("Import").clicked();
                });
            self.import = keep.then(|| (path.clone(), error));
            if go {
                match self.import_ics(&path) {
                    Ok((_, warnings)) => {
                        self.import = None;
                        if !warnings.is_empty() {
                            self.notice = Some(format!(
                                "imported with {} warning{}: {}",
                                warnings.len(),
                                if warnings.len() == 1 { "" } else { "s" },
                                warnings.join("; ")
                            ));
                        }
                    }
                    Err(e) => self.import = Some((path, Some(e))),
                }
            }
        }
        if let Some(id) = self.confirm_delete.clone() {
            let mut keep = true;
            let mut yes = false;
            egui::Window::new("Delete document?")
                .collapsible(false)
                .open(&mut keep)
                .show(&ctx, |ui| {
                    ui.label("This removes the document from this device. Other devices keep their copies.");
                    yes = ui.button("Delete").clicked();
                });
            if yes {
                self.delete_document(&id);
                keep = false;
            }
            if !keep {
                self.confirm_delete = None;
            }
        }
    }

    /// Opens a document from a share link.
    pub fn open_shared(&mut self, link: &str) -> Result<(), String> {
        let link = ShareLink::parse(link).map_err(|e| e.to_string())?;
        if let Some(relay) = &self.relay
            && share::sync_url(relay) != link.sync_url()
        {
            return Err(format!(
                "this link is for the relay {}, but Concord syncs with {relay}; restart it with --relay {}",
                link.relay, link.relay
            ));
        }
        if self.relay.is_none() {
            return Err(format!(
                "Concord is local-only; restart it with --relay {} to open shared documents",
                link.relay
            ));
        }
        let held = self.store.info(&link.doc).is_ok();
        self.client
            .open(link.doc.clone(), link.token.clone())
            .map_err(|e| e.to_string())?;
        if !held {
            self.save_title(&link.doc, "Shared document");
        }
        self.refresh_list();
        self.select(&link.doc);
        Ok(())
    }

    fn delete_document(&mut self, id: &DocId) {
        if let Err(e) = self.client.delete(id) {
            self.notice = Some(format!("cannot delete the document: {e}"));
        }
        if self.open.as_ref().is_some_and(|o| &o.id == id) {
            self.open = None;
            self.calendar = None;
        }
        self.refresh_list();
    }

    /// The open calendar: its view, and its name in the list.
    fn calendar_view(&mut self, ui: &mut egui::Ui) {
        let Some(open) = &self.open else {
            return;
        };
        let (id, read_only) = (open.id.clone(), open.read_only);
        if read_only {
            ui.label(RichText::new("Read-only: this link lets you read, not edit.").italics());
        }
        let Some(view) = self.calendar.as_mut() else {
            return;
        };
        if let Some(problem) = view.show(ui, &self.client, read_only) {
            self.notice = Some(problem);
        }
        self.zone = view.zone;
        let name = view.name().to_owned();
        if self
            .docs
            .iter()
            .any(|d| d.id == id && d.title != name && !name.is_empty())
        {
            self.save_title(&id, &name);
            self.list_dirty = true;
        }
    }
}

/// What the list calls a document: a note's title, a calendar's name.
pub fn document_title(doc: &concord_core::Document) -> String {
    match concord_calendar::Calendar::open(doc) {
        Ok(cal) => cal.name(),
        Err(_) => note::title(doc),
    }
}

/// A small tag before a list row: which documents are calendars.
fn kind_badge(ui: &mut egui::Ui, kind: Option<DocKind>) {
    let (text, colour) = match kind {
        Some(DocKind::Calendar) => ("CAL", Color32::from_rgb(0x1a, 0x66, 0xd2)),
        Some(DocKind::Note) => ("NOTE", Color32::from_rgb(0x6a, 0x6a, 0x6a)),
        // From a link, nothing arrived yet.
        None => ("…", Color32::from_rgb(0x6a, 0x6a, 0x6a)),
    };
    ui.add_sized(
        egui::vec2(34.0, 16.0),
        egui::Label::new(RichText::new(text).small().strong().color(colour)),
    );
}

/// The title field, the delete button, and the pick-a-title row when two
/// devices renamed concurrently. Returns a new title to save and whether
/// delete was pressed.
fn title_section(
    open: &mut OpenDoc,
    titles: &[String],
    ui: &mut egui::Ui,
) -> (Option<String>, bool) {
    let mut new_title = None;
    let mut delete = false;
    ui.horizontal(|ui| {
        let label = ui.label("Title");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            delete = ui
                .button("Delete")
                .on_hover_text("Delete this document from this device")
                .clicked();
            let response = ui
                .add_enabled(
                    !open.read_only,
                    egui::TextEdit::singleline(&mut open.title).desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
            if response.changed() {
                new_title = Some(open.title.clone());
            }
        });
    });
    if titles.len() > 1 {
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new("Renamed on two devices at the same time. Keep:")
                    .color(Color32::from_rgb(200, 130, 0)),
            );
            for t in titles {
                if ui.button(t).clicked() {
                    new_title = Some(t.clone());
                    open.title.clone_from(t);
                }
            }
        });
    }
    if open.read_only {
        ui.label(RichText::new("Read-only: this link lets you read, not edit.").italics());
    }
    ui.separator();

    (new_title, delete)
}

/// The body text field, with the caret put back after a reload. Returns the
/// text before this frame's typing and the caret (primary, secondary).
fn body_section(open: &mut OpenDoc, ui: &mut egui::Ui) -> (String, Option<(usize, usize)>) {
    let body_id = egui::Id::unique(BODY_FIELD);
    if let Some((primary, secondary)) = open.pending_caret.take()
        && let Some(mut state) = egui::TextEdit::load_state(ui.ctx(), body_id)
    {
        state
            .cursor
            .set_char_range(Some(egui::text::CCursorRange::two(
                egui::text::CCursor::new(secondary),
                egui::text::CCursor::new(primary),
            )));
        state.store(ui.ctx(), body_id);
    }
    let before = open.buffer.clone();
    let body_label = ui.label("Text");
    let output = egui::ScrollArea::vertical()
        .show(ui, |ui| {
            egui::TextEdit::multiline(&mut open.buffer)
                .id(body_id)
                .interactive(!open.read_only)
                .desired_width(f32::INFINITY)
                .min_size(ui.available_size())
                .show(ui)
        })
        .inner;
    output.response.response.clone().labelled_by(body_label.id);
    let caret = output
        .cursor_range
        .map(|r| (r.primary.index.0, r.secondary.index.0));
    (before, caret)
}

/// A filled circle in the status colour (the default fonts have no "●").
fn status_dot(ui: &mut egui::Ui, colour: Color32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 5.0, colour);
}

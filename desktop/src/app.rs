//! The window's shell: the app's state, one frame (`show`), the sync
//! client's events and the top bar (what sync is doing). The parts of the
//! screen live beside it and report what was clicked, which the shell
//! carries out after drawing: `doc_list` (the document list), `note_view`
//! (the open note), `calendar::CalendarView` (the open calendar), `dialogs`.
//!
//! Every edit goes through the sync client (`Client::edit`), which applies it
//! at once and saves it before the frame ends; nothing here waits on the
//! network.

use concord_client::{Client, DeviceEvent};
use concord_wire::{Access, DocId};
use egui::{Color32, RichText};

use crate::calendar::CalendarView;
use crate::calendar::zone::device_zone;
use crate::compactor::Compactor;
use crate::dialogs::{DialogAction, Dialogs};
use crate::doc_list::{DocList, ListAction};
use crate::note;
use crate::note_view::{self, OpenDoc};
use crate::replicas::SharedStore;
use crate::share::ShareLink;
use crate::status::{self, SyncFacts};
use crate::store::{DocKind, DocumentInfo};

mod documents;

/// The whole app. `relay` is `None` when this device works local-only.
pub struct ConcordApp {
    client: Client,
    store: SharedStore,
    relay: Option<String>,
    events: tokio::sync::broadcast::Receiver<DeviceEvent>,
    list: DocList,
    open: Option<OpenDoc>,
    dialogs: Dialogs,
    /// The last error worth telling the user, shown until dismissed.
    notice: Option<String>,
    /// The open document's calendar view, when it is a calendar.
    calendar: Option<CalendarView>,
    /// The zone calendars show times in (this computer's to begin with).
    zone: chrono_tz::Tz,
    /// Compaction, on a thread of its own (none in the bench, which
    /// measures it apart).
    compactor: Option<Compactor>,
}

impl std::fmt::Debug for ConcordApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConcordApp")
            .field("relay", &self.relay)
            .field("docs", &self.list.documents().len())
            .finish_non_exhaustive()
    }
}

/// Id of the body text field (tests and the caret logic use it).
pub use crate::note_view::BODY_FIELD;

impl ConcordApp {
    /// The window over a client started with `replicas::start_client`
    /// (which leaves compaction to the window's `Compactor`).
    pub fn new(client: Client, store: SharedStore, relay: Option<String>) -> Self {
        let compactor = Compactor::spawn_default(store.clone());
        Self::with_compactor(client, store, relay, Some(compactor))
    }

    /// The window with the compaction thread given, or none.
    pub fn with_compactor(
        client: Client,
        store: SharedStore,
        relay: Option<String>,
        compactor: Option<Compactor>,
    ) -> Self {
        let events = client.events();
        let mut app = ConcordApp {
            client,
            store,
            relay,
            events,
            list: DocList::new(),
            open: None,
            dialogs: Dialogs::default(),
            notice: None,
            calendar: None,
            zone: device_zone(),
            compactor,
        };
        app.refresh_list();
        // Sync every document this device holds, not only the open one.
        if app.relay.is_some() {
            for info in app.list.documents().to_vec() {
                if let Err(e) = app
                    .client
                    .open(info.id.clone(), info.token.clone().unwrap_or_default())
                {
                    app.notice = Some(format!("cannot open {}: {e}", info.title));
                }
            }
        }
        if let Some(first) = app.list.documents().first().map(|d| d.id.clone()) {
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

    /// The open note's caret (primary, secondary) in characters of its
    /// body, as the last frame left it.
    pub fn body_caret(&self) -> Option<(usize, usize)> {
        self.open.as_ref().and_then(OpenDoc::caret)
    }

    /// Where the open note's body is scrolled to: the first character of
    /// the paragraph at the top of the screen and how far below its top
    /// the screen starts, as the last frame left it.
    pub fn body_scroll(&self) -> Option<(usize, f32)> {
        self.open.as_ref().map(OpenDoc::scroll_position)
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
        self.list.documents()
    }

    /// Sets the zone calendars show times in.
    pub fn set_zone(&mut self, zone: chrono_tz::Tz) {
        self.zone = zone;
        if let Some(view) = &mut self.calendar {
            view.zone = zone;
        }
    }

    fn refresh_list(&mut self) {
        self.list
            .refresh(&self.store, &self.client, &mut self.notice);
    }

    fn remember_kind(&mut self, id: &DocId, kind: DocKind) {
        self.list
            .remember_kind(&self.store, id, kind, &mut self.notice);
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
        let token = self.list.token(id);
        if let Err(e) = self.client.open(id.clone(), token.clone()) {
            self.notice = Some(format!("cannot open the document: {e}"));
            return;
        }
        let read_only = Access::claimed_by_token(&token) == Some(Access::Read);
        self.open = Some(OpenDoc::new(id.clone(), read_only));
        self.reload_open(true);
        self.calendar = None;
        self.sync_kind();
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
        if let Err(e) = open.reload(&self.client, force) {
            self.notice = Some(format!("cannot read the document: {e}"));
        }
    }

    /// What the client says about the open document's sync.
    fn sync_facts(&self) -> Option<SyncFacts> {
        let open = self.open.as_ref()?;
        Some(SyncFacts {
            relay: self.relay.is_some(),
            online: self.client.is_online(),
            status: self.client.status(&open.id).map_err(|e| e.to_string()),
            connection: self.client.connection(),
            unacked: self.client.unacked(&open.id).unwrap_or(0),
        })
    }

    fn drain_events(&mut self) {
        use tokio::sync::broadcast::error::TryRecvError;
        loop {
            match self.events.try_recv() {
                Ok(DeviceEvent::RemoteChange { doc }) => {
                    self.list.dirty = true;
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
                    self.notice = Some(status::id_forged_notice(&forged, remade));
                    if self.open.as_ref().is_some_and(|o| o.id == doc) {
                        self.reload_open(true);
                    }
                    self.list.dirty = true;
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
                Err(TryRecvError::Lagged(_)) => self.list.dirty = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
    }

    /// One frame of the whole window.
    /// The compaction thread (tests look at it).
    pub fn compactor(&self) -> Option<&Compactor> {
        self.compactor.as_ref()
    }

    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.drain_events();
        if self.list.dirty {
            self.refresh_list();
        }
        self.sync_kind();
        if self.calendar.is_none() {
            self.reload_open(false);
        }

        egui::Panel::top("top").show(ui, |ui| self.top_bar(ui));
        let listed = egui::Panel::left("documents")
            .default_size(240.0)
            .show(ui, |ui| {
                let open = self.open.as_ref().map(|o| &o.id);
                self.list.ui(ui, open)
            });
        if let Some(action) = listed.inner {
            self.on_list(action);
            ui.ctx().request_repaint();
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if self.calendar.is_some() {
                self.calendar_view(ui);
            } else {
                self.note_view(ui);
            }
        });
        for action in self.dialogs.ui(ui.ctx()) {
            self.on_dialog(action);
            ui.ctx().request_repaint();
        }
        // Remote changes and status arrive in the background.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(250));
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("Concord");
            ui.separator();
            let (text, tone) = status::status_line(self.sync_facts().as_ref());
            status_dot(ui, tone.colour());
            ui.label(text);
            if let Some(open) = &self.open {
                let others = self
                    .client
                    .presence(&open.id)
                    .into_iter()
                    .filter(|d| *d != self.client.device())
                    .count();
                if let Some(line) = status::presence_line(others) {
                    ui.separator();
                    ui.label(line);
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
                    self.dialogs.ask_for_link();
                }
                if self.open.is_some() && ui.button("Share…").clicked() {
                    self.dialogs.share(self.share_text());
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
        ShareLink::new(relay, open.id.clone(), self.list.token(&open.id)).to_string()
    }

    /// Carries out what was clicked in the document list.
    fn on_list(&mut self, action: ListAction) {
        match action {
            ListAction::Open(id) => self.select(&id),
            ListAction::NewNote => {
                self.create_document("Untitled");
            }
            ListAction::NewCalendar => {
                self.create_calendar("Calendar");
            }
            ListAction::Import => self.dialogs.ask_for_import(),
            ListAction::Delete(id) => self.dialogs.confirm_delete(id),
        }
    }

    /// The open note, or what to do when nothing is open.
    fn note_view(&mut self, ui: &mut egui::Ui) {
        let Some(open) = self.open.as_mut() else {
            note_view::no_document(ui);
            return;
        };
        let id = open.id.clone();
        let outcome = note_view::show(open, &self.client, ui);
        if outcome.edited {
            self.list.dirty = true;
        }
        if outcome.problem.is_some() {
            self.notice = outcome.problem;
        }
        if let Some(title) = outcome.renamed {
            self.save_title(&id, &title);
        }
        if outcome.delete {
            self.dialogs.confirm_delete(id);
        }
    }

    /// Carries out what a dialog asked for.
    fn on_dialog(&mut self, action: DialogAction) {
        match action {
            DialogAction::OpenLink(link) => {
                let result = self.open_shared(&link);
                self.dialogs.link_opened(link, result);
            }
            DialogAction::Import(path) => match self.import_ics(&path) {
                Ok((_, warnings)) => {
                    self.dialogs.imported(path, Ok(()));
                    if let Some(notice) = status::import_notice(&warnings) {
                        self.notice = Some(notice);
                    }
                }
                Err(e) => self.dialogs.imported(path, Err(e)),
            },
            DialogAction::Delete(id) => self.delete_document(&id),
        }
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
        if !name.is_empty() && self.list.get(&id).is_some_and(|d| d.title != name) {
            self.save_title(&id, &name);
            self.list.dirty = true;
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

/// A filled circle in the status colour (the default fonts have no "●").
fn status_dot(ui: &mut egui::Ui, colour: Color32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 5.0, colour);
}

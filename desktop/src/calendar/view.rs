//! `CalendarView`: the open calendar document in the window. It draws the
//! toolbar and the week or month view, then carries out what they asked
//! (`Action`) through the sync client, so every edit is one change, saved
//! and synced like any other. It also holds the editor window, the undo
//! toast, the conflict picker and the "recently deleted" list.

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use concord_calendar::{
    Calendar, CalendarError, CalendarTx, DELETE_WINS, EventData, Occurrence, Scope, When,
    export_ics, new_uid,
};
use concord_client::{Client, Edited};
use concord_core::VersionVector;
use concord_wire::DocId;
use egui::{Color32, Id, RichText, Ui};

use super::action::{Action, OccRef};
use super::event_editor::{EditorRequest, EventEditor};
use super::month::{self, MonthState};
use super::month_grid::{MonthGrid, next_month, previous_month, week_start};
use super::paint;
use super::retime::{retimed, series_after};
use super::toast::{Deleted, Toast};
use super::week::{self, ViewContext, WeekState, display_title};
use super::week_grid::WeekGrid;
use super::zone::all_zones;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Week,
    Month,
}

/// A drag of one occurrence of a repeating event, waiting for "this
/// occurrence or all of them?".
#[derive(Clone, Debug)]
struct PendingRetime {
    target: OccRef,
    moved: When,
}

/// The occurrences of a range, kept until the document or the range
/// changes.
#[derive(Debug)]
struct Cached {
    version: VersionVector,
    from: NaiveDate,
    to: NaiveDate,
    zone: Tz,
    occurrences: Vec<Occurrence>,
    name: String,
    deleted: usize,
}

#[derive(Debug)]
pub struct CalendarView {
    doc: DocId,
    pub mode: Mode,
    /// A day of the week or month shown.
    pub anchor: NaiveDate,
    /// The zone times are shown in.
    pub zone: Tz,
    week: WeekState,
    month: MonthState,
    selected: Option<OccRef>,
    editor: Option<EventEditor>,
    toast: Option<Toast>,
    picker: Option<OccRef>,
    question: Option<PendingRetime>,
    /// The export dialog: path and what happened.
    export: Option<(String, Option<String>)>,
    show_deleted: bool,
    cache: Option<Cached>,
    name: String,
}

/// A wall-clock "now" in `zone`.
pub fn now_in(zone: Tz) -> NaiveDateTime {
    Utc::now().with_timezone(&zone).naive_local()
}

impl CalendarView {
    pub fn new(doc: DocId, zone: Tz) -> Self {
        let week = WeekState {
            scroll_pending: true,
            ..WeekState::default()
        };
        CalendarView {
            doc,
            mode: Mode::Week,
            anchor: now_in(zone).date(),
            zone,
            week,
            month: MonthState::default(),
            selected: None,
            editor: None,
            toast: None,
            picker: None,
            question: None,
            export: None,
            show_deleted: false,
            cache: None,
            name: String::new(),
        }
    }

    pub fn doc(&self) -> &DocId {
        &self.doc
    }

    /// The hour grid as last drawn (tests aim the pointer with it).
    pub fn week_grid(&self) -> Option<WeekGrid> {
        self.week.grid
    }

    /// The month grid as last drawn.
    pub fn month_grid(&self) -> Option<MonthGrid> {
        self.month.grid
    }

    /// The calendar's name as the document has it.
    pub fn name(&self) -> &str {
        self.cache.as_ref().map_or("", |c| c.name.as_str())
    }

    /// The open editor's event.
    pub fn editing(&self) -> Option<&str> {
        self.editor.as_ref().map(EventEditor::uid)
    }

    /// The days shown: `[from, to)`.
    pub fn range(&self) -> (NaiveDate, NaiveDate) {
        match self.mode {
            Mode::Week => {
                let first = week_start(self.anchor);
                (first, first + Duration::days(7))
            }
            Mode::Month => {
                let g = MonthGrid::new(egui::Rect::NOTHING, self.anchor);
                (g.first_day, g.end())
            }
        }
    }

    fn refresh(&mut self, client: &Client) -> Result<(), String> {
        let (from, to) = self.range();
        let zone = self.zone;
        let cache = &self.cache;
        let fresh = client
            .with_document(&self.doc, |doc| {
                if let Some(c) = cache
                    && &c.version == doc.version()
                    && (c.from, c.to, c.zone) == (from, to, zone)
                {
                    return Ok(None);
                }
                let cal = Calendar::open(doc)?;
                Ok::<_, CalendarError>(Some(Cached {
                    version: doc.version().clone(),
                    from,
                    to,
                    zone,
                    occurrences: cal.occurrences(from, to, zone),
                    name: cal.name(),
                    deleted: cal.deleted_events().len(),
                }))
            })
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if let Some(fresh) = fresh {
            if self.cache.as_ref().is_none_or(|c| c.name != fresh.name) {
                self.name.clone_from(&fresh.name);
            }
            self.cache = Some(fresh);
        }
        Ok(())
    }

    /// One frame. Returns a problem worth telling the user, if any.
    pub fn show(&mut self, ui: &mut Ui, client: &Client, read_only: bool) -> Option<String> {
        let mut notice = None;
        if let Err(e) = self.refresh(client) {
            ui.label(format!("This calendar cannot be shown: {e}"));
            return None;
        }
        let now = now_in(self.zone);
        notice = notice.or(self.toolbar(ui, client, now.date(), read_only));
        ui.separator();

        let occurrences = self
            .cache
            .as_ref()
            .map(|c| c.occurrences.clone())
            .unwrap_or_default();
        if let Some(sel) = &self.selected
            && !occurrences.iter().any(|o| sel.is(o))
        {
            self.selected = None;
        }
        let (from, _) = self.range();
        let toast_height = if self.toast.is_some() { 36.0 } else { 0.0 };
        let mut actions = Vec::new();
        let view_rect = {
            let mut r = ui.available_rect_before_wrap();
            r.max.y -= toast_height;
            r
        };
        ui.scope_builder(egui::UiBuilder::new().max_rect(view_rect), |ui| {
            let cx = ViewContext {
                first_day: from,
                days: 7,
                zone: self.zone,
                now,
                selected: self.selected.as_ref(),
                read_only,
            };
            actions = match self.mode {
                Mode::Week => week::show(ui, &mut self.week, &cx, &occurrences),
                Mode::Month => month::show(ui, &mut self.month, self.anchor, &cx, &occurrences),
            };
        });
        self.toast_bar(ui, client, &mut notice);

        for action in actions {
            if let Err(e) = self.act(action, client) {
                notice = Some(e);
            }
        }
        self.keys(ui, client, read_only, &mut notice);
        self.windows(ui, client, read_only, &mut notice);
        notice
    }

    fn toolbar(
        &mut self,
        ui: &mut Ui,
        client: &Client,
        today: NaiveDate,
        read_only: bool,
    ) -> Option<String> {
        let mut notice = None;
        ui.horizontal(|ui| {
            let label = ui.label("Calendar");
            let name = ui
                .add_enabled(
                    !read_only,
                    egui::TextEdit::singleline(&mut self.name).desired_width(200.0),
                )
                .labelled_by(label.id);
            if name.changed() {
                let new_name = self.name.clone();
                if let Err(e) = self.edit(client, |cal| cal.rename(&new_name)) {
                    notice = Some(e);
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let deleted = self.cache.as_ref().map_or(0, |c| c.deleted);
                if ui
                    .add_enabled(
                        deleted > 0,
                        egui::Button::new(format!("Recently deleted ({deleted})")),
                    )
                    .clicked()
                {
                    self.show_deleted = true;
                }
                if ui.button("Export .ics…").clicked() {
                    let name = if self.name.trim().is_empty() {
                        "calendar".to_owned()
                    } else {
                        self.name.trim().replace(['/', '\\'], "-")
                    };
                    let dir = directories::UserDirs::new()
                        .map(|u| u.home_dir().to_owned())
                        .unwrap_or_default();
                    self.export =
                        Some((dir.join(format!("{name}.ics")).display().to_string(), None));
                }
            });
        });
        ui.horizontal(|ui| {
            if ui.button("Today").clicked() {
                self.anchor = today;
                self.week.scroll_pending = true;
            }
            let (back, forward) = match self.mode {
                Mode::Week => (
                    self.anchor - Duration::days(7),
                    self.anchor + Duration::days(7),
                ),
                Mode::Month => (previous_month(self.anchor), next_month(self.anchor)),
            };
            if ui.button("Previous").clicked() {
                self.anchor = back;
            }
            if ui.button("Next").clicked() {
                self.anchor = forward;
            }
            ui.heading(self.range_title());
            ui.separator();
            ui.selectable_value(&mut self.mode, Mode::Week, "Week");
            ui.selectable_value(&mut self.mode, Mode::Month, "Month");
            ui.separator();
            let label = ui.label("Times in");
            let mut zone = self.zone;
            egui::ComboBox::from_id_salt("display-zone")
                .selected_text(zone.name())
                .width(200.0)
                .height(320.0)
                .show_ui(ui, |ui| {
                    for z in all_zones() {
                        ui.selectable_value(&mut zone, z, z.name());
                    }
                })
                .response
                .labelled_by(label.id);
            self.zone = zone;
        });
        notice
    }

    fn range_title(&self) -> String {
        match self.mode {
            Mode::Week => {
                let first = week_start(self.anchor);
                let last = first + Duration::days(6);
                if first.format("%m%Y").to_string() == last.format("%m%Y").to_string() {
                    format!("{} – {}", first.format("%-d"), last.format("%-d %B %Y"))
                } else {
                    format!("{} – {}", first.format("%-d %b"), last.format("%-d %b %Y"))
                }
            }
            Mode::Month => self.anchor.format("%B %Y").to_string(),
        }
    }

    fn edit(
        &self,
        client: &Client,
        f: impl FnOnce(&mut CalendarTx<'_, '_>) -> Result<(), CalendarError>,
    ) -> Result<(), String> {
        match client.edit(&self.doc, |tx| {
            CalendarTx::open(tx).and_then(|mut cal| f(&mut cal))
        }) {
            Ok(Edited { value: Err(e), .. }) => Err(format!("the calendar refused the edit: {e}")),
            Ok(Edited { saved: Err(e), .. }) => Err(format!("edit not saved yet: {e}")),
            Ok(Edited { .. }) => Ok(()),
            Err(e) => Err(format!("cannot edit the calendar: {e}")),
        }
    }

    /// The event as the document has it now.
    fn event(&self, client: &Client, uid: &str) -> Option<concord_calendar::Event> {
        client
            .with_document(&self.doc, |doc| {
                Calendar::open(doc).ok().and_then(|c| c.event(uid))
            })
            .ok()
            .flatten()
    }

    fn create(&mut self, client: &Client, when: When) -> Result<(), String> {
        let uid = new_uid(rand::random());
        let data = EventData::new(&uid, "New event", when);
        self.edit(client, |cal| cal.add_event(&data))?;
        let target = OccRef {
            uid,
            scope: Scope::Series,
            key: concord_calendar::OccurrenceKey::of(&when),
            when,
            recurring: false,
            title: "New event".into(),
        };
        self.editor = Some(EventEditor::open(&target, true));
        self.selected = Some(target);
        Ok(())
    }

    fn act(&mut self, action: Action, client: &Client) -> Result<(), String> {
        match action {
            Action::Create { start, end } => {
                let when = When::timed_local(start, end, self.zone).map_err(|e| e.to_string())?;
                self.create(client, when)
            }
            Action::CreateAllDay { first, end } => {
                let when = When::all_day(first, end).map_err(|e| e.to_string())?;
                self.create(client, when)
            }
            Action::Retime { target, start, end } => {
                let moved =
                    retimed(&target.when, start, end, self.zone).map_err(|e| e.to_string())?;
                if moved == target.when {
                    return Ok(());
                }
                if target.recurring {
                    self.question = Some(PendingRetime { target, moved });
                    Ok(())
                } else {
                    self.edit(client, |cal| {
                        cal.set_when(&target.uid, &Scope::Series, moved)
                    })
                }
            }
            Action::Select(o) => {
                self.selected = Some(o);
                Ok(())
            }
            Action::Open(o) => {
                self.editor = Some(EventEditor::open(&o, false));
                self.selected = Some(o);
                Ok(())
            }
            Action::PickConflict(o) => {
                self.picker = Some(o);
                Ok(())
            }
            Action::ShowWeek(day) => {
                self.mode = Mode::Week;
                self.anchor = day;
                self.week.scroll_pending = true;
                Ok(())
            }
        }
    }

    /// Moves a repeating event's occurrence, or the whole series by as much.
    fn retime_recurring(
        &self,
        client: &Client,
        pending: &PendingRetime,
        all: bool,
    ) -> Result<(), String> {
        let uid = &pending.target.uid;
        if all {
            let event = self
                .event(client, uid)
                .ok_or_else(|| "the event is gone".to_owned())?;
            let series = series_after(&event.data.when, &pending.target.when, &pending.moved)
                .map_err(|e| e.to_string())?;
            self.edit(client, |cal| cal.set_when(uid, &Scope::Series, series))
        } else {
            let scope = Scope::Occurrence(pending.target.key.clone());
            self.edit(client, |cal| cal.set_when(uid, &scope, pending.moved))
        }
    }

    /// Deletes an occurrence (of a repeating event) or a whole event, and
    /// offers the undo.
    pub fn delete(&mut self, client: &Client, target: &OccRef) -> Result<(), String> {
        let deleted = match &target.scope {
            Scope::Occurrence(key) => {
                self.edit(client, |cal| cal.cancel_occurrence(&target.uid, key))?;
                Deleted::Occurrence {
                    uid: target.uid.clone(),
                    key: key.clone(),
                }
            }
            Scope::Series => {
                self.edit(client, |cal| cal.delete_event(&target.uid))?;
                Deleted::Event {
                    uid: target.uid.clone(),
                }
            }
        };
        self.toast = Some(Toast::new(deleted, target.title.clone()));
        if self.selected.as_ref().is_some_and(|s| s.uid == target.uid) {
            self.selected = None;
        }
        if self.editor.as_ref().is_some_and(|e| e.uid() == target.uid) {
            self.editor = None;
        }
        Ok(())
    }

    fn undo(&mut self, client: &Client) -> Result<(), String> {
        let Some(toast) = self.toast.take() else {
            return Ok(());
        };
        match &toast.deleted {
            Deleted::Event { uid } => self.edit(client, |cal| cal.restore_event(uid)),
            Deleted::Occurrence { uid, key } => {
                self.edit(client, |cal| cal.restore_occurrence(uid, key))
            }
        }
    }

    fn toast_bar(&mut self, ui: &mut Ui, client: &Client, notice: &mut Option<String>) {
        if self.toast.as_ref().is_some_and(Toast::expired) {
            self.toast = None;
        }
        let Some(toast) = &self.toast else {
            return;
        };
        let message = toast.message();
        let mut undo = false;
        let mut close = false;
        egui::Frame::new()
            .fill(Color32::from_rgb(0x30, 0x33, 0x38))
            .corner_radius(6.0)
            .inner_margin(egui::Margin::symmetric(10, 4))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(message).color(Color32::WHITE));
                    undo = ui.button("Undo").clicked();
                    close = ui.small_button("Dismiss").clicked();
                });
            });
        if undo && let Err(e) = self.undo(client) {
            *notice = Some(e);
        }
        if close {
            self.toast = None;
        }
    }

    fn keys(&mut self, ui: &Ui, client: &Client, read_only: bool, notice: &mut Option<String>) {
        let typing = ui.ctx().memory(|m| m.focused().is_some());
        if typing || read_only {
            return;
        }
        let (delete, undo) = ui.input(|i| {
            (
                i.key_pressed(egui::Key::Delete) || i.key_pressed(egui::Key::Backspace),
                i.modifiers.command && i.key_pressed(egui::Key::Z),
            )
        });
        if delete
            && self.editor.is_none()
            && let Some(target) = self.selected.clone()
            && let Err(e) = self.delete(client, &target)
        {
            *notice = Some(e);
        }
        if undo && let Err(e) = self.undo(client) {
            *notice = Some(e);
        }
    }

    fn windows(&mut self, ui: &Ui, client: &Client, read_only: bool, notice: &mut Option<String>) {
        let ctx = ui.ctx().clone();
        if let Some(editor) = &mut self.editor {
            match editor.show(&ctx, client, &self.doc, self.zone, read_only) {
                None => {}
                Some(EditorRequest::Close) => self.editor = None,
                Some(EditorRequest::Delete(target)) => {
                    if let Err(e) = self.delete(client, &target) {
                        *notice = Some(e);
                    }
                }
                Some(EditorRequest::Discard(uid)) => {
                    self.editor = None;
                    self.selected = None;
                    if let Err(e) = self.edit(client, |cal| cal.delete_event(&uid)) {
                        *notice = Some(e);
                    }
                }
            }
        }
        self.conflict_window(&ctx, client, read_only, notice);
        self.question_window(&ctx, client, notice);
        self.deleted_window(&ctx, client, read_only, notice);
        self.export_window(&ctx, client);
    }

    fn conflict_window(
        &mut self,
        ctx: &egui::Context,
        client: &Client,
        read_only: bool,
        notice: &mut Option<String>,
    ) {
        let Some(target) = self.picker.clone() else {
            return;
        };
        let choices: Vec<When> = self
            .event(client, &target.uid)
            .and_then(|e| e.when_choices(&target.scope).map(<[When]>::to_vec))
            .unwrap_or_default();
        if choices.len() < 2 {
            // Resolved (here or on another device).
            self.picker = None;
            return;
        }
        let mut open = true;
        let mut picked = None;
        egui::Window::new("Choose a time")
            .id(Id::unique("conflict-picker"))
            .collapsible(false)
            .pivot(egui::Align2::CENTER_CENTER)
            .default_pos(ctx.content_rect().center())
            .open(&mut open)
            .show(ctx, |ui| {
                ui.label(format!(
                    "\"{}\" was moved on two devices at the same time. Which time should it keep? \
                     Your choice applies on every device.",
                    display_title(&target.title)
                ));
                for (i, when) in choices.iter().enumerate() {
                    let mut text = when.label(self.zone);
                    if let Some(z) = when.zone().filter(|z| *z != self.zone) {
                        text = format!("{text} (set in {})", z.name());
                    }
                    if i == 0 {
                        text.push_str(" — shown now");
                    }
                    if ui
                        .add_enabled(!read_only, egui::Button::new(text))
                        .clicked()
                    {
                        picked = Some(*when);
                    }
                }
            });
        if let Some(when) = picked {
            if let Err(e) = self.edit(client, |cal| cal.set_when(&target.uid, &target.scope, when))
            {
                *notice = Some(e);
            }
            open = false;
        }
        if !open {
            self.picker = None;
        }
    }

    fn question_window(
        &mut self,
        ctx: &egui::Context,
        client: &Client,
        notice: &mut Option<String>,
    ) {
        let Some(pending) = self.question.clone() else {
            return;
        };
        let mut answer = None;
        egui::Window::new("Move a repeating event")
            .id(Id::unique("repeat-question"))
            .collapsible(false)
            .pivot(egui::Align2::CENTER_CENTER)
            .default_pos(ctx.content_rect().center())
            .show(ctx, |ui| {
                ui.label(format!(
                    "\"{}\" repeats. Move it to {}:",
                    display_title(&pending.target.title),
                    pending.moved.label(self.zone)
                ));
                ui.horizontal(|ui| {
                    if ui.button("This occurrence").clicked() {
                        answer = Some(Some(false));
                    }
                    if ui.button("All occurrences").clicked() {
                        answer = Some(Some(true));
                    }
                    if ui.button("Cancel").clicked() {
                        answer = Some(None);
                    }
                });
            });
        if let Some(answer) = answer {
            self.question = None;
            if let Some(all) = answer
                && let Err(e) = self.retime_recurring(client, &pending, all)
            {
                *notice = Some(e);
            }
        }
    }

    fn deleted_window(
        &mut self,
        ctx: &egui::Context,
        client: &Client,
        read_only: bool,
        notice: &mut Option<String>,
    ) {
        if !self.show_deleted {
            return;
        }
        let deleted = client
            .with_document(&self.doc, |doc| {
                Calendar::open(doc)
                    .map(|c| c.deleted_events())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let mut open = true;
        let mut restore = None;
        egui::Window::new("Recently deleted")
            .id(Id::unique("deleted-events"))
            .collapsible(false)
            .open(&mut open)
            .show(ctx, |ui| {
                ui.label(RichText::new(DELETE_WINS).weak());
                ui.separator();
                if deleted.is_empty() {
                    ui.label("Nothing deleted.");
                }
                for e in &deleted {
                    ui.horizontal(|ui| {
                        ui.label(display_title(&e.data.title));
                        ui.label(RichText::new(e.data.when.label(self.zone)).weak());
                        if ui
                            .add_enabled(!read_only, egui::Button::new("Restore"))
                            .on_hover_text(format!("Restore {}", display_title(&e.data.title)))
                            .clicked()
                        {
                            restore = Some(e.data.uid.clone());
                        }
                    });
                }
            });
        if let Some(uid) = restore
            && let Err(e) = self.edit(client, |cal| cal.restore_event(&uid))
        {
            *notice = Some(e);
        }
        self.show_deleted = open;
    }

    fn export_window(&mut self, ctx: &egui::Context, client: &Client) {
        let Some((mut path, mut message)) = self.export.clone() else {
            return;
        };
        let mut open = true;
        let mut save = false;
        egui::Window::new("Export calendar")
            .id(Id::unique("export-ics"))
            .collapsible(false)
            .open(&mut open)
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    let label = ui.label("File");
                    ui.add(egui::TextEdit::singleline(&mut path).desired_width(360.0))
                        .labelled_by(label.id);
                });
                save = ui.button("Save .ics").clicked();
                if let Some(m) = &message {
                    ui.label(m);
                }
            });
        if save {
            message = Some(match self.export_to(client, &path) {
                Ok(n) => format!("Saved {n} events to {path}"),
                Err(e) => format!("Not saved: {e}"),
            });
        }
        self.export = open.then_some((path, message));
    }

    /// Writes the calendar as iCalendar to `path`; returns how many events.
    pub fn export_to(&self, client: &Client, path: &str) -> Result<usize, String> {
        let (text, count) = client
            .with_document(&self.doc, |doc| {
                Calendar::open(doc).map(|c| (export_ics(&c, Utc::now()), c.events().len()))
            })
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let path = path.trim();
        if path.is_empty() {
            return Err("no file name given".into());
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))?;
        Ok(count)
    }
}

impl CalendarView {
    /// The conflict mark's colour, for tests that look at pixels.
    pub const CONFLICT_COLOUR: Color32 = paint::CONFLICT;
}

//! The event editor window: every field of one event (or of one occurrence
//! of a repeating event), written to the document as it is changed, like
//! the note editor. Times are shown in the event's own zone.
//!
//! A repeating event offers "This occurrence" or "All occurrences": title,
//! time and location can differ per occurrence (the model keeps them under
//! the occurrence's original start, so edits of two occurrences on two
//! devices never conflict); notes, attendees, colour and the repeat rule
//! belong to the whole series.

use chrono::{Duration, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use concord_calendar::colour::PALETTE;
use concord_calendar::{
    Calendar, CalendarError, CalendarTx, DELETE_WINS, Event, Frequency, OccurrenceKey, Recurrence,
    RecurrenceEnd, Scope, When,
};
use concord_client::{Client, Edited};
use concord_core::VersionVector;
use concord_wire::DocId;
use egui::{Color32, Id, RichText, Role, Sense, Ui, WidgetInfo, vec2};

use super::action::OccRef;
use super::paint;
use super::zone::all_zones;
use crate::editor;

/// What the editor asks the calendar view to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditorRequest {
    /// Delete (with the undo toast) what the editor shows.
    Delete(OccRef),
    /// Throw away the event just created.
    Discard(String),
    Close,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct RuleForm {
    frequency: Option<Frequency>,
    interval: String,
    /// 0 never, 1 after a count, 2 until a date.
    end_kind: u8,
    count: String,
    until: String,
    weekdays: [bool; 7],
}

impl RuleForm {
    fn of(rule: Option<&Recurrence>, start: NaiveDate) -> Self {
        let mut form = RuleForm {
            frequency: rule.map(|r| r.frequency),
            interval: rule.map_or(1, |r| r.interval).to_string(),
            end_kind: 0,
            count: "10".into(),
            until: (start + Duration::days(90)).format("%Y-%m-%d").to_string(),
            weekdays: [false; 7],
        };
        if let Some(rule) = rule {
            match rule.end {
                RecurrenceEnd::Never => {}
                RecurrenceEnd::Count(c) => {
                    form.end_kind = 1;
                    form.count = c.to_string();
                }
                RecurrenceEnd::UntilDate(d) => {
                    form.end_kind = 2;
                    form.until = d.format("%Y-%m-%d").to_string();
                }
                RecurrenceEnd::UntilInstant(t) => {
                    form.end_kind = 2;
                    form.until = t.date_naive().format("%Y-%m-%d").to_string();
                }
            }
            for d in &rule.weekdays {
                form.weekdays[d.num_days_from_monday() as usize] = true;
            }
        }
        form
    }

    fn rule(&self) -> Result<Option<Recurrence>, String> {
        let Some(frequency) = self.frequency else {
            return Ok(None);
        };
        let interval: u32 = self
            .interval
            .trim()
            .parse()
            .map_err(|_| "the interval must be a whole number".to_owned())?;
        let end = match self.end_kind {
            1 => RecurrenceEnd::Count(
                self.count
                    .trim()
                    .parse()
                    .map_err(|_| "the count must be a whole number".to_owned())?,
            ),
            2 => RecurrenceEnd::UntilDate(parse_date(&self.until)?),
            _ => RecurrenceEnd::Never,
        };
        let mut rule = Recurrence::new(frequency)
            .with_interval(interval)
            .with_end(end);
        if frequency == Frequency::Weekly {
            let days: Vec<Weekday> = WEEKDAYS
                .iter()
                .zip(self.weekdays)
                .filter(|(_, on)| *on)
                .map(|(d, _)| *d)
                .collect();
            rule = Recurrence::weekly_on(&days)
                .with_interval(interval)
                .with_end(end);
        }
        rule.validate().map_err(|e| e.to_string())?;
        Ok(Some(rule))
    }
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// What an edit in the editor changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applies {
    /// An event that does not repeat.
    Event,
    /// One occurrence of a repeating event.
    ThisOccurrence,
    /// Every occurrence of a repeating event.
    AllOccurrences,
}

/// The open editor.
#[derive(Debug)]
pub struct EventEditor {
    pub uid: String,
    /// The occurrence it was opened on (the series' own key if it does not
    /// repeat).
    pub key: OccurrenceKey,
    /// What the title, time and location edits apply to.
    pub applies: Applies,
    /// Just created: offer "Discard", select the title.
    pub is_new: bool,
    title: String,
    location: String,
    notes: String,
    /// The notes as the document had them when `notes` was last in step.
    notes_base: String,
    all_day: bool,
    start_date: String,
    start_time: String,
    end_date: String,
    end_time: String,
    zone: Tz,
    attendee: String,
    rule: RuleForm,
    /// The document version the fields show.
    shown: Option<VersionVector>,
    /// The scope the fields show.
    shown_scope: Option<Scope>,
    error: Option<String>,
    focus_title: bool,
}

/// Ids of the text fields (so a reload leaves the one being typed in).
fn field_id(name: &str) -> Id {
    Id::unique(("event-editor-field", name))
}

pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{:?} is not a date like 2026-05-04", s.trim()))
}

pub fn parse_time(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .map_err(|_| format!("{:?} is not a time like 09:30", s.trim()))
}

/// The span of occurrence `key` of `event` now (moved or not).
pub fn occurrence_when(event: &Event, key: &OccurrenceKey) -> When {
    if event.data.recurrence.is_none() {
        return event.data.when;
    }
    if let Some(when) = event.data.overrides.get(key).and_then(|o| o.when) {
        return when;
    }
    let base = &event.data.when;
    let original = match (key.instant(), base.zone(), key.date()) {
        (Some(start), Some(zone), _) => When::timed(start, start + base.duration(), zone).ok(),
        (None, None, Some(day)) => When::all_day(day, day + base.duration()).ok(),
        _ => None,
    };
    original.unwrap_or(*base)
}

impl EventEditor {
    pub fn open(target: &OccRef, is_new: bool) -> Self {
        EventEditor {
            uid: target.uid.clone(),
            key: target.key.clone(),
            applies: if target.recurring {
                Applies::ThisOccurrence
            } else {
                Applies::Event
            },
            is_new,
            title: String::new(),
            location: String::new(),
            notes: String::new(),
            notes_base: String::new(),
            all_day: false,
            start_date: String::new(),
            start_time: String::new(),
            end_date: String::new(),
            end_time: String::new(),
            zone: Tz::UTC,
            attendee: String::new(),
            rule: RuleForm::of(None, NaiveDate::MIN),
            shown: None,
            shown_scope: None,
            error: None,
            focus_title: is_new,
        }
    }

    /// What the title, time and location edits apply to.
    pub fn scope(&self) -> Scope {
        if self.applies == Applies::ThisOccurrence {
            Scope::Occurrence(self.key.clone())
        } else {
            Scope::Series
        }
    }

    /// The occurrence the editor shows, for a delete.
    fn target(&self, event: &Event) -> OccRef {
        OccRef {
            uid: self.uid.clone(),
            scope: self.scope(),
            key: self.key.clone(),
            when: occurrence_when(event, &self.key),
            recurring: self.applies != Applies::Event,
            title: event.data.title.clone(),
        }
    }

    /// The span the scope has now.
    fn scope_when(&self, event: &Event) -> When {
        match self.scope() {
            Scope::Series => event.data.when,
            Scope::Occurrence(key) => occurrence_when(event, &key),
        }
    }

    fn scope_title(&self, event: &Event) -> String {
        match self.scope() {
            Scope::Series => event.data.title.clone(),
            Scope::Occurrence(key) => event
                .data
                .overrides
                .get(&key)
                .and_then(|o| o.title.clone())
                .unwrap_or_else(|| event.data.title.clone()),
        }
    }

    fn scope_location(&self, event: &Event) -> String {
        match self.scope() {
            Scope::Series => event.data.location.clone(),
            Scope::Occurrence(key) => event
                .data
                .overrides
                .get(&key)
                .and_then(|o| o.location.clone())
                .unwrap_or_else(|| event.data.location.clone()),
        }
    }

    /// Puts the document's values into the fields not being typed in.
    fn reload(&mut self, ui: &Ui, event: &Event, display: Tz) {
        let focused = |name: &str| ui.memory(|m| m.has_focus(field_id(name)));
        let when = self.scope_when(event);
        if !focused("title") {
            self.title = self.scope_title(event);
        }
        if !focused("location") {
            self.location = self.scope_location(event);
        }
        if !focused("notes") {
            // While typing, remote edits wait for the next local one (which
            // is rebased over them and then shows them).
            self.notes.clone_from(&event.data.notes);
            self.notes_base.clone_from(&event.data.notes);
        }
        self.all_day = when.is_all_day();
        self.zone = when.zone().unwrap_or(display);
        let start = when.local_start(self.zone);
        let mut end = when.local_end(self.zone);
        if self.all_day {
            // Shown inclusive: "to Friday", stored exclusive.
            end -= Duration::days(1);
        }
        for (name, field, value) in [
            ("start date", &mut self.start_date, start.format("%Y-%m-%d")),
            ("start time", &mut self.start_time, start.format("%H:%M")),
            ("end date", &mut self.end_date, end.format("%Y-%m-%d")),
            ("end time", &mut self.end_time, end.format("%H:%M")),
        ] {
            if !focused(name) {
                *field = value.to_string();
            }
        }
        self.rule = RuleForm::of(
            event.data.recurrence.as_ref(),
            event.data.when.local_start(self.zone).date(),
        );
    }

    /// The span the time fields say.
    fn fields_when(&self) -> Result<When, String> {
        let start_date = parse_date(&self.start_date)?;
        let end_date = parse_date(&self.end_date)?;
        if self.all_day {
            return When::all_day(start_date, end_date + Duration::days(1))
                .map_err(|e| e.to_string());
        }
        let start = start_date.and_time(parse_time(&self.start_time)?);
        let end = end_date.and_time(parse_time(&self.end_time)?);
        When::timed_local(start, end, self.zone).map_err(|e| e.to_string())
    }

    /// Draws the window; `None` while it stays open and nothing is asked.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        client: &Client,
        doc: &DocId,
        display: Tz,
        read_only: bool,
    ) -> Option<EditorRequest> {
        let read = client.with_document(doc, |d| {
            (
                Calendar::open(d).ok().and_then(|c| c.event(&self.uid)),
                d.version().clone(),
            )
        });
        let Ok((Some(event), version)) = read else {
            return Some(EditorRequest::Close);
        };
        let mut open = true;
        let mut request = None;
        let title = if self.is_new {
            "New event"
        } else {
            "Edit event"
        };
        egui::Window::new(title)
            .id(Id::unique("event-editor"))
            .collapsible(false)
            .resizable(true)
            .default_width(420.0)
            // Beside the week, not over the day being edited.
            .pivot(egui::Align2::RIGHT_TOP)
            .default_pos(ctx.content_rect().right_top() + vec2(-16.0, 110.0))
            .open(&mut open)
            .show(ctx, |ui| {
                if self.shown.as_ref() != Some(&version)
                    || self.shown_scope.as_ref() != Some(&self.scope())
                {
                    self.reload(ui, &event, display);
                    self.shown = Some(version.clone());
                    self.shown_scope = Some(self.scope());
                }
                let max = (ui.ctx().content_rect().height() - 220.0).max(120.0);
                egui::ScrollArea::vertical().max_height(max).show(ui, |ui| {
                    self.body(ui, client, doc, &event, display, read_only);
                });
                ui.separator();
                request = self.footer(ui, &event, !read_only && !event.deleted);
            });
        if !open {
            return Some(EditorRequest::Close);
        }
        request
    }

    /// Runs one edit; a refused one shows its reason in the window.
    fn edit(
        &mut self,
        client: &Client,
        doc: &DocId,
        f: impl FnOnce(&mut CalendarTx<'_, '_>) -> Result<(), CalendarError>,
    ) {
        let result = client.edit(doc, |tx| {
            CalendarTx::open(tx).and_then(|mut cal| f(&mut cal))
        });
        self.error = match result {
            Ok(Edited { value: Err(e), .. }) => Some(e.to_string()),
            Ok(Edited { saved: Err(e), .. }) => Some(format!("not saved yet: {e}")),
            Ok(Edited { .. }) => None,
            Err(e) => Some(e.to_string()),
        };
    }

    fn body(
        &mut self,
        ui: &mut Ui,
        client: &Client,
        doc: &DocId,
        event: &Event,
        display: Tz,
        read_only: bool,
    ) {
        let uid = self.uid.clone();
        if event.deleted {
            ui.label(
                RichText::new("This event was deleted.")
                    .strong()
                    .color(paint::CONFLICT),
            );
            ui.label(DELETE_WINS);
            if !read_only && ui.button("Restore event").clicked() {
                self.edit(client, doc, |cal| cal.restore_event(&uid));
            }
            ui.separator();
        }
        let editable = !read_only && !event.deleted;
        if self.applies != Applies::Event {
            ui.horizontal(|ui| {
                ui.label("Change");
                ui.radio_value(
                    &mut self.applies,
                    Applies::ThisOccurrence,
                    "This occurrence",
                );
                ui.radio_value(
                    &mut self.applies,
                    Applies::AllOccurrences,
                    "All occurrences",
                );
            });
        }
        let scope = self.scope();

        // Concurrent moves: offer every time.
        if let Some(choices) = event.when_choices(&scope) {
            ui.label(
                RichText::new("Moved on two devices at the same time. Keep:")
                    .color(paint::CONFLICT),
            );
            ui.horizontal_wrapped(|ui| {
                for when in choices {
                    if ui
                        .add_enabled(editable, egui::Button::new(when.label(display)))
                        .clicked()
                    {
                        let (uid, scope, when) = (uid.clone(), scope.clone(), *when);
                        self.edit(client, doc, |cal| cal.set_when(&uid, &scope, when));
                    }
                }
            });
            ui.separator();
        }

        self.fields(ui, client, doc, event, display, editable);
        if self.applies == Applies::ThisOccurrence {
            ui.label(
                RichText::new("Notes, attendees, colour and repeat apply to all occurrences.")
                    .weak()
                    .small(),
            );
        }

        self.notes_and_attendees(ui, client, doc, event, editable);
        ui.separator();
        self.repeat_section(ui, client, doc, editable);
    }

    /// Title, all day, start and end, zone, location, colour.
    #[allow(clippy::too_many_arguments)]
    fn fields(
        &mut self,
        ui: &mut Ui,
        client: &Client,
        doc: &DocId,
        event: &Event,
        display: Tz,
        editable: bool,
    ) {
        let uid = self.uid.clone();
        let scope = self.scope();
        egui::Grid::new("event-fields")
            .num_columns(2)
            .spacing(vec2(8.0, 6.0))
            .show(ui, |ui| {
                let label = ui.label("Title");
                let field = ui
                    .add_enabled(
                        editable,
                        egui::TextEdit::singleline(&mut self.title)
                            .id(field_id("title"))
                            .desired_width(280.0),
                    )
                    .labelled_by(label.id);
                if self.focus_title {
                    field.request_focus();
                    if let Some(mut state) = egui::TextEdit::load_state(ui.ctx(), field.id) {
                        let all = egui::text::CCursorRange::two(
                            egui::text::CCursor::new(0),
                            egui::text::CCursor::new(self.title.chars().count()),
                        );
                        state.cursor.set_char_range(Some(all));
                        state.store(ui.ctx(), field.id);
                        self.focus_title = false;
                    }
                }
                if field.changed() {
                    let (uid, scope, title) = (uid.clone(), scope.clone(), self.title.clone());
                    self.edit(client, doc, |cal| cal.set_title(&uid, &scope, &title));
                }
                ui.end_row();

                self.all_day_row(ui, client, doc, event, display, editable);

                self.time_rows(ui, client, doc, event, editable);

                let label = ui.label("Location");
                let field = ui
                    .add_enabled(
                        editable,
                        egui::TextEdit::singleline(&mut self.location)
                            .id(field_id("location"))
                            .desired_width(280.0),
                    )
                    .labelled_by(label.id);
                if field.changed() {
                    let (uid, scope, location) =
                        (uid.clone(), scope.clone(), self.location.clone());
                    self.edit(client, doc, |cal| cal.set_location(&uid, &scope, &location));
                }
                ui.end_row();

                ui.label("Colour");
                ui.horizontal_wrapped(|ui| {
                    for (name, [r, g, b]) in PALETTE {
                        let (rect, response) =
                            ui.allocate_exact_size(vec2(18.0, 18.0), Sense::click());
                        let label = format!("Colour {name}");
                        response.widget_info(|| {
                            WidgetInfo::labeled(Role::Button, editable, label.clone())
                        });
                        let chosen = event.data.colour.as_deref() == Some(name);
                        ui.painter()
                            .circle_filled(rect.center(), 8.0, Color32::from_rgb(r, g, b));
                        if chosen {
                            ui.painter().circle_stroke(
                                rect.center(),
                                9.0,
                                egui::Stroke::new(2.0, ui.visuals().text_color()),
                            );
                        }
                        if response.on_hover_text(name).clicked() && editable {
                            let uid = uid.clone();
                            self.edit(client, doc, |cal| cal.set_colour(&uid, Some(name)));
                        }
                    }
                });
                ui.end_row();
            });
    }

    /// The notes (shared text) and the attendees (an add-wins set).
    fn notes_and_attendees(
        &mut self,
        ui: &mut Ui,
        client: &Client,
        doc: &DocId,
        event: &Event,
        editable: bool,
    ) {
        let uid = self.uid.clone();
        // Notes: collaborative text, typed as one splice per edit.
        let notes_label = ui.label("Notes");
        let before = self.notes.clone();
        let notes = ui
            .add_enabled(
                editable,
                egui::TextEdit::multiline(&mut self.notes)
                    .id(field_id("notes"))
                    .desired_rows(3)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(notes_label.id);
        if notes.changed()
            && let Some(splice) = editor::diff(&before, &self.notes, None)
        {
            let base = self.notes_base.clone();
            let uid2 = uid.clone();
            let result = client.edit(doc, |tx| {
                let mut cal = CalendarTx::open(tx)?;
                let now = cal
                    .calendar()
                    .event(&uid2)
                    .map(|e| e.data.notes)
                    .unwrap_or_default();
                let splice = editor::rebase(&splice, &base, &now);
                cal.splice_notes(&uid2, splice.pos, splice.del, &splice.insert)?;
                Ok::<_, CalendarError>(
                    cal.calendar()
                        .event(&uid2)
                        .map(|e| e.data.notes)
                        .unwrap_or_default(),
                )
            });
            match result {
                Ok(Edited {
                    value: Ok(now),
                    saved,
                }) => {
                    // Applied either way; saving is retried if it failed.
                    self.notes_base.clone_from(&now);
                    self.notes = now;
                    if let Err(e) = saved {
                        self.error = Some(format!("not saved yet: {e}"));
                    }
                }
                Ok(Edited { value: Err(e), .. }) => self.error = Some(e.to_string()),
                Err(e) => self.error = Some(e.to_string()),
            }
        }

        // Attendees: an add-wins set.
        ui.label("Attendees");
        for who in &event.data.attendees {
            ui.horizontal(|ui| {
                ui.label(who);
                if ui
                    .add_enabled(editable, egui::Button::new("Remove").small())
                    .on_hover_text(format!("Remove {who}"))
                    .clicked()
                {
                    let (uid, who) = (uid.clone(), who.clone());
                    self.edit(client, doc, |cal| {
                        cal.remove_attendee(&uid, &who).map(|_| ())
                    });
                }
            });
        }
        ui.horizontal(|ui| {
            let label = ui.label("Add attendee");
            let field = ui
                .add_enabled(
                    editable,
                    egui::TextEdit::singleline(&mut self.attendee)
                        .id(field_id("attendee"))
                        .hint_text("name or email")
                        .desired_width(200.0),
                )
                .labelled_by(label.id);
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let add = ui.add_enabled(editable, egui::Button::new("Add")).clicked();
            let who = self.attendee.trim().to_owned();
            if (enter || add) && !who.is_empty() {
                let uid = uid.clone();
                self.edit(client, doc, |cal| cal.add_attendee(&uid, &who));
                self.attendee.clear();
            }
        });
    }

    /// The "All day" switch: converts the span between timed and all-day.
    #[allow(clippy::too_many_arguments)]
    fn all_day_row(
        &mut self,
        ui: &mut Ui,
        client: &Client,
        doc: &DocId,
        event: &Event,
        display: Tz,
        editable: bool,
    ) {
        let uid = self.uid.clone();
        let scope = self.scope();
        ui.label("");
        let all_day = ui.add_enabled(editable, egui::Checkbox::new(&mut self.all_day, "All day"));
        if all_day.changed() {
            let when = self.scope_when(event);
            let converted = if self.all_day {
                let s = when.local_start(self.zone);
                let e = when.local_end(self.zone);
                let last = if e.time() == NaiveTime::MIN && e.date() > s.date() {
                    e.date()
                } else {
                    e.date() + Duration::days(1)
                };
                When::all_day(s.date(), last)
            } else {
                let day = when.local_start(display).date();
                When::timed_local(
                    day.and_hms_opt(9, 0, 0).unwrap_or_default(),
                    day.and_hms_opt(10, 0, 0).unwrap_or_default(),
                    display,
                )
            };
            let (uid, scope) = (uid.clone(), scope.clone());
            match converted {
                Ok(when) => self.edit(client, doc, |cal| cal.set_when(&uid, &scope, when)),
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        ui.end_row();
    }

    /// Start and end (date, and time unless all day), applied when a field
    /// is left; the zone the times are in.
    fn time_rows(
        &mut self,
        ui: &mut Ui,
        client: &Client,
        doc: &DocId,
        event: &Event,
        editable: bool,
    ) {
        let uid = self.uid.clone();
        let scope = self.scope();
        let mut commit_time = false;
        for (row, date_name, time_name) in [
            ("Starts", "start date", "start time"),
            ("Ends", "end date", "end time"),
        ] {
            ui.label(row);
            ui.horizontal(|ui| {
                let (date, time) = if date_name == "start date" {
                    (&mut self.start_date, &mut self.start_time)
                } else {
                    (&mut self.end_date, &mut self.end_time)
                };
                let d = ui.add_enabled(
                    editable,
                    egui::TextEdit::singleline(date)
                        .id(field_id(date_name))
                        .desired_width(96.0),
                );
                d.widget_info(|| {
                    WidgetInfo::labeled(Role::TextInput, true, format!("{row} (date)"))
                });
                commit_time |= d.lost_focus();
                if !self.all_day {
                    let t = ui.add_enabled(
                        editable,
                        egui::TextEdit::singleline(time)
                            .id(field_id(time_name))
                            .desired_width(52.0),
                    );
                    t.widget_info(|| {
                        WidgetInfo::labeled(Role::TextInput, true, format!("{row} (time)"))
                    });
                    commit_time |= t.lost_focus();
                }
            });
            ui.end_row();
        }
        if commit_time && editable {
            match self.fields_when() {
                Ok(when) if when != self.scope_when(event) => {
                    let (uid, scope) = (uid.clone(), scope.clone());
                    self.edit(client, doc, |cal| cal.set_when(&uid, &scope, when));
                }
                Ok(_) => {}
                Err(e) => self.error = Some(e),
            }
        }

        if !self.all_day {
            let label = ui.label("Time zone");
            let mut zone = self.zone;
            ui.add_enabled_ui(editable, |ui| {
                egui::ComboBox::from_id_salt("event-zone")
                    .selected_text(zone.name())
                    .width(240.0)
                    .height(300.0)
                    .show_ui(ui, |ui| {
                        for z in all_zones() {
                            ui.selectable_value(&mut zone, z, z.name());
                        }
                    })
                    .response
                    .labelled_by(label.id);
            });
            if zone != self.zone {
                // Same wall-clock times, read in the new zone.
                self.zone = zone;
                match self.fields_when() {
                    Ok(when) => {
                        let (uid, scope) = (uid.clone(), scope.clone());
                        self.edit(client, doc, |cal| cal.set_when(&uid, &scope, when));
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            ui.end_row();
        }
    }

    /// The error line and the buttons, below the scrolling fields so they
    /// are always in view.
    fn footer(&self, ui: &mut Ui, event: &Event, editable: bool) -> Option<EditorRequest> {
        let mut request = None;
        if let Some(error) = &self.error {
            ui.label(RichText::new(error).color(paint::CONFLICT));
        }
        ui.horizontal(|ui| {
            let delete_text = if self.applies == Applies::ThisOccurrence {
                "Delete this occurrence"
            } else {
                "Delete event"
            };
            if ui
                .add_enabled(editable, egui::Button::new(delete_text))
                .clicked()
            {
                request = Some(EditorRequest::Delete(self.target(event)));
            }
            if self.is_new
                && ui
                    .add_enabled(editable, egui::Button::new("Discard"))
                    .clicked()
            {
                request = Some(EditorRequest::Discard(self.uid.clone()));
            }
            if ui.button("Done").clicked() {
                request = Some(EditorRequest::Close);
            }
        });
        request
    }

    fn repeat_section(&mut self, ui: &mut Ui, client: &Client, doc: &DocId, editable: bool) {
        let uid = self.uid.clone();
        ui.horizontal(|ui| {
            let label = ui.label("Repeat");
            let name = |f: Option<Frequency>| match f {
                None => "Does not repeat",
                Some(Frequency::Daily) => "Daily",
                Some(Frequency::Weekly) => "Weekly",
                Some(Frequency::Monthly) => "Monthly",
                Some(Frequency::Yearly) => "Yearly",
            };
            ui.add_enabled_ui(editable, |ui| {
                egui::ComboBox::from_id_salt("event-repeat")
                    .selected_text(name(self.rule.frequency))
                    .show_ui(ui, |ui| {
                        for f in [
                            None,
                            Some(Frequency::Daily),
                            Some(Frequency::Weekly),
                            Some(Frequency::Monthly),
                            Some(Frequency::Yearly),
                        ] {
                            ui.selectable_value(&mut self.rule.frequency, f, name(f));
                        }
                    })
                    .response
                    .labelled_by(label.id);
            });
            if self.rule.frequency.is_some() {
                let label = ui.label("every");
                ui.add_enabled(
                    editable,
                    egui::TextEdit::singleline(&mut self.rule.interval).desired_width(32.0),
                )
                .labelled_by(label.id);
            }
        });
        if self.rule.frequency == Some(Frequency::Weekly) {
            ui.horizontal(|ui| {
                ui.label("on");
                for (i, d) in WEEKDAYS.iter().enumerate() {
                    ui.add_enabled(
                        editable,
                        egui::Checkbox::new(&mut self.rule.weekdays[i], format!("{d}")),
                    );
                }
            });
        }
        if self.rule.frequency.is_some() {
            ui.horizontal(|ui| {
                ui.label("ends");
                ui.radio_value(&mut self.rule.end_kind, 0, "never");
                ui.radio_value(&mut self.rule.end_kind, 1, "after");
                if self.rule.end_kind == 1 {
                    ui.add_enabled(
                        editable,
                        egui::TextEdit::singleline(&mut self.rule.count).desired_width(36.0),
                    )
                    .widget_info(|| WidgetInfo::labeled(Role::TextInput, true, "Occurrences"));
                    ui.label("times");
                }
                ui.radio_value(&mut self.rule.end_kind, 2, "on");
                if self.rule.end_kind == 2 {
                    ui.add_enabled(
                        editable,
                        egui::TextEdit::singleline(&mut self.rule.until).desired_width(90.0),
                    )
                    .widget_info(|| WidgetInfo::labeled(Role::TextInput, true, "Last day"));
                }
            });
        }
        if ui
            .add_enabled(editable, egui::Button::new("Apply repeat"))
            .on_hover_text("Applies to all occurrences")
            .clicked()
        {
            match self.rule.rule() {
                Ok(rule) => {
                    self.edit(client, doc, |cal| cal.set_recurrence(&uid, rule.as_ref()));
                    self.shown = None;
                }
                Err(e) => self.error = Some(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_form_round_trips() {
        let start = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        let rule = Recurrence::weekly_on(&[Weekday::Mon, Weekday::Thu])
            .with_interval(2)
            .with_end(RecurrenceEnd::Count(8));
        let form = RuleForm::of(Some(&rule), start);
        assert_eq!(form.rule(), Ok(Some(rule)));
        let none = RuleForm::of(None, start);
        assert_eq!(none.rule(), Ok(None));
        let mut bad = RuleForm::of(Some(&Recurrence::new(Frequency::Daily)), start);
        bad.interval = "x".into();
        assert!(bad.rule().is_err());
        bad.interval = "0".into();
        assert!(bad.rule().is_err(), "interval 0 is refused by the model");
    }

    #[test]
    fn dates_and_times_parse_or_say_why() {
        assert_eq!(
            parse_date(" 2026-05-04 "),
            Ok(NaiveDate::from_ymd_opt(2026, 5, 4).unwrap())
        );
        assert!(parse_date("4 May").unwrap_err().contains("2026-05-04"));
        assert_eq!(
            parse_time("9:05"),
            Ok(NaiveTime::from_hms_opt(9, 5, 0).unwrap())
        );
        assert!(parse_time("25:00").is_err());
    }
}

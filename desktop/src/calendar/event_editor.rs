//! The event editor window: every field of one event (or of one occurrence
//! of a repeating event), written to the document as it is changed, like
//! the note editor. Times are shown in the event's own zone.
//!
//! A repeating event offers "This occurrence" or "All occurrences": title,
//! time and location can differ per occurrence (the model keeps them under
//! the occurrence's original start, so edits of two occurrences on two
//! devices never conflict); notes, attendees, colour and the repeat rule
//! belong to the whole series.
//!
//! What the fields hold and how they read back is `event_form` (and
//! `rule_form` for the repeat row); this file draws them.

use chrono::{Duration, NaiveTime};
use chrono_tz::Tz;
use concord_calendar::colour::PALETTE;
use concord_calendar::{
    Calendar, CalendarError, CalendarTx, DELETE_WINS, Event, Frequency, Scope, When,
};
use concord_client::Client;
use concord_core::{DocId, VersionVector};
use egui::{Color32, Id, RichText, Role, Sense, Ui, WidgetInfo, vec2};

use super::action::OccRef;
use super::event_form::{Applies, EventForm, Field};
use super::paint;
use super::rule_form::{FREQUENCIES, RepeatEnd, WEEKDAYS, frequency_name};
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

/// The open editor.
#[derive(Debug)]
pub struct EventEditor {
    form: EventForm,
    /// Just created: offer "Discard", select the title.
    is_new: bool,
    /// The document version the fields show.
    shown: Option<VersionVector>,
    /// The scope the fields show.
    shown_scope: Option<Scope>,
    error: Option<String>,
    focus_title: bool,
}

/// Ids of the text fields (so a reload leaves the one being typed in).
fn field_id(field: Field) -> Id {
    Id::unique(("event-editor-field", field.name()))
}

impl EventEditor {
    pub fn open(target: &OccRef, is_new: bool) -> Self {
        EventEditor {
            form: EventForm::new(target),
            is_new,
            shown: None,
            shown_scope: None,
            error: None,
            focus_title: is_new,
        }
    }

    /// The event the editor shows.
    pub fn uid(&self) -> &str {
        &self.form.uid
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
                Calendar::open(d).ok().and_then(|c| c.event(&self.form.uid)),
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
                    || self.shown_scope.as_ref() != Some(&self.form.scope())
                {
                    let typing = |f| ui.memory(|m| m.has_focus(field_id(f)));
                    self.form.load(&event, display, typing);
                    self.shown = Some(version.clone());
                    self.shown_scope = Some(self.form.scope());
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
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(format!("not saved yet: {e}")),
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
        let uid = self.form.uid.clone();
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
        if self.form.applies != Applies::Event {
            ui.horizontal(|ui| {
                ui.label("Change");
                ui.radio_value(
                    &mut self.form.applies,
                    Applies::ThisOccurrence,
                    "This occurrence",
                );
                ui.radio_value(
                    &mut self.form.applies,
                    Applies::AllOccurrences,
                    "All occurrences",
                );
            });
        }
        let scope = self.form.scope();

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
        if self.form.applies == Applies::ThisOccurrence {
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
        let uid = self.form.uid.clone();
        let scope = self.form.scope();
        egui::Grid::new("event-fields")
            .num_columns(2)
            .spacing(vec2(8.0, 6.0))
            .show(ui, |ui| {
                let label = ui.label("Title");
                let field = ui
                    .add_enabled(
                        editable,
                        egui::TextEdit::singleline(&mut self.form.title)
                            .id(field_id(Field::Title))
                            .desired_width(280.0),
                    )
                    .labelled_by(label.id);
                if self.focus_title {
                    field.request_focus();
                    if let Some(mut state) = egui::TextEdit::load_state(ui.ctx(), field.id) {
                        let all = egui::text::CCursorRange::two(
                            egui::text::CCursor::new(0),
                            egui::text::CCursor::new(self.form.title.chars().count()),
                        );
                        state.cursor.set_char_range(Some(all));
                        state.store(ui.ctx(), field.id);
                        self.focus_title = false;
                    }
                }
                if field.changed() {
                    let (uid, scope, title) = (uid.clone(), scope.clone(), self.form.title.clone());
                    self.edit(client, doc, |cal| cal.set_title(&uid, &scope, &title));
                }
                ui.end_row();

                self.all_day_row(ui, client, doc, event, display, editable);

                self.time_rows(ui, client, doc, event, editable);

                let label = ui.label("Location");
                let field = ui
                    .add_enabled(
                        editable,
                        egui::TextEdit::singleline(&mut self.form.location)
                            .id(field_id(Field::Location))
                            .desired_width(280.0),
                    )
                    .labelled_by(label.id);
                if field.changed() {
                    let (uid, scope, location) =
                        (uid.clone(), scope.clone(), self.form.location.clone());
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
        let uid = self.form.uid.clone();
        // Notes: collaborative text, typed as one splice per edit.
        let notes_label = ui.label("Notes");
        let before = self.form.notes.clone();
        let notes = ui
            .add_enabled(
                editable,
                egui::TextEdit::multiline(&mut self.form.notes)
                    .id(field_id(Field::Notes))
                    .desired_rows(3)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(notes_label.id);
        if notes.changed()
            && let Some(splice) = editor::diff(&before, &self.form.notes, None)
        {
            let base = self.form.notes_base.clone();
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
                Ok(Ok(now)) => {
                    self.form.notes_base.clone_from(&now);
                    self.form.notes = now;
                }
                Ok(Err(e)) => self.error = Some(e.to_string()),
                Err(e) => self.error = Some(format!("not saved yet: {e}")),
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
                    egui::TextEdit::singleline(&mut self.form.attendee)
                        .id(field_id(Field::Attendee))
                        .hint_text("name or email")
                        .desired_width(200.0),
                )
                .labelled_by(label.id);
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let add = ui.add_enabled(editable, egui::Button::new("Add")).clicked();
            let who = self.form.attendee.trim().to_owned();
            if (enter || add) && !who.is_empty() {
                let uid = uid.clone();
                self.edit(client, doc, |cal| cal.add_attendee(&uid, &who));
                self.form.attendee.clear();
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
        let uid = self.form.uid.clone();
        let scope = self.form.scope();
        ui.label("");
        let all_day = ui.add_enabled(
            editable,
            egui::Checkbox::new(&mut self.form.all_day, "All day"),
        );
        if all_day.changed() {
            let when = self.form.scope_when(event);
            let converted = if self.form.all_day {
                let s = when.local_start(self.form.zone);
                let e = when.local_end(self.form.zone);
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
        let uid = self.form.uid.clone();
        let scope = self.form.scope();
        let mut commit_time = false;
        for (row, date_field, time_field) in [
            ("Starts", Field::StartDate, Field::StartTime),
            ("Ends", Field::EndDate, Field::EndTime),
        ] {
            ui.label(row);
            ui.horizontal(|ui| {
                let (date, time) = if date_field == Field::StartDate {
                    (&mut self.form.start_date, &mut self.form.start_time)
                } else {
                    (&mut self.form.end_date, &mut self.form.end_time)
                };
                let d = ui.add_enabled(
                    editable,
                    egui::TextEdit::singleline(date)
                        .id(field_id(date_field))
                        .desired_width(96.0),
                );
                d.widget_info(|| {
                    WidgetInfo::labeled(Role::TextInput, true, format!("{row} (date)"))
                });
                commit_time |= d.lost_focus();
                if !self.form.all_day {
                    let t = ui.add_enabled(
                        editable,
                        egui::TextEdit::singleline(time)
                            .id(field_id(time_field))
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
            match self.form.when() {
                Ok(when) if when != self.form.scope_when(event) => {
                    let (uid, scope) = (uid.clone(), scope.clone());
                    self.edit(client, doc, |cal| cal.set_when(&uid, &scope, when));
                }
                Ok(_) => {}
                Err(e) => self.error = Some(e),
            }
        }

        if !self.form.all_day {
            let label = ui.label("Time zone");
            let mut zone = self.form.zone;
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
            if zone != self.form.zone {
                // Same wall-clock times, read in the new zone.
                self.form.zone = zone;
                match self.form.when() {
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
            let delete_text = if self.form.applies == Applies::ThisOccurrence {
                "Delete this occurrence"
            } else {
                "Delete event"
            };
            if ui
                .add_enabled(editable, egui::Button::new(delete_text))
                .clicked()
            {
                request = Some(EditorRequest::Delete(self.form.target(event)));
            }
            if self.is_new
                && ui
                    .add_enabled(editable, egui::Button::new("Discard"))
                    .clicked()
            {
                request = Some(EditorRequest::Discard(self.form.uid.clone()));
            }
            if ui.button("Done").clicked() {
                request = Some(EditorRequest::Close);
            }
        });
        request
    }

    fn repeat_section(&mut self, ui: &mut Ui, client: &Client, doc: &DocId, editable: bool) {
        let uid = self.form.uid.clone();
        ui.horizontal(|ui| {
            let label = ui.label("Repeat");
            ui.add_enabled_ui(editable, |ui| {
                egui::ComboBox::from_id_salt("event-repeat")
                    .selected_text(frequency_name(self.form.rule.frequency))
                    .show_ui(ui, |ui| {
                        for f in FREQUENCIES {
                            ui.selectable_value(
                                &mut self.form.rule.frequency,
                                f,
                                frequency_name(f),
                            );
                        }
                    })
                    .response
                    .labelled_by(label.id);
            });
            if self.form.rule.frequency.is_some() {
                let label = ui.label("every");
                ui.add_enabled(
                    editable,
                    egui::TextEdit::singleline(&mut self.form.rule.interval).desired_width(32.0),
                )
                .labelled_by(label.id);
            }
        });
        if self.form.rule.frequency == Some(Frequency::Weekly) {
            ui.horizontal(|ui| {
                ui.label("on");
                for (i, d) in WEEKDAYS.iter().enumerate() {
                    ui.add_enabled(
                        editable,
                        egui::Checkbox::new(&mut self.form.rule.weekdays[i], format!("{d}")),
                    );
                }
            });
        }
        if self.form.rule.frequency.is_some() {
            ui.horizontal(|ui| {
                ui.label("ends");
                ui.radio_value(&mut self.form.rule.end, RepeatEnd::Never, "never");
                ui.radio_value(&mut self.form.rule.end, RepeatEnd::AfterCount, "after");
                if self.form.rule.end == RepeatEnd::AfterCount {
                    ui.add_enabled(
                        editable,
                        egui::TextEdit::singleline(&mut self.form.rule.count).desired_width(36.0),
                    )
                    .widget_info(|| WidgetInfo::labeled(Role::TextInput, true, "Occurrences"));
                    ui.label("times");
                }
                ui.radio_value(&mut self.form.rule.end, RepeatEnd::OnDate, "on");
                if self.form.rule.end == RepeatEnd::OnDate {
                    ui.add_enabled(
                        editable,
                        egui::TextEdit::singleline(&mut self.form.rule.until).desired_width(90.0),
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
            match self.form.rule.rule() {
                Ok(rule) => {
                    self.edit(client, doc, |cal| cal.set_recurrence(&uid, rule.as_ref()));
                    self.shown = None;
                }
                Err(e) => self.error = Some(e),
            }
        }
    }
}

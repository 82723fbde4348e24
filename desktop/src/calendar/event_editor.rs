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
//! What the fields hold, and what the person's actions become, is
//! `event_form` (and `rule_form` for the repeat row). Here the fields are
//! drawn and report `EventEdit`s, which `run` makes through the client once
//! the fields are drawn, before the error line and the buttons.

use chrono_tz::Tz;
use concord_calendar::colour::PALETTE;
use concord_calendar::{Calendar, CalendarError, CalendarTx, DELETE_WINS, Event, Frequency, Scope};
use concord_client::{Client, Edited};
use concord_core::VersionVector;
use concord_wire::DocId;
use egui::{Color32, Id, RichText, Role, Sense, Ui, WidgetInfo, vec2};

use super::action::OccRef;
use super::date_picker;
use super::event_form::{
    Applies, EventEdit, EventForm, Field, caret_after, format_date, notes_of, parse_date,
};
use super::paint;
use super::rule_form::{FREQUENCIES, RepeatEnd, WEEKDAYS, frequency_name};
use super::zone::all_zones;
use crate::editor::Anchor;

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
    /// The notes' caret and selection ends, riding on character ids (as
    /// the note body's), so edits from elsewhere do not move them.
    notes_anchors: Option<(Anchor, Anchor)>,
    /// Where the notes' caret goes before the field next draws (after the
    /// notes were reloaded).
    notes_caret: Option<(usize, usize)>,
}

/// One drawing of the fields: the event they show, and what the person did.
struct Pass<'a> {
    event: &'a Event,
    display: Tz,
    read_only: bool,
    /// Neither read-only nor deleted.
    editable: bool,
    /// In order: each edit asked for, or why what was typed makes none.
    changes: Vec<Result<EventEdit, String>>,
    /// The notes field's caret (primary, secondary) after this frame's
    /// typing, in chars.
    notes_caret: Option<(usize, usize)>,
}

/// Ids of the text fields (so a reload leaves the one being typed in, and
/// tests find a field's caret).
pub fn field_id(field: Field) -> Id {
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
            notes_anchors: None,
            notes_caret: None,
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
        let uid = &self.form.uid;
        let (shown, anchors) = (&self.shown, self.notes_anchors);
        let read = client.with_document(doc, |d| {
            let calendar = Calendar::open(d).ok();
            // The notes' caret, where its characters now are.
            let caret = (shown.as_ref() != Some(d.version()))
                .then(|| {
                    let text = calendar.as_ref()?.notes_text(uid)?;
                    anchors.map(|(a, b)| (a.resolve(&text), b.resolve(&text)))
                })
                .flatten();
            (
                calendar.and_then(|c| c.event(uid)),
                d.version().clone(),
                caret,
            )
        });
        let Ok((Some(event), version, caret)) = read else {
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
                    if caret.is_some() {
                        self.notes_caret = caret;
                    }
                }
                let mut pass = Pass {
                    event: &event,
                    display,
                    read_only,
                    editable: !read_only && !event.deleted,
                    changes: Vec::new(),
                    notes_caret: None,
                };
                let max = (ui.ctx().content_rect().height() - 220.0).max(120.0);
                egui::ScrollArea::vertical().max_height(max).show(ui, |ui| {
                    self.body(ui, &mut pass);
                });
                let typed = !pass.changes.is_empty();
                for change in pass.changes {
                    self.run(client, doc, change, pass.notes_caret);
                }
                if !typed {
                    self.anchor_notes_caret(client, doc, pass.notes_caret);
                }
                ui.separator();
                request = self.footer(ui, &event, pass.editable);
            });
        if !open {
            return Some(EditorRequest::Close);
        }
        request
    }

    /// Puts the notes' caret on the characters it is between, while the
    /// fields show the document as it is (if something arrived since they
    /// were filled, the next frame reloads them and the anchors it had
    /// place the caret).
    fn anchor_notes_caret(&mut self, client: &Client, doc: &DocId, caret: Option<(usize, usize)>) {
        let Some((a, b)) = caret else {
            return;
        };
        let uid = &self.form.uid;
        let shown = &self.shown;
        let anchors = client.with_document(doc, |d| {
            if shown.as_ref() != Some(d.version()) {
                return None;
            }
            let calendar = Calendar::open(d).ok()?;
            let text = calendar.notes_text(uid)?;
            Some((Anchor::at(&text, a), Anchor::at(&text, b)))
        });
        if let Ok(Some(anchors)) = anchors {
            self.notes_anchors = Some(anchors);
        }
    }

    /// Makes one edit through the client; a refused one, or a form that
    /// makes none, shows its reason in the window. `caret` is the notes
    /// field's, for an edit of the notes.
    fn run(
        &mut self,
        client: &Client,
        doc: &DocId,
        change: Result<EventEdit, String>,
        caret: Option<(usize, usize)>,
    ) {
        let edit = match change {
            Ok(edit) => edit,
            Err(problem) => {
                self.error = Some(problem);
                return;
            }
        };
        let uid = self.form.uid.clone();
        let result = client.edit(doc, |tx| {
            let mut cal = CalendarTx::open(tx)?;
            let before = notes_of(&cal, &uid);
            edit.apply(&mut cal, &uid)?;
            let EventEdit::SpliceNotes { splice, base } = &edit else {
                return Ok(None);
            };
            // The caret in the notes as they now are (remote edits that
            // landed during this frame included), and its anchors.
            let calendar = cal.calendar();
            let caret = caret.and_then(|(a, b)| {
                let text = calendar.notes_text(&uid)?;
                let (a, b) = (
                    caret_after(splice, base, &before, a),
                    caret_after(splice, base, &before, b),
                );
                Some(((a, b), (Anchor::at(&text, a), Anchor::at(&text, b))))
            });
            Ok::<_, CalendarError>(Some((notes_of(&cal, &uid), caret)))
        });
        match result {
            // The notes as they now stand, remote edits included; the
            // error line stays as it was unless saving failed.
            Ok(Edited {
                value: Ok(Some((notes, caret))),
                saved,
            }) => {
                self.form.notes_base.clone_from(&notes);
                self.form.notes = notes;
                if let Some((at, anchors)) = caret {
                    self.notes_caret = Some(at);
                    self.notes_anchors = Some(anchors);
                }
                if let Err(e) = saved {
                    self.error = Some(format!("not saved yet: {e}"));
                }
            }
            Ok(Edited {
                value: Ok(None),
                saved: Ok(()),
            }) => self.error = None,
            Ok(Edited {
                value: Ok(None),
                saved: Err(e),
            }) => self.error = Some(format!("not saved yet: {e}")),
            Ok(Edited { value: Err(e), .. }) => self.error = Some(e.to_string()),
            Err(e) => self.error = Some(e.to_string()),
        }
        if matches!(edit, EventEdit::SetRecurrence(_)) {
            // The rule as stored (the repeat row shows what was applied).
            self.shown = None;
        }
    }

    fn body(&mut self, ui: &mut Ui, pass: &mut Pass<'_>) {
        if pass.event.deleted {
            ui.label(
                RichText::new("This event was deleted.")
                    .strong()
                    .color(paint::CONFLICT),
            );
            ui.label(DELETE_WINS);
            if !pass.read_only && ui.button("Restore event").clicked() {
                pass.changes.push(Ok(EventEdit::Restore));
            }
            ui.separator();
        }
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
        if let Some(choices) = pass.event.when_choices(&scope) {
            ui.label(
                RichText::new("Moved on two devices at the same time. Keep:")
                    .color(paint::CONFLICT),
            );
            ui.horizontal_wrapped(|ui| {
                for when in choices {
                    if ui
                        .add_enabled(pass.editable, egui::Button::new(when.label(pass.display)))
                        .clicked()
                    {
                        pass.changes
                            .push(Ok(EventEdit::SetWhen(scope.clone(), *when)));
                    }
                }
            });
            ui.separator();
        }

        self.fields(ui, pass);
        if self.form.applies == Applies::ThisOccurrence {
            ui.label(
                RichText::new("Notes, attendees, colour and repeat apply to all occurrences.")
                    .weak()
                    .small(),
            );
        }

        self.notes_and_attendees(ui, pass);
        ui.separator();
        self.repeat_section(ui, pass);
    }

    /// Title, all day, start and end, zone, location, colour.
    fn fields(&mut self, ui: &mut Ui, pass: &mut Pass<'_>) {
        let editable = pass.editable;
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
                    pass.changes.push(Ok(self.form.title_typed()));
                }
                ui.end_row();

                self.all_day_row(ui, pass);

                self.time_rows(ui, pass);

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
                    pass.changes.push(Ok(self.form.location_typed()));
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
                        let chosen = pass.event.data.colour.as_deref() == Some(name);
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
                            pass.changes.push(Ok(EventEdit::SetColour(name)));
                        }
                    }
                });
                ui.end_row();
            });
    }

    /// The notes (shared text) and the attendees (an add-wins set).
    fn notes_and_attendees(&mut self, ui: &mut Ui, pass: &mut Pass<'_>) {
        let editable = pass.editable;
        // Notes: collaborative text, typed as one splice per edit, the
        // caret put back on its characters after a reload.
        let notes_label = ui.label("Notes");
        let notes_id = field_id(Field::Notes);
        if let Some((primary, secondary)) = self.notes_caret.take()
            && let Some(mut state) = egui::TextEdit::load_state(ui.ctx(), notes_id)
        {
            state
                .cursor
                .set_char_range(Some(egui::text::CCursorRange::two(
                    egui::text::CCursor::new(secondary),
                    egui::text::CCursor::new(primary),
                )));
            state.store(ui.ctx(), notes_id);
        }
        let before = self.form.notes.clone();
        let output = ui
            .add_enabled_ui(editable, |ui| {
                egui::TextEdit::multiline(&mut self.form.notes)
                    .id(notes_id)
                    .desired_rows(3)
                    .desired_width(f32::INFINITY)
                    .show(ui)
            })
            .inner;
        let notes = output.response.response.clone().labelled_by(notes_label.id);
        pass.notes_caret = output
            .cursor_range
            .map(|r| (r.primary.index.0, r.secondary.index.0));
        if notes.changed()
            && let Some(edit) = self
                .form
                .notes_typed(&before, pass.notes_caret.map(|c| c.0))
        {
            pass.changes.push(Ok(edit));
        }

        // Attendees: an add-wins set.
        ui.label("Attendees");
        for who in &pass.event.data.attendees {
            ui.horizontal(|ui| {
                ui.label(who);
                if ui
                    .add_enabled(editable, egui::Button::new("Remove").small())
                    .on_hover_text(format!("Remove {who}"))
                    .clicked()
                {
                    pass.changes
                        .push(Ok(EventEdit::RemoveAttendee(who.clone())));
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
            if (enter || add)
                && let Some(edit) = self.form.take_attendee()
            {
                pass.changes.push(Ok(edit));
            }
        });
    }

    /// The "All day" switch: converts the span between timed and all-day.
    fn all_day_row(&mut self, ui: &mut Ui, pass: &mut Pass<'_>) {
        ui.label("");
        let all_day = ui.add_enabled(
            pass.editable,
            egui::Checkbox::new(&mut self.form.all_day, "All day"),
        );
        if all_day.changed() {
            pass.changes
                .push(self.form.all_day_switched(pass.event, pass.display));
        }
        ui.end_row();
    }

    /// Start and end (date, and time unless all day), applied when a field
    /// is left; the zone the times are in.
    fn time_rows(&mut self, ui: &mut Ui, pass: &mut Pass<'_>) {
        let editable = pass.editable;
        let mut commit_time = false;
        let mut picked = None;
        // The day the picker opens on when a date field holds no date.
        let fallback = pass.event.data.when.local_start(self.form.zone).date();
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
                let what = if date_field == Field::StartDate {
                    "start date"
                } else {
                    "end date"
                };
                let shown = parse_date(date).ok();
                if let Some(day) = date_picker::button(ui, what, shown, fallback, editable) {
                    picked = Some((date_field, day));
                }
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
        let change = match picked {
            Some((Field::StartDate, day)) => self.form.start_date_picked(day, pass.event),
            Some((_, day)) => self.form.end_date_picked(day, pass.event),
            None if commit_time && editable => self.form.times_left(pass.event),
            None => None,
        };
        if let Some(change) = change {
            pass.changes.push(change);
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
                pass.changes.push(self.form.zone_picked(zone));
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

    fn repeat_section(&mut self, ui: &mut Ui, pass: &mut Pass<'_>) {
        let editable = pass.editable;
        let rule = &mut self.form.rule;
        ui.horizontal(|ui| {
            let label = ui.label("Repeat");
            ui.add_enabled_ui(editable, |ui| {
                egui::ComboBox::from_id_salt("event-repeat")
                    .selected_text(frequency_name(rule.frequency))
                    .show_ui(ui, |ui| {
                        for f in FREQUENCIES {
                            ui.selectable_value(&mut rule.frequency, f, frequency_name(f));
                        }
                    })
                    .response
                    .labelled_by(label.id);
            });
            if rule.frequency.is_some() {
                let label = ui.label("every");
                ui.add_enabled(
                    editable,
                    egui::TextEdit::singleline(&mut rule.interval).desired_width(32.0),
                )
                .labelled_by(label.id);
            }
        });
        if rule.frequency == Some(Frequency::Weekly) {
            ui.horizontal(|ui| {
                ui.label("on");
                for (i, d) in WEEKDAYS.iter().enumerate() {
                    ui.add_enabled(
                        editable,
                        egui::Checkbox::new(&mut rule.weekdays[i], format!("{d}")),
                    );
                }
            });
        }
        if rule.frequency.is_some() {
            ui.horizontal(|ui| {
                ui.label("ends");
                ui.radio_value(&mut rule.end, RepeatEnd::Never, "never");
                ui.radio_value(&mut rule.end, RepeatEnd::AfterCount, "after");
                if rule.end == RepeatEnd::AfterCount {
                    ui.add_enabled(
                        editable,
                        egui::TextEdit::singleline(&mut rule.count).desired_width(36.0),
                    )
                    .widget_info(|| WidgetInfo::labeled(Role::TextInput, true, "Occurrences"));
                    ui.label("times");
                }
                ui.radio_value(&mut rule.end, RepeatEnd::OnDate, "on");
                if rule.end == RepeatEnd::OnDate {
                    ui.add_enabled(
                        editable,
                        egui::TextEdit::singleline(&mut rule.until).desired_width(90.0),
                    )
                    .widget_info(|| WidgetInfo::labeled(Role::TextInput, true, "Last day"));
                    let shown = parse_date(&rule.until).ok();
                    let fallback = pass.event.data.when.local_start(self.form.zone).date();
                    if let Some(day) =
                        date_picker::button(ui, "last day", shown, fallback, editable)
                    {
                        rule.until = format_date(day);
                    }
                }
            });
        }
        // What the row cannot show of the stored rule: kept, or dropped
        // by a change of frequency. The exact rule is in the tooltip.
        let exact = rule.stored_text().unwrap_or_default();
        if let Some(also) = rule.also() {
            ui.label(RichText::new(format!("also: {also}")).weak())
                .on_hover_text(&exact);
        }
        if let Some(dropped) = rule.dropped() {
            ui.label(
                RichText::new(format!("Apply repeat drops what the rule had: {dropped}"))
                    .color(paint::CONFLICT),
            )
            .on_hover_text(&exact);
        }
        if ui
            .add_enabled(editable, egui::Button::new("Apply repeat"))
            .on_hover_text("Applies to all occurrences")
            .clicked()
        {
            pass.changes.push(self.form.repeat_applied());
        }
    }
}

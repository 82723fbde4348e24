//! The calendar half of the JavaScript binding.

use concord_calendar::chrono::DateTime;
use concord_calendar::{Event, Occurrence, OccurrenceKey, Scope, new_uid};
use wasm_bindgen::prelude::*;

use super::{TextSelection, Workspace, to_u32};
use crate::calendar::{
    format_local, parse_date, parse_scope, parse_zone, repeat_label, scope_name, show_when, when,
};
use crate::error::WebError;
use crate::workspace::{TextAt, doc_id, random16};

/// The occurrence a scope names ("series" is not one).
fn occurrence_key(scope: &str) -> Result<OccurrenceKey, WebError> {
    match parse_scope(scope)? {
        Scope::Occurrence(key) => Ok(key),
        Scope::Series => Err(WebError::NotAnOccurrence),
    }
}

#[wasm_bindgen]
impl Workspace {
    /// Creates a calendar named `name`. With `demoToday` (`YYYY-MM-DD`) it
    /// starts with the demo week moved to that week, floating times in `zone`.
    #[wasm_bindgen(js_name = createCalendar)]
    pub fn create_calendar(
        &mut self,
        doc: &str,
        token: &str,
        name: &str,
        demo_today: Option<String>,
        zone: &str,
    ) -> Result<(), WebError> {
        let demo = match demo_today {
            Some(day) => Some((parse_date(&day)?, parse_zone(zone)?)),
            None => None,
        };
        self.inner
            .create_calendar(doc_id(doc)?, token.into(), name, demo)
    }

    /// A new calendar from an iCalendar (.ics) file; floating times are read
    /// in `zone`. Returns warnings about events skipped or adjusted.
    #[wasm_bindgen(js_name = importIcs)]
    pub fn import_ics(
        &mut self,
        doc: &str,
        token: &str,
        text: &str,
        zone: &str,
        fallback_name: &str,
    ) -> Result<Vec<String>, WebError> {
        self.inner.import_ics(
            doc_id(doc)?,
            token.into(),
            text,
            parse_zone(zone)?,
            fallback_name,
        )
    }

    /// The calendar as an iCalendar file; `nowMs` (`Date.now()`) is its stamp.
    #[wasm_bindgen(js_name = exportIcs)]
    pub fn export_ics(&self, doc: &str, now_ms: f64) -> Result<String, WebError> {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "milliseconds since 1970 fit"
        )]
        let now = DateTime::from_timestamp_millis(now_ms as i64)
            .ok_or_else(|| WebError::Time("the clock is out of range".into()))?;
        self.inner.export_ics(&doc_id(doc)?, now)
    }

    /// Whether the document is a calendar (rather than a note).
    #[wasm_bindgen(js_name = isCalendar)]
    pub fn is_calendar(&self, doc: &str) -> Result<bool, WebError> {
        self.inner.is_calendar(&doc_id(doc)?)
    }

    #[wasm_bindgen(js_name = calendarName)]
    pub fn calendar_name(&self, doc: &str) -> Result<String, WebError> {
        self.inner.calendar_name(&doc_id(doc)?)
    }

    #[wasm_bindgen(js_name = renameCalendar)]
    pub fn rename_calendar(&mut self, doc: &str, name: &str) -> Result<(), WebError> {
        self.inner.rename_calendar(&doc_id(doc)?, name)
    }

    /// Everything shown on the days `from` up to, not including, `to`
    /// (`YYYY-MM-DD`), in zone `zone`, in start order.
    pub fn occurrences(
        &self,
        doc: &str,
        from: &str,
        to: &str,
        zone: &str,
    ) -> Result<Vec<CalendarOccurrence>, WebError> {
        let zone = parse_zone(zone)?;
        Ok(self
            .inner
            .occurrences(&doc_id(doc)?, parse_date(from)?, parse_date(to)?, zone)?
            .into_iter()
            .map(|o| CalendarOccurrence(o, zone))
            .collect())
    }

    /// One event as stored (deleted ones too), its times in `zone`.
    pub fn event(&self, doc: &str, uid: &str, zone: &str) -> Result<CalendarEvent, WebError> {
        Ok(CalendarEvent(
            self.inner.event(&doc_id(doc)?, uid)?,
            parse_zone(zone)?,
        ))
    }

    /// Adds an event from `start` to `end` (`YYYY-MM-DDTHH:MM` in `zone`, or
    /// dates if `allDay`; an all-day end is the day after the last).
    /// `random` is 16 bytes from `crypto.getRandomValues` for its UID,
    /// which is returned.
    #[wasm_bindgen(js_name = addEvent)]
    #[allow(
        clippy::too_many_arguments,
        reason = "one JavaScript call per user action"
    )]
    pub fn add_event(
        &mut self,
        doc: &str,
        random: &[u8],
        title: &str,
        start: &str,
        end: &str,
        all_day: bool,
        zone: &str,
    ) -> Result<String, WebError> {
        let uid = new_uid(u128::from_be_bytes(random16(random)?));
        let span = when(start, end, all_day, parse_zone(zone)?)?;
        self.inner.add_event(&doc_id(doc)?, &uid, title, span)?;
        Ok(uid)
    }

    /// Moves or resizes an event; `scope` is `"series"` or an occurrence's
    /// `scope`. `start` and `end` are wall-clock times in `zone` (or dates
    /// if `allDay`); a timed event keeps the zone it was made in, so its
    /// repeats stay at its own wall-clock time.
    #[wasm_bindgen(js_name = moveEvent)]
    #[allow(
        clippy::too_many_arguments,
        reason = "one JavaScript call per user action"
    )]
    pub fn move_event(
        &mut self,
        doc: &str,
        uid: &str,
        scope: &str,
        start: &str,
        end: &str,
        all_day: bool,
        zone: &str,
    ) -> Result<(), WebError> {
        self.inner.retime_event(
            &doc_id(doc)?,
            uid,
            &parse_scope(scope)?,
            (start, end, all_day),
            parse_zone(zone)?,
        )
    }

    /// "All occurrences": occurrence `scope` of a repeating event was moved
    /// to `start`..`end` (as `moveEvent` reads them); the whole series
    /// moves by as many days and to that time of day.
    #[wasm_bindgen(js_name = moveSeries)]
    #[allow(
        clippy::too_many_arguments,
        reason = "one JavaScript call per user action"
    )]
    pub fn move_series(
        &mut self,
        doc: &str,
        uid: &str,
        scope: &str,
        start: &str,
        end: &str,
        all_day: bool,
        zone: &str,
    ) -> Result<(), WebError> {
        self.inner.retime_series(
            &doc_id(doc)?,
            uid,
            &occurrence_key(scope)?,
            (start, end, all_day),
            parse_zone(zone)?,
        )
    }

    /// Resolves a conflict of concurrent moves of `scope`: keeps candidate
    /// `index` of `event(..).choices(scope)`, exactly as it was written.
    #[wasm_bindgen(js_name = pickTime)]
    pub fn pick_time(
        &mut self,
        doc: &str,
        uid: &str,
        scope: &str,
        index: u32,
    ) -> Result<(), WebError> {
        self.inner
            .pick_when(&doc_id(doc)?, uid, &parse_scope(scope)?, index as usize)
    }

    /// Adds an attendee (free text: a name, an address). Attendees are an
    /// add-wins set: a concurrent removal elsewhere does not undo an add.
    #[wasm_bindgen(js_name = addAttendee)]
    pub fn add_attendee(&mut self, doc: &str, uid: &str, who: &str) -> Result<(), WebError> {
        self.inner.add_attendee(&doc_id(doc)?, uid, who)
    }

    #[wasm_bindgen(js_name = removeAttendee)]
    pub fn remove_attendee(&mut self, doc: &str, uid: &str, who: &str) -> Result<(), WebError> {
        self.inner.remove_attendee(&doc_id(doc)?, uid, who)
    }

    /// Deletes one occurrence of a repeating event (`scope` names it).
    #[wasm_bindgen(js_name = cancelOccurrence)]
    pub fn cancel_occurrence(&mut self, doc: &str, uid: &str, scope: &str) -> Result<(), WebError> {
        self.inner
            .cancel_occurrence(&doc_id(doc)?, uid, &occurrence_key(scope)?)
    }

    /// An event's notes: collaborative text, like a note's body.
    #[wasm_bindgen(js_name = eventNotes)]
    pub fn event_notes(&self, doc: &str, uid: &str) -> Result<String, WebError> {
        self.inner.field_text(&doc_id(doc)?, TextAt::Notes(uid))
    }

    /// A text field's edit of an event's notes, like `inputText`: one
    /// splice, moved past remote edits that landed since `before`. Returns
    /// where the caret belongs now (UTF-16), or `undefined` if nothing
    /// changed.
    #[wasm_bindgen(js_name = inputEventNotes)]
    pub fn input_event_notes(
        &mut self,
        doc: &str,
        uid: &str,
        before: &str,
        after: &str,
        caret: Option<u32>,
    ) -> Result<Option<u32>, WebError> {
        Ok(self
            .inner
            .field_input(
                &doc_id(doc)?,
                TextAt::Notes(uid),
                before,
                after,
                caret.map(|c| c as usize),
            )?
            .map(to_u32))
    }

    /// Anchors a selection of an event's notes on its characters (see
    /// `selection`).
    #[wasm_bindgen(js_name = eventNotesSelection)]
    pub fn event_notes_selection(
        &self,
        doc: &str,
        uid: &str,
        start: u32,
        end: u32,
    ) -> Result<TextSelection, WebError> {
        Ok(TextSelection(self.inner.selection(
            &doc_id(doc)?,
            TextAt::Notes(uid),
            start as usize,
            end as usize,
        )?))
    }

    /// `[start, end]` of an anchored selection of an event's notes now.
    #[wasm_bindgen(js_name = resolveEventNotesSelection)]
    pub fn resolve_event_notes_selection(
        &self,
        doc: &str,
        uid: &str,
        selection: &TextSelection,
    ) -> Result<Vec<u32>, WebError> {
        let (start, end) = self
            .inner
            .resolve(&doc_id(doc)?, TextAt::Notes(uid), selection.0)?;
        Ok(vec![to_u32(start), to_u32(end)])
    }

    #[wasm_bindgen(js_name = setEventTitle)]
    pub fn set_event_title(
        &mut self,
        doc: &str,
        uid: &str,
        scope: &str,
        title: &str,
    ) -> Result<(), WebError> {
        self.inner
            .set_event_title(&doc_id(doc)?, uid, &parse_scope(scope)?, title)
    }

    #[wasm_bindgen(js_name = setEventLocation)]
    pub fn set_event_location(
        &mut self,
        doc: &str,
        uid: &str,
        scope: &str,
        location: &str,
    ) -> Result<(), WebError> {
        self.inner
            .set_event_location(&doc_id(doc)?, uid, &parse_scope(scope)?, location)
    }

    /// Deletes an event (a delete wins over concurrent edits elsewhere).
    #[wasm_bindgen(js_name = deleteEvent)]
    pub fn delete_event(&mut self, doc: &str, uid: &str) -> Result<(), WebError> {
        self.inner.delete_event(&doc_id(doc)?, uid)
    }
}

/// One appearance of an event in a range of days: what a week view draws.
#[wasm_bindgen]
#[derive(Debug)]
pub struct CalendarOccurrence(Occurrence, concord_calendar::chrono_tz::Tz);

#[wasm_bindgen]
impl CalendarOccurrence {
    #[wasm_bindgen(getter)]
    pub fn uid(&self) -> String {
        self.0.uid.clone()
    }
    /// What an edit of it applies to: `"series"`, or this occurrence of a
    /// repeating event.
    #[wasm_bindgen(getter)]
    pub fn scope(&self) -> String {
        scope_name(&self.0.scope)
    }
    #[wasm_bindgen(getter)]
    pub fn title(&self) -> String {
        self.0.title.clone()
    }
    #[wasm_bindgen(getter)]
    pub fn location(&self) -> String {
        self.0.location.clone()
    }
    /// A CSS colour, if the event has one.
    #[wasm_bindgen(getter)]
    pub fn colour(&self) -> Option<String> {
        self.0.colour.clone()
    }
    /// Wall-clock start in the view's zone, `YYYY-MM-DDTHH:MM`.
    #[wasm_bindgen(getter)]
    pub fn start(&self) -> String {
        format_local(self.0.start)
    }
    #[wasm_bindgen(getter)]
    pub fn end(&self) -> String {
        format_local(self.0.end)
    }
    /// For `moveEvent`: the span as stored (dates for all-day events).
    #[wasm_bindgen(getter, js_name = whenStart)]
    pub fn when_start(&self) -> String {
        show_when(&self.0.when, self.1).0
    }
    #[wasm_bindgen(getter, js_name = whenEnd)]
    pub fn when_end(&self) -> String {
        show_when(&self.0.when, self.1).1
    }
    #[wasm_bindgen(getter, js_name = allDay)]
    pub fn all_day(&self) -> bool {
        self.0.all_day
    }
    #[wasm_bindgen(getter)]
    pub fn recurring(&self) -> bool {
        self.0.recurring
    }
    /// Two devices moved it at the same time: `Workspace.event(..).choices`
    /// lists the candidates; `moveEvent` with one resolves it.
    #[wasm_bindgen(getter)]
    pub fn conflict(&self) -> bool {
        self.0.conflict.is_some()
    }
}

/// An event as the calendar holds it.
#[wasm_bindgen]
#[derive(Debug)]
pub struct CalendarEvent(Event, concord_calendar::chrono_tz::Tz);

#[wasm_bindgen]
impl CalendarEvent {
    #[wasm_bindgen(getter)]
    pub fn uid(&self) -> String {
        self.0.data.uid.clone()
    }
    #[wasm_bindgen(getter)]
    pub fn title(&self) -> String {
        self.0.data.title.clone()
    }
    #[wasm_bindgen(getter)]
    pub fn location(&self) -> String {
        self.0.data.location.clone()
    }
    #[wasm_bindgen(getter)]
    pub fn notes(&self) -> String {
        self.0.data.notes.clone()
    }
    /// Who takes part, sorted.
    #[wasm_bindgen(getter)]
    pub fn attendees(&self) -> Vec<String> {
        self.0.data.attendees.iter().cloned().collect()
    }
    /// The IANA zone a timed event was made in (its repeats follow its
    /// wall clock); `undefined` for an all-day event.
    #[wasm_bindgen(getter)]
    pub fn zone(&self) -> Option<String> {
        self.0.data.when.zone().map(|z| z.name().to_owned())
    }
    /// How it repeats, in words ("Every week on Mon, Thu"), or `undefined`.
    #[wasm_bindgen(getter)]
    pub fn repeats(&self) -> Option<String> {
        self.0.data.recurrence.as_ref().map(repeat_label)
    }
    /// A CSS colour, if it has one.
    #[wasm_bindgen(getter)]
    pub fn colour(&self) -> Option<String> {
        self.0.data.colour.clone()
    }
    /// Start as stored: `YYYY-MM-DDTHH:MM` in the zone asked for, or a date.
    #[wasm_bindgen(getter)]
    pub fn start(&self) -> String {
        show_when(&self.0.data.when, self.1).0
    }
    #[wasm_bindgen(getter)]
    pub fn end(&self) -> String {
        show_when(&self.0.data.when, self.1).1
    }
    #[wasm_bindgen(getter, js_name = allDay)]
    pub fn all_day(&self) -> bool {
        self.0.data.when.is_all_day()
    }
    #[wasm_bindgen(getter)]
    pub fn deleted(&self) -> bool {
        self.0.deleted
    }
    #[wasm_bindgen(getter)]
    pub fn recurring(&self) -> bool {
        self.0.data.recurrence.is_some()
    }
    /// Concurrent times of `scope` (`"series"` or an occurrence), winner
    /// first, as `[start, end]` pairs; empty if there is no conflict.
    pub fn choices(&self, scope: &str) -> Result<Vec<js_sys::Array>, WebError> {
        let scope = parse_scope(scope)?;
        Ok(self
            .0
            .when_choices(&scope)
            .unwrap_or_default()
            .iter()
            .map(|w| {
                let (start, end) = show_when(w, self.1);
                js_sys::Array::of2(&start.into(), &end.into())
            })
            .collect())
    }
    /// How many scopes are in conflict.
    #[wasm_bindgen(getter)]
    pub fn conflicts(&self) -> u32 {
        to_u32(self.0.when_conflicts.len())
    }
}

//! The event editor's form without the window: what its fields hold,
//! filling them from the event, and turning what the person did into
//! `EventEdit`s, the calendar edits `event_editor` makes through the client
//! after drawing (the repeat row is `rule_form`).
//!
//! Times are shown in the event's own zone. Title, time and location belong
//! to the scope the form edits (one occurrence or the whole series); notes,
//! attendees, colour and the repeat rule belong to the series.

use chrono::{Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use concord_calendar::{CalendarError, CalendarTx, Event, OccurrenceKey, Recurrence, Scope, When};

use super::action::OccRef;
use super::rule_form::RuleForm;
use crate::editor::{self, Splice};

/// One thing the person did in the form, as an edit of the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventEdit {
    Restore,
    SetTitle(Scope, String),
    SetLocation(Scope, String),
    SetWhen(Scope, When),
    SetColour(&'static str),
    AddAttendee(String),
    RemoveAttendee(String),
    /// Typing in the notes: one splice of `base` (the notes as the form
    /// last had them), moved past whatever changed since.
    SpliceNotes {
        splice: Splice,
        base: String,
    },
    /// Repeat by this rule (`None`: stop repeating).
    SetRecurrence(Option<Recurrence>),
}

impl EventEdit {
    /// Makes the edit to event `uid` of `cal`.
    pub fn apply(&self, cal: &mut CalendarTx<'_, '_>, uid: &str) -> Result<(), CalendarError> {
        match self {
            EventEdit::Restore => cal.restore_event(uid),
            EventEdit::SetTitle(scope, title) => cal.set_title(uid, scope, title),
            EventEdit::SetLocation(scope, location) => cal.set_location(uid, scope, location),
            EventEdit::SetWhen(scope, when) => cal.set_when(uid, scope, *when),
            EventEdit::SetColour(name) => cal.set_colour(uid, Some(name)),
            EventEdit::AddAttendee(who) => cal.add_attendee(uid, who),
            EventEdit::RemoveAttendee(who) => cal.remove_attendee(uid, who).map(|_| ()),
            EventEdit::SpliceNotes { splice, base } => {
                let splice = editor::rebase(splice, base, &notes_of(cal, uid));
                cal.splice_notes(uid, splice.pos, splice.del, &splice.insert)
            }
            EventEdit::SetRecurrence(rule) => cal.set_recurrence(uid, rule.as_ref()),
        }
    }
}

/// Event `uid`'s notes as `cal` has them now.
pub fn notes_of(cal: &CalendarTx<'_, '_>, uid: &str) -> String {
    cal.calendar()
        .event(uid)
        .map(|e| e.data.notes)
        .unwrap_or_default()
}

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

/// The form's text fields. A reload leaves the one being typed in alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Title,
    Location,
    Notes,
    StartDate,
    StartTime,
    EndDate,
    EndTime,
    Attendee,
}

impl Field {
    /// A name that tells the fields apart (their widget ids derive from it).
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Location => "location",
            Field::Notes => "notes",
            Field::StartDate => "start date",
            Field::StartTime => "start time",
            Field::EndDate => "end date",
            Field::EndTime => "end time",
            Field::Attendee => "attendee",
        }
    }
}

/// Every field of one event, or of one occurrence of a repeating event,
/// as the person sees and types them.
#[derive(Debug)]
pub struct EventForm {
    pub uid: String,
    /// The occurrence it was opened on (the series' own key if it does not
    /// repeat).
    pub key: OccurrenceKey,
    /// What the title, time and location edits apply to.
    pub applies: Applies,
    pub title: String,
    pub location: String,
    pub notes: String,
    /// The notes as the document had them when `notes` was last in step.
    pub notes_base: String,
    pub all_day: bool,
    pub start_date: String,
    pub start_time: String,
    /// Inclusive for an all-day event ("to Friday").
    pub end_date: String,
    pub end_time: String,
    /// The zone the times are read in.
    pub zone: Tz,
    /// The attendee being typed.
    pub attendee: String,
    pub rule: RuleForm,
    /// `rule` was filled from the event.
    rule_filled: bool,
}

impl EventForm {
    /// An empty form for `target`; `load` fills it.
    pub fn new(target: &OccRef) -> Self {
        EventForm {
            uid: target.uid.clone(),
            key: target.key.clone(),
            applies: if target.recurring {
                Applies::ThisOccurrence
            } else {
                Applies::Event
            },
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
            rule: RuleForm::of(None, NaiveDate::MIN, Tz::UTC),
            rule_filled: false,
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

    /// The occurrence the form shows, for a delete.
    pub fn target(&self, event: &Event) -> OccRef {
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
    pub fn scope_when(&self, event: &Event) -> When {
        match self.scope() {
            Scope::Series => event.data.when,
            Scope::Occurrence(key) => occurrence_when(event, &key),
        }
    }

    /// The title and location the scope has now: an occurrence's own, or
    /// else the series'.
    fn scope_title_and_location(&self, event: &Event) -> (String, String) {
        let data = &event.data;
        let own = match self.scope() {
            Scope::Series => None,
            Scope::Occurrence(key) => data.overrides.get(&key),
        };
        (
            own.and_then(|o| o.title.clone())
                .unwrap_or_else(|| data.title.clone()),
            own.and_then(|o| o.location.clone())
                .unwrap_or_else(|| data.location.clone()),
        )
    }

    /// Puts the event's values into the fields, except those `typing` says
    /// are being typed in (the notes always: the editor keeps their caret
    /// on its characters); times in the event's zone (`display` for an
    /// all-day event).
    pub fn load(&mut self, event: &Event, display: Tz, typing: impl Fn(Field) -> bool) {
        let when = self.scope_when(event);
        let (title, location) = self.scope_title_and_location(event);
        if !typing(Field::Title) {
            self.title = title;
        }
        if !typing(Field::Location) {
            self.location = location;
        }
        // The notes always show the document's: the editor keeps their
        // caret on its characters (`Anchor`s), as the note body does.
        self.notes.clone_from(&event.data.notes);
        self.notes_base.clone_from(&event.data.notes);
        self.all_day = when.is_all_day();
        self.zone = when.zone().unwrap_or(display);
        let start = when.local_start(self.zone);
        let mut end = when.local_end(self.zone);
        if self.all_day {
            // Shown inclusive: "to Friday", stored exclusive.
            end -= Duration::days(1);
        }
        for (name, field, value) in [
            (
                Field::StartDate,
                &mut self.start_date,
                start.format("%Y-%m-%d"),
            ),
            (
                Field::StartTime,
                &mut self.start_time,
                start.format("%H:%M"),
            ),
            (Field::EndDate, &mut self.end_date, end.format("%Y-%m-%d")),
            (Field::EndTime, &mut self.end_time, end.format("%H:%M")),
        ] {
            if !typing(name) {
                *field = value.to_string();
            }
        }
        // The repeat row is applied with a button: it is filled again only
        // when the stored rule changed, so other edits (which reload the
        // form) leave a rule being put together alone.
        if !self.rule_filled || self.rule.stored != event.data.recurrence {
            self.rule = RuleForm::of(
                event.data.recurrence.as_ref(),
                event.data.when.local_start(self.zone).date(),
                self.zone,
            );
            self.rule_filled = true;
        }
    }

    /// The span the time fields say.
    pub fn when(&self) -> Result<When, String> {
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
}

/// What the person's actions in the form become. Each returns the edit to
/// make, or why what was typed makes none.
impl EventForm {
    /// The title field changed.
    pub fn title_typed(&self) -> EventEdit {
        EventEdit::SetTitle(self.scope(), self.title.clone())
    }

    /// The location field changed.
    pub fn location_typed(&self) -> EventEdit {
        EventEdit::SetLocation(self.scope(), self.location.clone())
    }

    /// The notes field changed from `before`: one splice (none if the text
    /// is the same). `caret` is where the caret ended up (it tells which
    /// "a" of "aa" was typed).
    pub fn notes_typed(&self, before: &str, caret: Option<usize>) -> Option<EventEdit> {
        let splice = editor::diff(before, &self.notes, caret)?;
        Some(EventEdit::SpliceNotes {
            splice,
            base: self.notes_base.clone(),
        })
    }

    /// "All day" was switched (`all_day` is already the new value): a timed
    /// span becomes the days it touches (one that ends at midnight stops
    /// the day before); an all-day one becomes 09:00–10:00 on its first day
    /// in `display`.
    pub fn all_day_switched(&self, event: &Event, display: Tz) -> Result<EventEdit, String> {
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
        converted
            .map(|when| EventEdit::SetWhen(self.scope(), when))
            .map_err(|e| e.to_string())
    }

    /// A date or time field was left: the span the fields say, or nothing
    /// when that is the span the scope has.
    pub fn times_left(&self, event: &Event) -> Option<Result<EventEdit, String>> {
        match self.when() {
            Ok(when) if when != self.scope_when(event) => {
                Some(Ok(EventEdit::SetWhen(self.scope(), when)))
            }
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// A day was picked for the start: the event moves there and keeps
    /// its length (the end date moves by as many days); the edit, as when
    /// a date field is left.
    pub fn start_date_picked(
        &mut self,
        day: NaiveDate,
        event: &Event,
    ) -> Option<Result<EventEdit, String>> {
        if let (Ok(start), Ok(end)) = (parse_date(&self.start_date), parse_date(&self.end_date)) {
            self.end_date = format_date(end + (day - start));
        }
        self.start_date = format_date(day);
        self.times_left(event)
    }

    /// A day was picked for the end; the edit, as when a date field is
    /// left.
    pub fn end_date_picked(
        &mut self,
        day: NaiveDate,
        event: &Event,
    ) -> Option<Result<EventEdit, String>> {
        self.end_date = format_date(day);
        self.times_left(event)
    }

    /// Another zone was picked: the same wall-clock times, read in it.
    pub fn zone_picked(&mut self, zone: Tz) -> Result<EventEdit, String> {
        self.zone = zone;
        self.when()
            .map(|when| EventEdit::SetWhen(self.scope(), when))
    }

    /// "Add" (or Enter) on the attendee field: who to add, and the field
    /// empties; nothing while it is blank.
    pub fn take_attendee(&mut self) -> Option<EventEdit> {
        let who = self.attendee.trim().to_owned();
        if who.is_empty() {
            return None;
        }
        self.attendee.clear();
        Some(EventEdit::AddAttendee(who))
    }

    /// "Apply repeat": the rule the repeat row says.
    pub fn repeat_applied(&self) -> Result<EventEdit, String> {
        self.rule.rule().map(EventEdit::SetRecurrence)
    }
}

/// Where a caret of the notes field is once what was typed there is in
/// the document. The field showed `base` with `typed` applied, the caret
/// at `caret` (in chars); the document's notes were `now` (`base` plus
/// remote edits), and `typed` was moved onto them (`editor::rebase`)
/// before it was applied. The caret keeps its place among the characters
/// it was between: in what was typed, or in the text around it.
pub fn caret_after(typed: &Splice, base: &str, now: &str, caret: usize) -> usize {
    let moved = editor::rebase(typed, base, now);
    let inserted = typed.insert.chars().count();
    // A place in `base`, moved onto `now`.
    let shift = |pos: usize| {
        let at = Splice {
            pos,
            del: 0,
            insert: String::new(),
        };
        editor::rebase(&at, base, now).pos
    };
    if caret < typed.pos {
        shift(caret)
    } else if caret <= typed.pos + inserted {
        moved.pos + (caret - typed.pos)
    } else {
        shift(caret - inserted + typed.del).saturating_sub(moved.del) + inserted
    }
}

/// A date as the date fields show it: 2026-05-04.
pub fn format_date(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use chrono::TimeZone;
    use concord_calendar::{EventData, Frequency, OccurrenceOverride, Recurrence};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, d).unwrap()
    }

    fn timed(zone: Tz, d: u32, from: u32, to: u32) -> When {
        let at = |h| zone.with_ymd_and_hms(2026, 5, d, h, 0, 0).unwrap().to_utc();
        When::timed(at(from), at(to), zone).unwrap()
    }

    fn event(when: When) -> Event {
        let mut data = EventData::new("standup@example", "Stand-up", when);
        data.location = "Room Ada".into();
        data.notes = "Agenda".into();
        Event {
            data,
            deleted: false,
            when_conflicts: BTreeMap::new(),
        }
    }

    /// A daily stand-up whose Tuesday is moved and renamed.
    fn series() -> (Event, OccurrenceKey) {
        let mut e = event(timed(Tz::UTC, 4, 9, 10));
        e.data.recurrence = Some(Recurrence::new(Frequency::Daily));
        let tuesday = OccurrenceKey::of(&timed(Tz::UTC, 5, 9, 10));
        e.data.overrides.insert(
            tuesday.clone(),
            OccurrenceOverride {
                title: Some("Stand-up (late)".into()),
                when: Some(timed(Tz::UTC, 5, 11, 12)),
                location: None,
            },
        );
        (e, tuesday)
    }

    fn form_on(event: &Event, key: &OccurrenceKey) -> EventForm {
        EventForm::new(&OccRef {
            uid: event.data.uid.clone(),
            scope: Scope::Occurrence(key.clone()),
            key: key.clone(),
            when: occurrence_when(event, key),
            recurring: event.data.recurrence.is_some(),
            title: event.data.title.clone(),
        })
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

    #[test]
    fn an_occurrence_shows_its_own_time_and_title_and_the_series_location() {
        let (e, tuesday) = series();
        let mut form = form_on(&e, &tuesday);
        assert_eq!(form.applies, Applies::ThisOccurrence);
        form.load(&e, Tz::UTC, |_| false);
        assert_eq!(
            (form.title.as_str(), form.location.as_str()),
            ("Stand-up (late)", "Room Ada")
        );
        assert_eq!(
            [
                &form.start_date,
                &form.start_time,
                &form.end_date,
                &form.end_time
            ],
            ["2026-05-05", "11:00", "2026-05-05", "12:00"]
        );
        assert_eq!(form.target(&e).when, timed(Tz::UTC, 5, 11, 12));

        form.applies = Applies::AllOccurrences;
        form.load(&e, Tz::UTC, |_| false);
        assert_eq!(form.title, "Stand-up");
        assert_eq!(form.start_date, "2026-05-04");
        assert_eq!(form.scope(), Scope::Series);
    }

    #[test]
    fn an_unmoved_occurrence_is_at_its_original_time() {
        let (e, _) = series();
        let thursday = OccurrenceKey::of(&timed(Tz::UTC, 7, 9, 10));
        assert_eq!(occurrence_when(&e, &thursday), timed(Tz::UTC, 7, 9, 10));
    }

    #[test]
    fn a_notes_caret_keeps_its_place_when_remote_edits_land_with_the_typing() {
        // The field showed "Agenda" and "Agenda:" was typed (caret after
        // the colon); meanwhile another device wrote "Team " in front.
        let typed = Splice {
            pos: 6,
            del: 0,
            insert: ":".into(),
        };
        let now = "Team Agenda";
        // Applied: "Team Agenda:".
        assert_eq!(caret_after(&typed, "Agenda", now, 7), 12, "after the colon");
        assert_eq!(
            caret_after(&typed, "Agenda", now, 3),
            8,
            "inside \"Agenda\""
        );
        assert_eq!(
            caret_after(&typed, "Agenda", "Agenda", 7),
            7,
            "nothing arrived"
        );
        // "gen" replaced with "x": the field showed "Axda"; the notes
        // become "Team Axda".
        let replaced = Splice {
            pos: 1,
            del: 3,
            insert: "x".into(),
        };
        assert_eq!(caret_after(&replaced, "Agenda", now, 2), 7, "after the x");
        assert_eq!(caret_after(&replaced, "Agenda", now, 4), 9, "at the end");
        assert_eq!(caret_after(&replaced, "Agenda", now, 1), 6, "before the x");
    }

    #[test]
    fn a_reload_leaves_the_field_being_typed_in() {
        let e = event(timed(Tz::UTC, 4, 9, 10));
        let key = OccurrenceKey::of(&e.data.when);
        let mut form = form_on(&e, &key);
        form.title = "Stand-u".into();
        form.start_time = "09:3".into();
        form.load(&e, Tz::UTC, |f| {
            matches!(f, Field::Title | Field::StartTime)
        });
        assert_eq!(form.title, "Stand-u");
        assert_eq!(form.start_time, "09:3");
        assert_eq!(form.location, "Room Ada");
        assert_eq!(form.end_time, "10:00");
    }

    #[test]
    fn times_are_shown_and_read_in_the_events_own_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let e = event(timed(berlin, 4, 9, 10));
        let key = OccurrenceKey::of(&e.data.when);
        let mut form = form_on(&e, &key);
        form.load(&e, Tz::UTC, |_| false);
        assert_eq!(form.zone, berlin);
        assert_eq!(
            (form.start_time.as_str(), form.end_time.as_str()),
            ("09:00", "10:00")
        );
        assert_eq!(form.when(), Ok(e.data.when));
        form.end_time = "8:00".into();
        assert!(form.when().is_err(), "an end before the start");
        form.end_time = "noon".into();
        assert_eq!(form.when(), Err("\"noon\" is not a time like 09:30".into()));
    }

    #[test]
    fn an_all_day_event_shows_its_last_day_not_the_day_after() {
        let e = event(When::all_day(day(4), day(6)).unwrap());
        let key = OccurrenceKey::of(&e.data.when);
        let mut form = form_on(&e, &key);
        form.load(&e, Tz::UTC, |_| false);
        assert!(form.all_day);
        assert_eq!(
            (form.start_date.as_str(), form.end_date.as_str()),
            ("2026-05-04", "2026-05-05")
        );
        assert_eq!(form.when(), Ok(e.data.when));
    }

    fn loaded(event: &Event) -> EventForm {
        let mut form = form_on(event, &OccurrenceKey::of(&event.data.when));
        form.load(event, Tz::UTC, |_| false);
        form
    }

    #[test]
    fn switching_all_day_on_keeps_the_days_the_span_touches() {
        let e = event(timed(Tz::UTC, 4, 9, 10));
        let mut form = loaded(&e);
        form.all_day = true;
        assert_eq!(
            form.all_day_switched(&e, Tz::UTC),
            Ok(EventEdit::SetWhen(
                Scope::Series,
                When::all_day(day(4), day(5)).unwrap()
            ))
        );
        // Ending at midnight: the day before is the last one.
        let ten_pm = Tz::UTC
            .with_ymd_and_hms(2026, 5, 4, 22, 0, 0)
            .unwrap()
            .to_utc();
        let at_midnight = When::timed(ten_pm, ten_pm + Duration::hours(2), Tz::UTC).unwrap();
        let e = event(at_midnight);
        let mut form = loaded(&e);
        form.all_day = true;
        assert_eq!(
            form.all_day_switched(&e, Tz::UTC),
            Ok(EventEdit::SetWhen(
                Scope::Series,
                When::all_day(day(4), day(5)).unwrap()
            ))
        );
    }

    #[test]
    fn switching_all_day_off_makes_an_hour_at_nine_on_the_first_day() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let e = event(When::all_day(day(4), day(6)).unwrap());
        let mut form = loaded(&e);
        form.all_day = false;
        assert_eq!(
            form.all_day_switched(&e, berlin),
            Ok(EventEdit::SetWhen(Scope::Series, timed(berlin, 4, 9, 10)))
        );
    }

    #[test]
    fn leaving_a_time_field_edits_only_when_the_time_changed() {
        let e = event(timed(Tz::UTC, 4, 9, 10));
        let mut form = loaded(&e);
        assert_eq!(form.times_left(&e), None);
        form.end_time = "11:00".into();
        assert_eq!(
            form.times_left(&e),
            Some(Ok(EventEdit::SetWhen(
                Scope::Series,
                timed(Tz::UTC, 4, 9, 11)
            )))
        );
        form.end_date = "tomorrow".into();
        assert!(matches!(form.times_left(&e), Some(Err(_))));
    }

    #[test]
    fn a_picked_start_day_moves_the_event_and_a_picked_end_day_stretches_it() {
        // Monday 09:00 to Tuesday 10:00.
        let at = |d, h| {
            Tz::UTC
                .with_ymd_and_hms(2026, 5, d, h, 0, 0)
                .unwrap()
                .to_utc()
        };
        let e = event(When::timed(at(4, 9), at(5, 10), Tz::UTC).unwrap());
        let mut form = loaded(&e);
        assert_eq!(
            form.start_date_picked(day(7), &e),
            Some(Ok(EventEdit::SetWhen(
                Scope::Series,
                When::timed(at(7, 9), at(8, 10), Tz::UTC).unwrap()
            )))
        );
        assert_eq!(
            (form.start_date.as_str(), form.end_date.as_str()),
            ("2026-05-07", "2026-05-08")
        );
        let mut form = loaded(&e);
        assert_eq!(
            form.end_date_picked(day(6), &e),
            Some(Ok(EventEdit::SetWhen(
                Scope::Series,
                When::timed(at(4, 9), at(6, 10), Tz::UTC).unwrap()
            )))
        );
        // The day it already has: nothing to do. Before the start: why not.
        assert_eq!(form.end_date_picked(day(5), &e), None);
        assert!(matches!(form.end_date_picked(day(3), &e), Some(Err(_))));
        // All day, shown inclusive: Monday to Tuesday, moved to Friday.
        let e = event(When::all_day(day(4), day(6)).unwrap());
        let mut form = loaded(&e);
        assert_eq!(
            form.start_date_picked(day(8), &e),
            Some(Ok(EventEdit::SetWhen(
                Scope::Series,
                When::all_day(day(8), day(10)).unwrap()
            )))
        );
    }

    #[test]
    fn picking_a_zone_keeps_the_wall_clock_times() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        let e = event(timed(Tz::UTC, 4, 9, 10));
        let mut form = loaded(&e);
        assert_eq!(
            form.zone_picked(tokyo),
            Ok(EventEdit::SetWhen(Scope::Series, timed(tokyo, 4, 9, 10)))
        );
        assert_eq!(form.zone, tokyo);
    }

    #[test]
    fn an_occurrences_edits_name_the_occurrence() {
        let (e, tuesday) = series();
        let mut form = form_on(&e, &tuesday);
        form.load(&e, Tz::UTC, |_| false);
        form.title = "Retro".into();
        form.location = "Room Grace".into();
        let scope = Scope::Occurrence(tuesday);
        assert_eq!(
            form.title_typed(),
            EventEdit::SetTitle(scope.clone(), "Retro".into())
        );
        assert_eq!(
            form.location_typed(),
            EventEdit::SetLocation(scope, "Room Grace".into())
        );
    }

    #[test]
    fn an_attendee_is_added_trimmed_and_a_blank_one_not_at_all() {
        let e = event(timed(Tz::UTC, 4, 9, 10));
        let mut form = loaded(&e);
        form.attendee = "   ".into();
        assert_eq!(form.take_attendee(), None);
        form.attendee = " Ada Lovelace ".into();
        assert_eq!(
            form.take_attendee(),
            Some(EventEdit::AddAttendee("Ada Lovelace".into()))
        );
        assert_eq!(form.attendee, "");
    }

    #[test]
    fn typing_in_the_notes_is_one_splice_of_what_the_form_last_had() {
        let e = event(timed(Tz::UTC, 4, 9, 10));
        let mut form = loaded(&e);
        assert_eq!(form.notes_typed("Agenda", None), None);
        form.notes = "Agenda:".into();
        assert_eq!(
            form.notes_typed("Agenda", Some(7)),
            Some(EventEdit::SpliceNotes {
                splice: Splice {
                    pos: 6,
                    del: 0,
                    insert: ":".into()
                },
                base: "Agenda".into(),
            })
        );
        form.rule.frequency = Some(Frequency::Daily);
        assert_eq!(
            form.repeat_applied(),
            Ok(EventEdit::SetRecurrence(Some(Recurrence::new(
                Frequency::Daily
            ))))
        );
    }

    #[test]
    fn a_rule_being_put_together_survives_other_edits_until_the_stored_rule_changes() {
        let (mut e, tuesday) = series();
        let mut form = form_on(&e, &tuesday);
        form.load(&e, Tz::UTC, |_| false);
        form.rule.frequency = Some(Frequency::Weekly);
        form.rule.weekdays[2] = true;
        // Another edit (the location, here) reloads the form: the repeat
        // row stays as typed.
        e.data.location = "Room Grace".into();
        form.load(&e, Tz::UTC, |_| false);
        assert_eq!(form.location, "Room Grace");
        assert_eq!(form.rule.frequency, Some(Frequency::Weekly));
        // The stored rule changed (applied here or on another device): the
        // row shows it.
        e.data.recurrence = Some(Recurrence::new(Frequency::Monthly));
        form.load(&e, Tz::UTC, |_| false);
        assert_eq!(form.rule.frequency, Some(Frequency::Monthly));
        assert_eq!(form.rule.weekdays, [false; 7]);
    }

    #[test]
    fn every_edit_lands_in_the_calendar() {
        use concord_calendar::{Calendar, CalendarTx};
        use concord_core::{Document, ReplicaId};

        let e = event(timed(Tz::UTC, 4, 9, 10));
        let uid = e.data.uid.clone();
        let mut doc = Document::new(ReplicaId(1));
        let mut tx = doc.transaction();
        let mut cal = CalendarTx::create(&mut tx, "Team").unwrap();
        cal.add_event(&e.data).unwrap();
        cal.delete_event(&uid).unwrap();
        let edits = [
            EventEdit::Restore,
            EventEdit::SetTitle(Scope::Series, "Retro".into()),
            EventEdit::SetLocation(Scope::Series, "Room Grace".into()),
            EventEdit::SetWhen(Scope::Series, timed(Tz::UTC, 4, 14, 15)),
            EventEdit::SetColour("tomato"),
            EventEdit::AddAttendee("Ada".into()),
            EventEdit::AddAttendee("Grace".into()),
            EventEdit::RemoveAttendee("Ada".into()),
            EventEdit::SetRecurrence(Some(Recurrence::new(Frequency::Daily))),
        ];
        for edit in &edits {
            edit.apply(&mut cal, &uid).unwrap();
        }
        // Typed against "Agenda" while someone else wrote "Team " before it:
        // the colon still goes after "Agenda".
        cal.splice_notes(&uid, 0, 0, "Team ").unwrap();
        let typed = EventEdit::SpliceNotes {
            splice: Splice {
                pos: 6,
                del: 0,
                insert: ":".into(),
            },
            base: "Agenda".into(),
        };
        typed.apply(&mut cal, &uid).unwrap();
        assert_eq!(notes_of(&cal, &uid), "Team Agenda:");
        tx.commit();

        let now = Calendar::open(&doc).unwrap().event(&uid).unwrap();
        assert!(!now.deleted);
        assert_eq!(now.data.title, "Retro");
        assert_eq!(now.data.location, "Room Grace");
        assert_eq!(now.data.when, timed(Tz::UTC, 4, 14, 15));
        assert_eq!(now.data.colour.as_deref(), Some("tomato"));
        assert_eq!(now.data.attendees.iter().collect::<Vec<_>>(), ["Grace"]);
        assert_eq!(now.data.recurrence, Some(Recurrence::new(Frequency::Daily)));
        assert_eq!(now.data.notes, "Team Agenda:");
    }
}

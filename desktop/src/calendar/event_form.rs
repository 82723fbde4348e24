//! The event editor's form without the window: what its fields hold,
//! filling them from the event, and reading them back as a time span
//! (the repeat row is `rule_form`). `event_editor` draws it.
//!
//! Times are shown in the event's own zone. Title, time and location belong
//! to the scope the form edits (one occurrence or the whole series); notes,
//! attendees, colour and the repeat rule belong to the series.

use chrono::{Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use concord_calendar::{Event, OccurrenceKey, Scope, When};

use super::action::OccRef;
use super::rule_form::RuleForm;

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
            rule: RuleForm::of(None, NaiveDate::MIN),
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
    /// are being typed in; times in the event's zone (`display` for an
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
        if !typing(Field::Notes) {
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
        self.rule = RuleForm::of(
            event.data.recurrence.as_ref(),
            event.data.when.local_start(self.zone).date(),
        );
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
}

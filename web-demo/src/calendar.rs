//! Calendars in the browser: `concord-calendar` (the desktop's calendar
//! model) on the workspace's documents.
//!
//! Times cross the JavaScript boundary as the strings HTML inputs use:
//! dates `YYYY-MM-DD`, wall-clock times `YYYY-MM-DDTHH:MM` in the viewer's
//! IANA zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`). An
//! all-day event's end is the day after its last day, as in iCalendar.

use std::fmt::Write as _;

use concord_calendar::chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use concord_calendar::chrono_tz::Tz;
use concord_calendar::when::resolve_local;
use concord_calendar::{
    Calendar, CalendarError, CalendarTx, Event, EventData, Frequency, Occurrence, OccurrenceKey,
    Recurrence, RecurrenceEnd, Scope, When, demo_calendar, export_ics, is_calendar, parse_ics,
};
use concord_core::Document;
use concord_wire::DocId;

use crate::error::WebError;
use crate::workspace::Workspace;

const DATE: &str = "%Y-%m-%d";
const LOCAL: &str = "%Y-%m-%dT%H:%M";

pub fn parse_zone(zone: &str) -> Result<Tz, WebError> {
    zone.parse()
        .map_err(|_| WebError::Time(format!("unknown time zone {zone:?}")))
}

pub fn parse_date(s: &str) -> Result<NaiveDate, WebError> {
    NaiveDate::parse_from_str(s, DATE)
        .map_err(|_| WebError::Time(format!("{s:?} is not a date (YYYY-MM-DD)")))
}

pub fn parse_local(s: &str) -> Result<NaiveDateTime, WebError> {
    NaiveDateTime::parse_from_str(s, LOCAL)
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| WebError::Time(format!("{s:?} is not a time (YYYY-MM-DDTHH:MM)")))
}

pub fn format_local(t: NaiveDateTime) -> String {
    t.format(LOCAL).to_string()
}

pub fn format_date(d: NaiveDate) -> String {
    d.format(DATE).to_string()
}

/// "series", or an occurrence key, as the page passes it back.
pub fn parse_scope(s: &str) -> Result<Scope, WebError> {
    if s == "series" {
        return Ok(Scope::Series);
    }
    OccurrenceKey::parse(s)
        .map(Scope::Occurrence)
        .ok_or_else(|| WebError::Time(format!("{s:?} is not an occurrence")))
}

pub fn scope_name(scope: &Scope) -> String {
    match scope {
        Scope::Series => "series".into(),
        Scope::Occurrence(key) => key.to_string(),
    }
}

/// A span from the page: all-day from dates, or timed from wall-clock
/// times in `zone`.
pub fn when(start: &str, end: &str, all_day: bool, zone: Tz) -> Result<When, WebError> {
    // An all-day span takes the date part of whatever the page gives.
    let date = |s: &str| parse_date(s.get(..10).unwrap_or(s));
    Ok(if all_day {
        When::all_day(date(start)?, date(end)?)?
    } else {
        When::timed_local(parse_local(start)?, parse_local(end)?, zone)?
    })
}

/// A span as the page shows it: `(start, end)` in `zone` (dates for all-day).
pub fn show_when(when: &When, zone: Tz) -> (String, String) {
    match when.dates() {
        Some((start, end)) => (format_date(start), format_date(end)),
        None => (
            format_local(when.local_start(zone)),
            format_local(when.local_end(zone)),
        ),
    }
}

/// The span `[start, end)` the page gives (wall-clock times in `display`,
/// or dates if `all_day`) as the `When` to store in place of `current`: a
/// timed event keeps the zone it was created in (its repeats stay at its
/// own wall-clock time); one that becomes timed takes `display`'s.
pub fn retimed(
    current: &When,
    start: &str,
    end: &str,
    all_day: bool,
    display: Tz,
) -> Result<When, WebError> {
    let span = when(start, end, all_day, display)?;
    match (span.instants(), current.zone()) {
        (Some((s, e)), Some(zone)) => Ok(When::timed(s, e, zone)?),
        _ => Ok(span),
    }
}

/// The span occurrence `key` of `event` has now (moved on its own or not).
pub fn occurrence_when(event: &Event, key: &OccurrenceKey) -> When {
    let base = &event.data.when;
    if event.data.recurrence.is_none() {
        return *base;
    }
    if let Some(moved) = event.data.overrides.get(key).and_then(|o| o.when) {
        return moved;
    }
    let original = match (key.instant(), base.zone(), key.date()) {
        (Some(start), Some(zone), _) => When::timed(start, start + base.duration(), zone).ok(),
        (None, None, Some(day)) => When::all_day(day, day + base.duration()).ok(),
        _ => None,
    };
    original.unwrap_or(*base)
}

/// A series' own span after one of its occurrences went from `occurrence`
/// to `moved` ("all occurrences" for a drag): it starts as many calendar
/// days later and at the moved occurrence's wall-clock time (in the
/// event's zone, so a move across a daylight-saving change keeps the
/// time people see), and lasts as long as the moved occurrence.
pub fn series_moved(
    series: &When,
    occurrence: &When,
    moved: &When,
    display: Tz,
) -> Result<When, CalendarError> {
    let zone = moved.zone().or(series.zone()).unwrap_or(display);
    let shift = moved.local_start(zone).date() - occurrence.local_start(zone).date();
    let first = series
        .local_start(zone)
        .date()
        .checked_add_signed(shift)
        .ok_or(CalendarError::OutOfRange)?;
    if moved.is_all_day() {
        let days = Duration::days(moved.duration().num_days());
        return When::all_day(
            first,
            first
                .checked_add_signed(days)
                .ok_or(CalendarError::OutOfRange)?,
        );
    }
    let start = resolve_local(zone, first.and_time(moved.local_start(zone).time()))
        .ok_or(CalendarError::OutOfRange)?;
    When::timed(start, start + moved.duration(), zone)
}

/// How a repeating event repeats, in a few words ("Every 2 weeks on Mon,
/// Thu, 10 times").
pub fn repeat_label(rule: &Recurrence) -> String {
    if rule.is_dates_only() {
        return format!("On {} extra date(s)", rule.extra.len());
    }
    let (one, many) = match rule.frequency {
        Frequency::Daily => ("day", "days"),
        Frequency::Weekly => ("week", "weeks"),
        Frequency::Monthly => ("month", "months"),
        Frequency::Yearly => ("year", "years"),
    };
    let mut out = if rule.interval > 1 {
        format!("Every {} {many}", rule.interval)
    } else {
        format!("Every {one}")
    };
    let mut days: Vec<String> = rule
        .nth_weekdays
        .iter()
        .map(|n| {
            let nth = match n.nth {
                -1 => "last".to_owned(),
                1 => "1st".to_owned(),
                2 => "2nd".to_owned(),
                3 => "3rd".to_owned(),
                k => format!("{k}th"),
            };
            format!("{nth} {}", n.weekday)
        })
        .collect();
    days.extend(rule.weekdays.iter().map(ToString::to_string));
    days.extend(rule.month_days.iter().map(|d| {
        if *d == -1 {
            "the last day".to_owned()
        } else {
            format!("day {d}")
        }
    }));
    if !days.is_empty() {
        out.push_str(" on ");
        out.push_str(&days.join(", "));
    }
    // Writing to a String cannot fail.
    let _ = match rule.end {
        RecurrenceEnd::Never => Ok(()),
        RecurrenceEnd::Count(n) => write!(out, ", {n} times"),
        RecurrenceEnd::UntilDate(d) => write!(out, ", until {}", format_date(d)),
        RecurrenceEnd::UntilInstant(t) => {
            write!(out, ", until {}", t.format("%Y-%m-%d %H:%M UTC"))
        }
    };
    if !rule.extra.is_empty() {
        let _ = write!(out, ", and {} extra date(s)", rule.extra.len());
    }
    out
}

fn calendar(doc: &Document) -> Result<Calendar<'_>, WebError> {
    Ok(Calendar::open(doc)?)
}

impl Workspace {
    /// Creates a calendar named `name`; with `demo` (today, zone) it holds
    /// the demo week moved to this week.
    pub fn create_calendar(
        &mut self,
        doc: DocId,
        token: String,
        name: &str,
        demo: Option<(NaiveDate, Tz)>,
    ) -> Result<(), WebError> {
        let mut d = Document::new(self.device());
        let mut tx = d.transaction();
        match demo {
            Some((today, zone)) => demo_calendar(today, zone)
                .map_err(|e| WebError::Time(e.to_string()))?
                .write(&mut tx, name)?,
            None => {
                CalendarTx::create(&mut tx, name)?;
            }
        }
        tx.commit();
        self.start_document(doc, token, d)
    }

    /// A new calendar from an iCalendar file.
    pub fn import_ics(
        &mut self,
        doc: DocId,
        token: String,
        text: &str,
        zone: Tz,
        fallback_name: &str,
    ) -> Result<Vec<String>, WebError> {
        let imported = parse_ics(text, zone).map_err(|e| WebError::Time(e.to_string()))?;
        let mut d = Document::new(self.device());
        let mut tx = d.transaction();
        imported.write(&mut tx, fallback_name)?;
        tx.commit();
        self.start_document(doc, token, d)?;
        Ok(imported.warnings.iter().map(ToString::to_string).collect())
    }

    pub fn is_calendar(&self, doc: &DocId) -> Result<bool, WebError> {
        Ok(is_calendar(self.document(doc)?))
    }

    pub fn calendar_name(&self, doc: &DocId) -> Result<String, WebError> {
        Ok(calendar(self.document(doc)?)?.name())
    }

    pub fn rename_calendar(&mut self, doc: &DocId, name: &str) -> Result<(), WebError> {
        self.edit(doc, |tx| Ok(CalendarTx::open(tx)?.rename(name)?))?;
        Ok(())
    }

    /// What a view of the days `from..to` shows.
    pub fn occurrences(
        &self,
        doc: &DocId,
        from: NaiveDate,
        to: NaiveDate,
        zone: Tz,
    ) -> Result<Vec<Occurrence>, WebError> {
        Ok(calendar(self.document(doc)?)?.occurrences(from, to, zone))
    }

    pub fn event(&self, doc: &DocId, uid: &str) -> Result<Event, WebError> {
        calendar(self.document(doc)?)?
            .event(uid)
            .ok_or_else(|| CalendarError::NoSuchEvent(uid.to_owned()).into())
    }

    pub fn add_event(
        &mut self,
        doc: &DocId,
        uid: &str,
        title: &str,
        when: When,
    ) -> Result<(), WebError> {
        self.edit(doc, |tx| {
            Ok(CalendarTx::open(tx)?.add_event(&EventData::new(uid, title, when))?)
        })?;
        Ok(())
    }

    /// Moves or resizes the event (or one occurrence); also resolves a
    /// conflict of concurrent moves.
    pub fn set_event_when(
        &mut self,
        doc: &DocId,
        uid: &str,
        scope: &Scope,
        when: When,
    ) -> Result<(), WebError> {
        self.edit(doc, |tx| {
            Ok(CalendarTx::open(tx)?.set_when(uid, scope, when)?)
        })?;
        Ok(())
    }

    /// Moves or resizes `scope` of an event to the span the page gives
    /// (`retimed`: a timed event keeps its own zone).
    pub fn retime_event(
        &mut self,
        doc: &DocId,
        uid: &str,
        scope: &Scope,
        (start, end, all_day): (&str, &str, bool),
        display: Tz,
    ) -> Result<(), WebError> {
        let event = self.event(doc, uid)?;
        let current = match scope {
            Scope::Series => event.data.when,
            Scope::Occurrence(key) => occurrence_when(&event, key),
        };
        let span = retimed(&current, start, end, all_day, display)?;
        self.set_event_when(doc, uid, scope, span)
    }

    /// "All occurrences" after occurrence `key` of a repeating event was
    /// dragged to a new span: the whole series moves by as much
    /// (`series_moved`).
    pub fn retime_series(
        &mut self,
        doc: &DocId,
        uid: &str,
        key: &OccurrenceKey,
        (start, end, all_day): (&str, &str, bool),
        display: Tz,
    ) -> Result<(), WebError> {
        let event = self.event(doc, uid)?;
        let occurrence = occurrence_when(&event, key);
        let moved = retimed(&occurrence, start, end, all_day, display)?;
        let series = series_moved(&event.data.when, &occurrence, &moved, display)?;
        self.set_event_when(doc, uid, &Scope::Series, series)
    }

    /// Keeps candidate `index` of `Event::when_choices(scope)` (a conflict
    /// of concurrent moves), exactly as that device wrote it.
    pub fn pick_when(
        &mut self,
        doc: &DocId,
        uid: &str,
        scope: &Scope,
        index: usize,
    ) -> Result<(), WebError> {
        let event = self.event(doc, uid)?;
        let picked = event
            .when_choices(scope)
            .and_then(|c| c.get(index))
            .copied()
            .ok_or(WebError::NoSuchChoice(index))?;
        self.set_event_when(doc, uid, scope, picked)
    }

    pub fn add_attendee(&mut self, doc: &DocId, uid: &str, who: &str) -> Result<(), WebError> {
        let who = who.trim();
        if who.is_empty() {
            return Err(WebError::EmptyAttendee);
        }
        self.edit(doc, |tx| Ok(CalendarTx::open(tx)?.add_attendee(uid, who)?))?;
        Ok(())
    }

    /// Removes an attendee (a concurrent add elsewhere survives: the set
    /// is add-wins).
    pub fn remove_attendee(&mut self, doc: &DocId, uid: &str, who: &str) -> Result<(), WebError> {
        self.edit(doc, |tx| {
            Ok(CalendarTx::open(tx)?.remove_attendee(uid, who)?)
        })?;
        Ok(())
    }

    /// Takes one occurrence out of a repeating event ("delete this
    /// occurrence").
    pub fn cancel_occurrence(
        &mut self,
        doc: &DocId,
        uid: &str,
        key: &OccurrenceKey,
    ) -> Result<(), WebError> {
        self.edit(doc, |tx| {
            Ok(CalendarTx::open(tx)?.cancel_occurrence(uid, key)?)
        })?;
        Ok(())
    }

    pub fn set_event_title(
        &mut self,
        doc: &DocId,
        uid: &str,
        scope: &Scope,
        title: &str,
    ) -> Result<(), WebError> {
        self.edit(doc, |tx| {
            Ok(CalendarTx::open(tx)?.set_title(uid, scope, title)?)
        })?;
        Ok(())
    }

    pub fn set_event_location(
        &mut self,
        doc: &DocId,
        uid: &str,
        scope: &Scope,
        location: &str,
    ) -> Result<(), WebError> {
        self.edit(doc, |tx| {
            Ok(CalendarTx::open(tx)?.set_location(uid, scope, location)?)
        })?;
        Ok(())
    }

    pub fn delete_event(&mut self, doc: &DocId, uid: &str) -> Result<(), WebError> {
        self.edit(doc, |tx| Ok(CalendarTx::open(tx)?.delete_event(uid)?))?;
        Ok(())
    }

    /// The calendar as an iCalendar file; `now` is its DTSTAMP.
    pub fn export_ics(&self, doc: &DocId, now: DateTime<Utc>) -> Result<String, WebError> {
        Ok(export_ics(&calendar(self.document(doc)?)?, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::TextAt;
    use concord_calendar::chrono;
    use concord_core::ReplicaId;

    fn id() -> DocId {
        DocId::new("cal").unwrap()
    }

    #[test]
    fn events_are_created_moved_and_renamed_in_the_viewers_zone() {
        let berlin = parse_zone("Europe/Berlin").unwrap();
        let mut w = Workspace::standing(ReplicaId(1));
        w.create_calendar(id(), String::new(), "Team", None)
            .unwrap();
        assert!(w.is_calendar(&id()).unwrap());
        let span = when("2026-05-04T09:00", "2026-05-04T10:00", false, berlin).unwrap();
        w.add_event(&id(), "e1@concord", "Planning", span).unwrap();
        let day = parse_date("2026-05-04").unwrap();
        let week = w
            .occurrences(&id(), day, parse_date("2026-05-11").unwrap(), berlin)
            .unwrap();
        assert_eq!(week.len(), 1);
        assert_eq!(format_local(week[0].start), "2026-05-04T09:00");
        assert_eq!(scope_name(&week[0].scope), "series");

        let moved = when("2026-05-05T14:00", "2026-05-05T15:30", false, berlin).unwrap();
        w.set_event_when(&id(), "e1@concord", &Scope::Series, moved)
            .unwrap();
        w.set_event_title(&id(), "e1@concord", &Scope::Series, "Planning v2")
            .unwrap();
        let e = w.event(&id(), "e1@concord").unwrap();
        assert_eq!(e.data.title, "Planning v2");
        assert_eq!(
            show_when(&e.data.when, berlin),
            ("2026-05-05T14:00".into(), "2026-05-05T15:30".into())
        );
        // Seen from New York, the same instant.
        let ny = parse_zone("America/New_York").unwrap();
        assert_eq!(show_when(&e.data.when, ny).0, "2026-05-05T08:00");

        w.delete_event(&id(), "e1@concord").unwrap();
        assert!(
            w.occurrences(&id(), day, parse_date("2026-05-11").unwrap(), berlin)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bad_times_and_non_calendars_are_errors() {
        let utc = parse_zone("UTC").unwrap();
        assert!(parse_zone("Mars/Olympus").is_err());
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_local("tomorrow").is_err());
        assert!(parse_scope("yesterday").is_err());
        assert!(matches!(
            when("2026-05-04T10:00", "2026-05-04T09:00", false, utc),
            Err(WebError::Calendar(CalendarError::EndNotAfterStart))
        ));
        let all_day = when("2026-05-04", "2026-05-05T00:00", true, utc).unwrap();
        assert!(
            when("2026-05-0é", "2026-05-05", true, utc).is_err(),
            "no panic"
        );
        assert_eq!(
            show_when(&all_day, utc),
            ("2026-05-04".into(), "2026-05-05".into())
        );

        let mut w = Workspace::standing(ReplicaId(1));
        let note = DocId::new("note").unwrap();
        w.create_note(note.clone(), String::new(), "t").unwrap();
        assert!(!w.is_calendar(&note).unwrap());
        assert!(matches!(
            w.calendar_name(&note),
            Err(WebError::Calendar(CalendarError::NotACalendar))
        ));
        let version = w.version(&note).unwrap();
        assert!(w.add_event(&note, "x", "x", all_day).is_err());
        assert_eq!(w.version(&note).unwrap(), version, "nothing changed");
    }

    #[test]
    fn the_demo_week_and_ics_files_make_calendars() {
        let zone = parse_zone("Europe/Berlin").unwrap();
        let today = parse_date("2026-05-06").unwrap();
        let mut w = Workspace::standing(ReplicaId(1));
        w.create_calendar(id(), String::new(), "Demo", Some((today, zone)))
            .unwrap();
        let monday = parse_date("2026-05-04").unwrap();
        let week = w
            .occurrences(&id(), monday, parse_date("2026-05-11").unwrap(), zone)
            .unwrap();
        assert!(week.len() > 3, "the demo fills this week");
        let now = DateTime::from_timestamp(1_778_000_000, 0).unwrap();
        let file = w.export_ics(&id(), now).unwrap();

        let copy = DocId::new("copy").unwrap();
        let warnings = w
            .import_ics(copy.clone(), String::new(), &file, zone, "Imported")
            .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            w.occurrences(&copy, monday, parse_date("2026-05-11").unwrap(), zone)
                .unwrap()
                .len(),
            week.len()
        );
        assert!(
            w.import_ics(DocId::new("bad").unwrap(), String::new(), "nope", zone, "x")
                .is_err()
        );
        assert!(w.documents().all(|d| d.as_str() != "bad"));
    }

    /// A daily stand-up at 09:00 in New York from Monday 2026-03-02, in
    /// calendar `id()`.
    fn stand_up() -> (Workspace, Tz) {
        let ny = parse_zone("America/New_York").unwrap();
        let mut w = Workspace::standing(ReplicaId(1));
        w.create_calendar(id(), String::new(), "Team", None)
            .unwrap();
        let span = when("2026-03-02T09:00", "2026-03-02T09:30", false, ny).unwrap();
        w.add_event(&id(), "s@concord", "Stand-up", span).unwrap();
        w.edit(&id(), |tx| {
            Ok(CalendarTx::open(tx)?
                .set_recurrence("s@concord", Some(&Recurrence::new(Frequency::Daily)))?)
        })
        .unwrap();
        (w, ny)
    }

    fn starts(w: &Workspace, from: &str, to: &str, zone: Tz) -> Vec<String> {
        w.occurrences(
            &id(),
            parse_date(from).unwrap(),
            parse_date(to).unwrap(),
            zone,
        )
        .unwrap()
        .iter()
        .map(|o| format!("{} {}", format_local(o.start), o.title))
        .collect()
    }

    #[test]
    fn a_move_in_another_zone_keeps_the_events_own_zone() {
        let (mut w, ny) = stand_up();
        let berlin = parse_zone("Europe/Berlin").unwrap();
        // Seen from Berlin (15:00 there), the series moves an hour later.
        w.retime_event(
            &id(),
            "s@concord",
            &Scope::Series,
            ("2026-03-02T16:00", "2026-03-02T16:30", false),
            berlin,
        )
        .unwrap();
        let e = w.event(&id(), "s@concord").unwrap();
        assert_eq!(e.data.when.zone(), Some(ny), "still a New York event");
        // New York starts daylight saving time on 8 March, Berlin only on
        // 29 March: the stand-up stays at 10:00 New York time, so Berlin
        // sees it an hour earlier from the 8th.
        assert_eq!(
            starts(&w, "2026-03-06", "2026-03-10", ny),
            [
                "2026-03-06T10:00 Stand-up",
                "2026-03-07T10:00 Stand-up",
                "2026-03-08T10:00 Stand-up",
                "2026-03-09T10:00 Stand-up"
            ]
        );
        assert_eq!(
            starts(&w, "2026-03-09", "2026-03-10", berlin),
            ["2026-03-09T15:00 Stand-up"]
        );
    }

    #[test]
    fn this_occurrence_or_all_occurrences() {
        let (mut w, ny) = stand_up();
        let week = w
            .occurrences(
                &id(),
                parse_date("2026-03-04").unwrap(),
                parse_date("2026-03-05").unwrap(),
                ny,
            )
            .unwrap();
        let wednesday = week[0].scope.clone();
        assert!(matches!(wednesday, Scope::Occurrence(_)));
        // This occurrence: renamed and moved on its own.
        w.set_event_title(&id(), "s@concord", &wednesday, "Stand-up (late)")
            .unwrap();
        w.retime_event(
            &id(),
            "s@concord",
            &wednesday,
            ("2026-03-04T11:00", "2026-03-04T11:30", false),
            ny,
        )
        .unwrap();
        assert_eq!(
            starts(&w, "2026-03-03", "2026-03-06", ny),
            [
                "2026-03-03T09:00 Stand-up",
                "2026-03-04T11:00 Stand-up (late)",
                "2026-03-05T09:00 Stand-up"
            ]
        );
        // All occurrences, from a drag of Thursday's by a day and an hour
        // (to Friday 10:00): every occurrence is at 10:00, one day later
        // (the series starts on Tuesday); Wednesday keeps its own time.
        let thursday = w
            .occurrences(
                &id(),
                parse_date("2026-03-05").unwrap(),
                parse_date("2026-03-06").unwrap(),
                ny,
            )
            .unwrap()[0]
            .key
            .clone();
        w.retime_series(
            &id(),
            "s@concord",
            &thursday,
            ("2026-03-06T10:00", "2026-03-06T10:45", false),
            ny,
        )
        .unwrap();
        let e = w.event(&id(), "s@concord").unwrap();
        assert_eq!(
            show_when(&e.data.when, ny),
            ("2026-03-03T10:00".into(), "2026-03-03T10:45".into())
        );
        // Across New York's change to summer time (8 March) the wall-clock
        // time stays.
        assert_eq!(
            starts(&w, "2026-03-09", "2026-03-10", ny),
            ["2026-03-09T10:00 Stand-up"]
        );
        // Deleting one occurrence, then all.
        let tuesday = Scope::Occurrence(OccurrenceKey::of(&e.data.when));
        let Scope::Occurrence(tuesday_key) = &tuesday else {
            unreachable!()
        };
        w.cancel_occurrence(&id(), "s@concord", tuesday_key)
            .unwrap();
        assert!(starts(&w, "2026-03-03", "2026-03-04", ny).is_empty());
        w.delete_event(&id(), "s@concord").unwrap();
        assert!(starts(&w, "2026-03-01", "2026-04-01", ny).is_empty());
    }

    #[test]
    fn a_conflict_is_resolved_with_the_time_as_written() {
        let ny = parse_zone("America/New_York").unwrap();
        let berlin = parse_zone("Europe/Berlin").unwrap();
        let mut a = Workspace::standing(ReplicaId(1));
        a.create_calendar(id(), String::new(), "Team", None)
            .unwrap();
        let span = when("2026-05-04T09:00", "2026-05-04T10:00", false, ny).unwrap();
        a.add_event(&id(), "e@concord", "Plan", span).unwrap();
        let mut b = Workspace::standing(ReplicaId(2));
        b.import_new(
            DocId::new("copy").unwrap(),
            String::new(),
            &a.export(&id()).unwrap(),
        )
        .unwrap();
        let copy = DocId::new("copy").unwrap();
        let later = when("2026-05-04T14:00", "2026-05-04T15:00", false, berlin).unwrap();
        b.set_event_when(&copy, "e@concord", &Scope::Series, later)
            .unwrap();
        a.retime_event(
            &id(),
            "e@concord",
            &Scope::Series,
            ("2026-05-04T11:00", "2026-05-04T12:00", false),
            ny,
        )
        .unwrap();
        a.import_into(&id(), &b.export(&copy).unwrap()).unwrap();
        let e = a.event(&id(), "e@concord").unwrap();
        let choices = e.when_choices(&Scope::Series).unwrap().to_vec();
        assert_eq!(choices.len(), 2);
        let berlin_one = choices
            .iter()
            .position(|w| w.zone() == Some(berlin))
            .unwrap();
        a.pick_when(&id(), "e@concord", &Scope::Series, berlin_one)
            .unwrap();
        let e = a.event(&id(), "e@concord").unwrap();
        assert!(e.when_conflicts.is_empty());
        assert_eq!(e.data.when, later, "the Berlin time, in Berlin's zone");
        assert!(matches!(
            a.pick_when(&id(), "e@concord", &Scope::Series, 5),
            Err(WebError::NoSuchChoice(5))
        ));
    }

    #[test]
    fn notes_are_spliced_and_attendees_added_and_removed() {
        let (mut w, _) = stand_up();
        let notes = TextAt::Notes("s@concord");
        assert_eq!(w.field_text(&id(), notes).unwrap(), "");
        assert_eq!(
            w.field_input(&id(), notes, "", "Agenda", Some(6)).unwrap(),
            Some(6)
        );
        // Someone else wrote in front meanwhile: the typing lands after
        // "Agenda", the caret after it.
        w.edit(&id(), |tx| {
            Ok(CalendarTx::open(tx)?.splice_notes("s@concord", 0, 0, "Team ")?)
        })
        .unwrap();
        assert_eq!(
            w.field_input(&id(), notes, "Agenda", "Agenda: 日本語", Some(11))
                .unwrap(),
            Some(16)
        );
        assert_eq!(w.field_text(&id(), notes).unwrap(), "Team Agenda: 日本語");
        assert_eq!(w.field_input(&id(), notes, "x", "x", None).unwrap(), None);
        let sel = w.selection(&id(), notes, 5, 11).unwrap();
        w.edit(&id(), |tx| {
            Ok(CalendarTx::open(tx)?.splice_notes("s@concord", 0, 5, "")?)
        })
        .unwrap();
        assert_eq!(w.resolve(&id(), notes, sel).unwrap(), (0, 6));

        w.add_attendee(&id(), "s@concord", " Ada ").unwrap();
        w.add_attendee(&id(), "s@concord", "grace@example.org")
            .unwrap();
        assert!(matches!(
            w.add_attendee(&id(), "s@concord", "  "),
            Err(WebError::EmptyAttendee)
        ));
        w.remove_attendee(&id(), "s@concord", "Ada").unwrap();
        let e = w.event(&id(), "s@concord").unwrap();
        assert_eq!(
            e.data.attendees.iter().collect::<Vec<_>>(),
            ["grace@example.org"]
        );
        assert!(w.field_text(&id(), TextAt::Notes("nobody")).is_err());
    }

    #[test]
    fn repeats_in_words() {
        let weekly = Recurrence::weekly_on(&[chrono::Weekday::Mon, chrono::Weekday::Thu])
            .with_interval(2)
            .with_end(RecurrenceEnd::Count(10));
        assert_eq!(repeat_label(&weekly), "Every 2 weeks on Mon, Thu, 10 times");
        let monthly = Recurrence::monthly_on_nth(&[(-1, chrono::Weekday::Fri)]);
        assert_eq!(repeat_label(&monthly), "Every month on last Fri");
        assert_eq!(
            repeat_label(&Recurrence::new(Frequency::Daily)),
            "Every day"
        );
    }
}

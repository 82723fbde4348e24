//! Calendars in the browser: `concord-calendar` (the desktop's calendar
//! model) on the workspace's documents.
//!
//! Times cross the JavaScript boundary as the strings HTML inputs use:
//! dates `YYYY-MM-DD`, wall-clock times `YYYY-MM-DDTHH:MM` in the viewer's
//! IANA zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`). An
//! all-day event's end is the day after its last day, as in iCalendar.

use concord_calendar::chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use concord_calendar::chrono_tz::Tz;
use concord_calendar::{
    Calendar, CalendarError, CalendarTx, Event, EventData, Occurrence, OccurrenceKey, Scope, When,
    demo_calendar, export_ics, is_calendar, parse_ics,
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
}

//! Calendars in the replica store: a new calendar from an iCalendar file
//! (or from the demo week), and a stored calendar as an iCalendar file.
//! The calendar itself is `concord-calendar`; this module only moves it
//! between files, the clock and the store.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use concord_calendar::{
    Calendar, CalendarError, DemoError, IcsError, ImportWarning, ImportedCalendar, demo_calendar,
    export_ics, parse_ics,
};
use concord_core::Document;
use concord_wire::DocId;

use crate::replicas::now_ms;
use crate::store::{ReplicaStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CalendarFileError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ics(#[from] IcsError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error(transparent)]
    Demo(#[from] DemoError),
    #[error("document {0} is not a calendar")]
    NotACalendar(DocId),
}

/// The zone this computer is set to (its IANA name from the system), or
/// UTC if the system does not say.
pub fn local_zone() -> Tz {
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|name| name.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// Today in `zone`, by the system clock.
pub fn today(zone: Tz) -> NaiveDate {
    Utc::now().with_timezone(&zone).date_naive()
}

/// Reads an iCalendar file into a new calendar document; returns its id
/// and what was skipped or adjusted. Floating times are read in `zone`;
/// the calendar is named after the file's NAME, else `fallback_name`.
/// Nothing is stored unless the whole file was read.
pub fn import(
    store: &mut ReplicaStore,
    text: &str,
    fallback_name: &str,
    zone: Tz,
    random: [u8; 16],
) -> Result<(DocId, Vec<ImportWarning>), CalendarFileError> {
    let calendar = parse_ics(text, zone)?;
    let id = store_new(store, &calendar, fallback_name, random)?;
    Ok((id, calendar.warnings))
}

/// The demo week (moved to the week of `today`) as a new calendar.
pub fn create_demo(
    store: &mut ReplicaStore,
    today: NaiveDate,
    zone: Tz,
    random: [u8; 16],
) -> Result<DocId, CalendarFileError> {
    let demo = demo_calendar(today, zone)?;
    store_new(store, &demo, "Demo calendar", random)
}

fn store_new(
    store: &mut ReplicaStore,
    calendar: &ImportedCalendar,
    fallback_name: &str,
    random: [u8; 16],
) -> Result<DocId, CalendarFileError> {
    let id = DocId::from_random(random);
    let mut doc = Document::new(store.device());
    let mut tx = doc.transaction();
    calendar.write(&mut tx, fallback_name)?;
    let first = tx.commit();
    let name = Calendar::open(&doc)?.name();
    store.create(&id, &name, now_ms(), None)?;
    store.append(&id, first.as_slice(), None, now_ms())?;
    Ok(id)
}

/// A stored calendar as an iCalendar file (DTSTAMP `now`).
pub fn export(
    store: &ReplicaStore,
    id: &DocId,
    now: DateTime<Utc>,
) -> Result<String, CalendarFileError> {
    let doc = store.load(id)?;
    let calendar = match Calendar::open(&doc) {
        Ok(c) => c,
        Err(CalendarError::NotACalendar) => {
            return Err(CalendarFileError::NotACalendar(id.clone()));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(export_ics(&calendar, now))
}

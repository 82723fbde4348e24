//! Calendars on this device: a new calendar from an iCalendar file (or
//! from the demo week), and a calendar this device holds as an iCalendar
//! file. The calendar itself is `concord-calendar`; this module only moves
//! it between files, the clock and the sync client (which stores it).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use concord_calendar::{
    Calendar, CalendarError, DemoError, IcsError, ImportWarning, ImportedCalendar, demo_calendar,
    export_ics, parse_ics,
};
use concord_client::{Client, ClientError};
use concord_wire::DocId;

use crate::replicas::SharedStore;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CalendarFileError {
    #[error(transparent)]
    Client(#[from] ClientError),
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
    client: &Client,
    list: &SharedStore,
    text: &str,
    fallback_name: &str,
    zone: Tz,
    random: [u8; 16],
) -> Result<(DocId, Vec<ImportWarning>), CalendarFileError> {
    let calendar = parse_ics(text, zone)?;
    let id = store_new(client, list, &calendar, fallback_name, random)?;
    Ok((id, calendar.warnings))
}

/// The demo week (moved to the week of `today`) as a new calendar.
pub fn create_demo(
    client: &Client,
    list: &SharedStore,
    today: NaiveDate,
    zone: Tz,
    random: [u8; 16],
) -> Result<DocId, CalendarFileError> {
    let demo = demo_calendar(today, zone)?;
    store_new(client, list, &demo, "Demo calendar", random)
}

/// A new document holding `calendar`, named in the list; nothing is left
/// behind if writing it fails.
fn store_new(
    client: &Client,
    list: &SharedStore,
    calendar: &ImportedCalendar,
    fallback_name: &str,
    random: [u8; 16],
) -> Result<DocId, CalendarFileError> {
    let id = DocId::from_random(random);
    client.create(id.clone(), "")?;
    let written = client
        .edit(&id, |tx| {
            calendar.write(tx, fallback_name)?;
            Ok::<_, CalendarError>(Calendar::open(tx.doc())?.name())
        })
        .map_err(CalendarFileError::from)
        .and_then(|edited| Ok(edited.value_if_saved().map_err(ClientError::from)??));
    let name = match written {
        Ok(name) => name,
        Err(e) => {
            let _ = client.delete(&id);
            return Err(e);
        }
    };
    list.set_title(&id, &name)?;
    Ok(id)
}

/// A calendar this device holds as an iCalendar file (DTSTAMP `now`).
pub fn export(
    client: &Client,
    id: &DocId,
    now: DateTime<Utc>,
) -> Result<String, CalendarFileError> {
    client.peek(id, |doc| match Calendar::open(doc) {
        Ok(calendar) => Ok(export_ics(&calendar, now)),
        Err(CalendarError::NotACalendar) => Err(CalendarFileError::NotACalendar(id.clone())),
        Err(e) => Err(e.into()),
    })?
}

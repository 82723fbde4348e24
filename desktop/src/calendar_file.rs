//! Calendars on this device: a new calendar from an iCalendar file (or
//! from the demo week), and a calendar this device holds as an iCalendar
//! file. The calendar itself is `concord-calendar`; this module only moves
//! it between files, the clock and the sync client (which stores it).

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use concord_calendar::{
    Calendar, CalendarError, DemoError, IcsError, ImportWarning, ImportedCalendar, demo_calendar,
    export_ics, ics::MAX_ICS_BYTES, parse_ics,
};
use concord_client::{Client, ClientError};
use concord_wire::DocId;

use crate::replicas::SharedStore;
use crate::store::{DocKind, StoreError};

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

/// The name a calendar read from `path` gets when the file names none:
/// the file's name without its extension.
pub fn fallback_name(path: &Path) -> String {
    path.file_stem().map_or_else(
        || "Imported calendar".to_owned(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Reads and parses the iCalendar file at `path` (floating times in
/// `zone`) without storing anything. A file larger than the importer takes
/// is refused before it is read. The error says what went wrong with which
/// file, for the person who chose it.
pub fn read_ics(path: &Path, zone: Tz) -> Result<ImportedCalendar, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    if size > MAX_ICS_BYTES as u64 {
        return Err(format!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_ICS_BYTES >> 20
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
    parse_ics(&text, zone).map_err(|e| format!("{}: {e}", path.display()))
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

/// A new document holding `calendar` (a file's, or the demo week), named
/// and marked a calendar in the list's cache; nothing is left behind if
/// writing it fails. The window's import, `calendar import` and the first
/// run all make calendars this way.
pub fn store_new(
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
    list.set_kind(&id, DocKind::Calendar)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
        BEGIN:VEVENT\r\nUID:standup@example\r\nDTSTAMP:20260504T080000Z\r\n\
        DTSTART:20260504T090000Z\r\nDTEND:20260504T091500Z\r\nSUMMARY:Stand-up\r\n\
        END:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn a_calendar_without_a_name_is_named_after_its_file() {
        assert_eq!(fallback_name(Path::new("/tmp/Team week.ics")), "Team week");
        assert_eq!(fallback_name(Path::new("/")), "Imported calendar");
    }

    #[test]
    fn an_ics_file_is_read_or_refused_with_its_name_in_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("team.ics");
        std::fs::write(&good, ONE_EVENT).unwrap();
        let read = read_ics(&good, Tz::UTC).unwrap();
        assert_eq!(read.events.len(), 1);
        assert_eq!(read.events[0].title, "Stand-up");

        let missing = dir.path().join("missing.ics");
        let e = read_ics(&missing, Tz::UTC).unwrap_err();
        assert!(
            e.starts_with("cannot read ") && e.contains("missing.ics"),
            "{e}"
        );

        let binary = dir.path().join("binary.ics");
        std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
        let e = read_ics(&binary, Tz::UTC).unwrap_err();
        assert!(e.ends_with("binary.ics is not UTF-8 text"), "{e}");

        let huge = dir.path().join("huge.ics");
        let file = std::fs::File::create(&huge).unwrap();
        file.set_len(MAX_ICS_BYTES as u64 + 1).unwrap();
        let e = read_ics(&huge, Tz::UTC).unwrap_err();
        assert!(e.ends_with("huge.ics is larger than 16 MiB"), "{e}");

        let broken = dir.path().join("broken.ics");
        std::fs::write(&broken, "BEGIN:VCALENDAR\r\n").unwrap();
        let e = read_ics(&broken, Tz::UTC).unwrap_err();
        assert!(e.contains("broken.ics: "), "{e}");
    }
}

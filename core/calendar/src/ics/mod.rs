//! iCalendar (RFC 5545) files in and out, through the `icalendar` crate:
//! VEVENT with UID, SUMMARY, DTSTART/DTEND (TZID, UTC or VALUE=DATE),
//! DURATION, LOCATION, DESCRIPTION, ATTENDEE, COLOR (RFC 7986), RRULE,
//! EXDATE and RECURRENCE-ID.
//!
//! Zones are written as IANA names in TZID without VTIMEZONE components
//! (the form Google and Apple calendars read); on import, a TZID that is
//! no IANA name is read in the default zone with a warning.

mod export;
mod import;
mod zones;

pub use export::{PRODID, export_ics, write_ics};
pub use import::{ImportedCalendar, MAX_ICS_BYTES, parse_ics};

//! iCalendar (RFC 5545) files in and out, through the `icalendar` crate:
//! VEVENT with UID, SUMMARY, DTSTART/DTEND (TZID, UTC or VALUE=DATE),
//! DURATION, LOCATION, DESCRIPTION, ATTENDEE, COLOR (RFC 7986), RRULE,
//! RDATE, EXDATE and RECURRENCE-ID.
//!
//! Zones are written as IANA names in TZID, each with a VTIMEZONE built
//! from chrono-tz for the years the file uses (`vtimezone.rs`), so
//! programs that do not know IANA names read the same instants. On import
//! a TZID is read as an IANA name, a vendor-prefixed one, a Windows zone
//! name (`zones.rs`) or its VTIMEZONE's X-LIC-LOCATION; VTIMEZONE rules
//! themselves are not read, and any other TZID is read in the default
//! zone with a warning.

mod export;
mod import;
mod vtimezone;
mod zones;

pub use export::{PRODID, export_ics, write_ics};
pub use import::{ImportedCalendar, MAX_ICS_BYTES, parse_ics};

//! Concord's calendar: events, repeats and iCalendar files on a
//! `concord-core` document, one document per calendar.
//!
//! Pure like the core: no IO, no clock, no random numbers, no threads.
//! Callers pass `today`, `now`, the display zone and the randomness of new
//! UIDs (`new_uid`). It builds for `wasm32-unknown-unknown`.
//!
//! # What a calendar is
//!
//! `CalendarTx::create` makes an empty document a calendar
//! (`is_calendar` tells it from a note); `Calendar` reads it,
//! `CalendarTx` edits it inside a core `Transaction`. Events are keyed by a
//! stable UID. The layout in the document is in `schema`'s module docs.
//!
//! # How concurrent edits merge
//!
//! - **Start and end are one value** (`When`): concurrent moves never mix
//!   one device's start with another's end, and every `When` ends after it
//!   starts (checked on write and again on read), so no merge can produce
//!   an event that ends before it starts.
//! - **Concurrent moves of the same event (or occurrence) are a conflict**
//!   the user resolves: every replica shows the same winner (highest
//!   Lamport timestamp, replica id breaking ties) and flags the occurrence
//!   (`Occurrence::conflict`); `Event::when_choices` lists the candidates,
//!   and writing one with `CalendarTx::set_when` supersedes them all on
//!   every device.
//! - **Occurrences of a repeating event are edited apart**: a change to
//!   one occurrence is stored under its original start
//!   (`OccurrenceKey`), so two devices changing two occurrences never
//!   touch the same value, and cancelling one is an add to a set.
//! - **Title, location, colour, the repeat rule**: last writer wins.
//!   **Notes** are collaborative text (concurrent typing interleaves by
//!   word, not by character). **Attendees** are an add-wins set.
//! - **The repeat rule and its extra dates are one value** (`Recurrence`,
//!   RRULE and RDATE in one register): when one device changes the rule
//!   and another adds an extra date meanwhile, one device's whole
//!   `Recurrence` wins on every replica, never the rule of one with the
//!   dates of the other (dates picked for a weekly rule are not kept with
//!   a monthly one nobody paired them with). Cancelled occurrences
//!   (EXDATE) stay an add-wins set keyed by original start, so cancelling
//!   an extra date works like cancelling any occurrence; extra dates are
//!   instants, so they stay where they were when the series moves.
//! - **Delete against a concurrent edit: the delete wins.** A deleted
//!   event stays deleted when an edit made concurrently on another device
//!   arrives; the edit is not lost but kept inside the deleted event, and
//!   restoring it (the undo of the delete, `CalendarTx::restore_event`)
//!   brings the event back with that edit. A restore and a concurrent
//!   delete also end deleted. `DELETE_WINS` is the sentence a UI can show.
//!   Cancelling one occurrence and restoring it concurrently likewise ends
//!   cancelled.
//!
//! ```
//! use chrono::NaiveDate;
//! use concord_calendar::{Calendar, CalendarTx, EventData, Scope, When, new_uid};
//! use concord_core::{Document, ReplicaId};
//!
//! let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
//! let day = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
//! let mut laptop = Document::new(ReplicaId(1));
//! let mut tx = laptop.transaction();
//! let mut cal = CalendarTx::create(&mut tx, "Team").unwrap();
//! let uid = new_uid(0x1234);
//! let when = When::timed_local(day.and_hms_opt(9, 0, 0).unwrap(),
//!                              day.and_hms_opt(10, 0, 0).unwrap(), berlin).unwrap();
//! cal.add_event(&EventData::new(&uid, "Planning", when)).unwrap();
//! let created = tx.commit().unwrap();
//!
//! let mut phone = Document::new(ReplicaId(2));
//! phone.apply(created).unwrap();
//! // Both move it while apart.
//! for (doc, hour) in [(&mut laptop, 11), (&mut phone, 14)] {
//!     let moved = When::timed_local(day.and_hms_opt(hour, 0, 0).unwrap(),
//!                                   day.and_hms_opt(hour + 1, 0, 0).unwrap(), berlin).unwrap();
//!     let mut tx = doc.transaction();
//!     CalendarTx::open(&mut tx).unwrap().set_when(&uid, &Scope::Series, moved).unwrap();
//! }
//! laptop.merge(&phone).unwrap();
//! let week = Calendar::open(&laptop).unwrap().occurrences(day, day.succ_opt().unwrap(), berlin);
//! assert_eq!(week[0].conflict, Some(Scope::Series));
//! let choices = Calendar::open(&laptop).unwrap().event(&uid).unwrap().when_conflicts[&Scope::Series].clone();
//! assert_eq!(choices.len(), 2);
//! ```

pub mod calendar;
pub mod colour;
pub mod demo;
pub mod edit;
pub mod error;
pub mod event;
pub mod ics;
pub mod occurrence;
pub mod recurrence;
pub mod schema;
pub mod when;

pub use calendar::{Calendar, MAX_OCCURRENCES_PER_EVENT, is_calendar};
pub use demo::{DEMO_ICS, DemoError, demo_calendar};
pub use edit::CalendarTx;
pub use error::{CalendarError, EventProblem, IcsError, ImportWarning, RuleError};
pub use event::{Event, EventData, OccurrenceOverride, new_uid, valid_uid};
pub use ics::{ImportedCalendar, export_ics, parse_ics, write_ics};
pub use occurrence::{Occurrence, OccurrenceKey, Scope};
pub use recurrence::{Frequency, Recurrence, RecurrenceEnd};
pub use when::When;

/// Re-exported so callers name zones and dates with the same types.
pub use chrono;
pub use chrono_tz;

/// What a UI says about an event deleted on one device while it was
/// edited on another.
pub const DELETE_WINS: &str = "Deleted on another device while it was being edited here. \
     A delete wins over edits made at the same time; the edits are kept with the deleted \
     event, and restoring it brings them back.";

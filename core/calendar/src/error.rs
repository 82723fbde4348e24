//! Error types of the calendar, one enum per layer.

use concord_core::EditError;

/// A calendar edit that cannot be made, or a document that is not a
/// calendar. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("this document is not a calendar")]
    NotACalendar,
    #[error("this calendar was written by a newer Concord (format {0})")]
    TooNew(i64),
    #[error("the document already holds something; a calendar needs an empty document")]
    NotEmpty,
    #[error("no event {0:?}")]
    NoSuchEvent(String),
    #[error("event {0:?} is deleted; restore it first")]
    Deleted(String),
    #[error("an event with UID {0:?} exists already")]
    DuplicateUid(String),
    #[error("a UID must be 1 to 255 characters without control characters")]
    BadUid,
    #[error("the end must be after the start")]
    EndNotAfterStart,
    #[error("the date is out of the supported range (years 1 to 9999)")]
    OutOfRange,
    #[error("event {0:?} does not repeat")]
    NotRecurring(String),
    #[error("event {uid:?} has no occurrence {key}")]
    NoSuchOccurrence { uid: String, key: String },
    #[error("repeat rule: {0}")]
    Rule(#[from] RuleError),
    #[error(transparent)]
    Edit(#[from] EditError),
}

/// A recurrence rule that is wrong, or right but beyond what Concord
/// repeats (it would not be shown faithfully).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("invalid rule: {0}")]
    Invalid(String),
    #[error("not supported: {0}")]
    Unsupported(String),
}

/// An iCalendar file that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcsError {
    #[error("not an iCalendar file: {0}")]
    Parse(String),
    #[error("no VCALENDAR in the file")]
    NotACalendar,
    #[error("components nested more than {0} deep")]
    TooDeep(usize),
    #[error("the file is larger than {0} bytes")]
    TooLarge(usize),
}

/// Something about one VEVENT that was skipped or adjusted on import; the
/// rest of the file was imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {}: {problem}", uid.as_deref().unwrap_or("without UID"))]
pub struct ImportWarning {
    pub uid: Option<String>,
    pub problem: EventProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventProblem {
    #[error("no UID; given {0:?}")]
    NoUid(String),
    #[error("no DTSTART; skipped")]
    NoStart,
    #[error("unreadable {property} {value:?}; skipped")]
    BadDate { property: String, value: String },
    #[error("ends before it starts; skipped")]
    EndBeforeStart,
    #[error("has no length; imported as {0} minutes long")]
    NoLength(i64),
    #[error("unknown time zone {zone:?}; read as {used}")]
    UnknownZone { zone: String, used: String },
    #[error("repeat rule left out ({0}); imported as a single event")]
    Rule(RuleError),
    #[error("a second event with the same UID; skipped")]
    DuplicateUid,
    #[error("a changed occurrence without its event; skipped")]
    OrphanOccurrence,
    #[error("unreadable {property} {value:?}; ignored")]
    BadValue { property: String, value: String },
}

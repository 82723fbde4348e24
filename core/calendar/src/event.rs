//! An event as plain data (what import, export and the views exchange) and
//! as read from a calendar document (plus its conflicts and whether it is
//! deleted).

use std::collections::{BTreeMap, BTreeSet};

use crate::occurrence::{OccurrenceKey, Scope};
use crate::recurrence::Recurrence;
use crate::when::When;

/// One event's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventData {
    /// Stable identity (iCalendar UID); never changes.
    pub uid: String,
    pub title: String,
    pub when: When,
    pub location: String,
    pub notes: String,
    /// Free text, typically `Name <email>` or an email address.
    pub attendees: BTreeSet<String>,
    /// A CSS colour name (RFC 7986 COLOR) or `#rrggbb`; see `colour`.
    pub colour: Option<String>,
    pub recurrence: Option<Recurrence>,
    /// Occurrences taken out of a repeating event (EXDATE).
    pub cancelled: BTreeSet<OccurrenceKey>,
    /// Occurrences changed on their own (RECURRENCE-ID).
    pub overrides: BTreeMap<OccurrenceKey, OccurrenceOverride>,
}

impl EventData {
    /// An event with a title and a time and nothing else.
    pub fn new(uid: impl Into<String>, title: impl Into<String>, when: When) -> Self {
        EventData {
            uid: uid.into(),
            title: title.into(),
            when,
            location: String::new(),
            notes: String::new(),
            attendees: BTreeSet::new(),
            colour: None,
            recurrence: None,
            cancelled: BTreeSet::new(),
            overrides: BTreeMap::new(),
        }
    }
}

/// What one occurrence of a repeating event changes; `None` keeps the
/// series' value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OccurrenceOverride {
    pub title: Option<String>,
    pub when: Option<When>,
    pub location: Option<String>,
}

impl OccurrenceOverride {
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.when.is_none() && self.location.is_none()
    }
}

/// An event as a calendar document holds it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The winning value of every field.
    pub data: EventData,
    /// Deleted (it can be restored; edits made concurrently are kept).
    pub deleted: bool,
    /// Scopes whose time two devices changed concurrently, with every
    /// distinct candidate, the current winner first. Writing any time for
    /// that scope (`CalendarTx::set_when`) supersedes them all.
    pub when_conflicts: BTreeMap<Scope, Vec<When>>,
}

impl Event {
    pub fn uid(&self) -> &str {
        &self.data.uid
    }

    /// The candidate times of `scope` when it is in conflict.
    pub fn when_choices(&self, scope: &Scope) -> Option<&[When]> {
        self.when_conflicts.get(scope).map(Vec::as_slice)
    }

    pub fn has_conflict(&self) -> bool {
        !self.when_conflicts.is_empty()
    }
}

/// Is `uid` usable: 1 to 255 characters, no control characters?
pub fn valid_uid(uid: &str) -> bool {
    !uid.is_empty() && uid.chars().count() <= 255 && !uid.chars().any(char::is_control)
}

/// A fresh UID from 128 random bits the caller drew (the crate draws no
/// random numbers), in UUID form: `3f2b…-…@concord`.
pub fn new_uid(random: u128) -> String {
    let hex = format!("{random:032x}");
    format!(
        "{}-{}-{}-{}-{}@concord",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_look_like_uuids() {
        assert_eq!(new_uid(0), "00000000-0000-0000-0000-000000000000@concord");
        assert_eq!(
            new_uid(u128::MAX - 1),
            "ffffffff-ffff-ffff-ffff-fffffffffffe@concord"
        );
    }
}

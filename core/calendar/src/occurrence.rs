//! One appearance of an event on the calendar, and how occurrences of a
//! repeating event are named.
//!
//! An occurrence is named by its *original* start (`OccurrenceKey`, like
//! iCalendar's RECURRENCE-ID): moving one occurrence does not rename it, and
//! changes to different occurrences live under different keys, so two
//! devices editing two occurrences never touch the same value.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::when::{When, resolve_local};

const INSTANT_KEY: &str = "%Y%m%dT%H%M%SZ";
const DATE_KEY: &str = "%Y%m%d";

/// The original start of an occurrence: `20260504T070000Z` (timed, UTC) or
/// `20260504` (all-day).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OccurrenceKey(String);

impl OccurrenceKey {
    /// The key of the occurrence that originally starts where `when` does.
    pub fn of(when: &When) -> Self {
        match (when.instants(), when.dates()) {
            (Some((start, _)), _) => OccurrenceKey(start.format(INSTANT_KEY).to_string()),
            (None, Some((start, _))) => OccurrenceKey(start.format(DATE_KEY).to_string()),
            (None, None) => unreachable!("a When is timed or all-day"),
        }
    }

    /// Reads a key; `None` unless it is in canonical form.
    pub fn parse(s: &str) -> Option<Self> {
        let key = match s.len() {
            16 => OccurrenceKey::from_instant(
                NaiveDateTime::parse_from_str(s, INSTANT_KEY)
                    .ok()?
                    .and_utc(),
            ),
            8 => OccurrenceKey::from_date(NaiveDate::parse_from_str(s, DATE_KEY).ok()?),
            _ => return None,
        };
        (key.0 == s).then_some(key)
    }

    pub fn from_instant(start: DateTime<Utc>) -> Self {
        OccurrenceKey(start.format(INSTANT_KEY).to_string())
    }

    pub fn from_date(start: NaiveDate) -> Self {
        OccurrenceKey(start.format(DATE_KEY).to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The original start instant (timed occurrences).
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        NaiveDateTime::parse_from_str(&self.0, INSTANT_KEY)
            .ok()
            .map(|t| t.and_utc())
    }

    /// The original start date (all-day occurrences).
    pub fn date(&self) -> Option<NaiveDate> {
        if self.0.len() != 8 {
            return None;
        }
        NaiveDate::parse_from_str(&self.0, DATE_KEY).ok()
    }

    /// The day the occurrence originally started on, in `zone` (all-day:
    /// its date).
    pub(crate) fn local_date(&self, zone: Option<Tz>) -> Option<NaiveDate> {
        match (self.instant(), zone) {
            (Some(t), Some(z)) => Some(t.with_timezone(&z).date_naive()),
            (Some(t), None) => Some(t.date_naive()),
            (None, _) => self.date(),
        }
    }

    /// The key of the same occurrence after the whole series moved by
    /// `days` calendar days (wall-clock time kept in `zone`).
    pub(crate) fn shifted_days(&self, days: i64, zone: Option<Tz>) -> Option<Self> {
        if let Some(d) = self.date() {
            return Some(OccurrenceKey::from_date(
                d.checked_add_signed(Duration::try_days(days)?)?,
            ));
        }
        let t = self.instant()?;
        let zone = zone.unwrap_or(Tz::UTC);
        let local = t
            .with_timezone(&zone)
            .naive_local()
            .checked_add_signed(Duration::try_days(days)?)?;
        resolve_local(zone, local).map(OccurrenceKey::from_instant)
    }
}

impl fmt::Display for OccurrenceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an edit applies to: the whole event, or one occurrence of a
/// repeating event.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Series,
    Occurrence(OccurrenceKey),
}

/// One appearance of an event in a range of days: what a week or month
/// view draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub uid: String,
    /// The original start (also the key of an unrepeated event's only
    /// occurrence).
    pub key: OccurrenceKey,
    /// What an edit of this occurrence applies to: `Series` for an event
    /// that does not repeat, this occurrence alone for one that does.
    pub scope: Scope,
    /// The span after changes to this occurrence.
    pub when: When,
    /// Wall-clock start and end in the display zone (all-day: midnight of
    /// the first day and midnight after the last).
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub all_day: bool,
    pub title: String,
    pub location: String,
    pub colour: Option<String>,
    pub recurring: bool,
    /// Set when two devices changed the time concurrently: the scope in
    /// conflict (this occurrence, or the whole series).
    /// `Event::when_choices(scope)` lists the candidates; writing the one
    /// picked with `CalendarTx::set_when(scope, ..)` resolves it.
    pub conflict: Option<Scope>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_only_in_canonical_form() {
        assert!(OccurrenceKey::parse("20260504T070000Z").is_some());
        assert!(OccurrenceKey::parse("20260504").is_some());
        for bad in [
            "",
            "2026054",
            "20260504T0700Z",
            "20261304",
            "2026-05-04",
            "20260504t070000z",
        ] {
            assert_eq!(OccurrenceKey::parse(bad), None, "{bad}");
        }
    }
}

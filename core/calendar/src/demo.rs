//! The demo calendar a new user sees: `assets/demo-calendar.ics` (written
//! for Concord), moved so its week is the current one.

use chrono::{Datelike, Duration, NaiveDate};
use chrono_tz::Tz;

use crate::error::{CalendarError, IcsError};
use crate::ics::{ImportedCalendar, parse_ics};

/// The demo file. Its events lie in one week (Monday to Sunday); floating
/// times are read in the user's zone, so the stand-up is at 09:30 wherever
/// one is, while the call with New York keeps New York's time.
pub const DEMO_ICS: &str = include_str!("../../../assets/demo-calendar.ics");

/// Errors of `demo_calendar` (only a broken demo file could cause one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Ics(#[from] IcsError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

/// The demo calendar with its week moved to the week of `today`, floating
/// times in `zone`. Write it with `ImportedCalendar::write`.
pub fn demo_calendar(today: NaiveDate, zone: Tz) -> Result<ImportedCalendar, DemoError> {
    let mut demo = parse_ics(DEMO_ICS, zone)?;
    let first = demo
        .events
        .iter()
        .map(|e| e.when.local_start(e.when.zone().unwrap_or(zone)).date())
        .min();
    if let Some(first) = first {
        let days = (monday(today) - monday(first)).num_days();
        demo.shift_days(days)?;
    }
    Ok(demo)
}

/// The Monday of the week of `day`.
pub fn monday(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

//! Turning a drag's new wall-clock span into the `When` to store: the
//! event keeps the zone it was created in (and stays all-day if it was),
//! and a repeating series moves by what its dragged occurrence moved.

use chrono::{Duration, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use concord_calendar::when::resolve_local;
use concord_calendar::{CalendarError, When};

/// `when` given the new span `[start, end)` in wall-clock time of
/// `display`. All-day spans become whole days (an end inside a day covers
/// that day).
pub fn retimed(
    when: &When,
    start: NaiveDateTime,
    end: NaiveDateTime,
    display: Tz,
) -> Result<When, CalendarError> {
    if let Some(zone) = when.zone() {
        let s = resolve_local(display, start).ok_or(CalendarError::OutOfRange)?;
        let e = resolve_local(display, end).ok_or(CalendarError::OutOfRange)?;
        return When::timed(s, e, zone);
    }
    let mut last = end.date();
    if end.time() != NaiveTime::MIN {
        last = last.succ_opt().ok_or(CalendarError::OutOfRange)?;
    }
    When::all_day(start.date(), last.max(start.date() + Duration::days(1)))
}

/// The series' own `When` after one of its occurrences went from
/// `occurrence` to `moved`: the start moves by as much, the length becomes
/// the moved occurrence's.
pub fn series_after(series: &When, occurrence: &When, moved: &When) -> Result<When, CalendarError> {
    match (series.instants(), occurrence.instants(), moved.instants()) {
        (Some((s, _)), Some((o, _)), Some((m, m_end))) => {
            let start = s + (m - o);
            When::timed(start, start + (m_end - m), series.zone().unwrap_or(Tz::UTC))
        }
        _ => match (series.dates(), occurrence.dates(), moved.dates()) {
            (Some((s, _)), Some((o, _)), Some((m, m_end))) => {
                let start = s + (m - o);
                When::all_day(start, start + (m_end - m))
            }
            _ => Err(CalendarError::OutOfRange),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    #[test]
    fn a_timed_event_keeps_its_zone() {
        let ny = tz("America/New_York");
        let berlin = tz("Europe/Berlin");
        let when = When::timed_local(at(2, 9, 0), at(2, 10, 0), ny).unwrap();
        // Dragged in a Berlin view to 18:00–19:30 Berlin time.
        let moved = retimed(&when, at(3, 18, 0), at(3, 19, 30), berlin).unwrap();
        assert_eq!(moved.zone(), Some(ny));
        assert_eq!(moved.local_start(berlin), at(3, 18, 0));
        assert_eq!(moved.local_start(ny), at(3, 12, 0));
        assert_eq!(moved.duration(), Duration::minutes(90));
    }

    #[test]
    fn an_all_day_event_stays_whole_days() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        let when = When::all_day(d(2), d(4)).unwrap();
        let moved = retimed(&when, at(5, 0, 0), at(7, 0, 0), Tz::UTC).unwrap();
        assert_eq!(moved.dates(), Some((d(5), d(7))));
        let pulled = retimed(&when, at(2, 0, 0), at(5, 13, 0), Tz::UTC).unwrap();
        assert_eq!(pulled.dates(), Some((d(2), d(6))));
    }

    #[test]
    fn a_series_follows_its_dragged_occurrence() {
        let z = tz("Europe/Berlin");
        let series = When::timed_local(at(2, 9, 0), at(2, 10, 0), z).unwrap();
        let third = When::timed_local(at(4, 9, 0), at(4, 10, 0), z).unwrap();
        let moved = When::timed_local(at(4, 11, 30), at(4, 13, 0), z).unwrap();
        let after = series_after(&series, &third, &moved).unwrap();
        assert_eq!(after.local_start(z), at(2, 11, 30));
        assert_eq!(after.local_end(z), at(2, 13, 0));
        assert_eq!(after.zone(), Some(z));
    }
}

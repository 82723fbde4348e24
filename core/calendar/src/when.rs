//! When an event happens: one value holding start and end together.
//!
//! A `When` is stored as ONE last-writer-wins value, so a merge of two
//! concurrent moves picks (or shows) whole values and can never combine one
//! device's start with another's end. Every constructor checks
//! `end > start`, and decoding a stored value checks it again, so a `When`
//! that ends before it starts cannot exist — not even one written by a
//! misbehaving replica.

use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    SubsecRound, TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::error::CalendarError;

/// The years a `When` may fall in (four-digit years, as iCalendar writes them).
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// The time span of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct When {
    span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Span {
    /// Two instants and the IANA zone the event was created in (recurrences
    /// repeat at the same wall-clock time in that zone).
    Timed {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        zone: Tz,
    },
    /// Whole days, the end exclusive: the same dates in every zone.
    AllDay { start: NaiveDate, end: NaiveDate },
}

impl When {
    /// A timed span between two instants, created in `zone`. Sub-second
    /// parts are dropped (iCalendar has none).
    pub fn timed(
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        zone: Tz,
    ) -> Result<When, CalendarError> {
        let (start, end) = (start.trunc_subsecs(0), end.trunc_subsecs(0));
        if !YEARS.contains(&start.year()) || !YEARS.contains(&end.year()) {
            return Err(CalendarError::OutOfRange);
        }
        if end <= start {
            return Err(CalendarError::EndNotAfterStart);
        }
        Ok(When {
            span: Span::Timed { start, end, zone },
        })
    }

    /// A timed span given as wall-clock times in `zone` (what a calendar
    /// view has). A time that does not exist in the zone (skipped by a
    /// daylight-saving change) is read with the offset before the gap, as
    /// RFC 5545 says; a repeated one is the first of the two.
    pub fn timed_local(
        start: NaiveDateTime,
        end: NaiveDateTime,
        zone: Tz,
    ) -> Result<When, CalendarError> {
        let start = resolve_local(zone, start).ok_or(CalendarError::OutOfRange)?;
        let end = resolve_local(zone, end).ok_or(CalendarError::OutOfRange)?;
        When::timed(start, end, zone)
    }

    /// Whole days from `start` up to, not including, `end`.
    pub fn all_day(start: NaiveDate, end: NaiveDate) -> Result<When, CalendarError> {
        if !YEARS.contains(&start.year()) || !YEARS.contains(&end.year()) {
            return Err(CalendarError::OutOfRange);
        }
        if end <= start {
            return Err(CalendarError::EndNotAfterStart);
        }
        Ok(When {
            span: Span::AllDay { start, end },
        })
    }

    pub fn is_all_day(&self) -> bool {
        matches!(self.span, Span::AllDay { .. })
    }

    /// The zone a timed event was created in (`None` for all-day events).
    pub fn zone(&self) -> Option<Tz> {
        match self.span {
            Span::Timed { zone, .. } => Some(zone),
            Span::AllDay { .. } => None,
        }
    }

    /// Start and end instants of a timed event.
    pub fn instants(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match self.span {
            Span::Timed { start, end, .. } => Some((start, end)),
            Span::AllDay { .. } => None,
        }
    }

    /// First day and the day after the last of an all-day event.
    pub fn dates(&self) -> Option<(NaiveDate, NaiveDate)> {
        match self.span {
            Span::AllDay { start, end } => Some((start, end)),
            Span::Timed { .. } => None,
        }
    }

    /// The start as a wall-clock time in `display` (all-day: midnight of
    /// the first day, in any zone).
    pub fn local_start(&self, display: Tz) -> NaiveDateTime {
        match self.span {
            Span::Timed { start, .. } => start.with_timezone(&display).naive_local(),
            Span::AllDay { start, .. } => start.and_time(NaiveTime::MIN),
        }
    }

    /// The end as a wall-clock time in `display` (all-day: midnight after
    /// the last day).
    pub fn local_end(&self, display: Tz) -> NaiveDateTime {
        match self.span {
            Span::Timed { end, .. } => end.with_timezone(&display).naive_local(),
            Span::AllDay { end, .. } => end.and_time(NaiveTime::MIN),
        }
    }

    /// How long it lasts (all-day: whole days).
    pub fn duration(&self) -> Duration {
        match self.span {
            Span::Timed { start, end, .. } => end - start,
            Span::AllDay { start, end } => end - start,
        }
    }

    /// The same span moved by `by` (whole days for an all-day event: the
    /// part below a day is dropped). What dragging an event does.
    pub fn moved_by(&self, by: Duration) -> Result<When, CalendarError> {
        match self.span {
            Span::Timed { start, end, zone } => When::timed(
                start
                    .checked_add_signed(by)
                    .ok_or(CalendarError::OutOfRange)?,
                end.checked_add_signed(by)
                    .ok_or(CalendarError::OutOfRange)?,
                zone,
            ),
            Span::AllDay { start, end } => {
                let days = Duration::days(by.num_days());
                When::all_day(
                    start
                        .checked_add_signed(days)
                        .ok_or(CalendarError::OutOfRange)?,
                    end.checked_add_signed(days)
                        .ok_or(CalendarError::OutOfRange)?,
                )
            }
        }
    }

    /// The same start with a new end given as a wall-clock time in
    /// `display` (what dragging the bottom edge in a view does). All-day:
    /// the end is the midnight at or after `end` (the end stays exclusive).
    pub fn resized(&self, end: NaiveDateTime, display: Tz) -> Result<When, CalendarError> {
        match self.span {
            Span::Timed { start, zone, .. } => When::timed(
                start,
                resolve_local(display, end).ok_or(CalendarError::OutOfRange)?,
                zone,
            ),
            Span::AllDay { start, .. } => {
                let mut last = end.date();
                if end.time() != NaiveTime::MIN {
                    last = last.succ_opt().ok_or(CalendarError::OutOfRange)?;
                }
                When::all_day(start, last)
            }
        }
    }

    /// The same span moved by whole calendar days, keeping the wall-clock
    /// time in the event's own zone (so 09:00 stays 09:00 across a
    /// daylight-saving change).
    pub fn shifted_days(&self, days: i64) -> Result<When, CalendarError> {
        match self.span {
            Span::Timed { start, end, zone } => {
                let shift = |t: DateTime<Utc>| {
                    let local = t.with_timezone(&zone).naive_local();
                    local
                        .checked_add_signed(Duration::days(days))
                        .and_then(|l| resolve_local(zone, l))
                        .ok_or(CalendarError::OutOfRange)
                };
                let new_start = shift(start)?;
                When::timed(new_start, new_start + (end - start), zone)
            }
            Span::AllDay { .. } => self.moved_by(Duration::days(days)),
        }
    }

    /// The canonical stored form (one map value).
    pub(crate) fn encode(&self) -> String {
        match self.span {
            Span::Timed { start, end, zone } => format!(
                "timed {} {} {}",
                start.format(INSTANT_FORMAT),
                end.format(INSTANT_FORMAT),
                zone.name()
            ),
            Span::AllDay { start, end } => format!(
                "dates {} {}",
                start.format(DATE_FORMAT),
                end.format(DATE_FORMAT)
            ),
        }
    }

    /// Reads a stored value; `None` for anything that is not a valid `When`
    /// in canonical form.
    pub(crate) fn decode(s: &str) -> Option<When> {
        let parts: Vec<&str> = s.split(' ').collect();
        let when = match parts.as_slice() {
            ["timed", start, end, zone] => When::timed(
                parse_instant(start)?,
                parse_instant(end)?,
                zone.parse::<Tz>().ok()?,
            )
            .ok()?,
            ["dates", start, end] => When::all_day(
                NaiveDate::parse_from_str(start, DATE_FORMAT).ok()?,
                NaiveDate::parse_from_str(end, DATE_FORMAT).ok()?,
            )
            .ok()?,
            _ => return None,
        };
        (when.encode() == s).then_some(when)
    }

    /// A short human label in `display`, e.g. "Tue 5 May, 09:00–10:30" or
    /// "Tue 5 May – Thu 7 May (all day)": what a conflict picker shows.
    pub fn label(&self, display: Tz) -> String {
        match self.span {
            Span::Timed { .. } => {
                let (s, e) = (self.local_start(display), self.local_end(display));
                if s.date() == e.date() {
                    format!(
                        "{}, {}–{}",
                        s.format("%a %-d %b"),
                        s.format("%H:%M"),
                        e.format("%H:%M")
                    )
                } else {
                    format!(
                        "{} – {}",
                        s.format("%a %-d %b, %H:%M"),
                        e.format("%a %-d %b, %H:%M")
                    )
                }
            }
            Span::AllDay { start, end } => {
                let last = end.pred_opt().unwrap_or(end);
                if last == start {
                    format!("{} (all day)", start.format("%a %-d %b"))
                } else {
                    format!(
                        "{} – {} (all day)",
                        start.format("%a %-d %b"),
                        last.format("%a %-d %b")
                    )
                }
            }
        }
    }
}

impl When {
    /// The key of `Ord`: all-day before timed, then by start, end, zone.
    fn order_key(&self) -> (u8, i64, i64, &'static str) {
        match self.span {
            Span::AllDay { start, end } => (
                0,
                i64::from(start.num_days_from_ce()),
                i64::from(end.num_days_from_ce()),
                "",
            ),
            Span::Timed { start, end, zone } => {
                (1, start.timestamp(), end.timestamp(), zone.name())
            }
        }
    }
}

/// A total order (so `When`s can be kept in sorted sets): all-day spans
/// first, then by start, end and zone name.
impl Ord for When {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.order_key().cmp(&other.order_key())
    }
}

impl PartialOrd for When {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

const INSTANT_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";
const DATE_FORMAT: &str = "%Y-%m-%d";

fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, INSTANT_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

/// The instant of wall-clock time `local` in `zone`. Repeated times (clocks
/// turned back) are the first; skipped times (clocks turned forward) are
/// read with the offset before the gap (RFC 5545 §3.3.5), so 02:30 on the
/// night the clocks jump from 02:00 to 03:00 is 03:30.
pub fn resolve_local(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => {
            let before = local.checked_sub_signed(Duration::days(1))?;
            let offset = zone.offset_from_utc_datetime(&before).fix();
            let utc =
                local.checked_sub_signed(Duration::seconds(i64::from(offset.local_minus_utc())))?;
            Some(utc.and_utc())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    #[test]
    fn end_must_follow_start() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let t = at("2026-05-04T09:00:00Z");
        assert_eq!(
            When::timed(t, t, berlin),
            Err(CalendarError::EndNotAfterStart)
        );
        assert_eq!(
            When::timed(t, t - Duration::hours(1), berlin),
            Err(CalendarError::EndNotAfterStart)
        );
        let d = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        assert_eq!(When::all_day(d, d), Err(CalendarError::EndNotAfterStart));
        assert!(When::all_day(d, d.succ_opt().unwrap()).is_ok());
    }

    #[test]
    fn stored_form_round_trips_and_rejects_anything_else() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let w = When::timed(
            at("2026-05-04T07:00:00Z"),
            at("2026-05-04T08:30:00Z"),
            berlin,
        )
        .unwrap();
        assert_eq!(
            w.encode(),
            "timed 2026-05-04T07:00:00Z 2026-05-04T08:30:00Z Europe/Berlin"
        );
        assert_eq!(When::decode(&w.encode()), Some(w));
        let d = When::all_day(
            NaiveDate::from_ymd_opt(2026, 5, 4).unwrap(),
            NaiveDate::from_ymd_opt(2026, 5, 6).unwrap(),
        )
        .unwrap();
        assert_eq!(When::decode(&d.encode()), Some(d));
        for bad in [
            "",
            "timed",
            "timed 2026-05-04T08:00:00Z 2026-05-04T07:00:00Z UTC",
            "timed 2026-05-04T07:00:00Z 2026-05-04T08:00:00Z Mars/Olympus",
            "timed 2026-05-04T07:00:00Z  2026-05-04T08:00:00Z UTC",
            "dates 2026-05-06 2026-05-04",
            "dates 2026-5-4 2026-05-06",
            "dates 2026-05-04 2026-05-06 extra",
        ] {
            assert_eq!(When::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn labels_for_a_conflict_picker() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let w = When::timed(
            at("2026-05-05T07:00:00Z"),
            at("2026-05-05T08:30:00Z"),
            berlin,
        )
        .unwrap();
        assert_eq!(w.label(berlin), "Tue 5 May, 09:00–10:30");
        assert_eq!(w.label(Tz::UTC), "Tue 5 May, 07:00–08:30");
        let night = w.resized(
            NaiveDate::from_ymd_opt(2026, 5, 6)
                .unwrap()
                .and_hms_opt(1, 0, 0)
                .unwrap(),
            berlin,
        );
        assert_eq!(
            night.unwrap().label(berlin),
            "Tue 5 May, 09:00 – Wed 6 May, 01:00"
        );
        let d = |day| NaiveDate::from_ymd_opt(2026, 5, day).unwrap();
        assert_eq!(
            When::all_day(d(5), d(6)).unwrap().label(berlin),
            "Tue 5 May (all day)"
        );
        assert_eq!(
            When::all_day(d(5), d(8)).unwrap().label(berlin),
            "Tue 5 May – Thu 7 May (all day)"
        );
    }

    #[test]
    fn skipped_and_repeated_wall_clock_times() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-03-29: clocks go from 02:00 to 03:00 in Berlin.
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(resolve_local(berlin, gap), Some(at("2026-03-29T01:30:00Z")));
        // 2026-10-25: 02:30 happens twice; the first is in summer time.
        let twice = NaiveDate::from_ymd_opt(2026, 10, 25)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            resolve_local(berlin, twice),
            Some(at("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn shifting_by_days_keeps_the_wall_clock_time_across_dst() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Friday 27 March 2026, 09:00 CET; a week later it is CEST.
        let w = When::timed(
            at("2026-03-27T08:00:00Z"),
            at("2026-03-27T09:00:00Z"),
            berlin,
        )
        .unwrap();
        let next = w.shifted_days(7).unwrap();
        assert_eq!(next.instants().unwrap().0, at("2026-04-03T07:00:00Z"));
        assert_eq!(next.duration(), Duration::hours(1));
        assert_eq!(
            next.local_start(berlin).format("%H:%M").to_string(),
            "09:00"
        );
    }
}

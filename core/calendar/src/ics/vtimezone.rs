//! VTIMEZONE components for the zones a file uses, built from chrono-tz's
//! offsets for the years the file spans, so that a program that does not
//! know IANA names (Outlook) reads the same instants.
//!
//! The zone's offset is sampled day by day and every change is found to
//! the second. Changes that repeat yearly on the same numbered weekday of
//! the same month at the same wall-clock time (`-1SU` of March at 02:00)
//! become one STANDARD or DAYLIGHT with a yearly RRULE, open-ended when it
//! is still in force at the end of the span, as Google and Thunderbird
//! write them; any other change is one observance of its own.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

/// At most this many years are sampled for one zone (day by day); times
/// before them read with the first observance.
const MAX_YEARS: i32 = 400;

/// The zone's offset at some instant: what an observance declares.
#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    /// Seconds east of UTC.
    offset: i32,
    daylight: bool,
    name: String,
}

impl State {
    fn at(zone: Tz, t: DateTime<Utc>) -> State {
        let offset = zone.offset_from_utc_datetime(&t.naive_utc());
        State {
            offset: offset.fix().local_minus_utc(),
            daylight: offset.dst_offset() != Duration::zero(),
            name: offset.abbreviation().unwrap_or_default().to_owned(),
        }
    }

    fn kind(&self) -> &'static str {
        if self.daylight {
            "DAYLIGHT"
        } else {
            "STANDARD"
        }
    }
}

/// One change of offset.
#[derive(Clone, Debug)]
struct Transition {
    at: DateTime<Utc>,
    from: State,
    to: State,
}

impl Transition {
    /// The wall-clock time of the change, before it (how DTSTART of an
    /// observance is written).
    fn onset(&self) -> NaiveDateTime {
        self.at.naive_utc() + Duration::seconds(i64::from(self.from.offset))
    }

    /// The numbered weekdays of the month its onset is: from the start and
    /// from the end (`2SU`, `-1SU`).
    fn positions(&self) -> BTreeSet<i8> {
        let day = self.onset().date();
        let length = days_in_month(day);
        let from_start = ((day.day() - 1) / 7 + 1) as i8;
        let from_end = -(((length - day.day()) / 7 + 1) as i8);
        BTreeSet::from([from_start, from_end])
    }

    /// What must be equal for changes to be one yearly rule.
    fn signature(&self) -> (State, State, u32, chrono::Weekday, chrono::NaiveTime) {
        let onset = self.onset();
        (
            self.from.clone(),
            self.to.clone(),
            onset.month(),
            onset.weekday(),
            onset.time(),
        )
    }
}

/// Changes that follow one yearly rule, one per year.
#[derive(Debug)]
struct Run {
    first: Transition,
    last: Transition,
    members: usize,
    /// The numbered weekdays every member is on.
    positions: BTreeSet<i8>,
}

/// A VTIMEZONE for `zone` (content lines with CRLF) valid for the wall
/// clock years `first_year ..= last_year`.
pub(crate) fn vtimezone(zone: Tz, first_year: i32, last_year: i32) -> String {
    let last_year = last_year.max(first_year).saturating_add(1).min(9999);
    let first_year = first_year.max(last_year - MAX_YEARS).max(1);
    let day_one = |year: i32| {
        NaiveDate::from_ymd_opt(year, 1, 1).map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
    };
    let (Some(from), Some(to)) = (day_one(first_year), day_one(last_year + 1)) else {
        return String::new();
    };
    // A day either side, so no offset can move a wall-clock year's edge
    // out of the sampled instants.
    let from = from.and_utc() - Duration::days(1);
    let to = to.and_utc() + Duration::days(1);
    let changes = transitions(zone, from, to);
    let runs = runs(&changes);

    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push_str("\r\n");
    };
    line("BEGIN:VTIMEZONE".into());
    line(format!("TZID:{}", zone.name()));
    line(format!("X-LIC-LOCATION:{}", zone.name()));
    // What is in force at the start of the span.
    let initial = State::at(zone, from);
    let start = from.naive_utc() + Duration::seconds(i64::from(initial.offset));
    observance(&mut line, &initial, &initial, start, None);
    for run in &runs {
        let rule = (run.members > 1).then(|| {
            let nth = if run.positions.contains(&-1) {
                -1
            } else {
                *run.positions.iter().next_back().unwrap_or(&1)
            };
            let onset = run.first.onset();
            let mut rule = format!(
                "FREQ=YEARLY;BYMONTH={};BYDAY={nth}{}",
                onset.month(),
                weekday_code(onset.weekday())
            );
            // Still in force at the end of the span: open-ended.
            if run.last.onset().year() < last_year {
                let _ = write!(rule, ";UNTIL={}", run.last.at.format("%Y%m%dT%H%M%SZ"));
            }
            rule
        });
        observance(
            &mut line,
            &run.first.from,
            &run.first.to,
            run.first.onset(),
            rule,
        );
    }
    line("END:VTIMEZONE".into());
    out
}

fn observance(
    line: &mut impl FnMut(String),
    from: &State,
    to: &State,
    start: NaiveDateTime,
    rule: Option<String>,
) {
    line(format!("BEGIN:{}", to.kind()));
    line(format!("DTSTART:{}", start.format("%Y%m%dT%H%M%S")));
    if let Some(rule) = rule {
        line(format!("RRULE:{rule}"));
    }
    line(format!("TZOFFSETFROM:{}", utc_offset(from.offset)));
    line(format!("TZOFFSETTO:{}", utc_offset(to.offset)));
    let name: String = to
        .name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-'))
        .collect();
    if !name.is_empty() {
        line(format!("TZNAME:{name}"));
    }
    line(format!("END:{}", to.kind()));
}

/// Every change of offset in `from .. to`, found to the second.
fn transitions(zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Transition> {
    let mut out = Vec::new();
    let mut t = from;
    let mut state = State::at(zone, t);
    while t < to {
        let next = (t + Duration::days(1)).min(to);
        if State::at(zone, next) == state {
            t = next;
            continue;
        }
        // The state at `lo` is `state`, at `hi` it is not (whole seconds).
        let (mut lo, mut hi) = (t.timestamp(), next.timestamp());
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap_or(t);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if State::at(zone, at(mid)) == state {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let hi = at(hi);
        let changed = State::at(zone, hi);
        out.push(Transition {
            at: hi,
            from: state,
            to: changed.clone(),
        });
        state = changed;
        t = hi;
    }
    out
}

/// The changes grouped into yearly rules, in the order of their first.
fn runs(changes: &[Transition]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for change in changes {
        let year = change.onset().year();
        let positions = change.positions();
        let open = runs.iter_mut().find(|run| {
            run.last.onset().year() + 1 == year
                && run.last.signature() == change.signature()
                && !run.positions.is_disjoint(&positions)
        });
        match open {
            Some(run) => {
                run.positions = run.positions.intersection(&positions).copied().collect();
                run.last = change.clone();
                run.members += 1;
            }
            None => runs.push(Run {
                first: change.clone(),
                last: change.clone(),
                members: 1,
                positions,
            }),
        }
    }
    runs
}

/// `+0100`, `-0330`, `+005328` (seconds only when there are some).
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

fn days_in_month(day: NaiveDate) -> u32 {
    let (y, m) = (day.year(), day.month());
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    next.and_then(|d| d.pred_opt()).map_or(31, |d| d.day())
}

fn weekday_code(d: chrono::Weekday) -> &'static str {
    match d {
        chrono::Weekday::Mon => "MO",
        chrono::Weekday::Tue => "TU",
        chrono::Weekday::Wed => "WE",
        chrono::Weekday::Thu => "TH",
        chrono::Weekday::Fri => "FR",
        chrono::Weekday::Sat => "SA",
        chrono::Weekday::Sun => "SU",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_is_two_yearly_rules_after_the_state_at_the_start() {
        let text = vtimezone(chrono_tz::Europe::Berlin, 2026, 2027);
        let expected = [
            "BEGIN:VTIMEZONE",
            "TZID:Europe/Berlin",
            "X-LIC-LOCATION:Europe/Berlin",
            "BEGIN:STANDARD",
            "DTSTART:20251231T010000",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0100",
            "TZNAME:CET",
            "END:STANDARD",
            "BEGIN:DAYLIGHT",
            "DTSTART:20260329T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "TZNAME:CEST",
            "END:DAYLIGHT",
            "BEGIN:STANDARD",
            "DTSTART:20261025T030000",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "TZNAME:CET",
            "END:STANDARD",
            "END:VTIMEZONE",
        ];
        assert_eq!(text.split("\r\n").collect::<Vec<_>>()[..24], expected);
    }

    #[test]
    fn a_rule_that_changed_ends_with_until() {
        // The US moved its dates in 2007: last Sunday of October until
        // 2006, first Sunday of November since.
        let text = vtimezone(chrono_tz::America::New_York, 2005, 2008);
        assert!(
            text.contains("DTSTART:20051030T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=20061029T060000Z\r\n"),
            "{text}"
        );
        assert!(
            text.contains("DTSTART:20071104T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n"),
            "{text}"
        );
        assert!(
            text.contains("DTSTART:20070311T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n"),
            "{text}"
        );
    }

    #[test]
    fn offsets_are_written_with_seconds_only_when_needed() {
        assert_eq!(utc_offset(3600), "+0100");
        assert_eq!(utc_offset(-12600), "-0330");
        assert_eq!(utc_offset(3208), "+005328");
        let tokyo = vtimezone(chrono_tz::Asia::Tokyo, 2026, 2027);
        assert_eq!(tokyo.matches("BEGIN:STANDARD").count(), 1);
        assert!(!tokyo.contains("DAYLIGHT"));
    }
}

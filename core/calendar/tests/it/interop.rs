//! Calendars as other programs write them: Google Calendar, Apple
//! (iCloud), Outlook/Exchange, Thunderbird, and RFC 5545's own recurrence
//! examples (`tests/fixtures/*.ics`, written by hand from RFC 5545 and
//! the producers' documented output). Each is imported, every occurrence
//! of 2026 and 2027 is checked against `<name>.expected` (computed by
//! `fixtures/expect.py` with python-dateutil and zoneinfo, an expansion
//! that shares no code with ours), exported, imported again and checked
//! again; the VTIMEZONEs the export writes are read back with a small
//! interpreter of their own and must agree with chrono-tz at every hour.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use concord_calendar::{Calendar, ImportedCalendar, export_ics, parse_ics};
use concord_core::{Document, ReplicaId};

use crate::support::date;

/// (name, file, expected occurrences, the zone floating times are read in).
const FIXTURES: [(&str, &str, &str, Tz); 5] = [
    (
        "google",
        include_str!("../fixtures/google.ics"),
        include_str!("../fixtures/google.expected"),
        chrono_tz::Europe::Berlin,
    ),
    (
        "icloud",
        include_str!("../fixtures/icloud.ics"),
        include_str!("../fixtures/icloud.expected"),
        chrono_tz::Europe::London,
    ),
    (
        "outlook",
        include_str!("../fixtures/outlook.ics"),
        include_str!("../fixtures/outlook.expected"),
        chrono_tz::Europe::Berlin,
    ),
    (
        "thunderbird",
        include_str!("../fixtures/thunderbird.ics"),
        include_str!("../fixtures/thunderbird.expected"),
        chrono_tz::Europe::Berlin,
    ),
    (
        "rfc5545",
        include_str!("../fixtures/rfc5545.ics"),
        include_str!("../fixtures/rfc5545.expected"),
        chrono_tz::America::New_York,
    ),
];

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

fn document(imported: &ImportedCalendar) -> Document {
    let mut doc = Document::new(ReplicaId(3));
    imported.write(&mut doc.transaction(), "fixture").unwrap();
    doc
}

/// Every occurrence overlapping 2026 and 2027 (UTC), one line each,
/// sorted: `uid|original start|span|title`.
fn occurrences(doc: &Document) -> Vec<String> {
    let mut lines: Vec<String> = Calendar::open(doc)
        .unwrap()
        .occurrences(date(2026, 1, 1), date(2028, 1, 1), Tz::UTC)
        .into_iter()
        .map(|o| format!("{}|{}|{}|{}", o.uid, o.key, o.when, o.title))
        .collect();
    lines.sort();
    lines
}

/// The first line where `got` and `expected` differ, for a readable failure.
fn first_difference(got: &[String], expected: &[&str]) -> String {
    let at = got
        .iter()
        .zip(expected)
        .position(|(g, e)| g != e)
        .unwrap_or(got.len().min(expected.len()));
    format!(
        "{} lines, {} expected; first difference at {at}:\n got      {:?}\n expected {:?}",
        got.len(),
        expected.len(),
        got.get(at),
        expected.get(at)
    )
}

#[test]
fn every_occurrence_of_two_years_matches_an_independent_expansion_before_and_after_a_round_trip() {
    let mut checked = 0;
    for (name, text, expected, zone) in FIXTURES {
        let expected: Vec<&str> = expected.lines().collect();
        let imported = parse_ics(text, zone).unwrap();
        assert_eq!(imported.warnings, [], "{name}");
        let doc = document(&imported);
        let first = occurrences(&doc);
        assert!(
            first == expected,
            "{name}: {}",
            first_difference(&first, &expected)
        );

        // Exported and read back in another zone: nothing may float.
        let exported = export_ics(&Calendar::open(&doc).unwrap(), now());
        let again = parse_ics(&exported, chrono_tz::Asia::Tokyo).unwrap();
        assert_eq!(again.warnings, [], "{name}");
        assert_eq!(again.events.len(), imported.events.len(), "{name}");
        let copy = document(&again);
        let second = occurrences(&copy);
        assert!(
            second == expected,
            "{name} after a round trip: {}",
            first_difference(&second, &expected)
        );
        // And the export of the copy is the same file.
        assert_eq!(
            export_ics(&Calendar::open(&copy).unwrap(), now()),
            exported,
            "{name}"
        );
        checked += expected.len();
    }
    assert_eq!(checked, 2349, "occurrences checked, twice each");
}

#[test]
fn every_rule_part_of_the_fixtures_is_written_back() {
    let exported: Vec<String> = FIXTURES
        .iter()
        .map(|(_, text, _, zone)| {
            export_ics(
                &Calendar::open(&document(&parse_ics(text, *zone).unwrap())).unwrap(),
                now(),
            )
        })
        .collect();
    let all = exported.concat();
    for line in [
        "RRULE:FREQ=MONTHLY;BYDAY=2TU\r\n",
        "RRULE:FREQ=MONTHLY;BYDAY=-1FR\r\n",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU\r\n",
        "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1\r\n",
        "RRULE:FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2\r\n",
        "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH\r\n",
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1\r\n",
        "RRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=10\r\n",
        "RRULE:FREQ=YEARLY;INTERVAL=2;BYMONTH=11;BYMONTHDAY=2,3,4,5,6,7,8;BYDAY=TU\r\n",
        "RDATE;TZID=Europe/Berlin:20260415T190000\r\n",
        "RDATE;VALUE=DATE:20260305\r\n",
        "RDATE:20260705T160000Z\r\n",
        "EXDATE;TZID=America/New_York:20261126T091500\r\n",
        "DTSTART;TZID=America/Chicago:20250107T110000\r\n",
        "BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\n",
    ] {
        assert!(all.contains(line), "{line:?} not written");
    }
    // Windows zone names are written back as the IANA zones they mean.
    assert!(!all.contains("Standard Time"));
}

/// One STANDARD or DAYLIGHT of a VTIMEZONE, as read back.
#[derive(Debug)]
struct Observance {
    start: NaiveDateTime,
    from: i32,
    to: i32,
    /// (month, nth weekday, weekday) of a yearly RRULE, and its UNTIL.
    yearly: Option<(u32, i64, chrono::Weekday, Option<DateTime<Utc>>)>,
}

fn offset(text: &str) -> i32 {
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let digits = &text[1..];
    let h: i32 = digits[0..2].parse().unwrap();
    let m: i32 = digits[2..4].parse().unwrap();
    let s: i32 = digits.get(4..6).map_or(0, |s| s.parse().unwrap());
    sign * (h * 3600 + m * 60 + s)
}

fn weekday(code: &str) -> chrono::Weekday {
    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
        .iter()
        .position(|c| *c == code)
        .map(|i| chrono::Weekday::try_from(i as u8).unwrap())
        .unwrap()
}

/// The zones and observances of every VTIMEZONE in `ics`.
fn read_vtimezones(ics: &str) -> Vec<(Tz, Vec<Observance>)> {
    let mut out = Vec::new();
    for block in ics.split("BEGIN:VTIMEZONE\r\n").skip(1) {
        let block = block.split("END:VTIMEZONE").next().unwrap();
        let tzid = block.lines().next().unwrap().strip_prefix("TZID:").unwrap();
        let mut observances = Vec::new();
        for part in block.split("BEGIN:").skip(1) {
            let get = |name: &str| {
                part.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim_end_matches('\r').to_owned())
            };
            let start =
                NaiveDateTime::parse_from_str(&get("DTSTART:").unwrap(), "%Y%m%dT%H%M%S").unwrap();
            let yearly = get("RRULE:").map(|rule| {
                let part = |name: &str| {
                    rule.split(';')
                        .find_map(|p| p.strip_prefix(name))
                        .map(str::to_owned)
                };
                let by_day = part("BYDAY=").unwrap();
                let (nth, day) = by_day.split_at(by_day.len() - 2);
                let until = part("UNTIL=").map(|u| {
                    NaiveDateTime::parse_from_str(&u, "%Y%m%dT%H%M%SZ")
                        .unwrap()
                        .and_utc()
                });
                (
                    part("BYMONTH=").unwrap().parse().unwrap(),
                    nth.parse().unwrap(),
                    weekday(day),
                    until,
                )
            });
            observances.push(Observance {
                start,
                from: offset(&get("TZOFFSETFROM:").unwrap()),
                to: offset(&get("TZOFFSETTO:").unwrap()),
                yearly,
            });
        }
        out.push((tzid.parse().unwrap(), observances));
    }
    out
}

/// The `nth` `weekday` of a month (negative: from the end).
fn nth_weekday(year: i32, month: u32, nth: i64, weekday: chrono::Weekday) -> NaiveDate {
    let days: Vec<NaiveDate> = NaiveDate::from_ymd_opt(year, month, 1)
        .unwrap()
        .iter_days()
        .take_while(|d| d.month() == month)
        .filter(|d| d.weekday() == weekday)
        .collect();
    let index = if nth > 0 {
        nth - 1
    } else {
        i64::try_from(days.len()).unwrap() + nth
    };
    days[usize::try_from(index).unwrap()]
}

/// Every onset of the observances up to `last_year`: (instant, offset after).
fn onsets(observances: &[Observance], last_year: i32) -> Vec<(DateTime<Utc>, i32)> {
    let mut out = Vec::new();
    for o in observances {
        let utc = |local: NaiveDateTime| (local - Duration::seconds(i64::from(o.from))).and_utc();
        out.push((utc(o.start), o.to));
        if let Some((month, nth, day, until)) = o.yearly {
            for year in o.start.year() + 1..=last_year {
                let onset = utc(nth_weekday(year, month, nth, day).and_time(o.start.time()));
                if until.is_some_and(|u| onset > u) {
                    break;
                }
                out.push((onset, o.to));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_vtimezones_written_agree_with_chrono_tz_at_every_hour() {
    let mut zones = 0;
    for (name, text, _, zone) in FIXTURES {
        let doc = document(&parse_ics(text, zone).unwrap());
        let exported = export_ics(&Calendar::open(&doc).unwrap(), now());
        for (tz, observances) in read_vtimezones(&exported) {
            let onsets = onsets(&observances, 2028);
            let first = observances[0].start.and_utc();
            let mut t = first + Duration::days(1);
            while t < Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap() {
                let said = onsets
                    .iter()
                    .take_while(|(at, _)| *at <= t)
                    .last()
                    .map_or(observances[0].from, |(_, to)| *to);
                let truth = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
                assert_eq!(
                    said,
                    truth.local_minus_utc(),
                    "{name}: {} at {t}",
                    tz.name()
                );
                t += Duration::hours(1);
            }
            zones += 1;
        }
    }
    assert_eq!(zones, 8, "zones written across the fixtures");
}

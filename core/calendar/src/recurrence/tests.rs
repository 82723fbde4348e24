//! The rule's text forms and its expansion, on hand-checked dates.

use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;

use super::*;
use crate::when::When;

fn berlin() -> Tz {
    "Europe/Berlin".parse().unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn nine_to_ten(day: NaiveDate) -> When {
    When::timed_local(
        day.and_hms_opt(9, 0, 0).unwrap(),
        day.and_hms_opt(10, 0, 0).unwrap(),
        berlin(),
    )
    .unwrap()
}

fn local_days(whens: &[When]) -> Vec<String> {
    whens
        .iter()
        .map(|w| w.local_start(berlin()).format("%a %d.%m %H:%M").to_string())
        .collect()
}

#[test]
fn rrule_text_round_trips_in_canonical_form() {
    for text in [
        "FREQ=DAILY",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;COUNT=10",
        "FREQ=MONTHLY;UNTIL=20261231",
        "FREQ=YEARLY;UNTIL=20301231T230000Z",
        "FREQ=MONTHLY;BYDAY=2TU",
        "FREQ=MONTHLY;BYMONTHDAY=-1,1,15",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;COUNT=5",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU",
        "FREQ=DAILY;BYDAY=MO,FR",
    ] {
        let rule = Recurrence::parse_rrule(text, Tz::UTC).unwrap();
        assert_eq!(rule.to_rrule(), text);
        assert_eq!(Recurrence::decode(text), Some(rule));
    }
    // Accepted, but not canonical: not a stored form.
    let loose = "freq=weekly;byday=FR,MO;INTERVAL=1;WKST=MO";
    let rule = Recurrence::parse_rrule(loose, Tz::UTC).unwrap();
    assert_eq!(rule.to_rrule(), "FREQ=WEEKLY;BYDAY=MO,FR");
    assert_eq!(Recurrence::decode(loose), None);
}

#[test]
fn unsupported_and_invalid_rules_are_typed_errors() {
    for (text, unsupported) in [
        ("FREQ=HOURLY", true),
        ("FREQ=DAILY;BYHOUR=9", true),
        ("FREQ=YEARLY;BYWEEKNO=20", true),
        ("FREQ=YEARLY;BYYEARDAY=100", true),
        ("FREQ=WEEKLY;BYDAY=2TU", false),
        ("FREQ=DAILY;BYDAY=-1FR", false),
        ("FREQ=MONTHLY;BYDAY=6TU", false),
        ("FREQ=MONTHLY;BYDAY=0TU", false),
        ("FREQ=MONTHLY;BYDAY=TUE", false),
        ("FREQ=MONTHLY;BYMONTHDAY=0", false),
        ("FREQ=MONTHLY;BYMONTHDAY=32", false),
        ("FREQ=WEEKLY;BYMONTHDAY=1", false),
        ("FREQ=YEARLY;BYMONTH=13", false),
        ("FREQ=MONTHLY;BYSETPOS=1", false),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", false),
        ("FREQ=DAILY;FREQ=WEEKLY", false),
        ("", false),
        ("FREQ=FORTNIGHTLY", false),
        ("FREQ=DAILY;INTERVAL=0", false),
        ("FREQ=DAILY;INTERVAL=-1", false),
        ("FREQ=DAILY;COUNT=3;UNTIL=20260101", false),
        ("FREQ=DAILY;COUNT=99999999999", false),
        ("FREQ=DAILY;UNTIL=tomorrow", false),
        ("FREQ", false),
    ] {
        let err = Recurrence::parse_rrule(text, Tz::UTC).unwrap_err();
        assert_eq!(
            matches!(err, RuleError::Unsupported(_)),
            unsupported,
            "{text}: {err}"
        );
    }
}

#[test]
fn weekdays_every_other_week_with_a_count() {
    // Monday 4 May 2026.
    let base = nine_to_ten(date(2026, 5, 4));
    let rule = Recurrence::weekly_on(&[Weekday::Mon, Weekday::Thu])
        .with_interval(2)
        .with_end(RecurrenceEnd::Count(5));
    let all = rule.expand(&base, date(2026, 1, 1), date(2026, 12, 31), 100);
    assert_eq!(
        local_days(&all),
        [
            "Mon 04.05 09:00",
            "Thu 07.05 09:00",
            "Mon 18.05 09:00",
            "Thu 21.05 09:00",
            "Mon 01.06 09:00"
        ]
    );
    // A window in the middle counts from the start all the same.
    let mid = rule.expand(&base, date(2026, 5, 20), date(2026, 12, 31), 100);
    assert_eq!(local_days(&mid), ["Thu 21.05 09:00", "Mon 01.06 09:00"]);
}

#[test]
fn daily_keeps_wall_clock_time_across_dst_and_stops_at_until() {
    let base = nine_to_ten(date(2026, 3, 27));
    let rule =
        Recurrence::new(Frequency::Daily).with_end(RecurrenceEnd::UntilDate(date(2026, 3, 30)));
    let all = rule.expand(&base, date(2026, 3, 1), date(2026, 4, 30), 100);
    assert_eq!(
        local_days(&all),
        [
            "Fri 27.03 09:00",
            "Sat 28.03 09:00",
            "Sun 29.03 09:00",
            "Mon 30.03 09:00"
        ]
    );
    let utc: Vec<_> = all
        .iter()
        .map(|w| w.instants().unwrap().0.format("%H").to_string())
        .collect();
    assert_eq!(utc, ["08", "08", "07", "07"], "CET then CEST");
}

#[test]
fn monthly_on_the_31st_skips_short_months_and_far_windows_are_cheap() {
    let base = nine_to_ten(date(2026, 1, 31));
    let rule = Recurrence::new(Frequency::Monthly);
    let all = rule.expand(&base, date(2026, 1, 1), date(2026, 8, 31), 100);
    assert_eq!(
        local_days(&all),
        [
            "Sat 31.01 09:00",
            "Tue 31.03 09:00",
            "Sun 31.05 09:00",
            "Fri 31.07 09:00",
            "Mon 31.08 09:00"
        ]
    );
    let daily = Recurrence::new(Frequency::Daily);
    let far = daily.expand(&base, date(9000, 1, 1), date(9000, 1, 3), 100);
    assert_eq!(far.len(), 3);
    // The very end of the supported years ends a series quietly.
    let end = daily.expand(&base, date(9999, 12, 30), date(9999, 12, 31), 100);
    assert_eq!(end.len(), 2);
    let two_days = When::all_day(date(2026, 1, 1), date(2026, 1, 3)).unwrap();
    let end = daily.expand(&two_days, date(9999, 12, 29), date(9999, 12, 31), 100);
    assert_eq!(end.len(), 1, "the next would end in the year 10000");
}

#[test]
fn occurrences_are_recognised_by_their_original_start() {
    let base = nine_to_ten(date(2026, 5, 4));
    let rule = Recurrence::weekly_on(&[Weekday::Mon, Weekday::Wed]);
    let wed = nine_to_ten(date(2026, 5, 13));
    assert!(rule.has_occurrence(&base, &OccurrenceKey::of(&wed)));
    let tue = nine_to_ten(date(2026, 5, 12));
    assert!(!rule.has_occurrence(&base, &OccurrenceKey::of(&tue)));
    let before = nine_to_ten(date(2026, 4, 29));
    assert!(!rule.has_occurrence(&base, &OccurrenceKey::of(&before)));
}

#[test]
fn loose_rules_are_read_into_one_canonical_form() {
    for (loose, canonical) in [
        (
            "FREQ=MONTHLY;BYDAY=-1FR,+2TU,MO;INTERVAL=1",
            "FREQ=MONTHLY;BYDAY=MO,-1FR,2TU",
        ),
        (
            "BYSETPOS=-1;BYDAY=FR,TH,WE,TU,MO;FREQ=MONTHLY",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        ),
        // WKST changes nothing here, so it is not kept.
        ("FREQ=WEEKLY;WKST=SU;BYDAY=MO,WE", "FREQ=WEEKLY;BYDAY=MO,WE"),
        (
            "FREQ=YEARLY;BYMONTH=3,1;BYMONTHDAY=1,-1",
            "FREQ=YEARLY;BYMONTH=1,3;BYMONTHDAY=-1,1",
        ),
    ] {
        let rule = Recurrence::parse_rrule(loose, Tz::UTC).unwrap();
        assert_eq!(rule.to_rrule(), canonical, "{loose}");
        assert_eq!(Recurrence::decode(loose), None, "not a stored form");
    }
}

#[test]
fn the_stored_form_holds_the_rule_and_its_extra_dates_together() {
    let base = nine_to_ten(date(2026, 5, 4));
    let extra = OccurrenceKey::of(&nine_to_ten(date(2026, 5, 6)));
    let rule = Recurrence::weekly_on(&[Weekday::Mon]).with_extra([extra.clone()]);
    let stored = rule.encode();
    assert_eq!(stored, "FREQ=WEEKLY;BYDAY=MO\nRDATE:20260506T070000Z");
    assert_eq!(Recurrence::decode(&stored), Some(rule.clone()));
    // A rule without extra dates is stored as it always was.
    assert_eq!(
        Recurrence::weekly_on(&[Weekday::Mon]).encode(),
        "FREQ=WEEKLY;BYDAY=MO"
    );
    for bad in [
        "FREQ=WEEKLY;BYDAY=MO\nRDATE:",
        "FREQ=WEEKLY;BYDAY=MO\nRDATE:20260506T070000",
        "FREQ=WEEKLY;BYDAY=MO\nRDATE:20260513T070000Z,20260506T070000Z",
        "FREQ=WEEKLY;BYDAY=MO\nEXDATE:20260506T070000Z",
    ] {
        assert_eq!(Recurrence::decode(bad), None, "{bad:?}");
    }
    let days = local_days(&rule.expand(&base, date(2026, 5, 1), date(2026, 5, 14), 10));
    assert_eq!(
        days,
        ["Mon 04.05 09:00", "Wed 06.05 09:00", "Mon 11.05 09:00"]
    );
    assert!(rule.has_occurrence(&base, &extra));
    let only = Recurrence::dates_only([extra.clone()]);
    assert!(only.is_dates_only() && !rule.is_dates_only());
    assert_eq!(only.encode(), "FREQ=DAILY;COUNT=1\nRDATE:20260506T070000Z");
    let days = local_days(&only.expand(&base, date(2026, 5, 1), date(2026, 5, 31), 10));
    assert_eq!(days, ["Mon 04.05 09:00", "Wed 06.05 09:00"]);
}

fn days_of(rule: &str, start: NaiveDate, to: NaiveDate) -> Vec<String> {
    let rule = Recurrence::parse_rrule(rule, Tz::UTC).unwrap();
    rule.expand(&nine_to_ten(start), start, to, 1000)
        .iter()
        .map(|w| w.local_start(berlin()).format("%Y-%m-%d").to_string())
        .collect()
}

#[test]
fn numbered_weekdays_month_days_and_set_positions() {
    // Second Tuesday of the month (Tuesday 13 January 2026).
    assert_eq!(
        days_of(
            "FREQ=MONTHLY;BYDAY=2TU",
            date(2026, 1, 13),
            date(2026, 6, 30)
        ),
        [
            "2026-01-13",
            "2026-02-10",
            "2026-03-10",
            "2026-04-14",
            "2026-05-12",
            "2026-06-09"
        ]
    );
    // Last Friday, every other month.
    assert_eq!(
        days_of(
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR",
            date(2026, 1, 30),
            date(2026, 12, 31)
        ),
        [
            "2026-01-30",
            "2026-03-27",
            "2026-05-29",
            "2026-07-31",
            "2026-09-25",
            "2026-11-27"
        ]
    );
    // The last day of the month, and the day before it.
    assert_eq!(
        days_of(
            "FREQ=MONTHLY;BYMONTHDAY=-1,-2;COUNT=6",
            date(2026, 1, 30),
            date(2026, 12, 31)
        ),
        [
            "2026-01-30",
            "2026-01-31",
            "2026-02-27",
            "2026-02-28",
            "2026-03-30",
            "2026-03-31"
        ]
    );
    // The last working day of the month.
    assert_eq!(
        days_of(
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            date(2026, 1, 30),
            date(2026, 6, 30)
        ),
        [
            "2026-01-30",
            "2026-02-27",
            "2026-03-31",
            "2026-04-30",
            "2026-05-29",
            "2026-06-30"
        ]
    );
    // Friday the 13th.
    assert_eq!(
        days_of(
            "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
            date(2026, 2, 13),
            date(2027, 12, 31)
        ),
        ["2026-02-13", "2026-03-13", "2026-11-13", "2027-08-13"]
    );
    // US Thanksgiving; the first Monday of the year; 29 February.
    assert_eq!(
        days_of(
            "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
            date(2025, 11, 27),
            date(2028, 12, 31)
        ),
        ["2025-11-27", "2026-11-26", "2027-11-25", "2028-11-23"]
    );
    assert_eq!(
        days_of(
            "FREQ=YEARLY;BYDAY=1MO",
            date(2026, 1, 5),
            date(2028, 12, 31)
        ),
        ["2026-01-05", "2027-01-04", "2028-01-03"]
    );
    assert_eq!(
        days_of(
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            date(2024, 2, 29),
            date(2036, 12, 31)
        ),
        ["2024-02-29", "2028-02-29", "2032-02-29", "2036-02-29"]
    );
    // Weekdays only, as a daily rule.
    assert_eq!(
        days_of(
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
            date(2026, 5, 7),
            date(2026, 5, 12)
        ),
        ["2026-05-07", "2026-05-08", "2026-05-11", "2026-05-12"]
    );
}

#[test]
fn week_start_decides_which_days_share_a_week() {
    // RFC 5545's own example: from Tuesday 5 August 1997, every other week
    // on Tuesday and Sunday, four times.
    let monday = days_of(
        "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO",
        date(1997, 8, 5),
        date(1997, 12, 31),
    );
    assert_eq!(
        monday,
        ["1997-08-05", "1997-08-10", "1997-08-19", "1997-08-24"]
    );
    let sunday = days_of(
        "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU",
        date(1997, 8, 5),
        date(1997, 12, 31),
    );
    assert_eq!(
        sunday,
        ["1997-08-05", "1997-08-17", "1997-08-19", "1997-08-31"]
    );
}

#[test]
fn a_rule_that_never_matches_ends_quickly() {
    let rule = Recurrence::parse_rrule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", Tz::UTC).unwrap();
    let base = nine_to_ten(date(2026, 1, 1));
    assert_eq!(
        rule.expand(&base, date(2026, 1, 1), date(9999, 12, 31), 100),
        [base]
    );
    let rule = Recurrence::parse_rrule("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", Tz::UTC).unwrap();
    assert_eq!(
        rule.expand(&base, date(2026, 1, 1), date(9999, 12, 31), 100),
        [base]
    );
}

#[test]
fn monthly_numbered_weekdays_keep_the_wall_clock_time_across_dst() {
    // First Sunday of the month at 02:30 Berlin: on 29 March 2026 02:30
    // does not exist and is read as 03:30 summer time, as RFC 5545 says;
    // 25 October 2026 02:30 happens twice and is the first.
    let base = When::timed_local(
        date(2026, 3, 1).and_hms_opt(2, 30, 0).unwrap(),
        date(2026, 3, 1).and_hms_opt(3, 0, 0).unwrap(),
        berlin(),
    )
    .unwrap();
    let rule = Recurrence::parse_rrule("FREQ=MONTHLY;BYDAY=-1SU", Tz::UTC).unwrap();
    let utc: Vec<String> = rule
        .expand(&base, date(2026, 3, 2), date(2026, 11, 30), 20)
        .iter()
        .map(|w| w.instants().unwrap().0.format("%m-%d %H:%M").to_string())
        .collect();
    assert_eq!(
        utc,
        [
            "03-29 01:30",
            "04-26 00:30",
            "05-31 00:30",
            "06-28 00:30",
            "07-26 00:30",
            "08-30 00:30",
            "09-27 00:30",
            "10-25 00:30",
            "11-29 01:30"
        ]
    );
}

//! iCalendar import and export: round trips, files from other programs,
//! bad input.

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use concord_calendar::{
    Calendar, CalendarTx, EventData, EventProblem, Frequency, IcsError, OccurrenceKey,
    OccurrenceOverride, Recurrence, RecurrenceEnd, RuleError, When, export_ics, parse_ics,
};
use concord_core::{Document, ReplicaId};
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::support::{at, berlin, date, hours, monday};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-05-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn new_york() -> Tz {
    chrono_tz::America::New_York
}

/// All-day, multi-day, time-zoned (two zones and UTC) and repeating events
/// with cancelled and changed occurrences, attendees, colours and notes
/// full of characters iCalendar escapes.
fn sample_events() -> Vec<EventData> {
    let mut holiday = EventData::new(
        "holiday@test",
        "Public holiday",
        When::all_day(date(2026, 5, 1), date(2026, 5, 2)).unwrap(),
    );
    holiday.colour = Some("crimson".into());

    let mut offsite = EventData::new(
        "offsite@test",
        "Offsite; day 1, day 2",
        When::all_day(date(2026, 5, 7), date(2026, 5, 9)).unwrap(),
    );
    offsite.location = "Lodge, lake side".into();
    offsite.notes = "Bring:\n- boots\n- a \\ backslash; and commas, too".into();

    let mut call = EventData::new(
        "call@test",
        "Call with New York",
        When::timed_local(
            at(date(2026, 5, 6), 10, 0),
            at(date(2026, 5, 6), 11, 0),
            new_york(),
        )
        .unwrap(),
    );
    call.attendees = [
        "Katherine Johnson <katherine@example.com>",
        "bob@example.com",
        "Dorothy Vaughan",
    ]
    .map(String::from)
    .into();
    call.colour = Some("#008080".into());

    let maintenance = EventData::new(
        "maintenance@test",
        "Maintenance",
        When::timed(
            DateTime::parse_from_rfc3339("2026-05-10T02:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            DateTime::parse_from_rfc3339("2026-05-10T04:30:00Z")
                .unwrap()
                .with_timezone(&Utc),
            Tz::UTC,
        )
        .unwrap(),
    );

    let mut all = vec![holiday, offsite, call, maintenance];
    all.extend(repeating_events());
    all
}

fn repeating_events() -> Vec<EventData> {
    let mut standup = EventData::new("standup@test", "Stand-up", hours(monday(), 9, 10));
    standup.recurrence = Some(
        Recurrence::weekly_on(&[Weekday::Mon, Weekday::Wed, Weekday::Fri])
            .with_end(RecurrenceEnd::Count(20))
            .with_extra([OccurrenceKey::of(&hours(date(2026, 5, 5), 9, 10))]),
    );
    standup
        .cancelled
        .insert(OccurrenceKey::of(&hours(date(2026, 5, 6), 9, 10)));
    standup.overrides.insert(
        OccurrenceKey::of(&hours(date(2026, 5, 8), 9, 10)),
        OccurrenceOverride {
            title: Some("Stand-up (demo day)".into()),
            when: Some(hours(date(2026, 5, 8), 11, 12)),
            location: Some("Main hall".into()),
        },
    );
    standup.overrides.insert(
        OccurrenceKey::of(&hours(date(2026, 5, 11), 9, 10)),
        OccurrenceOverride {
            title: None,
            when: Some(hours(date(2026, 5, 12), 9, 10)),
            location: None,
        },
    );

    let mut retro = EventData::new("retro@test", "Retro", hours(date(2026, 1, 31), 16, 17));
    retro.recurrence = Some(
        Recurrence::new(Frequency::Monthly)
            .with_interval(2)
            .with_end(RecurrenceEnd::UntilDate(date(2026, 12, 31))),
    );

    let mut birthday = EventData::new(
        "birthday@test",
        "Ada's birthday",
        When::all_day(date(2026, 12, 10), date(2026, 12, 11)).unwrap(),
    );
    birthday.recurrence = Some(Recurrence::new(Frequency::Yearly));
    birthday
        .cancelled
        .insert(OccurrenceKey::from_date(date(2027, 12, 10)));

    let mut sprint = EventData::new(
        "sprint@test",
        "Sprint",
        When::all_day(monday(), date(2026, 5, 9)).unwrap(),
    );
    sprint.recurrence = Some(
        Recurrence::new(Frequency::Weekly)
            .with_interval(2)
            .with_end(RecurrenceEnd::UntilDate(date(2026, 7, 31))),
    );

    let mut dentist = EventData::new(
        "dentist@test",
        "Dentist",
        When::timed_local(
            at(date(2026, 6, 2), 14, 0),
            at(date(2026, 6, 2), 14, 30),
            new_york(),
        )
        .unwrap(),
    );
    dentist.recurrence = Some(Recurrence::dates_only(
        [date(2026, 6, 16), date(2026, 11, 3)].map(|d| {
            OccurrenceKey::of(&When::timed_local(at(d, 14, 0), at(d, 14, 30), new_york()).unwrap())
        }),
    ));

    let mut payday = EventData::new(
        "payday@test",
        "Last working day",
        When::all_day(date(2026, 5, 29), date(2026, 5, 30)).unwrap(),
    );
    payday.recurrence = Some(
        Recurrence::new(Frequency::Monthly)
            .with_weekdays(&[
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ])
            .with_set_positions(&[-1]),
    );

    vec![standup, retro, birthday, sprint, dentist, payday]
}

fn calendar_with(events: &[EventData]) -> Document {
    let mut doc = Document::new(ReplicaId(7));
    let mut tx = doc.transaction();
    let mut cal = CalendarTx::create(&mut tx, "Round trip, 2026").unwrap();
    for e in events {
        cal.add_event(e).unwrap();
    }
    drop(tx);
    doc
}

fn sorted(mut events: Vec<EventData>) -> Vec<EventData> {
    events.sort_by(|a, b| a.uid.cmp(&b.uid));
    events
}

#[test]
fn round_trip_keeps_every_event_and_uid() {
    let doc = calendar_with(&sample_events());
    let ics = export_ics(&Calendar::open(&doc).unwrap(), now());
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(
        ics.contains("DTSTART;TZID=America/New_York:20260506T100000\r\n"),
        "{ics}"
    );
    assert!(ics.contains("DTSTART;VALUE=DATE:20260507\r\n"));
    assert!(ics.contains("DTEND;VALUE=DATE:20260509\r\n"));
    assert!(ics.contains("DTSTART:20260510T020000Z\r\n"));
    assert!(ics.contains("RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=20\r\n"));
    assert!(ics.contains("RDATE;TZID=Europe/Berlin:20260505T090000\r\n"));
    assert!(ics.contains("RDATE;TZID=America/New_York:20261103T140000\r\n"));
    assert!(ics.contains("RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1\r\n"));
    assert!(!ics.contains("COUNT=1"), "no RRULE for the dentist");
    // A VTIMEZONE for each TZID, before the events; none for UTC.
    let vtimezones: Vec<&str> = ics
        .split("BEGIN:VTIMEZONE\r\nTZID:")
        .skip(1)
        .map(|rest| rest.split("\r\n").next().unwrap())
        .collect();
    assert_eq!(vtimezones, ["America/New_York", "Europe/Berlin"]);
    assert!(ics.find("END:VTIMEZONE").unwrap() < ics.find("BEGIN:VEVENT").unwrap());
    assert!(ics.contains("EXDATE;TZID=Europe/Berlin:20260506T090000\r\n"));
    assert!(ics.contains("RECURRENCE-ID;TZID=Europe/Berlin:20260508T090000\r\n"));
    assert!(ics.contains("ATTENDEE;CN=Katherine Johnson:mailto:katherine@example.com\r\n"));
    assert!(ics.contains("ATTENDEE;CN=Dorothy Vaughan:invalid:nomail\r\n"));
    assert!(ics.contains("COLOR:crimson\r\n"));
    assert!(ics.contains("DTSTAMP:20260501T120000Z\r\n"));
    assert!(
        ics.lines().all(|l| l.trim_end_matches('\r').len() <= 75),
        "lines are folded"
    );

    // Read in another zone: nothing in the file is floating.
    let back = parse_ics(&ics, new_york()).unwrap();
    assert_eq!(back.warnings, []);
    assert_eq!(back.name.as_deref(), Some("Round trip, 2026"));
    assert_eq!(sorted(back.events.clone()), sorted(sample_events()));

    // Written into a new calendar and exported again: the same file.
    let mut copy = Document::new(ReplicaId(8));
    back.write(&mut copy.transaction(), "unused").unwrap();
    assert_eq!(export_ics(&Calendar::open(&copy).unwrap(), now()), ics);
}

#[test]
fn deleted_events_are_not_exported() {
    let mut doc = calendar_with(&sample_events());
    {
        let mut tx = doc.transaction();
        CalendarTx::open(&mut tx)
            .unwrap()
            .delete_event("retro@test")
            .unwrap();
    }
    let ics = export_ics(&Calendar::open(&doc).unwrap(), now());
    assert!(!ics.contains("retro@test"));
    assert!(ics.contains("standup@test"));
}

/// A file as another calendar program writes it: VTIMEZONE, X-WR-TIMEZONE
/// for floating times, vendor TZIDs, DURATION, EXDATE lists, a cancelled
/// occurrence, lower-case parameters, LF line ends and folded lines.
const FOREIGN: &str = "BEGIN:VCALENDAR\n\
VERSION:2.0\n\
PRODID:-//Example Corp//Other Calendar//EN\n\
X-WR-CALNAME:Work\n\
X-WR-TIMEZONE:Europe/Paris\n\
BEGIN:VTIMEZONE\n\
TZID:Europe/Paris\n\
BEGIN:STANDARD\n\
DTSTART:19701025T030000\n\
TZOFFSETFROM:+0200\n\
TZOFFSETTO:+0100\n\
END:STANDARD\n\
END:VTIMEZONE\n\
BEGIN:VEVENT\n\
UID:floating@example.com\n\
DTSTAMP:20260101T000000Z\n\
SUMMARY:Floating in Paris time\n\
DTSTART:20260504T090000\n\
DURATION:PT1H30M\n\
END:VEVENT\n\
BEGIN:VEVENT\n\
UID:vendor@example.com\n\
DTSTAMP:20260101T000000Z\n\
SUMMARY:Vendor zone name with a long summary that is folded over two lines by\n  the\x20\
program that wrote it\n\
DTSTART;TZID=/mozilla.org/20050126_1/Asia/Tokyo:20260505T180000\n\
DTEND;TZID=/mozilla.org/20050126_1/Asia/Tokyo:20260505T190000\n\
END:VEVENT\n\
BEGIN:VEVENT\n\
UID:daily@example.com\n\
DTSTAMP:20260101T000000Z\n\
SUMMARY:Daily\n\
DTSTART;TZID=Europe/Paris:20260504T080000\n\
DTEND;TZID=Europe/Paris:20260504T081500\n\
RRULE:FREQ=DAILY;UNTIL=20260510T060000Z\n\
EXDATE;TZID=Europe/Paris:20260505T080000,20260506T080000\n\
END:VEVENT\n\
BEGIN:VEVENT\n\
UID:daily@example.com\n\
DTSTAMP:20260101T000000Z\n\
RECURRENCE-ID;TZID=Europe/Paris:20260507T080000\n\
STATUS:CANCELLED\n\
DTSTART;TZID=Europe/Paris:20260507T080000\n\
DTEND;TZID=Europe/Paris:20260507T081500\n\
SUMMARY:Daily\n\
END:VEVENT\n\
BEGIN:VEVENT\n\
UID:date-only@example.com\n\
DTSTAMP:20260101T000000Z\n\
SUMMARY:No end\n\
DTSTART;value=DATE:20260508\n\
END:VEVENT\n\
END:VCALENDAR\n";

#[test]
fn files_from_other_programs() {
    let cal = parse_ics(FOREIGN, berlin()).unwrap();
    assert_eq!(cal.warnings, []);
    assert_eq!(cal.name.as_deref(), Some("Work"));
    let by_uid = |uid: &str| cal.events.iter().find(|e| e.uid == uid).unwrap();
    let paris = chrono_tz::Europe::Paris;
    assert_eq!(
        by_uid("floating@example.com").when,
        When::timed_local(at(monday(), 9, 0), at(monday(), 10, 30), paris).unwrap()
    );
    let tokyo = by_uid("vendor@example.com");
    assert_eq!(tokyo.when.zone(), Some(chrono_tz::Asia::Tokyo));
    assert!(
        tokyo.title.ends_with("by the program that wrote it"),
        "{}",
        tokyo.title
    );
    let daily = by_uid("daily@example.com");
    assert_eq!(
        daily.cancelled.len(),
        3,
        "two EXDATEs and a cancelled occurrence"
    );
    let days: Vec<_> = daily
        .recurrence
        .as_ref()
        .unwrap()
        .expand(&daily.when, monday(), date(2026, 5, 31), 50)
        .into_iter()
        .filter(|w| !daily.cancelled.contains(&OccurrenceKey::of(w)))
        .map(|w| w.local_start(paris).format("%d %H:%M").to_string())
        .collect();
    assert_eq!(days, ["04 08:00", "08 08:00", "09 08:00", "10 08:00"]);
    assert_eq!(
        by_uid("date-only@example.com").when,
        When::all_day(date(2026, 5, 8), date(2026, 5, 9)).unwrap()
    );
}

fn vevent(body: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\n{body}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

#[test]
fn unusable_events_are_skipped_or_adjusted_with_a_warning() {
    let cases: Vec<(&str, EventProblem, usize)> = vec![
        ("UID:a\r\nSUMMARY:x\r\n", EventProblem::NoStart, 0),
        (
            "UID:a\r\nDTSTART:2026-05-04\r\n",
            EventProblem::BadDate {
                property: "DTSTART".into(),
                value: "2026-05-04".into(),
            },
            0,
        ),
        (
            "UID:a\r\nDTSTART:20260504T100000Z\r\nDTEND:20260504T090000Z\r\n",
            EventProblem::EndBeforeStart,
            0,
        ),
        (
            "UID:a\r\nDTSTART:20260504T100000Z\r\nDURATION:-PT1H\r\n",
            EventProblem::EndBeforeStart,
            0,
        ),
        (
            "UID:a\r\nDTSTART:20260504T100000Z\r\n",
            EventProblem::NoLength(60),
            1,
        ),
        (
            "UID:a\r\nDTSTART;TZID=Customized Time Zone:20260504T100000\r\nDTEND;TZID=Customized Time Zone:20260504T110000\r\n",
            EventProblem::UnknownZone {
                zone: "Customized Time Zone".into(),
                used: "Europe/Berlin".into(),
            },
            1,
        ),
        (
            "UID:a\r\nDTSTART:20260504T100000Z\r\nDTEND:20260504T110000Z\r\nRRULE:FREQ=DAILY;BYHOUR=9,17\r\n",
            EventProblem::Rule(RuleError::Unsupported("BYHOUR=9,17".into())),
            1,
        ),
        (
            "UID:a\r\nDTSTART:20260504T100000Z\r\nDTEND:20260504T110000Z\r\nRDATE:20260505T100000Z,next tuesday\r\n",
            EventProblem::BadValue {
                property: "RDATE".into(),
                value: "20260505T100000Z,next tuesday".into(),
            },
            1,
        ),
        (
            "UID:a\r\nRECURRENCE-ID:20260504T100000Z\r\nDTSTART:20260504T100000Z\r\nDTEND:20260504T110000Z\r\n",
            EventProblem::OrphanOccurrence,
            0,
        ),
        (
            "DTSTART:20260504T100000Z\r\nDTEND:20260504T110000Z\r\n",
            EventProblem::NoUid("import-0@concord".into()),
            1,
        ),
    ];
    for (body, problem, events) in cases {
        let text = vevent(body);
        let cal = parse_ics(&text, berlin()).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(cal.warnings.len(), 1, "{body}: {:?}", cal.warnings);
        assert_eq!(cal.warnings[0].problem, problem, "{body}");
        assert!(!cal.warnings[0].to_string().is_empty());
        assert_eq!(cal.events.len(), events, "{body}");
    }
}

#[test]
fn a_second_event_with_the_same_uid_is_skipped() {
    let body = "UID:same\r\nDTSTART;VALUE=DATE:20260504\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:same\r\nDTSTART;VALUE=DATE:20260505\r\n";
    let cal = parse_ics(&vevent(body), berlin()).unwrap();
    assert_eq!(cal.events.len(), 1);
    assert_eq!(cal.events[0].when.dates().unwrap().0, date(2026, 5, 4));
    assert_eq!(cal.warnings[0].problem, EventProblem::DuplicateUid);
}

#[test]
fn files_that_are_no_calendar_are_typed_errors() {
    assert!(matches!(
        parse_ics("hello, world", berlin()),
        Err(IcsError::Parse(_))
    ));
    assert!(matches!(
        parse_ics("", berlin()),
        Err(IcsError::NotACalendar | IcsError::Parse(_))
    ));
    assert!(matches!(
        parse_ics("BEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\n", berlin()),
        Err(IcsError::NotACalendar)
    ));
    assert!(matches!(
        parse_ics("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", berlin()),
        Err(IcsError::Parse(_))
    ));
    let deep = "BEGIN:X\r\n".repeat(100_000) + &"END:X\r\n".repeat(100_000);
    assert_eq!(parse_ics(&deep, berlin()), Err(IcsError::TooDeep(8)));
    let huge = "X".repeat(concord_calendar::ics::MAX_ICS_BYTES + 1);
    assert!(matches!(
        parse_ics(&huge, berlin()),
        Err(IcsError::TooLarge(_))
    ));
    // An empty calendar is a calendar.
    let empty = parse_ics(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
        berlin(),
    )
    .unwrap();
    assert!(empty.events.is_empty() && empty.warnings.is_empty());
}

fn import_and_export(text: &str) {
    if let Ok(cal) = parse_ics(text, berlin()) {
        let mut doc = Document::new(ReplicaId(1));
        cal.write(&mut doc.transaction(), "fuzz")
            .expect("whatever was read can be written");
        let out = export_ics(&Calendar::open(&doc).unwrap(), now());
        let again = parse_ics(&out, berlin()).expect("our own output reads back");
        assert_eq!(again.events.len(), cal.events.len());
    }
}

proptest! {
    #![proptest_config(Config { cases: 200, failure_persistence: None, ..Config::default() })]

    /// Damaged files (lines dropped, duplicated, cut or garbled) never
    /// panic: they give an error, or events that can be written and
    /// exported.
    #[test]
    fn damaged_files_never_panic(
        edits in prop::collection::vec((0..4u8, any::<prop::sample::Index>(), "\\PC{0,12}"), 1..8)
    ) {
        let mut lines: Vec<String> = concord_calendar::DEMO_ICS.lines().map(str::to_owned).collect();
        for (kind, at, junk) in edits {
            let i = at.index(lines.len());
            match kind {
                0 => { lines.remove(i); }
                1 => { let l = lines[i].clone(); lines.insert(i, l); }
                2 => { let cut: String = lines[i].chars().take(junk.chars().count()).collect(); lines[i] = cut; }
                _ => lines[i].push_str(&junk),
            }
            if lines.is_empty() { break; }
        }
        import_and_export(&lines.join("\r\n"));
    }

    #[test]
    fn any_text_never_panics(text in "\\PC{0,200}") {
        import_and_export(&format!("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{text}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"));
    }
}

#[test]
fn dates_at_the_edge_of_the_supported_range() {
    let body = "UID:a\r\nDTSTART;VALUE=DATE:99991231\r\n";
    let cal = parse_ics(&vevent(body), berlin()).unwrap();
    assert_eq!(cal.events.len(), 0, "it would end in the year 10000");
    assert!(matches!(
        cal.warnings[0].problem,
        EventProblem::EndBeforeStart | EventProblem::BadDate { .. }
    ));
    let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
    assert!(When::all_day(first, first.succ_opt().unwrap()).is_ok());
}

fn arb_weekday() -> impl Strategy<Value = Weekday> {
    (0..7u8).prop_map(|i| Weekday::try_from(i).unwrap())
}

/// Rules of every shape the model has, most of them valid.
fn arb_rule() -> impl Strategy<Value = Recurrence> {
    let frequency = prop_oneof![
        Just(Frequency::Daily),
        Just(Frequency::Weekly),
        Just(Frequency::Monthly),
        Just(Frequency::Yearly)
    ];
    let end = prop_oneof![
        Just(RecurrenceEnd::Never),
        (1..60u32).prop_map(RecurrenceEnd::Count),
        (0..900i64)
            .prop_map(|d| RecurrenceEnd::UntilDate(date(2026, 1, 1) + chrono::Duration::days(d))),
    ];
    let nth = (prop_oneof![-5..=-1i8, 1..=5i8], arb_weekday());
    (
        frequency,
        1..4u32,
        end,
        prop::collection::vec(arb_weekday(), 0..3),
        prop::collection::vec(nth, 0..3),
        prop::collection::vec(prop_oneof![-31..=-1i8, 1..=31i8], 0..3),
        prop::collection::vec(1..=12u8, 0..3),
        prop::collection::vec(prop_oneof![-4..=-1i16, 1..=4i16], 0..2),
        arb_weekday(),
        prop::collection::vec(0..700i64, 0..3),
    )
        .prop_map(
            |(frequency, interval, end, weekdays, nth, days, months, positions, wkst, extra)| {
                let mut rule = Recurrence::new(frequency)
                    .with_interval(interval)
                    .with_end(end)
                    .with_extra(extra.into_iter().map(|d| {
                        OccurrenceKey::of(&hours(
                            date(2026, 1, 1) + chrono::Duration::days(d),
                            9,
                            10,
                        ))
                    }));
                rule.weekdays = weekdays;
                rule.nth_weekdays = nth
                    .into_iter()
                    .map(|(n, d)| concord_calendar::recurrence::NthWeekday::new(n, d))
                    .collect();
                rule.month_days = days;
                rule.months = months;
                rule.set_positions = positions;
                rule.week_start = wkst;
                // Keep most rules valid: each part only where RFC 5545
                // defines it.
                if matches!(frequency, Frequency::Daily | Frequency::Weekly) {
                    rule.nth_weekdays.clear();
                }
                if frequency == Frequency::Weekly {
                    rule.month_days.clear();
                }
                if rule.weekdays.is_empty()
                    && rule.nth_weekdays.is_empty()
                    && rule.month_days.is_empty()
                    && rule.months.is_empty()
                {
                    rule.set_positions.clear();
                }
                rule
            },
        )
}

proptest! {
    #![proptest_config(Config { cases: 300, failure_persistence: None, ..Config::default() })]

    /// Any valid rule is stored and read back as its normalized self, and
    /// an iCalendar round trip keeps it and every occurrence of two years.
    #[test]
    fn any_valid_rule_survives_the_document_and_a_file(rule in arb_rule()) {
        prop_assume!(rule.validate().is_ok());
        let mut event = EventData::new("rule@test", "Rule", hours(date(2026, 1, 7), 9, 10));
        event.recurrence = Some(rule.clone());
        let doc = calendar_with(&[event]);
        let stored = Calendar::open(&doc).unwrap().event("rule@test").unwrap().data;
        prop_assert_eq!(stored.recurrence.as_ref(), Some(&rule.normalized()));

        let ics = export_ics(&Calendar::open(&doc).unwrap(), now());
        let back = parse_ics(&ics, Tz::UTC).unwrap();
        prop_assert_eq!(&back.warnings, &[]);
        let read = back.events[0].recurrence.clone().unwrap();
        let (from, to) = (date(2026, 1, 1), date(2027, 12, 31));
        prop_assert_eq!(
            read.expand(&stored.when, from, to, 2000),
            rule.expand(&stored.when, from, to, 2000)
        );
    }
}

//! What a week or month view gets: occurrences in a range of days, in the
//! display zone, in a deterministic order.

use chrono::Duration;
use concord_calendar::{EventData, Frequency, Recurrence, RecurrenceEnd, Scope, When};

use crate::support::{at, berlin, calendar, date, hours, monday, replicas};

#[test]
fn all_day_events_come_first_and_multi_day_events_overlap_the_range() {
    let trip = EventData::new(
        "trip@test",
        "Trip",
        When::all_day(date(2026, 5, 2), date(2026, 5, 6)).unwrap(),
    );
    let early = EventData::new("early@test", "Early", hours(monday(), 0, 1));
    let late_night = EventData::new(
        "night@test",
        "Night shift",
        When::timed_local(at(date(2026, 5, 3), 22, 0), at(monday(), 6, 0), berlin()).unwrap(),
    );
    let holiday = EventData::new(
        "holiday@test",
        "Holiday",
        When::all_day(monday(), date(2026, 5, 5)).unwrap(),
    );
    let docs = replicas(1, &[trip, early, late_night, holiday]);
    let cal = calendar(&docs[0]);
    let monday_only = cal.occurrences(monday(), date(2026, 5, 5), berlin());
    let titles: Vec<_> = monday_only.iter().map(|o| o.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Trip", "Night shift", "Holiday", "Early"],
        "by start, all-day first on a tie"
    );
    assert!(monday_only[0].all_day);
    assert_eq!(monday_only[0].start, at(date(2026, 5, 2), 0, 0));
    assert_eq!(monday_only[0].end, at(date(2026, 5, 6), 0, 0));
    // The same instant in another zone is another wall-clock time.
    let ny = cal.occurrences(date(2026, 5, 3), monday(), chrono_tz::America::New_York);
    let early_ny = ny.iter().find(|o| o.title == "Early").unwrap();
    assert_eq!(early_ny.start, at(date(2026, 5, 3), 18, 0));
    // An empty or reversed range shows nothing.
    assert!(cal.occurrences(monday(), monday(), berlin()).is_empty());
    assert!(
        cal.occurrences(date(2026, 5, 5), monday(), berlin())
            .is_empty()
    );
}

#[test]
fn a_month_of_a_repeating_event_and_its_scopes() {
    let mut weekly = EventData::new("gym@test", "Gym", hours(monday(), 18, 19));
    weekly.recurrence = Some(
        Recurrence::new(Frequency::Weekly).with_end(RecurrenceEnd::UntilDate(date(2026, 5, 25))),
    );
    let docs = replicas(1, &[weekly]);
    let month = calendar(&docs[0]).occurrences(date(2026, 5, 1), date(2026, 6, 1), berlin());
    let days: Vec<_> = month
        .iter()
        .map(|o| o.start.format("%d").to_string())
        .collect();
    assert_eq!(days, ["04", "11", "18", "25"]);
    assert!(
        month
            .iter()
            .all(|o| o.recurring && matches!(o.scope, Scope::Occurrence(_)))
    );
    assert_eq!(month[1].when, hours(monday() + Duration::days(7), 18, 19));
}

#[test]
fn a_long_series_far_from_its_start_is_shown_and_bounded() {
    let mut daily = EventData::new("daily@test", "Daily", hours(date(2020, 1, 1), 7, 8));
    daily.recurrence = Some(Recurrence::new(Frequency::Daily));
    let docs = replicas(1, &[daily]);
    let cal = calendar(&docs[0]);
    assert_eq!(
        cal.occurrences(date(2090, 3, 1), date(2090, 3, 8), berlin())
            .len(),
        7
    );
    let decades = cal.occurrences(date(2020, 1, 1), date(2100, 1, 1), berlin());
    assert_eq!(decades.len(), concord_calendar::MAX_OCCURRENCES_PER_EVENT);
}

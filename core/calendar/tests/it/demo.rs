//! The demo calendar a new user sees lands in the current week.

use chrono::Duration;
use concord_calendar::demo::monday as monday_of;
use concord_calendar::{Calendar, DEMO_ICS, demo_calendar, parse_ics};
use concord_core::{Document, ReplicaId};

use crate::support::{berlin, date};

fn week(today: chrono::NaiveDate, zone: chrono_tz::Tz, display: chrono_tz::Tz) -> Vec<String> {
    let demo = demo_calendar(today, zone).unwrap();
    let mut doc = Document::new(ReplicaId(1));
    demo.write(&mut doc.transaction(), "Demo").unwrap();
    let start = monday_of(today);
    Calendar::open(&doc)
        .unwrap()
        .occurrences(start, start + Duration::days(7), display)
        .iter()
        .map(|o| {
            if o.all_day {
                format!("{} all day {}", o.start.format("%a %d"), o.title)
            } else {
                format!(
                    "{}–{} {}",
                    o.start.format("%a %d %H:%M"),
                    o.end.format("%H:%M"),
                    o.title
                )
            }
        })
        .collect()
}

#[test]
fn the_demo_file_reads_without_warnings() {
    let demo = parse_ics(DEMO_ICS, berlin()).unwrap();
    assert_eq!(demo.warnings, []);
    assert_eq!(demo.name.as_deref(), Some("Team week"));
    assert_eq!(demo.events.len(), 11);
}

#[test]
fn the_demo_week_is_this_week_in_the_users_zone() {
    // A Wednesday in summer time; the file's week is in winter.
    let shown = week(date(2026, 6, 17), berlin(), berlin());
    assert_eq!(
        shown,
        [
            "Mon 15 09:30–09:45 Stand-up",
            "Mon 15 10:00–11:00 Weekly planning",
            "Mon 15 16:00–17:00 Team retrospective",
            "Tue 16 09:00–10:00 All-hands",
            "Tue 16 10:15–10:30 Stand-up (after the all-hands)",
            "Tue 16 11:00–11:30 1:1 Ada / Grace",
            "Tue 16 12:30–13:30 Lunch with the design team",
            "Wed 17 09:30–09:45 Stand-up",
            "Wed 17 14:00–15:00 Sprint demo",
            "Wed 17 16:00–17:00 Call with the New York office",
            "Thu 18 all day Team offsite",
            "Sat 20 10:00–12:00 Climbing",
            "Sun 21 04:00–06:00 Server maintenance window",
        ]
    );
    // A user in Tokyo sees local times at 09:30 too, New York's call at
    // New York's 10:00 (23:00 in Tokyo) and UTC's maintenance in Tokyo time.
    let tokyo = chrono_tz::Asia::Tokyo;
    let shown = week(date(2026, 6, 17), tokyo, tokyo);
    assert!(shown.contains(&"Mon 15 09:30–09:45 Stand-up".to_string()));
    assert!(
        shown.contains(&"Wed 17 23:00–00:00 Call with the New York office".to_string()),
        "{shown:#?}"
    );
    assert!(shown.contains(&"Sun 21 11:00–13:00 Server maintenance window".to_string()));
}

#[test]
fn the_week_after_the_demo_week_goes_on_repeating() {
    let today = date(2026, 6, 24);
    let demo = demo_calendar(date(2026, 6, 17), berlin()).unwrap();
    let mut doc = Document::new(ReplicaId(1));
    demo.write(&mut doc.transaction(), "Demo").unwrap();
    let start = monday_of(today);
    let titles: Vec<String> = Calendar::open(&doc)
        .unwrap()
        .occurrences(start, start + Duration::days(7), berlin())
        .into_iter()
        .map(|o| format!("{} {}", o.start.format("%a"), o.title))
        .collect();
    assert_eq!(
        titles,
        [
            "Mon Stand-up",
            "Mon Weekly planning",
            "Tue Stand-up",
            "Wed Stand-up",
            "Thu Stand-up",
            "Fri Stand-up"
        ]
    );
}

//! Random concurrent histories on three replicas: moves, resizes, deletes,
//! restores, cancelled and changed occurrences, and syncs between random
//! pairs. At every step, on every replica, no event ends before it starts
//! and every time shown is one some device wrote as a whole; after all
//! replicas meet, they agree on everything.
//!
//! Failures are not persisted to a file: paste the shrunk case below as a
//! named regression test instead.

use std::collections::BTreeSet;

use chrono::{Datelike as _, Duration};
use concord_calendar::{
    Calendar, CalendarError, EventData, Frequency, Occurrence, OccurrenceKey, Recurrence, Scope,
    When,
};
use concord_core::Document;
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::support::{berlin, date, edit, hours, monday, replicas, sync, sync_all};

const UIDS: [&str; 2] = ["single@test", "daily@test"];

#[derive(Clone, Debug)]
enum Step {
    /// Replica, event, occurrence (None: the series), start in minutes from
    /// Monday 00:00, length in minutes (0: all day, `days` long).
    Move {
        replica: usize,
        event: usize,
        occurrence: Option<u8>,
        start: i64,
        length: i64,
        days: i64,
    },
    /// Drag the end edge: new end in minutes from Monday 00:00 (may be
    /// before the start: the edit must be refused).
    Resize {
        replica: usize,
        event: usize,
        end: i64,
    },
    Delete(usize, usize),
    Restore(usize, usize),
    Cancel(usize, u8),
    Title(usize, usize, u8),
    Sync(usize, usize),
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, 0..2usize, prop::option::of(0..4u8), 0..(7 * 24 * 60i64), 0..240i64, 1..4i64)
            .prop_map(|(replica, event, occurrence, start, length, days)| Step::Move {
                replica, event, occurrence, start: start / 15 * 15, length: length / 15 * 15, days
            }),
        2 => (0..3usize, 0..2usize, 0..(7 * 24 * 60i64))
            .prop_map(|(replica, event, end)| Step::Resize { replica, event, end: end / 15 * 15 }),
        1 => (0..3usize, 0..2usize).prop_map(|(r, e)| Step::Delete(r, e)),
        1 => (0..3usize, 0..2usize).prop_map(|(r, e)| Step::Restore(r, e)),
        1 => (0..3usize, 0..4u8).prop_map(|(r, o)| Step::Cancel(r, o)),
        1 => (0..3usize, 0..2usize, 0..3u8).prop_map(|(r, e, t)| Step::Title(r, e, t)),
        3 => (0..3usize, 0..3usize).prop_map(|(a, b)| Step::Sync(a, b)),
    ]
}

fn base_events() -> Vec<EventData> {
    let single = EventData::new(UIDS[0], "Single", hours(monday(), 9, 10));
    let mut daily = EventData::new(UIDS[1], "Daily", hours(monday(), 8, 9));
    daily.recurrence = Some(Recurrence::new(Frequency::Daily));
    vec![single, daily]
}

fn occurrence_scope(n: u8) -> Scope {
    Scope::Occurrence(OccurrenceKey::of(&hours(
        monday() + Duration::days(i64::from(n)),
        8,
        9,
    )))
}

/// Runs one step; returns the `When` it wrote, if it wrote one.
fn run(docs: &mut [Document], step: &Step) -> Option<When> {
    match *step {
        Step::Move {
            replica,
            event,
            occurrence,
            start,
            length,
            days,
        } => {
            let scope = match occurrence {
                Some(n) if event == 1 => occurrence_scope(n),
                _ => Scope::Series,
            };
            let day0 = monday().and_hms_opt(0, 0, 0).unwrap();
            let when = if length == 0 {
                let first = monday() + Duration::days(start / (24 * 60));
                When::all_day(first, first + Duration::days(days)).ok()?
            } else {
                let s = day0 + Duration::minutes(start);
                When::timed_local(s, s + Duration::minutes(length), berlin()).ok()?
            };
            edit(&mut docs[replica], |c| {
                c.set_when(UIDS[event], &scope, when)
            })
            .ok()
            .map(|()| when)
        }
        Step::Resize {
            replica,
            event,
            end,
        } => {
            let current = Calendar::open(&docs[replica])
                .unwrap()
                .event(UIDS[event])?
                .data
                .when;
            let end = monday().and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(end);
            match current.resized(end, berlin()) {
                Ok(when) => edit(&mut docs[replica], |c| {
                    c.set_when(UIDS[event], &Scope::Series, when)
                })
                .ok()
                .map(|()| when),
                Err(e) => {
                    assert_eq!(e, CalendarError::EndNotAfterStart, "a drag above the start");
                    None
                }
            }
        }
        Step::Delete(r, e) => {
            let _ = edit(&mut docs[r], |c| c.delete_event(UIDS[e]));
            None
        }
        Step::Restore(r, e) => {
            let _ = edit(&mut docs[r], |c| c.restore_event(UIDS[e]));
            None
        }
        Step::Cancel(r, n) => {
            if let Scope::Occurrence(key) = occurrence_scope(n) {
                let _ = edit(&mut docs[r], |c| c.cancel_occurrence(UIDS[1], &key));
            }
            None
        }
        Step::Title(r, e, t) => {
            let _ = edit(&mut docs[r], |c| {
                c.set_title(UIDS[e], &Scope::Series, ["A", "B", "C"][t as usize])
            });
            None
        }
        Step::Sync(a, b) => {
            if a != b {
                let (lo, hi) = (a.min(b), a.max(b));
                let (left, right) = docs.split_at_mut(hi);
                sync(&mut left[lo], &mut right[0]);
            }
            None
        }
    }
}

fn view(doc: &Document) -> Vec<Occurrence> {
    Calendar::open(doc)
        .unwrap()
        .occurrences(date(2026, 4, 27), date(2026, 5, 18), berlin())
}

fn check(docs: &[Document], written: &BTreeSet<When>) {
    for doc in docs {
        let cal = Calendar::open(doc).unwrap();
        for o in view(doc) {
            assert!(o.end > o.start, "{o:?} ends before it starts");
            if !o.recurring {
                assert!(
                    written.contains(&o.when),
                    "{} was never written whole",
                    o.when
                );
            }
        }
        for uid in UIDS {
            let event = cal.event(uid).expect("events never vanish");
            let (start, end) = match (event.data.when.instants(), event.data.when.dates()) {
                (Some((s, e)), _) => (s.timestamp(), e.timestamp()),
                (None, Some((s, e))) => (s.num_days_from_ce().into(), e.num_days_from_ce().into()),
                _ => unreachable!(),
            };
            assert!(end > start);
            for choices in event.when_conflicts.values() {
                assert!(choices.len() > 1);
                for w in choices {
                    assert!(written.contains(w), "{w} was never written whole");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(Config { cases: 64, failure_persistence: None, ..Config::default() })]

    #[test]
    fn no_merge_ends_before_it_starts_and_replicas_converge(steps in prop::collection::vec(arb_step(), 1..40)) {
        let mut docs = replicas(3, &base_events());
        let mut written: BTreeSet<When> = base_events().iter().map(|e| e.when).collect();
        for step in &steps {
            if let Some(w) = run(&mut docs, step) {
                written.insert(w);
            }
            check(&docs, &written);
        }
        sync_all(&mut docs);
        check(&docs, &written);
        let first = view(&docs[0]);
        let conflicts = Calendar::open(&docs[0]).unwrap().conflicts();
        for doc in &docs[1..] {
            prop_assert_eq!(&view(doc), &first);
            prop_assert_eq!(&Calendar::open(doc).unwrap().conflicts(), &conflicts);
        }
    }
}

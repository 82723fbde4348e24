//! Each merge case of the calendar on two or three replicas that exchange
//! changes through the sync protocol.

use std::collections::BTreeSet;

use chrono::Duration;
use concord_calendar::{
    CalendarError, EventData, Frequency, OccurrenceKey, Recurrence, Scope, When,
};
use concord_core::{ObjId, ObjType, Value};

use crate::support::{berlin, calendar, date, edit, hours, monday, replicas, sync_all};

fn planning() -> EventData {
    let mut e = EventData::new("planning@test", "Planning", hours(monday(), 9, 10));
    e.attendees = ["Ada <ada@example.com>", "Grace <grace@example.com>"]
        .map(String::from)
        .into();
    e.notes = "Agenda".into();
    e
}

fn standup() -> EventData {
    let mut e = EventData::new("standup@test", "Stand-up", hours(monday(), 9, 10));
    e.recurrence = Some(Recurrence::new(Frequency::Daily));
    e
}

fn key_on(day: chrono::NaiveDate) -> OccurrenceKey {
    OccurrenceKey::of(&hours(day, 9, 10))
}

#[test]
fn concurrent_moves_conflict_on_every_replica_and_a_pick_on_a_third_resolves_it() {
    let mut docs = replicas(3, &[planning()]);
    let uid = "planning@test";
    let to_eleven = hours(monday(), 11, 12);
    let to_two = hours(monday(), 14, 15);
    edit(&mut docs[0], |c| c.set_when(uid, &Scope::Series, to_eleven)).unwrap();
    edit(&mut docs[1], |c| c.set_when(uid, &Scope::Series, to_two)).unwrap();
    sync_all(&mut docs);

    let mut winners = BTreeSet::new();
    for doc in &docs {
        let cal = calendar(doc);
        let event = cal.event(uid).unwrap();
        let choices = event.when_choices(&Scope::Series).expect("a conflict");
        assert_eq!(
            choices.iter().copied().collect::<BTreeSet<_>>(),
            BTreeSet::from([to_eleven, to_two])
        );
        winners.insert(choices[0]);
        let day = cal.occurrences(monday(), date(2026, 5, 5), berlin());
        assert_eq!(day.len(), 1, "one event, shown once");
        assert_eq!(day[0].conflict, Some(Scope::Series));
        assert_eq!(day[0].when, choices[0], "the winner is shown");
        assert_eq!(cal.conflicts().len(), 1);
    }
    assert_eq!(winners.len(), 1, "every replica shows the same winner");

    // The third device, which moved nothing, picks the earlier time.
    edit(&mut docs[2], |c| c.set_when(uid, &Scope::Series, to_eleven)).unwrap();
    sync_all(&mut docs);
    for doc in &docs {
        let cal = calendar(doc);
        let event = cal.event(uid).unwrap();
        assert!(!event.has_conflict());
        assert_eq!(event.data.when, to_eleven);
        let day = cal.occurrences(monday(), date(2026, 5, 5), berlin());
        assert_eq!(day[0].conflict, None);
        assert!(cal.conflicts().is_empty());
    }
}

#[test]
fn the_same_move_on_two_devices_is_no_conflict() {
    let mut docs = replicas(2, &[planning()]);
    let later = hours(monday(), 13, 14);
    for doc in &mut docs {
        edit(doc, |c| c.set_when("planning@test", &Scope::Series, later)).unwrap();
    }
    sync_all(&mut docs);
    let event = calendar(&docs[0]).event("planning@test").unwrap();
    assert!(!event.has_conflict());
    assert_eq!(event.data.when, later);
}

#[test]
fn start_and_end_never_mix_across_devices() {
    // One device moves the event later, the other makes it longer: a
    // per-field merge would give 14:00 to 12:00.
    let mut docs = replicas(2, &[planning()]);
    let uid = "planning@test";
    edit(&mut docs[0], |c| {
        c.set_when(uid, &Scope::Series, hours(monday(), 14, 15))
    })
    .unwrap();
    edit(&mut docs[1], |c| {
        c.set_when(uid, &Scope::Series, hours(monday(), 9, 12))
    })
    .unwrap();
    sync_all(&mut docs);
    let event = calendar(&docs[0]).event(uid).unwrap();
    for when in event.when_choices(&Scope::Series).unwrap() {
        let (start, end) = when.instants().unwrap();
        assert!(end > start);
        assert!(
            [hours(monday(), 14, 15), hours(monday(), 9, 12)].contains(when),
            "only whole values: {when}"
        );
    }
}

#[test]
fn edits_of_different_occurrences_do_not_conflict() {
    let mut docs = replicas(2, &[standup()]);
    let uid = "standup@test";
    let tuesday = date(2026, 5, 5);
    let wednesday = date(2026, 5, 6);
    let monday_key = Scope::Occurrence(key_on(monday()));
    let tuesday_key = Scope::Occurrence(key_on(tuesday));
    edit(&mut docs[0], |c| {
        c.set_when(uid, &monday_key, hours(monday(), 11, 12))?;
        c.set_title(uid, &monday_key, "Stand-up (late)")
    })
    .unwrap();
    edit(&mut docs[1], |c| {
        c.set_when(uid, &tuesday_key, hours(tuesday, 8, 9))?;
        c.set_location(uid, &tuesday_key, "Kitchen")
    })
    .unwrap();
    sync_all(&mut docs);
    for doc in &docs {
        let cal = calendar(doc);
        assert!(cal.conflicts().is_empty());
        let week = cal.occurrences(monday(), date(2026, 5, 7), berlin());
        let shown: Vec<(String, String, String)> = week
            .iter()
            .map(|o| {
                (
                    o.start.format("%a %H:%M").to_string(),
                    o.title.clone(),
                    o.location.clone(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("Mon 11:00".into(), "Stand-up (late)".into(), String::new()),
                ("Tue 08:00".into(), "Stand-up".into(), "Kitchen".into()),
                ("Wed 09:00".into(), "Stand-up".into(), String::new()),
            ]
        );
        assert!(week.iter().all(|o| o.recurring && o.conflict.is_none()));
        assert_eq!(week[2].scope, Scope::Occurrence(key_on(wednesday)));
    }
}

#[test]
fn the_same_occurrence_moved_twice_is_a_conflict_of_that_occurrence_only() {
    let mut docs = replicas(2, &[standup()]);
    let uid = "standup@test";
    let tuesday = date(2026, 5, 5);
    let scope = Scope::Occurrence(key_on(tuesday));
    edit(&mut docs[0], |c| {
        c.set_when(uid, &scope, hours(tuesday, 10, 11))
    })
    .unwrap();
    edit(&mut docs[1], |c| {
        c.set_when(uid, &scope, hours(tuesday, 15, 16))
    })
    .unwrap();
    sync_all(&mut docs);
    let cal = calendar(&docs[1]);
    let week = cal.occurrences(monday(), date(2026, 5, 7), berlin());
    let conflicts: Vec<_> = week.iter().map(|o| o.conflict.clone()).collect();
    assert_eq!(conflicts, [None, Some(scope.clone()), None]);
    let choices = cal
        .event(uid)
        .unwrap()
        .when_choices(&scope)
        .unwrap()
        .to_vec();
    assert_eq!(choices.len(), 2);

    // Picking on either device resolves it on both.
    edit(&mut docs[1], |c| c.set_when(uid, &scope, choices[1])).unwrap();
    sync_all(&mut docs);
    for doc in &docs {
        let week = calendar(doc).occurrences(monday(), date(2026, 5, 7), berlin());
        assert!(week.iter().all(|o| o.conflict.is_none()));
        assert_eq!(week[1].when, choices[1]);
    }
}

#[test]
fn delete_wins_over_a_concurrent_edit_and_restore_brings_the_edit_back() {
    let mut docs = replicas(3, &[planning()]);
    let uid = "planning@test";
    edit(&mut docs[0], |c| c.delete_event(uid)).unwrap();
    edit(&mut docs[1], |c| {
        c.set_title(uid, &Scope::Series, "Planning (moved)")?;
        c.set_when(uid, &Scope::Series, hours(monday(), 16, 17))
    })
    .unwrap();
    sync_all(&mut docs);
    for doc in &docs {
        let cal = calendar(doc);
        assert!(cal.events().is_empty(), "the delete wins");
        assert!(
            cal.occurrences(monday(), date(2026, 5, 11), berlin())
                .is_empty()
        );
        let deleted = cal.deleted_events();
        assert_eq!(deleted.len(), 1);
        assert_eq!(
            deleted[0].data.title, "Planning (moved)",
            "the edit is kept"
        );
    }
    // Editing a deleted event is refused with a clear error.
    assert_eq!(
        edit(&mut docs[2], |c| c.set_title(uid, &Scope::Series, "x")),
        Err(CalendarError::Deleted(uid.into()))
    );
    // Undo of the delete (on any device) restores the event with the edit.
    edit(&mut docs[2], |c| c.restore_event(uid)).unwrap();
    sync_all(&mut docs);
    for doc in &docs {
        let cal = calendar(doc);
        let week = cal.occurrences(monday(), date(2026, 5, 11), berlin());
        assert_eq!(week.len(), 1);
        assert_eq!(week[0].title, "Planning (moved)");
        assert_eq!(week[0].when, hours(monday(), 16, 17));
    }
}

#[test]
fn a_restore_and_a_concurrent_delete_end_deleted() {
    let mut docs = replicas(2, &[planning()]);
    let uid = "planning@test";
    edit(&mut docs[0], |c| c.delete_event(uid)).unwrap();
    sync_all(&mut docs);
    edit(&mut docs[0], |c| c.restore_event(uid)).unwrap();
    // The other device restores and deletes again, concurrently.
    edit(&mut docs[1], |c| {
        c.restore_event(uid)?;
        c.delete_event(uid)
    })
    .unwrap();
    sync_all(&mut docs);
    assert!(calendar(&docs[0]).event(uid).unwrap().deleted);
}

#[test]
fn undo_of_a_local_delete_restores_everything() {
    let mut docs = replicas(1, &[planning()]);
    let before = calendar(&docs[0]).event("planning@test").unwrap();
    edit(&mut docs[0], |c| c.delete_event("planning@test")).unwrap();
    assert!(calendar(&docs[0]).events().is_empty());
    edit(&mut docs[0], |c| c.restore_event("planning@test")).unwrap();
    assert_eq!(calendar(&docs[0]).event("planning@test").unwrap(), before);
}

#[test]
fn attendees_added_and_removed_concurrently() {
    let mut docs = replicas(2, &[planning()]);
    let uid = "planning@test";
    // One device removes Grace and Ada; the other invites Alan and, not
    // having seen the removal, invites Grace again.
    edit(&mut docs[0], |c| {
        assert!(c.remove_attendee(uid, "Grace <grace@example.com>")?);
        c.remove_attendee(uid, "Ada <ada@example.com>")
    })
    .unwrap();
    edit(&mut docs[1], |c| {
        c.add_attendee(uid, "Alan <alan@example.com>")?;
        c.add_attendee(uid, "Grace <grace@example.com>")
    })
    .unwrap();
    sync_all(&mut docs);
    for doc in &docs {
        let attendees = calendar(doc).event(uid).unwrap().data.attendees;
        assert_eq!(
            attendees,
            ["Alan <alan@example.com>", "Grace <grace@example.com>"]
                .map(String::from)
                .into(),
            "the concurrent add wins, the unopposed remove holds"
        );
    }
}

#[test]
fn notes_typed_on_two_devices_keep_both() {
    let mut docs = replicas(2, &[planning()]);
    let uid = "planning@test";
    edit(&mut docs[0], |c| c.set_notes(uid, "Bring coffee. Agenda")).unwrap();
    edit(&mut docs[1], |c| {
        c.splice_notes(uid, 6, 0, ": goals, risks")
    })
    .unwrap();
    sync_all(&mut docs);
    for doc in &docs {
        assert_eq!(
            calendar(doc).event(uid).unwrap().data.notes,
            "Bring coffee. Agenda: goals, risks"
        );
    }
}

#[test]
fn a_cancelled_occurrence_stays_cancelled_when_edited_concurrently() {
    let mut docs = replicas(2, &[standup()]);
    let uid = "standup@test";
    let tuesday = date(2026, 5, 5);
    let key = key_on(tuesday);
    edit(&mut docs[0], |c| c.cancel_occurrence(uid, &key)).unwrap();
    edit(&mut docs[1], |c| {
        c.set_title(uid, &Scope::Occurrence(key.clone()), "Stand-up with guests")
    })
    .unwrap();
    sync_all(&mut docs);
    for doc in &docs {
        let week = calendar(doc).occurrences(monday(), date(2026, 5, 7), berlin());
        let days: Vec<_> = week
            .iter()
            .map(|o| o.start.format("%a").to_string())
            .collect();
        assert_eq!(days, ["Mon", "Wed"]);
    }
    // Restoring the occurrence brings the edit back.
    edit(&mut docs[1], |c| c.restore_occurrence(uid, &key)).unwrap();
    sync_all(&mut docs);
    let week = calendar(&docs[0]).occurrences(monday(), date(2026, 5, 7), berlin());
    assert_eq!(week[1].title, "Stand-up with guests");
}

#[test]
fn moving_one_occurrence_into_another_week_shows_it_there_only() {
    let mut docs = replicas(1, &[standup()]);
    let uid = "standup@test";
    let scope = Scope::Occurrence(key_on(monday()));
    let next_week = monday() + Duration::days(7);
    edit(&mut docs[0], |c| {
        c.set_when(uid, &scope, hours(next_week, 14, 15))
    })
    .unwrap();
    let cal = calendar(&docs[0]);
    let this_week = cal.occurrences(monday(), next_week, berlin());
    assert_eq!(this_week[0].start.format("%a").to_string(), "Tue");
    let that_monday = cal.occurrences(next_week, next_week + Duration::days(1), berlin());
    let times: Vec<_> = that_monday
        .iter()
        .map(|o| (o.start.format("%H").to_string(), o.scope.clone()))
        .collect();
    assert_eq!(
        times,
        [
            ("09".to_string(), Scope::Occurrence(key_on(next_week))),
            ("14".to_string(), scope)
        ]
    );
}

#[test]
fn edits_of_occurrences_need_a_repeating_event_and_a_real_occurrence() {
    let mut docs = replicas(1, &[planning(), standup()]);
    let key = key_on(date(2026, 5, 5));
    assert_eq!(
        edit(&mut docs[0], |c| c.set_title(
            "planning@test",
            &Scope::Occurrence(key.clone()),
            "x"
        )),
        Err(CalendarError::NotRecurring("planning@test".into()))
    );
    let off_schedule = OccurrenceKey::of(&hours(date(2026, 5, 5), 10, 11));
    assert!(matches!(
        edit(&mut docs[0], |c| c
            .cancel_occurrence("standup@test", &off_schedule)),
        Err(CalendarError::NoSuchOccurrence { .. })
    ));
    assert_eq!(
        edit(&mut docs[0], |c| c.set_title(
            "nobody@test",
            &Scope::Series,
            "x"
        )),
        Err(CalendarError::NoSuchEvent("nobody@test".into()))
    );
    assert_eq!(
        edit(&mut docs[0], |c| c.add_event(&planning())),
        Err(CalendarError::DuplicateUid("planning@test".into()))
    );
    assert_eq!(docs[0].history_len(), 1, "nothing was written");
}

#[test]
fn a_bad_time_written_by_a_misbehaving_replica_hides_nothing() {
    // A replica that bypasses the calendar API writes an event time that
    // ends before it starts, concurrently with a good move.
    let mut docs = replicas(2, &[planning()]);
    let uid = "planning@test";
    let good = hours(monday(), 12, 13);
    edit(&mut docs[0], |c| c.set_when(uid, &Scope::Series, good)).unwrap();
    {
        let mut tx = docs[1].transaction();
        let Ok(Some(Value::Object(events, ObjType::Map))) = tx
            .doc()
            .get(ObjId::Root, "events")
            .map(Option::<&Value>::cloned)
        else {
            panic!("events map")
        };
        let Ok(Some(Value::Object(event, ObjType::Map))) =
            tx.doc().get(events, uid).map(Option::<&Value>::cloned)
        else {
            panic!("event map")
        };
        tx.put(
            event,
            "when",
            "timed 2026-05-04T12:00:00Z 2026-05-04T08:00:00Z Europe/Berlin",
        )
        .unwrap();
    }
    sync_all(&mut docs);
    let cal = calendar(&docs[0]);
    let event = cal.event(uid).unwrap();
    assert_eq!(event.data.when, good);
    assert!(!event.has_conflict(), "the bad value is no candidate");
    let shown = cal.occurrences(monday(), date(2026, 5, 5), berlin());
    assert!(shown.iter().all(|o| o.end > o.start));
}

#[test]
fn all_day_and_timed_values_can_meet_in_one_conflict() {
    let mut docs = replicas(2, &[planning()]);
    let uid = "planning@test";
    let all_day = When::all_day(monday(), date(2026, 5, 6)).unwrap();
    edit(&mut docs[0], |c| c.set_when(uid, &Scope::Series, all_day)).unwrap();
    edit(&mut docs[1], |c| {
        c.set_when(uid, &Scope::Series, hours(monday(), 17, 18))
    })
    .unwrap();
    sync_all(&mut docs);
    let cal = calendar(&docs[0]);
    let choices = cal.event(uid).unwrap().when_conflicts[&Scope::Series].clone();
    assert_eq!(choices.len(), 2);
    assert_eq!(choices.iter().filter(|w| w.is_all_day()).count(), 1);
}

/// Issue 13: two devices that add the same event (the same invitation,
/// imported on each while apart) used to make two event maps at one UID;
/// the key's winner hid the other one's notes and attendees everywhere.
#[test]
fn the_same_event_added_on_two_devices_keeps_what_each_wrote_into_it() {
    let mut docs = replicas(2, &[]);
    let mut a = planning();
    a.notes = "Room 4".into();
    a.attendees = BTreeSet::from(["Ada <ada@example.com>".to_string()]);
    let mut b = planning();
    b.notes = "Bring slides".into();
    b.attendees = BTreeSet::from(["Grace <grace@example.com>".to_string()]);
    edit(&mut docs[0], |c| c.add_event(&a)).unwrap();
    edit(&mut docs[1], |c| c.add_event(&b)).unwrap();
    sync_all(&mut docs);
    for doc in &docs {
        let event = calendar(doc).event("planning@test").expect("one event");
        assert!(
            event.data.notes.contains("Room 4"),
            "{:?}",
            event.data.notes
        );
        assert!(
            event.data.notes.contains("Bring slides"),
            "{:?}",
            event.data.notes
        );
        assert_eq!(
            event.data.attendees,
            BTreeSet::from([
                "Ada <ada@example.com>".to_string(),
                "Grace <grace@example.com>".to_string()
            ])
        );
    }
    assert!(docs[0] == docs[1]);
}

/// Two devices that each make the same empty document a calendar at once
/// share one events map: every event either adds is shown.
#[test]
fn a_calendar_made_on_two_devices_at_once_shows_both_devices_events() {
    let mut docs: Vec<_> = (1..=2)
        .map(|r| concord_core::Document::new(concord_core::ReplicaId(r)))
        .collect();
    for (doc, event) in docs.iter_mut().zip([planning(), standup()]) {
        let mut tx = doc.transaction();
        let mut cal = concord_calendar::CalendarTx::create(&mut tx, "Team").unwrap();
        cal.add_event(&event).unwrap();
    }
    sync_all(&mut docs);
    for doc in &docs {
        let uids: BTreeSet<String> = calendar(doc)
            .events()
            .into_iter()
            .map(|e| e.data.uid)
            .collect();
        assert_eq!(
            uids,
            BTreeSet::from(["planning@test".to_string(), "standup@test".to_string()])
        );
    }
}

#[test]
fn a_rule_and_its_extra_dates_merge_as_one_value() {
    // The laptop makes the stand-up weekly on Mondays plus one extra
    // Wednesday; the phone, meanwhile, makes it the second Tuesday of
    // the month. Whichever wins, it wins whole: never the monthly rule
    // with the weekly rule's extra Wednesday.
    let mut docs = replicas(2, &[standup()]);
    let uid = "standup@test";
    let wednesday = key_on(date(2026, 5, 6));
    let weekly = Recurrence::weekly_on(&[chrono::Weekday::Mon]).with_extra([wednesday.clone()]);
    let monthly = Recurrence::monthly_on_nth(&[(2, chrono::Weekday::Tue)]);
    edit(&mut docs[0], |c| c.set_recurrence(uid, Some(&weekly))).unwrap();
    edit(&mut docs[1], |c| c.set_recurrence(uid, Some(&monthly))).unwrap();
    sync_all(&mut docs);
    let rule = calendar(&docs[0])
        .event(uid)
        .unwrap()
        .data
        .recurrence
        .unwrap();
    assert!(rule == weekly || rule == monthly, "{rule:?}");
    let days: Vec<_> = calendar(&docs[1])
        .occurrences(monday(), date(2026, 6, 1), berlin())
        .iter()
        .map(|o| o.start.format("%d").to_string())
        .collect();
    if rule == weekly {
        assert_eq!(days, ["04", "06", "11", "18", "25"]);
    } else {
        assert_eq!(days, ["04", "12"], "the start, then the second Tuesday");
    }
    // Cancelling the extra date works like cancelling any occurrence.
    if rule == weekly {
        edit(&mut docs[1], |c| c.cancel_occurrence(uid, &wednesday)).unwrap();
        sync_all(&mut docs);
        let shown = calendar(&docs[0]).occurrences(monday(), date(2026, 5, 11), berlin());
        assert_eq!(shown.len(), 1);
    }
}

#[test]
fn a_rule_stored_before_extra_dates_existed_reads_the_same() {
    // The stored form of a rule without extra dates did not change, so a
    // document written by an older Concord shows the same series.
    let mut docs = replicas(1, &[standup()]);
    let events = calendar(&docs[0])
        .document()
        .get(ObjId::Root, "events")
        .unwrap();
    let Some(Value::Object(events, ObjType::Map)) = events.cloned() else {
        panic!("events map")
    };
    let Some(Value::Object(event, ObjType::Map)) =
        docs[0].get(events, "standup@test").unwrap().cloned()
    else {
        panic!("event map")
    };
    {
        let mut tx = docs[0].transaction();
        tx.put(event, "rule", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=6")
            .unwrap();
    }
    let shown = calendar(&docs[0]).occurrences(monday(), date(2026, 7, 1), berlin());
    let days: Vec<_> = shown
        .iter()
        .map(|o| o.start.format("%d.%m").to_string())
        .collect();
    assert_eq!(days, ["04.05", "06.05", "18.05", "20.05", "01.06", "03.06"]);
}

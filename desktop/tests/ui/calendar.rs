//! Calendars in the window: an event drawn out on empty time, moved and
//! resized by dragging (asserted on the times the document stores), deleted
//! and brought back with the toast's Undo; and two windows that moved the
//! same event while offline, synced through a real relay, showing the
//! conflict mark until one of them picks a time.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use concord_calendar::{Calendar, CalendarTx, Event, EventData, When};
use concord_desktop::app::ConcordApp;
use concord_desktop::calendar::week_grid::WeekGrid;
use concord_wire::DocId;
use egui::{Pos2, pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use crate::support::{
    app, harness_stepping, has_label, open_link, runtime, start_relay, wait_until,
};

/// The window at screen frame rate, so two clicks can be a double click.
pub(crate) fn harness(app: ConcordApp) -> Harness<'static, ConcordApp> {
    harness_stepping(app, 1.0 / 60.0)
}

pub(crate) fn berlin() -> Tz {
    "Europe/Berlin".parse().unwrap()
}

pub(crate) fn grid(h: &Harness<'_, ConcordApp>) -> WeekGrid {
    h.state()
        .calendar()
        .and_then(concord_desktop::calendar::CalendarView::week_grid)
        .expect("the week view is showing")
}

/// Day `day` (0 = Monday) of the week shown, at `hour:minute`.
pub(crate) fn at(h: &Harness<'_, ConcordApp>, day: u32, hour: u32, minute: u32) -> NaiveDateTime {
    grid(h).date(day).and_hms_opt(hour, minute, 0).unwrap()
}

/// Where time `t` is on the screen, a little right of the column's edge.
pub(crate) fn point(h: &Harness<'_, ConcordApp>, t: NaiveDateTime) -> Pos2 {
    let g = grid(h);
    let day = g.day_index(t.date()).expect("on the grid");
    let minutes =
        u16::try_from((t - t.date().and_hms_opt(0, 0, 0).unwrap()).num_minutes()).unwrap();
    pos2(g.column(day).left() + 12.0, g.y_at(f32::from(minutes)))
}

/// Presses at `from`, moves to `to` in two steps, lets go.
pub(crate) fn drag(h: &mut Harness<'_, ConcordApp>, from: Pos2, to: Pos2) {
    h.hover_at(from);
    h.run_steps(1);
    h.drag_at(from);
    h.run_steps(1);
    h.hover_at(from + (to - from) * 0.5);
    h.run_steps(1);
    h.hover_at(to);
    h.run_steps(1);
    h.drop_at(to);
    h.run_steps(3);
}

/// Double-clicks time `t` of the week shown.
pub(crate) fn double_click(h: &mut Harness<'_, ConcordApp>, t: NaiveDateTime) {
    // Half a second after any earlier click, or egui counts a triple click
    // (and the grid may still be settling its scroll).
    h.run_steps(30);
    let pos = point(h, t);
    h.hover_at(pos);
    h.run_steps(1);
    for _ in 0..2 {
        for pressed in [true, false] {
            h.event(egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: egui::Modifiers::NONE,
            });
            h.run_steps(1);
        }
    }
    h.run_steps(2);
}

pub(crate) fn calendar_id(h: &Harness<'_, ConcordApp>) -> DocId {
    h.state().open_document().unwrap().clone()
}

/// Writes an event into calendar `id` through the app's client, as another
/// device's edit would arrive.
pub(crate) fn add_event(
    h: &Harness<'_, ConcordApp>,
    id: &DocId,
    uid: &str,
    title: &str,
    when: When,
) {
    h.state()
        .client()
        .edit(id, |tx| {
            CalendarTx::open(tx)
                .unwrap()
                .add_event(&EventData::new(uid, title, when))
        })
        .unwrap()
        .value_if_saved()
        .unwrap()
        .unwrap();
}

pub(crate) fn events(h: &Harness<'_, ConcordApp>) -> Vec<Event> {
    let id = calendar_id(h);
    h.state()
        .client()
        .with_document(&id, |doc| Calendar::open(doc).unwrap().events())
        .unwrap()
}

pub(crate) fn only_event(h: &Harness<'_, ConcordApp>) -> Event {
    let all = events(h);
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().unwrap()
}

/// Start and end of `when` as wall-clock times in Berlin.
pub(crate) fn local(when: &When) -> (NaiveDateTime, NaiveDateTime) {
    (when.local_start(berlin()), when.local_end(berlin()))
}

pub(crate) fn new_calendar(h: &mut Harness<'_, ConcordApp>) {
    h.state_mut().set_zone(berlin());
    h.get_by_label("New calendar").click();
    h.run_steps(3);
    assert!(h.state().calendar().is_some(), "the calendar view opens");
}

#[test]
fn create_move_resize_delete_and_undo_by_pointer() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(app(dir.path(), 1, None, &rt));
    h.run_steps(2);
    new_calendar(&mut h);

    // Draw out Wednesday 10:00–11:30 on empty time.
    let (from, to) = (at(&h, 2, 10, 0), at(&h, 2, 11, 30));
    let (p, q) = (point(&h, from) + egui::vec2(0.0, 2.0), point(&h, to));
    drag(&mut h, p, q);
    let event = only_event(&h);
    assert_eq!(local(&event.data.when), (from, to));
    assert_eq!(event.data.when.zone(), Some(berlin()));
    // The editor opened with the title selected: typing names the event.
    assert_eq!(h.state().calendar().unwrap().editing(), Some(event.uid()));
    h.get_by_label("Title").type_text("Dentist");
    h.run_steps(2);
    assert_eq!(only_event(&h).data.title, "Dentist");
    h.get_by_label("Done").click();
    h.run_steps(3);
    assert_eq!(h.state().calendar().unwrap().editing(), None);
    assert!(h.query_by_label_contains("Dentist, 10:00–11:30").is_some());

    // Move it by its middle to Thursday, an hour later (snapped to 15 min).
    let grab = point(&h, at(&h, 2, 10, 40));
    let drop = point(&h, at(&h, 3, 11, 47));
    drag(&mut h, grab, drop);
    let moved = only_event(&h);
    assert_eq!(
        local(&moved.data.when),
        (at(&h, 3, 11, 0), at(&h, 3, 12, 30)),
        "a day and an hour later, same length"
    );

    // Pull its bottom edge down to 13:15.
    let edge = point(&h, at(&h, 3, 12, 30)) - egui::vec2(0.0, 3.0);
    let target = point(&h, at(&h, 3, 13, 14));
    drag(&mut h, edge, target);
    let resized = only_event(&h);
    assert_eq!(
        local(&resized.data.when),
        (at(&h, 3, 11, 0), at(&h, 3, 13, 15))
    );

    // Select it, press Delete: gone, with a toast; Undo brings it back.
    h.get_by_label_contains("Dentist, 11:00–13:15").click();
    h.run_steps(2);
    h.key_press(egui::Key::Delete);
    h.run_steps(2);
    assert!(events(&h).is_empty(), "deleted");
    assert!(has_label(&h, "Event deleted"));
    h.get_by_label("Undo").click();
    h.run_steps(2);
    let back = only_event(&h);
    assert_eq!(back.data.title, "Dentist");
    assert_eq!(
        local(&back.data.when),
        (at(&h, 3, 11, 0), at(&h, 3, 13, 15))
    );
    assert!(!has_label(&h, "Event deleted"));
}

#[test]
fn a_click_on_empty_time_makes_a_one_hour_event_and_overlapping_events_sit_side_by_side() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(app(dir.path(), 1, None, &rt));
    h.run_steps(2);
    new_calendar(&mut h);
    // A click lands on the quarter hour it is in.
    for (hour, minute, title) in [(9, 5, "First"), (10, 35, "Second")] {
        let p = point(&h, at(&h, 1, hour, minute));
        h.hover_at(p);
        h.run_steps(1);
        h.drag_at(p);
        h.run_steps(1);
        h.drop_at(p);
        h.run_steps(3);
        h.get_by_label("Title").type_text(title);
        h.run_steps(1);
        h.get_by_label("Done").click();
        h.run_steps(2);
    }
    // Second (10:30–11:30) dragged up by an hour, onto First.
    let (grab, drop) = (point(&h, at(&h, 1, 10, 50)), point(&h, at(&h, 1, 9, 50)));
    drag(&mut h, grab, drop);
    let mut all = events(&h);
    all.sort_by_key(|e| e.data.when);
    let spans: Vec<_> = all.iter().map(|e| local(&e.data.when)).collect();
    assert_eq!(
        spans,
        vec![
            (at(&h, 1, 9, 0), at(&h, 1, 10, 0)),
            (at(&h, 1, 9, 30), at(&h, 1, 10, 30))
        ]
    );
    let first = h.get_by_label_contains("First, 09:00").rect();
    let second = h.get_by_label_contains("Second, 09:30").rect();
    assert!(
        first.right() <= second.left() + 1.0,
        "overlapping events are laid side by side: {first:?} {second:?}"
    );
    let column = grid(&h).column(1);
    assert!(first.width() < column.width() * 0.6);
}

/// Moves the event titled `title` on `h` to Tuesday `hour`:00 by dragging.
fn drag_event_to(h: &mut Harness<'_, ConcordApp>, from_hour: u32, to_hour: u32) {
    let grab = point(h, at(h, 1, from_hour, 20));
    let drop = point(h, at(h, 1, to_hour, 20));
    drag(h, grab, drop);
}

#[test]
fn concurrent_moves_offline_show_a_conflict_until_one_time_is_picked() {
    let rt = runtime();
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&rt, relay_dir.path());
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = harness(app(dir_a.path(), 1, Some(&relay), &rt));
    let mut b = harness(app(dir_b.path(), 2, Some(&relay), &rt));
    a.run_steps(2);
    new_calendar(&mut a);
    let id = calendar_id(&a);
    // Tuesday 09:00–10:00 "Review", written on A.
    let (start, end) = (at(&a, 1, 9, 0), at(&a, 1, 10, 0));
    let when = When::timed_local(start, end, berlin()).unwrap();
    add_event(&a, &id, "review@test", "Review", when);

    b.state_mut().set_zone(berlin());
    open_link(&mut b, &relay, &id);
    wait_until(&mut b, "B to show the event", |b| {
        b.query_by_label_contains("Review, 09:00–10:00").is_some()
    });
    wait_until(&mut b, "B's list to tag it a calendar", |b| {
        b.state().documents()[0].kind == Some(concord_desktop::store::DocKind::Calendar)
    });
    wait_until(&mut a, "A synced", |a| has_label(a, "Synced"));

    // Both go offline and move it: A to 11:00, B to 14:00.
    for h in [&mut a, &mut b] {
        h.get_by_label("Work offline").click();
        h.run_steps(2);
    }
    drag_event_to(&mut a, 9, 11);
    drag_event_to(&mut b, 9, 14);
    assert_eq!(local(&only_event(&a).data.when).0, at(&a, 1, 11, 0));
    assert_eq!(local(&only_event(&b).data.when).0, at(&b, 1, 14, 0));
    assert!(!has_label(&a, "Conflict: Review"));

    // Online again: both show the conflict mark and the same winner.
    for h in [&mut a, &mut b] {
        h.get_by_label("Work offline").click();
        h.run_steps(2);
    }
    for (h, name) in [(&mut a, "A"), (&mut b, "B")] {
        wait_until(h, &format!("the conflict mark on {name}"), |h| {
            has_label(h, "Conflict: Review")
        });
    }
    assert_eq!(only_event(&a).data.when, only_event(&b).data.when);
    let choices = only_event(&b)
        .when_conflicts
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(choices.len(), 2);

    // B clicks the mark and keeps A's time (11:00).
    b.get_by_label("Conflict: Review").click();
    b.run_steps(2);
    assert!(b.query_by_label_contains("moved on two devices").is_some());
    let elevens = choices
        .iter()
        .find(|w| local(w).0 == at(&b, 1, 11, 0))
        .unwrap();
    b.get_by_label_contains(&elevens.label(berlin())).click();
    b.run_steps(2);
    for (h, name) in [(&mut a, "A"), (&mut b, "B")] {
        wait_until(h, &format!("the conflict to resolve on {name}"), |h| {
            !has_label(h, "Conflict: Review") && !only_event(h).has_conflict()
        });
        assert_eq!(
            local(&only_event(h).data.when),
            (at(h, 1, 11, 0), at(h, 1, 12, 0)),
            "{name} keeps the picked time"
        );
    }
}

#[test]
fn the_demo_calendar_shows_this_week_in_the_week_view() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    {
        let store = concord_desktop::replicas::SharedStore::new(
            concord_desktop::store::SqliteStore::open(dir.path(), || concord_core::ReplicaId(5))
                .unwrap(),
        );
        let client = concord_desktop::replicas::start_client(&store, None, rt.handle()).unwrap();
        // The zone the window starts in, so "this week" is the same week.
        let zone = concord_desktop::calendar::zone::device_zone();
        let today = chrono::Utc::now().with_timezone(&zone).date_naive();
        concord_desktop::first_run::seed_demo_calendar(&client, &store, today, zone, [7; 16])
            .unwrap()
            .unwrap();
        rt.block_on(client.shutdown());
    }
    let mut h = harness(app(dir.path(), 5, None, &rt));
    h.run_steps(3);
    assert!(
        h.state().calendar().is_some(),
        "the demo opens as a calendar"
    );
    assert!(
        h.query_all_by_label_contains("Stand-up, 09:30–09:45")
            .count()
            >= 2
    );
    assert!(
        h.query_by_label_contains("Weekly planning, 10:00–11:00")
            .is_some()
    );
    h.get_by_label("Month").click();
    h.run_steps(2);
    assert!(h.state().calendar().unwrap().month_grid().is_some());
}

const SMALL_ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nX-WR-CALNAME:Imported team\r\n\
BEGIN:VEVENT\r\nUID:import-timed@example.com\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Planning\r\n\
DTSTART;TZID=America/New_York:20260504T090000\r\nDTEND;TZID=America/New_York:20260504T100000\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:import-allday@example.com\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Offsite\r\n\
DTSTART;VALUE=DATE:20260506\r\nDTEND;VALUE=DATE:20260508\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// Types `text` into the field labelled `label`, replacing what it held.
pub(crate) fn fill_field(h: &mut Harness<'_, ConcordApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label(label).type_text(text);
    h.run_steps(1);
}

#[test]
fn import_and_export_ics_from_the_window_and_bad_files_are_refused() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut h = harness(app(dir.path(), 1, None, &rt));
    h.run_steps(2);

    // Bad input first: a missing file, then one that is not iCalendar.
    h.get_by_label("Import .ics…").click();
    h.run_steps(2);
    let missing = files.path().join("missing.ics");
    fill_field(&mut h, "File", missing.to_str().unwrap());
    h.get_by_label("Import").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("cannot read").is_some());
    let garbage = files.path().join("garbage.ics");
    std::fs::write(&garbage, "this is not a calendar").unwrap();
    fill_field(&mut h, "File", garbage.to_str().unwrap());
    h.get_by_label("Import").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("garbage.ics:").is_some());
    assert!(
        h.state().documents().is_empty(),
        "nothing half-made is left"
    );

    // A good file becomes a calendar, named as the file says.
    let good = files.path().join("team.ics");
    std::fs::write(&good, SMALL_ICS).unwrap();
    fill_field(&mut h, "File", good.to_str().unwrap());
    h.get_by_label("Import").click();
    h.run_steps(3);
    assert!(h.state().calendar().is_some());
    let mut uids: Vec<String> = events(&h).iter().map(|e| e.uid().to_owned()).collect();
    uids.sort();
    assert_eq!(
        uids,
        ["import-allday@example.com", "import-timed@example.com"]
    );
    assert_eq!(h.state().documents()[0].title, "Imported team");
    assert_eq!(
        h.state().documents()[0].kind,
        Some(concord_desktop::store::DocKind::Calendar),
        "marked a calendar in the list's cache"
    );

    // Export it back: the UIDs survive.
    h.get_by_label("Export .ics…").click();
    h.run_steps(2);
    let out = files.path().join("out.ics");
    fill_field(&mut h, "File", out.to_str().unwrap());
    h.get_by_label("Save .ics").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("Saved 2 events").is_some());
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written.contains("UID:import-timed@example.com"),
        "{written}"
    );
    assert!(written.contains("UID:import-allday@example.com"));
    assert!(written.contains("America/New_York"));

    // A path that cannot be written is reported, nothing else happens.
    let bad = files.path().join("no-such-dir").join("x.ics");
    fill_field(&mut h, "File", bad.to_str().unwrap());
    h.get_by_label("Save .ics").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("Not saved").is_some());
    assert_eq!(events(&h).len(), 2);
}

#[test]
fn a_repeating_event_moves_one_occurrence_or_all_as_asked() {
    use concord_calendar::{Frequency, Recurrence};
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(app(dir.path(), 1, None, &rt));
    h.run_steps(2);
    new_calendar(&mut h);
    let id = calendar_id(&h);
    let when = When::timed_local(at(&h, 0, 9, 0), at(&h, 0, 9, 30), berlin()).unwrap();
    let mut data = EventData::new("daily@test", "Daily", when);
    data.recurrence = Some(Recurrence::new(Frequency::Daily));
    h.state()
        .client()
        .edit(&id, |tx| CalendarTx::open(tx).unwrap().add_event(&data))
        .unwrap()
        .value_if_saved()
        .unwrap()
        .unwrap();
    h.run_steps(2);

    // Tuesday's occurrence alone, to 10:00.
    let (grab, drop) = (point(&h, at(&h, 1, 9, 10)), point(&h, at(&h, 1, 10, 10)));
    drag(&mut h, grab, drop);
    assert!(h.query_by_label_contains("repeats").is_some(), "it asks");
    h.get_by_label("This occurrence").click();
    h.run_steps(2);
    let event = only_event(&h);
    assert_eq!(
        local(&event.data.when).0,
        at(&h, 0, 9, 0),
        "the series stays"
    );
    let moved: Vec<_> = event
        .data
        .overrides
        .values()
        .filter_map(|o| o.when)
        .map(|w| local(&w))
        .collect();
    assert_eq!(moved, vec![(at(&h, 1, 10, 0), at(&h, 1, 10, 30))]);
    assert!(h.query_by_label_contains("Daily, 10:00–10:30").is_some());

    // Wednesday's, for all of them, to 11:00: the series moves.
    let (grab, drop) = (point(&h, at(&h, 2, 9, 10)), point(&h, at(&h, 2, 11, 10)));
    drag(&mut h, grab, drop);
    h.get_by_label("All occurrences").click();
    h.run_steps(2);
    let event = only_event(&h);
    assert_eq!(
        local(&event.data.when),
        (at(&h, 0, 11, 0), at(&h, 0, 11, 30))
    );

    // Cancel asks nothing and changes nothing.
    let (grab, drop) = (point(&h, at(&h, 4, 11, 10)), point(&h, at(&h, 4, 15, 10)));
    drag(&mut h, grab, drop);
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert_eq!(only_event(&h).data.when, event.data.when);

    // Thursday's occurrence deleted from its editor; Undo brings it back.
    let thursday = at(&h, 3, 11, 10);
    double_click(&mut h, thursday);
    assert_eq!(
        h.state().calendar().unwrap().editing(),
        Some("daily@test"),
        "a double click opens the editor"
    );
    h.get_by_label("Delete this occurrence").click();
    h.run_steps(2);
    assert_eq!(only_event(&h).data.cancelled.len(), 1);
    assert!(has_label(&h, "Occurrence deleted"));
    h.get_by_label("Undo").click();
    h.run_steps(2);
    assert!(only_event(&h).data.cancelled.is_empty());
}

#[test]
fn deleted_on_one_device_while_edited_on_the_other_is_explained_and_restorable() {
    let rt = runtime();
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&rt, relay_dir.path());
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = harness(app(dir_a.path(), 1, Some(&relay), &rt));
    let mut b = harness(app(dir_b.path(), 2, Some(&relay), &rt));
    a.run_steps(2);
    new_calendar(&mut a);
    let id = calendar_id(&a);
    let when = When::timed_local(at(&a, 1, 9, 0), at(&a, 1, 10, 0), berlin()).unwrap();
    add_event(&a, &id, "retro@test", "Retro", when);
    b.state_mut().set_zone(berlin());
    open_link(&mut b, &relay, &id);
    wait_until(&mut b, "B to show the event", |b| {
        b.query_by_label_contains("Retro, 09:00–10:00").is_some()
    });
    wait_until(&mut a, "A synced", |a| has_label(a, "Synced"));
    for h in [&mut a, &mut b] {
        h.get_by_label("Work offline").click();
        h.run_steps(2);
    }

    // A edits the notes in the editor; B deletes the event.
    let retro = at(&a, 1, 9, 20);
    double_click(&mut a, retro);
    a.get_by_label("Notes").focus();
    a.run_steps(1);
    a.get_by_label("Notes").type_text("Bring the sticky notes");
    a.run_steps(2);
    assert_eq!(only_event(&a).data.notes, "Bring the sticky notes");
    let retro_b = point(&b, at(&b, 1, 9, 20));
    b.hover_at(retro_b);
    b.run_steps(30);
    b.drag_at(retro_b);
    b.run_steps(1);
    b.drop_at(retro_b);
    b.run_steps(2);
    b.key_press(egui::Key::Delete);
    b.run_steps(2);
    assert!(events(&b).is_empty());

    // Together again: the delete wins on both, and A is told why.
    for h in [&mut a, &mut b] {
        h.get_by_label("Work offline").click();
        h.run_steps(2);
    }
    wait_until(&mut a, "A to see the delete", |a| events(a).is_empty());
    wait_until(&mut a, "the explanation in A's editor", |a| {
        a.query_by_label_contains("A delete wins over edits made at the same time")
            .is_some()
    });
    wait_until(&mut b, "B to list it as recently deleted", |b| {
        has_label(b, "Recently deleted (1)")
    });

    // Restoring it on A brings it back with A's notes, on both devices.
    a.get_by_label("Restore event").click();
    a.run_steps(2);
    for (h, name) in [(&mut a, "A"), (&mut b, "B")] {
        wait_until(h, &format!("the event back on {name}"), |h| {
            events(h).len() == 1
        });
        assert_eq!(only_event(h).data.notes, "Bring the sticky notes", "{name}");
    }
}

#[test]
fn the_editor_writes_every_field() {
    use concord_calendar::Frequency;
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(app(dir.path(), 1, None, &rt));
    h.run_steps(2);
    new_calendar(&mut h);
    let p = point(&h, at(&h, 0, 9, 5));
    h.hover_at(p);
    h.run_steps(1);
    h.drag_at(p);
    h.run_steps(1);
    h.drop_at(p);
    h.run_steps(3);
    h.get_by_label("Title").type_text("Board meeting");
    h.run_steps(1);
    fill_field(&mut h, "Location", "Room 4");
    fill_field(&mut h, "Add attendee", "ada@example.com");
    h.get_by_label("Add").click();
    h.run_steps(2);
    fill_field(&mut h, "Add attendee", "alan@example.com");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    h.get_by_label("Colour teal").click();
    h.run_steps(2);
    fill_field(&mut h, "Notes", "Agenda: budget");
    // New times, applied when the field is left.
    fill_field(&mut h, "Starts (time)", "14:00");
    fill_field(&mut h, "Ends (time)", "15:30");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    let e = only_event(&h);
    assert_eq!(e.data.title, "Board meeting");
    assert_eq!(e.data.location, "Room 4");
    assert_eq!(e.data.notes, "Agenda: budget");
    assert_eq!(e.data.colour.as_deref(), Some("teal"));
    assert_eq!(
        e.data
            .attendees
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["ada@example.com", "alan@example.com"]
    );
    assert_eq!(local(&e.data.when), (at(&h, 0, 14, 0), at(&h, 0, 15, 30)));

    // A time that makes no sense is refused with a reason; nothing changes.
    fill_field(&mut h, "Ends (time)", "13:00");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("end must be after the start")
            .is_some()
    );
    assert_eq!(local(&only_event(&h).data.when).1, at(&h, 0, 15, 30));
    fill_field(&mut h, "Ends (time)", "half past");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert!(h.query_by_label_contains("not a time like 09:30").is_some());

    // Remove an attendee; make it repeat weekly; then all day.
    // Attendees are listed in order: the first "Remove" is Ada's.
    h.query_all_by_label("Remove").next().unwrap().click();
    h.run_steps(2);
    assert_eq!(
        only_event(&h)
            .data
            .attendees
            .into_iter()
            .collect::<Vec<_>>(),
        ["alan@example.com"]
    );
    h.get_by_label("Repeat").click();
    h.run_steps(2);
    h.get_by_label("Weekly").click();
    h.run_steps(2);
    h.get_by_label("Apply repeat").click();
    h.run_steps(2);
    assert_eq!(
        only_event(&h).data.recurrence.map(|r| r.frequency),
        Some(Frequency::Weekly)
    );
    h.get_by_label("All day").click();
    h.run_steps(2);
    let day = grid(&h).date(0);
    assert_eq!(
        only_event(&h).data.when.dates(),
        Some((day, day.succ_opt().unwrap()))
    );
}

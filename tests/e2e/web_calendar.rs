//! The browser's calendar beyond the week view (issue 14, item 4): the
//! month view, "this occurrence" and "all occurrences" edits of a repeating
//! event, its notes and attendees, and a read-only calendar's view-only
//! dialog, each checked on a native client through the relay.

use concord_calendar::chrono::{Duration as Days, NaiveDate};
use concord_calendar::chrono_tz::Tz;
use concord_calendar::{
    Calendar, CalendarTx, EventData, Frequency, Recurrence, RecurrenceEnd, When,
};
use concord_client::Client;
use concord_e2e::browser::BrowserScript;
use concord_wire::{Access, DocId};
use serde_json::json;

use crate::converge::{CONVERGE, wait_until};
use crate::web::{STEP, at, native_synced, setup, setup_with, this_monday};

/// "Wed 10:00 Stand-up" for every occurrence in the week from `monday`, in
/// time order, as the native client sees them.
fn native_week(native: &Client, doc: &DocId, monday: NaiveDate, zone: Tz) -> Vec<String> {
    native
        .with_document(doc, |d| {
            Calendar::open(d)
                .map(|c| {
                    c.occurrences(monday, monday + Days::days(7), zone)
                        .into_iter()
                        .map(|o| format!("{} {}", o.start.format("%a %H:%M"), o.title))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .expect("the document is open")
}

/// (notes, attendees) of event `uid` on the native client.
fn native_notes(native: &Client, doc: &DocId, uid: &str) -> (String, Vec<String>) {
    native
        .with_document(doc, |d| {
            Calendar::open(d)
                .ok()
                .and_then(|c| c.event(uid))
                .map(|e| {
                    (
                        e.data.notes,
                        e.data.attendees.into_iter().collect::<Vec<_>>(),
                    )
                })
                .unwrap_or_default()
        })
        .expect("the document is open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeating_event_is_edited_in_the_browser_per_occurrence_and_for_all_with_notes_and_attendees()
 {
    let s = setup("web-repeating");
    let berlin: Tz = "Europe/Berlin".parse().expect("a zone");
    let monday = this_monday(berlin);
    s.native
        .edit(&s.doc, |tx| {
            let mut cal = CalendarTx::create(tx, "Team")?;
            let when = When::timed_local(at(monday, 9, 0), at(monday, 9, 30), berlin)?;
            cal.add_event(&EventData::new("standup@native", "Stand-up", when))?;
            let daily = Recurrence::new(Frequency::Daily).with_end(RecurrenceEnd::Count(7));
            cal.set_recurrence("standup@native", Some(&daily))
        })
        .expect("open")
        .value_if_saved()
        .expect("saved")
        .expect("a calendar");
    native_synced(&s.native, &s.doc).await;

    let mut browser = BrowserScript::start("calendar_edit", &[&s.link, &monday.to_string()])
        .expect("the browser script starts");
    let month = browser
        .step("month", STEP)
        .await
        .expect("the month view shows the week's stand-ups");
    assert_eq!(month["standups"], json!(7), "one chip a day this week");
    let edited = browser
        .step("changed", STEP)
        .await
        .expect("the browser edited the series");
    assert_eq!(
        edited["attendees"],
        json!(["ada@example.org"]),
        "the dialog lists the attendees left"
    );

    // Friday's dragged an hour later for all occurrences; then Wednesday's
    // renamed alone, Saturday's dragged to Sunday alone, and an all-day
    // event made on Sunday.
    let want = [
        "Mon 10:00 Stand-up",
        "Tue 10:00 Stand-up",
        "Wed 10:00 Stand-up (demo)",
        "Thu 10:00 Stand-up",
        "Fri 10:00 Stand-up",
        "Sun 00:00 Day off",
        "Sun 10:00 Stand-up",
        "Sun 10:00 Stand-up",
    ];
    wait_until(
        "the browser's edits of the series on the native client",
        CONVERGE,
        || {
            let week = native_week(&s.native, &s.doc, monday, berlin);
            let notes = native_notes(&s.native, &s.doc, "standup@native");
            if week == want && notes == ("Agenda".to_owned(), vec!["ada@example.org".to_owned()]) {
                Ok(())
            } else {
                Err(format!("{week:?} {notes:?}"))
            }
        },
    )
    .await;
    browser
        .finish(STEP)
        .await
        .expect("the browser script succeeds");
    drop(s.relay);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_calendar_shows_an_event_in_a_view_only_dialog_that_follows_edits() {
    let s = setup_with("web-cal-readonly", Access::Read);
    let berlin: Tz = "Europe/Berlin".parse().expect("a zone");
    let tuesday = this_monday(berlin) + Days::days(1);
    s.native
        .edit(&s.doc, |tx| {
            let mut cal = CalendarTx::create(tx, "Board")?;
            let when = When::timed_local(at(tuesday, 14, 0), at(tuesday, 15, 0), berlin)?;
            let mut board = EventData::new("board@native", "Board meeting", when);
            board.location = "Room 4".into();
            cal.add_event(&board)?;
            cal.set_notes("board@native", "Budget\nHiring")?;
            cal.add_attendee("board@native", "grace@example.org")?;
            cal.add_attendee("board@native", "ada@example.org")
        })
        .expect("open")
        .value_if_saved()
        .expect("saved")
        .expect("a calendar");
    native_synced(&s.native, &s.doc).await;

    let mut browser =
        BrowserScript::start("calendar_view", &[&s.link]).expect("the browser script starts");
    let viewed = browser
        .step("viewed", STEP)
        .await
        .expect("the browser shows the event view-only");
    assert_eq!(
        viewed["fields"],
        json!({
            "title": "Board meeting",
            "location": "Room 4",
            "repeats": "Does not repeat",
            "notes": "Budget\nHiring",
            "attendees": "ada@example.org, grace@example.org",
        })
    );
    assert_eq!(viewed["inputs"], json!(0), "nothing to type into");
    assert_eq!(viewed["editor"], json!(false), "the editor never opened");
    assert_eq!(viewed["unacked"], json!(0), "the drag changed nothing");

    s.native
        .edit(&s.doc, |tx| {
            CalendarTx::open(tx)?.splice_notes("board@native", 13, 0, "\nTravel")
        })
        .expect("open")
        .value_if_saved()
        .expect("saved")
        .expect("notes");
    native_synced(&s.native, &s.doc).await;
    browser.go("native", &json!({})).expect("go");
    let updated = browser
        .step("updated", STEP)
        .await
        .expect("the open dialog shows the native edit");
    assert_eq!(updated["notes"], json!("Budget\nHiring\nTravel"));
    browser
        .finish(STEP)
        .await
        .expect("the browser script succeeds");
    let events = native_week(&s.native, &s.doc, tuesday - Days::days(1), berlin);
    assert_eq!(
        events,
        ["Tue 14:00 Board meeting"],
        "the browser moved nothing"
    );
    drop(s.relay);
}

//! A shared calendar on three devices through a real relay: two devices
//! move the same event while offline and every device shows the conflict;
//! a pick on the third resolves it everywhere; a delete on one device and
//! an edit on another end deleted everywhere, with the edit kept for the
//! restore.

use concord_calendar::chrono::{NaiveDate, NaiveDateTime};
use concord_calendar::chrono_tz::{Europe, Tz};
use concord_calendar::{
    Calendar, CalendarError, CalendarTx, EventData, Frequency, OccurrenceKey, Recurrence, Scope,
    When,
};
use concord_client::{Client, ConnectionStatus};
use concord_core::Document;
use concord_wire::DocId;

use crate::converge::{CONVERGE, converged, start_client, start_relay, wait_until};

const PLANNING: &str = "planning@e2e";
const STANDUP: &str = "standup@e2e";

fn zone() -> Tz {
    Europe::Berlin
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 4).expect("a date")
}

fn at(day: NaiveDate, hour: u32) -> NaiveDateTime {
    day.and_hms_opt(hour, 0, 0).expect("a time")
}

fn hours(day: NaiveDate, from: u32, to: u32) -> When {
    When::timed_local(at(day, from), at(day, to), zone()).expect("a span")
}

fn edit_calendar<R>(
    client: &Client,
    doc: &DocId,
    f: impl FnOnce(&mut CalendarTx<'_, '_>) -> Result<R, CalendarError>,
) -> R {
    client
        .edit(doc, |tx| f(&mut CalendarTx::open(tx)?))
        .expect("the document is open")
        .value_if_saved()
        .expect("saved")
        .expect("the edit is valid")
}

fn read<R>(client: &Client, doc: &DocId, f: impl FnOnce(Calendar<'_>) -> R) -> Result<R, String> {
    client
        .with_document(doc, |d: &Document| {
            Calendar::open(d).map(f).map_err(|e| e.to_string())
        })
        .map_err(|e| e.to_string())?
}

async fn set_online(clients: &[&Client], online: bool) {
    for c in clients {
        c.set_online(online);
    }
    wait_until("the connections to follow", CONVERGE, || {
        for c in clients {
            let offline = c.connection() == ConnectionStatus::Offline;
            if offline == online {
                return Err(format!("{:?}", c.connection()));
            }
        }
        Ok(())
    })
    .await;
}

/// Waits until every client holds the same document, synced, and `check`
/// holds on each.
async fn all_agree(
    what: &str,
    clients: &[Client],
    doc: &DocId,
    check: impl Fn(Calendar<'_>) -> Result<(), String>,
) {
    wait_until(what, CONVERGE, || {
        converged(clients, std::slice::from_ref(doc))?;
        for (i, c) in clients.iter().enumerate() {
            read(c, doc, &check)?.map_err(|e| format!("client {i}: {e}"))?;
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_on_three_devices_through_a_relay() {
    let (relay, _dir) = start_relay(&[]);
    let doc = DocId::new("team-calendar").expect("an id");
    let clients: Vec<Client> = (1..=3)
        .map(|d| start_client(&relay.url(), d, std::slice::from_ref(&doc)))
        .collect();
    let mut standup = EventData::new(STANDUP, "Stand-up", hours(day(), 9, 10));
    standup.recurrence = Some(Recurrence::new(Frequency::Daily));
    clients[0]
        .edit(&doc, |tx| -> Result<(), CalendarError> {
            let mut cal = CalendarTx::create(tx, "Team")?;
            cal.add_event(&EventData::new(PLANNING, "Planning", hours(day(), 13, 14)))?;
            cal.add_event(&standup)
        })
        .expect("open")
        .value_if_saved()
        .expect("saved")
        .expect("a new calendar");
    all_agree("the calendar on every device", &clients, &doc, |cal| {
        (cal.events().len() == 2)
            .then_some(())
            .ok_or("events missing".into())
    })
    .await;

    // Two devices move the planning while offline; the third watches.
    set_online(&[&clients[0], &clients[1]], false).await;
    let eleven = hours(day(), 11, 12);
    let four = hours(day(), 16, 17);
    edit_calendar(&clients[0], &doc, |c| {
        c.set_when(PLANNING, &Scope::Series, eleven)
    });
    edit_calendar(&clients[1], &doc, |c| {
        c.set_when(PLANNING, &Scope::Series, four)
    });
    // Meanwhile they change different stand-ups: no conflict there.
    let tuesday = NaiveDate::from_ymd_opt(2026, 5, 5).expect("a date");
    let monday_standup = Scope::Occurrence(OccurrenceKey::of(&hours(day(), 9, 10)));
    let tuesday_standup = Scope::Occurrence(OccurrenceKey::of(&hours(tuesday, 9, 10)));
    edit_calendar(&clients[0], &doc, |c| {
        c.set_when(STANDUP, &monday_standup, hours(day(), 10, 11))
    });
    edit_calendar(&clients[1], &doc, |c| {
        c.set_title(STANDUP, &tuesday_standup, "Stand-up (short)")
    });
    set_online(&[&clients[0], &clients[1]], true).await;
    all_agree("the conflict on every device", &clients, &doc, |cal| {
        let shown = cal.occurrences(day(), tuesday.succ_opt().expect("a date"), zone());
        let planning: Vec<_> = shown.iter().filter(|o| o.uid == PLANNING).collect();
        if planning.len() != 1 || planning[0].conflict != Some(Scope::Series) {
            return Err(format!("no conflict mark: {planning:?}"));
        }
        let event = cal.event(PLANNING).ok_or("no planning")?;
        let mut choices = event
            .when_choices(&Scope::Series)
            .ok_or("no choices")?
            .to_vec();
        choices.sort();
        if choices != [eleven, four] {
            return Err(format!("choices {choices:?}"));
        }
        let standups: Vec<_> = shown.iter().filter(|o| o.uid == STANDUP).collect();
        if standups.iter().any(|o| o.conflict.is_some())
            || standups[0].when != hours(day(), 10, 11)
            || standups[1].title != "Stand-up (short)"
        {
            return Err(format!("stand-ups: {standups:?}"));
        }
        Ok(())
    })
    .await;

    // The third device picks four o'clock: resolved everywhere.
    edit_calendar(&clients[2], &doc, |c| {
        c.set_when(PLANNING, &Scope::Series, four)
    });
    all_agree("the pick on every device", &clients, &doc, |cal| {
        let event = cal.event(PLANNING).ok_or("no planning")?;
        if event.has_conflict() || event.data.when != four {
            return Err(format!("{event:?}"));
        }
        Ok(())
    })
    .await;

    delete_against_edit(&clients, &doc).await;

    for c in &clients {
        c.shutdown().await;
    }
}

/// Delete on one device and an edit on another, both offline: deleted
/// everywhere, the edit kept; the editing device restores it.
async fn delete_against_edit(clients: &[Client], doc: &DocId) {
    set_online(&[&clients[0], &clients[1]], false).await;
    edit_calendar(&clients[0], doc, |c| c.delete_event(PLANNING));
    edit_calendar(&clients[1], doc, |c| {
        c.set_title(PLANNING, &Scope::Series, "Planning with guests")
    });
    set_online(&[&clients[0], &clients[1]], true).await;
    all_agree("the delete on every device", clients, doc, |cal| {
        if cal.events().iter().any(|e| e.uid() == PLANNING) {
            return Err("the planning is still shown".into());
        }
        let deleted = cal.deleted_events();
        if deleted.len() != 1 || deleted[0].data.title != "Planning with guests" {
            return Err(format!("deleted: {deleted:?}"));
        }
        Ok(())
    })
    .await;

    // The editing device restores it: back everywhere, with the edit.
    edit_calendar(&clients[1], doc, |c| c.restore_event(PLANNING));
    all_agree("the restore on every device", clients, doc, |cal| {
        let event = cal.event(PLANNING).ok_or("no planning")?;
        if event.deleted || event.data.title != "Planning with guests" {
            return Err(format!("{event:?}"));
        }
        Ok(())
    })
    .await;
}

//! Replicas of one calendar that exchange changes through concord-core's
//! sync protocol (`SyncPeer`, messages encoded to bytes and decoded).

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use concord_calendar::{Calendar, CalendarError, CalendarTx, EventData, When};
use concord_core::{Document, ReplicaId};
use concord_wire::{Message, SyncPeer};

pub fn berlin() -> Tz {
    chrono_tz::Europe::Berlin
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

pub fn at(day: NaiveDate, h: u32, min: u32) -> NaiveDateTime {
    day.and_hms_opt(h, min, 0).expect("a valid time")
}

/// `from:00` to `to:00` on `day`, Berlin time.
pub fn hours(day: NaiveDate, from: u32, to: u32) -> When {
    When::timed_local(at(day, from, 0), at(day, to, 0), berlin()).expect("a valid span")
}

/// Monday 4 May 2026.
pub fn monday() -> NaiveDate {
    date(2026, 5, 4)
}

/// `n` replicas of a calendar holding `events`, created on the first and
/// synced to the others.
pub fn replicas(n: usize, events: &[EventData]) -> Vec<Document> {
    let mut first = Document::new(ReplicaId(1));
    {
        let mut tx = first.transaction();
        let mut cal = CalendarTx::create(&mut tx, "Team").expect("an empty document");
        for e in events {
            cal.add_event(e).expect("a valid event");
        }
    }
    let mut all = vec![first];
    for i in 1..n {
        let mut doc = Document::new(ReplicaId(i as u128 + 1));
        sync(&mut all[0], &mut doc);
        all.push(doc);
    }
    all
}

/// One local edit as one change.
pub fn edit<R>(
    doc: &mut Document,
    f: impl FnOnce(&mut CalendarTx<'_, '_>) -> Result<R, CalendarError>,
) -> Result<R, CalendarError> {
    let mut tx = doc.transaction();
    let mut cal = CalendarTx::open(&mut tx)?;
    f(&mut cal)
}

pub fn calendar(doc: &Document) -> Calendar<'_> {
    Calendar::open(doc).expect("a calendar")
}

/// Sends everything `from` has to say to `to` through a `SyncPeer` pair.
fn one_way(
    from: &Document,
    from_peer: &mut SyncPeer,
    to: &mut Document,
    to_peer: &mut SyncPeer,
) -> usize {
    let mut messages = 0;
    while let Some(msg) = from_peer.poll_message(from) {
        messages += 1;
        let msg = Message::decode(&msg.encode()).expect("our own message decodes");
        let outcome = to.apply_records(to_peer.receive(msg));
        assert!(outcome.refused.is_empty(), "valid changes: {outcome:?}");
        to_peer.stored(to.version());
    }
    messages
}

/// Two replicas meet: the sync protocol runs until neither has anything
/// to say.
pub fn sync(a: &mut Document, b: &mut Document) {
    let (mut pa, mut pb) = (SyncPeer::new(), SyncPeer::new());
    for _ in 0..100 {
        if one_way(a, &mut pa, b, &mut pb) + one_way(b, &mut pb, a, &mut pa) == 0 {
            return;
        }
    }
    panic!("sync did not settle");
}

/// Every replica meets every other.
pub fn sync_all(docs: &mut [Document]) {
    for _ in 0..2 {
        for i in 0..docs.len() {
            for j in i + 1..docs.len() {
                let (left, right) = docs.split_at_mut(j);
                sync(&mut left[i], &mut right[0]);
            }
        }
    }
    for d in &docs[1..] {
        assert_eq!(d, &docs[0], "replicas converged");
    }
}

//! The web demo in headless Chromium (driven by `web-demo/tests/*.mjs`)
//! against a real relay serving it (`--web web-demo/dist`), with a native
//! client on the other side: the same core on both, one protocol.
//!
//! Needs `web-demo/build.sh`, Node with `npm ci` in `web-demo/`, and
//! Chromium (`./test.sh` installs them); without them these tests fail and
//! say what to install.

use std::time::Duration;

use concord_calendar::chrono::{DateTime, Datelike, Duration as Days, NaiveDate};
use concord_calendar::chrono_tz::Tz;
use concord_calendar::{Calendar, CalendarTx, EventData, When};
use concord_client::{Client, SyncStatus};
use concord_e2e::browser::{BrowserScript, web_dist};
use concord_e2e::relay_process::{RelayProcess, mint_token};
use concord_note::note;
use concord_wire::{Access, DocId};
use serde_json::json;

use crate::converge::{CONVERGE, start_client, start_relay, wait_until};

/// How long a browser step may take on a loaded 2-core machine.
pub(crate) const STEP: Duration = Duration::from_mins(2);

/// A relay serving the built demo, a native client with `doc` open, and
/// the share link a browser opens it with.
pub(crate) struct Setup {
    pub(crate) relay: RelayProcess,
    _dir: tempfile::TempDir,
    pub(crate) native: Client,
    pub(crate) doc: DocId,
    pub(crate) link: String,
}

pub(crate) fn setup(doc: &str) -> Setup {
    setup_with(doc, Access::ReadWrite)
}

/// `setup`, the browser's link granting `access`.
pub(crate) fn setup_with(doc: &str, access: Access) -> Setup {
    let dist = web_dist().expect("the web demo is built");
    let dist = dist.to_str().expect("a UTF-8 path");
    let (relay, dir) = start_relay(&["--web", dist]);
    let doc = DocId::new(doc).expect("a valid id");
    let native = start_client(&relay.url(), 0xA11CE, std::slice::from_ref(&doc));
    let token = mint_token(doc.as_str(), access, Duration::from_hours(1));
    // The desktop's share-link format: the relay's address serves the page.
    let link = relay.http_url(&format!("/#doc={doc}&token={token}"));
    Setup {
        relay,
        _dir: dir,
        native,
        doc,
        link,
    }
}

pub(crate) async fn native_synced(native: &Client, doc: &DocId) {
    wait_until("the native client to be synced", CONVERGE, || match native
        .status(doc)
        .map_err(|e| e.to_string())?
    {
        SyncStatus::Synced => Ok(()),
        other => Err(format!("{other:?}")),
    })
    .await;
}

/// The native client writes a note titled `title` holding `text`, and the
/// relay has it.
pub(crate) async fn native_note(s: &Setup, title: &str, text: &str) {
    s.native
        .edit(&s.doc, |tx| {
            note::create(tx, title)?;
            note::append(tx, text)
        })
        .expect("open")
        .value_if_saved()
        .expect("saved")
        .expect("edit");
    native_synced(&s.native, &s.doc).await;
}

pub(crate) fn native_text(native: &Client, doc: &DocId) -> String {
    native
        .with_document(doc, note::body_text)
        .expect("the document is open")
}

/// Regression (issue 14, item 4): on a fresh page the first "New
/// document" left the focus on its button, so typing the title pressed it
/// once per space ("Hello from the browser" made four "Untitled"
/// documents). Typing right after "New document" (and "New calendar")
/// names exactly one new document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_right_after_new_document_names_one_document_in_the_browser() {
    let dist = web_dist().expect("the web demo is built");
    let (relay, _dir) = start_relay(&["--web", dist.to_str().expect("a UTF-8 path")]);
    let mut browser =
        BrowserScript::start("newdoc", &[&relay.http_url("/")]).expect("the browser script starts");
    let typed = browser
        .step("typed", STEP)
        .await
        .expect("the browser made the documents");
    assert_eq!(
        typed["documents"],
        json!([
            { "kind": "calendar", "name": "Our trips" },
            { "kind": "note", "name": "Hello from the browser" },
        ]),
        "one document and one calendar, named as typed"
    );
    assert_eq!(typed["focus"], json!(["title", "cal-name"]));
    browser
        .finish(STEP)
        .await
        .expect("the browser script succeeds");
    drop(relay);
}

/// Then (in the script) bad input: a broken share link and a corrupt stored
/// document are refused with a message, the page keeps working, and the
/// corrupt bytes stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_and_a_native_client_edit_one_text_at_once_and_end_identical() {
    let s = setup("web-concurrent");
    let initial = "hello world\n";
    native_note(&s, "Shared", initial).await;

    let caret = "hello".len();
    let typed = "abcdefghijklmnop";
    let mut browser =
        BrowserScript::start("concurrent", &[&s.link, initial, &caret.to_string(), typed])
            .expect("the browser script starts");
    browser
        .step("ready", STEP)
        .await
        .expect("the page shows the note");

    // While the browser types after "hello", the native client types at the
    // start (each digit before the last) and at the end.
    browser.go("type", &json!({})).expect("go");
    let digits = "0123456789";
    let letters = "ABCDEFGHIJ";
    for (d, l) in digits.chars().zip(letters.chars()) {
        s.native
            .edit(&s.doc, |tx| {
                note::splice(tx, 0, 0, &d.to_string())?;
                note::append(tx, &l.to_string())
            })
            .expect("open")
            .value_if_saved()
            .expect("saved")
            .expect("edit");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    browser
        .step("typed", STEP)
        .await
        .expect("the browser typed");

    // Everything reaches the native client; then the browser must show
    // exactly the same text.
    let expected = format!("9876543210hello{typed} world\n{letters}");
    wait_until(
        "the native client to hold both sides' edits",
        CONVERGE,
        || {
            let text = native_text(&s.native, &s.doc);
            if text == expected && matches!(s.native.status(&s.doc), Ok(SyncStatus::Synced)) {
                Ok(())
            } else {
                Err(format!("{text:?} {:?}", s.native.status(&s.doc)))
            }
        },
    )
    .await;
    browser
        .go("expect", &json!({ "text": expected }))
        .expect("go");
    let end = browser
        .step("converged", STEP)
        .await
        .expect("the browser converged");
    assert_eq!(end["text"], json!(expected));
    // The caret rode on its characters: it is still right after the typing.
    let caret_after = "9876543210hello".len() + typed.len();
    assert_eq!(
        end["caret"],
        json!(caret_after),
        "the browser's caret moved"
    );
    browser
        .finish(STEP)
        .await
        .expect("the browser script succeeds");
    drop(s.relay);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_edits_offline_reloads_and_comes_back_with_nothing_lost() {
    let s = setup("web-offline");
    let initial = "start\n";
    native_note(&s, "Trip", initial).await;

    let mut browser =
        BrowserScript::start("offline", &[&s.link, initial]).expect("the browser script starts");
    browser
        .step("ready", STEP)
        .await
        .expect("the page shows the note");
    browser
        .step("offline", STEP)
        .await
        .expect("the page went offline");

    // The native client keeps editing while the browser is away.
    let native_line = "native while the browser is away\n";
    s.native
        .edit(&s.doc, |tx| note::splice(tx, 0, 0, native_line))
        .expect("open")
        .value_if_saved()
        .expect("saved")
        .expect("edit");
    native_synced(&s.native, &s.doc).await;
    browser.go("edit", &json!({})).expect("go");

    let edited = browser.step("edited", STEP).await.expect("offline edits");
    let one = "browser offline one\n";
    let two = "browser offline two\n";
    assert_eq!(edited["text"], json!(format!("{initial}{one}{two}")));
    assert!(
        edited["unacked"].as_u64().is_some_and(|n| n >= 2),
        "the offline edits wait unsent: {edited}"
    );

    let online = browser.step("online", STEP).await.expect("back online");
    let expected = format!("{native_line}{initial}{one}{two}");
    assert_eq!(online["text"], json!(expected), "everything, once");
    wait_until(
        "the native client to get the offline edits",
        CONVERGE,
        || {
            let text = native_text(&s.native, &s.doc);
            if text == expected {
                Ok(())
            } else {
                Err(format!("{text:?}"))
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

/// Regression: a read-only share link opened the note writable in the
/// browser; what was typed was refused by the relay and stayed unsent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_link_opens_read_only_in_the_browser_and_still_follows_edits() {
    let s = setup_with("web-read-only", Access::Read);
    let initial = "read me\n";
    native_note(&s, "Notice", initial).await;

    let mut browser =
        BrowserScript::start("readonly", &[&s.link, initial]).expect("the browser script starts");
    let ready = browser
        .step("ready", STEP)
        .await
        .expect("the page shows the note read-only and refuses edits");
    assert_eq!(ready["text"], json!(initial));
    assert_eq!(ready["title"], json!("Notice"));

    let line = "added by the owner\n";
    s.native
        .edit(&s.doc, |tx| note::append(tx, line))
        .expect("open")
        .value_if_saved()
        .expect("saved")
        .expect("edit");
    native_synced(&s.native, &s.doc).await;
    let expected = format!("{initial}{line}");
    browser
        .go("native", &json!({ "text": expected }))
        .expect("go");
    let seen = browser
        .step("seen", STEP)
        .await
        .expect("the browser shows the native edit");
    assert_eq!(seen["text"], json!(expected));
    assert_eq!(seen["unacked"], json!(0));
    browser
        .finish(STEP)
        .await
        .expect("the browser script succeeds");
    // Nothing from the browser reached the relay: the native side holds
    // exactly its own text.
    assert_eq!(native_text(&s.native, &s.doc), expected);
    drop(s.relay);
}

/// The Monday of this week in `zone`.
pub(crate) fn this_monday(zone: Tz) -> NaiveDate {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    let secs = i64::try_from(now.as_secs()).expect("in range");
    let today = DateTime::from_timestamp(secs, 0)
        .expect("a valid time")
        .with_timezone(&zone)
        .date_naive();
    today - Days::days(i64::from(today.weekday().num_days_from_monday()))
}

pub(crate) fn at(
    day: NaiveDate,
    hour: u32,
    minute: u32,
) -> concord_calendar::chrono::NaiveDateTime {
    day.and_hms_opt(hour, minute, 0).expect("a valid time")
}

/// (title, local start, local end) of every event, sorted.
fn native_events(native: &Client, doc: &DocId, zone: Tz) -> Vec<(String, String, String)> {
    let mut events = native
        .with_document(doc, |d| {
            Calendar::open(d)
                .map(|c| {
                    c.events()
                        .into_iter()
                        .map(|e| {
                            let w = e.data.when;
                            let fmt = "%a %H:%M";
                            (
                                e.data.title,
                                w.local_start(zone).format(fmt).to_string(),
                                w.local_end(zone).format(fmt).to_string(),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .expect("the document is open");
    events.sort();
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_events_cross_between_the_browser_and_a_native_client() {
    let s = setup("web-calendar");
    let berlin: Tz = "Europe/Berlin".parse().expect("a zone");
    let monday = this_monday(berlin);
    let tuesday = monday + Days::days(1);
    s.native
        .edit(&s.doc, |tx| {
            let mut cal = CalendarTx::create(tx, "Team")?;
            let when = When::timed_local(at(tuesday, 9, 0), at(tuesday, 9, 30), berlin)?;
            cal.add_event(&EventData::new("standup@native", "Native stand-up", when))
        })
        .expect("open")
        .value_if_saved()
        .expect("saved")
        .expect("a calendar");
    native_synced(&s.native, &s.doc).await;

    let mut browser =
        BrowserScript::start("calendar", &[&s.link]).expect("the browser script starts");
    browser
        .step("seen", STEP)
        .await
        .expect("the native event shows in the browser");
    browser
        .step("changed", STEP)
        .await
        .expect("the browser edited the calendar");

    let want = vec![
        (
            "Design review".to_owned(),
            "Wed 14:00".to_owned(),
            "Wed 15:00".to_owned(),
        ),
        (
            "Native stand-up".to_owned(),
            "Tue 10:00".to_owned(),
            "Tue 10:30".to_owned(),
        ),
    ];
    wait_until(
        "the browser's calendar edits on the native client",
        CONVERGE,
        || {
            let events = native_events(&s.native, &s.doc, berlin);
            if events == want {
                Ok(())
            } else {
                Err(format!("{events:?}"))
            }
        },
    )
    .await;

    let thursday = monday + Days::days(3);
    s.native
        .edit(&s.doc, |tx| {
            let when = When::timed_local(at(thursday, 12, 0), at(thursday, 13, 0), berlin)?;
            CalendarTx::open(tx)?.add_event(&EventData::new("lunch@native", "Native lunch", when))
        })
        .expect("open")
        .value_if_saved()
        .expect("saved")
        .expect("an event");
    browser.go("native-added", &json!({})).expect("go");
    browser
        .step("done", STEP)
        .await
        .expect("the native event shows in the browser");
    browser
        .finish(STEP)
        .await
        .expect("the browser script succeeds");
    drop(s.relay);
}

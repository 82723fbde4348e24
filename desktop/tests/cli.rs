//! The headless commands on a real store, as a user runs them: `concord
//! doc …` and `concord calendar import FILE.ics` / `calendar export ID`.

use std::path::Path;
use std::process::{Command, Output};

use concord_core::ReplicaId;
use concord_desktop::store::{DocKind, ReplicaStore};
use concord_wire::DocId;

fn concord(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_concord"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("concord runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn uids(ics: &str) -> Vec<&str> {
    let mut uids: Vec<&str> = ics.lines().filter_map(|l| l.strip_prefix("UID:")).collect();
    uids.sort_unstable();
    uids.dedup();
    uids
}

#[test]
fn import_prints_an_id_and_export_writes_the_same_events_back() {
    let data = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo-calendar.ics");
    let out = concord(
        data.path(),
        &[
            "calendar",
            "import",
            demo.to_str().unwrap(),
            "--zone",
            "Europe/Berlin",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "no warnings");
    let id = stdout(&out).trim().to_owned();
    assert_eq!(id.len(), 32, "a document id: {id:?}");

    let ics = stdout(&concord(data.path(), &["calendar", "export", &id]));
    let original = std::fs::read_to_string(&demo).unwrap();
    assert_eq!(uids(&ics), uids(&original), "UIDs survive the round trip");
    assert!(
        ics.contains("RECURRENCE-ID;TZID=Europe/Berlin:20260106T093000\r\n"),
        "{ics}"
    );
    assert!(ics.contains("DTSTART;TZID=America/New_York:20260107T100000\r\n"));
    assert!(ics.contains("X-WR-CALNAME:Team week\r\n"));

    // The calendar is listed among the documents, marked as one; a note is not.
    let note = stdout(&concord(data.path(), &["doc", "new", "Shopping"]));
    let list = stdout(&concord(data.path(), &["doc", "list"]));
    assert!(
        list.contains(&format!("{id}\tTeam week\tcalendar\n")),
        "{list}"
    );
    assert!(
        list.contains(&format!("{}\tShopping\n", note.trim())),
        "{list}"
    );

    // A note is no calendar.
    let out = concord(data.path(), &["calendar", "export", note.trim()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a calendar"));
}

#[test]
fn a_bad_file_is_a_clear_error_and_stores_nothing() {
    let data = tempfile::tempdir().unwrap();
    let before = stdout(&concord(data.path(), &["doc", "new", "Keep me"]));
    let bad = data.path().join("bad.ics");
    std::fs::write(&bad, "this is not a calendar\n").unwrap();
    let out = concord(data.path(), &["calendar", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot import") && err.contains("bad.ics"),
        "{err}"
    );

    let missing = concord(data.path(), &["calendar", "import", "/no/such/file.ics"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));

    let zone = concord(
        data.path(),
        &[
            "calendar",
            "import",
            bad.to_str().unwrap(),
            "--zone",
            "Mars/Olympus",
        ],
    );
    assert!(String::from_utf8_lossy(&zone.stderr).contains("not an IANA time zone"));

    let unknown = concord(data.path(), &["calendar", "export", "0123456789abcdef"]);
    assert!(!unknown.status.success());

    let list = stdout(&concord(data.path(), &["doc", "list"]));
    assert_eq!(
        list,
        format!("{}\tKeep me\n", before.trim()),
        "nothing else stored"
    );
}

#[test]
fn events_that_cannot_be_used_are_reported_and_the_rest_imported() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("partly.ics");
    std::fs::write(
        &file,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n\
         BEGIN:VEVENT\r\nUID:good\r\nDTSTART;VALUE=DATE:20260504\r\nSUMMARY:Good\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:bad\r\nSUMMARY:No start\r\nEND:VEVENT\r\n\
         END:VCALENDAR\r\n",
    )
    .unwrap();
    let out = concord(data.path(), &["calendar", "import", file.to_str().unwrap()]);
    let id = stdout(&out).trim().to_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("event bad: no DTSTART; skipped"), "{err}");
    let ics = stdout(&concord(data.path(), &["calendar", "export", &id]));
    assert_eq!(uids(&ics), ["good"]);
    let list = stdout(&concord(data.path(), &["doc", "list"]));
    assert!(
        list.contains(&format!("{id}\tpartly\tcalendar")),
        "named after the file: {list}"
    );
}

#[test]
fn doc_cat_ends_its_output_with_a_newline() {
    let data = tempfile::tempdir().unwrap();
    let id = stdout(&concord(data.path(), &["doc", "new", "Shopping"]));
    let id = id.trim();
    assert_eq!(stdout(&concord(data.path(), &["doc", "cat", id])), "\n");
    stdout(&concord(data.path(), &["doc", "append", id, "milk, eggs"]));
    assert_eq!(
        stdout(&concord(data.path(), &["doc", "cat", id])),
        "milk, eggs\n"
    );
    // A text that ends with its own newline keeps it: one more is printed,
    // so stripping one always gives the exact text.
    stdout(&concord(data.path(), &["doc", "append", id, "\n"]));
    assert_eq!(
        stdout(&concord(data.path(), &["doc", "cat", id])),
        "milk, eggs\n\n"
    );
}

#[test]
fn calendar_import_marks_the_calendar_in_the_list_cache() {
    let data = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo-calendar.ics");
    let out = concord(data.path(), &["calendar", "import", demo.to_str().unwrap()]);
    let id = DocId::new(stdout(&out).trim()).unwrap();
    // What the list will show, straight from the store's cache: nothing
    // has to load the calendar to know it is one.
    let store = ReplicaStore::open(data.path(), || ReplicaId(9)).unwrap();
    let info = store.info(&id).unwrap();
    assert_eq!(info.kind, Some(DocKind::Calendar));
    assert_eq!(info.title, "Team week");
}

//! The headless commands on a real store, as a user runs them: `concord
//! doc …` and `concord calendar import FILE.ics` / `calendar export ID`.

use std::path::Path;
use std::process::{Command, Output};

use concord_core::ReplicaId;
use concord_desktop::store::{DocKind, SqliteStore};
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
        list.contains(&format!("{id}\tcalendar\tTeam week\n")),
        "{list}"
    );
    assert!(
        list.contains(&format!("{}\tnote\tShopping\n", note.trim())),
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
        format!("{}\tnote\tKeep me\n", before.trim()),
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
        list.contains(&format!("{id}\tcalendar\tpartly\n")),
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
    let store = SqliteStore::open(data.path(), || ReplicaId(9)).unwrap();
    let info = store.info(&id).unwrap();
    assert_eq!(info.kind, Some(DocKind::Calendar));
    assert_eq!(info.title, "Team week");
}

/// Runs SQL on the store's file, as a crash, a bug or an older Concord
/// might have left it (no `concord` runs meanwhile).
fn sql(data: &Path, statement: &str, id: &str) {
    let db = rusqlite::Connection::open(data.join("concord.sqlite3")).unwrap();
    db.execute(statement, [id]).unwrap();
}

#[test]
fn doc_list_prints_the_columns_its_help_names() {
    let data = tempfile::tempdir().unwrap();
    let help = stdout(&concord(data.path(), &["doc", "list", "--help"]));
    for column in ["id", "`note`", "`calendar`", "`unknown`", "title"] {
        assert!(help.contains(column), "the help names {column}: {help}");
    }
    let note = stdout(&concord(data.path(), &["doc", "new", "Tabs\tand\nlines"]));
    let link = "http://127.0.0.1:7070/#doc=0123456789abcdef0123456789abcdef&token=";
    stdout(&concord(data.path(), &["doc", "open", link]));
    let list = stdout(&concord(data.path(), &["doc", "list"]));
    let rows: Vec<Vec<&str>> = list.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows,
        [
            vec![
                "0123456789abcdef0123456789abcdef",
                "unknown",
                "Shared document"
            ],
            vec![note.trim(), "note", "Tabs and lines"],
        ],
        "id, kind, title; one line each, newest first"
    );
}

#[test]
fn doc_list_reads_kinds_from_the_cache_and_loads_only_documents_of_unknown_kind() {
    let data = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo-calendar.ics");
    let import = |data: &Path| {
        let out = concord(data, &["calendar", "import", demo.to_str().unwrap()]);
        stdout(&out).trim().to_owned()
    };
    let calendar = import(data.path());
    let note = stdout(&concord(data.path(), &["doc", "new", "Shopping"]));
    let note = note.trim();
    // Both documents' contents made unreadable: listing them must not
    // need them (loading either would fail).
    for id in [calendar.as_str(), note] {
        sql(
            data.path(),
            "UPDATE documents SET snapshot = x'00ff00ff' WHERE id = ?1",
            id,
        );
    }
    assert!(
        !concord(data.path(), &["doc", "cat", note]).status.success(),
        "the note cannot be loaded"
    );
    let out = concord(data.path(), &["doc", "list"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "nothing loaded");
    let list = stdout(&out);
    assert!(
        list.contains(&format!("{calendar}\tcalendar\tTeam week\n")),
        "{list}"
    );
    assert!(
        list.contains(&format!("{note}\tnote\tShopping\n")),
        "{list}"
    );

    // A kind nobody looked at yet (a store from before kinds were kept):
    // that document is loaded once, and its kind cached.
    let other = import(data.path());
    sql(
        data.path(),
        "UPDATE documents SET kind = NULL WHERE id = ?1",
        &other,
    );
    let list = stdout(&concord(data.path(), &["doc", "list"]));
    assert!(
        list.contains(&format!("{other}\tcalendar\tTeam week\n")),
        "{list}"
    );
    let store = SqliteStore::open(data.path(), || ReplicaId(9)).unwrap();
    let id = DocId::new(other).unwrap();
    assert_eq!(store.info(&id).unwrap().kind, Some(DocKind::Calendar));
}

#[test]
fn calendar_import_reads_floating_times_in_the_zone_the_window_uses() {
    // A time without a zone: the importer reads it in this computer's
    // zone, which for the window is the TZ variable first.
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("floating.ics");
    std::fs::write(
        &file,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
         BEGIN:VEVENT\r\nUID:floating@example\r\nDTSTAMP:20260101T000000Z\r\n\
         DTSTART:20260504T090000\r\nDTEND:20260504T100000\r\nSUMMARY:Breakfast\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    for zone in ["Asia/Tokyo", "America/Chicago"] {
        let out = Command::new(env!("CARGO_BIN_EXE_concord"))
            .arg("--data")
            .arg(data.path())
            .args(["calendar", "import", file.to_str().unwrap()])
            .env("TZ", zone)
            .output()
            .unwrap();
        let id = stdout(&out).trim().to_owned();
        let ics = stdout(&concord(data.path(), &["calendar", "export", &id]));
        assert!(
            ics.contains(&format!("DTSTART;TZID={zone}:20260504T090000\r\n")),
            "{zone}: {ics}"
        );
    }
}

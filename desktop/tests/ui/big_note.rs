//! A note of a hundred thousand characters: the field lays out only what
//! is on screen, and still types, keeps its caret and its place, and the
//! store is compacted away from the window's thread.

use std::fmt::Write as _;

use concord_core::ReplicaId;
use concord_desktop::app::ConcordApp;
use concord_desktop::note;
use concord_desktop::replicas::{SharedStore, start_client};
use concord_desktop::store::SqliteStore;
use concord_wire::DocId;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use crate::support::{body, caret, harness, runtime, wait_until};

/// About 100,000 characters in 1,000 paragraphs of various lengths.
fn big_text() -> String {
    let mut out = String::new();
    for i in 0..1000 {
        write!(out, "Paragraph {i:04}: ").unwrap();
        for w in 0..(i % 17) {
            out.push_str(if w % 2 == 0 {
                "lorem ipsum "
            } else {
                "dolor sit "
            });
        }
        out.push('\n');
    }
    out
}

/// A new note holding `text`, open in `h`.
fn open_big_note(h: &mut Harness<'_, ConcordApp>, text: &str) -> DocId {
    h.get_by_label("New note").click();
    h.run_steps(2);
    let id = h.state().open_document().unwrap().clone();
    let edited = h
        .state()
        .client()
        .edit(&id, |tx| note::splice(tx, 0, 0, text))
        .unwrap();
    edited.value.unwrap();
    h.run_steps(3);
    id
}

#[test]
fn typing_at_the_end_of_a_100k_character_note_puts_the_characters_there() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(crate::support::app(dir.path(), 1, None, &rt));
    let text = big_text();
    assert!(text.chars().count() > 90_000);
    open_big_note(&mut h, &text);

    h.get_by_label("Text").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::End);
    h.run_steps(2);
    let end = text.chars().count();
    assert_eq!(caret(&h), Some(end));
    h.get_by_label("Text").type_text("THE END");
    h.run_steps(2);
    assert_eq!(body(h.state()), format!("{text}THE END"));
    assert_eq!(caret(&h), Some(end + 7));
    // The screen is at the end, not the start.
    let (top, _) = h.state().body_scroll().unwrap();
    assert!(top > end - 5_000, "the screen starts at {top}");

    // And back to the start.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Home);
    h.run_steps(2);
    h.get_by_label("Text").type_text(">");
    h.run_steps(2);
    assert_eq!(body(h.state()), format!(">{text}THE END"));
    assert_eq!(h.state().body_scroll().unwrap().0, 0);
}

#[test]
fn select_all_in_a_100k_character_note_selects_all_of_it() {
    // The field holds only the paragraphs near the screen; Ctrl+A must
    // still act on the whole body (regression: it selected the window).
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(crate::support::app(dir.path(), 1, None, &rt));
    let text = big_text();
    open_big_note(&mut h, &text);

    h.get_by_label("Text").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(2);
    h.get_by_label("Text").type_text("short");
    h.run_steps(2);
    assert_eq!(body(h.state()), "short");
    assert_eq!(caret(&h), Some(5));

    // Typing goes on in the usual way afterwards.
    h.get_by_label("Text").type_text(" again");
    h.run_steps(2);
    assert_eq!(body(h.state()), "short again");
}

#[test]
fn an_edit_above_the_screen_keeps_the_visible_text_and_the_caret_in_place() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(crate::support::app(dir.path(), 1, None, &rt));
    let text = big_text();
    let id = open_big_note(&mut h, &text);

    // The caret in the middle of the note, typed at.
    let middle = text.find("Paragraph 0500").unwrap();
    h.get_by_label("Text").focus();
    h.run_steps(1);
    for _ in 0..400 {
        h.key_press(egui::Key::PageDown);
        h.run_steps(1);
        if caret(&h).is_some_and(|c| c >= middle) {
            break;
        }
    }
    h.get_by_label("Text").type_text("*");
    // Scrolling to the caret is animated: let it end.
    h.run_steps(10);
    let caret_before = caret(&h).unwrap();
    let (top_before, delta_before) = h.state().body_scroll().unwrap();
    assert!(top_before > 0 && caret_before > top_before);
    let shown = body(h.state());

    // Someone else's paragraph lands at the very start.
    let inserted = "A new first paragraph, from elsewhere.\n";
    let n = inserted.chars().count();
    let edited = h
        .state()
        .client()
        .edit(&id, |tx| note::splice(tx, 0, 0, inserted))
        .unwrap();
    edited.value.unwrap();
    h.run_steps(10);

    let now = body(h.state());
    assert_eq!(now, format!("{inserted}{shown}"));
    assert_eq!(
        caret(&h),
        Some(caret_before + n),
        "the caret rode its characters"
    );
    let (top, delta) = h.state().body_scroll().unwrap();
    assert_eq!(top, top_before + n, "the same paragraph is at the top");
    assert!((delta - delta_before).abs() < 0.5, "at the same height");

    // Typing goes where the caret is.
    h.get_by_label("Text").type_text("+");
    h.run_steps(2);
    let chars: Vec<char> = body(h.state()).chars().collect();
    assert_eq!(chars[caret_before + n], '+');
}

#[test]
fn compaction_runs_beside_the_window_and_keeps_every_change() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let store = SharedStore::new(SqliteStore::open(dir.path(), || ReplicaId(1)).unwrap());
    let client = start_client(&store, None, rt.handle()).unwrap();
    let mut h = harness(ConcordApp::new(client.clone(), store.clone(), None));
    let id = open_big_note(&mut h, &big_text());

    // More than the threshold of keystrokes through the window's client,
    // each a change saved as a record (that client never snapshots).
    for _ in 0..1_100 {
        let edited = client.edit(&id, |tx| note::splice(tx, 0, 0, "k")).unwrap();
        edited.value.unwrap();
        edited.saved.unwrap();
    }
    h.get_by_label("Text").focus();
    h.run_steps(2);
    let records = |store: &SharedStore| {
        store
            .records_after_snapshots()
            .unwrap()
            .into_iter()
            .find(|(d, _)| *d == id)
            .map_or(0, |(_, n)| n)
    };
    let compactor = h.state().compactor().unwrap();
    assert!(compactor.running());
    compactor.wake();
    // The window keeps answering (and typing) while the thread works.
    let mut typed_meanwhile = 0;
    wait_until(&mut h, "the compaction", |h| {
        h.event(egui::Event::Text("m".into()));
        typed_meanwhile += 1;
        records(&store) < 100
    });
    h.run_steps(2);
    let text = body(h.state());
    assert_eq!(
        text.matches('k').count() - big_text().matches('k').count(),
        1_100
    );
    assert_eq!(
        text.matches('m').count() - big_text().matches('m').count(),
        typed_meanwhile
    );

    // Reopened, the store holds all of it.
    drop(h);
    rt.block_on(client.shutdown());
    drop(client);
    drop(store);
    let reopened = SqliteStore::open(dir.path(), || ReplicaId(9)).unwrap();
    assert_eq!(note::body_text(&reopened.load(&id).unwrap()), text);
}

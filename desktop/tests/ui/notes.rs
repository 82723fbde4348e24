//! Notes in the window: local editing, the status indicator and the
//! offline toggle, and two app instances syncing through a real relay (in
//! this process, on a real socket).

use concord_client::SyncStatus;
use concord_core::ReplicaId;
use concord_desktop::note;
use concord_desktop::store::SqliteStore;
use egui_kittest::kittest::Queryable;

use crate::support::{
    app, body, caret, harness, has_label, open_link, runtime, start_relay, wait_until,
};

#[test]
fn create_type_rename_and_go_offline_and_back() {
    let rt = runtime();
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&rt, relay_dir.path());
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(app(dir.path(), 1, Some(&relay), &rt));
    h.run_steps(2);
    assert!(has_label(&h, "No document yet"));

    h.get_by_label("New note").click();
    h.run_steps(2);
    assert!(h.state().open_document().is_some());

    h.get_by_label("Text").focus();
    h.run_steps(1);
    h.get_by_label("Text").type_text("Hello from the window");
    h.run_steps(2);
    assert_eq!(body(h.state()), "Hello from the window");

    h.get_by_label("Title").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Title").type_text("Groceries");
    h.run_steps(2);
    let id = h.state().open_document().unwrap().clone();
    let title = h.state().client().with_document(&id, note::title).unwrap();
    assert_eq!(title, "Groceries");
    // The list shows the new title.
    wait_until(&mut h, "the list to show the title", |h| {
        h.query_all_by_label("Groceries").count() >= 1
    });

    wait_until(&mut h, "Synced", |h| has_label(h, "Synced"));

    h.get_by_label("Work offline").click();
    wait_until(&mut h, "Working offline", |h| {
        has_label(h, "Working offline")
    });
    h.get_by_label("Text").focus();
    h.run_steps(1);
    h.get_by_label("Text").type_text("!");
    wait_until(&mut h, "the unsent change to show", |h| {
        has_label(h, "1 changes not yet on the relay")
    });

    h.get_by_label("Work offline").click();
    wait_until(&mut h, "Synced again", |h| {
        h.state().client().status(&id).ok() == Some(SyncStatus::Synced) && has_label(h, "Synced")
    });
    assert_eq!(body(h.state()), "Hello from the window!");

    // Reopened from the store, it is all there.
    let client = h.state().client().clone();
    drop(h);
    rt.block_on(client.shutdown());
    drop(client);
    let store = SqliteStore::open(dir.path(), || ReplicaId(9)).unwrap();
    let doc = store.load(&id).unwrap();
    assert_eq!(note::body_text(&doc), "Hello from the window!");
    assert_eq!(store.list().unwrap()[0].title, "Groceries");
}

#[test]
fn two_windows_sync_through_a_real_relay() {
    let rt = runtime();
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&rt, relay_dir.path());
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = harness(app(dir_a.path(), 1, Some(&relay), &rt));
    let mut b = harness(app(dir_b.path(), 2, Some(&relay), &rt));

    a.get_by_label("New note").click();
    a.run_steps(2);
    a.get_by_label("Text").focus();
    a.run_steps(1);
    a.get_by_label("Text").type_text("written on A");
    a.run_steps(2);

    let id = a.state().open_document().unwrap().clone();
    open_link(&mut b, &relay, &id);
    wait_until(&mut b, "B to show A's text", |b| {
        b.query_all_by_value("written on A").next().is_some()
    });

    // A's caret sits after "written" (7 chars in).
    a.get_by_label("Text").focus();
    a.run_steps(1);
    a.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Home);
    for _ in 0..7 {
        a.key_press(egui::Key::ArrowRight);
    }
    a.run_steps(2);
    assert_eq!(caret(&a), Some(7));

    // B types at the start and at the end; A sees it, and A's caret stays
    // after "written".
    b.get_by_label("Text").focus();
    b.run_steps(1);
    b.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::End);
    b.get_by_label("Text").type_text(", then B");
    b.run_steps(2);
    b.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Home);
    b.get_by_label("Text").type_text(">> ");
    b.run_steps(2);
    wait_until(&mut a, "A to show B's text", |a| {
        a.query_all_by_value(">> written on A, then B")
            .next()
            .is_some()
    });
    a.run_steps(2);
    assert_eq!(caret(&a), Some(10), "the caret moved with its characters");
    wait_until(&mut a, "presence of the other device", |a| {
        has_label(a, "1 other device is here")
    });
    assert_eq!(body(a.state()), body(b.state()));
}

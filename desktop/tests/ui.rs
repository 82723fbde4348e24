//! The window, driven headless with egui_kittest: local editing, the status
//! indicator and the offline toggle, and two app instances syncing through a
//! real relay (in this process, on a real socket).

use std::sync::Arc;
use std::time::{Duration, Instant};

use concord_client::SyncStatus;
use concord_core::ReplicaId;
use concord_desktop::app::ConcordApp;
use concord_desktop::note;
use concord_desktop::replicas::{SharedStore, start_client};
use concord_desktop::store::ReplicaStore;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

const DEADLINE: Duration = Duration::from_secs(30);

/// A relay in this process, open to anyone (`--dev`), on 127.0.0.1:0.
fn start_relay(runtime: &tokio::runtime::Runtime, dir: &std::path::Path) -> String {
    use concord_relay::config::{Auth, Config, Limits};
    use concord_relay::server::{AppState, serve};
    let store = Arc::new(concord_relay::store::Store::open(dir).unwrap());
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let config = Config {
        auth: Auth::Open,
        limits: Limits::default(),
        anti_entropy: Duration::from_secs(1),
        web_dir: None,
    };
    let state = Arc::new(AppState::new(config, store, shutdown_rx));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(serve(listener, state, shutdown_tx, std::future::pending()));
    format!("ws://{addr}")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn app(
    dir: &std::path::Path,
    device: u128,
    relay: Option<&str>,
    runtime: &tokio::runtime::Runtime,
) -> ConcordApp {
    let store = SharedStore::new(ReplicaStore::open(dir, || ReplicaId(device)).unwrap());
    let client = start_client(&store, relay, runtime.handle()).unwrap();
    ConcordApp::new(client, store, relay.map(str::to_owned))
}

fn harness(app: ConcordApp) -> Harness<'static, ConcordApp> {
    Harness::builder()
        .with_size(egui::vec2(1000.0, 700.0))
        .build_ui_state(|ui, app: &mut ConcordApp| app.show(ui), app)
}

/// Steps the window until `done` holds (the client works in the background).
fn wait_until(
    harness: &mut Harness<'_, ConcordApp>,
    what: &str,
    mut done: impl FnMut(&mut Harness<'_, ConcordApp>) -> bool,
) {
    let start = Instant::now();
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn body(app: &ConcordApp) -> String {
    let id = app.open_document().unwrap();
    app.client().with_document(id, note::body_text).unwrap()
}

/// The body field's caret (primary end), in chars.
fn caret(harness: &Harness<'_, ConcordApp>) -> Option<usize> {
    let id = egui::Id::unique(concord_desktop::app::BODY_FIELD);
    let state = egui::TextEdit::load_state(&harness.ctx, id)?;
    state.cursor.char_range().map(|r| r.primary.index.0)
}

fn has_label(harness: &Harness<'_, ConcordApp>, text: &str) -> bool {
    harness.query_by_label_contains(text).is_some()
}

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
    let store = ReplicaStore::open(dir.path(), || ReplicaId(9)).unwrap();
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
    let link = format!("{}/#doc={id}&token=", relay.replace("ws://", "http://"));
    b.state_mut().open_shared(&link).unwrap();
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

//! What the UI tests share: a relay in this process, app instances on
//! their own stores, a harness, waiting for the background client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use concord_core::ReplicaId;
use concord_desktop::app::ConcordApp;
use concord_desktop::note;
use concord_desktop::replicas::{SharedStore, start_client};
use concord_desktop::store::SqliteStore;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

pub const DEADLINE: Duration = Duration::from_secs(30);

/// A relay in this process, open to anyone (`--dev`), on 127.0.0.1:0.
pub fn start_relay(runtime: &tokio::runtime::Runtime, dir: &std::path::Path) -> String {
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

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub fn app(
    dir: &std::path::Path,
    device: u128,
    relay: Option<&str>,
    runtime: &tokio::runtime::Runtime,
) -> ConcordApp {
    let store = SharedStore::new(SqliteStore::open(dir, || ReplicaId(device)).unwrap());
    let client = start_client(&store, relay, runtime.handle()).unwrap();
    ConcordApp::new(client, store, relay.map(str::to_owned))
}

pub fn harness(app: ConcordApp) -> Harness<'static, ConcordApp> {
    harness_stepping(app, 0.25)
}

/// A harness whose frames are `step` seconds apart (1/60 for double
/// clicks, which must come within 0.3 s).
pub fn harness_stepping(app: ConcordApp, step: f32) -> Harness<'static, ConcordApp> {
    Harness::builder()
        .with_size(egui::vec2(1000.0, 700.0))
        .with_step_dt(step)
        .build_ui_state(|ui, app: &mut ConcordApp| app.show(ui), app)
}

/// Steps the window until `done` holds (the client works in the background).
pub fn wait_until(
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

pub fn body(app: &ConcordApp) -> String {
    let id = app.open_document().unwrap();
    app.client().with_document(id, note::body_text).unwrap()
}

/// The body field's caret (primary end), in chars.
pub fn caret(harness: &Harness<'_, ConcordApp>) -> Option<usize> {
    let id = egui::Id::unique(concord_desktop::app::BODY_FIELD);
    let state = egui::TextEdit::load_state(&harness.ctx, id)?;
    state.cursor.char_range().map(|r| r.primary.index.0)
}

/// Opens document `id` of the relay at `relay` (a `ws://` address) the way
/// a share link without a token does (the dev relay lets anyone in).
pub fn open_link(harness: &mut Harness<'_, ConcordApp>, relay: &str, id: &impl std::fmt::Display) {
    let link = format!("{}/#doc={id}&token=", relay.replace("ws://", "http://"));
    harness.state_mut().open_shared(&link).unwrap();
}

pub fn has_label(harness: &Harness<'_, ConcordApp>, text: &str) -> bool {
    harness.query_by_label_contains(text).is_some()
}

//! How the desktop app copes with a big real document: open time and frame
//! time while typing.
//!
//! ```text
//! cargo run --release -p concord-desktop --example bench -- assets/traces/automerge-paper.json.gz
//! ```
//!
//! Builds a note whose body has the trace's full history (one change per
//! trace transaction), stores it the way the app does (snapshot plus the
//! changes after it), then measures, headless (egui_kittest, no GPU):
//! - open: from opening the store to the document's text on screen;
//! - frames: typing one character per frame in the middle of the text.

#[path = "../../core/tests/it/support/trace.rs"]
#[allow(dead_code, clippy::all, clippy::pedantic)]
mod trace;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use concord_core::{Document, ReplicaId};
use concord_desktop::app::ConcordApp;
use concord_desktop::note;
use concord_desktop::replicas::{SharedStore, start_client};
use concord_desktop::store::SqliteStore;
use concord_wire::DocId;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

const TYPED: usize = 200;

fn main() -> Result<()> {
    let file = std::env::args()
        .nth(1)
        .context("usage: bench TRACE.json.gz (a sequential trace)")?;
    let trace::Trace::Sequential(trace) =
        trace::load(Path::new(&file)).map_err(|e| anyhow::anyhow!("{e:?}"))?
    else {
        bail!("{file}: a sequential trace is needed");
    };
    let device = ReplicaId(7);
    let id = DocId::new("bench").context("doc id")?;

    // The document, built the way the app edits: one change per transaction.
    let start = Instant::now();
    let mut doc = Document::new(device);
    let mut changes = Vec::with_capacity(trace.txns.len() + 1);
    let mut tx = doc.transaction();
    note::create(&mut tx, "automerge paper")?;
    note::splice(&mut tx, 0, 0, &trace.start)?;
    changes.extend(tx.commit());
    for patches in &trace.txns {
        let mut tx = doc.transaction();
        for p in patches {
            note::splice(&mut tx, p.pos, p.del, &p.insert)?;
        }
        changes.extend(tx.commit());
    }
    if note::body_text(&doc) != trace.end {
        bail!("replay did not reach endContent");
    }
    println!(
        "document: {} changes, {} chars, built in {:.0} ms",
        changes.len(),
        trace.end.chars().count(),
        start.elapsed().as_secs_f64() * 1e3
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;

    for (label, after_snapshot) in [
        ("snapshot + 0 changes", 0usize),
        (
            "snapshot + 999 changes (just under the compaction threshold)",
            999,
        ),
        ("no snapshot: every change replayed", changes.len()),
    ] {
        measure(&runtime, &changes, device, &id, label, after_snapshot)?;
    }
    Ok(())
}

/// Stores `changes` with the last `after_snapshot` of them after the
/// snapshot, then opens the app on it three times and types in it.
fn measure(
    runtime: &tokio::runtime::Runtime,
    changes: &[concord_core::EncodedChange],
    device: ReplicaId,
    id: &DocId,
    label: &str,
    after_snapshot: usize,
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    {
        let mut store = SqliteStore::open(dir.path(), || device)?;
        store.create(id, "automerge paper", 0, None)?;
        let split = changes.len() - after_snapshot;
        if split > 0 {
            let mut base = Document::new(device);
            base.apply_all(changes[..split].iter().cloned())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            store.compact(id, &base)?;
        }
        for chunk in changes[split..].chunks(10_000) {
            store.append(id, chunk, None, 0)?;
        }
    }
    let size = std::fs::metadata(dir.path().join("concord.sqlite3"))?.len();

    let mut opens = Vec::new();
    let mut frames = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let store = SharedStore::new(SqliteStore::open(dir.path(), || device)?);
        let client = start_client(&store, None, runtime.handle())?;
        let app = ConcordApp::new(client.clone(), store, None);
        let mut h = Harness::builder()
            .with_size(egui::vec2(1000.0, 700.0))
            .build_ui_state(|ui, app: &mut ConcordApp| app.show(ui), app);
        // Open means: the text is on screen (the client loads in the
        // background, so the first frames show an empty field).
        loop {
            h.step();
            let shown = h.get_by_label("Text").value().map_or(0, |v| v.len());
            if shown > 0 {
                break;
            }
            if t.elapsed() > Duration::from_mins(1) {
                bail!("the document did not show within a minute");
            }
        }
        opens.push(t.elapsed());

        let before = client.with_document(id, note::body_text)?.chars().count();
        h.get_by_label("Text").focus();
        h.step();
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Home);
        h.step();
        for _ in 0..TYPED {
            h.event(egui::Event::Text("x".into()));
            let t = Instant::now();
            h.step();
            frames.push(t.elapsed());
        }
        let body = client.with_document(id, note::body_text)?;
        if body.chars().count() != before + TYPED {
            bail!(
                "typing did not reach the document: {} chars, expected {}",
                body.chars().count(),
                before + TYPED
            );
        }
        drop(h);
        runtime.block_on(client.shutdown());
    }
    opens.sort();
    frames.sort();
    println!("{label}: database {:.1} MiB", mib(size));
    println!(
        "  open (store opened -> text on screen): median {}",
        ms(opens[1])
    );
    println!(
        "  frame while typing ({} frames): median {}, p99 {}, max {}",
        frames.len(),
        ms(frames[frames.len() / 2]),
        ms(frames[frames.len() * 99 / 100]),
        ms(frames[frames.len() - 1])
    );
    Ok(())
}

/// Bytes in MiB, for display only.
#[allow(clippy::cast_precision_loss)]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 20)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

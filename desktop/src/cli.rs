//! `concord`: the desktop app and its headless commands. The binary and
//! the end-to-end tests' `concord-under-test` both run `main`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::app::ConcordApp;
use crate::calendar_file;
use crate::chaos_edit;
use crate::note;
use crate::replicas::{SharedStore, now_ms, start_client};
use crate::share::ShareLink;
use crate::store::ReplicaStore;
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use concord_core::{DocId, Document, ReplicaId};

#[derive(Debug, Parser)]
#[command(
    name = "concord",
    version,
    about = "Concord: local-first documents and calendar"
)]
struct Cli {
    /// Where this device's replicas live (default: the platform data directory).
    #[arg(long, env = "CONCORD_DATA", global = true)]
    data: Option<PathBuf>,
    /// The relay to sync with, e.g. `ws://127.0.0.1:7070` (default: none,
    /// local only).
    #[arg(long, env = "CONCORD_RELAY", global = true)]
    relay: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Documents, without the window.
    Doc {
        #[command(subcommand)]
        command: DocCommand,
    },
    /// Calendars, without the window.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Syncs every document with the relay, then exits.
    Sync {
        /// Sync until everything is exchanged, then exit (the only mode).
        #[arg(long)]
        once: bool,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Appends one character per committed change, forever, printing
    /// `committed N` after each commit. For the crash-safety test.
    #[command(hide = true)]
    CrashWriter { id: String },
    /// Makes seeded random edits of a note's body (tokens `<TAG.N>`), each
    /// committed and then reported. For the end-to-end chaos test.
    #[command(hide = true)]
    ChaosEdit {
        id: String,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        edits: u32,
        #[arg(long)]
        tag: String,
        /// Milliseconds to wait after each edit.
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
        /// Edit through the sync client while it syncs (needs --relay),
        /// then wait up to --settle-secs for the relay to confirm.
        #[arg(long)]
        live: bool,
        #[arg(long, default_value_t = 5)]
        settle_secs: u64,
    },
}

#[derive(Debug, Subcommand)]
enum DocCommand {
    /// One line per document: id, a tab, the title.
    List,
    /// Creates a document; prints its id.
    New { title: String },
    /// Prints a document's text.
    Cat { id: String },
    /// Appends text to a document.
    Append { id: String, text: String },
    /// Prints a document's share link (needs --relay).
    Share { id: String },
    /// Adds a shared document from its link; it syncs on the next
    /// `concord sync --once` or in the window.
    Open { link: String },
}

#[derive(Debug, Subcommand)]
enum CalendarCommand {
    /// Reads an iCalendar (.ics) file into a new calendar; prints its id.
    Import {
        file: PathBuf,
        /// The IANA zone of times without one (default: this computer's).
        #[arg(long)]
        zone: Option<String>,
    },
    /// Writes a calendar as iCalendar to standard output.
    Export { id: String },
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("concord: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let data = match cli.data {
        Some(d) => d,
        None => directories::ProjectDirs::from("org", "Concord", "Concord")
            .context("no home directory to keep documents in; pass --data DIR")?
            .data_dir()
            .to_owned(),
    };
    let mut store = ReplicaStore::open(&data, || ReplicaId(rand::random()))?;
    let Some(command) = cli.command else {
        first_run(&mut store);
        return window(store, cli.relay);
    };
    match command {
        Command::Doc { command } => doc_command(&mut store, command, cli.relay.as_deref()),
        Command::Calendar { command } => calendar_command(&mut store, command),
        Command::Sync { once, timeout } => {
            if !once {
                bail!("only `concord sync --once` exists; the window syncs continuously");
            }
            let relay = cli
                .relay
                .context("no relay: pass --relay URL (or set CONCORD_RELAY)")?;
            sync_once(store, &relay, std::time::Duration::from_secs(timeout))
        }
        Command::CrashWriter { id } => crash_writer(&mut store, &id),
        Command::ChaosEdit {
            id,
            seed,
            edits,
            tag,
            pause_ms,
            live,
            settle_secs,
        } => {
            let plan = chaos_edit::ChaosEdit {
                doc: doc_id(&id)?,
                seed,
                edits,
                tag,
                pause: std::time::Duration::from_millis(pause_ms),
            };
            let mut out = std::io::stdout().lock();
            if live {
                let relay = cli
                    .relay
                    .context("no relay: pass --relay URL (or set CONCORD_RELAY)")?;
                let settle = std::time::Duration::from_secs(settle_secs);
                chaos_edit::run_live(store, &relay, &plan, settle, &mut out)?;
            } else {
                chaos_edit::run(&mut store, &plan, &mut out)?;
            }
            Ok(())
        }
    }
}

/// A new user's first start: the demo calendar, in this week. A failure
/// here costs nothing but the demo, so it is reported and the window opens.
fn first_run(store: &mut ReplicaStore) {
    let zone = crate::calendar::zone::device_zone();
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    if let Err(e) = crate::first_run::seed_demo_calendar(store, today, zone, rand::random()) {
        eprintln!("concord: the demo calendar was not added: {e}");
    }
}

/// Opens the window; sync runs on a background tokio runtime.
fn window(store: ReplicaStore, relay: Option<String>) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the sync runtime")?;
    let store = SharedStore::new(store);
    let client = start_client(&store, relay.as_deref(), runtime.handle())?;
    let app = ConcordApp::new(client.clone(), store, relay);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Concord")
            .with_inner_size([1100.0, 720.0]),
        ..Default::default()
    };
    let result = eframe::run_native(
        "Concord",
        options,
        Box::new(|_cc| Ok(Box::new(Window(app)))),
    );
    runtime.block_on(client.shutdown());
    result.map_err(|e| anyhow::anyhow!("the window failed: {e}"))
}

/// The eframe shell around the app.
struct Window(ConcordApp);

impl eframe::App for Window {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.0.show(ui);
    }
}

fn doc_id(id: &str) -> Result<DocId> {
    DocId::new(id).with_context(|| format!("{id:?} is not a document id"))
}

fn doc_command(store: &mut ReplicaStore, command: DocCommand, relay: Option<&str>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        DocCommand::List => {
            for info in store.list()? {
                let calendar = store
                    .load(&info.id)
                    .is_ok_and(|doc| concord_calendar::is_calendar(&doc));
                if calendar {
                    writeln!(out, "{}\t{}\tcalendar", info.id, info.title)?;
                } else {
                    writeln!(out, "{}\t{}", info.id, info.title)?;
                }
            }
        }
        DocCommand::New { title } => {
            let id = DocId::from_random(rand::random());
            let mut doc = Document::new(store.device());
            let mut tx = doc.transaction();
            note::create(&mut tx, &title)?;
            let first = tx.commit();
            store.create(&id, &title, now_ms(), None)?;
            store.append(&id, first.as_slice(), None, now_ms())?;
            writeln!(out, "{id}")?;
        }
        DocCommand::Cat { id } => {
            let doc = store.load(&doc_id(&id)?)?;
            write!(out, "{}", note::body_text(&doc))?;
            if let Some(summary) = doc.unreadable_summary() {
                eprintln!("concord: {id}: {summary}");
            }
        }
        DocCommand::Append { id, text } => {
            let id = doc_id(&id)?;
            let mut doc = store.load(&id)?;
            let mut tx = doc.transaction();
            note::append(&mut tx, &text)?;
            if let Some(change) = tx.commit() {
                store.append(&id, &[change], Some(&note::title(&doc)), now_ms())?;
            }
        }
        DocCommand::Share { id } => {
            let id = doc_id(&id)?;
            let relay = relay.context("sharing needs a relay: pass --relay URL")?;
            let token = store.info(&id)?.token.unwrap_or_default();
            writeln!(out, "{}", ShareLink::new(relay, id, token))?;
        }
        DocCommand::Open { link } => {
            let link = ShareLink::parse(&link)?;
            if store.contains(&link.doc)? {
                store.set_token(&link.doc, Some(&link.token))?;
            } else {
                store.create(&link.doc, "Shared document", now_ms(), Some(&link.token))?;
            }
            writeln!(out, "{}", link.doc)?;
        }
    }
    Ok(())
}

fn calendar_command(store: &mut ReplicaStore, command: CalendarCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        CalendarCommand::Import { file, zone } => {
            let zone = match zone {
                Some(name) => name
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{name:?} is not an IANA time zone"))?,
                None => calendar_file::local_zone(),
            };
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let fallback = file
                .file_stem()
                .map_or_else(|| "Imported calendar".into(), |s| s.to_string_lossy());
            let (id, warnings) =
                calendar_file::import(store, &text, &fallback, zone, rand::random())
                    .with_context(|| format!("cannot import {}", file.display()))?;
            for warning in warnings {
                eprintln!("concord: {}: {warning}", file.display());
            }
            writeln!(out, "{id}")?;
        }
        CalendarCommand::Export { id } => {
            let ics = calendar_file::export(store, &doc_id(&id)?, chrono::Utc::now())?;
            write!(out, "{ics}")?;
        }
    }
    Ok(())
}

/// Opens every document, waits until each is synced (or refused), exits.
fn sync_once(store: ReplicaStore, relay: &str, timeout: std::time::Duration) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the sync runtime")?;
    let store = SharedStore::new(store);
    let docs = store.lock().list()?;
    let client = start_client(&store, Some(relay), runtime.handle())?;
    for info in &docs {
        client.open(info.id.clone(), info.token.clone().unwrap_or_default())?;
    }
    let deadline = std::time::Instant::now() + timeout;
    let outcome = runtime.block_on(async {
        loop {
            let mut pending = Vec::new();
            for info in &docs {
                match client.status(&info.id)? {
                    concord_client::SyncStatus::Synced => {}
                    concord_client::SyncStatus::Refused { code, detail } => {
                        eprintln!("{}: refused by the relay: {code} {detail}", info.id);
                    }
                    other => pending.push((info.id.clone(), other)),
                }
            }
            if pending.is_empty() {
                return Ok::<_, anyhow::Error>(None);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(Some(pending));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })?;
    // Keep the cached titles in step with what arrived.
    for info in &docs {
        let title = client.with_document(&info.id, note::title)?;
        store.lock().set_title(&info.id, &title)?;
    }
    runtime.block_on(client.shutdown());
    if let Some(pending) = outcome {
        let list: Vec<String> = pending
            .iter()
            .map(|(id, status)| format!("{id} ({status:?})"))
            .collect();
        bail!("not synced within {timeout:?}: {}", list.join(", "));
    }
    let plural = if docs.len() == 1 { "" } else { "s" };
    println!("synced {} document{plural} with {relay}", docs.len());
    Ok(())
}

fn crash_writer(store: &mut ReplicaStore, id: &str) -> Result<()> {
    let id = doc_id(id)?;
    if !store.contains(&id)? {
        let mut doc = Document::new(store.device());
        let mut tx = doc.transaction();
        note::create(&mut tx, "crash test")?;
        let first = tx.commit();
        store.create(&id, "crash test", now_ms(), None)?;
        store.append(&id, first.as_slice(), None, now_ms())?;
    }
    let mut doc = store.load(&id)?;
    let mut out = std::io::stdout().lock();
    loop {
        let mut tx = doc.transaction();
        note::append(&mut tx, "x")?;
        let Some(change) = tx.commit() else {
            bail!("appending produced no change");
        };
        let seq = change.id().seq;
        store.append(&id, &[change], None, now_ms())?;
        writeln!(out, "committed {seq}")?;
        out.flush()?;
        if seq % 97 == 0 {
            store.compact(&id, &doc)?;
        }
    }
}

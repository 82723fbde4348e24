//! `concord`: the desktop app and its headless commands. The binary and
//! the end-to-end tests' `concord-under-test` both run `main`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::app::ConcordApp;
use crate::calendar_file;
use crate::chaos_edit;
use crate::note;
use crate::replicas::{SharedStore, start_client, start_client_with};
use crate::share::ShareLink;
use crate::store::{DocKind, SqliteStore};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use concord_client::{Client, ClientError, Compaction};
use concord_core::ReplicaId;
use concord_wire::DocId;

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
    /// One line per document, most recently edited first: its id, a tab,
    /// what it is (`note`, `calendar`, or `unknown` for a shared document
    /// that has not arrived yet), a tab, its title (tabs and line breaks
    /// in it printed as spaces).
    List,
    /// Creates a document; prints its id.
    New { title: String },
    /// Prints a document's text, then a newline (the text's own last
    /// newline, if it has one, stays: strip one for the exact text).
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
        /// The IANA zone of times without one (default: this computer's,
        /// as the window uses: the TZ variable, else the system setting).
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
    let store = SqliteStore::open(&data, || ReplicaId(rand::random()))?;
    let Some(command) = cli.command else {
        return window(store, cli.relay);
    };
    match command {
        Command::Doc { command } => {
            let device = Offline::start(store, |_| {})?;
            let out = doc_command(&device, command, cli.relay.as_deref());
            device.stop();
            out
        }
        Command::Calendar { command } => {
            let device = Offline::start(store, |_| {})?;
            let out = calendar_command(&device, command);
            device.stop();
            out
        }
        Command::Sync { once, timeout } => {
            if !once {
                bail!("only `concord sync --once` exists; the window syncs continuously");
            }
            let relay = cli
                .relay
                .context("no relay: pass --relay URL (or set CONCORD_RELAY)")?;
            crate::sync_once::run(store, &relay, std::time::Duration::from_secs(timeout))
        }
        Command::CrashWriter { id } => {
            // Snapshots often, so that kills land in them too.
            let device = Offline::start(store, |config| {
                config.compaction = Compaction { max_records: 97 };
            })?;
            crash_writer(&device, &id)
        }
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
                // Snapshots often, so that kills land in them too.
                let device = Offline::start(store, |config| {
                    config.compaction = Compaction {
                        max_records: chaos_edit::COMPACT_AFTER,
                    };
                })?;
                device.open(&plan.doc)?;
                let result = chaos_edit::run(&device.client, &plan, &mut out);
                device.stop();
                result?;
            }
            Ok(())
        }
    }
}

/// The headless commands' device: the sync client, offline, over the store
/// (documents' contents go through it; the list's cache beside it).
struct Offline {
    runtime: tokio::runtime::Runtime,
    list: SharedStore,
    client: Client,
}

impl Offline {
    fn start(store: SqliteStore, adjust: impl FnOnce(&mut concord_client::Config)) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the client's runtime")?;
        let list = SharedStore::new(store);
        let client = start_client_with(&list, None, runtime.handle(), adjust)?;
        Ok(Offline {
            runtime,
            list,
            client,
        })
    }

    /// Opens `id` with the token the list has for it (an error if this
    /// device does not hold it).
    fn open(&self, id: &DocId) -> Result<()> {
        let token = self.list.info(id)?.token.unwrap_or_default();
        self.client.open(id.clone(), token)?;
        Ok(())
    }

    fn stop(self) {
        self.runtime.block_on(self.client.shutdown());
    }
}

/// A new user's first start: the demo calendar, in this week. A failure
/// here costs nothing but the demo, so it is reported and the window opens.
fn first_run(client: &Client, list: &SharedStore) {
    let zone = crate::calendar::zone::device_zone();
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    if let Err(e) = crate::first_run::seed_demo_calendar(client, list, today, zone, rand::random())
    {
        eprintln!("concord: the demo calendar was not added: {e}");
    }
}

/// Opens the window; sync runs on a background tokio runtime.
fn window(store: SqliteStore, relay: Option<String>) -> Result<()> {
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
    first_run(&client, &store);
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

fn doc_command(device: &Offline, command: DocCommand, relay: Option<&str>) -> Result<()> {
    let Offline { list, client, .. } = device;
    let mut out = std::io::stdout().lock();
    match command {
        DocCommand::List => {
            // The store's list cache has titles and kinds: a document is
            // loaded only if nobody looked at what it is yet (one from a
            // link or an older Concord), and then its kind is cached.
            for info in list.list()? {
                let kind = match info.kind {
                    Some(kind) => Some(kind),
                    None => match client.peek(&info.id, DocKind::known) {
                        Ok(Some(kind)) => {
                            list.set_kind(&info.id, kind)?;
                            Some(kind)
                        }
                        Ok(None) => None,
                        // One unreadable document does not hide the others.
                        Err(e) => {
                            eprintln!("concord: {}: {e}", info.id);
                            None
                        }
                    },
                };
                let kind = kind.map_or("unknown", DocKind::as_str);
                // One line per document, whatever the title holds.
                let title = info.title.replace(['\t', '\n', '\r'], " ");
                writeln!(out, "{}\t{kind}\t{title}", info.id)?;
            }
        }
        DocCommand::New { title } => {
            let id = DocId::from_random(rand::random());
            client.create(id.clone(), "")?;
            client
                .edit(&id, |tx| note::create(tx, &title))?
                .value_if_saved()??;
            list.set_title(&id, &title)?;
            list.set_kind(&id, DocKind::Note)?;
            writeln!(out, "{id}")?;
        }
        DocCommand::Cat { id } => {
            let (text, unreadable) = client.peek(&doc_id(&id)?, |doc| {
                (note::body_text(doc), doc.unreadable_summary())
            })?;
            writeln!(out, "{text}")?;
            if let Some(summary) = unreadable {
                eprintln!("concord: {id}: {summary}");
            }
        }
        DocCommand::Append { id, text } => {
            let id = doc_id(&id)?;
            device.open(&id)?;
            client
                .edit(&id, |tx| note::append(tx, &text))?
                .value_if_saved()??;
            list.set_title(&id, &client.with_document(&id, note::title)?)?;
        }
        DocCommand::Share { id } => {
            let id = doc_id(&id)?;
            let relay = relay.context("sharing needs a relay: pass --relay URL")?;
            let token = list.info(&id)?.token.unwrap_or_default();
            writeln!(out, "{}", ShareLink::new(relay, id, token))?;
        }
        DocCommand::Open { link } => {
            let link = ShareLink::parse(&link)?;
            let held = list.info(&link.doc).is_ok();
            client.open(link.doc.clone(), link.token.clone())?;
            if !held {
                list.set_title(&link.doc, "Shared document")?;
            }
            writeln!(out, "{}", link.doc)?;
        }
    }
    Ok(())
}

fn calendar_command(device: &Offline, command: CalendarCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        CalendarCommand::Import { file, zone } => {
            let zone = match zone {
                Some(name) => name
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{name:?} is not an IANA time zone"))?,
                None => crate::calendar::zone::device_zone(),
            };
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let fallback = calendar_file::fallback_name(&file);
            let (id, warnings) = calendar_file::import(
                &device.client,
                &device.list,
                &text,
                &fallback,
                zone,
                rand::random(),
            )
            .with_context(|| format!("cannot import {}", file.display()))?;
            for warning in warnings {
                eprintln!("concord: {}: {warning}", file.display());
            }
            writeln!(out, "{id}")?;
        }
        CalendarCommand::Export { id } => {
            let ics = calendar_file::export(&device.client, &doc_id(&id)?, chrono::Utc::now())?;
            write!(out, "{ics}")?;
        }
    }
    Ok(())
}

/// Appends "x" through the client, one change at a time, forever; prints
/// `committed N` once the store holds change N.
fn crash_writer(device: &Offline, id: &str) -> Result<()> {
    let Offline { list, client, .. } = device;
    let id = doc_id(id)?;
    match client.create(id.clone(), "") {
        Ok(()) => {
            client
                .edit(&id, |tx| note::create(tx, "crash test"))?
                .value_if_saved()??;
            list.set_title(&id, "crash test")?;
        }
        Err(ClientError::AlreadyExists(_)) => device.open(&id)?,
        Err(e) => return Err(e.into()),
    }
    let mut out = std::io::stdout().lock();
    loop {
        let seq = client
            .edit(&id, |tx| {
                note::append(tx, "x")?;
                Ok::<_, anyhow::Error>(tx.doc().version().get(tx.doc().replica()) + 1)
            })?
            .value_if_saved()??;
        writeln!(out, "committed {seq}")?;
        out.flush()?;
    }
}

//! `concord`: the desktop app and its headless commands.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use concord_core::{DocId, Document, ReplicaId};
use concord_desktop::note;
use concord_desktop::store::ReplicaStore;

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
    /// Appends one character per committed change, forever, printing
    /// `committed N` after each commit. For the crash-safety test.
    #[command(hide = true)]
    CrashWriter { id: String },
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
}

fn main() -> ExitCode {
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
    let Some(command) = cli.command else {
        bail!("the window is not available in this build yet; use a subcommand (see --help)");
    };
    let mut store = ReplicaStore::open(&data, || ReplicaId(rand::random()))?;
    match command {
        Command::Doc { command } => doc_command(&mut store, command),
        Command::CrashWriter { id } => crash_writer(&mut store, &id),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn doc_id(id: &str) -> Result<DocId> {
    DocId::new(id).with_context(|| format!("{id:?} is not a document id"))
}

fn doc_command(store: &mut ReplicaStore, command: DocCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        DocCommand::List => {
            for info in store.list()? {
                writeln!(out, "{}\t{}", info.id, info.title)?;
            }
        }
        DocCommand::New { title } => {
            let id = DocId::from_random(rand::random());
            let mut doc = Document::new(store.device());
            note::create(&mut doc, &title)?;
            store.create(&id, &doc, &title, now_ms(), None)?;
            writeln!(out, "{id}")?;
        }
        DocCommand::Cat { id } => {
            let doc = store.load(&doc_id(&id)?)?;
            write!(out, "{}", note::body_text(&doc))?;
        }
        DocCommand::Append { id, text } => {
            let id = doc_id(&id)?;
            let mut doc = store.load(&id)?;
            if let Some(change) = note::append(&mut doc, &text)? {
                store.append(&id, &[change], Some(&note::title(&doc)), now_ms())?;
            }
        }
    }
    Ok(())
}

fn crash_writer(store: &mut ReplicaStore, id: &str) -> Result<()> {
    let id = doc_id(id)?;
    if !store.contains(&id)? {
        let mut doc = Document::new(store.device());
        note::create(&mut doc, "crash test")?;
        store.create(&id, &doc, "crash test", now_ms(), None)?;
    }
    let mut doc = store.load(&id)?;
    let mut out = std::io::stdout().lock();
    loop {
        let Some(change) = note::append(&mut doc, "x")? else {
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

//! Upload, download and relay storage of a real document's history, end to
//! end: a real native client (`concord-client`, a `MemoryStore`) holds a
//! trace typed offline, a real relay process (`--dev`, a fresh data
//! directory) runs on localhost, the client goes online and we time until
//! it reports `Synced`; then a fresh client on another replica opens the
//! document and we time until it is `Synced` with the same text. Last, the
//! relay is stopped cleanly (its WAL checkpointed into the file) and the
//! database's size is compared with the document's own saved size.
//!
//! ```sh
//! cargo build --release -p concord-relay --bin concord-relay --example trace_sync
//! target/release/examples/trace_sync --relay-bin target/release/concord-relay
//! # more relay flags (later ones win), e.g. no rate limit:
//! target/release/examples/trace_sync --relay-bin target/release/concord-relay \
//!     --relay-arg=--max-changes-per-sec=1e9 --relay-arg=--changes-burst=1e9
//! ```
//! Sequential traces (`automerge-paper`, `sveltecomponent`) are typed
//! through `Client::edit`, one change per trace transaction, offline. The
//! concurrent one (`friendsforever`, two agents) cannot be typed by one
//! device: its history is replayed into a document by the trace tests'
//! code and stored in the device's store as a snapshot before the client
//! starts, so the device holds (and must upload) both agents' changes.

#[path = "../../core/tests/it/support/trace.rs"]
#[allow(dead_code, clippy::all, clippy::pedantic)]
mod trace;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use concord_client::{
    Client, Config, ConnectionStatus, DeviceStore, MemoryStore, SaveWhat, SyncStatus,
};
use concord_core::{ObjId, ObjType, ReplicaId};
use concord_wire::DocId;

#[derive(Debug, Parser)]
struct Args {
    /// The relay binary to start (with --dev on a fresh data directory).
    #[arg(long)]
    relay_bin: PathBuf,
    /// Another flag for the relay (repeatable).
    #[arg(long = "relay-arg", allow_hyphen_values = true)]
    relay_flags: Vec<String>,
    /// The traces, as files under assets/traces/ without `.json.gz`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "automerge-paper,sveltecomponent,friendsforever"
    )]
    traces: Vec<String>,
    /// The repository root (where assets/traces/ is).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Give up waiting for `Synced` after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout_secs: u64,
}

/// The text key every document here keeps its body under.
const KEY: &str = "text";

struct Relay {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Relay {
    fn start(bin: &Path, extra: &[String]) -> anyhow::Result<Relay> {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(bin)
            .args(["--dev", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path())
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let line = lines.next().context("the relay printed nothing")??;
        std::thread::spawn(move || for _ in lines {});
        let addr = line
            .strip_prefix("listening on ")
            .context("unexpected first line")?
            .trim()
            .to_owned();
        Ok(Relay {
            child,
            url: format!("ws://{addr}/v1/sync"),
            dir,
        })
    }

    /// Stops the relay with SIGTERM (it drains, then checkpoints the WAL
    /// into the database file) and returns the size of what is left on
    /// disk: the database and any WAL.
    fn stop_and_measure(mut self) -> anyhow::Result<u64> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM failed");
        let exit = self.child.wait()?;
        anyhow::ensure!(exit.success(), "the relay exited with {exit}");
        let mut total = 0;
        for entry in std::fs::read_dir(self.dir.path())? {
            let entry = entry?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("relay.sqlite3")
            {
                total += entry.metadata()?.len();
            }
        }
        Ok(total)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(url: &str, device: ReplicaId) -> Config {
    Config::new(url, device)
}

/// Waits until `doc` is `Synced` and `done` holds; polls every millisecond.
async fn until_synced(
    client: &Client,
    doc: &DocId,
    timeout: Duration,
    done: impl Fn(&Client) -> bool,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    loop {
        if client.status(doc)? == SyncStatus::Synced && done(client) {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            bail!(
                "not synced after {timeout:?}: {:?}, {} unacked",
                client.status(doc)?,
                client.unacked(doc)?
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn until_connected(client: &Client) -> anyhow::Result<()> {
    let start = Instant::now();
    while client.connection() != ConnectionStatus::Connected {
        if start.elapsed() > Duration::from_secs(30) {
            bail!("no connection");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

struct Figures {
    changes: usize,
    saved: usize,
    upload: Duration,
    download: Duration,
    relay_bytes: u64,
}

async fn run(args: &Args, name: &str) -> anyhow::Result<Figures> {
    let path = args
        .root
        .join("assets/traces")
        .join(format!("{name}.json.gz"));
    let loaded = trace::load(&path).map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
    let relay = Relay::start(&args.relay_bin, &args.relay_flags)?;
    let doc = DocId::new(name)?;
    let timeout = Duration::from_secs(args.timeout_secs);
    let runtime = tokio::runtime::Handle::current();

    let mut store = MemoryStore::new();
    let expected = match &loaded {
        trace::Trace::Sequential(t) => t.end.clone(),
        trace::Trace::Concurrent(t) => {
            // Two agents: the history as the trace tests replay it, in the
            // store before the client starts.
            let replayed =
                trace::replay_concurrent(t).map_err(|e| anyhow::anyhow!("replay: {e:?}"))?;
            let document = replayed.doc.fork(ReplicaId(1));
            anyhow::ensure!(
                body_of(&document) == t.end,
                "replay did not reach endContent"
            );
            store.set_token(&doc, "")?;
            store.save(&doc, &SaveWhat::Snapshot(document.save()))?;
            t.end.clone()
        }
        trace::Trace::Raw(_) => bail!("{name}: a raw trace"),
    };

    let writer = Client::start(config(&relay.url, ReplicaId(1)), store, &runtime)?;
    writer.set_online(false);
    let typed = Instant::now();
    match &loaded {
        trace::Trace::Sequential(t) => {
            writer.create(doc.clone(), "")?;
            let text = writer
                .edit(&doc, |tx| {
                    let text = tx.put_object(ObjId::Root, KEY, ObjType::Text)?;
                    tx.insert_text(text, 0, &t.start)?;
                    Ok::<_, concord_core::EditError>(text)
                })?
                .value?;
            for patches in &t.txns {
                let edited = writer.edit(&doc, |tx| {
                    for p in patches {
                        tx.splice_text(text, p.pos, p.del, &p.insert)?;
                    }
                    Ok::<_, concord_core::EditError>(())
                })?;
                edited.value?;
                edited.saved?;
            }
        }
        _ => writer.open(doc.clone(), "")?,
    }
    let (changes, saved, body) =
        writer.with_document(&doc, |d| (d.history_len(), d.save().len(), body_of(d)))?;
    anyhow::ensure!(body == expected, "the typed text is not the trace's");
    anyhow::ensure!(
        writer.connection() == ConnectionStatus::Offline && writer.relay_acked(&doc)?.is_empty(),
        "the writer was not offline while typing"
    );
    println!(
        "{name}: {changes} changes typed offline in {:.1} s; saved document {saved} bytes",
        typed.elapsed().as_secs_f64()
    );

    // Upload: online, until the relay has acknowledged everything.
    writer.set_online(true);
    let upload = until_synced(&writer, &doc, timeout, |_| true).await?;
    writer.shutdown().await;

    // Download: a fresh device, connected, opens the document.
    let reader = Client::start(
        config(&relay.url, ReplicaId(2)),
        MemoryStore::new(),
        &runtime,
    )?;
    until_connected(&reader).await?;
    let start = Instant::now();
    reader.open(doc.clone(), "")?;
    until_synced(&reader, &doc, timeout, |c| {
        c.with_document(&doc, body_of).ok().as_deref() == Some(expected.as_str())
    })
    .await?;
    let download = start.elapsed();
    reader.shutdown().await;

    let relay_bytes = relay.stop_and_measure()?;
    Ok(Figures {
        changes,
        saved,
        upload,
        download,
        relay_bytes,
    })
}

/// The document's body: the text under KEY (the trace tests' concurrent
/// replay keeps it there too).
fn body_of(d: &concord_core::Document) -> String {
    d.key_text(ObjId::Root, KEY).to_string()
}

/// `a / b`, for a ratio printed with two decimals.
#[expect(
    clippy::cast_precision_loss,
    reason = "byte counts far below 2^52, printed with two decimals"
)]
fn ratio(a: u64, b: usize) -> f64 {
    a as f64 / b as f64
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rows = Vec::new();
    for name in &args.traces {
        let f = run(&args, name).await?;
        println!(
            "{name}: upload {:.3} s, fresh device {:.3} s, relay {} bytes ({:.2}× the saved document)",
            f.upload.as_secs_f64(),
            f.download.as_secs_f64(),
            f.relay_bytes,
            ratio(f.relay_bytes, f.saved)
        );
        rows.push((name.clone(), f));
    }
    println!();
    println!(
        "| trace | changes | upload | fresh device | relay database | saved document | ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, f) in rows {
        println!(
            "| {name} | {} | {:.3} s | {:.3} s | {} KiB | {} KiB | {:.2}× |",
            f.changes,
            f.upload.as_secs_f64(),
            f.download.as_secs_f64(),
            f.relay_bytes / 1024,
            f.saved / 1024,
            ratio(f.relay_bytes, f.saved)
        );
    }
    Ok(())
}

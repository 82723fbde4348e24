//! Command line: `concord-relay [flags]` serves; `concord-relay token ...`
//! mints an access token. Every flag has an environment variable.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use concord_wire::{Access, DocId};
use tokio::net::TcpListener;

use crate::config::{Auth, Config, Limits};
use crate::error::{RelayError, StoreError};
use crate::fanout::Fanout;
use crate::log_store::LogStore;
use crate::postgres::{self, PgStore};
use crate::server::{self, AppState};
use crate::sockets;
use crate::store::{Store, StoreOptions};
use crate::token::{self, Secret};

#[derive(Debug, Parser)]
#[command(
    name = "concord-relay",
    version,
    about = "Concord's sync relay: devices sync documents through it, and it keeps a durable copy."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Secret that signs access tokens (at least 32 bytes).
    #[arg(
        long,
        env = "CONCORD_RELAY_SECRET",
        hide_env_values = true,
        global = true
    )]
    secret: Option<String>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print an access token for one document.
    Token(TokenArgs),
    /// Copy the database to DEST while the relay runs (SQLite online
    /// backup: a consistent snapshot of everything committed when it
    /// starts). DEST must not exist.
    Backup(BackupArgs),
}

#[derive(Debug, Args)]
struct BackupArgs {
    /// The file to write (a complete relay database: put it in a data
    /// directory as `relay.sqlite3` to serve it).
    dest: PathBuf,
    /// Directory of the database to copy.
    #[arg(long, env = "CONCORD_RELAY_DATA", default_value = "./relay-data")]
    data: PathBuf,
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// Document id (1-64 ASCII letters, digits, '-' or '_').
    #[arg(long)]
    doc: String,
    /// Read-only access (default: read and write).
    #[arg(long)]
    read_only: bool,
    /// How long the token is valid: 30d, 12h, 15m, 45s.
    #[arg(long, default_value = "30d", value_parser = token::parse_ttl)]
    ttl: u64,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (port 0: any free port; the chosen address is
    /// printed as `listening on ADDR`).
    #[arg(long, env = "CONCORD_RELAY_LISTEN", default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// Directory of the database.
    #[arg(long, env = "CONCORD_RELAY_DATA", default_value = "./relay-data")]
    data: PathBuf,
    /// Keep the documents in PostgreSQL instead of SQLite under --data:
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`. Several relays given
    /// the same database (and the same --secret) serve the same documents.
    #[arg(long, env = "CONCORD_RELAY_STORE", hide_env_values = true)]
    store: Option<String>,
    /// Development mode without a secret: ANYONE CAN READ AND WRITE EVERY DOCUMENT.
    #[arg(long, env = "CONCORD_RELAY_DEV")]
    dev: bool,
    /// Serve the static files of this directory at `/` (the web demo).
    #[arg(long, env = "CONCORD_RELAY_WEB")]
    web: Option<PathBuf>,
    /// Seconds between version exchanges on idle subscriptions.
    #[arg(long, env = "CONCORD_RELAY_ANTI_ENTROPY_SECS", default_value_t = 30.0)]
    anti_entropy_secs: f64,
    /// Largest websocket message, in bytes.
    #[arg(long, env = "CONCORD_RELAY_MAX_MESSAGE_BYTES", default_value_t = 1 << 20)]
    max_message_bytes: usize,
    /// Documents subscribed at once on one connection.
    #[arg(
        long,
        env = "CONCORD_RELAY_MAX_DOCS_PER_CONNECTION",
        default_value_t = 100
    )]
    max_docs_per_connection: usize,
    /// Changes waiting for their dependencies, per connection.
    #[arg(
        long,
        env = "CONCORD_RELAY_MAX_PENDING_PER_CONNECTION",
        default_value_t = 10_000
    )]
    max_pending_per_connection: usize,
    /// Bytes of the changes waiting for their dependencies, per connection.
    #[arg(
        long,
        env = "CONCORD_RELAY_MAX_PENDING_BYTES_PER_CONNECTION",
        default_value_t = 8 << 20
    )]
    max_pending_bytes_per_connection: usize,
    /// Sustained changes per second, per connection.
    #[arg(
        long,
        env = "CONCORD_RELAY_MAX_CHANGES_PER_SEC",
        default_value_t = 1000.0
    )]
    max_changes_per_sec: f64,
    /// Changes a connection may send at once above the rate.
    #[arg(long, env = "CONCORD_RELAY_CHANGES_BURST", default_value_t = 10_000.0)]
    changes_burst: f64,
    /// Open connections in total.
    #[arg(long, env = "CONCORD_RELAY_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,
    /// Seconds a subscriber's socket may refuse writes before it is closed (4000).
    #[arg(long, env = "CONCORD_RELAY_SEND_TIMEOUT_SECS", default_value_t = 10.0)]
    send_timeout_secs: f64,
    /// Seconds a socket may stay silent before it is a websocket (then closed).
    #[arg(
        long,
        env = "CONCORD_RELAY_HANDSHAKE_TIMEOUT_SECS",
        default_value_t = 10.0
    )]
    handshake_timeout_secs: f64,
    /// Seconds a websocket may send nothing, not even a Pong (then closed).
    #[arg(long, env = "CONCORD_RELAY_IDLE_TIMEOUT_SECS", default_value_t = 120.0)]
    idle_timeout_secs: f64,
    /// Fault injection for tests: the database may not grow beyond this many
    /// pages (`PRAGMA max_page_count`), as if the disk were full.
    #[arg(long, hide = true)]
    test_max_page_count: Option<u64>,
}

/// Runs the relay (or a subcommand); the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Token(args)) => return mint(cli.secret.as_deref(), args),
        Some(Command::Backup(args)) => return backup(args),
        None => {}
    }
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("concord-relay: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn mint(secret: Option<&str>, args: &TokenArgs) -> ExitCode {
    let result = (|| -> Result<String, String> {
        let secret = secret.ok_or_else(|| RelayError::NoSecret.to_string())?;
        let secret = Secret::new(secret.as_bytes()).map_err(|e| e.to_string())?;
        let doc = DocId::new(args.doc.as_str()).map_err(|e| e.to_string())?;
        let access = if args.read_only {
            Access::Read
        } else {
            Access::ReadWrite
        };
        Ok(token::mint(
            &secret,
            &doc,
            access,
            unix_now().saturating_add(args.ttl),
        ))
    })();
    match result {
        Ok(t) => {
            println!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("concord-relay token: {e}");
            ExitCode::FAILURE
        }
    }
}

fn backup(args: &BackupArgs) -> ExitCode {
    let started = std::time::Instant::now();
    match Store::backup(&args.data, &args.dest) {
        Ok(()) => {
            eprintln!(
                "concord-relay backup: {} written in {:.2} s",
                args.dest.display(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("concord-relay backup: {e}");
            ExitCode::FAILURE
        }
    }
}

fn config(secret: Option<&str>, args: &ServeArgs) -> Result<Config, RelayError> {
    let auth = match (secret, args.dev) {
        (Some(s), _) => Auth::Secret(Secret::new(s.as_bytes())?),
        (None, true) => {
            tracing::warn!(
                "DEV MODE: no secret, tokens are not checked: ANYONE CAN READ AND WRITE EVERY DOCUMENT on this relay"
            );
            Auth::Open
        }
        (None, false) => return Err(RelayError::NoSecret),
    };
    let secs = |s: f64| Duration::from_secs_f64(s.clamp(0.01, 86_400.0));
    Ok(Config {
        auth,
        limits: Limits {
            max_message_bytes: args.max_message_bytes.max(1024),
            max_docs_per_connection: args.max_docs_per_connection,
            max_pending_per_connection: args.max_pending_per_connection,
            max_pending_bytes_per_connection: args.max_pending_bytes_per_connection,
            max_changes_per_sec: args.max_changes_per_sec,
            changes_burst: args.changes_burst,
            max_connections: args.max_connections,
            send_timeout: secs(args.send_timeout_secs),
            handshake_timeout: secs(args.handshake_timeout_secs),
            idle_timeout: secs(args.idle_timeout_secs),
            ..Limits::default()
        },
        anti_entropy: secs(args.anti_entropy_secs),
        web_dir: args.web.clone(),
    })
}

/// Raises the open-files limit to what the system allows, and keeps
/// `max_connections` below it (`sockets::fit_connections`). Logs the
/// effective limits.
fn fit_descriptors(limits: &mut Limits) {
    let raised = rlimit::increase_nofile_limit(u64::MAX);
    let (soft, hard) = rlimit::Resource::NOFILE
        .get()
        .unwrap_or((u64::MAX, u64::MAX));
    if let Err(e) = raised {
        tracing::warn!(error = %e, "cannot raise the open-files limit");
    }
    let (fit, clamped) = sockets::fit_connections(limits.max_connections, soft);
    if clamped {
        tracing::warn!(
            asked = limits.max_connections,
            max_connections = fit,
            open_files = soft,
            "--max-connections clamped to fit the open-files limit"
        );
        limits.max_connections = fit;
    }
    tracing::info!(
        open_files_soft = soft,
        open_files_hard = hard,
        max_connections = limits.max_connections,
        max_sockets = limits.max_connections + sockets::HANDSHAKE_HEADROOM,
        handshake_timeout_secs = limits.handshake_timeout.as_secs_f64(),
        idle_timeout_secs = limits.idle_timeout.as_secs_f64(),
        "limits"
    );
}

async fn run(cli: Cli) -> Result<(), RelayError> {
    let args = &cli.serve;
    let mut config = config(cli.secret.as_deref(), args)?;
    fit_descriptors(&mut config.limits);
    let options = StoreOptions {
        max_page_count: args.test_max_page_count,
    };
    let (store, shared): (Arc<dyn LogStore>, _) = match args.store.as_deref() {
        None => {
            let store = Arc::new(Store::open_with(&args.data, options)?);
            tracing::info!(path = %store.path().display(), "store open");
            (store, None)
        }
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store = Arc::new(PgStore::connect(url).await?);
            tracing::info!(url = %postgres::redact(url), "PostgreSQL store open");
            (Arc::clone(&store) as Arc<dyn LogStore>, Some(store))
        }
        Some(other) => {
            return Err(StoreError::BadUrl {
                url: postgres::redact(other),
                reason: "--store takes a postgres:// URL (or is left out for SQLite)".into(),
            }
            .into());
        }
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|source| RelayError::Bind {
            addr: args.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {addr}")?;
        out.flush()?;
    }
    tracing::info!(%addr, "listening");
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let state = Arc::new(AppState::new(config, store, shutdown_rx));
    if let Some(pg) = shared {
        Fanout::spawn(Arc::clone(&state.hubs), pg);
    }
    server::serve(listener, state, shutdown_tx, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

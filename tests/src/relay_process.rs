//! A relay as a real child process, for end-to-end tests.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use concord_e2e::relay_process::RelayProcess;
//! use std::time::Duration;
//! let dir = tempfile::tempdir()?;
//! // In an integration test: env!("CARGO_BIN_EXE_relay-under-test").
//! let mut relay = RelayProcess::start("path/to/relay-under-test".as_ref(), dir.path(), &[])?;
//! let url = relay.url();                                    // ws://127.0.0.1:PORT/v1/sync
//! let token = relay.mint_token("notes", concord_wire::Access::ReadWrite, Duration::from_secs(3600));
//! relay.kill();                                             // SIGKILL
//! relay.restart_same_port()?;                               // same data, same address
//! # Ok(()) }
//! ```
//! The relay starts on `127.0.0.1:0` with `TEST_SECRET`, anti-entropy every
//! second, and whatever `extra_args` add (later flags win). Its stderr (the
//! logs) is appended to `relay-stderr.log` in the data directory. It is
//! killed when the `RelayProcess` is dropped.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use concord_relay::token::{self, Secret};
use concord_wire::{Access, DocId};

/// The secret every test relay signs tokens with.
pub const TEST_SECRET: &str = "concord-e2e-test-secret-0123456789abcdef";

/// How long a relay may take to print its address.
const START_TIMEOUT: Duration = Duration::from_mins(1);

/// A running relay process.
#[derive(Debug)]
pub struct RelayProcess {
    bin: PathBuf,
    data_dir: PathBuf,
    extra_args: Vec<String>,
    /// `prlimit --nofile=N:N` around the relay.
    fd_limit: Option<u64>,
    child: Option<Child>,
    addr: SocketAddr,
}

impl RelayProcess {
    /// Starts the relay binary `bin` on port 0 with its database in
    /// `data_dir`, and waits until it listens.
    pub fn start(bin: &Path, data_dir: &Path, extra_args: &[&str]) -> anyhow::Result<Self> {
        Self::start_with_fd_limit(bin, data_dir, extra_args, None)
    }

    /// `start`, under `prlimit --nofile=LIMIT:LIMIT` (util-linux) when a
    /// limit is given: the relay may open at most that many descriptors.
    pub fn start_with_fd_limit(
        bin: &Path,
        data_dir: &Path,
        extra_args: &[&str],
        fd_limit: Option<u64>,
    ) -> anyhow::Result<Self> {
        let mut relay = RelayProcess {
            bin: bin.to_owned(),
            data_dir: data_dir.to_owned(),
            extra_args: extra_args.iter().map(|s| (*s).to_owned()).collect(),
            fd_limit,
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        relay.spawn("127.0.0.1:0")?;
        Ok(relay)
    }

    fn spawn(&mut self, listen: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.data_dir)?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_path())
            .context("opening the relay's stderr log")?;
        let mut command = match self.fd_limit {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        let mut child = command
            .arg("--listen")
            .arg(listen)
            .arg("--data")
            .arg(&self.data_dir)
            .arg("--anti-entropy-secs")
            .arg("1")
            .args(&self.extra_args)
            .env("CONCORD_RELAY_SECRET", TEST_SECRET)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("spawning {}", self.bin.display()))?;
        let stdout = child.stdout.take().context("relay stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.trim().to_owned());
                    sent = true;
                }
            }
        });
        if let Ok(addr) = rx.recv_timeout(START_TIMEOUT) {
            self.addr = addr.parse().context("parsing the relay's address")?;
            self.child = Some(child);
            Ok(())
        } else {
            let _ = child.kill();
            let status = child.wait().ok();
            let log = std::fs::read_to_string(self.stderr_path()).unwrap_or_default();
            bail!("the relay did not start (exit: {status:?}); stderr:\n{log}")
        }
    }

    /// The relay's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The websocket endpoint: `ws://ADDR/v1/sync`.
    pub fn url(&self) -> String {
        format!("ws://{}/v1/sync", self.addr)
    }

    /// An HTTP URL on the relay, e.g. `http_url("/metrics")`.
    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where the relay's logs go.
    pub fn stderr_path(&self) -> PathBuf {
        self.data_dir.join("relay-stderr.log")
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM (graceful shutdown) and wait for the exit status.
    pub fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        let mut child = self.child.take().context("relay not running")?;
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()?;
        if !status.success() {
            let _ = child.kill();
        }
        Ok(child.wait()?)
    }

    /// SIGTERM, and wait at most `limit` for the exit (then SIGKILL and an
    /// error: a relay that does not stop on SIGTERM is a bug).
    pub fn terminate_within(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let mut child = self.child.take().context("relay not running")?;
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()?;
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the relay did not stop within {limit:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The relay's database file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join(concord_relay::store::DB_FILE)
    }

    /// Starts the relay again on the same data directory and address (after
    /// `kill` or `terminate`; kills it first if it still runs).
    pub fn restart_same_port(&mut self) -> anyhow::Result<()> {
        self.kill();
        let listen = self.addr.to_string();
        let mut last = None;
        // The port is normally free at once; retry briefly in case not.
        for _ in 0..50 {
            match self.spawn(&listen) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("restart failed")))
    }

    /// A token for `doc` signed with `TEST_SECRET`, valid for `ttl`.
    pub fn mint_token(&self, doc: &str, access: Access, ttl: Duration) -> String {
        mint_token(doc, access, ttl)
    }
}

/// A token for `doc` signed with `TEST_SECRET`, valid for `ttl` from now
/// (a zero `ttl` gives a token that has already expired).
pub fn mint_token(doc: &str, access: Access, ttl: Duration) -> String {
    let secret = Secret::new(TEST_SECRET.as_bytes()).expect("the test secret is long enough");
    let doc = DocId::new(doc).expect("a valid document id");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    token::mint(&secret, &doc, access, now + ttl.as_secs())
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

//! A throwaway PostgreSQL cluster for a test: `initdb` into a temporary
//! directory, `pg_ctl start` on a free port of 127.0.0.1, database
//! `concord` owned by user `concord` (trust authentication, nothing leaves
//! the machine); stopped (`pg_ctl -m immediate stop`) and removed on drop.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use concord_e2e::postgres::Postgres;
//! let mut pg = Postgres::start()?;
//! let url = pg.url();            // postgres://concord@127.0.0.1:PORT/concord
//! pg.stop()?;                    // as a crash: no checkpoint
//! pg.start_again()?;             // same data, same port
//! # Ok(()) }
//! ```
//! PostgreSQL refuses to run as root: when the tests run as root, the
//! cluster runs as the unprivileged user `concord-pg` (made once with
//! `useradd`) through `runuser`. The programs come from Debian's package
//! (`/usr/lib/postgresql/VERSION/bin`, the newest), or from
//! `CONCORD_PG_BIN`; without them a test fails and says to run
//! `scripts/install-test-tools.sh`.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use anyhow::{Context as _, bail};

/// The unprivileged user the cluster runs as when the tests are root.
const PG_USER: &str = "concord-pg";

/// A running throwaway cluster.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// `Some(user)` when commands run through `runuser -u user`.
    run_as: Option<&'static str>,
    running: bool,
}

/// Where PostgreSQL's programs are, or a message saying how to get them.
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CONCORD_PG_BIN") {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
        bail!(
            "CONCORD_PG_BIN={} has no initdb: point it at PostgreSQL's bin directory, or unset it and run scripts/install-test-tools.sh",
            dir.display()
        );
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); the PostgreSQL tests need it: run scripts/install-test-tools.sh (it installs Debian's postgresql), or set CONCORD_PG_BIN"
        ),
    }
}

fn run(what: &str, cmd: &mut Command) -> anyhow::Result<Output> {
    let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// Makes the unprivileged user once (tests run in parallel).
fn ensure_user() -> anyhow::Result<(u32, u32)> {
    static MADE: Mutex<()> = Mutex::new(());
    let _once = MADE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let ids = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, PG_USER]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    if ids("-u").is_none() {
        let made = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                PG_USER,
            ])
            .status();
        if ids("-u").is_none() {
            bail!(
                "cannot make the user {PG_USER} for PostgreSQL (useradd: {made:?}); PostgreSQL refuses to run as root"
            );
        }
    }
    match (ids("-u"), ids("-g")) {
        (Some(u), Some(g)) => Ok((u, g)),
        _ => bail!("cannot read the ids of {PG_USER}"),
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Postgres {
    /// A fresh cluster with database `concord`, listening on 127.0.0.1.
    pub fn start() -> anyhow::Result<Postgres> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("concord-pg-").tempdir()?;
        let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let run_as = if root {
            let (uid, gid) = ensure_user()?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
            Some(PG_USER)
        } else {
            None
        };
        let mut pg = Postgres {
            bin,
            dir,
            port: 0,
            run_as,
            running: false,
        };
        let data = pg.data_dir();
        let data = data.to_str().context("a UTF-8 temporary path")?.to_owned();
        run(
            "initdb",
            &mut pg.command(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-A",
                    "trust",
                    "-U",
                    "concord",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            ),
        )?;
        // A free port now may be taken by the time the server binds it.
        let mut last = None;
        for _ in 0..5 {
            pg.port = free_port()?;
            match pg.start_again() {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
        let port = pg.port.to_string();
        run(
            "createdb",
            &mut pg.command(
                "createdb",
                &["-h", "127.0.0.1", "-p", &port, "-U", "concord", "concord"],
            ),
        )?;
        Ok(pg)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let program = self.bin.join(program);
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args).current_dir(self.dir.path());
        cmd
    }

    /// `postgres://concord@127.0.0.1:PORT/concord`.
    pub fn url(&self) -> String {
        format!("postgres://concord@127.0.0.1:{}/concord", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// Stops the server at once, as a crash would (`-m immediate`: no
    /// checkpoint; the next start replays the WAL).
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let data = self.data_dir();
        run(
            "pg_ctl stop",
            &mut self.command(
                "pg_ctl",
                &["-D", path_str(&data)?, "-m", "immediate", "-w", "stop"],
            ),
        )?;
        self.running = false;
        Ok(())
    }

    /// Starts the server (again) on its port, and waits until it accepts
    /// connections.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        let data = self.data_dir();
        let sockets = self.dir.path().to_owned();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            path_str(&sockets)?
        );
        let log = self.log_path();
        run(
            "pg_ctl start",
            &mut self.command(
                "pg_ctl",
                &[
                    "-D",
                    path_str(&data)?,
                    "-o",
                    &options,
                    "-l",
                    path_str(&log)?,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            ),
        )
        .with_context(|| {
            format!(
                "PostgreSQL did not start; its log: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        })?;
        self.running = true;
        Ok(())
    }
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str().context("a UTF-8 temporary path")
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self.stop();
        }
    }
}

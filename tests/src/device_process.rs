//! A device as the headless `concord` command, run as a real process on its
//! own data directory, the way a person (or a script) runs it.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use concord_e2e::device_process::Device;
//! let dir = tempfile::tempdir()?;
//! // In an integration test: env!("CARGO_BIN_EXE_concord-under-test").
//! let laptop = Device::new("path/to/concord-under-test".as_ref(), dir.path(), "ws://127.0.0.1:7070");
//! let id = laptop.ok(&["doc", "new", "Plans"])?;
//! laptop.ok(&["doc", "append", &id, "hello"])?;
//! laptop.ok(&["sync", "--once"])?;
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::bail;

/// One device: the `concord` binary with `--data DIR --relay URL`.
#[derive(Clone, Debug)]
pub struct Device {
    bin: PathBuf,
    data: PathBuf,
    relay: String,
}

impl Device {
    pub fn new(bin: &Path, data: &Path, relay: &str) -> Self {
        Device {
            bin: bin.to_owned(),
            data: data.to_owned(),
            relay: relay.to_owned(),
        }
    }

    pub fn data(&self) -> &Path {
        &self.data
    }

    /// The command as it will run (for spawning it and killing it midway).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--data")
            .arg(&self.data)
            .arg("--relay")
            .arg(&self.relay)
            .args(args);
        cmd
    }

    /// Runs `concord ARGS` to the end.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        Ok(self.command(args).output()?)
    }

    /// Runs `concord ARGS`; its standard output, trimmed, if it exited 0.
    pub fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.run(args)?;
        if !out.status.success() {
            bail!(
                "concord {args:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?.trim().to_owned())
    }

    /// The text of document `id` (`concord doc cat`), without the newline
    /// the command prints after it.
    pub fn cat(&self, id: &str) -> anyhow::Result<String> {
        let out = self.run(&["doc", "cat", id])?;
        if !out.status.success() {
            bail!(
                "concord doc cat failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(cat_text(String::from_utf8(out.stdout)?))
    }
}

/// What `concord doc cat` printed, less the one newline it adds after the
/// text.
pub fn cat_text(mut printed: String) -> String {
    if printed.ends_with('\n') {
        printed.pop();
    }
    printed
}

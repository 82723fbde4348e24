//! The browser side of the web-demo tests: a Node script (under
//! `web-demo/tests/`) that drives headless Chromium through playwright-core,
//! run as a child process and spoken to by lines.
//!
//! The script prints `STEP name {json}` when it reached a point; the test
//! answers `GO name {json}` on its stdin when the script must wait for the
//! native side. The script's stderr (page errors, its failure) goes to the
//! test's stderr. Nothing is skipped: a missing build, Node, playwright-core
//! or Chromium is a failure that says what to install.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::mpsc;

/// The repository root (the workspace).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// `web-demo/dist`, checked to hold a built demo.
pub fn web_dist() -> anyhow::Result<PathBuf> {
    let dist = repo_root().join("web-demo").join("dist");
    for file in ["index.html", "concord_web.js", "concord_web_bg.wasm"] {
        if !dist.join(file).is_file() {
            bail!(
                "the web demo is not built ({} is missing): run web-demo/build.sh first",
                dist.join(file).display()
            );
        }
    }
    Ok(dist)
}

/// Checks Node, playwright-core and Chromium are there; says what to do if not.
pub fn check_tools() -> anyhow::Result<()> {
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        bail!(
            "node is missing: apt-get install nodejs npm (the browser tests run under Node; ./test.sh installs it)"
        );
    }
    let demo = repo_root().join("web-demo");
    if !demo
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        bail!(
            "playwright-core is missing: run `npm ci` in {} (./test.sh does)",
            demo.display()
        );
    }
    let chromium = std::env::var("CONCORD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        bail!(
            "no Chromium at {chromium}: apt-get install chromium (./test.sh does), or set CONCORD_CHROMIUM"
        );
    }
    Ok(())
}

/// A running browser script.
#[derive(Debug)]
pub struct BrowserScript {
    name: String,
    child: Child,
    stdin: ChildStdin,
    steps: mpsc::UnboundedReceiver<(String, serde_json::Value)>,
}

impl BrowserScript {
    /// Runs `node web-demo/tests/<name>.mjs args...`.
    pub fn start(name: &str, args: &[&str]) -> anyhow::Result<Self> {
        check_tools()?;
        let script = repo_root()
            .join("web-demo")
            .join("tests")
            .join(format!("{name}.mjs"));
        let mut child = Command::new("node")
            .arg(&script)
            .args(args)
            .current_dir(repo_root().join("web-demo"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("running node {}", script.display()))?;
        let stdout = child.stdout.take().context("the script's stdout")?;
        let stdin = child.stdin.take().context("the script's stdin")?;
        let (tx, steps) = mpsc::unbounded_channel();
        let label = name.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("STEP ") {
                    let (step, json) = rest.split_once(' ').unwrap_or((rest, "{}"));
                    let data = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
                    if tx.send((step.to_owned(), data)).is_err() {
                        break;
                    }
                } else {
                    eprintln!("[{label}] {line}");
                }
            }
        });
        Ok(BrowserScript {
            name: name.to_owned(),
            child,
            stdin,
            steps,
        })
    }

    /// Waits for the script's `STEP name`; fails if it ends or says
    /// something else first.
    pub async fn step(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> anyhow::Result<serde_json::Value> {
        match tokio::time::timeout(timeout, self.steps.recv()).await {
            Ok(Some((step, data))) if step == name => Ok(data),
            Ok(Some((step, data))) => {
                bail!("{}: expected step {name}, got {step} {data}", self.name)
            }
            Ok(None) => {
                let status = self.child.wait()?;
                bail!(
                    "{}: the browser script ended ({status}) before step {name}; its reason is above",
                    self.name
                )
            }
            Err(_) => bail!("{}: no step {name} within {timeout:?}", self.name),
        }
    }

    /// Lets the script go on past its `waitGo(name)`.
    pub fn go(&mut self, name: &str, data: &serde_json::Value) -> anyhow::Result<()> {
        writeln!(self.stdin, "GO {name} {data}").context("writing to the browser script")?;
        self.stdin.flush()?;
        Ok(())
    }

    /// Waits for the script to end; an error unless it succeeded.
    pub async fn finish(mut self, timeout: Duration) -> anyhow::Result<()> {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                if status.success() {
                    return Ok(());
                }
                bail!(
                    "{}: the browser script failed ({status}); its reason is above",
                    self.name
                );
            }
            if tokio::time::Instant::now() >= end {
                bail!(
                    "{}: the browser script did not end within {timeout:?}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for BrowserScript {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

//! Fault and attack figures for a relay binary (the numbers behind issue 13:
//! held changes, silent sockets, a held write lock, a clean stop's files).
//! Each scenario spawns its own relay (`--dev`, a temporary data directory)
//! and prints what it measured; nothing here asserts.
//!
//! ```sh
//! cargo build --release -p concord-relay --example faults
//! B=target/release/concord-relay; F=target/release/examples/faults
//! $F --relay-bin $B held --counts 1000,2000,4000   # relay CPU to take N held changes
//! $F --relay-bin $B held-attack                    # /healthz and a writer while 2 x 9,000 are held
//! $F --relay-bin $B held-big                       # relay RSS with 300 held changes of 1 MB
//! $F --relay-bin $B silent --n 1100                # 1,100 silent sockets under a 1024 fd limit
//! $F --relay-bin $B held-lock --hold-ms 1000       # a commit while another process holds the lock
//! $F --relay-bin $B stop-copy --n 500              # changes in the .db file alone after SIGTERM
//! ```

// A measurement tool: counts become f64 for rates, and each scenario reads
// best in one piece.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    clippy::too_many_lines
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use concord_core::{Document, EncodedChange, ObjId, ReplicaId};
use concord_wire::{DocId, Frame, Message};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[derive(Debug, Parser)]
struct Args {
    /// The relay binary to measure.
    #[arg(long)]
    relay_bin: PathBuf,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Relay CPU to take in N changes whose first dependency is missing
    /// (one per frame), and to release them when it arrives.
    Held {
        #[arg(long, value_delimiter = ',', default_value = "1000,2000,4000")]
        counts: Vec<usize>,
    },
    /// Two connections hold 9,000 tiny changes each (default limits) while
    /// a probe times /healthz and another client's writes.
    HeldAttack {
        #[arg(long, default_value_t = 9000)]
        held: usize,
    },
    /// Relay RSS while one connection sends 300 held changes of 1 MB.
    HeldBig {
        #[arg(long, default_value_t = 300)]
        n: usize,
        #[arg(long, default_value_t = 1_000_000)]
        size: usize,
    },
    /// Under `prlimit --nofile=1024:1024`, N sockets that never send a byte;
    /// then /healthz and a real client.
    Silent {
        #[arg(long, default_value_t = 1100)]
        n: usize,
    },
    /// A commit while another connection holds the database's write lock.
    HeldLock {
        #[arg(long, default_value_t = 1000)]
        hold_ms: u64,
    },
    /// After N acknowledged changes and SIGTERM: how many the database file
    /// holds when copied without its WAL.
    StopCopy {
        #[arg(long, default_value_t = 500)]
        n: usize,
    },
}

struct Relay {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl Relay {
    fn start(bin: &Path, args: &[&str], fd_limit: Option<u64>) -> anyhow::Result<Relay> {
        let dir = tempfile::tempdir()?;
        let mut cmd = if let Some(n) = fd_limit {
            let mut c = Command::new("prlimit");
            c.arg(format!("--nofile={n}:{n}")).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        let mut child = cmd
            .args(["--dev", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path())
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let first = lines.next().context("relay printed nothing")??;
        std::thread::spawn(move || for _ in lines {});
        let addr = first
            .strip_prefix("listening on ")
            .context("unexpected first line")?
            .to_owned();
        Ok(Relay { child, addr, dir })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn url(&self) -> String {
        format!("ws://{}/v1/sync", self.addr)
    }

    fn cpu_secs(&self) -> f64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())) else {
            return f64::NAN;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return f64::NAN;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        ticks as f64 / 100.0
    }

    fn rss_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }

    fn terminate(&mut self, limit: Duration) -> String {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return format!("exited ({status})");
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return format!("did not stop within {limit:?} of SIGTERM (killed)");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Client {
    ws: Ws,
}

impl Client {
    async fn connect(url: &str) -> anyhow::Result<Client> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        Ok(Client { ws })
    }

    async fn send(&mut self, f: &Frame) -> anyhow::Result<()> {
        self.ws.send(WsMessage::Binary(f.encode().into())).await?;
        Ok(())
    }

    async fn recv(&mut self) -> anyhow::Result<Frame> {
        loop {
            match self.ws.next().await {
                Some(Ok(WsMessage::Binary(b))) => return Ok(Frame::decode(&b)?),
                Some(Ok(WsMessage::Close(c))) => bail!("closed: {c:?}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => bail!("closed"),
            }
        }
    }

    async fn subscribe(&mut self, doc: &DocId) -> anyhow::Result<()> {
        self.send(&Frame::Subscribe {
            doc: doc.clone(),
            token: "dev".into(),
            device: ReplicaId(1),
        })
        .await?;
        loop {
            match self.recv().await? {
                Frame::Subscribed { doc: d, .. } if d == *doc => return Ok(()),
                Frame::Error {
                    doc: Some(d), code, ..
                } if d == *doc => bail!("refused: {code}"),
                _ => {}
            }
        }
    }

    async fn send_changes(
        &mut self,
        doc: &DocId,
        changes: Vec<EncodedChange>,
    ) -> anyhow::Result<()> {
        self.send(&Frame::Sync {
            doc: doc.clone(),
            message: Message::Records {
                records: changes.into_iter().map(Into::into).collect(),
            },
        })
        .await
    }

    /// Waits for an Ack of `doc` with `replica` at `seq` or more, or an Error.
    async fn acked(&mut self, doc: &DocId, replica: ReplicaId, seq: u64) -> anyhow::Result<()> {
        loop {
            match self.recv().await? {
                Frame::Sync {
                    doc: d,
                    message: Message::Ack { version },
                } if d == *doc && version.get(replica) >= seq => return Ok(()),
                Frame::Error {
                    doc: Some(d), code, ..
                } if d == *doc => bail!("refused: {code}"),
                _ => {}
            }
        }
    }

    /// Every frame sent before this was handled once this returns (frames
    /// are handled in order; a Subscribe is answered).
    async fn barrier(&mut self, n: usize) -> anyhow::Result<()> {
        let doc = DocId::new(format!("barrier-{n}"))?;
        self.subscribe(&doc).await
    }
}

fn chain(replica: u128, n: usize, size: usize) -> Vec<EncodedChange> {
    let mut d = Document::new(ReplicaId(replica));
    let text = "x".repeat(size);
    (0..n)
        .map(|i| {
            let mut tx = d.transaction();
            if size == 0 {
                tx.put(ObjId::Root, "k", i64::try_from(i).unwrap_or(0))
                    .expect("put");
            } else {
                tx.put(ObjId::Root, "k", text.as_str()).expect("put");
            }
            tx.commit().expect("a change")
        })
        .collect()
}

async fn http_healthz(addr: &str, limit: Duration) -> String {
    let started = Instant::now();
    let get = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").await?;
        let mut body = String::new();
        s.read_to_string(&mut body).await?;
        anyhow::Ok(body.split_whitespace().nth(1).unwrap_or("?").to_owned())
    };
    match tokio::time::timeout(limit, get).await {
        Ok(Ok(status)) => format!("{status} in {:.1} ms", ms(started.elapsed())),
        Ok(Err(e)) => format!("error after {:.1} ms: {e}", ms(started.elapsed())),
        Err(_) => format!("no answer within {limit:?}"),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

const ROOMY: &[&str] = &[
    "--max-pending-per-connection",
    "1000000",
    "--max-changes-per-sec",
    "1000000",
    "--changes-burst",
    "1000000",
];

async fn held(bin: &Path, counts: &[usize]) -> anyhow::Result<()> {
    for &n in counts {
        let relay = Relay::start(bin, ROOMY, None)?;
        let doc = DocId::new("held")?;
        let cs = chain(1, n + 1, 0);
        let mut c = Client::connect(&relay.url()).await?;
        c.subscribe(&doc).await?;
        let cpu0 = relay.cpu_secs();
        let t0 = Instant::now();
        for ch in &cs[1..] {
            c.send_changes(&doc, vec![ch.clone()]).await?;
        }
        c.barrier(0).await?;
        let (cpu1, t1) = (relay.cpu_secs(), t0.elapsed());
        c.send_changes(&doc, vec![cs[0].clone()]).await?;
        c.acked(&doc, ReplicaId(1), (n + 1) as u64).await?;
        let (cpu2, t2) = (relay.cpu_secs(), t0.elapsed());
        println!(
            "held {n:>5}: relay CPU {:.2} s to hold them ({:.2} s wall), {:.2} s to release and store them ({:.2} s wall)",
            cpu1 - cpu0,
            t1.as_secs_f64(),
            cpu2 - cpu1,
            t2.saturating_sub(t1).as_secs_f64()
        );
    }
    Ok(())
}

async fn held_attack(bin: &Path, held: usize) -> anyhow::Result<()> {
    let relay = Relay::start(bin, &[], None)?;
    let url = relay.url();
    let addr = relay.addr.clone();
    let cpu0 = relay.cpu_secs();
    let started = Instant::now();
    let mut attackers = Vec::new();
    for a in 0..2u128 {
        let url = url.clone();
        attackers.push(tokio::spawn(async move {
            let doc = DocId::new(format!("attack-{a}"))?;
            let cs = chain(10 + a, held + 1, 0);
            let mut c = Client::connect(&url).await?;
            c.subscribe(&doc).await?;
            for ch in &cs[1..] {
                c.send_changes(&doc, vec![ch.clone()]).await?;
            }
            c.barrier(0).await?;
            anyhow::Ok(started.elapsed())
        }));
    }
    // A writer and a health probe while the attack runs.
    let probe = tokio::spawn({
        let addr = addr.clone();
        async move {
            let mut lat = Vec::new();
            let mut failures = 0;
            for _ in 0..40 {
                let t = Instant::now();
                let r = http_healthz(&addr, Duration::from_secs(10)).await;
                if r.starts_with("200") {
                    lat.push(ms(t.elapsed()));
                } else {
                    failures += 1;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (lat, failures)
        }
    });
    let writer = tokio::spawn(async move {
        let doc = DocId::new("innocent")?;
        let cs = chain(99, 20, 0);
        let mut c = Client::connect(&url).await?;
        c.subscribe(&doc).await?;
        let mut lat = Vec::new();
        for (i, ch) in cs.iter().enumerate() {
            let t = Instant::now();
            c.send_changes(&doc, vec![ch.clone()]).await?;
            match tokio::time::timeout(
                Duration::from_secs(10),
                c.acked(&doc, ReplicaId(99), i as u64 + 1),
            )
            .await
            {
                Ok(Ok(())) => lat.push(ms(t.elapsed())),
                _ => lat.push(f64::INFINITY),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        anyhow::Ok(lat)
    });
    let mut attack_secs: f64 = 0.0;
    for a in attackers {
        match tokio::time::timeout(Duration::from_mins(5), a).await {
            Ok(Ok(Ok(d))) => attack_secs = attack_secs.max(d.as_secs_f64()),
            other => println!("attacker: {other:?}"),
        }
    }
    let (mut health, failures) = probe.await?;
    let writes = writer.await??;
    println!(
        "held-attack 2 x {held}: attack handled in {attack_secs:.2} s, relay CPU {:.2} s",
        relay.cpu_secs() - cpu0
    );
    println!(
        "  /healthz during it: {} ok (p50 {:.1} ms, max {:.1} ms), {failures} failed or timed out (10 s)",
        health.len(),
        pct(&mut health, 0.5),
        pct(&mut health, 1.0)
    );
    let timed_out = writes.iter().filter(|v| v.is_infinite()).count();
    let mut ok: Vec<f64> = writes.iter().copied().filter(|v| v.is_finite()).collect();
    println!(
        "  another client's writes: {} acked (p50 {:.1} ms, max {:.1} ms), {timed_out} without an ack in 10 s",
        ok.len(),
        pct(&mut ok, 0.5),
        pct(&mut ok, 1.0)
    );
    Ok(())
}

async fn held_big(bin: &Path, n: usize, size: usize) -> anyhow::Result<()> {
    let relay = Relay::start(bin, &[], None)?;
    let doc = DocId::new("big")?;
    let mut c = Client::connect(&relay.url()).await?;
    c.subscribe(&doc).await?;
    let before = relay.rss_mib();
    let mut author = Document::new(ReplicaId(1));
    let text = "x".repeat(size);
    let mut first = None;
    let mut peak: f64 = before;
    for i in 0..=n {
        let mut tx = author.transaction();
        tx.put(ObjId::Root, "k", text.as_str())?;
        let ch = tx.commit().context("a change")?;
        if i == 0 {
            first = Some(ch);
            continue;
        }
        c.send_changes(&doc, vec![ch]).await?;
        if i % 20 == 0 {
            c.barrier(i).await?;
            peak = peak.max(relay.rss_mib());
        }
    }
    c.barrier(n + 1).await?;
    peak = peak.max(relay.rss_mib());
    println!(
        "held-big {n} x {size} B: relay RSS {before:.0} MiB before, {:.0} MiB after (peak {peak:.0} MiB)",
        relay.rss_mib()
    );
    drop(first);
    Ok(())
}

async fn silent(bin: &Path, n: usize) -> anyhow::Result<()> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let relay = Relay::start(bin, &[], Some(1024))?;
    let mut sockets = Vec::new();
    for _ in 0..n {
        match tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(&relay.addr),
        )
        .await
        {
            Ok(Ok(s)) => sockets.push(s),
            _ => break,
        }
    }
    println!(
        "silent: {} of {n} silent sockets connected (relay fd limit 1024)",
        sockets.len()
    );
    for wait in [1u64, 12] {
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let health = http_healthz(&relay.addr, Duration::from_secs(10)).await;
        let t = Instant::now();
        let url = relay.url();
        let client = tokio::time::timeout(Duration::from_secs(10), async move {
            let doc = DocId::new("real")?;
            let mut c = Client::connect(&url).await?;
            c.subscribe(&doc).await?;
            c.send_changes(&doc, chain(5, 1, 0)).await?;
            c.acked(&doc, ReplicaId(5), 1).await?;
            anyhow::Ok(())
        })
        .await;
        let client = match client {
            Ok(Ok(())) => format!("synced in {:.1} ms", ms(t.elapsed())),
            Ok(Err(e)) => format!("failed: {e}"),
            Err(_) => "nothing within 10 s".into(),
        };
        println!("  {wait:>2} s later: /healthz {health}; a real client {client}");
    }
    Ok(())
}

async fn held_lock(bin: &Path, hold_ms: u64) -> anyhow::Result<()> {
    let mut relay = Relay::start(bin, &[], None)?;
    let doc = DocId::new("locked")?;
    let cs = chain(1, 3, 0);
    let mut c = Client::connect(&relay.url()).await?;
    c.subscribe(&doc).await?;
    c.send_changes(&doc, cs[..1].to_vec()).await?;
    c.acked(&doc, ReplicaId(1), 1).await?;
    let db = relay.dir.path().join(concord_relay::store::DB_FILE);
    let lock = rusqlite::Connection::open(&db)?;
    lock.execute_batch("BEGIN IMMEDIATE")?;
    let holder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(hold_ms));
        let _ = lock.execute_batch("COMMIT");
    });
    let t = Instant::now();
    c.send_changes(&doc, cs[1..2].to_vec()).await?;
    let first =
        match tokio::time::timeout(Duration::from_secs(15), c.acked(&doc, ReplicaId(1), 2)).await {
            Ok(Ok(())) => format!("acknowledged after {:.0} ms", ms(t.elapsed())),
            Ok(Err(e)) => format!("{e} after {:.0} ms", ms(t.elapsed())),
            Err(_) => "no answer in 15 s".into(),
        };
    let _ = holder.join();
    println!("held-lock {hold_ms} ms: the commit was {first}");
    println!(
        "  then /healthz: {}",
        http_healthz(&relay.addr, Duration::from_secs(10)).await
    );
    let t = Instant::now();
    let mut again = Client::connect(&relay.url()).await;
    let after = match &mut again {
        Ok(c2) => {
            let doc2 = DocId::new("other")?;
            match tokio::time::timeout(Duration::from_secs(10), async {
                c2.subscribe(&doc2).await?;
                c2.send_changes(&doc2, chain(2, 1, 0)).await?;
                c2.acked(&doc2, ReplicaId(2), 1).await
            })
            .await
            {
                Ok(Ok(())) => format!("acknowledged in {:.0} ms", ms(t.elapsed())),
                Ok(Err(e)) => format!("{e}"),
                Err(_) => "no answer in 10 s".into(),
            }
        }
        Err(e) => format!("cannot connect: {e}"),
    };
    println!("  then a write to another document on a new connection: {after}");
    println!(
        "  then SIGTERM: {}",
        relay.terminate(Duration::from_secs(15))
    );
    Ok(())
}

async fn stop_copy(bin: &Path, n: usize) -> anyhow::Result<()> {
    let mut relay = Relay::start(bin, &[], None)?;
    let doc = DocId::new("copied")?;
    let cs = chain(1, n, 0);
    let mut c = Client::connect(&relay.url()).await?;
    c.subscribe(&doc).await?;
    for ch in &cs {
        c.send_changes(&doc, vec![ch.clone()]).await?;
    }
    c.acked(&doc, ReplicaId(1), n as u64).await?;
    let stop = relay.terminate(Duration::from_secs(15));
    let db = relay.dir.path().join(concord_relay::store::DB_FILE);
    let wal = std::fs::metadata(db.with_extension("sqlite3-wal")).map_or(0, |m| m.len());
    let copy = tempfile::tempdir()?;
    let copied = copy.path().join(concord_relay::store::DB_FILE);
    std::fs::copy(&db, &copied)?;
    let conn = rusqlite::Connection::open(&copied)?;
    let rows: i64 = conn.query_row("SELECT count(*) FROM changes", [], |r| r.get(0))?;
    println!(
        "stop-copy: {n} changes acknowledged, relay {stop}, WAL left {wal} bytes; the .db file alone holds {rows}"
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = &args.relay_bin;
    match args.scenario {
        Scenario::Held { counts } => held(bin, &counts).await,
        Scenario::HeldAttack { held } => held_attack(bin, held).await,
        Scenario::HeldBig { n, size } => held_big(bin, n, size).await,
        Scenario::Silent { n } => silent(bin, n).await,
        Scenario::HeldLock { hold_ms } => held_lock(bin, hold_ms).await,
        Scenario::StopCopy { n } => stop_copy(bin, n).await,
    }
}

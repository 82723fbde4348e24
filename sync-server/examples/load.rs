//! Load generator for the relay: K websocket clients over D documents on
//! loopback, each a core `ClientSession` with a real `Document`, together
//! making R changes per second for S seconds.
//!
//! ```sh
//! ulimit -n 65536   # two sockets per client
//! cargo run --release -p concord-relay --example load -- --clients 1000 --docs 100 --rate 2000 --secs 20
//! # against a relay process (its RSS and CPU are then its own):
//! cargo build --release -p concord-relay
//! cargo run --release -p concord-relay --example load -- --relay-bin target/release/concord-relay ...
//! # against a running relay (started with --dev):
//! cargo run --release -p concord-relay --example load -- --relay ws://127.0.0.1:7070/v1/sync --relay-pid PID ...
//! ```
//! Every change sets key "t" to its send time (µs since the run began), so
//! a receiver computes the fan-out latency (send → delivered at another
//! client) by decoding it. Reported: changes per second acknowledged by the
//! relay (= committed), ack latency, fan-out latency p50/p99/max, relay RSS.

// A measurement tool: counts become f64 for rates and percentiles, and the
// client loop and the report read best in one piece each.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    clippy::too_many_lines
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use concord_core::{DecodeOps, Document, NewValue, ObjId, Op, Record, ReplicaId, ScalarValue};
use concord_relay::config::{Auth, Config, Limits};
use concord_wire::{ClientSession, DocId, Frame, SessionEvent};
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[derive(Debug, Parser)]
struct Args {
    /// Websocket clients.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Documents (client i edits document i mod D).
    #[arg(long, default_value_t = 100)]
    docs: usize,
    /// Changes per second, all clients together.
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
    /// Seconds of load.
    #[arg(long, default_value_t = 20)]
    secs: u64,
    /// An existing relay's websocket URL (started with --dev).
    #[arg(long)]
    relay: Option<String>,
    /// Its process id, to report its RSS.
    #[arg(long)]
    relay_pid: Option<u32>,
    /// Spawn this relay binary (with --dev on a temp dir) instead of
    /// running the relay in this process.
    #[arg(long)]
    relay_bin: Option<PathBuf>,
}

/// Latency samples in microseconds.
#[derive(Debug, Default)]
struct Samples(Mutex<Vec<u64>>);

impl Samples {
    fn add(&self, v: &[u64]) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(v);
    }

    fn report(&self, name: &str) -> String {
        let mut v = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if v.is_empty() {
            return format!("{name}: no samples");
        }
        v.sort_unstable();
        let q = |p: f64| {
            let i = ((v.len() - 1) as f64 * p).round() as usize;
            v[i] as f64 / 1000.0
        };
        format!(
            "{name}: n={} p50={:.2} ms p99={:.2} ms p99.9={:.2} ms max={:.2} ms",
            v.len(),
            q(0.50),
            q(0.99),
            q(0.999),
            q(1.0)
        )
    }
}

#[derive(Debug, Default)]
struct Totals {
    sent: AtomicU64,
    acked: AtomicU64,
    delivered: AtomicU64,
    subscribed: AtomicU64,
}

struct Shared {
    base: Instant,
    url: String,
    totals: Totals,
    fanout: Samples,
    lag: Samples,
    ack: Samples,
    /// Load runs between these (µs since `base`); outside, clients idle.
    start_us: AtomicU64,
    stop_us: AtomicU64,
}

impl Shared {
    fn now_us(&self) -> u64 {
        self.base.elapsed().as_micros() as u64
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// The relay's counters from `/metrics` (name -> value).
async fn relay_metrics(ws_url: &str) -> BTreeMap<String, f64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(addr) = ws_url
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
    else {
        return BTreeMap::new();
    };
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return BTreeMap::new();
    };
    let mut body = String::new();
    if s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.is_err()
        || s.read_to_string(&mut body).await.is_err()
    {
        return BTreeMap::new();
    }
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// The bucket bound (ms) below which fraction `q` of the observations of
/// histogram `name` made between two scrapes fall.
fn bucket_quantile(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
    name: &str,
    q: f64,
) -> Option<f64> {
    let prefix = format!("{name}_bucket{{le=\"");
    let mut buckets: Vec<(f64, f64)> = after
        .iter()
        .filter_map(|(k, v)| {
            let bound = k.strip_prefix(&prefix)?.strip_suffix("\"}")?;
            let bound = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().ok()?
            };
            Some((bound, v - before.get(k).copied().unwrap_or(0.0)))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    buckets
        .iter()
        .find(|(_, n)| *n >= q * total)
        .map(|(b, _)| b * 1000.0)
}

/// The send time carried by a change, if it is one of ours.
fn sent_at(change: &concord_core::EncodedChange) -> Option<u64> {
    let decoded = change.decode_change().ok()?;
    decoded.ops.iter().find_map(|op| match op {
        Op::MapSet {
            key,
            value: NewValue::Scalar(ScalarValue::Int(t)),
            ..
        } if key == "t" => u64::try_from(*t).ok(),
        _ => None,
    })
}

async fn client(
    shared: Arc<Shared>,
    i: usize,
    doc: DocId,
    interval: Duration,
) -> anyhow::Result<()> {
    let replica = ReplicaId(rand::random::<u128>() | 1);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(&shared.url, None, true).await?;
    let (mut sink, mut stream) = ws.split();
    let mut docs = BTreeMap::from([(doc.clone(), Document::new(replica))]);
    let mut session = ClientSession::new(replica);
    session.subscribe(doc.clone(), "dev".into());
    session.connected();
    // Spread the clients' ticks over the interval.
    let phase = interval.mul_f64((i as f64 * 0.618_034).fract());
    let mut tick = tokio::time::interval_at(Instant::now() + phase, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut anti_entropy = tokio::time::interval(Duration::from_secs(5));
    let mut unacked: std::collections::VecDeque<(u64, u64)> = std::collections::VecDeque::new();
    let mut acked_seq = 0;
    let mut subscribed = false;
    let mut fanout = Vec::new();
    let mut acks = Vec::new();
    let mut lag = Vec::new();
    loop {
        let mut sent = false;
        while let Some(f) = session.poll_frame(&docs) {
            sink.feed(WsMessage::Binary(f.encode().into())).await?;
            sent = true;
        }
        if sent {
            sink.flush().await?;
        }
        let now = shared.now_us();
        if now > shared.stop_us.load(Ordering::Relaxed) + 3_000_000 {
            break;
        }
        tokio::select! {
            msg = stream.next() => {
                let bytes = match msg {
                    Some(Ok(WsMessage::Binary(b))) => b,
                    Some(Ok(WsMessage::Close(c))) => bail!("relay closed client {i}: {c:?}"),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.into()),
                    None => bail!("relay closed client {i}"),
                };
                let frame = Frame::decode(&bytes)?;
                for event in session.receive(frame) {
                    match event {
                        SessionEvent::Records { doc, records } => {
                            let now = shared.now_us();
                            let start = shared.start_us.load(Ordering::Relaxed);
                            for r in &records {
                                if let Record::Change(c) = r
                                    && let Some(t) = sent_at(c)
                                    && t >= start
                                {
                                    fanout.push(now.saturating_sub(t));
                                }
                            }
                            let n: u64 = records.iter().map(Record::count).sum();
                            shared.totals.delivered.fetch_add(n, Ordering::Relaxed);
                            if let Some(d) = docs.get_mut(&doc) {
                                let outcome = d.apply_records(records);
                                if let Some((id, e)) = outcome.refused.first() {
                                    bail!("client {i}: {id:?} refused: {e}");
                                }
                                let v = d.version().clone();
                                session.stored(&doc, &v);
                            }
                        }
                        SessionEvent::Subscribed { .. } if !subscribed => {
                            subscribed = true;
                            shared.totals.subscribed.fetch_add(1, Ordering::Relaxed);
                        }
                        SessionEvent::Refused { code, .. } | SessionEvent::Error { code, .. } => {
                            eprintln!("client {i}: {code}");
                        }
                        _ => {}
                    }
                }
                if let Some(vv) = session.acked(&doc) {
                    let seq = vv.get(replica);
                    if seq > acked_seq {
                        let now = shared.now_us();
                        while let Some(&(s, t)) = unacked.front() {
                            if s > seq { break; }
                            acks.push(now.saturating_sub(t));
                            unacked.pop_front();
                        }
                        shared.totals.acked.fetch_add(seq - acked_seq, Ordering::Relaxed);
                        acked_seq = seq;
                    }
                }
            }
            due = tick.tick() => {
                let now = shared.now_us();
                let running = now >= shared.start_us.load(Ordering::Relaxed)
                    && now < shared.stop_us.load(Ordering::Relaxed);
                if running {
                    lag.push(due.elapsed().as_micros() as u64);
                }
                if running && subscribed && let Some(d) = docs.get_mut(&doc) {
                    let mut tx = d.transaction();
                    tx.put(ObjId::Root, "t", i64::try_from(now).unwrap_or(i64::MAX))?;
                    if let Some(c) = tx.commit() {
                        unacked.push_back((c.id().seq, now));
                        shared.totals.sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            _ = anti_entropy.tick() => session.request_anti_entropy(),
        }
    }
    shared.fanout.add(&fanout);
    shared.ack.add(&acks);
    shared.lag.add(&lag);
    let _ = sink.close().await;
    Ok(())
}

struct Relay {
    url: String,
    pid: u32,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn start_relay(args: &Args) -> anyhow::Result<Relay> {
    if let Some(url) = &args.relay {
        return Ok(Relay {
            url: url.clone(),
            pid: args.relay_pid.unwrap_or(0),
            child: None,
            _dir: None,
        });
    }
    let dir = tempfile::tempdir()?;
    if let Some(bin) = &args.relay_bin {
        let mut child = Command::new(bin)
            .args(["--dev", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let line = tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            let mut lines = std::io::BufReader::new(stdout).lines();
            let first = lines.next();
            // Keep draining so the relay never blocks on stdout.
            std::thread::spawn(move || for _ in lines {});
            first
        })
        .await?
        .context("relay printed nothing")??;
        let addr = line
            .strip_prefix("listening on ")
            .context("unexpected first line")?;
        return Ok(Relay {
            url: format!("ws://{addr}/v1/sync"),
            pid: child.id(),
            child: Some(child),
            _dir: Some(dir),
        });
    }
    // In this process.
    let store = Arc::new(concord_relay::store::Store::open(dir.path())?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let config = Config {
        auth: Auth::Open,
        limits: Limits::default(),
        anti_entropy: Duration::from_secs(30),
        web_dir: None,
    };
    let state = Arc::new(concord_relay::server::AppState::new(config, store, rx));
    tokio::spawn(concord_relay::server::serve(
        listener,
        state,
        tx,
        std::future::pending(),
    ));
    Ok(Relay {
        url: format!("ws://{addr}/v1/sync"),
        pid: std::process::id(),
        child: None,
        _dir: Some(dir),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.clients > 0 && args.docs > 0 && args.rate > 0.0,
        "all must be positive"
    );
    let relay = start_relay(&args).await?;
    let in_process = relay.pid == std::process::id();
    let shared = Arc::new(Shared {
        base: Instant::now(),
        url: relay.url.clone(),
        totals: Totals::default(),
        fanout: Samples::default(),
        lag: Samples::default(),
        ack: Samples::default(),
        start_us: AtomicU64::new(u64::MAX),
        stop_us: AtomicU64::new(u64::MAX - 10_000_000),
    });
    let per_client = args.rate / args.clients as f64;
    let interval = Duration::from_secs_f64(1.0 / per_client);
    println!(
        "relay {} ({}), {} clients over {} documents, {} changes/s total ({:.2}/s per client), {} s",
        relay.url,
        if in_process {
            "in process"
        } else {
            "separate process"
        },
        args.clients,
        args.docs,
        args.rate,
        per_client,
        args.secs
    );
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..args.clients {
        let doc = DocId::new(format!("load-{}", i % args.docs))?;
        tasks.spawn(client(Arc::clone(&shared), i, doc, interval));
        if i % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_mins(1);
    while shared.totals.subscribed.load(Ordering::Relaxed) < args.clients as u64 {
        if Instant::now() > deadline {
            bail!(
                "only {} of {} clients subscribed",
                shared.totals.subscribed.load(Ordering::Relaxed),
                args.clients
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss_idle = rss_kib(relay.pid);
    let cpu_before = cpu_ticks(relay.pid);
    let metrics_before = relay_metrics(&relay.url).await;
    let self_cpu_before = cpu_ticks(std::process::id());
    println!(
        "all {} clients subscribed; relay RSS {:?} KiB; load starts",
        args.clients, rss_idle
    );
    let start = shared.now_us() + 200_000;
    shared.start_us.store(start, Ordering::Relaxed);
    shared
        .stop_us
        .store(start + args.secs * 1_000_000, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let acked_at_start = shared.totals.acked.load(Ordering::Relaxed);
    let mut peak_rss = 0;
    for s in 0..args.secs {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss = rss_kib(relay.pid).unwrap_or(0);
        peak_rss = peak_rss.max(rss);
        if s % 5 == 4 {
            println!(
                "  t={}s sent={} acked={} delivered={} relay RSS={} KiB",
                s + 1,
                shared.totals.sent.load(Ordering::Relaxed),
                shared.totals.acked.load(Ordering::Relaxed),
                shared.totals.delivered.load(Ordering::Relaxed),
                rss
            );
        }
    }
    let acked_in_window = shared.totals.acked.load(Ordering::Relaxed) - acked_at_start;
    let cpu_after = cpu_ticks(relay.pid);
    let metrics_after = relay_metrics(&relay.url).await;
    let self_cpu_after = cpu_ticks(std::process::id());
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        if let Ok(Err(e)) | Err(e) = r.map_err(anyhow::Error::from) {
            errors += 1;
            if errors < 5 {
                eprintln!("client failed: {e:#}");
            }
        }
    }
    let t = &shared.totals;
    println!("--- results ---");
    println!(
        "changes sent {} / acknowledged {} (all, after drain) / delivered to other clients {}",
        t.sent.load(Ordering::Relaxed),
        t.acked.load(Ordering::Relaxed),
        t.delivered.load(Ordering::Relaxed)
    );
    println!(
        "sustained: {:.0} changes/s acknowledged (committed) during the {} s window",
        acked_in_window as f64 / args.secs as f64,
        args.secs
    );
    println!(
        "{}",
        shared
            .lag
            .report("load generator timer lag (its own scheduling delay)")
    );
    println!("{}", shared.ack.report("ack latency (send -> Ack)"));
    println!(
        "{}",
        shared
            .fanout
            .report("fan-out latency (send -> other clients)")
    );
    if let (Some(a), Some(b)) = (cpu_before, cpu_after) {
        println!(
            "relay CPU during the window: {:.0}% of one core{}",
            (b - a) as f64 / args.secs as f64,
            if in_process {
                " (includes the clients: in process)"
            } else {
                ""
            }
        );
    }
    if let (Some(a), Some(b)) = (self_cpu_before, self_cpu_after)
        && !in_process
    {
        println!(
            "load generator CPU during the window: {:.0}% of one core",
            (b - a) as f64 / args.secs as f64
        );
    }
    println!(
        "relay RSS: {:?} KiB after subscribe, peak {} KiB during load{}",
        rss_idle,
        peak_rss,
        if in_process {
            " (includes the clients: in process)"
        } else {
            ""
        }
    );
    let delta = |k: &str| {
        metrics_after.get(k).copied().unwrap_or(0.0) - metrics_before.get(k).copied().unwrap_or(0.0)
    };
    let commits = delta("concord_relay_commits_total");
    if commits > 0.0 {
        println!(
            "relay store: {:.0} commits/s, {:.1} changes per commit, {:.2} ms per commit (writes + fsync)",
            commits / args.secs as f64,
            delta("concord_relay_changes_stored_total") / commits,
            delta("concord_relay_commit_seconds_total") * 1000.0 / commits
        );
    }
    for (name, what) in [
        (
            "concord_relay_commit_wait_seconds",
            "relay-side commit wait (frame read -> commit reported)",
        ),
        (
            "concord_relay_fanout_delay_seconds",
            "relay-side fan-out delay (commit -> written to a subscriber)",
        ),
    ] {
        let q = |q| {
            bucket_quantile(&metrics_before, &metrics_after, name, q)
                .map_or("?".to_owned(), |ms| format!("<= {ms} ms"))
        };
        println!("{what}: p50 {} p99 {}", q(0.5), q(0.99));
    }
    println!("client errors: {errors}");
    Ok(())
}

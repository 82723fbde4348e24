//! Issue 13, item 8: chaos that checks preservation, not only convergence.
//!
//! Four devices (real `concord` processes, each on its own data directory,
//! each behind its own fault proxy) edit three shared notes with
//! `concord chaos-edit`, which inserts and deletes whole tokens `<TAG.N>`
//! and reports each edit once its store committed it; it edits the store
//! alone (offline) or, a third of the time, through the sync client while
//! that syncs (as the window does). Round after round, devices join
//! documents and edit before their first sync, run `sync --once`, and are
//! SIGKILLed at seeded moments (mid-edit, mid-sync); the relay is SIGKILLed
//! and restarted; each device's proxy drops, duplicates, reorders and
//! delays messages, freezes or black-holes one direction, refuses
//! connections or cuts them. Then the faults stop, every device (and a
//! fifth that never edited) syncs until `sync --once` succeeds, and the
//! checker asserts that every device holds the same documents (equal
//! replicas, equal text) and that the text holds exactly what the reports
//! say: every token reported inserted and not reported deleted, once; no
//! token reported deleted; nothing no one wrote.
//!
//! `CONCORD_CHAOS_SEED=N` repeats a run's decisions (the processes' timing
//! still varies); without it the seed comes from the clock and is printed.
//! `CONCORD_CHAOS_ROUNDS=N` runs longer.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use concord_core::ReplicaId;
use concord_desktop::store::SqliteStore;
use concord_e2e::device_process::{Device, cat_text};
use concord_e2e::proxy::{Direction, Faults, Proxy, Stall, Stats};
use concord_e2e::relay_process::RelayProcess;
use concord_wire::{Access, DocId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DEVICES: usize = 4;
const DOCS: usize = 3;
const ROUNDS: u32 = 12;
/// `sync --once --timeout` during the chaos: a sync that cannot finish
/// (a black hole, a dead relay) gives up after this long.
const CHAOS_SYNC_TIMEOUT_SECS: u32 = 5;
/// How long a live `chaos-edit` waits for the relay after its edits.
const LIVE_SETTLE_SECS: &str = "3";
/// At the end, with no faults.
const FINAL_SYNC_TIMEOUT_SECS: u32 = 30;
const FINAL_SYNC_ATTEMPTS: u32 = 5;
const FINAL_PASSES: u32 = 4;
/// How many problems a failure lists.
const SHOWN_PROBLEMS: usize = 20;
/// Anything still running after this long is hung: killed and reported.
const HUNG: Duration = Duration::from_mins(1);

#[test]
fn every_reported_edit_survives_kills_restarts_and_a_faulty_network() {
    let seed = std::env::var("CONCORD_CHAOS_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let rounds = std::env::var("CONCORD_CHAOS_ROUNDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(ROUNDS);
    let repeat = format!(
        "CONCORD_CHAOS_SEED={seed} CONCORD_CHAOS_ROUNDS={rounds} \
         cargo test -p concord-e2e --test e2e chaos -- --nocapture"
    );
    eprintln!("chaos: seed {seed}, {rounds} rounds; repeat with: {repeat}");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let started = Instant::now();
    let mut chaos = Chaos::start(seed, dir.path()).expect("the relay, proxies and devices start");
    let outcome = chaos.run(rounds);
    eprintln!(
        "chaos: seed {seed}: {}\n  the proxies: {}\n  in {:.0?}",
        chaos.tally,
        chaos.proxy_stats(),
        started.elapsed()
    );
    if let Err(failures) = outcome {
        let kept = dir.keep();
        let shown = failures.len().min(SHOWN_PROBLEMS);
        panic!(
            "chaos seed {seed} failed ({} problems, the first {shown} below); data kept in {}\n\
             {}\nrepeat with: {repeat}",
            failures.len(),
            kept.display(),
            failures[..shown].join("\n")
        );
    }
}

/// Everything one run holds.
struct Chaos {
    rng: StdRng,
    /// Where every data directory is.
    root: PathBuf,
    relay: RelayProcess,
    /// One per device, in front of the one relay.
    proxies: Vec<Proxy>,
    devices: Vec<Device>,
    docs: Vec<DocId>,
    links: Vec<String>,
    /// `joined[device][doc]`: the device has the document, or will have
    /// it once the round being planned ran.
    joined: [[bool; DOCS]; DEVICES],
    /// `had[device][doc]`: the device has the document (its round ran).
    had: [[bool; DOCS]; DEVICES],
    /// `synced[device][doc]`: a `sync --once` of the device succeeded
    /// since it had the document; edits before are "before its first sync".
    synced: [[bool; DOCS]; DEVICES],
    ledger: Ledger,
    tally: Tally,
    /// Runs the proxies' tasks (dropped last).
    _runtime: tokio::runtime::Runtime,
}

/// What the run did, for the summary line.
#[derive(Debug, Default)]
struct Tally {
    edit_runs: u64,
    /// Of them, through the sync client; and of those, how many saw the
    /// relay confirm everything before they ended.
    live_runs: u64,
    live_synced: u64,
    inserted: u64,
    deleted: u64,
    edits_killed: u64,
    syncs: u64,
    syncs_killed: u64,
    syncs_failed: u64,
    edits_before_first_sync: u64,
    relay_kills: u64,
    cuts: u64,
    network_faults: u64,
    /// How long the syncs that succeeded took.
    sync_times: Vec<Duration>,
    /// A few of the failed syncs' messages, to see what the chaos did.
    sync_errors: BTreeMap<String, u64>,
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} edit runs ({} live, {} of them synced at the end; {} inserts, {} deletes \
             reported; {} runs killed, {} before the device's first sync of the document), \
             {} syncs ({} killed, {} failed, the median success took {:.0?}), relay killed {} \
             times, {} network faults, {} cuts",
            self.edit_runs,
            self.live_runs,
            self.live_synced,
            self.inserted,
            self.deleted,
            self.edits_killed,
            self.edits_before_first_sync,
            self.syncs,
            self.syncs_killed,
            self.syncs_failed,
            median(&self.sync_times),
            self.relay_kills,
            self.network_faults,
            self.cuts
        )?;
        for (error, n) in &self.sync_errors {
            write!(f, "\n  sync failed {n}x: {error}")?;
        }
        Ok(())
    }
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// What the edit reports say about each token, per document.
#[derive(Debug, Default)]
struct Ledger {
    docs: BTreeMap<DocId, BTreeMap<String, Fate>>,
}

/// What the reports say about one token: its insert and its deletes.
#[derive(Debug, Default, Clone, Copy)]
struct Fate {
    insert: Report,
    delete: Report,
}

/// What the reports say about one edit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Report {
    #[default]
    None,
    /// `inserting` / `deleting`: it may have been committed (the process
    /// may have died just before or just after the commit).
    Tried,
    /// `inserted` / `deleted`: committed.
    Committed,
}

impl Ledger {
    /// Reads a `chaos-edit` report; how many inserts and deletes it confirms.
    fn record(&mut self, doc: &DocId, report: &str) -> Result<(u64, u64), String> {
        let fates = self.docs.entry(doc.clone()).or_default();
        let (mut inserted, mut deleted) = (0, 0);
        for line in report.lines() {
            if matches!(line, "compacted" | "synced" | "not synced") {
                continue;
            }
            let (what, token) = line.split_once(' ').unwrap_or((line, ""));
            let fate = fates.entry(token.to_owned());
            match what {
                "inserting" => raise(&mut fate.or_default().insert, Report::Tried),
                "inserted" => {
                    raise(&mut fate.or_default().insert, Report::Committed);
                    inserted += 1;
                }
                "deleting" => raise(&mut fate.or_default().delete, Report::Tried),
                "deleted" => {
                    raise(&mut fate.or_default().delete, Report::Committed);
                    deleted += 1;
                }
                _ => return Err(format!("chaos-edit printed {line:?}")),
            }
        }
        Ok((inserted, deleted))
    }

    /// Every problem with `text` as the final text of `doc`.
    fn check(&self, doc: &DocId, text: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let (found, rest) = tokens(text);
        if !rest.is_empty() {
            problems.push(format!("{doc}: text outside any token: {rest:?}"));
        }
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for t in &found {
            *count.entry(t).or_default() += 1;
        }
        let none = BTreeMap::new();
        let fates = self.docs.get(doc).unwrap_or(&none);
        for (token, n) in &count {
            if *n > 1 {
                problems.push(format!("{doc}: {token} appears {n} times"));
            }
            let fate = fates.get(*token).copied().unwrap_or_default();
            if fate.insert == Report::None {
                problems.push(format!("{doc}: {token} appears, but no one wrote it"));
            } else if fate.delete == Report::Committed {
                problems.push(format!("{doc}: {token} was deleted, but is back"));
            }
        }
        for (token, fate) in fates {
            if fate.insert == Report::Committed
                && fate.delete == Report::None
                && !count.contains_key(&**token)
            {
                problems.push(format!(
                    "{doc}: {token} was inserted and never deleted, but is gone"
                ));
            }
        }
        problems
    }
}

/// Several devices may report the same delete; the surest report counts.
fn raise(report: &mut Report, to: Report) {
    *report = (*report).max(to);
}

/// The tokens `<…>` of `text`, in order, and whatever stands outside them.
fn tokens(text: &str) -> (Vec<String>, String) {
    let mut found = Vec::new();
    let mut rest = String::new();
    let mut current: Option<String> = None;
    for c in text.chars() {
        match (&mut current, c) {
            (None, '<') => current = Some(String::from('<')),
            (None, c) => rest.push(c),
            (Some(t), '>') => {
                t.push('>');
                found.extend(current.take());
            }
            (Some(t), '<') => {
                rest.push_str(t);
                current = Some(String::from('<'));
            }
            (Some(t), c) => t.push(c),
        }
    }
    rest.extend(current);
    (found, rest)
}

#[test]
fn the_checker_holds_the_text_to_exactly_what_the_reports_allow() {
    let doc = DocId::new("checked").expect("a valid id");
    let mut ledger = Ledger::default();
    let report = "inserting <a.1>\ninserted <a.1>\ninserting <a.2>\ninserted <a.2>\n\
                  deleting <a.2>\ndeleted <a.2>\ninserting <a.3>\ninserted <a.3>\n\
                  deleting <a.3>\ninserting <a.4>\ncompacted\n";
    assert_eq!(ledger.record(&doc, report), Ok((3, 1)));
    // <a.3>'s delete and <a.4>'s insert were cut off: either way is right.
    assert!(ledger.check(&doc, "<a.1>").is_empty());
    assert!(ledger.check(&doc, "<a.3><a.1><a.4>").is_empty());
    let problems = |text| ledger.check(&doc, text).join("; ");
    assert!(problems("").contains("<a.1> was inserted and never deleted, but is gone"));
    assert!(problems("<a.1><a.2>").contains("<a.2> was deleted, but is back"));
    assert!(problems("<a.1><a.1>").contains("<a.1> appears 2 times"));
    assert!(problems("<a.1><b.1>").contains("<b.1> appears, but no one wrote it"));
    // A token split by another edit reads as stray text.
    assert!(problems("<a.<a.4>1>").contains("text outside any token"));
    assert!(ledger.record(&doc, "wrote <a.5>").is_err());
}

/// One step of one device in a round.
#[derive(Debug, Clone)]
enum Step {
    /// `doc open LINK`.
    Join(usize),
    /// `chaos-edit`, SIGKILLed after `kill` if still running.
    Edit {
        doc: usize,
        edits: u32,
        seed: u64,
        tag: String,
        pause_ms: u64,
        /// `--live`: through the sync client, syncing all along.
        live: bool,
        kill: Option<Duration>,
    },
    /// `sync --once`, SIGKILLed after `kill` if still running.
    Sync { kill: Option<Duration> },
}

/// What happens to a device's network in a round.
#[derive(Debug, Clone, Copy)]
enum Network {
    Clean,
    Lossy(Faults),
    Stalled(Direction, Stall),
    /// New connections refused, live ones cut.
    Blocked,
    /// Every live connection cut after this long.
    Cut(Duration),
}

impl Network {
    fn name(&self) -> &'static str {
        match self {
            Network::Clean => "clean",
            Network::Lossy(f) if f.delay > 0.0 => "delayed",
            Network::Lossy(_) => "lossy",
            Network::Stalled(_, Stall::Held) => "held",
            Network::Stalled(..) => "black hole",
            Network::Blocked => "blocked",
            Network::Cut(_) => "cut",
        }
    }
}

/// The relay is SIGKILLed `at` into the round and restarted `down` later.
#[derive(Debug, Clone, Copy)]
struct RelayKill {
    at: Duration,
    down: Duration,
}

/// What one device's steps in a round ran, or why they stopped.
type DeviceOutcome = Result<Vec<Ran>, String>;

/// A process that ran.
#[derive(Debug)]
struct Ran {
    status: ExitStatus,
    took: Duration,
    stdout: String,
    stderr: String,
}

/// SIGKILL's number on every Unix.
const SIGKILL: i32 = 9;

impl Ran {
    fn killed(&self) -> bool {
        self.status.signal() == Some(SIGKILL)
    }
}

/// Runs `cmd`, SIGKILLs it after `kill` (or `HUNG`) if still running.
fn run_process(mut cmd: Command, kill: Option<Duration>) -> anyhow::Result<(Ran, bool)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    // Read while it runs, so a full pipe never blocks it.
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let limit = kill.unwrap_or(HUNG).min(HUNG);
    let mut hung = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= limit {
            hung = kill.is_none_or(|k| k > HUNG);
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let ran = Ran {
        status,
        took: started.elapsed(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    Ok((ran, hung))
}

impl Chaos {
    fn start(seed: u64, dir: &Path) -> anyhow::Result<Chaos> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let relay = RelayProcess::start(
            Path::new(env!("CARGO_BIN_EXE_relay-under-test")),
            &dir.join("relay"),
            &[],
        )?;
        let mut proxies = Vec::new();
        for d in 0..DEVICES {
            let proxy_seed = seed.wrapping_add(d as u64);
            proxies.push(runtime.block_on(Proxy::start(
                relay.addr(),
                proxy_seed,
                Faults::none(),
            ))?);
        }
        let devices: Vec<Device> = proxies
            .iter()
            .enumerate()
            .map(|(d, proxy)| {
                Device::new(
                    Path::new(env!("CARGO_BIN_EXE_concord-under-test")),
                    &dir.join(format!("device{d}")),
                    &proxy.url(),
                )
            })
            .collect();
        // Device 0 makes the documents; the relay's operator gives each a
        // token, which device 0 takes by opening the link, then shares.
        let mut docs = Vec::new();
        let mut links = Vec::new();
        for n in 0..DOCS {
            let id = devices[0].ok(&["doc", "new", &format!("Chaos {n}")])?;
            let token = relay.mint_token(&id, Access::ReadWrite, Duration::from_hours(24));
            let base = format!("http://{}", proxies[0].addr());
            devices[0].ok(&["doc", "open", &format!("{base}/#doc={id}&token={token}")])?;
            links.push(devices[0].ok(&["doc", "share", &id])?);
            docs.push(DocId::new(id)?);
        }
        let mut joined = [[false; DOCS]; DEVICES];
        joined[0] = [true; DOCS];
        Ok(Chaos {
            rng: StdRng::seed_from_u64(seed),
            root: dir.to_owned(),
            relay,
            proxies,
            devices,
            docs,
            links,
            joined,
            had: joined,
            synced: [[false; DOCS]; DEVICES],
            ledger: Ledger::default(),
            tally: Tally::default(),
            _runtime: runtime,
        })
    }

    /// What the proxies did to messages, all together.
    fn proxy_stats(&self) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let sum = |f: fn(&Stats) -> &AtomicU64| -> u64 {
            self.proxies
                .iter()
                .map(|p| f(p.stats()).load(Relaxed))
                .sum()
        };
        format!(
            "{} connections, {} messages forwarded, {} dropped, {} duplicated, {} reordered, \
             {} delayed, {} held, {} lost",
            sum(|s| &s.connections),
            sum(|s| &s.forwarded),
            sum(|s| &s.dropped),
            sum(|s| &s.duplicated),
            sum(|s| &s.reordered),
            sum(|s| &s.delayed),
            sum(|s| &s.held),
            sum(|s| &s.lost),
        )
    }

    /// The chaos rounds, then the calm end and the checks.
    fn run(&mut self, rounds: u32) -> Result<(), Vec<String>> {
        for round in 0..rounds {
            self.round(round).map_err(|e| vec![e])?;
        }
        self.calm()?;
        self.check()
    }

    /// One round: drawn from the seed, run, and taken in.
    fn round(&mut self, round: u32) -> Result<(), String> {
        let plans: Vec<Vec<Step>> = (0..DEVICES).map(|d| self.steps(d, round)).collect();
        let networks: Vec<Network> = (0..DEVICES).map(|_| self.network()).collect();
        let relay_kill = self.rng.random_bool(0.3).then(|| RelayKill {
            at: Duration::from_millis(self.rng.random_range(0..1500)),
            down: Duration::from_millis(self.rng.random_range(0..800)),
        });
        for (proxy, network) in self.proxies.iter().zip(&networks) {
            match *network {
                Network::Clean | Network::Cut(_) => {}
                Network::Lossy(faults) => proxy.set_faults(faults),
                Network::Stalled(direction, stall) => proxy.stall(direction, stall),
                Network::Blocked => proxy.set_blocked(true),
            }
            if !matches!(network, Network::Clean) {
                self.tally.network_faults += 1;
            }
        }
        let (results, relay_error) = self.run_round(&plans, &networks, relay_kill);
        for proxy in &self.proxies {
            proxy.set_faults(Faults::none());
            proxy.stall(Direction::Up, Stall::Flowing);
            proxy.stall(Direction::Down, Stall::Flowing);
            proxy.set_blocked(false);
        }
        if let Some(e) = relay_error {
            return Err(e);
        }
        for (d, (steps, outcome)) in plans.iter().zip(results).enumerate() {
            let ran = outcome.map_err(|e| format!("round {round}, device {d}: {e}"))?;
            for (step, ran) in steps.iter().zip(ran) {
                let weather = match (networks[d].name(), relay_kill) {
                    (name, Some(_)) => format!("{name}, relay killed"),
                    (name, None) => name.to_owned(),
                };
                self.account(d, step, &ran, &weather)
                    .map_err(|e| format!("round {round}, device {d}, {step:?}: {e}"))?;
            }
        }
        Ok(())
    }

    /// What device `d` does in a round: join documents (and mostly type
    /// into one at once, before any sync), then edit and sync.
    fn steps(&mut self, d: usize, round: u32) -> Vec<Step> {
        let mut steps = Vec::new();
        for doc in 0..DOCS {
            if !self.joined[d][doc] && self.rng.random_bool(0.35) {
                self.joined[d][doc] = true;
                steps.push(Step::Join(doc));
                if self.rng.random_bool(0.7) {
                    steps.push(self.edit_step(d, round, steps.len(), doc));
                }
            }
        }
        let mine: Vec<usize> = (0..DOCS).filter(|&i| self.joined[d][i]).collect();
        for _ in 0..self.rng.random_range(1..=3) {
            let step = if !mine.is_empty() && self.rng.random_bool(0.6) {
                let doc = mine[self.rng.random_range(0..mine.len())];
                self.edit_step(d, round, steps.len(), doc)
            } else {
                let kill = self
                    .rng
                    .random_bool(0.35)
                    .then(|| Duration::from_millis(self.rng.random_range(0..300)));
                Step::Sync { kill }
            };
            steps.push(step);
        }
        steps
    }

    /// Every device runs its steps while this thread kills the relay and
    /// cuts connections on their schedule. What each device ran, and
    /// whether the relay failed to come back.
    fn run_round(
        &mut self,
        plans: &[Vec<Step>],
        networks: &[Network],
        relay_kill: Option<RelayKill>,
    ) -> (Vec<DeviceOutcome>, Option<String>) {
        let mut timeline: Vec<(Duration, Option<usize>)> = networks
            .iter()
            .enumerate()
            .filter_map(|(d, n)| match n {
                Network::Cut(at) => Some((*at, Some(d))),
                _ => None,
            })
            .collect();
        if let Some(k) = relay_kill {
            timeline.push((k.at, None));
        }
        timeline.sort();
        let (devices, docs, links) = (&self.devices, &self.docs, &self.links);
        let (proxies, relay, tally) = (&self.proxies, &mut self.relay, &mut self.tally);
        std::thread::scope(|scope| {
            let workers: Vec<_> = plans
                .iter()
                .enumerate()
                .map(|(d, steps)| scope.spawn(move || run_steps(&devices[d], steps, docs, links)))
                .collect();
            let start = Instant::now();
            let mut relay_error = None;
            for (at, cut) in timeline {
                std::thread::sleep(at.saturating_sub(start.elapsed()));
                if let Some(d) = cut {
                    proxies[d].cut_all();
                    tally.cuts += 1;
                } else {
                    relay.kill();
                    tally.relay_kills += 1;
                    std::thread::sleep(relay_kill.map_or(Duration::ZERO, |k| k.down));
                    if let Err(e) = relay.restart_same_port() {
                        relay_error = Some(format!("the relay did not restart: {e:#}"));
                    }
                }
            }
            let results = workers
                .into_iter()
                .map(|w| w.join().expect("a device thread"))
                .collect();
            (results, relay_error)
        })
    }

    /// A `chaos-edit` step of device `d` on `doc`.
    fn edit_step(&mut self, d: usize, round: u32, number: usize, doc: usize) -> Step {
        let edits = self.rng.random_range(1..=20);
        // Live, through the sync client, a third of the time: slower, so
        // that remote edits land between one's own.
        let live = self.rng.random_bool(0.3);
        let pause_ms = if live {
            self.rng.random_range(10..=60)
        } else {
            self.rng.random_range(0..=10)
        };
        // Within the time the run takes when nothing is slow.
        let span = u64::from(edits) * (pause_ms + 1) + if live { 300 } else { 10 };
        Step::Edit {
            doc,
            edits,
            seed: self.rng.random(),
            tag: format!("d{d}r{round}s{number}"),
            pause_ms,
            live,
            kill: self
                .rng
                .random_bool(0.3)
                .then(|| Duration::from_millis(self.rng.random_range(0..=span))),
        }
    }

    fn network(&mut self) -> Network {
        let roll: f64 = self.rng.random();
        let direction = if self.rng.random_bool(0.5) {
            Direction::Up
        } else {
            Direction::Down
        };
        if roll < 0.4 {
            Network::Clean
        } else if roll < 0.6 {
            let rate = self.rng.random_range(0.02..0.2);
            Network::Lossy(Faults {
                drop: rate,
                duplicate: rate,
                reorder: rate,
                reorder_delay: Duration::from_millis(30),
                delay: 0.0,
                max_delay: Duration::ZERO,
            })
        } else if roll < 0.72 {
            Network::Lossy(Faults {
                delay: 0.3,
                max_delay: Duration::from_millis(250),
                ..Faults::none()
            })
        } else if roll < 0.82 {
            Network::Stalled(direction, Stall::Held)
        } else if roll < 0.9 {
            Network::Stalled(direction, Stall::Lost)
        } else if roll < 0.95 {
            Network::Blocked
        } else {
            Network::Cut(Duration::from_millis(self.rng.random_range(0..1500)))
        }
    }

    /// Takes in what one step did.
    /// `weather` says what the network and the relay did meanwhile.
    fn account(&mut self, d: usize, step: &Step, ran: &Ran, weather: &str) -> Result<(), String> {
        match step {
            Step::Join(doc) => {
                if !ran.status.success() {
                    return Err(format!("doc open failed: {}", ran.stderr));
                }
                self.had[d][*doc] = true;
            }
            Step::Edit { doc, live, .. } => {
                self.tally.edit_runs += 1;
                if *live {
                    self.tally.live_runs += 1;
                }
                if !self.synced[d][*doc] {
                    self.tally.edits_before_first_sync += 1;
                }
                if ran.stdout.lines().last() == Some("synced") {
                    self.synced[d][*doc] = true;
                    self.tally.live_synced += 1;
                }
                let (ins, del) = self.ledger.record(&self.docs[*doc], &ran.stdout)?;
                self.tally.inserted += ins;
                self.tally.deleted += del;
                if ran.killed() {
                    self.tally.edits_killed += 1;
                } else if !ran.status.success() {
                    return Err(format!(
                        "chaos-edit failed ({}): {}",
                        ran.status, ran.stderr
                    ));
                }
            }
            Step::Sync { .. } => {
                self.tally.syncs += 1;
                if ran.killed() {
                    self.tally.syncs_killed += 1;
                } else if ran.status.success() {
                    // Everything the device had then is synced.
                    self.synced[d] = self.had[d];
                    self.tally.sync_times.push(ran.took);
                } else {
                    self.tally.syncs_failed += 1;
                    let first = ran.stderr.lines().next().unwrap_or("").to_owned();
                    let key = format!("[{weather}] {}", without_doc_ids(&first, &self.docs));
                    let seen = self.tally.sync_errors.len();
                    if let Some(n) = self.tally.sync_errors.get_mut(&key) {
                        *n += 1;
                    } else if seen < 12 {
                        self.tally.sync_errors.insert(key, 1);
                    }
                }
            }
        }
        Ok(())
    }

    /// Faults off, the relay up; every device (and a new one) joins every
    /// document and
    /// syncs until `sync --once` succeeds, pass after pass, until every
    /// device shows the same text.
    fn calm(&mut self) -> Result<(), Vec<String>> {
        if !self.relay.is_running() {
            self.relay
                .restart_same_port()
                .map_err(|e| vec![format!("the relay did not restart: {e:#}")])?;
        }
        // A device that never edited joins now and must end up with the
        // same documents: the relay itself holds every change, not only
        // the devices that re-upload theirs (it is "device 4" below).
        let late = Device::new(
            Path::new(env!("CARGO_BIN_EXE_concord-under-test")),
            &self.root.join("late"),
            &self.relay.url(),
        );
        for link in &self.links {
            late.ok(&["doc", "open", link])
                .map_err(|e| vec![format!("the late device: {e:#}")])?;
        }
        self.devices.push(late);
        for d in 0..DEVICES {
            for doc in 0..DOCS {
                if !self.joined[d][doc] {
                    self.devices[d]
                        .ok(&["doc", "open", &self.links[doc]])
                        .map_err(|e| vec![format!("device {d}: {e:#}")])?;
                    self.joined[d][doc] = true;
                    self.had[d][doc] = true;
                }
            }
        }
        let timeout = FINAL_SYNC_TIMEOUT_SECS.to_string();
        for pass in 1..=FINAL_PASSES {
            let devices = &self.devices;
            let synced: Vec<Result<(), String>> = std::thread::scope(|scope| {
                let workers: Vec<_> = devices
                    .iter()
                    .map(|device| {
                        let timeout = &timeout;
                        scope.spawn(move || sync_until_it_succeeds(device, timeout))
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().expect("a device thread"))
                    .collect()
            });
            let failed: Vec<String> = synced
                .into_iter()
                .enumerate()
                .filter_map(|(d, r)| {
                    r.err()
                        .map(|e| format!("device {d}, final pass {pass}: {e}"))
                })
                .collect();
            if !failed.is_empty() {
                return Err(failed);
            }
            if pass > 1 && self.texts_agree().map_err(|e| vec![e])? {
                return Ok(());
            }
        }
        Ok(()) // `check` says how they differ
    }

    /// Does every device show the same text of every document?
    fn texts_agree(&self) -> Result<bool, String> {
        for doc in &self.docs {
            let texts = self.texts(doc)?;
            if texts.iter().any(|t| *t != texts[0]) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Every device's `doc cat` of `doc`.
    fn texts(&self, doc: &DocId) -> Result<Vec<String>, String> {
        self.devices
            .iter()
            .enumerate()
            .map(|(d, device)| {
                let ran = device
                    .run(&["doc", "cat", doc.as_str()])
                    .map_err(|e| format!("device {d}: {e:#}"))?;
                if !ran.status.success() || !ran.stderr.is_empty() {
                    return Err(format!(
                        "device {d}: doc cat {doc} ({}): {}",
                        ran.status,
                        String::from_utf8_lossy(&ran.stderr)
                    ));
                }
                String::from_utf8(ran.stdout)
                    .map(cat_text)
                    .map_err(|e| format!("device {d}: {e}"))
            })
            .collect()
    }

    /// The checks: the same documents everywhere, and the text holds
    /// exactly what the edit reports say.
    fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for doc in &self.docs {
            let texts = match self.texts(doc) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            for (d, text) in texts.iter().enumerate().skip(1) {
                if *text != texts[0] {
                    problems.push(format!(
                        "{doc}: device {d} shows {text:?}, device 0 shows {:?}",
                        texts[0]
                    ));
                }
            }
            problems.extend(self.ledger.check(doc, &texts[0]));
            match self.stored_documents(doc) {
                Ok(stored) => {
                    for (d, s) in stored.iter().enumerate().skip(1) {
                        if *s != stored[0] {
                            problems.push(format!(
                                "{doc}: device {d}'s replica differs from device 0's \
                                 (versions {:?} and {:?})",
                                s.version(),
                                stored[0].version()
                            ));
                        }
                    }
                }
                Err(e) => problems.push(e),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// `doc` as each device's store holds it (no process runs now).
    fn stored_documents(&self, doc: &DocId) -> Result<Vec<concord_core::Document>, String> {
        self.devices
            .iter()
            .enumerate()
            .map(|(d, device)| {
                let store = SqliteStore::open(device.data(), || ReplicaId(0))
                    .map_err(|e| format!("device {d}: {e}"))?;
                store.load(doc).map_err(|e| format!("device {d}: {e}"))
            })
            .collect()
    }
}

/// Runs a device's steps one after another (one process at a time: the
/// store allows one).
fn run_steps(device: &Device, steps: &[Step], docs: &[DocId], links: &[String]) -> DeviceOutcome {
    let timeout = CHAOS_SYNC_TIMEOUT_SECS.to_string();
    let mut out = Vec::new();
    for step in steps {
        let (cmd, kill) = match step {
            Step::Join(doc) => (device.command(&["doc", "open", &links[*doc]]), None),
            Step::Edit {
                doc,
                edits,
                seed,
                tag,
                pause_ms,
                live,
                kill,
            } => {
                let (edits, seed) = (edits.to_string(), seed.to_string());
                let pause = pause_ms.to_string();
                let mut args = vec![
                    "chaos-edit",
                    docs[*doc].as_str(),
                    "--seed",
                    &seed,
                    "--edits",
                    &edits,
                    "--tag",
                    tag,
                    "--pause-ms",
                    &pause,
                ];
                if *live {
                    args.extend(["--live", "--settle-secs", LIVE_SETTLE_SECS]);
                }
                (device.command(&args), *kill)
            }
            Step::Sync { kill } => (
                device.command(&["sync", "--once", "--timeout", &timeout]),
                *kill,
            ),
        };
        let (ran, hung) = run_process(cmd, kill).map_err(|e| format!("{step:?}: {e:#}"))?;
        if hung {
            return Err(format!("{step:?} hung; stderr: {}", ran.stderr));
        }
        out.push(ran);
    }
    Ok(out)
}

/// `sync --once` until it exits 0, a few times at most.
fn sync_until_it_succeeds(device: &Device, timeout: &str) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..FINAL_SYNC_ATTEMPTS {
        let cmd = device.command(&["sync", "--once", "--timeout", timeout]);
        let (ran, hung) = run_process(cmd, None).map_err(|e| format!("{e:#}"))?;
        if hung {
            return Err(format!("sync --once hung; stderr: {}", ran.stderr));
        }
        if ran.status.success() {
            return Ok(());
        }
        last = format!("{}: {}", ran.status, ran.stderr.trim());
    }
    Err(format!(
        "sync --once failed {FINAL_SYNC_ATTEMPTS} times with no faults; last: {last}"
    ))
}

/// `line` with the documents' ids replaced by `DOC`, so that failures
/// of the same kind count together.
fn without_doc_ids(line: &str, docs: &[DocId]) -> String {
    docs.iter()
        .fold(line.to_owned(), |l, doc| l.replace(doc.as_str(), "DOC"))
}

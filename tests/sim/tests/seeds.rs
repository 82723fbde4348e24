//! The whole-system simulation over many seeds, and a seed replayed.
//!
//! `cargo test -p concord-sim` runs seeds 0..500. To explore more:
//! `CONCORD_SYSTEM_SEEDS=10000` runs that many, from `CONCORD_SYSTEM_FIRST`
//! (0 by default). `CONCORD_SYSTEM_SEED=S` runs seed S alone and says what
//! it did; `CONCORD_SYSTEM_TRACE=1` prints its every step.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use concord_sim::sched::Stats;
use concord_sim::{Outcome, run};

const DEFAULT_SEEDS: u64 = 500;
/// Trace lines a failure shows.
const SHOWN: usize = 60;

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.trim().parse().ok())
}

fn replay_command(seed: u64) -> String {
    format!("CONCORD_SYSTEM_SEED={seed} cargo test -p concord-sim --test seeds -- --nocapture")
}

/// What went wrong in `outcome`, what it did, its last steps, and how to
/// replay it.
fn report(outcome: &Outcome) -> String {
    let skip = outcome.trace.len().saturating_sub(SHOWN);
    format!(
        "simulation seed {} failed:\n  {}\n{}\nits last {} steps:\n{}\nreplay with: {}",
        outcome.seed,
        outcome.problems.join("\n  "),
        outcome.summary,
        outcome.trace.len() - skip,
        outcome.trace[skip..].join("\n"),
        replay_command(outcome.seed)
    )
}

/// One seed, told in full.
fn replay(seed: u64) {
    let all = std::env::var_os("CONCORD_SYSTEM_TRACE").is_some();
    let outcome = run(seed, all);
    if all {
        eprintln!("{}", outcome.trace.join("\n"));
    }
    eprintln!(
        "{}\ntrace hash {:016x}",
        outcome.summary, outcome.trace_hash
    );
    for body in &outcome.bodies {
        eprintln!("  {body}");
    }
    assert!(outcome.problems.is_empty(), "{}", report(&outcome));
}

#[derive(Default)]
struct Totals {
    runs: u64,
    stats: Stats,
    saved: (u64, u64),
}

impl Totals {
    fn add(&mut self, o: &Outcome) {
        let (t, s) = (&mut self.stats, &o.stats);
        self.runs += 1;
        self.saved.0 += o.saved.0;
        self.saved.1 += o.saved.1;
        t.events += s.events;
        t.edits += s.edits;
        t.device_crashes += s.device_crashes;
        t.saves_lost_in_crash += s.saves_lost_in_crash;
        t.saves_failed += s.saves_failed;
        t.relay_crashes += s.relay_crashes;
        t.commits_lost_in_crash += s.commits_lost_in_crash;
        t.commit_failures += s.commit_failures;
        t.cuts += s.cuts;
        t.partitions += s.partitions;
        t.offline += s.offline;
        t.tokens_refused += s.tokens_refused;
        t.net.sent += s.net.sent;
        t.net.dropped += s.net.dropped;
        t.net.duplicated += s.net.duplicated;
        t.net.reordered += s.net.reordered;
        t.net.held += s.net.held;
        for (k, v) in &s.relay_errors {
            *t.relay_errors.entry(k.clone()).or_default() += v;
        }
    }
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.stats;
        write!(
            f,
            "{} runs, {} events: {} edits ({} inserts, {} deletes reported saved), {} device \
             crashes ({} saves in flight lost), {} saves failed, {} relay crashes ({} queued \
             commits lost), {} failed commits, {} messages ({} dropped, {} duplicated, {} \
             reordered, {} held), {} cuts, {} partitions, {} offline spells, {} tokens refused; \
             relay refusals {:?}",
            self.runs,
            s.events,
            s.edits,
            self.saved.0,
            self.saved.1,
            s.device_crashes,
            s.saves_lost_in_crash,
            s.saves_failed,
            s.relay_crashes,
            s.commits_lost_in_crash,
            s.commit_failures,
            s.net.sent,
            s.net.dropped,
            s.net.duplicated,
            s.net.reordered,
            s.net.held,
            s.cuts,
            s.partitions,
            s.offline,
            s.tokens_refused,
            s.relay_errors
        )
    }
}

#[test]
fn every_seeded_history_converges_and_keeps_every_saved_edit() {
    if let Some(seed) = env("CONCORD_SYSTEM_SEED") {
        replay(seed);
        return;
    }
    let first = env("CONCORD_SYSTEM_FIRST").unwrap_or(0);
    let count = env("CONCORD_SYSTEM_SEEDS").unwrap_or(DEFAULT_SEEDS);
    let next = AtomicU64::new(first);
    let failed: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let totals = Mutex::new(Totals::default());
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let started = std::time::Instant::now();
    // Each seed runs alone on one thread; the threads only share out seeds.
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= first + count {
                        break;
                    }
                    let outcome = run(seed, false);
                    totals.lock().unwrap().add(&outcome);
                    if !outcome.problems.is_empty() {
                        failed.lock().unwrap().push(outcome);
                    }
                }
            });
        }
    });
    let mut failed = failed.into_inner().unwrap();
    failed.sort_by_key(|o| o.seed);
    eprintln!(
        "simulation: seeds {first}..{} in {:.1?}, {} failed; {}",
        first + count,
        started.elapsed(),
        failed.len(),
        totals.into_inner().unwrap()
    );
    if let Some(first_failure) = failed.first() {
        let seeds: Vec<u64> = failed.iter().map(|o| o.seed).collect();
        panic!("failing seeds {seeds:?}\n{}", report(first_failure));
    }
}

#[test]
fn a_seed_replays_exactly() {
    let (a, b) = (run(7, false), run(7, false));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.bodies, b.bodies);
    assert_eq!(a.summary, b.summary);
    assert_ne!(run(8, false).trace_hash, a.trace_hash);
}

/// Runs `seed`, which once found a bug, and fails with its report.
fn stays_fixed(seed: u64) {
    let outcome = run(seed, false);
    assert!(outcome.problems.is_empty(), "{}", report(&outcome));
}

// Seeds that found product bugs. What a seed does changes whenever the
// simulation does, so each bug also has a unit test where it was fixed
// (here: `core/tests/it/client_session.rs`,
// `a_refusal_of_an_older_token_does_not_outlive_the_newer_one`).

/// A device set a new token while its Subscribe with an expired one was
/// out; the old token's refusal came first and the document stayed
/// refused, although the relay had accepted the new token (also seeds 340
/// and 812).
#[test]
fn seed_29_a_refusal_of_an_older_token_does_not_refuse_the_newer_one() {
    stays_fixed(29);
    stays_fixed(812);
}

/// The relay ended the old token's live subscription (expiry) while the
/// new token's Subscribe was out; the connection was lost before the
/// answer, and no later connection subscribed with the new token.
#[test]
fn seed_3339_a_refusal_that_may_be_of_a_replaced_token_is_checked_again() {
    stays_fixed(3339);
}

//! What every measured system provides, and the drivers that replay a trace
//! through it and measure each metric.
//!
//! A system is driven only through `System`; the drivers decide what is timed.
//! Each timed section is exactly the work its metric names: building inputs
//! (the history to send, the saved bytes, the merge schedule) happens before
//! the clock starts, checking the text and dropping leftovers after it stops.

use std::time::Instant;

use crate::alloc;
use crate::trace::{ConcurrentTrace, Patch, SequentialTrace};

/// A CRDT library as a user would drive it.
pub trait System {
    /// Name in the tables.
    const NAME: &'static str;
    /// One replica: a document and whatever the user keeps beside it.
    type Replica;
    /// One transaction as sent to other replicas.
    type Msg;
    /// The full history as sent to a new replica.
    type History: Clone;

    /// The crate version measured.
    fn version() -> &'static str;

    /// `n` replicas (agents `0..n`) of one new document with a text holding
    /// `start`, each able to edit as its own agent.
    fn replicas(n: usize, start: &str) -> Vec<Self::Replica>;

    /// Applies one trace transaction as local edits (positions in code
    /// points). With `emit`, returns the change to send to other replicas.
    fn edit(r: &mut Self::Replica, patches: &[Patch], emit: bool) -> Option<Self::Msg>;

    /// Merges changes of other replicas, given in causal order.
    fn merge(r: &mut Self::Replica, msgs: &[&Self::Msg]);

    /// The current text.
    fn text(r: &Self::Replica) -> String;

    /// Everything `r` has, as the library sends it to an empty replica.
    fn history(r: &Self::Replica) -> Self::History;

    /// A new replica that receives `history`.
    fn apply_history(history: Self::History) -> Self::Replica;

    /// The document saved in the library's default format.
    fn save(r: &Self::Replica) -> Vec<u8>;

    /// Decodes a saved document and reads its text.
    fn load(bytes: &[u8]) -> (Self::Replica, String);
}

/// The work of one trace.
#[derive(Debug)]
pub enum Work<'a> {
    Sequential(&'a SequentialTrace),
    Concurrent {
        trace: &'a ConcurrentTrace,
        schedule: &'a Schedule,
    },
}

impl Work<'_> {
    pub fn end(&self) -> &str {
        match self {
            Work::Sequential(t) => &t.end,
            Work::Concurrent { trace, .. } => &trace.end,
        }
    }
}

/// One row of results. `None` is "n/a".
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub system: String,
    pub version: String,
    pub local_ms: Option<f64>,
    pub remote_ms: Option<f64>,
    pub load_ms: Option<f64>,
    pub encoded_bytes: Option<usize>,
    pub peak_mem_bytes: Option<usize>,
    pub steady_mem_bytes: Option<usize>,
    pub correct: bool,
}

/// When each replica merges what, decided before replay from the recorded
/// parents: the network of a concurrent trace.
#[derive(Debug)]
pub struct Schedule {
    pub agents: usize,
    /// Per transaction: the earlier transactions (of other agents) its
    /// agent's replica must merge first, ascending (a causal order).
    pub merge_before: Vec<Vec<usize>>,
    /// The transactions replica 0 lacks at the end, ascending.
    pub merge_last: Vec<usize>,
}

impl Schedule {
    /// Each agent's replica holds a prefix of every agent's transactions (an
    /// agent's transactions form a chain); before a transaction it merges the
    /// other agents' transactions its parents have and it lacks.
    pub fn new(trace: &ConcurrentTrace) -> Result<Schedule, String> {
        let agents = trace.txns.iter().map(|t| t.agent + 1).max().unwrap_or(1);
        // by_agent[b]: agent b's transactions in order.
        let mut by_agent: Vec<Vec<usize>> = vec![Vec::new(); agents];
        // after[i][b]: how many of b's transactions txn i's result contains.
        let mut after: Vec<Vec<usize>> = Vec::with_capacity(trace.txns.len());
        let mut seen: Vec<Vec<usize>> = vec![vec![0; agents]; agents];
        let mut merge_before = Vec::with_capacity(trace.txns.len());
        for (i, t) in trace.txns.iter().enumerate() {
            let a = t.agent;
            let mut target = vec![0; agents];
            for &p in &t.parents {
                for (x, &y) in target.iter_mut().zip(&after[p]) {
                    *x = (*x).max(y);
                }
            }
            if target[a] != by_agent[a].len() || target.iter().zip(&seen[a]).any(|(t, s)| t < s) {
                return Err(format!(
                    "txn {i}: agent {a}'s transactions are not a causal chain"
                ));
            }
            let mut merge: Vec<usize> = (0..agents)
                .filter(|&b| b != a)
                .flat_map(|b| by_agent[b][seen[a][b]..target[b]].iter().copied())
                .collect();
            merge.sort_unstable();
            merge_before.push(merge);
            by_agent[a].push(i);
            target[a] += 1;
            seen[a].clone_from(&target);
            after.push(target);
        }
        let mut merge_last: Vec<usize> = (0..agents)
            .flat_map(|b| by_agent[b][seen[0][b]..].iter().copied())
            .collect();
        merge_last.sort_unstable();
        Ok(Schedule {
            agents,
            merge_before,
            merge_last,
        })
    }
}

/// The replica that holds the whole replay, and what else the replay built
/// (other replicas, changes in flight), to drop after the clock stops.
pub type Replayed<S> = (<S as System>::Replica, Leftovers<S>);

#[expect(dead_code, reason = "held only to be dropped after timing")]
pub struct Leftovers<S: System>(Vec<S::Replica>, Vec<Option<S::Msg>>);

/// Replays `work` through `S`: the timed work of `local_ms`.
pub fn replay<S: System>(work: &Work<'_>) -> Replayed<S> {
    match work {
        Work::Sequential(trace) => {
            let mut r = S::replicas(1, &trace.start)
                .pop()
                .expect("one replica asked for");
            for patches in &trace.txns {
                S::edit(&mut r, patches, false);
            }
            (r, Leftovers(Vec::new(), Vec::new()))
        }
        Work::Concurrent { trace, schedule } => {
            let mut replicas = S::replicas(schedule.agents, "");
            let mut msgs: Vec<Option<S::Msg>> = Vec::with_capacity(trace.txns.len());
            for (t, merge) in trace.txns.iter().zip(&schedule.merge_before) {
                let r = &mut replicas[t.agent];
                if !merge.is_empty() {
                    let incoming: Vec<&S::Msg> =
                        merge.iter().filter_map(|&j| msgs[j].as_ref()).collect();
                    S::merge(r, &incoming);
                }
                msgs.push(S::edit(r, &t.patches, true));
            }
            let incoming: Vec<&S::Msg> = schedule
                .merge_last
                .iter()
                .filter_map(|&j| msgs[j].as_ref())
                .collect();
            S::merge(&mut replicas[0], &incoming);
            let first = replicas.swap_remove(0);
            (first, Leftovers(replicas, msgs))
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        f64::midpoint(xs[n / 2 - 1], xs[n / 2])
    }
}

fn ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// Reports a wrong final text on stderr; returns whether it was right.
pub fn check(system: &str, what: &str, expected: &str, actual: &str) -> bool {
    if expected == actual {
        return true;
    }
    let at = expected
        .chars()
        .zip(actual.chars())
        .take_while(|(a, b)| a == b)
        .count();
    eprintln!(
        "{system}: {what} text is wrong: {} chars instead of {}, first difference at char {at}",
        actual.chars().count(),
        expected.chars().count()
    );
    false
}

/// Measures every metric of `S` on `work`, each timing the median of `runs`.
pub fn measure<S: System>(work: &Work<'_>, runs: usize) -> Row {
    let end = work.end();
    let mut local = Vec::with_capacity(runs);
    let mut kept = None;
    let mut row = Row {
        system: S::NAME.to_owned(),
        version: S::version().to_owned(),
        correct: true,
        ..Row::default()
    };
    for run in 0..runs {
        let base = alloc::current();
        alloc::reset_peak();
        let started = Instant::now();
        let (replica, leftovers) = replay::<S>(work);
        local.push(ms(started));
        let peak = alloc::peak().saturating_sub(base);
        drop(leftovers);
        if run == 0 {
            row.peak_mem_bytes = Some(peak);
            row.steady_mem_bytes = Some(alloc::current().saturating_sub(base));
            row.correct &= check(S::NAME, "local", end, &S::text(&replica));
            kept = Some(replica);
        }
    }
    row.local_ms = Some(median(local));
    let replica = kept.expect("at least one run");
    let history = S::history(&replica);
    let saved = S::save(&replica);
    drop(replica);
    row.encoded_bytes = Some(saved.len());

    let mut remote = Vec::with_capacity(runs);
    for run in 0..runs {
        let input = history.clone();
        let started = Instant::now();
        let replica = S::apply_history(input);
        remote.push(ms(started));
        if run == 0 {
            row.correct &= check(S::NAME, "remote", end, &S::text(&replica));
        }
    }
    row.remote_ms = Some(median(remote));
    drop(history);

    let mut load = Vec::with_capacity(runs);
    for run in 0..runs {
        let started = Instant::now();
        let (replica, text) = S::load(&saved);
        load.push(ms(started));
        drop(replica);
        if run == 0 {
            row.correct &= check(S::NAME, "loaded", end, &text);
        }
    }
    row.load_ms = Some(median(load));
    row
}

/// The "no CRDT" floor: the same patches applied to a plain rope. For a
/// concurrent trace, `linear` holds its edits transformed into one linear
/// history (what a merge finally applies to the text).
pub fn measure_floor(work: &Work<'_>, linear: &[Patch], runs: usize) -> Row {
    use jumprope::JumpRope;
    let end = work.end();
    let (start, txns): (&str, Vec<&[Patch]>) = match work {
        Work::Sequential(t) => (&t.start, t.txns.iter().map(Vec::as_slice).collect()),
        Work::Concurrent { .. } => ("", vec![linear]),
    };
    let mut row = Row {
        system: "no CRDT (rope)".to_owned(),
        version: format!("jumprope {}", env!("BENCH_VERSION_JUMPROPE")),
        correct: true,
        ..Row::default()
    };
    let mut local = Vec::with_capacity(runs);
    let mut text = String::new();
    for run in 0..runs {
        let base = alloc::current();
        alloc::reset_peak();
        let started = Instant::now();
        let mut rope = JumpRope::from(start);
        for patches in &txns {
            for p in *patches {
                if p.del > 0 {
                    rope.remove(p.pos..p.pos + p.del);
                }
                if !p.insert.is_empty() {
                    rope.insert(p.pos, &p.insert);
                }
            }
        }
        local.push(ms(started));
        if run == 0 {
            row.peak_mem_bytes = Some(alloc::peak().saturating_sub(base));
            row.steady_mem_bytes = Some(alloc::current().saturating_sub(base));
            text = rope.to_string();
            row.correct &= check(&row.system, "local", end, &text);
        }
    }
    row.local_ms = Some(median(local));
    row.encoded_bytes = Some(text.len());
    let mut load = Vec::with_capacity(runs);
    for run in 0..runs {
        let started = Instant::now();
        let rope = JumpRope::from(text.as_str());
        let loaded = rope.to_string();
        load.push(ms(started));
        if run == 0 {
            row.correct &= check(&row.system, "loaded", end, &loaded);
        }
    }
    row.load_ms = Some(median(load));
    row
}

/// A phase of `measure`, run alone by `profile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Local,
    Remote,
    Load,
}

/// Runs one phase of `S` on `work` `runs` times and measures nothing but
/// the time of each run (min and median printed to stderr): what `perf
/// record` should look at. The inputs of the phase are built once.
pub fn profile<S: System>(work: &Work<'_>, phase: Phase, runs: usize) {
    let mut times = Vec::with_capacity(runs);
    if phase == Phase::Local {
        for _ in 0..runs {
            let started = Instant::now();
            let replayed = replay::<S>(work);
            times.push(ms(started));
            drop(replayed);
        }
    } else {
        let (replica, leftovers) = replay::<S>(work);
        drop(leftovers);
        let history = S::history(&replica);
        let saved = S::save(&replica);
        drop(replica);
        for _ in 0..runs {
            if phase == Phase::Remote {
                let input = history.clone();
                let started = Instant::now();
                let replica = S::apply_history(input);
                times.push(ms(started));
                drop(replica);
            } else {
                let started = Instant::now();
                let loaded = S::load(&saved);
                times.push(ms(started));
                drop(loaded);
            }
        }
    }
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    eprintln!("{phase:?}: min {min:.3} ms, median {:.3} ms", median(times));
}

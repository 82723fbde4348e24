//! Side-by-side benchmark of Concord's text CRDT against diamond-types, yrs,
//! loro and automerge on real editing traces, in one process on one machine.
//!
//! ```text
//! cargo run --release -p concord-bench -- [--json | --markdown] [--runs N] [--only NAMES] FILE...
//! ```
//!
//! For each trace (formats in `assets/traces/README.md`) and each system it
//! measures `local_ms`, `remote_ms`, `load_ms` (medians of N runs),
//! `encoded_bytes`, `peak_mem_bytes`, `steady_mem_bytes` and `correct`; see
//! `harness.rs` for what each timed section holds. Plain output is one table
//! per trace with every metric as a ratio to Concord's; `--json` prints one
//! object per (trace, system); `--markdown` prints the whole of BENCHMARKS.md.

mod alloc;
mod harness;
mod report;
mod systems;
#[allow(
    dead_code,
    reason = "shared with the tests; the benchmark uses the parser"
)]
#[path = "../../tests/it/support/trace.rs"]
mod trace;

use std::path::Path;
use std::process::ExitCode;

use harness::{Row, Schedule, System, Work, measure, measure_floor};
use systems::automerge_doc::AutomergeSystem;
use systems::concord::Concord;
use systems::diamond::Diamond;
use systems::loro_doc::Loro;
use systems::yrs_doc::Yrs;
use trace::{Patch, Trace};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

const USAGE: &str = "usage: concord-bench [--json | --markdown | --profile PHASE] [--runs N] [--only NAME,...] FILE...";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    Table,
    Json,
    Markdown,
}

#[derive(Debug)]
struct Options {
    output: Output,
    runs: usize,
    /// Lower-case system names to run (all when empty).
    only: Vec<String>,
    /// Run only this phase of Concord (`--profile`).
    profile: Option<harness::Phase>,
    files: Vec<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        output: Output::Table,
        runs: 5,
        only: Vec::new(),
        profile: None,
        files: Vec::new(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => opts.output = Output::Json,
            "--markdown" => opts.output = Output::Markdown,
            "--runs" => {
                let n = args.next().ok_or("--runs needs a number")?;
                opts.runs = n
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!("--runs {n}: not a positive number"))?;
            }
            "--only" => {
                let names = args.next().ok_or("--only needs system names")?;
                opts.only
                    .extend(names.split(',').map(|s| s.trim().to_lowercase()));
            }
            "--profile" => {
                let phase = args.next().ok_or("--profile needs a phase")?;
                opts.profile = Some(match phase.as_str() {
                    "local" => harness::Phase::Local,
                    "remote" => harness::Phase::Remote,
                    "load" => harness::Phase::Load,
                    other => return Err(format!("--profile {other}: local, remote or load")),
                });
            }
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ => opts.files.push(arg),
        }
    }
    if opts.files.is_empty() {
        return Err("no trace files given".to_owned());
    }
    Ok(opts)
}

/// The results of one trace.
#[derive(Debug)]
pub struct TraceResult {
    pub name: String,
    pub kind: &'static str,
    pub patches: usize,
    pub txns: usize,
    pub rows: Vec<Row>,
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut results = Vec::new();
    let mut ok = true;
    for file in &opts.files {
        match run_file(file, &opts) {
            Ok(result) => {
                ok &= result.rows.iter().all(|r| r.correct);
                match opts.output {
                    Output::Table => print!("{}", report::table(&result)),
                    Output::Json => {
                        for row in &result.rows {
                            println!("{}", report::json(&result, row));
                        }
                    }
                    Output::Markdown => {}
                }
                results.push(result);
            }
            Err(e) => {
                eprintln!("{file}: {e}");
                ok = false;
            }
        }
    }
    if opts.output == Output::Markdown {
        print!("{}", report::markdown(&results, &opts.files, opts.runs));
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn trace_name(file: &str) -> String {
    let base = Path::new(file)
        .file_name()
        .map_or_else(|| file.to_owned(), |n| n.to_string_lossy().into_owned());
    base.trim_end_matches(".gz")
        .trim_end_matches(".json")
        .to_owned()
}

fn run_file(file: &str, opts: &Options) -> Result<TraceResult, String> {
    let trace = trace::load(Path::new(file)).map_err(|e| e.to_string())?;
    let name = trace_name(file);
    let wanted = |n: &str| opts.only.is_empty() || opts.only.iter().any(|o| *o == n.to_lowercase());
    let runs = opts.runs;
    let mut rows = Vec::new();
    let mut run = |work: &Work<'_>, linear: &[Patch]| {
        if let Some(phase) = opts.profile {
            eprintln!("{name}: Concord's {phase:?} phase, {runs} times");
            harness::profile::<Concord>(work, phase, runs);
            return;
        }
        eprintln!("{name}: measuring ({runs} runs each)");
        let mut each = |row: Row| {
            eprintln!("  {} done", row.system);
            rows.push(row);
        };
        if wanted(Concord::NAME) {
            each(measure::<Concord>(work, runs));
        }
        if wanted("rope") {
            each(measure_floor(work, linear, runs));
        }
        if wanted(Diamond::NAME) {
            each(measure::<Diamond>(work, runs));
        }
        if wanted(Yrs::NAME) {
            each(measure::<Yrs>(work, runs));
        }
        if wanted(Loro::NAME) {
            each(measure::<Loro>(work, runs));
        }
        if wanted(AutomergeSystem::NAME) {
            each(measure::<AutomergeSystem>(work, runs));
        }
    };
    let (kind, patches, txns) = match &trace {
        Trace::Sequential(t) => {
            run(&Work::Sequential(t), &[]);
            ("sequential", trace.ops(), t.txns.len())
        }
        Trace::Concurrent(t) => {
            let schedule = Schedule::new(t)?;
            let work = Work::Concurrent {
                trace: t,
                schedule: &schedule,
            };
            let linear = linearize(&work);
            run(&work, &linear);
            ("concurrent", trace.ops(), t.txns.len())
        }
        Trace::Raw(_) => {
            return Err(
                "conformance (raw) cases are a correctness suite, not a benchmark: \
                 run `cargo run --release -p concord-core --example replay` on them"
                    .to_owned(),
            );
        }
    };
    Ok(TraceResult {
        name,
        kind,
        patches,
        txns,
        rows,
    })
}

/// The edits of a concurrent trace as one linear history that turns the empty
/// text into the final one, one character per patch (as the recorded patches
/// of friendsforever are): diamond-types' transformed operations of the merged
/// replay, computed once and untimed, for the "no CRDT" floor.
fn linearize(work: &Work<'_>) -> Vec<Patch> {
    use diamond_types::list::operation::OpKind;
    let (merged, _) = harness::replay::<Diamond>(work);
    let mut out = Vec::new();
    for op in merged
        .doc
        .oplog
        .iter_xf_operations()
        .filter_map(|(_, op)| op)
    {
        let span = op.loc.span;
        match op.kind {
            OpKind::Ins => {
                let content = op.content.map(|c| c.to_string()).unwrap_or_default();
                for (k, c) in content.chars().enumerate() {
                    out.push(Patch {
                        pos: span.start + k,
                        del: 0,
                        insert: c.to_string(),
                    });
                }
            }
            OpKind::Del => out.extend((span.start..span.end).map(|_| Patch {
                pos: span.start,
                del: 1,
                insert: String::new(),
            })),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Every system, and the floor, on small non-ASCII traces: positions are
    //! code points whatever each library counts in.

    use super::*;
    use crate::trace::{ConcurrentTrace, ConcurrentTxn, SequentialTrace};

    fn patch(pos: usize, del: usize, insert: &str) -> Patch {
        Patch {
            pos,
            del,
            insert: insert.to_owned(),
        }
    }

    fn all_rows(work: &Work<'_>, linear: &[Patch]) -> Vec<Row> {
        vec![
            measure::<Concord>(work, 1),
            measure_floor(work, linear, 1),
            measure::<Diamond>(work, 1),
            measure::<Yrs>(work, 1),
            measure::<Loro>(work, 1),
            measure::<AutomergeSystem>(work, 1),
        ]
    }

    #[test]
    fn sequential_non_ascii() {
        let trace = SequentialTrace {
            start: "ä".to_owned(),
            end: "hé🙂o wörld ä".to_owned(),
            txns: vec![
                vec![patch(0, 0, "héllo ")],
                vec![patch(2, 1, "🙂"), patch(6, 0, "wörld ")],
                vec![patch(3, 1, "")],
            ],
        };
        for row in all_rows(&Work::Sequential(&trace), &[]) {
            assert!(row.correct, "{} is wrong", row.system);
        }
    }

    #[test]
    fn concurrent_non_ascii() {
        let txn = |parents: &[usize], agent, patches| ConcurrentTxn {
            parents: parents.to_vec(),
            agent,
            patches,
        };
        let trace = ConcurrentTrace {
            end: "übç👋!".to_owned(),
            txns: vec![
                txn(&[], 0, vec![patch(0, 0, "añb")]),
                txn(&[0], 1, vec![patch(3, 0, "ç👋")]),
                txn(&[0], 0, vec![patch(1, 1, "ü")]),
                txn(&[1, 2], 1, vec![patch(5, 0, "!"), patch(0, 1, "")]),
            ],
        };
        let schedule = Schedule::new(&trace).expect("a valid graph");
        let work = Work::Concurrent {
            trace: &trace,
            schedule: &schedule,
        };
        let linear = linearize(&work);
        for row in all_rows(&work, &linear) {
            assert!(row.correct, "{} is wrong", row.system);
        }
    }

    #[test]
    fn utf16_conversion() {
        assert_eq!(systems::yrs_doc::utf16_range("a👋b", 2, 1), (3, 1));
        assert_eq!(systems::yrs_doc::utf16_range("a👋b", 1, 2), (1, 3));
    }
}

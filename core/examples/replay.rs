//! Replays editing traces through concord-core and checks each ends on its
//! `endContent`.
//!
//! ```text
//! cargo run --release -p concord-core --example replay -- FILE...
//! ```
//!
//! Accepts `.json` or `.json.gz` files in any of the formats of
//! `assets/traces/README.md` (told apart by content). Prints one line per
//! file — `PASS` or `FAIL`, the file, the number of operations and the replay
//! time — and exits with status 1 if any file failed or could not be read.

#[path = "../tests/it/support/trace.rs"]
mod trace;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Failed cases shown in detail for a file with many.
const SHOWN_FAILURES: usize = 5;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: replay FILE.json[.gz]...");
        return ExitCode::from(2);
    }
    let mut all_passed = true;
    for file in &files {
        all_passed &= replay_file(file);
    }
    if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Replays one file and prints its line; returns whether it passed.
fn replay_file(file: &str) -> bool {
    let started = Instant::now();
    let trace = match trace::load(Path::new(file)) {
        Ok(trace) => trace,
        Err(e) => {
            println!("FAIL {file}: {e}");
            return false;
        }
    };
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let report = trace::run(&trace);
    let status = if report.passed() { "PASS" } else { "FAIL" };
    let cases = if report.cases == 1 {
        String::new()
    } else {
        format!(
            " {}/{} cases",
            report.cases - report.failures.len(),
            report.cases
        )
    };
    println!(
        "{status} {file}:{cases} {} ops, replay {:.1} ms (load {load_ms:.1} ms)",
        report.ops,
        report.replay.as_secs_f64() * 1e3,
    );
    for (case, error) in report.failures.iter().take(SHOWN_FAILURES) {
        if report.cases == 1 {
            println!("    {error}");
        } else {
            println!("    case {case}: {error}");
        }
    }
    if report.failures.len() > SHOWN_FAILURES {
        println!(
            "    ... and {} more",
            report.failures.len() - SHOWN_FAILURES
        );
    }
    report.passed()
}

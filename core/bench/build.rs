//! Records, for the report, the exact versions of the measured crates (read
//! from the workspace's Cargo.lock, so the numbers name what was really built)
//! and the compiler that built them.

use std::process::Command;

/// Crates whose resolved version the benchmark prints, and the environment
/// variable that carries it.
const CRATES: [(&str, &str); 6] = [
    ("concord-core", "BENCH_VERSION_CONCORD"),
    ("diamond-types", "BENCH_VERSION_DIAMOND_TYPES"),
    ("yrs", "BENCH_VERSION_YRS"),
    ("loro", "BENCH_VERSION_LORO"),
    ("automerge", "BENCH_VERSION_AUTOMERGE"),
    ("jumprope", "BENCH_VERSION_JUMPROPE"),
];

fn main() {
    let lock_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
    println!("cargo::rerun-if-changed={lock_path}");
    let lock = std::fs::read_to_string(lock_path).unwrap_or_default();
    for (name, var) in CRATES {
        let version = locked_version(&lock, name).unwrap_or_else(|| "unknown".to_owned());
        println!("cargo::rustc-env={var}={version}");
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |s| s.trim().to_owned());
    println!("cargo::rustc-env=BENCH_RUSTC_VERSION={rustc_version}");
}

/// The version of the one `[[package]]` named `name` in a Cargo.lock.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let header = format!("name = \"{name}\"\n");
    let at = lock.find(&header)? + header.len();
    let line = lock[at..].lines().next()?;
    line.strip_prefix("version = \"")?
        .strip_suffix('"')
        .map(str::to_owned)
}

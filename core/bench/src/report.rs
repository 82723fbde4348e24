//! Output: the plain ratio tables, JSON lines and the BENCHMARKS.md document.

use std::fmt::Write as _;

use serde_json::json;

use crate::TraceResult;
use crate::harness::Row;

/// The CRDT libraries Concord is compared with (not the floor).
const PEERS: [&str; 4] = ["diamond-types", "yrs", "loro", "automerge"];
const FLOOR_PREFIX: &str = "no CRDT";

fn concord(result: &TraceResult) -> Option<&Row> {
    result.rows.iter().find(|r| r.system == "Concord")
}

fn row<'a>(result: &'a TraceResult, system: &str) -> Option<&'a Row> {
    result.rows.iter().find(|r| r.system == system)
}

fn floor(result: &TraceResult) -> Option<&Row> {
    result
        .rows
        .iter()
        .find(|r| r.system.starts_with(FLOOR_PREFIX))
}

fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

#[expect(clippy::cast_precision_loss, reason = "sizes shown to 3 digits")]
fn fmt_bytes(b: usize) -> String {
    let b = b as f64;
    if b < 1024.0 {
        format!("{b} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} MiB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.1} GiB", b / 1024.0 / 1024.0 / 1024.0)
    }
}

fn fmt_count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio_of(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => format!("{:.2}×", v / b),
        (Some(_), _) => "?".to_owned(),
        (None, _) => "n/a".to_owned(),
    }
}

#[expect(clippy::cast_precision_loss, reason = "ratios shown to 3 digits")]
fn as_f64(x: Option<usize>) -> Option<f64> {
    x.map(|x| x as f64)
}

/// The absolute values of a row, in table cells.
fn absolute_cells(r: &Row) -> [String; 7] {
    [
        r.local_ms.map_or("n/a".to_owned(), fmt_ms),
        r.remote_ms.map_or("n/a".to_owned(), fmt_ms),
        r.load_ms.map_or("n/a".to_owned(), fmt_ms),
        r.encoded_bytes.map_or("n/a".to_owned(), fmt_bytes),
        r.peak_mem_bytes.map_or("n/a".to_owned(), fmt_bytes),
        r.steady_mem_bytes.map_or("n/a".to_owned(), fmt_bytes),
        if r.correct { "yes" } else { "NO" }.to_owned(),
    ]
}

/// A row's metrics as ratios to Concord's.
fn ratio_cells(r: &Row, c: &Row) -> [String; 7] {
    [
        ratio_of(r.local_ms, c.local_ms),
        ratio_of(r.remote_ms, c.remote_ms),
        ratio_of(r.load_ms, c.load_ms),
        ratio_of(as_f64(r.encoded_bytes), as_f64(c.encoded_bytes)),
        ratio_of(as_f64(r.peak_mem_bytes), as_f64(c.peak_mem_bytes)),
        ratio_of(as_f64(r.steady_mem_bytes), as_f64(c.steady_mem_bytes)),
        if r.correct { "yes" } else { "NO" }.to_owned(),
    ]
}

const HEADERS: [&str; 9] = [
    "system",
    "version",
    "local_ms",
    "remote_ms",
    "load_ms",
    "encoded_bytes",
    "peak_mem_bytes",
    "steady_mem_bytes",
    "correct",
];

fn describe(result: &TraceResult) -> String {
    format!(
        "{} ({}: {} patches in {} transactions)",
        result.name,
        result.kind,
        fmt_count(result.patches),
        fmt_count(result.txns)
    )
}

fn concord_line(c: &Row) -> String {
    let [local, remote, load, encoded, peak, steady, correct] = absolute_cells(c);
    format!(
        "Concord {}: local {local}, remote {remote}, load {load}, encoded {encoded}, \
         peak mem {peak}, steady mem {steady}, correct: {correct}",
        c.version
    )
}

/// One plain-text table: rows = systems, columns = metrics as ratios to
/// Concord (above 1: more time or bytes than Concord).
pub fn table(result: &TraceResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{}", describe(result));
    let Some(c) = concord(result) else {
        let _ = writeln!(out, "(Concord not measured: absolute values)");
        out.push_str(&grid(
            result.rows.iter().map(|r| cells(r, absolute_cells(r))),
        ));
        return out;
    };
    let _ = writeln!(out, "{}", concord_line(c));
    let _ = writeln!(
        out,
        "ratio to Concord (above 1.00×: more time or bytes than Concord)"
    );
    out.push_str(&grid(
        result.rows.iter().map(|r| cells(r, ratio_cells(r, c))),
    ));
    out
}

fn cells(r: &Row, metrics: [String; 7]) -> Vec<String> {
    let mut v = vec![r.system.clone(), r.version.clone()];
    v.extend(metrics);
    v
}

/// Left-aligned text columns under `HEADERS`.
fn grid(rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut all: Vec<Vec<String>> = vec![HEADERS.iter().map(|h| (*h).to_owned()).collect()];
    all.extend(rows);
    let widths: Vec<usize> = (0..HEADERS.len())
        .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &all {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// One JSON object for (trace, system), fields in the order of the issue's
/// table after `trace`, `system` and `version`; n/a is null.
pub fn json(result: &TraceResult, r: &Row) -> String {
    let fields = [
        ("trace", json!(result.name)),
        ("system", json!(r.system)),
        ("version", json!(r.version)),
        ("local_ms", json!(r.local_ms)),
        ("remote_ms", json!(r.remote_ms)),
        ("load_ms", json!(r.load_ms)),
        ("encoded_bytes", json!(r.encoded_bytes)),
        ("peak_mem_bytes", json!(r.peak_mem_bytes)),
        ("steady_mem_bytes", json!(r.steady_mem_bytes)),
        ("correct", json!(r.correct)),
    ];
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", json!(k)))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn md_table(rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(HEADERS.len()));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out
}

/// The whole of BENCHMARKS.md.
pub fn markdown(results: &[TraceResult], files: &[String], runs: usize) -> String {
    let mut out = String::new();
    let command = format!(
        "cargo run --release -p concord-bench -- --markdown --runs {runs} {} > BENCHMARKS.md",
        files.join(" ")
    );
    let _ = write!(
        out,
        "# Benchmarks\n\n\
         Concord's text CRDT against diamond-types, yrs, loro and automerge on real \
         editing traces (`assets/traces/README.md`), every system in the same process, \
         in the same run, on the same machine, driven through its public API \
         (`core/bench/src/systems/`). This file is generated; do not edit it, \
         regenerate it from the repository root:\n\n\
         ```sh\n{command}\n```\n\n\
         ## What is measured\n\n\
         - `local_ms`: replay every patch as local edits into an empty document, one \
         library transaction per trace transaction (median of {runs} runs). A concurrent \
         trace runs as concurrent histories: each agent its own replica, which merges the \
         other agents' changes (sent as each library's change/update bytes) at the recorded \
         parents; at the end replica 0 merges everything.\n\
         - `remote_ms`: apply the full history, as the library sends it to a new replica, \
         to an empty document (Concord: one `export_since` batch, typing as text runs, as `merge` uses it; the relay does not carry batches yet and sends changes one by one; diamond-types: the encoded \
         oplog; yrs: the v1 update from the empty state vector; loro: all updates; \
         automerge: every change's bytes).\n\
         - `load_ms`: decode the saved document and read the final text.\n\
         - `encoded_bytes`: size of the saved document in the library's default format \
         (Concord `save()`: snapshot + history; diamond-types: full oplog encoding; yrs: \
         v1 update; loro: snapshot; automerge: `save()`).\n\
         - `peak_mem_bytes` / `steady_mem_bytes`: heap during the local replay / after it, \
         with only the resulting document alive (counting global allocator).\n\
         - `correct`: the local, remote and loaded texts all equal `endContent`.\n\n\
         Positions are code points; yrs counts UTF-16 units, so its driver converts (and \
         the conversion is timed; on these all-ASCII traces it is the check that the text \
         is still ASCII). The \"no CRDT\" row applies the same patches to a plain rope \
         (jumprope); for a concurrent trace, the edits transformed into one linear history \
         (diamond-types' transformed operations, prepared untimed). Its `load_ms` builds the \
         rope from the final text. Ratios are the system's value divided by Concord's: \
         above 1.00× the system takes more time or bytes than Concord.\n\n"
    );
    let _ = write!(out, "## Machine\n\n{}\n", machine());
    let _ = write!(out, "## Versions\n\n{}\n", versions(results));
    for result in results {
        let _ = write!(out, "## {}\n\n", describe(result));
        out.push_str(&md_table(
            result.rows.iter().map(|r| cells(r, absolute_cells(r))),
        ));
        if let Some(c) = concord(result) {
            let _ = write!(out, "\nRatio to Concord:\n\n");
            out.push_str(&md_table(
                result.rows.iter().map(|r| cells(r, ratio_cells(r, c))),
            ));
        }
        out.push('\n');
    }
    out.push_str(&bars(results));
    out
}

fn read_proc(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = read_proc("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, m)| m.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let meminfo = read_proc("/proc/meminfo");
    let mem_kib: usize = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let kernel = read_proc("/proc/sys/kernel/osrelease");
    format!(
        "- CPU: {model}, {cores} cores available (`nproc`)\n\
         - memory: {} total\n\
         - kernel: Linux {}\n\
         - compiler: {}, release profile of the workspace\n\
         - date (UTC): {}\n",
        fmt_bytes(mem_kib * 1024),
        kernel.trim(),
        env!("BENCH_RUSTC_VERSION"),
        today(),
    )
}

fn versions(results: &[TraceResult]) -> String {
    let mut seen: Vec<(String, String)> = Vec::new();
    for r in results.iter().flat_map(|t| &t.rows) {
        if !seen.iter().any(|(s, _)| *s == r.system) {
            seen.push((r.system.clone(), r.version.clone()));
        }
    }
    seen.iter().fold(String::new(), |mut out, (s, v)| {
        if s == "Concord" {
            let _ = writeln!(out, "- {s}: {v}{}", concord_commit());
        } else {
            let _ = writeln!(out, "- {s}: {v}");
        }
        out
    })
}

/// Which commit of the repository was measured, from git when it is there.
fn concord_commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
    };
    let Some(commit) = git(&["rev-parse", "--short", "HEAD"]) else {
        return String::new();
    };
    let dirty =
        git(&["status", "--porcelain", "--", "../src"]).is_some_and(|s| !s.trim().is_empty());
    format!(
        " (commit {}{})",
        commit.trim(),
        if dirty {
            ", with uncommitted changes in core/src"
        } else {
            ""
        }
    )
}

/// Today's date in UTC, `YYYY-MM-DD` (days to civil date, proleptic
/// Gregorian).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0) + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

type Metric = fn(&Row) -> Option<f64>;

/// One bar: Concord's value, what it is held against, the ratio (at most 1
/// meets the bar).
struct Bar {
    trace: String,
    what: String,
    concord: String,
    against: String,
    ratio: Option<f64>,
}

#[expect(clippy::cast_precision_loss, reason = "ratios shown to 3 digits")]
fn bars(results: &[TraceResult]) -> String {
    let mut list: Vec<Bar> = Vec::new();
    for result in results {
        let Some(c) = concord(result) else { continue };
        let peers: Vec<&Row> = PEERS.iter().filter_map(|p| row(result, p)).collect();
        let times: [(&str, Metric); 3] = [
            ("local_ms", |r| r.local_ms),
            ("remote_ms", |r| r.remote_ms),
            ("load_ms", |r| r.load_ms),
        ];
        for (name, get) in times {
            let best = peers
                .iter()
                .filter_map(|r| get(r).map(|v| (v, &r.system)))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            if let (Some(cv), Some((bv, who))) = (get(c), best) {
                list.push(Bar {
                    trace: result.name.clone(),
                    what: format!("{name} ≤ every peer"),
                    concord: fmt_ms(cv),
                    against: format!("{} ({who})", fmt_ms(bv)),
                    ratio: Some(cv / bv),
                });
            }
            if let (Some(cv), Some(fv)) = (get(c), floor(result).and_then(|f| f.local_ms)) {
                list.push(Bar {
                    trace: result.name.clone(),
                    what: format!("{name} ≤ 2× rope patches"),
                    concord: fmt_ms(cv),
                    against: format!("2 × {}", fmt_ms(fv)),
                    ratio: Some(cv / (2.0 * fv)),
                });
            }
        }
        let best_mem = peers
            .iter()
            .filter_map(|r| r.steady_mem_bytes.map(|v| (v, &r.system)))
            .min_by_key(|x| x.0);
        if let (Some(cv), Some((bv, who))) = (c.steady_mem_bytes, best_mem) {
            list.push(Bar {
                trace: result.name.clone(),
                what: "steady_mem_bytes ≤ every peer".to_owned(),
                concord: fmt_bytes(cv),
                against: format!("{} ({who})", fmt_bytes(bv)),
                ratio: Some(cv as f64 / bv as f64),
            });
        }
        if let (Some(cv), Some(yv)) = (
            c.encoded_bytes,
            row(result, "yrs").and_then(|y| y.encoded_bytes),
        ) {
            list.push(Bar {
                trace: result.name.clone(),
                what: "encoded_bytes ≤ yrs".to_owned(),
                concord: fmt_bytes(cv),
                against: fmt_bytes(yv),
                ratio: Some(cv as f64 / yv as f64),
            });
        }
        list.push(Bar {
            trace: result.name.clone(),
            what: "correct".to_owned(),
            concord: if c.correct { "yes" } else { "NO" }.to_owned(),
            against: "endContent".to_owned(),
            ratio: None,
        });
    }
    let mut out = String::from(
        "## The bars\n\n\
         Concord's value against the bar; ratio = Concord ÷ bar, met when at most 1.00.\n\n\
         | trace | bar | Concord | bar value | ratio | met |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for b in &list {
        let (ratio, met) = match b.ratio {
            Some(r) => (format!("{r:.2}"), if r <= 1.0 { "yes" } else { "**no**" }),
            None => (
                "—".to_owned(),
                if b.concord == "yes" { "yes" } else { "**no**" },
            ),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {ratio} | {met} |",
            b.trace, b.what, b.concord, b.against
        );
    }
    out
}

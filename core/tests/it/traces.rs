//! Real editing traces (`assets/traces/`) replayed through documents, plus
//! small non-ASCII traces made here, and the trace loader's handling of bad
//! input.

use std::io::Write;
use std::path::PathBuf;

use concord_core::{Document, ObjId, ObjType, ReplicaId};
use serde_json::json;

use crate::support::trace::{self, Delivery, Trace, TraceError};

/// The repository's copies (`assets/traces/README.md`).
const TRACES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/traces/");

fn recorded_trace(name: &str) -> Trace {
    let path = PathBuf::from(TRACES).join(name);
    assert!(
        path.is_file(),
        "trace file {} is missing: it belongs to the repository (assets/traces/)",
        path.display()
    );
    trace::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text(replayed: &trace::Replayed) -> String {
    replayed.doc.text(replayed.text).unwrap().to_string()
}

fn replayed_text(result: Result<trace::Replayed, TraceError>) -> String {
    text(&result.unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn every_conformance_case_ends_on_its_end_content() {
    let trace = recorded_trace("conformance.json.gz");
    assert!(matches!(trace, Trace::Raw(_)), "not a list of raw cases");
    // Replays each case, then delivers its changes newest-first.
    let report = trace::run(&trace);
    assert_eq!(report.cases, 1000);
    eprintln!("conformance: 1000 cases replayed in {:?}", report.replay);
    let failures: Vec<String> = report
        .failures
        .iter()
        .take(10)
        .map(|(case, e)| format!("case {case}: {e}"))
        .collect();
    assert!(
        report.passed(),
        "{} of 1000 conformance cases failed; first ones:\n{}",
        report.failures.len(),
        failures.join("\n")
    );
}

#[test]
fn automerge_paper_replays_and_round_trips_through_save_and_load() {
    let Trace::Sequential(t) = recorded_trace("automerge-paper.json.gz") else {
        panic!("automerge-paper.json.gz is not a sequential trace");
    };
    assert_eq!(t.txns.len(), 259_778);
    let replayed = trace::replay_sequential(&t).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text(&replayed), t.end);

    let saved = replayed.doc.save();
    let loaded = Document::load(&saved, ReplicaId(2)).expect("a saved document loads");
    assert_eq!(loaded.text(replayed.text).unwrap().to_string(), t.end);
    assert_eq!(loaded.version(), replayed.doc.version());
    assert_eq!(loaded.save(), saved, "load then save gives the same bytes");
}

#[test]
fn sveltecomponent_replays_locally_and_remotely() {
    let Trace::Sequential(t) = recorded_trace("sveltecomponent.json.gz") else {
        panic!("sveltecomponent.json.gz is not a sequential trace");
    };
    let replayed = trace::replay_sequential(&t).unwrap_or_else(|e| panic!("{e}"));
    // The same changes, received by another replica.
    let mut remote = Document::new(ReplicaId(2));
    let outcome = remote
        .apply_all(replayed.doc.changes_since(remote.version()))
        .unwrap();
    assert_eq!(outcome.applied.len(), replayed.doc.history_len());
    assert_eq!(remote.text(replayed.text).unwrap().to_string(), t.end);

    // And as one batch: the same document, history included.
    let mut batched = Document::new(ReplicaId(3));
    let outcome = batched
        .apply_batch(&replayed.doc.export_since(batched.version()))
        .unwrap();
    assert_eq!(outcome.applied, replayed.doc.history_len() as u64);
    assert!(batched == replayed.doc, "a batch gives another document");
    assert_eq!(batched.save(), replayed.doc.save());
}

#[test]
fn friendsforever_arrives_as_one_batch() {
    let Trace::Concurrent(t) = recorded_trace("friendsforever.json.gz") else {
        panic!("friendsforever.json.gz is not a concurrent trace");
    };
    let replayed = trace::replay_concurrent(&t).unwrap_or_else(|e| panic!("{e}"));
    let mut batched = Document::new(ReplicaId(9));
    batched
        .apply_batch(&replayed.doc.export_since(batched.version()))
        .unwrap();
    assert_eq!(
        batched.text(replayed.text).unwrap().to_string(),
        t.end,
        "the batch gives the trace's end content"
    );
    assert_eq!(batched.save(), replayed.doc.save());
}

#[test]
fn friendsforever_replays_with_two_agents_typing_at_once() {
    let Trace::Concurrent(t) = recorded_trace("friendsforever.json.gz") else {
        panic!("friendsforever.json.gz is not a concurrent trace");
    };
    assert_eq!(t.txns.iter().map(|t| t.agent).max(), Some(1), "two agents");
    let replayed = trace::replay_concurrent(&t).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text(&replayed), t.end);
}

#[test]
fn friendsforever_delivered_newest_first_converges() {
    let Trace::Concurrent(t) = recorded_trace("friendsforever.json.gz") else {
        panic!("friendsforever.json.gz is not a concurrent trace");
    };
    let replayed = trace::replay_concurrent(&t).unwrap_or_else(|e| panic!("{e}"));
    trace::check_delivery(&replayed, &t.end, Delivery::NewestFirst)
        .unwrap_or_else(|e| panic!("{e}"));
}

/// A long chain of one replica's changes delivered newest first: all but
/// the oldest wait in the causal buffer, then are released one by one. (That
/// this is linear, not quadratic, is checked structurally by the causal
/// buffer's `regression_newest_first_chain_is_released_one_by_one`.)
#[test]
fn a_long_chain_delivered_newest_first_converges() {
    let n = 4_000;
    let mut author = Document::new(ReplicaId(1));
    let mut changes = Vec::with_capacity(n);
    let mut tx = author.transaction();
    let text = tx.put_object(ObjId::Root, "text", ObjType::Text).unwrap();
    changes.extend(tx.commit());
    for i in 1..n {
        let mut tx = author.transaction();
        tx.insert_text(text, i - 1, "x").unwrap();
        changes.extend(tx.commit());
    }
    changes.reverse();
    let mut doc = Document::new(ReplicaId(2)).with_pending_capacity(n);
    for change in changes {
        doc.apply(change).unwrap();
    }
    assert!(doc.pending().is_empty());
    assert_eq!(doc, author);
}

// ---- non-ASCII: positions and counts are code points ----

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn parse_json(value: &serde_json::Value) -> Trace {
    trace::parse(&serde_json::to_vec(value).unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn sequential_trace_counts_code_points() {
    let value = json!({
        "startContent": "héllo",
        "endContent": "Ωélo😀!",
        "txns": [
            { "patches": [[1, 0, "日本"]] },   // h日本éllo
            { "patches": [[3, 2, ""]] },       // h日本lo
            { "patches": [[5, 0, "😀"]] },     // h日本lo😀
            { "patches": [[1, 2, "é"]] },      // hélo😀
            { "patches": [[0, 1, "Ω"], [5, 0, "!"]] },
        ]
    });
    // Gzipped or not, the loader tells the format by content.
    let gz = trace::parse(&gzip(&serde_json::to_vec(&value).unwrap())).unwrap();
    let plain = parse_json(&value);
    for t in [gz, plain] {
        let Trace::Sequential(t) = t else {
            panic!("not detected as sequential");
        };
        assert_eq!(replayed_text(trace::replay_sequential(&t)), "Ωélo😀!");
    }
}

#[test]
fn concurrent_trace_counts_code_points() {
    let value = json!({
        "kind": "concurrent",
        "endContent": "é日本😀!",
        "numAgents": 2,
        "txns": [
            { "parents": [], "agent": 0, "patches": [[0, 0, "日本"]] },
            { "parents": [0], "agent": 1, "patches": [[2, 0, "😀"]] },
            { "parents": [0], "agent": 0, "patches": [[0, 0, "é"]] },
            { "parents": [1, 2], "agent": 1, "patches": [[4, 0, "!"]] },
        ]
    });
    let Trace::Concurrent(t) = parse_json(&value) else {
        panic!("not detected as concurrent");
    };
    assert_eq!(replayed_text(trace::replay_concurrent(&t)), "é日本😀!");
}

#[test]
fn raw_case_counts_code_points_and_orders_ties_by_agent_name() {
    // "é" (agent a) and "日" (agent b) are concurrent inserts into the empty
    // text: a sorts first. Agent a's two transactions are concurrent, so it
    // cannot be a single replica.
    let value = json!({
        "endContent": "é😀日本Ω",
        "txns": [
            { "span": [0, 1], "parents": [], "agent": "b", "seqStart": 0, "ops": [[0, 0, "日"]] },
            { "span": [1, 2], "parents": [], "agent": "a", "seqStart": 0, "ops": [[0, 0, "é"]] },
            { "span": [2, 3], "parents": [0, 1], "agent": "c", "seqStart": 0, "ops": [[1, 0, "😀"]] },
            { "span": [3, 4], "parents": [0], "agent": "b", "seqStart": 1, "ops": [[1, 0, "本"]] },
            { "span": [4, 5], "parents": [3], "agent": "a", "seqStart": 1, "ops": [[2, 0, "Ω"]] },
        ]
    });
    // A single case object, or a list of cases.
    for value in [value.clone(), json!([value])] {
        let Trace::Raw(cases) = parse_json(&value) else {
            panic!("not detected as raw");
        };
        let replayed = trace::replay_raw_case(&cases[0]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text(&replayed), "é😀日本Ω");
        trace::check_delivery(&replayed, "é😀日本Ω", Delivery::NewestFirst)
            .unwrap_or_else(|e| panic!("{e}"));
        let report = trace::run(&Trace::Raw(cases));
        assert!(report.passed(), "{:?}", report.failures);
        assert_eq!(report.ops, 5);
    }
}

// ---- bad input is an error, never a panic ----

#[test]
fn malformed_files_are_errors() {
    for bad in [
        &b""[..],
        b"{",
        b"[1]",
        b"42",
        b"{\"txns\": 3, \"endContent\": \"\"}",
        b"{\"txns\": [{\"patches\": [[-1, 0, \"x\"]]}], \"endContent\": \"\"}",
        b"{\"txns\": [{\"patches\": [[0, 0]]}], \"endContent\": \"\"}",
        b"{\"txns\": []}",
        b"{\"kind\": \"concurrent\", \"numAgents\": 1, \"endContent\": \"\",
           \"txns\": [{\"parents\": [0], \"agent\": 0, \"patches\": []}]}",
        b"{\"kind\": \"concurrent\", \"numAgents\": 1, \"endContent\": \"\",
           \"txns\": [{\"parents\": [], \"agent\": 1, \"patches\": []}]}",
        &[0x1f, 0x8b, 0x08, 0x00, 0x01],
    ] {
        let result = trace::parse(bad);
        assert!(
            matches!(result, Err(TraceError::Format(_))),
            "{:?} gave {result:?}",
            String::from_utf8_lossy(bad)
        );
    }
    assert!(matches!(
        trace::load(&PathBuf::from(TRACES).join("no-such-trace.json")),
        Err(TraceError::Io(_))
    ));
}

#[test]
fn a_raw_parent_inside_a_transaction_is_an_error() {
    let value = json!([{ "endContent": "", "txns": [
        { "span": [0, 2], "parents": [], "agent": "a", "seqStart": 0, "ops": [[0, 0, "xy"]] },
        { "span": [2, 3], "parents": [0], "agent": "b", "seqStart": 0, "ops": [[0, 1, ""]] },
    ]}]);
    let Trace::Raw(cases) = parse_json(&value) else {
        panic!("not raw");
    };
    assert!(matches!(
        trace::replay_raw_case(&cases[0]),
        Err(TraceError::Format(_))
    ));
}

#[test]
fn an_edit_out_of_bounds_or_a_wrong_end_fails_the_replay() {
    let value = json!({ "startContent": "ab", "endContent": "", "txns": [
        { "patches": [[3, 0, "x"]] },
    ]});
    let Trace::Sequential(t) = parse_json(&value) else {
        panic!("not sequential");
    };
    assert!(matches!(
        trace::replay_sequential(&t),
        Err(TraceError::Edit { txn: 0, .. })
    ));

    let value = json!({ "startContent": "", "endContent": "日本語", "txns": [
        { "patches": [[0, 0, "日本人"]] },
    ]});
    let Trace::Sequential(t) = parse_json(&value) else {
        panic!("not sequential");
    };
    let err = trace::replay_sequential(&t).unwrap_err();
    assert!(matches!(err, TraceError::Mismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("at char 2"), "{err}");
    let report = trace::run(&Trace::Sequential(t));
    assert!(!report.passed());
}

#[test]
fn an_agent_whose_transactions_are_concurrent_is_reported() {
    // Agent 0's second transaction does not descend from its first.
    let value = json!({ "kind": "concurrent", "numAgents": 1, "endContent": "ab", "txns": [
        { "parents": [], "agent": 0, "patches": [[0, 0, "a"]] },
        { "parents": [], "agent": 0, "patches": [[0, 0, "b"]] },
    ]});
    let Trace::Concurrent(t) = parse_json(&value) else {
        panic!("not concurrent");
    };
    let err = trace::replay_concurrent(&t).unwrap_err();
    assert!(matches!(err, TraceError::Replay { txn: 1, .. }), "{err:?}");
}

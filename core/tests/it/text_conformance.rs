//! The text CRDT against recorded editing histories:
//! - the Eg-walker reference's 1000 conformance cases (concurrent inserts at
//!   the same positions, FugueMax ordering),
//! - the sequential traces `automerge-paper` and `sveltecomponent`,
//! - the concurrent trace `friendsforever`,
//! - and the Fugue paper's interleaving examples, spelled out.

use std::collections::{BTreeMap, BTreeSet};

use concord_core::text::SpanRecord;
use concord_core::{IdSpan, OpId, ReplicaId, Text, TextInsert};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!(
        "{}/{name}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/traces")
    );
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("trace {path} is missing ({e}): it belongs to the repository"));
    crate::support::trace::json(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `[pos, delCount, insertStr]`
fn patch(v: &Value) -> (usize, usize, String) {
    let a = v.as_array().expect("patch array");
    (
        a[0].as_u64().expect("pos") as usize,
        a[1].as_u64().expect("delCount") as usize,
        a[2].as_str().expect("insertStr").to_owned(),
    )
}

#[derive(Clone, Debug)]
enum Op {
    Ins(OpId, TextInsert),
    Del(IdSpan),
}

fn apply(t: &mut Text, op: &Op) {
    match op {
        Op::Ins(id, ins) => {
            t.apply_insert(*id, ins).expect("insert applies");
        }
        Op::Del(span) => {
            t.apply_delete(*span).expect("delete applies");
        }
    }
}

/// Applies a patch as a local edit, recording the ops; `counter` is the next
/// counter of `replica`.
fn local_patch(
    t: &mut Text,
    replica: ReplicaId,
    counter: &mut u64,
    (pos, del, ins): &(usize, usize, String),
    ops: &mut Vec<Op>,
) {
    if *del > 0 {
        for span in t.prepare_delete(*pos, *del).expect("delete in bounds") {
            t.apply_delete(span).expect("local delete");
            ops.push(Op::Del(span));
        }
        *counter += *del as u64;
    }
    if !ins.is_empty() {
        let op = t.prepare_insert(*pos, ins).expect("insert in bounds");
        let id = OpId::new(replica, *counter);
        assert_eq!(t.apply_insert(id, &op), Ok(*pos), "lands where typed");
        *counter += ins.chars().count() as u64;
        ops.push(Op::Ins(id, op));
    }
}

#[test]
fn eg_walker_conformance_cases() {
    let cases = load("conformance.json.gz");
    let cases = cases.as_array().expect("an array of cases");
    assert_eq!(cases.len(), 1000);
    for (n, case) in cases.iter().enumerate() {
        run_case(n, case);
    }
}

fn run_case(n: usize, case: &Value) {
    let txns = case["txns"].as_array().expect("txns");
    let expected = case["endContent"].as_str().expect("endContent");
    let agents: BTreeSet<&str> = txns
        .iter()
        .map(|t| t["agent"].as_str().expect("agent"))
        .collect();
    let rank: BTreeMap<&str, u128> = agents.iter().zip(0..).map(|(a, i)| (*a, i)).collect();
    let spans: Vec<(u64, u64)> = txns
        .iter()
        .map(|t| {
            (
                t["span"][0].as_u64().unwrap(),
                t["span"][1].as_u64().unwrap(),
            )
        })
        .collect();
    let txn_of = |lv: u64| {
        spans
            .iter()
            .position(|&(s, e)| s <= lv && lv < e)
            .expect("lv in a txn")
    };

    let mut ops: Vec<Vec<Op>> = Vec::new();
    let mut ancestors: Vec<BTreeSet<usize>> = Vec::new();
    for (i, txn) in txns.iter().enumerate() {
        // The document as of this txn's parents: its ancestors, in file order.
        let mut anc = BTreeSet::new();
        for p in txn["parents"].as_array().expect("parents") {
            let j = txn_of(p.as_u64().expect("lv"));
            assert!(j < i, "case {n}: parents come first in the file");
            anc.extend(ancestors[j].iter().copied());
        }
        let mut t = Text::new();
        for &j in &anc {
            for op in &ops[j] {
                apply(&mut t, op);
            }
        }
        let agent = txn["agent"].as_str().unwrap();
        let seq = txn["seqStart"].as_u64().expect("seqStart");
        let replica = ReplicaId((rank[agent] << 64) | u128::from(seq));
        let mut counter = seq;
        let mut txn_ops = Vec::new();
        for p in txn["ops"].as_array().expect("ops") {
            local_patch(&mut t, replica, &mut counter, &patch(p), &mut txn_ops);
        }
        assert_eq!(
            counter - seq,
            spans[i].1 - spans[i].0,
            "case {n}: events per txn"
        );
        ops.push(txn_ops);
        anc.insert(i);
        ancestors.push(anc);
    }

    let mut merged = Text::new();
    for op in ops.iter().flatten() {
        apply(&mut merged, op);
    }
    merged.check();
    assert_eq!(merged.to_string(), expected, "case {n}");

    // Any other causal order converges to the same state: here, the txns in
    // reverse file order whenever their ancestors allow it.
    let mut done = vec![false; txns.len()];
    let mut other = Text::new();
    while done.iter().any(|d| !d) {
        let next = (0..txns.len())
            .rev()
            .find(|&i| !done[i] && ancestors[i].iter().all(|&j| j == i || done[j]))
            .expect("a ready txn");
        for op in &ops[next] {
            apply(&mut other, op);
        }
        done[next] = true;
    }
    other.check();
    assert_eq!(other.spans(), merged.spans(), "case {n}: order matters");
    let copy = Text::from_spans(merged.spans()).expect("own snapshot loads");
    assert_eq!(copy, merged, "case {n}: snapshot round trip");
}

fn replay_sequential(name: &str) {
    let trace = load(name);
    assert_eq!(trace["startContent"].as_str(), Some(""));
    let expected = trace["endContent"].as_str().expect("endContent");
    let patches: Vec<(usize, usize, String)> = trace["txns"]
        .as_array()
        .expect("txns")
        .iter()
        .flat_map(|t| t["patches"].as_array().expect("patches").iter().map(patch))
        .collect();

    let t = replay_local(&patches);
    assert_eq!(t.to_string(), expected);
    t.check();
    let copy = Text::from_spans(t.spans()).expect("snapshot loads");
    copy.check();
    assert_eq!(copy, t);
}

/// Replays patches as one replica's local edits.
fn replay_local(patches: &[(usize, usize, String)]) -> Text {
    let replica = ReplicaId(1);
    let mut counter = 0;
    let mut t = Text::new();
    for (pos, del, ins) in patches {
        if *del > 0 {
            for span in t.prepare_delete(*pos, *del).expect("delete in bounds") {
                t.apply_delete(span).expect("local delete");
            }
            counter += *del as u64;
        }
        if !ins.is_empty() {
            let op = t.prepare_insert(*pos, ins).expect("insert in bounds");
            t.apply_insert(OpId::new(replica, counter), &op)
                .expect("local insert");
            counter += ins.chars().count() as u64;
        }
    }
    t
}

#[test]
fn automerge_paper_trace() {
    replay_sequential("automerge-paper.json.gz");
}

#[test]
fn sveltecomponent_trace() {
    replay_sequential("sveltecomponent.json.gz");
}

/// Two people typing at once: each agent is a replica that first merges the
/// txn's parents it lacks, then makes the txn's edits locally.
#[test]
fn friendsforever_trace() {
    let trace = load("friendsforever.json.gz");
    let expected = trace["endContent"].as_str().expect("endContent");
    let txns = trace["txns"].as_array().expect("txns");
    let agents = trace["numAgents"].as_u64().expect("numAgents") as usize;

    // Each agent's txns are totally ordered, so a version is a count per agent.
    let mut versions: Vec<Vec<usize>> = Vec::new();
    let mut by_agent: Vec<Vec<usize>> = vec![Vec::new(); agents];
    let mut ops: Vec<Vec<Op>> = Vec::new();
    let mut replicas: Vec<(Text, Vec<usize>, u64)> = (0..agents)
        .map(|_| (Text::new(), vec![0; agents], 0))
        .collect();
    for (i, txn) in txns.iter().enumerate() {
        let agent = txn["agent"].as_u64().expect("agent") as usize;
        let mut version = vec![0; agents];
        for p in txn["parents"].as_array().expect("parents") {
            let p = p.as_u64().expect("txn index") as usize;
            for (v, pv) in version.iter_mut().zip(&versions[p]) {
                *v = (*v).max(*pv);
            }
        }
        let (text, applied, counter) = &mut replicas[agent];
        let mut missing: Vec<usize> = (0..agents)
            .flat_map(|b| by_agent[b][applied[b]..version[b]].iter().copied())
            .collect();
        missing.sort_unstable();
        for j in missing {
            for op in &ops[j] {
                apply(text, op);
            }
        }
        applied.clone_from(&version);
        let mut txn_ops = Vec::new();
        let replica = ReplicaId(agent as u128 + 1);
        for p in txn["patches"].as_array().expect("patches") {
            local_patch(text, replica, counter, &patch(p), &mut txn_ops);
        }
        assert_eq!(
            version[agent],
            by_agent[agent].len(),
            "agent's txns are ordered"
        );
        version[agent] += 1;
        applied[agent] += 1;
        by_agent[agent].push(i);
        versions.push(version);
        ops.push(txn_ops);
    }
    let mut merged = Text::new();
    for op in ops.iter().flatten() {
        apply(&mut merged, op);
    }
    merged.check();
    assert_eq!(merged.to_string(), expected);
}

// ---- the Fugue paper's examples, spelled out ----

struct Replica {
    text: Text,
    id: ReplicaId,
    next: u64,
    log: Vec<Op>,
}

impl Replica {
    fn new(id: u128) -> Self {
        Replica {
            text: Text::new(),
            id: ReplicaId(id),
            next: 1,
            log: Vec::new(),
        }
    }

    fn type_at(&mut self, pos: usize, s: &str) {
        for (k, c) in s.chars().enumerate() {
            let op = self.text.prepare_insert(pos + k, &c.to_string()).unwrap();
            let id = OpId::new(self.id, self.next);
            self.next += 1;
            self.text.apply_insert(id, &op).unwrap();
            self.text.check();
            self.log.push(Op::Ins(id, op));
        }
    }

    /// Types `s` backwards: each char goes in front of the previous one.
    fn type_backwards_at(&mut self, pos: usize, s: &str) {
        for c in s.chars().rev() {
            let op = self.text.prepare_insert(pos, &c.to_string()).unwrap();
            let id = OpId::new(self.id, self.next);
            self.next += 1;
            self.text.apply_insert(id, &op).unwrap();
            self.text.check();
            self.log.push(Op::Ins(id, op));
        }
    }

    /// Applies the ops of `other` this replica has not seen yet.
    fn merge(&mut self, other: &Replica) {
        for op in &other.log {
            let seen = match op {
                Op::Ins(id, _) => self.text.contains_id(*id),
                Op::Del(_) => false,
            };
            if !seen {
                apply(&mut self.text, op);
                self.text.check();
                self.log.push(op.clone());
            }
        }
    }
}

/// Two replicas with the same starting text, typed by a third.
fn pair(start: &str) -> (Replica, Replica) {
    let mut base = Replica::new(9);
    base.type_at(0, start);
    let mut a = Replica::new(1);
    let mut b = Replica::new(2);
    a.merge(&base);
    b.merge(&base);
    (a, b)
}

fn sync(a: &mut Replica, b: &mut Replica) {
    let a_log = Replica {
        text: Text::new(),
        id: a.id,
        next: 0,
        log: a.log.clone(),
    };
    a.merge(b);
    b.merge(&a_log);
    assert_eq!(a.text, b.text, "replicas converge");
}

#[test]
fn concurrent_words_typed_forwards_do_not_interleave() {
    let (mut alice, mut bob) = pair("Shopping:");
    alice.type_at(9, " eggs");
    bob.type_at(9, " milk");
    sync(&mut alice, &mut bob);
    // One word, then the other, never " emiglgks".
    assert_eq!(alice.text.to_string(), "Shopping: eggs milk");
    assert_eq!(bob.text.to_string(), "Shopping: eggs milk");

    // The same when the later id types first at each step, or words differ in
    // length.
    let (mut alice, mut bob) = pair("Shopping:");
    bob.type_at(9, " bread");
    alice.type_at(9, " jam");
    sync(&mut bob, &mut alice);
    assert_eq!(alice.text.to_string(), "Shopping: jam bread");
}

#[test]
fn concurrent_words_typed_backwards_do_not_interleave() {
    // Each person types their word right to left, always at the same position.
    let (mut alice, mut bob) = pair("[]");
    alice.type_backwards_at(1, "eggs");
    bob.type_backwards_at(1, "milk");
    sync(&mut alice, &mut bob);
    let s = alice.text.to_string();
    assert!(s == "[eggsmilk]" || s == "[milkeggs]", "interleaved: {s}");
}

#[test]
fn concurrent_inserts_into_a_word_typed_backwards() {
    // A word typed right to left, then both insert at the same spot inside it.
    let (mut alice, mut bob) = pair("");
    alice.type_backwards_at(0, "world");
    sync(&mut alice, &mut bob);
    assert_eq!(bob.text.to_string(), "world");
    alice.type_at(2, "AAA");
    bob.type_at(2, "BBB");
    sync(&mut alice, &mut bob);
    let s = alice.text.to_string();
    assert!(s == "woAAABBBrld" || s == "woBBBAAArld", "interleaved: {s}");

    // Both also type backwards inside it.
    alice.type_backwards_at(1, "xyz");
    bob.type_backwards_at(1, "123");
    sync(&mut alice, &mut bob);
    let s = alice.text.to_string();
    assert!(
        s.starts_with("wxyz123o") || s.starts_with("w123xyzo"),
        "interleaved: {s}"
    );
}

#[test]
fn snapshot_of_a_merge_keeps_tombstones_and_origins() {
    let (mut alice, mut bob) = pair("ab");
    alice.type_at(1, "X");
    bob.type_at(1, "Y");
    sync(&mut alice, &mut bob);
    let spans: Vec<SpanRecord> = alice.text.spans();
    assert_eq!(spans.len(), 4, "{spans:?}");
    let copy = Text::from_spans(spans).unwrap();
    assert_eq!(copy.to_string(), "aXYb");
}

//! Seeded network simulation.
//!
//! N replicas edit one shared document (a text, a map with nested objects, a
//! set) while a simulated network drops, duplicates, reorders and partitions
//! the sync messages between them, connections reset and replicas restart from
//! their saved bytes. Every message goes through `SyncPeer` and
//! `Message::encode`/`decode`. Then the network heals, every peer asks for
//! anti-entropy (except in the lossless test, where the protocol alone must
//! do), messages are pumped until nothing moves, and all replicas must hold
//! exactly the same document: values, concurrent values, clocks, history,
//! acknowledgements and `save()` bytes.
//!
//! A seed reproduces a run exactly:
//! ```text
//! CONCORD_SIM_SEED=1234 cargo test -p concord-core --test it sim_
//! CONCORD_SIM_SEEDS=20000 cargo test --release -p concord-core --test it sim_   # soak
//! ```

use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};

use concord_core::{Document, ObjId, ObjType, ReplicaId, ScalarValue, Transaction, Value};
use concord_wire::{Message, SyncPeer};

use crate::support::rng::Rng;

/// Keys of the shared map (and nested maps): few, so writes conflict.
const MAP_KEYS: &[&str] = &["a", "b", "c", "d"];
/// Scalar keys of the root map (never `body`, `meta` or `tags`).
const ROOT_KEYS: &[&str] = &["x", "y"];
/// Inserted text: multi-char, 2-, 3- and 4-byte UTF-8, surrogate pairs in UTF-16.
const TEXTS: &[&str] = &[
    "a",
    "bc",
    "xyz",
    " ",
    "é",
    "日本",
    "😀",
    "a😀é",
    "Hello, wörld",
];
/// How deep `put_object` nests below `meta`.
const MAX_DEPTH: usize = 3;
/// Pump rounds allowed after healing before we call it a livelock.
const MAX_HEAL_ROUNDS: usize = 50;
/// Messages one `poll_message` loop may produce before we call it a livelock.
const MAX_POLLS: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Config {
    replicas: usize,
    steps: usize,
    /// Percent chances: per delivered message (drop, duplicate) or per step.
    drop: u64,
    duplicate: u64,
    partition: u64,
    reconnect: u64,
    restart: u64,
    /// Per peer and step: the anti-entropy timer fires.
    anti_entropy: u64,
    /// Per step: a replica state-merges another one (a file copied over).
    merge: u64,
    /// Healing asks every peer for anti-entropy. Without it, only a network
    /// that lost nothing may converge.
    heal_with_anti_entropy: bool,
    /// This replica is cut off from everyone for the whole edit phase and
    /// edits a lot (offline editing).
    offline: Option<usize>,
}

const DEFAULT: Config = Config {
    replicas: 5,
    steps: 60,
    drop: 10,
    duplicate: 10,
    partition: 8,
    reconnect: 4,
    restart: 3,
    anti_entropy: 3,
    merge: 2,
    heal_with_anti_entropy: true,
    offline: None,
};

fn seed_list(default: std::ops::Range<u64>) -> Vec<u64> {
    if let Ok(s) = std::env::var("CONCORD_SIM_SEED") {
        return vec![s.trim().parse().expect("CONCORD_SIM_SEED is a u64")];
    }
    if let Ok(n) = std::env::var("CONCORD_SIM_SEEDS") {
        let n: u64 = n.trim().parse().expect("CONCORD_SIM_SEEDS is a u64");
        return (0..n).collect();
    }
    default.collect()
}

/// Runs every seed; a failure panics with the seed and how to reproduce it.
fn run_seeds(test: &str, seeds: &[u64], config: Config) {
    let mut totals = Stats::default();
    for &seed in seeds {
        match panic::catch_unwind(AssertUnwindSafe(|| run(seed, config))) {
            Ok(stats) => totals.add(&stats),
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("(non-string panic)");
                panic!(
                    "seed {seed} failed: {msg}\n\
                     reproduce: CONCORD_SIM_SEED={seed} cargo test -p concord-core --test it {test}"
                );
            }
        }
    }
    eprintln!("{test}: {} seeds ok; {totals:?}", seeds.len());
}

#[test]
fn sim_fixed_seeds() {
    run_seeds("sim_fixed_seeds", &seed_list(0..200), DEFAULT);
}

/// One replica is offline for the whole edit phase and makes many edits (and
/// restarts from its saved bytes) while the others edit under faults; then the
/// network heals.
#[test]
fn sim_offline_replica_edits_then_heals() {
    let config = Config {
        steps: 80,
        offline: Some(2),
        ..DEFAULT
    };
    run_seeds(
        "sim_offline_replica_edits_then_heals",
        &seed_list(1000..1025),
        config,
    );
}

/// Messages are duplicated, reordered and delayed but never lost, and
/// connections never drop: the protocol alone (one Hello per connection, then
/// pushing what each peer lacks) must converge, with no anti-entropy timer.
#[test]
fn sim_lossless_network_converges_without_anti_entropy() {
    let config = Config {
        drop: 0,
        partition: 0,
        reconnect: 0,
        restart: 0,
        anti_entropy: 0,
        heal_with_anti_entropy: false,
        ..DEFAULT
    };
    run_seeds(
        "sim_lossless_network_converges_without_anti_entropy",
        &seed_list(2000..2030),
        config,
    );
}

// ---- the simulation ----

#[derive(Clone, Copy, Debug)]
struct Shared {
    body: ObjId,
    meta: ObjId,
    tags: ObjId,
}

#[derive(Clone, Copy, Debug, Default)]
struct Link {
    /// Nothing is delivered before this step, and what is sent is lost.
    blocked_until: usize,
}

/// A partition still in force.
#[derive(Debug)]
struct Partition {
    until: usize,
    links: Vec<(usize, usize)>,
    /// The links reconnect when it ends (else they simply carry messages again).
    reconnect: bool,
}

#[derive(Debug, Default)]
struct Stats {
    changes: u64,
    sent: u64,
    delivered: u64,
    dropped: u64,
    duplicated: u64,
    partitions: u64,
    reconnects: u64,
    restarts: u64,
    merges: u64,
    /// Changes that arrived before their dependencies and were held.
    held: u64,
    heal_rounds: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.changes += o.changes;
        self.sent += o.sent;
        self.delivered += o.delivered;
        self.dropped += o.dropped;
        self.duplicated += o.duplicated;
        self.partitions += o.partitions;
        self.reconnects += o.reconnects;
        self.restarts += o.restarts;
        self.merges += o.merges;
        self.held += o.held;
        self.heal_rounds += o.heal_rounds;
    }
}

struct Sim {
    config: Config,
    rng: Rng,
    step: usize,
    faults: bool,
    ids: Vec<ReplicaId>,
    docs: Vec<Document>,
    /// `peers[i][j]`: replica i's sync state for its connection to j.
    peers: Vec<Vec<SyncPeer>>,
    /// `queues[i][j]`: encoded messages in flight from i to j.
    queues: Vec<Vec<Vec<Vec<u8>>>>,
    links: Vec<Vec<Link>>,
    partitions: Vec<Partition>,
    /// Changes each replica made, counted from its own version.
    made: Vec<u64>,
    shared: Shared,
    stats: Stats,
}

fn run(seed: u64, config: Config) -> Stats {
    let mut sim = Sim::new(seed, config);
    for _ in 0..config.steps {
        sim.step();
    }
    if let Some(k) = config.offline {
        sim.assert_was_isolated(k);
    }
    sim.heal();
    sim.assert_converged();
    sim.stats
}

impl Sim {
    fn new(seed: u64, config: Config) -> Sim {
        let n = config.replicas;
        let mut rng = Rng::new(seed);
        // Random ids, so the replica-id tie-break order differs from the index
        // order and from run to run.
        let ids: Vec<ReplicaId> = (0..n)
            .map(|_| ReplicaId(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())))
            .collect();
        let mut first = Document::new(ids[0]);
        let mut tx = first.transaction();
        let body = tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
        let meta = tx.put_object(ObjId::Root, "meta", ObjType::Map).unwrap();
        let tags = tx.put_object(ObjId::Root, "tags", ObjType::Set).unwrap();
        tx.insert_text(body, 0, "Hi").unwrap();
        let initial = tx.commit().expect("the initial change has operations");
        let mut docs = vec![first];
        for &id in &ids[1..] {
            let mut doc = Document::new(id);
            let outcome = doc.apply(initial.clone()).unwrap();
            assert_eq!(outcome.applied, vec![initial.id()]);
            docs.push(doc);
        }
        let mut made = vec![0; n];
        made[0] = 1;
        // Some runs cut every batch after one change, or after a few.
        let peer = match rng.below(3) {
            0 => SyncPeer::new().with_max_batch_bytes(1),
            1 => SyncPeer::new().with_max_batch_bytes(300),
            _ => SyncPeer::new(),
        };
        Sim {
            config,
            rng,
            step: 0,
            faults: true,
            ids,
            docs,
            peers: vec![vec![peer; n]; n],
            queues: vec![vec![Vec::new(); n]; n],
            links: vec![vec![Link::default(); n]; n],
            partitions: Vec::new(),
            made,
            shared: Shared { body, meta, tags },
            stats: Stats::default(),
        }
    }

    fn n(&self) -> usize {
        self.config.replicas
    }

    fn blocked(&self, from: usize, to: usize) -> bool {
        self.faults
            && (self.links[from][to].blocked_until > self.step
                || self.config.offline.is_some_and(|k| k == from || k == to))
    }

    fn step(&mut self) {
        self.step += 1;
        self.faults();
        let n = self.n();
        let editors = self.rng.between(1, 3);
        for _ in 0..editors {
            let i = self.rng.index(n);
            self.edit(i);
        }
        if let Some(k) = self.config.offline {
            // The offline replica keeps typing.
            for _ in 0..self.rng.between(1, 3) {
                self.edit(k);
            }
        }
        self.send_all();
        // Deliver a random part of what is in flight, link by link in random
        // order, each message picked at random from its queue (reordering).
        let mut links: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .collect();
        self.rng.shuffle(&mut links);
        for (from, to) in links {
            if self.blocked(from, to) || self.queues[from][to].is_empty() || !self.rng.percent(60) {
                continue;
            }
            let count = self.rng.between(1, self.queues[from][to].len());
            for _ in 0..count {
                self.deliver_one(from, to);
            }
        }
        // Deep checks are the slowest part of a run in debug builds: every
        // few steps here, and on every replica at the end.
        if self.step.is_multiple_of(4) {
            for doc in &self.docs {
                check_invariants(doc, self.shared);
            }
        }
    }

    fn faults(&mut self) {
        let n = self.n();
        // Partitions that end now; some end with a reconnect.
        let step = self.step;
        let (ended, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.partitions)
            .into_iter()
            .partition(|p| p.until <= step);
        self.partitions = kept;
        for p in ended {
            if p.reconnect {
                for (i, j) in p.links {
                    self.reconnect(i, j);
                }
            }
        }
        if self.rng.percent(self.config.partition) {
            // Split the replicas in two random sides; block every link across.
            let side: Vec<bool> = (0..n).map(|_| self.rng.percent(50)).collect();
            let until = self.step + self.rng.between(2, 20);
            let mut cut = Vec::new();
            for i in 0..n {
                for j in 0..n {
                    if side[i] != side[j] {
                        let link = &mut self.links[i][j];
                        link.blocked_until = link.blocked_until.max(until);
                        cut.push((i, j));
                    }
                }
            }
            let reconnect = self.rng.percent(50);
            self.partitions.push(Partition {
                until,
                links: cut,
                reconnect,
            });
            self.stats.partitions += 1;
        }
        if self.rng.percent(self.config.reconnect) {
            let i = self.rng.index(n);
            let j = (i + self.rng.between(1, n - 1)) % n;
            self.reconnect(i, j);
        }
        if self.rng.percent(self.config.merge) {
            let i = self.rng.index(n);
            let j = (i + self.rng.between(1, n - 1)) % n;
            if !self.blocked(j, i) {
                let other = self.docs[j].clone();
                let doc = &mut self.docs[i];
                doc.merge(&other)
                    .unwrap_or_else(|e| panic!("replica {i} cannot merge replica {j}: {e}"));
                assert!(*doc.version() >= *other.version(), "merge lost changes");
                let version = doc.version().clone();
                for peer in &mut self.peers[i] {
                    peer.stored(&version);
                }
                self.stats.merges += 1;
            }
        }
        if self.rng.percent(self.config.restart) {
            let i = self.config.offline.unwrap_or_else(|| self.rng.index(n));
            self.restart(i);
        }
        for i in 0..n {
            for j in 0..n {
                if i != j && self.rng.percent(self.config.anti_entropy) {
                    self.peers[i][j].request_anti_entropy();
                }
            }
        }
    }

    /// The connection between i and j drops and is re-established: what was in
    /// flight is lost and both sides start over.
    fn reconnect(&mut self, i: usize, j: usize) {
        self.queues[i][j].clear();
        self.queues[j][i].clear();
        self.peers[i][j].reset();
        self.peers[j][i].reset();
        self.stats.reconnects += 1;
    }

    /// Replica i crashes and restarts from its saved bytes (changes waiting
    /// for dependencies are not saved: anti-entropy brings them back).
    fn restart(&mut self, i: usize) {
        let bytes = self.docs[i].save();
        let loaded = Document::load(&bytes, self.ids[i]).expect("a saved document loads");
        assert!(
            loaded == self.docs[i],
            "replica {i}: load(save()) differs from the document"
        );
        assert_eq!(
            loaded.save(),
            bytes,
            "replica {i}: re-saving a loaded document changes its bytes"
        );
        self.docs[i] = loaded;
        for j in 0..self.n() {
            if j != i {
                self.reconnect(i, j);
            }
        }
        self.stats.restarts += 1;
    }

    /// Every peer sends what it has to say.
    fn send_all(&mut self) -> u64 {
        let mut sent = 0;
        let n = self.n();
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let mut polls = 0;
                while let Some(msg) = self.peers[i][j].poll_message(&self.docs[i]) {
                    polls += 1;
                    assert!(polls < MAX_POLLS, "peer {i}->{j} never stops sending");
                    sent += 1;
                    self.stats.sent += 1;
                    if self.blocked(i, j) {
                        self.stats.dropped += 1;
                    } else {
                        self.queues[i][j].push(msg.encode());
                    }
                }
            }
        }
        sent
    }

    fn deliver_one(&mut self, from: usize, to: usize) {
        let queue = &mut self.queues[from][to];
        let at = self.rng.index(queue.len());
        let bytes = queue.swap_remove(at);
        if self.faults {
            if self.rng.percent(self.config.drop) {
                self.stats.dropped += 1;
                return;
            }
            if self.rng.percent(self.config.duplicate) {
                queue.push(bytes.clone());
                self.stats.duplicated += 1;
            }
        }
        self.receive(from, to, &bytes);
    }

    fn receive(&mut self, from: usize, to: usize, bytes: &[u8]) {
        self.stats.delivered += 1;
        let msg = Message::decode(bytes).expect("a message we encoded decodes");
        assert_eq!(msg.encode(), bytes, "message encoding is not canonical");
        let records = self.peers[to][from].receive(msg);
        let doc = &mut self.docs[to];
        let outcome = doc.apply_records(records);
        assert!(
            outcome.refused.is_empty(),
            "replica {to} refuses from {from}: {:?}",
            outcome.refused
        );
        assert!(
            outcome.rejected.is_empty(),
            "replica {to}: held changes rejected: {:?}",
            outcome.rejected
        );
        self.stats.held += outcome.pending;
        // Our store is synchronous: everything applied is durable now.
        let version = doc.version().clone();
        for peer in &mut self.peers[to] {
            peer.stored(&version);
        }
    }

    // ---- edits ----

    fn edit(&mut self, i: usize) {
        let id = self.ids[i];
        let before = self.docs[i].version().get(id);
        let ops = self.rng.between(1, 3);
        let Sim {
            rng, docs, shared, ..
        } = self;
        let mut tx = docs[i].transaction();
        for _ in 0..ops {
            random_op(rng, &mut tx, *shared);
        }
        if rng.percent(90) {
            tx.commit();
        } else {
            // A dropped transaction still becomes a change.
            drop(tx);
        }
        let after = self.docs[i].version().get(id);
        assert!(
            after - before <= 1,
            "one transaction made {} changes",
            after - before
        );
        self.made[i] += after - before;
        self.stats.changes += after - before;
    }

    // ---- the end ----

    fn assert_was_isolated(&self, k: usize) {
        for (j, doc) in self.docs.iter().enumerate() {
            if j != k {
                assert_eq!(
                    doc.version().get(self.ids[k]),
                    0,
                    "replica {j} saw offline replica {k}'s changes before healing"
                );
            }
        }
        assert!(self.made[k] > 0, "the offline replica made no change");
    }

    /// No more faults: everything in flight arrives, every peer asks for
    /// anti-entropy, and messages are pumped until nothing moves.
    fn heal(&mut self) {
        self.faults = false;
        if self.config.heal_with_anti_entropy {
            for peers in &mut self.peers {
                for peer in peers {
                    peer.request_anti_entropy();
                }
            }
        }
        let n = self.n();
        for round in 0..MAX_HEAL_ROUNDS {
            let sent = self.send_all();
            let in_flight: usize = self.queues.iter().flatten().map(Vec::len).sum();
            if sent == 0 && in_flight == 0 {
                self.stats.heal_rounds += round as u64;
                return;
            }
            loop {
                let busy: Vec<(usize, usize)> = (0..n)
                    .flat_map(|i| (0..n).map(move |j| (i, j)))
                    .filter(|&(i, j)| !self.queues[i][j].is_empty())
                    .collect();
                if busy.is_empty() {
                    break;
                }
                let (from, to) = *self.rng.pick(&busy);
                self.deliver_one(from, to);
            }
        }
        panic!("no quiescence {MAX_HEAL_ROUNDS} rounds after healing");
    }

    fn assert_converged(&self) {
        let reference = &self.docs[0];
        let ref_bytes = reference.save();
        let ref_tree = render(reference);
        let Shared { body, meta, tags } = self.shared;
        for (i, &id) in self.ids.iter().enumerate() {
            assert_eq!(
                reference.version().get(id),
                self.made[i],
                "replica 0 lacks changes of replica {i}"
            );
        }
        for (i, doc) in self.docs.iter().enumerate() {
            check_invariants(doc, self.shared);
            assert!(
                doc.pending().is_empty(),
                "replica {i} still holds {:?}",
                doc.pending()
            );
            assert!(
                doc.missing().is_empty(),
                "replica {i} misses {:?}",
                doc.missing()
            );
            assert_eq!(doc.version(), reference.version(), "replica {i}: version");
            assert_eq!(doc.heads(), reference.heads(), "replica {i}: heads");
            assert_eq!(
                doc.text(body).unwrap().to_string(),
                reference.text(body).unwrap().to_string(),
                "replica {i}: body text"
            );
            for key in MAP_KEYS {
                assert_eq!(
                    doc.get(meta, key),
                    reference.get(meta, key),
                    "replica {i}: meta.{key}"
                );
                assert_eq!(
                    doc.get_all(meta, key),
                    reference.get_all(meta, key),
                    "replica {i}: all values of meta.{key}"
                );
            }
            for key in ROOT_KEYS {
                assert_eq!(
                    doc.get_all(ObjId::Root, key),
                    reference.get_all(ObjId::Root, key),
                    "replica {i}: all values of root.{key}"
                );
            }
            assert_eq!(
                doc.set(tags).unwrap().values().collect::<Vec<_>>(),
                reference.set(tags).unwrap().values().collect::<Vec<_>>(),
                "replica {i}: tags"
            );
            let tree = render(doc);
            assert!(
                tree == ref_tree,
                "replica {i} differs:\n{tree}\nreplica 0:\n{ref_tree}"
            );
            assert!(
                doc == reference,
                "replica {i}: same values, different state or history"
            );
            assert!(doc.save() == ref_bytes, "replica {i}: save() bytes differ");
        }
        // A fresh replica given the whole history backwards (all held, then
        // released at once) ends in the same state, byte for byte.
        let mut history = reference.changes_since(&concord_core::VersionVector::new());
        assert_eq!(history.len() as u64, reference.version().total());
        history.reverse();
        let mut fresh = Document::new(ReplicaId(u128::MAX));
        for change in history {
            fresh.apply(change).unwrap();
        }
        assert!(fresh.pending().is_empty());
        assert!(
            fresh == *reference,
            "replaying the history backwards differs"
        );
        assert!(
            fresh.save() == ref_bytes,
            "replaying the history backwards: bytes differ"
        );
        let loaded = Document::load(&ref_bytes, ReplicaId(7)).unwrap();
        assert!(loaded == *reference, "load(save()) differs");
        assert!(
            loaded.save() == ref_bytes,
            "re-saving a loaded document changes its bytes"
        );
        // Every replica has acknowledged everything to every peer.
        let version = reference.version();
        for (i, peers) in self.peers.iter().enumerate() {
            for (j, peer) in peers.iter().enumerate() {
                if i != j {
                    assert!(peer.knows_peer(), "replica {i} never heard from {j}");
                    assert_eq!(peer.acked(), version, "what {j} acknowledged to {i}");
                    assert_eq!(peer.unacked(version), 0);
                }
            }
        }
    }
}

// ---- random operations ----

fn scalar(rng: &mut Rng) -> ScalarValue {
    match rng.below(7) {
        0 => ScalarValue::Null,
        1 => ScalarValue::Bool(rng.percent(50)),
        2 => ScalarValue::Int(*rng.pick(&[-2, -1, 0, 1, i64::MAX])),
        3 => ScalarValue::F64(*rng.pick(&[1.5, -0.0, f64::NAN, f64::INFINITY])),
        4 => ScalarValue::Bytes(vec![0, 255, rng.below(256) as u8]),
        _ => ScalarValue::from(*rng.pick(TEXTS)),
    }
}

fn set_value(rng: &mut Rng) -> ScalarValue {
    match rng.below(5) {
        0 => ScalarValue::Int(1),
        1 => ScalarValue::Int(2),
        2 => ScalarValue::Str("x".into()),
        3 => ScalarValue::Str("日本".into()),
        _ => ScalarValue::Bool(true),
    }
}

/// Every object reachable from the root through any concurrent value, with
/// its depth below the root.
fn reachable(doc: &Document) -> Vec<(ObjId, ObjType, usize)> {
    let mut out = vec![(ObjId::Root, ObjType::Map, 0)];
    let mut i = 0;
    while i < out.len() {
        let (obj, ty, depth) = out[i];
        i += 1;
        if ty != ObjType::Map {
            continue;
        }
        let map = doc.map(obj).unwrap();
        for key in map.keys() {
            for entry in map.get_all(key) {
                if let Value::Object(child, ty) = entry.value {
                    out.push((child, ty, depth + 1));
                }
            }
        }
    }
    out
}

fn random_op(rng: &mut Rng, tx: &mut Transaction<'_>, shared: Shared) {
    let objects = reachable(tx.doc());
    let of = |ty: ObjType| -> Vec<(ObjId, usize)> {
        objects
            .iter()
            .filter(|o| o.1 == ty)
            .map(|o| (o.0, o.2))
            .collect()
    };
    match rng.below(10) {
        0..=3 => {
            // Mostly the shared body; sometimes a nested text.
            let texts = of(ObjType::Text);
            let obj = if rng.percent(70) {
                shared.body
            } else {
                rng.pick(&texts).0
            };
            let len = tx.doc().text(obj).unwrap().len_chars();
            if len > 0 && rng.percent(40) {
                let pos = rng.index(len);
                // Mostly a few chars; sometimes everything up to the end.
                let max = if rng.percent(5) {
                    len - pos
                } else {
                    (len - pos).min(5)
                };
                let del = rng.between(1, max);
                if rng.percent(30) {
                    tx.splice_text(obj, pos, del, TEXTS[rng.index(TEXTS.len())])
                        .unwrap();
                } else {
                    tx.delete_text(obj, pos, del).unwrap();
                }
            } else {
                let pos = rng.between(0, len);
                if rng.percent(2) {
                    // A paste longer than the longest stored run (512 chars).
                    tx.insert_text(obj, pos, &"ab😀é".repeat(150)).unwrap();
                } else {
                    tx.insert_text(obj, pos, TEXTS[rng.index(TEXTS.len())])
                        .unwrap();
                }
            }
        }
        4..=6 => {
            let maps = of(ObjType::Map);
            let (obj, depth) = if rng.percent(50) {
                (shared.meta, 1)
            } else {
                *rng.pick(&maps)
            };
            if obj == ObjId::Root {
                let key = rng.pick(ROOT_KEYS);
                if rng.percent(70) {
                    tx.put(obj, key, scalar(rng)).unwrap();
                } else {
                    tx.delete(obj, key).unwrap();
                }
                return;
            }
            let key = rng.pick(MAP_KEYS);
            match rng.below(20) {
                0..=10 => tx.put(obj, key, scalar(rng)).unwrap(),
                11..=15 => tx.delete(obj, key).unwrap(),
                _ if depth < MAX_DEPTH => {
                    let ty = *rng.pick(&[ObjType::Map, ObjType::Map, ObjType::Text, ObjType::Set]);
                    tx.put_object(obj, key, ty).unwrap();
                }
                _ => tx.put(obj, key, scalar(rng)).unwrap(),
            }
        }
        _ => {
            let sets = of(ObjType::Set);
            let obj = if rng.percent(70) {
                shared.tags
            } else {
                rng.pick(&sets).0
            };
            let value = set_value(rng);
            if rng.percent(60) {
                tx.add(obj, value.clone()).unwrap();
                assert!(
                    tx.doc().set(obj).unwrap().contains(&value),
                    "an added value is present"
                );
            } else {
                let present = tx.doc().set(obj).unwrap().contains(&value);
                assert_eq!(
                    tx.remove(obj, &value).unwrap(),
                    present,
                    "remove reports presence"
                );
                assert!(
                    !tx.doc().set(obj).unwrap().contains(&value),
                    "a removed value is absent"
                );
            }
        }
    }
}

// ---- checks ----

/// Cheap consistency checks run on every replica after every step.
fn check_invariants(doc: &Document, shared: Shared) {
    for (obj, ty, _) in reachable(doc) {
        if ty == ObjType::Text {
            let text = doc.text(obj).unwrap();
            text.check();
            assert_eq!(
                text.len_chars(),
                text.to_string().chars().count(),
                "text {obj:?}: len_chars disagrees with its string"
            );
        }
    }
    let tags = doc.set(shared.tags).unwrap();
    assert_eq!(tags.len(), tags.values().count());
}

/// The whole document tree as text, every concurrent value included, so two
/// replicas can be compared (and a difference read) at a glance.
fn render(doc: &Document) -> String {
    let mut out = String::new();
    render_obj(doc, ObjId::Root, ObjType::Map, 0, &mut out);
    out
}

fn render_obj(doc: &Document, obj: ObjId, ty: ObjType, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match ty {
        ObjType::Map => {
            let map = doc.map(obj).unwrap();
            for key in map.keys() {
                for entry in map.get_all(key) {
                    match &entry.value {
                        Value::Scalar(s) => {
                            writeln!(
                                out,
                                "{pad}{key:?} [{:?} {:?}] = {s}",
                                entry.id, entry.lamport
                            )
                            .unwrap();
                        }
                        Value::Object(child, ty) => {
                            writeln!(
                                out,
                                "{pad}{key:?} [{:?} {:?}] = {ty:?}",
                                entry.id, entry.lamport
                            )
                            .unwrap();
                            render_obj(doc, *child, *ty, depth + 1, out);
                        }
                    }
                }
            }
        }
        ObjType::Set => {
            let values: Vec<String> = doc
                .set(obj)
                .unwrap()
                .values()
                .map(ToString::to_string)
                .collect();
            writeln!(out, "{pad}{{{}}}", values.join(", ")).unwrap();
        }
        ObjType::Text => {
            writeln!(out, "{pad}{:?}", doc.text(obj).unwrap().to_string()).unwrap();
        }
    }
}

//! Real editing traces (`assets/traces/README.md`): loading the three JSON
//! formats, gzipped or not, and replaying them through `Document` changes.
//!
//! Every edit is made in a transaction on some replica's document and every
//! change reaches the other documents through `Document::apply`, so a replay
//! exercises the same path as a real session. Shared by the trace tests and
//! `examples/replay.rs` (which includes this file with `#[path]`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use concord_core::{
    ApplyError, ChangeId, Document, EditError, EncodedChange, ObjId, ObjType, ReplicaId,
    VersionVector,
};
use serde_json::{Map, Value};

/// Delete `del` code points at `pos`, then insert `insert` at `pos`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    pub pos: usize,
    pub del: usize,
    pub insert: String,
}

/// One replica typing alone.
#[derive(Clone, Debug)]
pub struct SequentialTrace {
    pub start: String,
    pub end: String,
    /// Each transaction's patches, applied in order.
    pub txns: Vec<Vec<Patch>>,
}

#[derive(Clone, Debug)]
pub struct ConcurrentTxn {
    /// Indexes of earlier transactions.
    pub parents: Vec<usize>,
    pub agent: usize,
    pub patches: Vec<Patch>,
}

/// Several agents; transactions in topological order.
#[derive(Clone, Debug)]
pub struct ConcurrentTrace {
    pub end: String,
    pub txns: Vec<ConcurrentTxn>,
}

#[derive(Clone, Debug)]
pub struct RawTxn {
    /// Local versions (one per inserted or deleted character) `start..end`.
    pub span: (usize, usize),
    /// Event numbers (local versions) this transaction follows.
    pub parents: Vec<usize>,
    pub agent: String,
    pub seq_start: u64,
    pub ops: Vec<Patch>,
}

/// One conformance case: an event graph and the text FugueMax yields.
#[derive(Clone, Debug)]
pub struct RawCase {
    pub txns: Vec<RawTxn>,
    pub end: String,
}

#[derive(Clone, Debug)]
pub enum Trace {
    Sequential(SequentialTrace),
    Concurrent(ConcurrentTrace),
    Raw(Vec<RawCase>),
}

/// Why a trace could not be read or did not replay to its `endContent`.
#[derive(Debug)]
pub enum TraceError {
    Io(std::io::Error),
    /// Not JSON, or not one of the trace formats.
    Format(String),
    /// A transaction's edit was refused by the document.
    Edit {
        txn: usize,
        error: EditError,
    },
    /// A change was refused by a document that should have accepted it.
    Apply {
        txn: usize,
        error: ApplyError,
    },
    /// The replay went wrong in a way the core did not report as an error.
    Replay {
        txn: usize,
        reason: String,
    },
    /// A document did not end on the expected text.
    Mismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// The core panicked.
    Panic(String),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Io(e) => write!(f, "cannot read: {e}"),
            TraceError::Format(m) => write!(f, "not a valid trace: {m}"),
            TraceError::Edit { txn, error } => write!(f, "txn {txn}: edit refused: {error}"),
            TraceError::Apply { txn, error } => write!(f, "txn {txn}: change refused: {error}"),
            TraceError::Replay { txn, reason } => write!(f, "txn {txn}: {reason}"),
            TraceError::Mismatch {
                what,
                expected,
                actual,
            } => write_mismatch(f, what, expected, actual),
            TraceError::Panic(m) => write!(f, "panicked: {m}"),
        }
    }
}

impl std::error::Error for TraceError {}

/// Shows where two texts first differ, with a little context, not the whole
/// (possibly 100 kB) texts.
fn write_mismatch(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    expected: &str,
    actual: &str,
) -> fmt::Result {
    const CONTEXT: usize = 30;
    let e: Vec<char> = expected.chars().collect();
    let a: Vec<char> = actual.chars().collect();
    let at = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let window = |s: &[char]| -> String {
        let from = at.saturating_sub(CONTEXT);
        let to = (at + CONTEXT).min(s.len());
        s[from.min(to)..to].iter().collect()
    };
    write!(
        f,
        "{what} differs from endContent at char {at} (expected {} chars, got {}): \
         expected …{:?}…, got …{:?}…",
        e.len(),
        a.len(),
        window(&e),
        window(&a)
    )
}

// ---------------------------------------------------------------------------
// Loading

/// Reads a `.json` or `.json.gz` trace file of any of the three formats.
pub fn load(path: &Path) -> Result<Trace, TraceError> {
    parse(&std::fs::read(path).map_err(TraceError::Io)?)
}

/// The JSON value of a trace file's bytes, gzipped or not.
pub fn json(bytes: &[u8]) -> Result<Value, TraceError> {
    let unzipped;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| TraceError::Format(format!("bad gzip data: {e}")))?;
        unzipped = out;
        &unzipped[..]
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| TraceError::Format(format!("invalid JSON: {e}")))
}

pub fn parse(bytes: &[u8]) -> Result<Trace, TraceError> {
    let value = json(bytes)?;
    match &value {
        Value::Array(cases) => cases
            .iter()
            .enumerate()
            .map(|(i, c)| parse_raw_case(c).map_err(|e| format!("case {i}: {e}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Trace::Raw),
        Value::Object(o) if o.get("kind").and_then(Value::as_str) == Some("concurrent") => {
            parse_concurrent(o).map(Trace::Concurrent)
        }
        Value::Object(o) if is_raw_case(o) => parse_raw_case(&value).map(|c| Trace::Raw(vec![c])),
        Value::Object(o) if o.contains_key("txns") => parse_sequential(o).map(Trace::Sequential),
        _ => Err("expected an object with \"txns\" or an array of conformance cases".to_owned()),
    }
    .map_err(TraceError::Format)
}

fn is_raw_case(o: &Map<String, Value>) -> bool {
    o.get("txns")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .is_some_and(|t| t.get("span").is_some())
}

type Parsed<T> = Result<T, String>;

fn field<'a>(o: &'a Map<String, Value>, name: &str) -> Parsed<&'a Value> {
    o.get(name).ok_or_else(|| format!("missing \"{name}\""))
}

fn object<'a>(v: &'a Value, what: &str) -> Parsed<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| format!("{what} is not an object"))
}

fn array<'a>(v: &'a Value, what: &str) -> Parsed<&'a Vec<Value>> {
    v.as_array()
        .ok_or_else(|| format!("{what} is not an array"))
}

fn string(v: &Value, what: &str) -> Parsed<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{what} is not a string"))
}

fn uint(v: &Value, what: &str) -> Parsed<u64> {
    v.as_u64()
        .ok_or_else(|| format!("{what} is not a non-negative integer"))
}

fn index(v: &Value, what: &str) -> Parsed<usize> {
    usize::try_from(uint(v, what)?).map_err(|_| format!("{what} is too large"))
}

fn patches(v: &Value) -> Parsed<Vec<Patch>> {
    array(v, "patches")?
        .iter()
        .map(|p| match p.as_array().map(Vec::as_slice) {
            Some([pos, del, insert]) => Ok(Patch {
                pos: index(pos, "patch position")?,
                del: index(del, "patch delete count")?,
                insert: string(insert, "patch insert")?,
            }),
            _ => Err(format!("patch {p} is not [pos, delCount, insertStr]")),
        })
        .collect()
}

fn parse_sequential(o: &Map<String, Value>) -> Parsed<SequentialTrace> {
    let start = match o.get("startContent") {
        Some(v) => string(v, "startContent")?,
        None => String::new(),
    };
    let txns = array(field(o, "txns")?, "txns")?
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let t = object(t, "a txn")?;
            patches(field(t, "patches")?).map_err(|e| format!("txn {i}: {e}"))
        })
        .collect::<Parsed<_>>()?;
    Ok(SequentialTrace {
        start,
        end: string(field(o, "endContent")?, "endContent")?,
        txns,
    })
}

fn parse_concurrent(o: &Map<String, Value>) -> Parsed<ConcurrentTrace> {
    let num_agents = index(field(o, "numAgents")?, "numAgents")?;
    let txns = array(field(o, "txns")?, "txns")?
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let t = object(t, "a txn")?;
            let parents = array(field(t, "parents")?, "parents")?
                .iter()
                .map(|p| index(p, "a parent"))
                .collect::<Parsed<Vec<_>>>()?;
            if let Some(p) = parents.iter().find(|&&p| p >= i) {
                return Err(format!(
                    "txn {i}: parent {p} is not an earlier txn (not in topological order)"
                ));
            }
            let agent = index(field(t, "agent")?, "agent")?;
            if agent >= num_agents {
                return Err(format!("txn {i}: agent {agent} >= numAgents {num_agents}"));
            }
            Ok(ConcurrentTxn {
                parents,
                agent,
                patches: patches(field(t, "patches")?).map_err(|e| format!("txn {i}: {e}"))?,
            })
        })
        .collect::<Parsed<_>>()?;
    Ok(ConcurrentTrace {
        end: string(field(o, "endContent")?, "endContent")?,
        txns,
    })
}

fn parse_raw_case(v: &Value) -> Parsed<RawCase> {
    let o = object(v, "a case")?;
    let txns = array(field(o, "txns")?, "txns")?
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let t = object(t, "a txn")?;
            let span = match array(field(t, "span")?, "span")?.as_slice() {
                [a, b] => (index(a, "span start")?, index(b, "span end")?),
                _ => return Err(format!("txn {i}: span is not [start, end)")),
            };
            Ok(RawTxn {
                span,
                parents: array(field(t, "parents")?, "parents")?
                    .iter()
                    .map(|p| index(p, "a parent"))
                    .collect::<Parsed<_>>()?,
                agent: string(field(t, "agent")?, "agent")?,
                seq_start: uint(field(t, "seqStart")?, "seqStart")?,
                ops: patches(field(t, "ops")?).map_err(|e| format!("txn {i}: {e}"))?,
            })
        })
        .collect::<Parsed<_>>()?;
    Ok(RawCase {
        txns,
        end: string(field(o, "endContent")?, "endContent")?,
    })
}

impl Trace {
    /// Number of patches (ops) in the trace.
    pub fn ops(&self) -> usize {
        match self {
            Trace::Sequential(t) => t.txns.iter().map(Vec::len).sum(),
            Trace::Concurrent(t) => t.txns.iter().map(|t| t.patches.len()).sum(),
            Trace::Raw(cases) => cases
                .iter()
                .flat_map(|c| &c.txns)
                .map(|t| t.ops.len())
                .sum(),
        }
    }

    /// Number of independent cases (1 unless a conformance file).
    pub fn cases(&self) -> usize {
        match self {
            Trace::Raw(cases) => cases.len(),
            _ => 1,
        }
    }
}

// ---------------------------------------------------------------------------
// Replay

/// A replayed trace: the document that holds every change, and its text.
#[derive(Debug)]
pub struct Replayed {
    pub doc: Document,
    pub text: ObjId,
}

fn text_of(doc: &Document, text: ObjId) -> Result<String, EditError> {
    Ok(doc.text(text)?.to_string())
}

fn check_text(doc: &Document, text: ObjId, expected: &str, what: &str) -> Result<(), TraceError> {
    let actual = text_of(doc, text).map_err(|error| TraceError::Replay {
        txn: 0,
        reason: format!("{what}: cannot read the text: {error}"),
    })?;
    if actual == expected {
        Ok(())
    } else {
        Err(TraceError::Mismatch {
            what: what.to_owned(),
            expected: expected.to_owned(),
            actual,
        })
    }
}

fn edit_txn(
    doc: &mut Document,
    text: ObjId,
    patches: &[Patch],
    txn: usize,
) -> Result<Option<EncodedChange>, TraceError> {
    let mut tx = doc.transaction();
    for p in patches {
        tx.splice_text(text, p.pos, p.del, &p.insert)
            .map_err(|error| TraceError::Edit { txn, error })?;
    }
    Ok(tx.commit())
}

/// One replica: the text object (and `startContent`) in a first change, then
/// one transaction per trace transaction.
pub fn replay_sequential(trace: &SequentialTrace) -> Result<Replayed, TraceError> {
    let mut doc = Document::new(ReplicaId(1));
    let mut tx = doc.transaction();
    let setup = |error| TraceError::Edit { txn: 0, error };
    let text = tx
        .put_object(ObjId::Root, "text", ObjType::Text)
        .map_err(setup)?;
    tx.insert_text(text, 0, &trace.start).map_err(setup)?;
    tx.commit();
    for (i, patches) in trace.txns.iter().enumerate() {
        edit_txn(&mut doc, text, patches, i)?;
    }
    check_text(&doc, text, &trace.end, "final text")?;
    Ok(Replayed { doc, text })
}

/// The replica of the change that creates the text object every replica of a
/// concurrent replay edits. Sorts before every agent's replica.
const GENESIS: ReplicaId = ReplicaId(0);
/// The document that collects every change; it never edits.
const COLLECTOR: ReplicaId = ReplicaId(u128::MAX);

/// A transaction of an event graph, with the agent and replica that make it.
#[derive(Debug)]
struct GraphTxn<'a> {
    parents: &'a [usize],
    agent: usize,
    replica: ReplicaId,
    patches: &'a [Patch],
}

/// Replays an event graph. Each transaction is made by its replica's document
/// brought (by `apply`) to exactly the version of the transaction's parents; a
/// replica's first document is a fork of its most advanced parent's (or a new
/// one). Every change also goes to a collecting document, which must end on
/// `end`, and so must each agent's last replica once it has received
/// everything.
fn replay_graph(txns: &[GraphTxn<'_>], end: &str) -> Result<Replayed, TraceError> {
    let setup = |error| TraceError::Edit { txn: 0, error };
    let mut genesis_doc = Document::new(GENESIS);
    let mut tx = genesis_doc.transaction();
    let text = tx
        .put_object(ObjId::Root, "text", ObjType::Text)
        .map_err(setup)?;
    let Some(genesis) = tx.commit() else {
        return Err(TraceError::Replay {
            txn: 0,
            reason: "creating the text object made no change".to_owned(),
        });
    };
    let mut all = Document::new(COLLECTOR);
    all.apply(genesis)
        .map_err(|error| TraceError::Apply { txn: 0, error })?;
    let base = all.version().clone();

    // The version each transaction leaves its replica at.
    let mut versions: Vec<VersionVector> = Vec::with_capacity(txns.len());
    let mut docs: BTreeMap<ReplicaId, Document> = BTreeMap::new();
    // Each agent's replica as of its latest transaction.
    let mut agents: BTreeMap<usize, ReplicaId> = BTreeMap::new();
    for (i, t) in txns.iter().enumerate() {
        let mut target = base.clone();
        for &p in t.parents {
            target.merge(&versions[p]);
        }
        if !docs.contains_key(&t.replica) {
            let doc = start_doc(&docs, txns, i, &target, &all, &base)?;
            docs.insert(t.replica, doc);
        }
        let doc = docs.get_mut(&t.replica).expect("inserted above");
        bring_to(doc, &all, &target, i)?;
        if let Some(change) = edit_txn(doc, text, t.patches, i)? {
            let id = change.id();
            target.observe(id.replica, id.seq);
            let outcome = all
                .apply(change)
                .map_err(|error| TraceError::Apply { txn: i, error })?;
            if outcome.applied != [id] {
                return Err(TraceError::Replay {
                    txn: i,
                    reason: format!("the collecting document did not apply {id:?}: {outcome:?}"),
                });
            }
        }
        versions.push(target);
        agents.insert(t.agent, t.replica);
    }
    check_text(&all, text, end, "merged text")?;
    let everything = all.version().clone();
    for (agent, replica) in agents {
        let doc = docs
            .get_mut(&replica)
            .expect("every replica has a document");
        bring_to(doc, &all, &everything, txns.len())?;
        check_text(doc, text, end, &format!("text of agent {agent}"))?;
    }
    Ok(Replayed { doc: all, text })
}

/// The first document of `t.replica`: a fork of the parent replica's document
/// that is furthest along without passing `target`, or else a new document
/// with just the text object (version `base`).
fn start_doc(
    docs: &BTreeMap<ReplicaId, Document>,
    txns: &[GraphTxn<'_>],
    txn: usize,
    target: &VersionVector,
    all: &Document,
    base: &VersionVector,
) -> Result<Document, TraceError> {
    let t = &txns[txn];
    let furthest = t
        .parents
        .iter()
        .filter_map(|&p| docs.get(&txns[p].replica))
        .filter(|d| d.version() <= target)
        .max_by_key(|d| d.version().total());
    if let Some(doc) = furthest {
        return Ok(doc.fork(t.replica));
    }
    let mut doc = Document::new(t.replica);
    bring_to(&mut doc, all, base, txn)?;
    Ok(doc)
}

/// Applies to `doc` the changes of `target` it lacks, taken from `all`, in
/// causal order; `doc` must then be exactly at `target`.
fn bring_to(
    doc: &mut Document,
    all: &Document,
    target: &VersionVector,
    txn: usize,
) -> Result<(), TraceError> {
    let mut missing = Vec::new();
    for (replica, seqs) in target.diff(doc.version()) {
        for seq in seqs {
            let id = ChangeId::new(replica, seq);
            let change = all.change(id).ok_or_else(|| TraceError::Replay {
                txn,
                reason: format!("change {id:?} of the target version was never made"),
            })?;
            missing.push(change.clone());
        }
    }
    // A change's Lamport counter exceeds its dependencies': a causal order.
    missing.sort_by_key(|c| (c.header().lamport, c.id()));
    for change in missing {
        let id = change.id();
        let outcome = doc
            .apply(change)
            .map_err(|error| TraceError::Apply { txn, error })?;
        if outcome.applied != [id] {
            return Err(TraceError::Replay {
                txn,
                reason: format!("{id:?} did not apply in causal order: {outcome:?}"),
            });
        }
    }
    if doc.version() != target {
        return Err(TraceError::Replay {
            txn,
            reason: format!(
                "replica {:?} is at {:?}, past the parents' version {target:?}: \
                 its transactions are not a causal chain",
                doc.replica(),
                doc.version()
            ),
        });
    }
    Ok(())
}

/// Agent `a` edits as replica `(a + 1) << 64`: agents order like their index.
pub fn replay_concurrent(trace: &ConcurrentTrace) -> Result<Replayed, TraceError> {
    let txns: Vec<GraphTxn<'_>> = trace
        .txns
        .iter()
        .map(|t| GraphTxn {
            parents: &t.parents,
            agent: t.agent,
            replica: ReplicaId((t.agent as u128 + 1) << 64),
            patches: &t.patches,
        })
        .collect();
    replay_graph(&txns, &trace.end)
}

/// Concurrent inserts at one place must be ordered by (agent name, seq), and
/// the core orders them by (replica, counter). An agent whose transactions
/// form a causal chain is one replica, `(rank + 1) << 64` where `rank` is the
/// agent's place among the case's sorted agent names. An agent with
/// concurrent transactions cannot be one replica (a replica's changes are a
/// chain), so each of its transactions gets its own replica
/// `(rank + 1) << 64 | seqStart`: the same order, since seqs of one agent's
/// transactions do not overlap.
pub fn replay_raw_case(case: &RawCase) -> Result<Replayed, TraceError> {
    let bad = |reason: String| TraceError::Format(reason);
    // Transaction index by the local version of its last event.
    let mut by_last: BTreeMap<usize, usize> = BTreeMap::new();
    let mut parents: Vec<Vec<usize>> = Vec::with_capacity(case.txns.len());
    for (i, t) in case.txns.iter().enumerate() {
        if t.span.0 >= t.span.1 {
            return Err(bad(format!("txn {i}: empty span {:?}", t.span)));
        }
        let ps = t
            .parents
            .iter()
            .map(|lv| {
                by_last.get(lv).copied().ok_or_else(|| {
                    bad(format!(
                        "txn {i}: parent {lv} is not the last event of an earlier txn"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        parents.push(ps);
        by_last.insert(t.span.1 - 1, i);
    }

    let names: BTreeSet<&str> = case.txns.iter().map(|t| t.agent.as_str()).collect();
    let rank = |agent: &str| names.iter().position(|n| *n == agent).expect("listed") as u128 + 1;
    let chained: BTreeSet<&str> = names
        .iter()
        .copied()
        .filter(|a| is_causal_chain(case, &parents, a))
        .collect();
    let txns: Vec<GraphTxn<'_>> = case
        .txns
        .iter()
        .zip(&parents)
        .map(|(t, parents)| GraphTxn {
            parents,
            agent: rank(&t.agent) as usize,
            replica: if chained.contains(t.agent.as_str()) {
                ReplicaId(rank(&t.agent) << 64)
            } else {
                ReplicaId(rank(&t.agent) << 64 | u128::from(t.seq_start))
            },
            patches: &t.ops,
        })
        .collect();
    replay_graph(&txns, &case.end)
}

/// Do `agent`'s transactions, in seq order, each descend from the previous?
fn is_causal_chain(case: &RawCase, parents: &[Vec<usize>], agent: &str) -> bool {
    let mut own: Vec<usize> = (0..case.txns.len())
        .filter(|&i| case.txns[i].agent == agent)
        .collect();
    own.sort_by_key(|&i| case.txns[i].seq_start);
    own.windows(2)
        .all(|w| w[0] < w[1] && is_ancestor(parents, w[0], w[1]))
}

fn is_ancestor(parents: &[Vec<usize>], ancestor: usize, of: usize) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = parents[of].clone();
    while let Some(t) = stack.pop() {
        if t == ancestor {
            return true;
        }
        if t > ancestor && seen.insert(t) {
            stack.extend(&parents[t]);
        }
    }
    false
}

/// The order in which `check_delivery` hands changes to a new document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Causal order: each change applies at once.
    Causal,
    /// Newest first: nearly every change waits in the causal buffer.
    NewestFirst,
}

/// Delivers every change of `replayed` to a new document in the given order;
/// it must end on `end` too.
pub fn check_delivery(replayed: &Replayed, end: &str, order: Delivery) -> Result<(), TraceError> {
    let mut changes = replayed.doc.changes_since(&VersionVector::new());
    if order == Delivery::NewestFirst {
        changes.reverse();
    }
    let mut doc = Document::new(ReplicaId(u128::MAX - 1)).with_pending_capacity(changes.len());
    for change in changes {
        doc.apply(change)
            .map_err(|error| TraceError::Apply { txn: 0, error })?;
    }
    if !doc.pending().is_empty() {
        return Err(TraceError::Replay {
            txn: 0,
            reason: format!(
                "{} changes still pending after delivering all",
                doc.pending().len()
            ),
        });
    }
    check_text(
        &doc,
        replayed.text,
        end,
        &format!("text after {order:?} delivery"),
    )
}

/// What `run` found.
#[derive(Debug)]
pub struct Report {
    pub ops: usize,
    pub cases: usize,
    /// Failed cases (for a single-case trace, at most one with index 0).
    pub failures: Vec<(usize, TraceError)>,
    /// Time spent replaying, not parsing or extra checks.
    pub replay: Duration,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Replays every case of `trace`, timing the replays. Then (untimed) the
/// changes of a sequential trace are delivered to another document, and those
/// of each raw (conformance) case newest-first. A panic in the core is
/// reported as a failure of its case.
pub fn run(trace: &Trace) -> Report {
    let mut failures = Vec::new();
    let mut replay = Duration::ZERO;
    let mut timed = |f: &mut dyn FnMut() -> Result<Replayed, TraceError>| {
        let started = Instant::now();
        let result = catch_panic(f);
        replay += started.elapsed();
        result
    };
    match trace {
        Trace::Sequential(t) => {
            let result = timed(&mut || replay_sequential(t)).and_then(|replayed| {
                catch_panic(&mut || check_delivery(&replayed, &t.end, Delivery::Causal))
            });
            if let Err(e) = result {
                failures.push((0, e));
            }
        }
        Trace::Concurrent(t) => {
            if let Err(e) = timed(&mut || replay_concurrent(t)) {
                failures.push((0, e));
            }
        }
        Trace::Raw(cases) => {
            for (i, case) in cases.iter().enumerate() {
                let result = timed(&mut || replay_raw_case(case)).and_then(|replayed| {
                    catch_panic(&mut || check_delivery(&replayed, &case.end, Delivery::NewestFirst))
                });
                if let Err(e) = result {
                    failures.push((i, e));
                }
            }
        }
    }
    Report {
        ops: trace.ops(),
        cases: trace.cases(),
        failures,
        replay,
    }
}

fn catch_panic<T>(f: &mut dyn FnMut() -> Result<T, TraceError>) -> Result<T, TraceError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        Err(TraceError::Panic(message))
    })
}

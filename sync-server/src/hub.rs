//! Live state of the documents that have subscribers.
//!
//! Per active document a `DocHub` holds the whole log in memory (in the order
//! it was admitted, which is a causal order), a per-replica index so that
//! "what does version V lack" costs O(missing), and the subscribers. It
//! implements `ChangeSource`, so every subscription's `SyncPeer` computes
//! what its client lacks straight from it.
//!
//! Fan-out is pull, not push: after a commit each subscriber's connection is
//! marked dirty for the document (a coalescing `Signal`, never a queue of
//! changes) and polls its `SyncPeer` when it gets to it. A slow subscriber is
//! never skipped: whenever it catches up it is sent what its version lacks.
//!
//! Admitted but not yet committed changes sit at the end of the log above the
//! `committed` mark; they are never served. The store commits jobs in
//! submission order and each submission happens under the document's lock
//! right after admission, so the committed part is always a prefix of the
//! log: the stored log stays causally closed.
//!
//! When a commit fails, the uncommitted tail is dropped (`DocState::roll_back`)
//! and the document starts a new *epoch*; the store refuses the jobs of the
//! old epoch still queued (they may depend on what was lost). The writers'
//! clients are asked for their changes again, so writes resume once the
//! store commits again.
//!
//! A document is evicted from memory when it has no subscribers and no
//! commit in flight; a document whose load failed is dropped, never served.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use concord_wire::{ChangeId, MAX_RECORD_BYTES, Record, ReplicaId, VersionVector};
use concord_wire::{ChangeSource, DocId};
use tokio::sync::{Notify, OnceCell, oneshot};

use crate::admission::{self, Held, Holdings, Verdict};
use crate::error::CommitFailed;
use crate::metrics::Metrics;
use crate::store::Store;

/// Identifies one websocket connection.
pub type ConnId = u64;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection's coalescing wake-up: the documents that changed since it
/// last looked, and a `Notify`.
#[derive(Debug, Default)]
pub struct Signal {
    dirty: Mutex<BTreeSet<DocId>>,
    notify: Notify,
}

impl Signal {
    pub fn mark(&self, doc: &DocId) {
        let mut dirty = lock(&self.dirty);
        if !dirty.contains(doc) {
            dirty.insert(doc.clone());
        }
        drop(dirty);
        self.notify.notify_one();
    }

    pub fn take(&self) -> BTreeSet<DocId> {
        std::mem::take(&mut *lock(&self.dirty))
    }

    /// Resolves once something was marked since the last `take` (a mark made
    /// before this call is not lost: `Notify` keeps a permit).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }
}

#[derive(Debug)]
struct Subscriber {
    device: ReplicaId,
    signal: Arc<Signal>,
}

/// A batch handed to the store: where it ends in the document's log and
/// the epoch it was admitted in (see `DocState::submission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submission {
    end: usize,
    epoch: u64,
}

impl Submission {
    /// The epoch the batch was admitted in: the store refuses it once a
    /// commit of that epoch (or a later one) of its document failed.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

/// Joinable records committed since the last compaction of a document's
/// rows that make it worth compacting them again (see `store.rs`).
const COMPACT_AFTER: usize = 256;

/// One document's log and subscribers.
#[derive(Debug)]
pub struct DocState {
    /// Records in admission order; `log[..committed]` is durable.
    log: Vec<Record>,
    /// Each log entry's admission ticket: increasing, never reused (also
    /// across a roll-back), so a connection can ask what was admitted since
    /// it last looked (`admitted_after`).
    tickets: Vec<u64>,
    next_ticket: u64,
    committed: usize,
    /// Version of the committed prefix (what is served and acknowledged).
    version: VersionVector,
    /// Version of the whole log, in-flight records included.
    admitted: VersionVector,
    /// Per replica, the log positions of its records, in seq order.
    index: BTreeMap<ReplicaId, Vec<usize>>,
    /// Per replica, the first seq of a committed record that continues the
    /// record before it and may be joined to it in the store; and how many
    /// such records there are since the last compaction.
    joinable: BTreeMap<ReplicaId, u64>,
    joinable_count: usize,
    subscribers: BTreeMap<ConnId, Subscriber>,
    /// Bumped whenever the subscribers change (presence is resent).
    presence_gen: u64,
    /// Commits submitted and not yet reported.
    inflight: usize,
    /// The run of uncommitted records being built; a new one (from
    /// `Hubs::next_epoch`, so never reused) after each failed commit.
    epoch: u64,
    /// When the last commit completed (for the fan-out delay metric).
    last_commit: Option<std::time::Instant>,
}

impl DocState {
    /// An empty document's state, its uncommitted changes in `epoch` (never
    /// reused: `Hubs` draws them). A hub starts with this and `install`s
    /// the stored log; so does a relay simulated without a database.
    pub fn new(epoch: u64) -> Self {
        DocState {
            log: Vec::new(),
            tickets: Vec::new(),
            next_ticket: 1,
            committed: 0,
            version: VersionVector::new(),
            admitted: VersionVector::new(),
            index: BTreeMap::new(),
            joinable: BTreeMap::new(),
            joinable_count: 0,
            subscribers: BTreeMap::new(),
            presence_gen: 0,
            inflight: 0,
            epoch,
            last_commit: None,
        }
    }

    /// The position in its replica's list of the record holding `(replica,
    /// seq)`, and that record's log position.
    fn locate(&self, replica: ReplicaId, seq: u64) -> Option<(usize, usize)> {
        let list = self.index.get(&replica)?;
        let i = list
            .partition_point(|&p| self.log[p].first_seq() <= seq)
            .checked_sub(1)?;
        let pos = list[i];
        (seq <= self.log[pos].last_seq()).then_some((i, pos))
    }

    /// Everything held, committed or in flight.
    pub fn admitted(&self) -> &VersionVector {
        &self.admitted
    }

    /// What to do with `record` (see `admission`).
    pub fn classify(&self, record: &Record) -> Verdict {
        admission::classify(record, self)
    }

    /// Appends a record `classify` called `New`. It is served only once
    /// committed (`Hubs::submit`).
    pub fn admit(&mut self, record: Record) {
        debug_assert_eq!(self.classify(&record), Verdict::New(record.clone()));
        let replica = record.replica();
        self.index.entry(replica).or_default().push(self.log.len());
        self.admitted.observe(replica, record.last_seq());
        self.log.push(record);
        self.tickets.push(self.next_ticket);
        self.next_ticket += 1;
    }

    /// The ticket the next admission gets.
    pub fn admission_mark(&self) -> u64 {
        self.next_ticket
    }

    /// The changes of the records admitted at or after `mark` (a value of
    /// `admission_mark`), by replica: O(log n + those).
    pub fn admitted_after(
        &self,
        mark: u64,
    ) -> impl Iterator<Item = (ReplicaId, RangeInclusive<u64>)> + '_ {
        let start = self.tickets.partition_point(|&t| t < mark);
        self.log[start..]
            .iter()
            .map(|r| (r.replica(), r.first_seq()..=r.last_seq()))
    }

    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        DocState::new(1)
    }

    /// Drops every record not yet committed (a commit failed) and starts
    /// epoch `epoch`. What remains is exactly what the store holds.
    fn roll_back(&mut self, epoch: u64) {
        let committed = self.committed;
        self.log.truncate(committed);
        self.tickets.truncate(committed);
        for positions in self.index.values_mut() {
            while positions.last().is_some_and(|&p| p >= committed) {
                positions.pop();
            }
        }
        self.index.retain(|_, positions| !positions.is_empty());
        self.admitted = self.version.clone();
        self.epoch = epoch;
    }

    /// Records admitted and not yet committed.
    pub fn uncommitted(&self) -> usize {
        self.log.len() - self.committed
    }

    /// When the last commit of this document completed.
    pub fn last_commit(&self) -> Option<std::time::Instant> {
        self.last_commit
    }

    /// Changes whenever the set of subscribers changes.
    pub fn presence_generation(&self) -> u64 {
        self.presence_gen
    }

    /// The devices subscribed, sorted and distinct.
    pub fn devices(&self) -> Vec<ReplicaId> {
        let mut d: Vec<ReplicaId> = self.subscribers.values().map(|s| s.device).collect();
        d.sort_unstable();
        d.dedup();
        d
    }

    /// Records committed.
    pub fn len(&self) -> usize {
        self.committed
    }

    pub fn is_empty(&self) -> bool {
        self.committed == 0
    }

    /// Adds a subscriber (presence changes).
    pub fn join(&mut self, conn: ConnId, device: ReplicaId, signal: Arc<Signal>) {
        self.subscribers.insert(conn, Subscriber { device, signal });
        self.presence_gen += 1;
    }

    /// Removes a subscriber (presence changes).
    pub fn leave(&mut self, conn: ConnId) {
        self.subscribers.remove(&conn);
        self.presence_gen += 1;
    }

    /// What the store is given with the batch just admitted: everything in
    /// the log up to here, in this epoch.
    pub fn submission(&self) -> Submission {
        Submission {
            end: self.log.len(),
            epoch: self.epoch,
        }
    }

    /// The store committed `job`: the log up to its end is durable and
    /// served from now on. Returns whether that served anything new.
    pub fn commit(&mut self, job: Submission) -> Result<bool, CommitFailed> {
        if job.epoch != self.epoch {
            // The store refuses every job of a rolled-back epoch.
            return Err(CommitFailed("inconsistent relay state".into()));
        }
        if job.end <= self.committed {
            return Ok(false);
        }
        for pos in self.committed..job.end {
            let record = &self.log[pos];
            self.version.observe(record.replica(), record.last_seq());
            if self.continues_previous(pos) {
                let first = self.joinable.entry(record.replica()).or_insert(u64::MAX);
                *first = (*first).min(record.first_seq());
                self.joinable_count += 1;
            }
        }
        self.committed = job.end;
        Ok(true)
    }

    /// Is the record at `pos` a run record that continues its replica's
    /// record before it, so the store may join the two?
    fn continues_previous(&self, pos: usize) -> bool {
        let Record::Run(run) = &self.log[pos] else {
            return false;
        };
        let Some((i, _)) = self.locate(run.replica(), run.first_seq()) else {
            return false;
        };
        let list = &self.index[&run.replica()];
        i.checked_sub(1)
            .and_then(|prev| match &self.log[list[prev]] {
                Record::Run(prev) => Some(prev),
                Record::Change(_) => None,
            })
            .is_some_and(|prev| {
                prev.continued_by(run) && prev.bytes().len() + run.bytes().len() <= MAX_RECORD_BYTES
            })
    }

    /// If enough joinable records were committed (or `all`, with any),
    /// where the store should join rows again: per replica, the first seq
    /// of a joinable record. Taken: the next ones count from zero.
    pub fn take_compaction(&mut self, all: bool) -> Option<Vec<(ReplicaId, u64)>> {
        if self.joinable_count == 0 || (!all && self.joinable_count < COMPACT_AFTER) {
            return None;
        }
        self.joinable_count = 0;
        Some(std::mem::take(&mut self.joinable).into_iter().collect())
    }

    /// The store refused `job`: if its epoch is still the current one,
    /// every uncommitted record is dropped and `next_epoch` begins (the
    /// store refuses what is still queued of the old one). Returns how
    /// many records were dropped, `None` if an earlier refusal did it.
    pub fn refuse(&mut self, job: Submission, next_epoch: impl FnOnce() -> u64) -> Option<usize> {
        if job.epoch != self.epoch {
            return None;
        }
        let dropped = self.uncommitted();
        self.roll_back(next_epoch());
        Some(dropped)
    }

    fn mark_all(&self, doc: &DocId) {
        for s in self.subscribers.values() {
            s.signal.mark(doc);
        }
    }

    /// Loads a stored log: it must be a causal order without overlaps.
    /// Into a new state (`DocState::new`) only.
    pub fn install(&mut self, records: Vec<Record>) -> Result<(), String> {
        for r in records {
            match self.classify(&r) {
                Verdict::New(new) if new == r => self.admit(r),
                other => {
                    return Err(format!(
                        "stored record {:?} {}..={} is {other:?}",
                        r.replica(),
                        r.first_seq(),
                        r.last_seq()
                    ));
                }
            }
        }
        let job = self.submission();
        self.commit(job).map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Holdings for DocState {
    fn admitted(&self) -> &VersionVector {
        &self.admitted
    }

    fn held(&self, replica: ReplicaId, seq: u64) -> Option<Held<'_>> {
        let (_, pos) = self.locate(replica, seq)?;
        Some(match &self.log[pos] {
            Record::Change(c) => Held::Change { bytes: c.bytes() },
            Record::Run(run) => {
                let s = run.segment(run.segment_of(seq)?);
                Held::Segment {
                    first_seq: s.first_seq,
                    count: s.count,
                    first_lamport: s.first_lamport,
                    deps: s.deps,
                    body: s.body,
                }
            }
        })
    }

    fn lamport(&self, id: ChangeId) -> Option<u64> {
        let (_, pos) = self.locate(id.replica, id.seq)?;
        let r = &self.log[pos];
        Some(r.first_lamport() + (id.seq - r.first_seq()))
    }
}

impl ChangeSource for DocState {
    fn version(&self) -> VersionVector {
        self.version.clone()
    }

    /// Merges the per-replica lists of records `since` lacks by log
    /// position: causal order, O(records sent · log replicas). A record
    /// the peer has the start of is sent from the segment holding the
    /// first change it lacks; a replica's records that continue one
    /// another are sent joined (up to `MAX_RECORD_BYTES`), which keeps
    /// causal order: a continuing record depends on its predecessor alone.
    fn records_since(&self, since: &VersionVector, max_bytes: usize) -> Vec<Record> {
        let mut heap = BinaryHeap::new();
        for (replica, range) in self.version.diff(since) {
            if let Some((i, pos)) = self.locate(replica, *range.start()) {
                heap.push(Reverse((pos, i, replica)));
            }
        }
        let mut out = Vec::new();
        let mut bytes = 0;
        while let Some(Reverse((pos, mut i, replica))) = heap.pop() {
            let list = &self.index[&replica];
            let mut record = match &self.log[pos] {
                Record::Run(run) if run.first_seq() <= since.get(replica) => {
                    let from = run
                        .segment_of(since.get(replica) + 1)
                        .expect("the record holds the first change missing");
                    Record::Run(run.tail(from))
                }
                other => other.clone(),
            };
            // Join what continues it, committed and small enough.
            while let Record::Run(run) = &record
                && let Some(&next) = list.get(i + 1)
                && next < self.committed
                && let Record::Run(following) = &self.log[next]
                && run.continued_by(following)
                && run.bytes().len() + following.bytes().len() <= MAX_RECORD_BYTES
            {
                record = Record::Run(run.join(following));
                i += 1;
            }
            bytes += record.bytes().len();
            out.push(record);
            if bytes >= max_bytes {
                break;
            }
            if let Some(&next) = list.get(i + 1)
                && next < self.committed
            {
                heap.push(Reverse((next, i + 1, replica)));
            }
        }
        out
    }
}

/// One active document.
#[derive(Debug)]
pub struct DocHub {
    doc: DocId,
    state: Mutex<DocState>,
    loaded: OnceCell<Result<(), String>>,
}

impl DocHub {
    pub fn doc(&self) -> &DocId {
        &self.doc
    }

    pub fn lock(&self) -> MutexGuard<'_, DocState> {
        lock(&self.state)
    }
}

/// Why a subscription could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document could not be loaded: {0}")]
pub struct LoadFailed(pub String);

/// All active documents.
#[derive(Debug)]
pub struct Hubs {
    docs: Mutex<HashMap<DocId, Arc<DocHub>>>,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    next_conn: AtomicU64,
    next_epoch: AtomicU64,
}

impl Hubs {
    pub fn new(store: Arc<Store>, metrics: Arc<Metrics>) -> Self {
        Hubs {
            docs: Mutex::new(HashMap::new()),
            store,
            metrics,
            next_conn: AtomicU64::new(1),
            next_epoch: AtomicU64::new(1),
        }
    }

    fn next_epoch(&self) -> u64 {
        self.next_epoch.fetch_add(1, Ordering::Relaxed)
    }

    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Number of documents in memory.
    pub fn active(&self) -> usize {
        lock(&self.docs).len()
    }

    /// Adds `conn` as a subscriber of `doc`, loading the document first if it
    /// is not in memory. Every subscriber is marked dirty (presence).
    pub async fn subscribe(
        self: &Arc<Self>,
        doc: &DocId,
        conn: ConnId,
        device: ReplicaId,
        signal: Arc<Signal>,
    ) -> Result<Arc<DocHub>, LoadFailed> {
        let hub = {
            let mut docs = lock(&self.docs);
            let hub = docs
                .entry(doc.clone())
                .or_insert_with(|| {
                    self.metrics
                        .active_documents
                        .fetch_add(1, Ordering::Relaxed);
                    Arc::new(DocHub {
                        doc: doc.clone(),
                        state: Mutex::new(DocState::new(self.next_epoch())),
                        loaded: OnceCell::new(),
                    })
                })
                .clone();
            hub.lock().join(conn, device, signal);
            hub
        };
        let loaded = hub
            .loaded
            .get_or_init(|| async {
                let store = Arc::clone(&self.store);
                let doc = doc.clone();
                let records = tokio::task::spawn_blocking(move || store.load(&doc))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
                let mut st = hub.lock();
                st.install(records)?;
                // Rows a crash or a restart left unjoined.
                if let Some(from) = st.take_compaction(false) {
                    self.store.compact(&hub.doc, from);
                }
                Ok(())
            })
            .await;
        if let Err(e) = loaded {
            tracing::error!(doc = %doc, error = %e, "document failed to load; not serving it");
            hub.lock().leave(conn);
            // Drop the failed hub so a later subscribe tries again.
            let mut docs = lock(&self.docs);
            if docs.get(doc).is_some_and(|h| Arc::ptr_eq(h, &hub)) {
                docs.remove(doc);
                self.metrics
                    .active_documents
                    .fetch_sub(1, Ordering::Relaxed);
            }
            return Err(LoadFailed(e.clone()));
        }
        hub.lock().mark_all(doc);
        Ok(hub)
    }

    /// Removes `conn` from `hub`'s subscribers (presence goes to the others)
    /// and evicts the document if nobody is left.
    pub fn unsubscribe(&self, hub: &Arc<DocHub>, conn: ConnId) {
        let idle = {
            let mut st = hub.lock();
            st.leave(conn);
            st.mark_all(&hub.doc);
            st.subscribers.is_empty() && st.inflight == 0
        };
        if idle {
            self.evict_if_idle(hub);
        }
    }

    fn evict_if_idle(&self, hub: &Arc<DocHub>) {
        let mut docs = lock(&self.docs);
        if let Some(h) = docs.get(&hub.doc)
            && Arc::ptr_eq(h, hub)
        {
            let mut st = h.lock();
            if st.subscribers.is_empty() && st.inflight == 0 {
                // Leaving memory: join what is left to join in the store.
                if let Some(from) = st.take_compaction(true) {
                    self.store.compact(&hub.doc, from);
                }
                drop(st);
                docs.remove(&hub.doc);
                self.metrics
                    .active_documents
                    .fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Sends the records just admitted into `st` (all of `hub`, under its
    /// lock) to the store. Once they are committed every subscriber is marked
    /// dirty and the receiver gets the committed version (for the Ack). If
    /// the commit fails, every uncommitted record of the document is dropped
    /// (their writers send them again) and the receiver gets the failure.
    /// Once enough committed records could be joined to the ones before
    /// them, the store is asked to compact the document's rows.
    pub fn submit(
        self: &Arc<Self>,
        hub: &Arc<DocHub>,
        st: &mut DocState,
        records: Vec<Record>,
    ) -> oneshot::Receiver<Result<VersionVector, CommitFailed>> {
        let (tx, rx) = oneshot::channel();
        let job = st.submission();
        let n: u64 = records.iter().map(Record::count).sum();
        let rows = records.len() as u64;
        st.inflight += 1;
        let hubs = Arc::clone(self);
        let hub2 = Arc::clone(hub);
        let submitted = self.store.submit(
            hub.doc.clone(),
            job.epoch,
            records,
            Box::new(move |result| {
                // On the writer thread: never while `submit`'s caller holds the lock.
                let mut st = hub2.lock();
                st.inflight -= 1;
                let reply = match result {
                    Ok(()) => match st.commit(job) {
                        Ok(served) => {
                            if served {
                                st.last_commit = Some(std::time::Instant::now());
                                st.mark_all(&hub2.doc);
                            }
                            Metrics::add(&hubs.metrics.changes_stored, n);
                            Metrics::add(&hubs.metrics.records_stored, rows);
                            if let Some(from) = st.take_compaction(false) {
                                hubs.store.compact(&hub2.doc, from);
                            }
                            Ok(st.version.clone())
                        }
                        Err(e) => {
                            tracing::error!(doc = %hub2.doc, "a commit of a rolled-back epoch succeeded");
                            Err(e)
                        }
                    },
                    Err(e) => {
                        if let Some(dropped) = st.refuse(job, || hubs.next_epoch()) {
                            tracing::warn!(doc = %hub2.doc, dropped, "commit failed; uncommitted records dropped");
                        }
                        Err(e)
                    }
                };
                let idle = st.subscribers.is_empty() && st.inflight == 0;
                drop(st);
                if idle {
                    hubs.evict_if_idle(&hub2);
                }
                let _ = tx.send(reply);
            }),
        );
        if let Err(e) = submitted {
            // The store is closed (shutting down): nothing was queued, and
            // the completion (with `tx`) is dropped unrun, so `rx` reports
            // the failure.
            tracing::warn!(doc = %hub.doc, error = %e, "not stored");
            st.inflight -= 1;
            st.roll_back(self.next_epoch());
        }
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::{Document, ObjId, ObjType};
    use tokio::sync::oneshot;

    fn edits(replica: u128, n: i64, base: Option<&Document>) -> (Document, Vec<Record>) {
        let mut d = base.map_or_else(
            || Document::new(ReplicaId(replica)),
            |b| b.fork(ReplicaId(replica)),
        );
        let cs = (0..n)
            .map(|i| {
                let mut tx = d.transaction();
                tx.put(ObjId::Root, "k", i).unwrap();
                Record::Change(tx.commit().unwrap())
            })
            .collect();
        (d, cs)
    }

    /// `n` keystrokes of `replica`, each a run record of one (as a device
    /// sends typing as it is typed), after a change that makes the text.
    fn keystrokes(replica: u128, n: usize) -> Vec<Record> {
        let mut d = Document::new(ReplicaId(replica));
        let mut tx = d.transaction();
        let text = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
        tx.commit();
        let mut out = d.records_since(&VersionVector::new(), usize::MAX);
        for i in 0..n {
            let before = d.version().clone();
            let mut tx = d.transaction();
            tx.insert_text(text, i, "k").unwrap();
            tx.commit();
            out.extend(d.records_since(&before, usize::MAX));
        }
        out
    }

    #[test]
    fn changes_since_returns_exactly_what_is_missing_in_causal_order() {
        let (a, a_changes) = edits(1, 3, None);
        let (_, b_changes) = edits(2, 2, Some(&a));
        let mut st = DocState::new(1);
        st.install(a_changes.iter().chain(&b_changes).cloned().collect())
            .unwrap();
        let all = st.records_since(&VersionVector::new(), usize::MAX);
        assert_eq!(all.len(), 5);
        let mut doc = Document::new(ReplicaId(9));
        for c in &all {
            assert!(c.first_header().is_ready(doc.version()), "causal order");
            assert!(doc.apply_records([c.clone()]).refused.is_empty());
        }
        let mut since = VersionVector::new();
        since.observe(ReplicaId(1), 2);
        let missing = st.records_since(&since, usize::MAX);
        let ids: Vec<_> = missing.iter().flat_map(Record::ids).collect();
        assert_eq!(
            ids,
            vec![
                ChangeId::new(ReplicaId(1), 3),
                ChangeId::new(ReplicaId(2), 1),
                ChangeId::new(ReplicaId(2), 2)
            ]
        );
        assert_eq!(st.records_since(&since, 1).len(), 1, "bounded batches");
        assert!(st.records_since(st.admitted(), usize::MAX).is_empty());
    }

    /// A peer that holds part of one stored segment (a device's typing
    /// uploaded as one record) is sent that segment whole: it keeps the
    /// changes it has, adds the rest, and loses and doubles nothing.
    #[test]
    fn a_peer_with_part_of_a_stored_segment_gets_the_rest_without_loss_or_doubles() {
        let mut typed = Document::new(ReplicaId(3));
        let mut tx = typed.transaction();
        let text = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
        tx.commit();
        for i in 0..100 {
            let mut tx = typed.transaction();
            tx.insert_text(text, i, if i % 7 == 0 { "é" } else { "k" })
                .unwrap();
            tx.commit();
        }
        let uploaded = typed.records_since(&VersionVector::new(), usize::MAX);
        assert_eq!(
            uploaded.len(),
            2,
            "the text's creation, one record of typing"
        );
        let mut st = DocState::new(1);
        st.install(uploaded.clone()).unwrap();

        // The peer has the creation and the first 50 keystrokes.
        let mut peer = Document::new(ReplicaId(9));
        let mut half = VersionVector::new();
        half.observe(ReplicaId(3), 51);
        peer.apply_records(typed.records_between(&VersionVector::new(), &half, usize::MAX));
        assert_eq!(peer.version().get(ReplicaId(3)), 51);

        let served = st.records_since(peer.version(), usize::MAX);
        let ids: Vec<ChangeId> = served.iter().flat_map(Record::ids).collect();
        assert!(
            ids.contains(&ChangeId::new(ReplicaId(3), 52))
                && ids.contains(&ChangeId::new(ReplicaId(3), 101)),
            "everything the peer lacks"
        );
        let first = served[0].first_seq();
        assert!(
            first <= 51,
            "the cut lies inside a segment, so known changes come along"
        );
        let outcome = peer.apply_records(served);
        assert!(outcome.refused.is_empty(), "{outcome:?}");
        assert_eq!(outcome.applied, 50, "each change it lacked, once");
        assert_eq!(
            outcome.duplicates,
            52 - first,
            "what it had, not applied again"
        );
        assert!(peer.save() == typed.save(), "nothing lost, nothing doubled");
        assert_eq!(peer.version(), typed.version());
        assert_eq!(
            peer.key_text(ObjId::Root, "t").to_string(),
            typed.key_text(ObjId::Root, "t").to_string()
        );
    }

    #[test]
    fn typing_stored_a_keystroke_a_record_is_served_joined_and_from_where_the_peer_is() {
        let records = keystrokes(3, 500);
        let mut st = DocState::new(1);
        st.install(records.clone()).unwrap();
        assert_eq!(st.len(), 501, "a record per keystroke, as received");
        let served = st.records_since(&VersionVector::new(), usize::MAX);
        assert_eq!(served.len(), 2, "the text's creation, then one joined run");
        let mut doc = Document::new(ReplicaId(9));
        assert!(doc.apply_records(served).refused.is_empty());
        let mut one_by_one = Document::new(ReplicaId(9));
        one_by_one.apply_records(records);
        assert!(doc == one_by_one);
        assert!(doc.save() == one_by_one.save());
        // A peer with the first 200 keystrokes is sent the rest, from the
        // segment it lacks.
        let mut since = VersionVector::new();
        since.observe(ReplicaId(3), 201);
        let rest = st.records_since(&since, usize::MAX);
        assert_eq!(rest.len(), 1);
        assert_eq!((rest[0].first_seq(), rest[0].last_seq()), (202, 501));
        // Uncommitted records are never joined in.
        let more = keystrokes(3, 501).pop().unwrap();
        st.admit(more);
        assert_eq!(st.records_since(&since, usize::MAX)[0].last_seq(), 501);
    }

    #[test]
    fn committed_records_that_continue_the_one_before_ask_for_a_compaction() {
        let records = keystrokes(3, COMPACT_AFTER + 1);
        let mut st = DocState::new(1);
        st.install(records[..2].to_vec()).unwrap();
        assert_eq!(st.take_compaction(true), None, "the first run starts a row");
        for r in &records[2..] {
            st.admit(r.clone());
        }
        assert_eq!(st.take_compaction(false), None, "nothing committed yet");
        let job = st.submission();
        st.commit(job).unwrap();
        assert_eq!(
            st.take_compaction(false),
            Some(vec![(ReplicaId(3), 3)]),
            "from the second keystroke on"
        );
        assert_eq!(st.take_compaction(true), None, "taken");
    }

    #[test]
    fn uncommitted_changes_are_not_served() {
        let (_, cs) = edits(1, 2, None);
        let mut st = DocState::new(1);
        st.install(cs[..1].to_vec()).unwrap();
        assert_eq!(st.classify(&cs[1]), Verdict::New(cs[1].clone()));
        st.admit(cs[1].clone());
        assert_eq!(st.classify(&cs[1]), Verdict::Duplicate);
        assert_eq!(st.records_since(&VersionVector::new(), usize::MAX).len(), 1);
        assert_eq!(st.version().total(), 1);
    }

    #[test]
    fn a_stored_log_out_of_causal_order_is_refused() {
        let (_, cs) = edits(1, 2, None);
        let mut st = DocState::new(1);
        assert!(st.install(vec![cs[1].clone(), cs[0].clone()]).is_err());
    }

    fn hub_of(hubs: &Arc<Hubs>, doc: &str) -> Arc<DocHub> {
        let doc = DocId::new(doc).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(hubs.subscribe(&doc, 1, ReplicaId(1), Arc::new(Signal::default())))
            .unwrap()
    }

    /// Admits `cs` into `hub` and submits them, as a connection does.
    fn write(
        hubs: &Arc<Hubs>,
        hub: &Arc<DocHub>,
        cs: &[Record],
    ) -> oneshot::Receiver<Result<VersionVector, CommitFailed>> {
        let mut st = hub.lock();
        for c in cs {
            st.admit(c.clone());
        }
        hubs.submit(hub, &mut st, cs.to_vec())
    }

    #[test]
    fn a_commit_refused_by_the_store_does_not_deadlock_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let hubs = Arc::new(Hubs::new(Arc::clone(&store), Arc::default()));
        let hub = hub_of(&hubs, "d");
        store.close();
        let (_, cs) = edits(1, 1, None);
        let (tx, rx) = std::sync::mpsc::channel();
        let writer = {
            let (hubs, hub) = (Arc::clone(&hubs), Arc::clone(&hub));
            std::thread::spawn(move || {
                let reply = write(&hubs, &hub, &cs).blocking_recv();
                let _ = tx.send(reply.map(|r| r.is_ok()));
            })
        };
        let reply = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the writer is not stuck on its own lock");
        assert_ne!(reply, Ok(true), "nothing was stored");
        writer.join().unwrap();
        let st = hub.lock();
        assert_eq!((st.uncommitted(), st.admitted().total()), (0, 0));
    }

    #[test]
    fn a_failed_commit_drops_the_uncommitted_changes_and_later_writes_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let options = crate::store::StoreOptions {
            max_page_count: Some(30),
        };
        let store = Arc::new(Store::open_with(dir.path(), options).unwrap());
        let hubs = Arc::new(Hubs::new(Arc::clone(&store), Arc::default()));
        let hub = hub_of(&hubs, "d");
        let mut d = Document::new(ReplicaId(1));
        let big = "x".repeat(8000);
        let mut stored = 0;
        let refused = loop {
            let mut tx = d.transaction();
            tx.put(ObjId::Root, "k", big.as_str()).unwrap();
            let c = Record::Change(tx.commit().unwrap());
            match write(&hubs, &hub, std::slice::from_ref(&c)).blocking_recv() {
                Ok(Ok(_)) => stored += 1,
                _ => break c,
            }
            assert!(stored < 100, "30 pages never hold 800 KB");
        };
        {
            let st = hub.lock();
            assert_eq!(st.uncommitted(), 0, "the refused change is dropped");
            assert_eq!(st.admitted().total(), stored);
            assert_eq!(st.version().total(), stored, "and never served");
            assert_eq!(
                st.classify(&refused),
                Verdict::New(refused.clone()),
                "it may come again"
            );
        }
        assert_eq!(store.health(), crate::store::Health::Failing);
        // Space is freed: the same change is stored, no restart.
        let other = rusqlite::Connection::open(dir.path().join(crate::store::DB_FILE)).unwrap();
        other
            .execute("DELETE FROM records WHERE first_seq = 1", [])
            .unwrap();
        let version = write(&hubs, &hub, &[refused])
            .blocking_recv()
            .unwrap()
            .expect("stored once there is room");
        assert_eq!(version.total(), stored + 1);
        assert!(store.is_healthy());
    }
}

//! What the relay needs from its durable log, whatever holds it: the
//! `LogStore` trait, and its implementation for the embedded SQLite store
//! (`store.rs`, the default). `postgres.rs` implements it on PostgreSQL, so
//! that several relays can share one database (`fanout.rs` then brings each
//! relay what the others committed).
//!
//! The contract every implementation keeps:
//! - `load` returns a document's stored records in a causal order, without
//!   duplicates; an unknown document is empty.
//! - `submit` queues changes that the hub admitted (new to it and causally
//!   ready on top of what it holds); `done` runs later, never inside
//!   `submit`, once they are durable (`Ok`) or refused (`Err`), in
//!   submission order. Nothing is reported `Ok` before the database
//!   committed it.
//! - After a refused job of a document, its queued jobs from the same or an
//!   earlier epoch are refused too (they may depend on what was lost).
//! - `health` says whether writes are taken (`/healthz`).

use std::collections::BTreeMap;

use concord_wire::{DocId, Record, ReplicaId};

use crate::error::StoreError;
use crate::store::{CommitStats, Health, OnCommit, Store};

/// A relay's durable log of changes per document.
pub trait LogStore: Send + Sync + std::fmt::Debug {
    /// Every stored record of `doc`, in a causal order. Blocking: call from
    /// a blocking thread (`tokio::task::spawn_blocking`).
    fn load(&self, doc: &DocId) -> Result<Vec<Record>, StoreError>;

    /// Queues `records` of `doc` (admitted in `epoch`) for the next group
    /// commit; `done` runs once they committed or failed. Never blocks and
    /// never runs `done` itself: a closed store returns `Err(Closed)` and
    /// drops `done` unrun.
    fn submit(
        &self,
        doc: DocId,
        epoch: u64,
        records: Vec<Record>,
        done: OnCommit,
    ) -> Result<(), StoreError>;

    /// Joins `doc`'s stored run records that continue one another, for
    /// each replica from the seq given on. Best effort, never blocks.
    fn compact(&self, doc: &DocId, from: Vec<(ReplicaId, u64)>);

    /// Whether writes are taken.
    fn health(&self) -> Health;

    /// Commits so far and the time they took.
    fn stats(&self) -> &CommitStats;

    /// Commits what is queued, then stops; later submits fail. Blocking.
    fn close(&self);
}

impl LogStore for Store {
    fn load(&self, doc: &DocId) -> Result<Vec<Record>, StoreError> {
        Store::load(self, doc)
    }

    fn compact(&self, doc: &DocId, from: Vec<(ReplicaId, u64)>) {
        Store::compact(self, doc, from);
    }

    fn submit(
        &self,
        doc: DocId,
        epoch: u64,
        records: Vec<Record>,
        done: OnCommit,
    ) -> Result<(), StoreError> {
        Store::submit(self, doc, epoch, records, done)
    }

    fn health(&self) -> Health {
        Store::health(self)
    }

    fn stats(&self) -> &CommitStats {
        Store::stats(self)
    }

    fn close(&self) {
        Store::close(self);
    }
}

/// A commit job as the fences see it: its document and the hub's epoch
/// it was submitted in.
pub(crate) trait Fenced {
    fn doc(&self) -> &DocId;
    fn epoch(&self) -> u64;
}

impl<T: Fenced> Fenced for &T {
    fn doc(&self) -> &DocId {
        (*self).doc()
    }

    fn epoch(&self) -> u64 {
        (*self).epoch()
    }
}

/// Refuses jobs that may depend on a failed commit: per document, the
/// newest epoch that had a commit fail (see `store.rs`'s module docs).
/// Both stores' writers keep one.
#[derive(Debug, Default)]
pub(crate) struct Fences(pub(crate) BTreeMap<DocId, u64>);

impl Fences {
    pub(crate) fn refuses(&self, job: &impl Fenced) -> bool {
        self.0.get(job.doc()).is_some_and(|&e| job.epoch() <= e)
    }

    pub(crate) fn failed(&mut self, job: &impl Fenced) {
        let e = self.0.entry(job.doc().clone()).or_insert(job.epoch());
        *e = (*e).max(job.epoch());
    }

    /// A job of a newer epoch committed: no older job can follow it.
    pub(crate) fn committed(&mut self, job: &impl Fenced) {
        if self.0.get(job.doc()).is_some_and(|&e| job.epoch() > e) {
            self.0.remove(job.doc());
        }
    }
}

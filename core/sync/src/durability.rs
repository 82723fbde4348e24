//! Which of a document's changes this device has stored, and which are only
//! in memory yet.
//!
//! A client must never send or acknowledge what a crash (or a reload) could
//! lose: the version it announces, the changes it uploads and the version it
//! acknowledges all come from what is durable. The native client and the
//! browser both keep one of these per document; only how they store differs.
//!
//! What is stored is a version: the store holds a causally closed set of
//! changes (a snapshot and the changes appended after it, each save
//! causally closed on top of the last), and the document's version less
//! that one is what waits for saving. Nothing is kept per change, so a
//! device that receives a long history in a few records does no work per
//! keystroke to know what to save.

use concord_core::{ApplyError, ChangeId, Document, EncodedChange, Record, VersionVector};

/// What `Durability::apply_received` did with a peer's records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// How many changes were applied (held ones they released included).
    pub applied: u64,
    /// Changes refused, the document unchanged by them, with why.
    pub refused: Vec<(ChangeId, ApplyError)>,
    /// Applied changes whose ops could not be read or applied: each became
    /// an empty change (`Document::unreadable` says why).
    pub unreadable: Vec<ChangeId>,
}

#[derive(Clone, Debug, Default)]
pub struct Durability {
    /// What the device's store holds.
    durable: VersionVector,
}

impl Durability {
    /// Everything `doc` holds is already stored.
    pub fn stored(doc: &Document) -> Self {
        Durability {
            durable: doc.version().clone(),
        }
    }

    /// Nothing of `doc` is stored yet: all of its changes wait for saving.
    pub fn nothing_stored(_doc: &Document) -> Self {
        Durability {
            durable: VersionVector::new(),
        }
    }

    /// Applies records received from a peer to `doc` (a change that cannot
    /// be applied is refused, the document unchanged by it, and the rest go
    /// on); what was applied waits for saving.
    pub fn apply_received(
        &mut self,
        doc: &mut Document,
        records: impl IntoIterator<Item = Record>,
    ) -> Received {
        let outcome = doc.apply_records(records);
        let mut refused = outcome.refused;
        refused.extend(outcome.rejected);
        Received {
            applied: outcome.applied,
            refused,
            unreadable: outcome.unreadable,
        }
    }

    /// How many of `doc`'s changes are applied and not stored.
    pub fn unsaved(&self, doc: &Document) -> u64 {
        doc.version().count_missing_from(&self.durable)
    }

    /// The changes of `doc` not stored, in causal order: what to append
    /// after those stored.
    pub fn unsaved_changes(&self, doc: &Document) -> Vec<EncodedChange> {
        doc.changes_since(&self.durable)
    }

    /// Everything in `version` (a version of the document taken when the
    /// save was handed out) is now stored.
    pub fn saved(&mut self, version: &VersionVector) {
        self.durable.merge(version);
    }

    /// What the store holds: the version to announce and acknowledge.
    pub fn durable(&self) -> &VersionVector {
        &self.durable
    }

    /// `doc`'s stored changes that `since` lacks, as records, at most
    /// about `max_bytes` (what a `ChangeSource` hands to the sync
    /// protocol).
    pub fn records_since(
        &self,
        doc: &Document,
        since: &VersionVector,
        max_bytes: usize,
    ) -> Vec<Record> {
        doc.records_between(since, &self.durable, max_bytes)
    }
}

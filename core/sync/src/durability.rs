//! Which of a document's changes this device has stored, and which are only
//! in memory yet.
//!
//! A client must never send or acknowledge what a crash (or a reload) could
//! lose: the version it announces, the changes it uploads and the version it
//! acknowledges all come from what is durable. The native client and the
//! browser both keep one of these per document; only how they store differs.

use concord_core::{ApplyError, ChangeId, Document, EncodedChange, VersionVector};

/// What `Durability::apply_received` did with a peer's changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// How many changes were applied (held ones they released included).
    pub applied: usize,
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
    /// Applied in memory, not yet stored, in the order applied.
    unsaved: Vec<EncodedChange>,
}

impl Durability {
    /// Everything `doc` holds is already stored.
    pub fn stored(doc: &Document) -> Self {
        Durability {
            durable: doc.version().clone(),
            unsaved: Vec::new(),
        }
    }

    /// Nothing of `doc` is stored yet: all of its changes wait for saving.
    pub fn nothing_stored(doc: &Document) -> Self {
        Durability {
            durable: VersionVector::new(),
            unsaved: doc.changes_since(&VersionVector::new()),
        }
    }

    /// Takes changes applied to the document (in the order applied) to be
    /// saved.
    pub fn applied(&mut self, changes: impl IntoIterator<Item = EncodedChange>) {
        self.unsaved.extend(changes);
    }

    /// Applies changes received from a peer to `doc` one by one (a bad one
    /// is refused and skipped, the document unchanged by it) and queues what
    /// was applied, held changes it released included, for saving.
    pub fn apply_received(
        &mut self,
        doc: &mut Document,
        changes: impl IntoIterator<Item = EncodedChange>,
    ) -> Received {
        let mut applied = Vec::new();
        let mut out = Received::default();
        for change in changes {
            let id = change.id();
            match doc.apply(change) {
                Ok(outcome) => {
                    applied.extend(outcome.applied);
                    out.refused.extend(outcome.rejected);
                    out.unreadable.extend(outcome.unreadable);
                }
                Err(e) => out.refused.push((id, e)),
            }
        }
        out.applied = applied.len();
        self.applied(applied.into_iter().filter_map(|id| doc.change(id)));
        out
    }

    /// The changes waiting to be saved, in the order applied.
    pub fn unsaved(&self) -> &[EncodedChange] {
        &self.unsaved
    }

    /// The first `count` unsaved changes are now stored.
    pub fn saved(&mut self, count: usize) {
        let count = count.min(self.unsaved.len());
        for c in self.unsaved.drain(..count) {
            self.durable.observe(c.id().replica, c.id().seq);
        }
    }

    /// What the store holds: the version to announce and acknowledge.
    pub fn durable(&self) -> &VersionVector {
        &self.durable
    }

    /// `doc`'s stored changes that `since` lacks, at most about `max_bytes`
    /// (what a `ChangeSource` hands to the sync protocol).
    pub fn changes_since(
        &self,
        doc: &Document,
        since: &VersionVector,
        max_bytes: usize,
    ) -> Vec<EncodedChange> {
        let mut batch = doc.changes_since_limited(since, max_bytes);
        if !self.unsaved.is_empty() {
            // Saving is in apply order, so the stored changes stay causally
            // closed and dropping the others keeps the batch sendable.
            batch.retain(|c| self.durable.contains(c.id()));
        }
        batch
    }
}

//! One document a device holds open: the CRDT state, its token, which of
//! its changes the store holds, the save in flight, and what the relay
//! confirmed.

use std::collections::BTreeMap;
use std::time::Duration;

use concord_core::{ChangeId, Document, Record, ReplicaId, VersionVector};
use concord_wire::{ChangeSource, DocId, DocumentSet, SyncStatus};

use crate::durability::Durability;
use crate::save::{Compaction, SaveId, SaveWhat};

/// What the store's copy of a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreCopy {
    /// A snapshot (or none) and this many change records after it.
    Records(usize),
    /// Nothing yet: the first save is a whole snapshot.
    Nothing,
    /// Out of date as a whole: our changes from `forged` on were re-made
    /// as `remade` changes of `replica`, and the next save replaces the
    /// stored document.
    Reissued {
        replica: ReplicaId,
        forged: ChangeId,
        remade: usize,
    },
}

/// The save handed out and not yet reported.
#[derive(Clone, Debug)]
pub(crate) struct InFlight {
    pub(crate) id: SaveId,
    /// It covers the document's changes of this version (all it had when
    /// the save was handed out).
    pub(crate) version: VersionVector,
    /// Taken from this generation of the document (a reissue starts a new
    /// one; a report for an older one only ends the flight).
    pub(crate) generation: u64,
    /// What the store's copy is once it lands.
    pub(crate) lands_as: StoreCopy,
}

/// A status and since when the document has been moving.
#[derive(Clone, Debug)]
pub(crate) struct Tracked {
    pub(crate) status: SyncStatus,
    /// When the document last moved: it started waiting on the relay
    /// (subscribing or syncing), or a frame for its answered subscription
    /// arrived. Local edits while syncing do not count. A document waiting
    /// on the relay that has not moved for a while is stalled.
    pub(crate) moved: Duration,
}

#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) doc: Document,
    pub(crate) token: String,
    /// What the store holds and what waits for saving.
    pub(crate) durability: Durability,
    pub(crate) copy: StoreCopy,
    pub(crate) in_flight: Option<InFlight>,
    pub(crate) generation: u64,
    /// False after a failed save, until something changes or the driver
    /// retries: a store that fails is not asked again in a loop.
    pub(crate) may_save: bool,
    /// Every version the relay has confirmed storing, across connections.
    pub(crate) relay_acked: VersionVector,
    pub(crate) tracked: Option<Tracked>,
}

impl Held {
    pub(crate) fn new(
        doc: Document,
        token: String,
        durability: Durability,
        copy: StoreCopy,
    ) -> Self {
        Held {
            doc,
            token,
            durability,
            copy,
            in_flight: None,
            generation: 0,
            may_save: true,
            relay_acked: VersionVector::new(),
            tracked: None,
        }
    }

    /// The next write for the store, unless one is in flight, saving is
    /// held back after a failure, or nothing waits.
    pub(crate) fn take_save(&mut self, id: SaveId, compaction: Compaction) -> Option<SaveWhat> {
        let count = usize::try_from(self.durability.unsaved(&self.doc)).unwrap_or(usize::MAX);
        let owed = matches!(self.copy, StoreCopy::Reissued { .. });
        if self.in_flight.is_some() || !self.may_save || (count == 0 && !owed) {
            return None;
        }
        let (what, lands_as) = match self.copy {
            StoreCopy::Reissued { replica, .. } => (
                SaveWhat::Replace {
                    snapshot: self.doc.save(),
                    replica,
                },
                StoreCopy::Records(0),
            ),
            StoreCopy::Nothing => (SaveWhat::Snapshot(self.doc.save()), StoreCopy::Records(0)),
            StoreCopy::Records(n) if compaction.snapshot_due(n, count) => {
                (SaveWhat::Snapshot(self.doc.save()), StoreCopy::Records(0))
            }
            StoreCopy::Records(n) => (
                SaveWhat::Append(self.durability.unsaved_changes(&self.doc)),
                StoreCopy::Records(n + count),
            ),
        };
        self.in_flight = Some(InFlight {
            id,
            version: self.doc.version().clone(),
            generation: self.generation,
            lands_as,
        });
        Some(what)
    }

    /// Our replica's changes the relay has not confirmed storing, over
    /// every connection.
    pub(crate) fn unsent(&self) -> u64 {
        let own = self.doc.replica();
        self.doc
            .version()
            .get(own)
            .saturating_sub(self.relay_acked.get(own))
    }
}

impl ChangeSource for Held {
    fn version(&self) -> VersionVector {
        self.durability.durable().clone()
    }

    fn records_since(&self, since: &VersionVector, max_bytes: usize) -> Vec<Record> {
        self.durability.records_since(&self.doc, since, max_bytes)
    }

    fn own_replica(&self) -> Option<ReplicaId> {
        Some(self.doc.replica())
    }
}

/// The open documents by id.
#[derive(Debug, Default)]
pub(crate) struct Docs(pub(crate) BTreeMap<DocId, Held>);

impl DocumentSet for Docs {
    fn change_source(&self, doc: &DocId) -> Option<&dyn ChangeSource> {
        self.0.get(doc).map(|h| h as &dyn ChangeSource)
    }
}

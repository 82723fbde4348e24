//! What a device asks its store to write, and when a write is a snapshot.
//!
//! The device hands out one `Save` per document at a time
//! (`Device::poll_save`); the driver writes it, all or nothing, and reports
//! `Device::saved` or `Device::save_failed` with its id. Only what the store
//! holds is announced, sent or acknowledged, so a slow store (IndexedDB)
//! delays syncing and a failed one stops it, never the other way round.

use concord_core::{EncodedChange, ReplicaId};
use concord_wire::DocId;

/// Names one save handed out by `Device::poll_save`, for the report back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SaveId(pub u64);

/// One write for the driver to make durable, all or nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Save {
    pub id: SaveId,
    pub doc: DocId,
    pub what: SaveWhat,
}

/// What a `Save` writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveWhat {
    /// Append these change records after those stored, in this order (each
    /// batch is causally closed on top of what is stored).
    Append(Vec<EncodedChange>),
    /// Make these bytes (`Document::save`) the document's snapshot and drop
    /// every change record stored for it: the snapshot covers them. Also
    /// the first save of a document nothing of which is stored yet.
    Snapshot(Vec<u8>),
    /// As `Snapshot`, and the document is edited as `replica` from now on:
    /// keep it with the document and hand it back in
    /// `StoredDocument::replica`. After someone forged this device's id in
    /// the document and our changes were re-made (`Document::reissue`).
    Replace {
        snapshot: Vec<u8>,
        replica: ReplicaId,
    },
}

/// When a save is a snapshot rather than change records, for every device
/// alike: once a document's change records after its snapshot would pass
/// `max_records`, so that opening it reads one compact blob and a few
/// changes rather than replaying thousands of keystrokes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compaction {
    pub max_records: usize,
}

impl Compaction {
    pub const DEFAULT_MAX_RECORDS: usize = 1000;

    /// Whether a store holding `stored` records after its snapshot should
    /// get a snapshot rather than `adding` more.
    pub fn snapshot_due(self, stored: usize, adding: usize) -> bool {
        stored.saturating_add(adding) > self.max_records
    }
}

impl Default for Compaction {
    fn default() -> Self {
        Compaction {
            max_records: Self::DEFAULT_MAX_RECORDS,
        }
    }
}

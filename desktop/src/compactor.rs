//! Compaction on a thread of its own, never on the window's.
//!
//! The window's sync client is started with compaction off
//! (`replicas::start_client`): a snapshot made inside `Client::edit` cost
//! the frame that typed the 1,000th keystroke over a second on a long
//! note. Instead this thread looks at the store every few seconds, and for
//! a document with more than `Compaction::DEFAULT_MAX_RECORDS` change
//! records after its snapshot it
//! 1. reads the snapshot and the records (`Pending::read`, under the
//!    store's lock, a copy of bytes);
//! 2. builds the document from them and saves it (`Pending::build`, no
//!    lock held: typing and syncing go on);
//! 3. writes the new snapshot and drops the records it covers, in one
//!    SQLite transaction, only if the stored snapshot is still the one it
//!    read (`Built::commit`).
//!
//! Crash safety: the store changes only in step 3's transaction, so a quit
//! or a kill at any moment leaves either the old snapshot and every record,
//! or the new snapshot and the records it does not cover (those appended
//! meanwhile). A committed change is never lost.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use concord_client::{Compaction, StoredDocument};
use concord_core::VersionVector;
use concord_wire::DocId;

use crate::replicas::SharedStore;
use crate::store::StoreError;

/// How often the thread looks at the store.
const EVERY: Duration = Duration::from_secs(3);

/// Why a compaction did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored document {doc} cannot be built: {detail}")]
    Load { doc: DocId, detail: String },
}

/// A document's stored parts, read for compaction.
#[derive(Debug)]
pub struct Pending {
    id: DocId,
    parts: crate::store::StoredParts,
}

/// A compaction built and not yet written.
#[derive(Debug)]
pub struct Built {
    id: DocId,
    base: Option<Vec<u8>>,
    snapshot: Vec<u8>,
    covers: VersionVector,
}

impl Pending {
    /// Step 1: a copy of what the store holds of `id`, if it holds it.
    pub fn read(store: &SharedStore, id: &DocId) -> Result<Option<Pending>, CompactError> {
        Ok(store.parts(id)?.map(|parts| Pending {
            id: id.clone(),
            parts,
        }))
    }

    /// Step 2: the document these parts make, saved. Touches no store.
    pub fn build(self) -> Result<Built, CompactError> {
        let Pending { id, parts } = self;
        let base = parts.snapshot.clone();
        let stored = StoredDocument {
            snapshot: parts.snapshot,
            changes: parts.changes,
            replica: Some(parts.replica),
            ..StoredDocument::default()
        };
        let doc = stored
            .into_document(parts.replica)
            .map_err(|e| CompactError::Load {
                doc: id.clone(),
                detail: e.to_string(),
            })?;
        Ok(Built {
            id,
            base,
            snapshot: doc.save(),
            covers: doc.version().clone(),
        })
    }
}

impl Built {
    /// Step 3: writes the snapshot and drops the records it covers, unless
    /// the stored snapshot changed since step 1. Returns whether it wrote.
    pub fn commit(self, store: &SharedStore) -> Result<bool, CompactError> {
        Ok(store.compact_if_unchanged(
            &self.id,
            self.base.as_deref(),
            &self.snapshot,
            &self.covers,
        )?)
    }
}

/// Compacts every stored document with more than `max_records` change
/// records after its snapshot. Returns the documents compacted.
pub fn compact_due(store: &SharedStore, max_records: usize) -> Result<Vec<DocId>, CompactError> {
    let mut done = Vec::new();
    for (id, records) in store.records_after_snapshots()? {
        if usize::try_from(records).unwrap_or(usize::MAX) <= max_records {
            continue;
        }
        let Some(pending) = Pending::read(store, &id)? else {
            continue;
        };
        if pending.build()?.commit(store)? {
            done.push(id);
        }
    }
    Ok(done)
}

/// The compaction thread. Dropping it ends the thread, after the
/// compaction in progress if any (so that the store is let go of when the
/// window is; quitting mid-way would be safe too, see the module's notes).
#[derive(Debug)]
pub struct Compactor {
    wake: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Compactor {
    /// Starts the thread over `store`, compacting documents with more
    /// than `max_records` records after their snapshot.
    pub fn spawn(store: SharedStore, max_records: usize) -> Compactor {
        let (wake, woken) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("concord-compactor".into())
            .spawn(move || {
                loop {
                    match woken.recv_timeout(EVERY) {
                        Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                    if let Err(e) = compact_due(&store, max_records) {
                        tracing::warn!("compaction failed (retried later): {e}");
                    }
                }
            });
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                // Without the thread, records simply pile up after the
                // snapshot: opening gets slower, nothing is lost.
                tracing::warn!("cannot start the compaction thread: {e}");
                None
            }
        };
        Compactor { wake, thread }
    }

    /// The thread with the default threshold.
    pub fn spawn_default(store: SharedStore) -> Compactor {
        Compactor::spawn(store, Compaction::DEFAULT_MAX_RECORDS)
    }

    /// Looks at the store now rather than at the next tick.
    pub fn wake(&self) {
        // A thread that ended (it cannot start) has nothing to wake.
        let _ = self.wake.send(());
    }

    /// Whether the thread runs.
    pub fn running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Compactor {
    fn drop(&mut self) {
        // Disconnects the channel: the thread returns at its next wait.
        let (gone, _) = mpsc::channel();
        self.wake = gone;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("the compaction thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use concord_core::{Document, EncodedChange, ReplicaId};

    use super::*;
    use crate::note;
    use crate::store::SqliteStore;

    /// A note typed a character per change.
    fn typed(doc: &mut Document, text: &str) -> Vec<EncodedChange> {
        let mut out = Vec::new();
        if note::titles(doc).is_empty() {
            let mut tx = doc.transaction();
            note::create(&mut tx, "t").unwrap();
            out.extend(tx.commit());
        }
        for ch in text.chars() {
            let len = note::body_text(doc).chars().count();
            let mut tx = doc.transaction();
            note::splice(&mut tx, len, 0, &ch.to_string()).unwrap();
            out.extend(tx.commit());
        }
        out
    }

    fn setup(text: &str) -> (tempfile::TempDir, SharedStore, DocId, Document) {
        let dir = tempfile::tempdir().unwrap();
        let id = DocId::new("n").unwrap();
        let mut store = SqliteStore::open(dir.path(), || ReplicaId(1)).unwrap();
        let mut doc = Document::new(store.device());
        store.create(&id, "t", 0, None).unwrap();
        let changes = typed(&mut doc, text);
        store.append(&id, &changes, None, 1).unwrap();
        (dir, SharedStore::new(store), id, doc)
    }

    fn reopened(dir: &tempfile::TempDir, store: SharedStore, id: &DocId) -> (String, u64) {
        drop(store);
        let store = SqliteStore::open(dir.path(), || ReplicaId(9)).unwrap();
        let text = note::body_text(&store.load(id).unwrap());
        (text, store.changes_after_snapshot(id).unwrap())
    }

    #[test]
    fn changes_stored_while_the_snapshot_was_built_are_kept() {
        let (dir, store, id, mut doc) = setup("hello");
        let pending = Pending::read(&store, &id).unwrap().unwrap();
        // Typing goes on while the snapshot is built: the store is free.
        let more = typed(&mut doc, " world");
        store.lock().append(&id, &more, None, 2).unwrap();
        assert!(pending.build().unwrap().commit(&store).unwrap());
        let (text, records) = reopened(&dir, store, &id);
        assert_eq!(text, "hello world");
        assert_eq!(records, 6, "the records typed meanwhile stay");
    }

    #[test]
    fn quitting_mid_compaction_loses_nothing() {
        let (dir, store, id, _doc) = setup("every keystroke");
        let built = Pending::read(&store, &id)
            .unwrap()
            .unwrap()
            .build()
            .unwrap();
        drop(built);
        let (text, records) = reopened(&dir, store, &id);
        assert_eq!(text, "every keystroke");
        assert_eq!(records, 16);
    }

    #[test]
    fn a_snapshot_written_meanwhile_wins() {
        let (dir, store, id, mut doc) = setup("abc");
        let pending = Pending::read(&store, &id).unwrap().unwrap();
        let more = typed(&mut doc, "d");
        store.lock().append(&id, &more, None, 2).unwrap();
        // The client's own snapshot (or a reissue's replacement).
        store.lock().snapshot(&id, &doc.save()).unwrap();
        assert!(!pending.build().unwrap().commit(&store).unwrap());
        let (text, records) = reopened(&dir, store, &id);
        assert_eq!(text, "abcd");
        assert_eq!(records, 0);
    }

    #[test]
    fn only_documents_past_the_threshold_are_compacted() {
        let (dir, store, id, _doc) = setup("twelve chars");
        assert!(compact_due(&store, 13).unwrap().is_empty());
        assert_eq!(compact_due(&store, 12).unwrap(), vec![id.clone()]);
        let (text, records) = reopened(&dir, store, &id);
        assert_eq!(text, "twelve chars");
        assert_eq!(records, 0);
    }
}

//! Snapshots now and then: every few seconds the window looks at how many
//! changes the open document has after its snapshot, and once there are
//! enough folds them into a new one, so it opens from the snapshot plus a
//! few changes rather than by replaying its history.

use std::time::{Duration, Instant};

use concord_client::Client;
use concord_wire::DocId;

use crate::replicas::SharedStore;

/// How often the open document's change count is looked at.
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// Changes after the snapshot that trigger a new snapshot.
const COMPACT_AFTER: u64 = 1000;

/// When the change count was last looked at.
#[derive(Debug)]
pub struct Compaction {
    last_look: Instant,
}

impl Compaction {
    pub fn new(now: Instant) -> Self {
        Compaction { last_look: now }
    }

    /// Whether to look at the change count at `now`; a yes starts the next
    /// wait.
    pub fn time_to_look(&mut self, now: Instant) -> bool {
        if now.saturating_duration_since(self.last_look) < CHECK_EVERY {
            return false;
        }
        self.last_look = now;
        true
    }
}

/// Whether a document with this many changes after its snapshot is worth
/// a new snapshot.
pub fn worth_compacting(changes_after_snapshot: u64) -> bool {
    changes_after_snapshot >= COMPACT_AFTER
}

/// Snapshots `id` if it is worth it.
pub fn compact_if_worth_it(store: &SharedStore, client: &Client, id: &DocId) -> Result<(), String> {
    let after = store.lock().changes_after_snapshot(id).unwrap_or(0);
    if !worth_compacting(after) {
        return Ok(());
    }
    match client.with_document(id, |doc| store.lock().compact(id, doc)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("cannot compact the document: {e}")),
        Err(e) => Err(format!("cannot compact the document: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_is_looked_at_every_five_seconds() {
        let start = Instant::now();
        let at = |s| start + Duration::from_secs(s);
        let mut compaction = Compaction::new(start);
        assert!(!compaction.time_to_look(at(1)));
        assert!(compaction.time_to_look(at(5)));
        assert!(!compaction.time_to_look(at(9)));
        assert!(compaction.time_to_look(at(10)));
        // A clock read before the last look waits too.
        assert!(!compaction.time_to_look(start));
    }

    #[test]
    fn a_thousand_changes_after_the_snapshot_are_worth_a_new_one() {
        assert!(!worth_compacting(0));
        assert!(!worth_compacting(999));
        assert!(worth_compacting(1000));
    }
}

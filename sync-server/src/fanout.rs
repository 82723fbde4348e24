//! Several relays, one document: brings each relay's hubs what the other
//! relays committed to the shared PostgreSQL store.
//!
//! Inside one relay, fan-out is the hub's: a commit marks every subscriber
//! dirty. Across relays it goes through the database. A commit that added
//! changes to a document notifies `ORIGIN VERSION DOC` (`postgres.rs`); on
//! another relay's notification for a document it has in memory, this
//! relay reads what its hub lacks (`PgStore::missing`, by version vector,
//! among the rows after those it knows it holds) and puts it into the hub
//! through the very path its own clients' changes take: admitted, then
//! submitted to the store (told beforehand that they are stored, so the
//! job only waits for the jobs before it) and served once that "commit"
//! returns. So the
//! hub's committed log stays a causal order and a roll-back after a failed
//! commit drops those changes too; they are then read again.
//!
//! Notifications may be lost (a broken listening connection, a relay that
//! was loading the document). Anti-entropy repairs that: every second the
//! stored versions of the documents in memory are compared with what each
//! hub is known to hold (`Covered`), and any document behind is caught up.
//! A relay holds nothing another needs: everything it acknowledged is in
//! the database, and any relay can serve any document.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use concord_wire::{ChangeSource as _, DocId};
use tokio::sync::mpsc;

use crate::admission::Verdict;
use crate::error::StoreError;
use crate::hub::Hubs;
use crate::postgres::{Notice, PgStore};

/// How often anti-entropy compares the stored versions with the hubs'.
pub const ANTI_ENTROPY: Duration = Duration::from_secs(1);

/// What a hub is known to hold of its stored document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Covered {
    /// Every commit up to this version of the document.
    version: i64,
    /// Every row up to this `ord`.
    last_ord: i64,
}

#[derive(Debug, Default)]
struct State {
    covered: BTreeMap<DocId, Covered>,
    /// Documents being caught up, and those to catch up once more after.
    running: BTreeSet<DocId>,
    again: BTreeSet<DocId>,
}

/// The cross-relay fan-out of one relay.
#[derive(Debug)]
pub struct Fanout {
    hubs: Arc<Hubs>,
    store: Arc<PgStore>,
    state: Mutex<State>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why one catch-up did not finish (it is tried again).
#[derive(Debug, thiserror::Error)]
enum CatchUpError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the changes read could not be committed here: {0}")]
    NotCommitted(String),
}

impl Fanout {
    /// Listens for the store's notifications and runs anti-entropy, until
    /// the runtime stops.
    pub fn spawn(hubs: Arc<Hubs>, store: Arc<PgStore>) -> Arc<Fanout> {
        let notices = store.listen();
        let fanout = Arc::new(Fanout {
            hubs,
            store,
            state: Mutex::new(State::default()),
        });
        tokio::spawn(Arc::clone(&fanout).run(notices));
        fanout
    }

    async fn run(self: Arc<Self>, mut notices: mpsc::UnboundedReceiver<Notice>) {
        let mut tick = tokio::time::interval(ANTI_ENTROPY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                notice = notices.recv() => match notice {
                    None => return,
                    Some(Notice::Listening) => {
                        // Whatever was notified meanwhile is lost: look at everything.
                        for doc in self.hubs.active_docs() {
                            self.schedule(doc);
                        }
                    }
                    Some(Notice::Committed { doc, version, ours }) => {
                        self.heard(doc, version, ours);
                    }
                },
                _ = tick.tick() => self.anti_entropy().await,
            }
        }
    }

    fn heard(self: &Arc<Self>, doc: DocId, version: i64, ours: bool) {
        if self.hubs.loaded(&doc).is_none() {
            return;
        }
        {
            let mut st = lock(&self.state);
            if let Some(c) = st.covered.get_mut(&doc) {
                if c.version >= version {
                    return;
                }
                // Our own commit right after what the hub holds: held too.
                if ours && c.version + 1 == version {
                    c.version = version;
                    return;
                }
            }
        }
        if !ours {
            self.schedule(doc);
        }
        // Our own commit after a gap: anti-entropy sees the gap.
    }

    /// Catches `doc` up now, or once more after the catch-up running.
    fn schedule(self: &Arc<Self>, doc: DocId) {
        {
            let mut st = lock(&self.state);
            if st.running.contains(&doc) {
                st.again.insert(doc);
                return;
            }
            st.running.insert(doc.clone());
        }
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.catch_up(&doc).await {
                    tracing::debug!(%doc, error = %e, "catch-up failed; anti-entropy tries again");
                }
                let mut st = lock(&me.state);
                if !st.again.remove(&doc) {
                    st.running.remove(&doc);
                    return;
                }
            }
        });
    }

    async fn catch_up(&self, doc: &DocId) -> Result<(), CatchUpError> {
        let Some(hub) = self.hubs.loaded(doc) else {
            lock(&self.state).covered.remove(doc);
            return Ok(());
        };
        let have = hub.lock().admitted().clone();
        let after = lock(&self.state).covered.get(doc).map_or(0, |c| c.last_ord);
        let missing = self.store.missing(doc, &have, after).await?;
        let read = missing.records.len();
        let (reply, certain) = {
            let mut st = hub.lock();
            let mut certain = true;
            let mut new = Vec::new();
            for change in missing.records {
                match st.classify(&change) {
                    Verdict::New(record) => {
                        st.admit(record.clone());
                        new.push(record);
                    }
                    Verdict::Duplicate => {
                        // Held but not committed here yet: that commit may
                        // still fail and drop it.
                        if st.version().get(change.replica()) < change.last_seq() {
                            certain = false;
                        }
                    }
                    other => {
                        // Our uncommitted copy of this id differs: our
                        // commit will be refused, and then this is read again.
                        tracing::debug!(%doc, replica = ?change.replica(), seq = change.first_seq(), ?other, "stored record not taken yet");
                        certain = false;
                        break;
                    }
                }
            }
            let reply = (!new.is_empty()).then(|| {
                self.store.expect_stored(doc, &new);
                self.hubs.submit(&hub, &mut st, new)
            });
            (reply, certain)
        };
        if let Some(reply) = reply {
            match reply.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(CatchUpError::NotCommitted(e.to_string())),
                Err(_) => return Err(CatchUpError::NotCommitted("store closed".into())),
            }
        }
        tracing::trace!(%doc, read, version = missing.version, "caught up");
        if certain {
            let mut st = lock(&self.state);
            let c = st.covered.entry(doc.clone()).or_default();
            c.version = c.version.max(missing.version);
            c.last_ord = c.last_ord.max(missing.last_ord);
        }
        Ok(())
    }

    /// Catches up every document in memory whose stored version is not the
    /// one its hub is known to hold.
    async fn anti_entropy(self: &Arc<Self>) {
        let active = self.hubs.active_docs();
        lock(&self.state)
            .covered
            .retain(|doc, _| active.binary_search(doc).is_ok());
        if active.is_empty() {
            return;
        }
        match self.store.versions(&active).await {
            Ok(stored) => {
                for (doc, version) in stored {
                    let behind = lock(&self.state)
                        .covered
                        .get(&doc)
                        .is_none_or(|c| c.version != version);
                    if behind {
                        self.schedule(doc);
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "anti-entropy: versions not read"),
        }
    }
}

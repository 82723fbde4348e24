//! `concord sync --once`: sync every document with the relay, say per
//! document what happened, and fail unless every one synced.
//!
//! "Synced" means the relay stored every change this device has and this
//! device has every change the relay has. A document the relay refused (bad
//! or expired token), one whose local edits a read-only link could not
//! upload, and one still syncing at the deadline did not sync: the command
//! says why and exits non-zero, so a script never takes a refusal for
//! success.

use std::fmt;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use concord_client::{Client, DeviceEvent, SyncStatus};
use concord_core::Document;
use concord_wire::{Access, DocId};

use crate::note;
use crate::replicas::{SharedStore, start_client};
use crate::store::SqliteStore;

/// How one document ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Synced,
    /// The relay refused the subscription.
    Refused {
        code: String,
        detail: String,
    },
    /// The link is read-only and this device has changes the relay lacks.
    ReadOnly {
        unsent: u64,
    },
    /// The deadline passed first.
    TimedOut {
        status: String,
    },
}

impl Outcome {
    /// Where a document stands now; `None` while it is still syncing.
    pub fn of(status: &SyncStatus, access: Option<Access>, unacked: u64) -> Option<Outcome> {
        match status {
            SyncStatus::Synced if access.is_some_and(|a| !a.can_write()) && unacked > 0 => {
                Some(Outcome::ReadOnly { unsent: unacked })
            }
            SyncStatus::Synced => Some(Outcome::Synced),
            SyncStatus::Refused { code, detail } => Some(Outcome::Refused {
                code: code.to_string(),
                detail: detail.clone(),
            }),
            SyncStatus::Offline | SyncStatus::Connecting | SyncStatus::Syncing { .. } => None,
        }
    }

    pub fn is_synced(&self) -> bool {
        *self == Outcome::Synced
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Synced => write!(f, "synced"),
            Outcome::Refused { code, detail } => {
                write!(f, "NOT synced: the relay refused it ({code}: {detail})")
            }
            Outcome::ReadOnly { unsent } => write!(
                f,
                "NOT synced: {unsent} local change{} not uploaded, the link is read-only",
                if *unsent == 1 { "" } else { "s" }
            ),
            Outcome::TimedOut { status } => write!(f, "NOT synced in time ({status})"),
        }
    }
}

/// Syncs every document of `store` with `relay`, prints a line per
/// document and a summary; an error (non-zero exit) unless all synced.
pub fn run(store: SqliteStore, relay: &str, timeout: Duration) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the sync runtime")?;
    let store = SharedStore::new(store);
    let docs = store.list()?;
    let client = start_client(&store, Some(relay), runtime.handle())?;
    let mut events = client.events();
    for info in &docs {
        client.open(info.id.clone(), info.token.clone().unwrap_or_default())?;
    }
    let ids: Vec<DocId> = docs.iter().map(|d| d.id.clone()).collect();
    let outcomes = runtime.block_on(wait(&client, &ids, timeout))?;
    // Keep the cached titles in step with what arrived.
    for info in &docs {
        let title = client.with_document(&info.id, note::title)?;
        store.set_title(&info.id, &title)?;
    }
    let mut out = std::io::stdout().lock();
    while let Ok(event) = events.try_recv() {
        if let DeviceEvent::IdForged {
            doc,
            forged,
            remade,
            ..
        } = event
        {
            writeln!(
                out,
                "{doc}: another device wrote under this device's id ({forged:?}); \
                 {remade} edits of ours were sent again under a new id"
            )?;
        }
    }
    for (id, outcome) in &outcomes {
        writeln!(out, "{id}: {outcome}")?;
        if let Ok(Some(summary)) = client.with_document(id, Document::unreadable_summary) {
            writeln!(out, "{id}: {summary}")?;
        }
    }
    runtime.block_on(client.shutdown());
    let synced = outcomes.iter().filter(|(_, o)| o.is_synced()).count();
    let plural = if outcomes.len() == 1 { "" } else { "s" };
    if synced == outcomes.len() {
        writeln!(out, "synced {synced} document{plural} with {relay}")?;
        Ok(())
    } else {
        anyhow::bail!(
            "{} of {} document{plural} did not sync with {relay}",
            outcomes.len() - synced,
            outcomes.len()
        )
    }
}

/// Waits until every document has an outcome or the deadline passes.
async fn wait(client: &Client, docs: &[DocId], timeout: Duration) -> Result<Vec<(DocId, Outcome)>> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut outcomes = Vec::new();
        let mut done = true;
        for id in docs {
            let status = client.status(id)?;
            match Outcome::of(&status, client.access(id), client.unacked(id)?) {
                Some(outcome) => outcomes.push((id.clone(), outcome)),
                None if Instant::now() >= deadline => outcomes.push((
                    id.clone(),
                    Outcome::TimedOut {
                        status: format!("{status:?}"),
                    },
                )),
                None => done = false,
            }
        }
        if done {
            return Ok(outcomes);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_wire::ErrorCode;

    #[test]
    fn only_a_document_the_relay_fully_has_is_synced() {
        let rw = Some(Access::ReadWrite);
        let ro = Some(Access::Read);
        assert_eq!(
            Outcome::of(&SyncStatus::Synced, rw, 0),
            Some(Outcome::Synced)
        );
        assert_eq!(
            Outcome::of(&SyncStatus::Synced, ro, 0),
            Some(Outcome::Synced)
        );
        assert_eq!(
            Outcome::of(&SyncStatus::Synced, ro, 2),
            Some(Outcome::ReadOnly { unsent: 2 })
        );
        let refused = SyncStatus::Refused {
            code: ErrorCode::Unauthorized,
            detail: "bad token".into(),
        };
        let outcome = Outcome::of(&refused, None, 0).unwrap();
        assert!(!outcome.is_synced());
        assert!(outcome.to_string().contains("refused"), "{outcome}");
        assert_eq!(
            Outcome::of(&SyncStatus::Syncing { unacked: 3 }, rw, 3),
            None
        );
        assert_eq!(Outcome::of(&SyncStatus::Offline, None, 0), None);
    }
}

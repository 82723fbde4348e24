//! `concord chaos-edit`: seeded random edits of a note's body, each one
//! saved and then reported, for the end-to-end chaos test
//! (`tests/e2e/chaos.rs`), which kills this process at random moments and
//! later checks that every reported edit survived.
//!
//! The body is treated as a sequence of tokens `<TAG.N>`. An edit inserts a
//! new token at a token boundary, deletes one whole token, or replaces one
//! token with a new one (both in one change). Because inserts only land
//! between tokens and a token is inserted in one splice, concurrent edits can
//! reorder tokens but never split one, so a checker can read the merged
//! text back as tokens.
//!
//! Two ways to run: on the store alone (`run`: a device editing offline,
//! as `concord doc append` does), or live (`run_live`: through the sync
//! client while it syncs, as the window does, remote edits arriving
//! between one's own).
//!
//! What it prints, one line each, flushed at once:
//!
//! - `inserting <T>` / `deleting <T>` before the change that makes the edit
//!   is saved (it may or may not be durable if the process dies now);
//! - `inserted <T>` / `deleted <T>` after the store committed it (durable);
//! - `compacted` after the document was compacted into a snapshot;
//! - live, at the end: `synced`, or `not synced` if the relay did not
//!   confirm everything within the time given.

use std::io::Write;
use std::ops::Range;
use std::time::{Duration, Instant};

use concord_client::{Client, ClientError, SyncStatus};
use concord_core::{EditError, Transaction};
use concord_wire::DocId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::note;
use crate::replicas::{SharedStore, start_client};
use crate::store::{SqliteStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ChaosEditError {
    #[error("a chaos tag is letters and digits, not {0:?}")]
    Tag(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the edit failed: {0}")]
    Edit(#[from] EditError),
    #[error("the sync client failed: {0}")]
    Client(#[from] ClientError),
    #[error("the change was not saved: {0}")]
    NotSaved(#[from] concord_client::StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What one `chaos-edit` run does.
#[derive(Clone, Debug)]
pub struct ChaosEdit {
    pub doc: DocId,
    /// Every decision comes from this seed (and the text found).
    pub seed: u64,
    /// How many edits, each its own change.
    pub edits: u32,
    /// Makes this run's tokens unique: `<TAG.1>`, `<TAG.2>`, …
    pub tag: String,
    /// A pause after each edit, as a person typing makes (so that a kill
    /// at a random moment lands mid-run).
    pub pause: Duration,
}

impl ChaosEdit {
    fn check(&self) -> Result<(), ChaosEditError> {
        if self.tag.is_empty() || !self.tag.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ChaosEditError::Tag(self.tag.clone()));
        }
        Ok(())
    }
}

/// Change records after a snapshot that make the next save a snapshot
/// (offline runs): small, so that kills land in compactions too.
pub const COMPACT_AFTER: usize = 13;

/// Runs the edits through `client` (offline: its saves are the store's),
/// reporting on `out`; the document must be open.
pub fn run(client: &Client, plan: &ChaosEdit, out: &mut impl Write) -> Result<(), ChaosEditError> {
    plan.check()?;
    let mut rng = StdRng::seed_from_u64(plan.seed);
    for n in 1..=plan.edits {
        // Every edit inserts or deletes a whole token: never empty. It
        // returns once the change is saved.
        let done = client
            .edit(&plan.doc, |tx| edit(tx, &mut rng, &plan.tag, n, out))?
            .value_if_saved()??;
        report(out, &done)?;
        std::thread::sleep(plan.pause);
    }
    Ok(())
}

/// Runs the edits through the sync client connected to `relay`, which
/// syncs all along; then waits up to `settle` for the relay to confirm
/// everything.
pub fn run_live(
    store: SqliteStore,
    relay: &str,
    plan: &ChaosEdit,
    settle: Duration,
    out: &mut impl Write,
) -> Result<(), ChaosEditError> {
    plan.check()?;
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let token = store.info(&plan.doc)?.token.unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let store = SharedStore::new(store);
    let client = start_client(&store, Some(relay), runtime.handle())?;
    client.open(plan.doc.clone(), token)?;
    for n in 1..=plan.edits {
        // The closure runs under the client's lock, on the document as it
        // is now, remote edits included; it returns once the change is saved.
        let done = client
            .edit(&plan.doc, |tx| edit(tx, &mut rng, &plan.tag, n, out))?
            .value_if_saved()??;
        report(out, &done)?;
        std::thread::sleep(plan.pause);
    }
    let deadline = Instant::now() + settle;
    let synced = loop {
        if client.status(&plan.doc)? == SyncStatus::Synced {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    runtime.block_on(client.shutdown());
    report(
        out,
        &[if synced { "synced" } else { "not synced" }.to_owned()],
    )?;
    Ok(())
}

/// One edit, printing what it is about to do; returns what to print once
/// it is saved.
fn edit(
    tx: &mut Transaction<'_>,
    rng: &mut StdRng,
    tag: &str,
    n: u32,
    out: &mut impl Write,
) -> Result<Vec<String>, ChaosEditError> {
    let text = note::body_text(tx.doc());
    let tokens = token_spans(&text);
    let roll: f64 = rng.random();
    // Delete a fifth of the time, replace a tenth, insert the rest.
    let victim = (!tokens.is_empty() && roll < 0.3)
        .then(|| tokens[rng.random_range(0..tokens.len())].clone());
    let insert = victim.is_none() || roll >= 0.2;
    let mut done = Vec::new();
    if let Some(span) = &victim {
        let token: String = text.chars().skip(span.start).take(span.len()).collect();
        report(out, &[format!("deleting {token}")])?;
        note::splice(tx, span.start, span.len(), "")?;
        done.push(format!("deleted {token}"));
    }
    if insert {
        let fresh = format!("<{tag}.{n}>");
        let gaps = boundaries(&note::body_text(tx.doc()));
        let at = gaps[rng.random_range(0..gaps.len())];
        report(out, &[format!("inserting {fresh}")])?;
        note::splice(tx, at, 0, &fresh)?;
        done.push(format!("inserted {fresh}"));
    }
    Ok(done)
}

/// Prints `lines` and flushes them.
fn report(out: &mut impl Write, lines: &[String]) -> Result<(), ChaosEditError> {
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

/// Where the tokens `<…>` of `text` are, in chars.
fn token_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.chars().enumerate() {
        match c {
            '<' => start = Some(i),
            '>' => {
                if let Some(s) = start.take() {
                    spans.push(s..i + 1);
                }
            }
            _ => {}
        }
    }
    spans
}

/// The char positions where an insert splits no token: the start, the end
/// and both sides of every token.
fn boundaries(text: &str) -> Vec<usize> {
    let mut gaps = vec![0, text.chars().count()];
    for span in token_spans(text) {
        gaps.push(span.start);
        gaps.push(span.end);
    }
    gaps.sort_unstable();
    gaps.dedup();
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replicas::start_client_with;
    use concord_core::ReplicaId;

    #[test]
    fn inserts_land_only_between_tokens() {
        assert_eq!(token_spans("<a.1><b.2>"), vec![0..5, 5..10]);
        assert_eq!(boundaries("<a.1><b.2>"), vec![0, 5, 10]);
        assert_eq!(boundaries(""), vec![0]);
        // Text from elsewhere (a title pasted in) is left whole too.
        assert_eq!(boundaries("hi <a.1>!"), vec![0, 3, 8, 9]);
    }

    /// The offline device a `chaos-edit` run uses, over a new store in `dir`
    /// holding the empty document `id`.
    fn offline(dir: &std::path::Path, id: &DocId) -> (tokio::runtime::Runtime, Client) {
        let store = SqliteStore::open(dir, || ReplicaId(7)).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let list = SharedStore::new(store);
        let client = start_client_with(&list, None, runtime.handle(), |config| {
            config.compaction = concord_client::Compaction {
                max_records: COMPACT_AFTER,
            };
        })
        .unwrap();
        client.create(id.clone(), "").unwrap();
        (runtime, client)
    }

    #[test]
    fn every_reported_edit_is_in_the_store_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let id = DocId::new("chaos").unwrap();
        let (runtime, client) = offline(dir.path(), &id);
        let mut present = std::collections::BTreeSet::new();
        for (number, seed) in [(1, 11u64), (2, 12), (3, 13)] {
            let plan = ChaosEdit {
                doc: id.clone(),
                seed,
                edits: 30,
                tag: format!("r{number}"),
                pause: Duration::ZERO,
            };
            let mut out = Vec::new();
            run(&client, &plan, &mut out).unwrap();
            for line in String::from_utf8(out).unwrap().lines() {
                if let Some(t) = line.strip_prefix("inserted ") {
                    assert!(present.insert(t.to_owned()), "{t} twice");
                } else if let Some(t) = line.strip_prefix("deleted ") {
                    assert!(present.remove(t), "{t} deleted but not there");
                }
            }
        }
        runtime.block_on(client.shutdown());
        drop(client);
        // What the store holds, read back from the disk.
        let store = SqliteStore::open(dir.path(), || ReplicaId(8)).unwrap();
        let text = note::body_text(&store.load(&id).unwrap());
        let found: std::collections::BTreeSet<String> = token_spans(&text)
            .into_iter()
            .map(|s| text.chars().skip(s.start).take(s.len()).collect())
            .collect();
        assert_eq!(found, present);
        assert!(!present.is_empty());
    }

    #[test]
    fn a_tag_cannot_make_tokens_that_look_alike() {
        let dir = tempfile::tempdir().unwrap();
        let id = DocId::new("chaos").unwrap();
        let (_runtime, client) = offline(dir.path(), &id);
        let plan = ChaosEdit {
            doc: id,
            seed: 1,
            edits: 1,
            tag: "a>".into(),
            pause: Duration::ZERO,
        };
        assert!(run(&client, &plan, &mut Vec::new()).is_err());
    }
}

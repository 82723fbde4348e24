//! Five clients, each its own device, edit the same documents at once through
//! a real relay process and converge to identical state, every status Synced.
//!
//! The helpers here are shared by the other client tests (offline, crash,
//! faults).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use concord_client::{Client, Config, DeviceEvent, MemoryStore, SyncStatus};
use concord_core::{Document, ObjId, ObjType, ReplicaId, Transaction, Value};
use concord_e2e::relay_process::{RelayProcess, mint_token};
use concord_wire::{Access, DocId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::runtime::Handle;
use tokio::time::Instant;

/// How long anything may take to converge on a loaded 2-core machine.
pub(crate) const CONVERGE: Duration = Duration::from_secs(90);

pub(crate) fn relay_bin() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_relay-under-test"))
}

/// A relay process on port 0 with its data in a fresh temporary directory.
pub(crate) fn start_relay(extra_args: &[&str]) -> (RelayProcess, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let relay = RelayProcess::start(relay_bin(), dir.path(), extra_args).expect("the relay starts");
    (relay, dir)
}

pub(crate) fn doc_ids(n: usize) -> Vec<DocId> {
    (0..n)
        .map(|i| DocId::new(format!("doc-{i}")).expect("a valid id"))
        .collect()
}

/// Short timers, so lost messages and dead connections are noticed fast.
pub(crate) fn test_config(url: &str, device: u128) -> Config {
    let mut config = Config::new(url, ReplicaId(device));
    config.anti_entropy_interval = Duration::from_millis(300);
    config.stall_timeout = Duration::from_secs(3);
    config.connect_timeout = Duration::from_secs(5);
    config.backoff_base = Duration::from_millis(50);
    config.backoff_max = Duration::from_secs(1);
    config
}

/// A client (device `device`, memory store) with `docs` open.
pub(crate) fn start_client(url: &str, device: u128, docs: &[DocId]) -> Client {
    start_client_with_store(url, device, docs, MemoryStore::new())
}

/// A client on `store` (a clone shares the data) with `docs` open.
pub(crate) fn start_client_with_store(
    url: &str,
    device: u128,
    docs: &[DocId],
    store: MemoryStore,
) -> Client {
    let client = Client::start(test_config(url, device), store, &Handle::current())
        .expect("the client starts");
    for doc in docs {
        let token = mint_token(doc.as_str(), Access::ReadWrite, Duration::from_hours(1));
        client.open(doc.clone(), token).expect("open");
    }
    client
}

/// Polls `check` until it returns `Ok` or `deadline` passes; then panics
/// with `what` and the last reason.
pub(crate) async fn wait_until(
    what: &str,
    deadline: Duration,
    mut check: impl FnMut() -> Result<(), String>,
) {
    let end = Instant::now() + deadline;
    loop {
        let result = check();
        match result {
            Ok(()) => return,
            Err(why) if Instant::now() >= end => {
                panic!("timed out after {deadline:?} waiting for {what}: {why}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The text object under the root's "body" key, if any.
pub(crate) fn body(doc: &Document) -> Option<ObjId> {
    match doc.get(ObjId::Root, "body") {
        Ok(Some(Value::Object(id, ObjType::Text))) => Some(*id),
        _ => None,
    }
}

/// `client` creates each document's body text; every client waits for it
/// (so nobody creates a rival one).
pub(crate) async fn create_bodies(creator: &Client, everyone: &[Client], docs: &[DocId]) {
    for doc in docs {
        creator
            .edit(doc, |tx| {
                let t = tx
                    .put_object(ObjId::Root, "body", ObjType::Text)
                    .expect("root is a map");
                tx.insert_text(t, 0, "start").expect("in bounds");
            })
            .expect("edit")
            .value_if_saved()
            .expect("saved");
    }
    wait_until("every client to see the bodies", CONVERGE, || {
        for (i, c) in everyone.iter().enumerate() {
            for doc in docs {
                if c.with_document(doc, |d| body(d).is_none())
                    .map_err(|e| e.to_string())?
                {
                    return Err(format!(
                        "client {i} lacks the body of {doc} ({:?}, {:?}, version {:?})",
                        c.status(doc),
                        c.connection(),
                        c.version(doc)
                    ));
                }
            }
        }
        Ok(())
    })
    .await;
}

/// One random edit: mostly typing and deleting at random places in the
/// body, sometimes a map write. `tag` marks whose text it is.
pub(crate) fn random_edit(tx: &mut Transaction<'_>, rng: &mut StdRng, tag: char) {
    let Some(t) = body(tx.doc()) else {
        return;
    };
    let len = tx.doc().text(t).map_or(0, concord_core::Text::len_chars);
    let roll: f64 = rng.random();
    if roll < 0.6 || len == 0 {
        let pos = rng.random_range(0..=len);
        let n = rng.random_range(1..=4);
        let s: String = (0..n).map(|_| tag).collect();
        tx.insert_text(t, pos, &s).expect("in bounds");
    } else if roll < 0.85 {
        let pos = rng.random_range(0..len);
        let n = rng.random_range(1..=3).min(len - pos);
        tx.delete_text(t, pos, n).expect("in bounds");
    } else {
        let key = format!("k{}", rng.random_range(0..4));
        tx.put(ObjId::Root, &key, rng.random_range(0..1000i64))
            .expect("root is a map");
    }
}

/// Every client has the same state of every document as client 0, and every
/// status is Synced.
pub(crate) fn converged(clients: &[Client], docs: &[DocId]) -> Result<(), String> {
    for doc in docs {
        let reference = clients[0]
            .with_document(doc, Clone::clone)
            .map_err(|e| e.to_string())?;
        for (i, c) in clients.iter().enumerate() {
            let status = c.status(doc).map_err(|e| e.to_string())?;
            if status != SyncStatus::Synced {
                return Err(format!("client {i}: {doc} is {status:?}"));
            }
            let same = c
                .with_document(doc, |d| *d == reference)
                .map_err(|e| e.to_string())?;
            if !same {
                let (mine, text) = c
                    .with_document(doc, |d| (d.version().clone(), text_of(d)))
                    .map_err(|e| e.to_string())?;
                return Err(format!(
                    "client {i}: {doc} differs: {mine:?} {text:?} vs client 0 {:?} {:?}",
                    reference.version(),
                    text_of(&reference)
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn text_of(doc: &Document) -> String {
    body(doc)
        .and_then(|t| doc.text(t).ok().map(ToString::to_string))
        .unwrap_or_default()
}

/// Each client makes `edits` random edits over `docs`, all at once, paced by
/// short random pauses so their changes interleave at the relay.
pub(crate) async fn edit_concurrently(clients: &[Client], docs: &[DocId], edits: usize, seed: u64) {
    let mut tasks = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let client = client.clone();
        let docs = docs.to_vec();
        let tag = char::from(b'a' + (i % 26) as u8);
        let mut rng = StdRng::seed_from_u64(seed.wrapping_add(i as u64));
        tasks.push(tokio::spawn(async move {
            for _ in 0..edits {
                let doc = &docs[rng.random_range(0..docs.len())];
                client
                    .edit(doc, |tx| random_edit(tx, &mut rng, tag))
                    .expect("edit")
                    .value_if_saved()
                    .expect("saved");
                let pause = rng.random_range(0..15);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("an editing task");
    }
}

/// Clients editing in the background until stopped.
pub(crate) struct Editors {
    stop: Arc<AtomicBool>,
    made: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Editors {
    /// Each client edits random documents of `docs`, paced by short random
    /// pauses, until `stop`.
    pub(crate) fn start(clients: &[Client], docs: &[DocId], seed: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let made = Arc::new(AtomicUsize::new(0));
        let tasks = clients
            .iter()
            .enumerate()
            .map(|(i, client)| {
                let (client, docs) = (client.clone(), docs.to_vec());
                let (stop, made) = (Arc::clone(&stop), Arc::clone(&made));
                let tag = char::from(b'a' + (i % 26) as u8);
                let mut rng = StdRng::seed_from_u64(seed.wrapping_add(i as u64));
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let doc = &docs[rng.random_range(0..docs.len())];
                        client
                            .edit(doc, |tx| random_edit(tx, &mut rng, tag))
                            .expect("edit")
                            .value_if_saved()
                            .expect("saved");
                        made.fetch_add(1, Ordering::Relaxed);
                        let pause = rng.random_range(1..15);
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                    }
                })
            })
            .collect();
        Editors { stop, made, tasks }
    }

    /// Edits made so far, by all clients together.
    pub(crate) fn made(&self) -> usize {
        self.made.load(Ordering::Relaxed)
    }

    /// Waits until `n` more edits were made than now.
    pub(crate) async fn wait_for_more(&self, n: usize) {
        let target = self.made() + n;
        wait_until("more edits", CONVERGE, || {
            if self.made() >= target {
                Ok(())
            } else {
                Err(format!("{} of {target} edits", self.made()))
            }
        })
        .await;
    }

    pub(crate) async fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.expect("an editing task");
        }
        self.made.load(Ordering::Relaxed)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_clients_editing_the_same_documents_converge() {
    let (relay, _dir) = start_relay(&[]);
    let docs = doc_ids(3);
    let clients: Vec<Client> = (1..=5)
        .map(|d| start_client(&relay.url(), d, &docs))
        .collect();
    create_bodies(&clients[0], &clients, &docs).await;
    let mut events = clients[4].events();

    edit_concurrently(&clients, &docs, 60, 42).await;
    wait_until("convergence", CONVERGE, || converged(&clients, &docs)).await;

    // The UI hears of remote changes and of who is there.
    let mut remote = 0;
    while let Ok(event) = events.try_recv() {
        if matches!(event, DeviceEvent::RemoteChange { .. }) {
            remote += 1;
        }
    }
    assert!(remote > 0, "no remote-change events");
    let mut devices: Vec<ReplicaId> = clients.iter().map(Client::device).collect();
    devices.sort();
    wait_until("presence", CONVERGE, || {
        for (i, c) in clients.iter().enumerate() {
            for doc in &docs {
                if c.presence(doc) != devices {
                    return Err(format!("client {i} sees {:?} on {doc}", c.presence(doc)));
                }
            }
        }
        Ok(())
    })
    .await;

    // Every client's edits made it everywhere.
    for (i, c) in clients.iter().enumerate() {
        let device = c.device();
        for doc in &docs {
            let version = clients[0].version(doc).expect("open");
            assert_eq!(
                version.get(device),
                c.version(doc).expect("open").get(device),
                "client {i}'s changes of {doc}"
            );
            assert_eq!(c.unacked(doc).expect("open"), 0);
        }
    }
    let total: u64 = docs
        .iter()
        .map(|d| clients[0].version(d).expect("open").total())
        .sum();
    assert_eq!(total, 5 * 60 + 3, "every edit is one change");
    for c in &clients {
        c.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_document_shows_refused_and_leaves_the_others_syncing() {
    let (relay, _dir) = start_relay(&[]);
    let good = doc_ids(1);
    let writer = start_client(&relay.url(), 1, &good);
    let client = start_client(&relay.url(), 2, &good);
    let mut events = client.events();
    let secret = DocId::new("secret").expect("a valid id");
    // A token for another document is no token for this one.
    let wrong = mint_token("other", Access::ReadWrite, Duration::from_hours(1));
    client.open(secret.clone(), wrong).expect("open");
    wait_until("the refusal", CONVERGE, || match client.status(&secret) {
        Ok(SyncStatus::Refused { .. }) => Ok(()),
        other => Err(format!("{other:?}")),
    })
    .await;
    let refused_event = std::iter::from_fn(|| events.try_recv().ok())
        .any(|e| matches!(e, DeviceEvent::RelayError { doc: Some(d), .. } if d == secret));
    assert!(refused_event, "the refusal is an event");

    // The other document syncs on the same connection.
    create_bodies(&writer, &[writer.clone(), client.clone()], &good).await;
    wait_until("the good document", CONVERGE, || {
        converged(&[writer.clone(), client.clone()], &good)
    })
    .await;

    // A right token: the refused document syncs too.
    let right = mint_token("secret", Access::ReadWrite, Duration::from_hours(1));
    client.open(secret.clone(), right).expect("open");
    wait_until("the retried subscription", CONVERGE, || {
        match client.status(&secret) {
            Ok(SyncStatus::Synced) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    writer.shutdown().await;
    client.shutdown().await;
}

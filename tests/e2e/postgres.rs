//! Several relays on one PostgreSQL (`--store postgres://…`), each test on
//! a throwaway cluster of its own (`concord_e2e::postgres::Postgres`): a
//! change committed through one relay reaches the clients of the others,
//! a relay SIGKILLed mid-stream costs no acknowledged change, and a
//! PostgreSQL restart under load is survived without restarting a relay
//! (`/healthz` says 503 meanwhile).

use std::time::Duration;

use concord_client::Client;
use concord_e2e::balancer::Balancer;
use concord_e2e::postgres::Postgres;
use concord_e2e::raw_socket::http_get;
use concord_e2e::relay_process::RelayProcess;
use concord_relay::log_store::LogStore as _;
use concord_wire::DocId;

use crate::converge::{
    CONVERGE, Editors, converged, create_bodies, doc_ids, edit_concurrently, relay_bin,
    start_client, wait_until,
};

fn start_postgres() -> Postgres {
    Postgres::start().unwrap_or_else(|e| panic!("a throwaway PostgreSQL cluster: {e:#}"))
}

/// `n` relays on `pg`'s database, each with its own (unused) data directory.
fn start_relays(pg: &Postgres, n: usize) -> (Vec<RelayProcess>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = pg.url();
    let relays = (0..n)
        .map(|i| {
            RelayProcess::start(
                relay_bin(),
                &dir.path().join(format!("relay-{i}")),
                &["--store", &url],
            )
            .expect("the relay starts on PostgreSQL")
        })
        .collect();
    (relays, dir)
}

/// Every change of every document: what each client made, and no more.
fn total_changes(client: &Client, docs: &[DocId]) -> u64 {
    docs.iter()
        .map(|d| client.version(d).expect("open").total())
        .sum()
}

async fn all_acknowledged(clients: &[Client], docs: &[DocId]) {
    wait_until("every change acknowledged", CONVERGE, || {
        for (i, c) in clients.iter().enumerate() {
            for doc in docs {
                let unacked = c.unacked(doc).map_err(|e| e.to_string())?;
                if unacked > 0 {
                    return Err(format!("client {i}: {unacked} of {doc} unacknowledged"));
                }
            }
        }
        Ok(())
    })
    .await;
}

async fn healthz(relay: &RelayProcess) -> Option<u16> {
    http_get(relay.addr(), "/healthz")
        .await
        .ok()
        .map(|(s, _)| s)
}

async fn wait_for_health(relays: &[RelayProcess], want: u16) {
    let end = tokio::time::Instant::now() + CONVERGE;
    loop {
        let mut seen = Vec::new();
        for r in relays {
            seen.push(healthz(r).await);
        }
        if seen.iter().all(|s| *s == Some(want)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "/healthz never answered {want} on every relay: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_relays_on_one_postgres_converge_and_nothing_written_is_missing() {
    let pg = start_postgres();
    let (relays, _dir) = start_relays(&pg, 3);
    let docs = doc_ids(3);
    // Six devices, two on each relay: every edit must cross relays.
    let clients: Vec<Client> = (0..6)
        .map(|i| start_client(&relays[i % 3].url(), i as u128 + 1, &docs))
        .collect();
    create_bodies(&clients[0], &clients, &docs).await;
    edit_concurrently(&clients, &docs, 40, 16).await;
    wait_until("convergence across relays", CONVERGE, || {
        converged(&clients, &docs)
    })
    .await;
    all_acknowledged(&clients, &docs).await;
    assert_eq!(
        total_changes(&clients[0], &docs),
        6 * 40 + 3,
        "every edit is one change"
    );

    // A device new to all of it, on any relay, gets everything.
    let late = start_client(&relays[2].url(), 99, &docs);
    let mut everyone = clients.clone();
    everyone.push(late.clone());
    wait_until("a late device to catch up", CONVERGE, || {
        converged(&everyone, &docs)
    })
    .await;
    for c in everyone {
        c.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_stream_loses_no_acknowledged_change() {
    let pg = start_postgres();
    let (mut relays, _dir) = start_relays(&pg, 3);
    let balancer = Balancer::start(relays.iter().map(RelayProcess::addr).collect())
        .await
        .expect("the balancer listens");
    let docs = doc_ids(2);
    let clients: Vec<Client> = (0..6u128)
        .map(|i| start_client(&balancer.url(), i + 1, &docs))
        .collect();
    create_bodies(&clients[0], &clients, &docs).await;

    let editors = Editors::start(&clients, &docs, 7);
    editors.wait_for_more(60).await;
    // Its clients lose their connection; the balancer sends them on.
    relays[0].kill();
    editors.wait_for_more(60).await;
    let made = editors.stop().await;

    wait_until("convergence after the kill", CONVERGE, || {
        converged(&clients, &docs)
    })
    .await;
    all_acknowledged(&clients, &docs).await;
    assert_eq!(
        total_changes(&clients[0], &docs),
        made as u64 + 2,
        "every edit made is held everywhere"
    );
    // What the relays acknowledged is in the database: a new device on a
    // surviving relay gets all of it.
    let late = start_client(&relays[1].url(), 99, &docs);
    wait_until("a late device to catch up", CONVERGE, || {
        if total_changes(&late, &docs) == made as u64 + 2 {
            Ok(())
        } else {
            Err(format!("{:?}", late.version(&docs[0])))
        }
    })
    .await;
    for c in clients {
        c.shutdown().await;
    }
    late.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_the_relays_recover_without_a_restart() {
    let mut pg = start_postgres();
    let (relays, _dir) = start_relays(&pg, 2);
    let docs = doc_ids(2);
    let clients: Vec<Client> = (0..4)
        .map(|i| start_client(&relays[i % 2].url(), i as u128 + 1, &docs))
        .collect();
    create_bodies(&clients[0], &clients, &docs).await;
    wait_for_health(&relays, 200).await;

    let editors = Editors::start(&clients, &docs, 11);
    editors.wait_for_more(40).await;
    pg.stop().expect("PostgreSQL stops");
    wait_for_health(&relays, 503).await;
    // Devices go on editing offline meanwhile.
    editors.wait_for_more(20).await;
    pg.start_again().expect("PostgreSQL starts again");
    // The same processes answer: nothing restarted them.
    wait_for_health(&relays, 200).await;
    editors.wait_for_more(40).await;
    let made = editors.stop().await;

    wait_until("convergence after the restart", CONVERGE, || {
        converged(&clients, &docs)
    })
    .await;
    all_acknowledged(&clients, &docs).await;
    assert_eq!(total_changes(&clients[0], &docs), made as u64 + 2);
    for c in clients {
        c.shutdown().await;
    }
}

/// Changes of `replica` (one map write each), continuing `doc`.
fn changes_of(doc: &mut concord_core::Document, n: i64) -> Vec<concord_wire::Record> {
    (0..n)
        .map(|i| {
            let mut tx = doc.transaction();
            tx.put(concord_core::ObjId::Root, "k", i)
                .expect("root is a map");
            tx.commit().expect("a change").into()
        })
        .collect()
}

async fn submit(
    store: &concord_relay::postgres::PgStore,
    doc: &DocId,
    epoch: u64,
    changes: Vec<concord_wire::Record>,
) -> Result<(), concord_relay::error::CommitFailed> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    store
        .submit(
            doc.clone(),
            epoch,
            changes,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        )
        .expect("the store is open");
    rx.await.expect("the completion runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_database_share_changes_notify_and_refuse_a_rival_copy() {
    use concord_relay::postgres::{Notice, PgStore};
    let pg = start_postgres();
    let a = PgStore::connect(&pg.url()).await.expect("store A");
    let b = PgStore::connect(&pg.url())
        .await
        .expect("store B: the schema is there already");
    let mut heard = b.listen();
    assert_eq!(heard.recv().await, Some(Notice::Listening));
    let doc = DocId::new("shared").expect("an id");
    let mut author = concord_core::Document::new(concord_core::ReplicaId(1));
    let cs = changes_of(&mut author, 3);

    submit(&a, &doc, 1, cs[..2].to_vec())
        .await
        .expect("A commits");
    assert_eq!(
        heard.recv().await,
        Some(Notice::Committed {
            doc: doc.clone(),
            version: 1,
            ours: false
        }),
        "B hears of A's commit: the document and its version"
    );
    let missing = b
        .missing(&doc, &concord_wire::VersionVector::new(), 0)
        .await
        .expect("B reads");
    assert_eq!(missing.records, cs[..2].to_vec());
    assert_eq!(missing.version, 1);

    // B stores what A stored (a client that moved re-sent it) and one more:
    // the copy is skipped, the new one added, one commit, one notification.
    submit(&b, &doc, 1, cs.clone()).await.expect("B commits");
    assert_eq!(
        heard.recv().await,
        Some(Notice::Committed {
            doc: doc.clone(),
            version: 2,
            ours: true
        })
    );
    let mut have = concord_wire::VersionVector::new();
    have.observe(concord_core::ReplicaId(1), 2);
    let rest = a.missing(&doc, &have, 0).await.expect("A reads");
    assert_eq!(rest.records, cs[2..].to_vec(), "only what A lacks");
    // Only copies: nothing stored, no new version, no notification.
    submit(&a, &doc, 1, cs.clone()).await.expect("idempotent");
    assert_eq!(
        a.versions(std::slice::from_ref(&doc)).await.expect("read"),
        [(doc.clone(), 2)]
    );

    // Copies a relay read from the database are not even sent back to it.
    let commits = |s: &PgStore| s.stats().commits.load(std::sync::atomic::Ordering::Relaxed);
    let before = commits(&a);
    a.expect_stored(&doc, &cs);
    submit(&a, &doc, 1, cs.clone()).await.expect("known copies");
    assert_eq!(commits(&a), before, "no transaction for known copies");

    // Another change under an id already stored: refused, nothing written.
    let mut rival = concord_core::Document::new(concord_core::ReplicaId(1));
    let mut tx = rival.transaction();
    tx.put(concord_core::ObjId::Root, "k", "rival")
        .expect("root is a map");
    let forged: Vec<concord_wire::Record> = vec![tx.commit().expect("a change").into()];
    assert_eq!(
        (forged[0].replica(), forged[0].first_seq()),
        (cs[0].replica(), cs[0].first_seq())
    );
    assert_ne!(forged[0], cs[0]);
    assert!(submit(&a, &doc, 2, forged).await.is_err());
    let stored = tokio::task::spawn_blocking(move || (b.load(&doc), b))
        .await
        .expect("a blocking load");
    assert_eq!(stored.0.expect("load"), cs);
    assert_eq!(
        a.health(),
        concord_relay::store::Health::Ok,
        "a refused rival copy is no outage"
    );
}

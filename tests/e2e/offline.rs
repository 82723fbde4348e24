//! A client works offline while others keep editing, comes back, and
//! everything converges with nothing lost; also across a restart of the
//! offline client (its edits come back from its store).

use std::time::Duration;

use concord_client::{Client, ConnectionStatus, MemoryStore, SyncStatus};
use concord_core::{ObjId, ObjType};
use concord_e2e::relay_process::mint_token;
use concord_wire::{Access, DocId};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::runtime::Handle;

use crate::converge::{
    CONVERGE, body, converged, create_bodies, doc_ids, edit_concurrently, random_edit,
    start_client, start_client_with_store, start_relay, test_config, wait_until,
};

/// `client` edits `n` times, alone.
fn edit_alone(client: &Client, docs: &[DocId], n: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0..n {
        let doc = &docs[i % docs.len()];
        client
            .edit(doc, |tx| random_edit(tx, &mut rng, 'z'))
            .expect("edit")
            .value_if_saved()
            .expect("saved");
    }
}

async fn go_offline(client: &Client, docs: &[DocId]) {
    client.set_online(false);
    wait_until("the client to be offline", CONVERGE, || {
        if client.connection() != ConnectionStatus::Offline {
            return Err(format!("{:?}", client.connection()));
        }
        for doc in docs {
            let status = client.status(doc).map_err(|e| e.to_string())?;
            if status != SyncStatus::Offline {
                return Err(format!("{doc} is {status:?}"));
            }
        }
        Ok(())
    })
    .await;
}

/// Each client's own changes of each document, as client 0 sees them.
fn own_changes(clients: &[Client], docs: &[DocId]) -> Vec<u64> {
    clients
        .iter()
        .map(|c| {
            docs.iter()
                .map(|d| clients[0].version(d).expect("open").get(c.device()))
                .sum()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_merge_when_the_client_comes_back() {
    let (relay, _dir) = start_relay(&[]);
    let docs = doc_ids(2);
    let clients: Vec<Client> = (1..=3)
        .map(|d| start_client(&relay.url(), d, &docs))
        .collect();
    create_bodies(&clients[0], &clients, &docs).await;
    wait_until("the first sync", CONVERGE, || converged(&clients, &docs)).await;

    let away = &clients[2];
    go_offline(away, &docs).await;
    edit_alone(away, &docs, 40, 7);
    edit_concurrently(&clients[..2], &docs, 40, 8).await;
    // Offline stays offline: nothing left, nothing arrived.
    assert_eq!(away.connection(), ConnectionStatus::Offline);
    let pending: u64 = docs.iter().map(|d| away.unacked(d).expect("open")).sum();
    assert!(pending >= 40, "{pending} unacknowledged");
    for doc in &docs {
        assert_eq!(away.status(doc).expect("open"), SyncStatus::Offline);
        assert_eq!(
            away.version(doc).expect("open").get(clients[0].device()),
            1,
            "only the body creation arrived before going offline"
        );
    }

    away.set_online(true);
    wait_until("convergence after coming back", CONVERGE, || {
        converged(&clients, &docs)
    })
    .await;
    assert_eq!(own_changes(&clients, &docs), vec![40 + 2, 40, 40]);
    for c in &clients {
        c.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_survive_a_restart_of_the_client() {
    let (relay, _dir) = start_relay(&[]);
    let docs = doc_ids(2);
    let store = MemoryStore::new();
    let mut clients = vec![
        start_client(&relay.url(), 1, &docs),
        start_client_with_store(&relay.url(), 2, &docs, store.clone()),
    ];
    create_bodies(&clients[0], &clients, &docs).await;

    go_offline(&clients[1], &docs).await;
    edit_alone(&clients[1], &docs, 30, 9);
    edit_concurrently(&clients[..1], &docs, 30, 10).await;
    // The app quits while offline and starts again on the same store.
    clients[1].shutdown().await;
    clients[1] = start_client_with_store(&relay.url(), 999, &docs, store);
    assert_eq!(
        clients[1].device().0,
        2,
        "the stored replica id wins over the configured one"
    );

    wait_until("convergence after the restart", CONVERGE, || {
        converged(&clients, &docs)
    })
    .await;
    assert_eq!(own_changes(&clients, &docs), vec![30 + 2, 30]);
    for c in &clients {
        c.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_offline_session_goes_up_in_bounded_batches() {
    let (relay, _dir) = start_relay(&[]);
    let docs = doc_ids(1);
    let reader = start_client(&relay.url(), 1, &docs);
    let mut config = test_config(&relay.url(), 2);
    config.max_batch_bytes = 4 * 1024;
    let writer =
        Client::start(config, MemoryStore::new(), &Handle::current()).expect("the client starts");
    writer.set_online(false);
    let token = mint_token(docs[0].as_str(), Access::ReadWrite, Duration::from_hours(1));
    writer.open(docs[0].clone(), token).expect("open");
    writer
        .edit(&docs[0], |tx| {
            tx.put_object(ObjId::Root, "body", ObjType::Text)
                .expect("root is a map");
        })
        .expect("edit")
        .value_if_saved()
        .expect("saved");
    let line = "a line of text typed while offline\n";
    for _ in 0..1500 {
        writer
            .edit(&docs[0], |tx| {
                let body = body(tx.doc()).expect("the body");
                let end = tx.doc().text(body).map_or(0, concord_core::Text::len_chars);
                tx.insert_text(body, end, line).expect("in bounds");
            })
            .expect("edit")
            .value_if_saved()
            .expect("saved");
    }
    writer.set_online(true);
    let clients = [reader, writer];
    wait_until("the upload", CONVERGE, || converged(&clients, &docs)).await;
    let text = clients[0].text(&docs[0], "body").expect("open");
    assert_eq!(text.map(|t| t.len()), Some(1500 * line.len()));
    for c in &clients {
        c.shutdown().await;
    }
}

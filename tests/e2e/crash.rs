//! The relay is killed with SIGKILL in the middle of a stream of changes from
//! several clients and restarted on the same data and port: every change it
//! acknowledged before the kill is still there, and the clients resync on
//! their own.
//!
//! The clients reach the relay through a proxy that keeps them out while a
//! fresh client checks what the restarted relay holds, so the check sees the
//! relay's own data, not what the clients re-uploaded.

use std::collections::BTreeMap;

use concord_client::{Client, ConnectionStatus, DeviceEvent, SyncStatus};
use concord_core::VersionVector;
use concord_e2e::proxy::{Faults, Proxy};
use concord_wire::DocId;

use crate::converge::{
    CONVERGE, Editors, converged, create_bodies, doc_ids, start_client, start_relay, wait_until,
};

/// Every version the relay confirmed to any client, per document.
fn relay_acked(clients: &[Client], docs: &[DocId]) -> BTreeMap<DocId, VersionVector> {
    docs.iter()
        .map(|doc| {
            let mut acked = VersionVector::new();
            for c in clients {
                acked.merge(&c.relay_acked(doc).expect("open"));
            }
            (doc.clone(), acked)
        })
        .collect()
}

fn dominates(have: &VersionVector, need: &VersionVector) -> bool {
    need.iter().all(|(replica, seq)| have.get(replica) >= seq)
}

/// A client that never wrote subscribes to the restarted relay (the
/// others are kept out) and must get at least `acked` of every document.
async fn check_durable(
    relay_url: &str,
    device: u128,
    docs: &[DocId],
    acked: &BTreeMap<DocId, VersionVector>,
) {
    let fresh = start_client(relay_url, device, docs);
    wait_until("a fresh client to sync", CONVERGE, || {
        for doc in docs {
            let status = fresh.status(doc).map_err(|e| e.to_string())?;
            if status != SyncStatus::Synced {
                return Err(format!("{doc} is {status:?}"));
            }
        }
        Ok(())
    })
    .await;
    for doc in docs {
        let have = fresh.version(doc).expect("open");
        let need = &acked[doc];
        assert!(
            dominates(&have, need),
            "{doc}: the restarted relay has {have:?}, but had acknowledged {need:?}"
        );
    }
    fresh.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_change_is_lost_when_the_relay_is_killed() {
    let (mut relay, _dir) = start_relay(&[]);
    let proxy = Proxy::start(relay.addr(), 0, Faults::none())
        .await
        .expect("the proxy starts");
    let docs = doc_ids(2);
    let clients: Vec<Client> = (1..=3)
        .map(|d| start_client(&proxy.url(), d, &docs))
        .collect();
    create_bodies(&clients[0], &clients, &docs).await;

    let editors = Editors::start(&clients, &docs, 1234);
    let mut acked_before = 0;
    for round in 0..3u8 {
        wait_until("a stream of acknowledged changes", CONVERGE, || {
            let acked: u64 = relay_acked(&clients, &docs)
                .values()
                .map(VersionVector::total)
                .sum();
            if acked >= acked_before + 40 {
                Ok(())
            } else {
                Err(format!("{acked} acknowledged"))
            }
        })
        .await;

        tokio::task::block_in_place(|| relay.kill());
        // Every ack a client holds now came from the relay before it died.
        let acked_at_kill = relay_acked(&clients, &docs);
        acked_before = acked_at_kill.values().map(VersionVector::total).sum();
        proxy.set_blocked(true);
        // Editing goes on while the relay is down.
        editors.wait_for_more(20).await;
        tokio::task::block_in_place(|| relay.restart_same_port()).expect("the relay restarts");
        check_durable(&relay.url(), 100 + u128::from(round), &docs, &acked_at_kill).await;

        // The clients have been retrying all along; let them back in.
        proxy.set_blocked(false);
        wait_until("the clients to reconnect", CONVERGE, || {
            match clients
                .iter()
                .position(|c| c.connection() != ConnectionStatus::Connected)
            {
                Some(i) => Err(format!("client {i} is {:?}", clients[i].connection())),
                None => Ok(()),
            }
        })
        .await;
    }
    editors.wait_for_more(20).await;
    let made = editors.stop().await;

    wait_until("convergence after the crashes", CONVERGE, || {
        converged(&clients, &docs)
    })
    .await;
    let total: u64 = docs
        .iter()
        .map(|d| clients[0].version(d).expect("open").total())
        .sum();
    assert_eq!(total, made as u64 + 2, "every edit, plus the two bodies");
    check_durable(&relay.url(), 200, &docs, &relay_acked(&clients, &docs)).await;
    for c in &clients {
        c.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_come_back_after_a_graceful_restart() {
    let (mut relay, _dir) = start_relay(&[]);
    let docs = doc_ids(1);
    let clients: Vec<Client> = (1..=2)
        .map(|d| start_client(&relay.url(), d, &docs))
        .collect();
    create_bodies(&clients[0], &clients, &docs).await;
    let mut events = clients[1].events();

    let editors = Editors::start(&clients, &docs, 77);
    editors.wait_for_more(20).await;
    // SIGTERM: the relay finishes its commits and closes sockets with 1001.
    let status = tokio::task::block_in_place(|| relay.terminate()).expect("terminate");
    assert!(status.success(), "a graceful exit: {status:?}");
    wait_until("the clients to notice", CONVERGE, || {
        let lost = std::iter::from_fn(|| events.try_recv().ok())
            .any(|e| e == DeviceEvent::Connection(ConnectionStatus::Offline));
        if lost {
            Ok(())
        } else {
            Err("still connected".into())
        }
    })
    .await;
    editors.wait_for_more(20).await;
    tokio::task::block_in_place(|| relay.restart_same_port()).expect("the relay restarts");
    editors.wait_for_more(20).await;
    let made = editors.stop().await;
    wait_until("convergence after the restart", CONVERGE, || {
        converged(&clients, &docs)
    })
    .await;
    let total = clients[0].version(&docs[0]).expect("open").total();
    assert_eq!(total, made as u64 + 1, "every edit, plus the body");
    for c in &clients {
        c.shutdown().await;
    }
}

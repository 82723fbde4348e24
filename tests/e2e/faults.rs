//! Messages dropped, duplicated and reordered by a proxy between the clients
//! and the relay, and connections cut mid-stream: still convergence.

use std::time::Duration;

use concord_client::{Client, ConnectionStatus, DeviceEvent, SyncStatus};
use concord_e2e::proxy::{Direction, Faults, Proxy, Stall};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use crate::converge::{
    CONVERGE, Editors, converged, create_bodies, edit_concurrently, start_client, start_relay,
    wait_until,
};
use concord_wire::DocId;

fn lossy(seed_faults: f64) -> Faults {
    Faults {
        drop: seed_faults,
        duplicate: seed_faults,
        reorder: seed_faults,
        reorder_delay: Duration::from_millis(30),
        ..Faults::none()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_duplicated_and_reordered_messages_still_converge() {
    let (relay, _dir) = start_relay(&[]);
    // CONCORD_FAULT_SEEDS=4,5,6 explores other seeds, CONCORD_FAULT_RATE=0.25
    // harsher faults; a failure names its seed.
    let seeds: Vec<u64> = std::env::var("CONCORD_FAULT_SEEDS").map_or_else(
        |_| vec![1, 2, 3],
        |s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
    );
    for seed in seeds {
        let rate = std::env::var("CONCORD_FAULT_RATE")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0.1);
        let proxy = Proxy::start(relay.addr(), seed, lossy(rate))
            .await
            .expect("the proxy starts");
        let docs: Vec<DocId> = (0..2)
            .map(|i| DocId::new(format!("faults-{seed}-{i}")).expect("a valid id"))
            .collect();
        let clients: Vec<Client> = (1..=3)
            .map(|d| start_client(&proxy.url(), u128::from(seed) * 100 + d, &docs))
            .collect();
        create_bodies(&clients[0], &clients, &docs).await;
        edit_concurrently(&clients, &docs, 40, seed).await;
        wait_until(&format!("convergence with seed {seed}"), CONVERGE, || {
            converged(&clients, &docs)
        })
        .await;
        let stats = proxy.stats();
        for (what, n) in [
            ("dropped", &stats.dropped),
            ("duplicated", &stats.duplicated),
            ("reordered", &stats.reordered),
        ] {
            assert!(
                n.load(std::sync::atomic::Ordering::Relaxed) > 0,
                "seed {seed}: nothing {what}"
            );
        }
        for c in &clients {
            c.shutdown().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_mid_stream_still_converge() {
    let (relay, _dir) = start_relay(&[]);
    let proxy = Proxy::start(relay.addr(), 7, lossy(0.02))
        .await
        .expect("the proxy starts");
    let docs: Vec<DocId> = (0..2)
        .map(|i| DocId::new(format!("cut-{i}")).expect("a valid id"))
        .collect();
    let clients: Vec<Client> = (1..=3)
        .map(|d| start_client(&proxy.url(), d, &docs))
        .collect();
    create_bodies(&clients[0], &clients, &docs).await;

    let editors = Editors::start(&clients, &docs, 99);
    for _ in 0..5 {
        editors.wait_for_more(25).await;
        proxy.cut_all();
    }
    editors.wait_for_more(25).await;
    let made = editors.stop().await;
    wait_until("convergence after the cuts", CONVERGE, || {
        converged(&clients, &docs)
    })
    .await;
    let total: u64 = docs
        .iter()
        .map(|d| clients[0].version(d).expect("open").total())
        .sum();
    assert_eq!(total, made as u64 + 2, "every edit, plus the two bodies");
    assert!(
        proxy
            .stats()
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 3 * 6,
        "every cut made every client reconnect"
    );
    for c in &clients {
        c.shutdown().await;
    }
}

/// What reaches an upstream websocket server through a proxy with `faults`,
/// for 200 numbered messages sent one by one.
async fn through_proxy(seed: u64, faults: Faults) -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let upstream = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut ws = tokio_tungstenite::accept_async(tcp)
            .await
            .expect("handshake");
        let mut got = Vec::new();
        while let Some(Ok(msg)) = ws.next().await {
            match msg {
                Message::Binary(b) => got.extend_from_slice(&b),
                Message::Close(_) => break,
                _ => {}
            }
        }
        got
    });
    let proxy = Proxy::start(upstream, seed, faults).await.expect("proxy");
    let (mut ws, _) = tokio_tungstenite::connect_async(proxy.url())
        .await
        .expect("connect");
    for i in 0..200u8 {
        ws.send(Message::Binary(vec![i].into()))
            .await
            .expect("send");
    }
    ws.close(None).await.expect("close");
    server.await.expect("the server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_repeats_its_decisions_for_a_seed() {
    let clean = through_proxy(1, Faults::none()).await;
    assert_eq!(
        clean,
        (0..200).collect::<Vec<u8>>(),
        "no faults: all, in order"
    );

    // Held messages leave with the next one, never by the timer here.
    let faults = Faults {
        reorder_delay: Duration::from_mins(10),
        ..lossy(0.15)
    };
    let a = through_proxy(5, faults).await;
    let b = through_proxy(5, faults).await;
    let c = through_proxy(6, faults).await;
    assert_eq!(a, b, "the same seed, the same faults");
    assert_ne!(a, clean);
    assert_ne!(a, c, "another seed, other faults");

    let dropped_all = Faults {
        drop: 1.0,
        ..Faults::none()
    };
    assert!(through_proxy(1, dropped_all).await.is_empty());
}

/// Polls `f` every few milliseconds until it holds (for at most 10 s).
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_direction_holds_or_loses_everything_and_delays_keep_the_order() {
    use std::sync::atomic::Ordering::Relaxed;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let upstream = listener.local_addr().expect("address");
    let (got_tx, mut got) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut ws = tokio_tungstenite::accept_async(tcp)
            .await
            .expect("handshake");
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Binary(b) = msg {
                let _ = got_tx.send(b[0]);
            }
        }
    });
    let delays = Faults {
        delay: 1.0,
        max_delay: Duration::from_millis(3),
        ..Faults::none()
    };
    let proxy = Proxy::start(upstream, 3, delays).await.expect("proxy");
    let (mut ws, _) = tokio_tungstenite::connect_async(proxy.url())
        .await
        .expect("connect");
    let mut send = async |range: std::ops::Range<u8>| {
        for i in range {
            ws.send(Message::Binary(vec![i].into()))
                .await
                .expect("send");
        }
    };
    let stats = proxy.stats();

    // Held: nothing arrives until the direction flows again, then all, in order.
    proxy.stall(Direction::Up, Stall::Held);
    send(0..50).await;
    until("50 held", || stats.held.load(Relaxed) == 50).await;
    assert!(got.try_recv().is_err(), "a held message passed");
    proxy.stall(Direction::Up, Stall::Flowing);
    send(50..100).await;
    let mut received = Vec::new();
    while received.len() < 100 {
        received.push(got.recv().await.expect("a message"));
    }
    assert_eq!(received, (0..100).collect::<Vec<u8>>());
    // Held ones leave as they were; each of the others waited a little.
    assert_eq!(stats.delayed.load(Relaxed), 50);

    // Lost: gone for good, and what follows still arrives.
    proxy.stall(Direction::Up, Stall::Lost);
    send(100..150).await;
    until("50 lost", || stats.lost.load(Relaxed) == 50).await;
    proxy.stall(Direction::Up, Stall::Flowing);
    send(150..200).await;
    received.clear();
    while received.len() < 50 {
        received.push(got.recv().await.expect("a message"));
    }
    assert_eq!(received, (150..200).collect::<Vec<u8>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_turned_away_with_try_again_later_gets_in_when_there_is_room() {
    let (relay, _dir) = start_relay(&["--max-connections", "1"]);
    let docs: Vec<DocId> = vec![DocId::new("crowded").expect("a valid id")];
    let first = start_client(&relay.url(), 1, &docs);
    wait_until("the first client", CONVERGE, || {
        match first.status(&docs[0]) {
            Ok(SyncStatus::Synced) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    first
        .edit(&docs[0], |tx| {
            tx.put(concord_core::ObjId::Root, "k", 1i64)
                .expect("root is a map");
        })
        .expect("edit")
        .value_if_saved()
        .expect("saved");

    let second = start_client(&relay.url(), 2, &docs);
    // Turned away (1013) again and again, with backoff, never subscribed.
    let mut events = second.events();
    let mut attempts = 0;
    wait_until("a few refused connections", CONVERGE, || {
        for e in std::iter::from_fn(|| events.try_recv().ok()) {
            match e {
                DeviceEvent::Connection(ConnectionStatus::Connecting) => attempts += 1,
                DeviceEvent::Status {
                    status: SyncStatus::Synced,
                    ..
                } => panic!("synced past the connection limit"),
                _ => {}
            }
        }
        if attempts >= 3 {
            Ok(())
        } else {
            Err(format!("{attempts} attempts"))
        }
    })
    .await;
    assert!(second.version(&docs[0]).expect("open").is_empty());

    first.shutdown().await;
    wait_until("the second client to get in", CONVERGE, || {
        match second.status(&docs[0]) {
            Ok(SyncStatus::Synced) => {}
            other => return Err(format!("{other:?}")),
        }
        if second.version(&docs[0]).expect("open").total() == 1 {
            Ok(())
        } else {
            Err("the change has not arrived".into())
        }
    })
    .await;
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_gone_silent_is_given_up_and_sync_resumes() {
    let (relay, _dir) = start_relay(&[]);
    let proxy = Proxy::start(relay.addr(), 11, Faults::none())
        .await
        .expect("the proxy starts");
    let docs: Vec<DocId> = (0..2)
        .map(|i| DocId::new(format!("silent-{i}")).expect("a valid id"))
        .collect();
    let clients: Vec<Client> = (1..=3)
        .map(|d| start_client(&proxy.url(), d, &docs))
        .collect();
    create_bodies(&clients[0], &clients, &docs).await;
    let connections = || {
        proxy
            .stats()
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = connections();

    // Every data message vanishes, both ways; the sockets stay open.
    proxy.set_faults(Faults {
        drop: 1.0,
        ..Faults::none()
    });
    let editors = Editors::start(&clients, &docs, 5);
    // Unacknowledged edits stall; the clients give the connections up and
    // reconnect (into the same silence), each at least twice.
    wait_until(
        "the clients to give up silent connections",
        CONVERGE,
        || {
            let n = connections() - before;
            if n >= 6 {
                Ok(())
            } else {
                Err(format!("{n} reconnections"))
            }
        },
    )
    .await;
    proxy.set_faults(Faults::none());
    editors.wait_for_more(20).await;
    let made = editors.stop().await;
    wait_until("convergence after the silence", CONVERGE, || {
        converged(&clients, &docs)
    })
    .await;
    let total: u64 = docs
        .iter()
        .map(|d| clients[0].version(d).expect("open").total())
        .sum();
    assert_eq!(total, made as u64 + 2, "every edit, plus the two bodies");
    for c in &clients {
        c.shutdown().await;
    }
}

//! Every limit of the relay, each with its error or close code, plus the
//! operational endpoints and graceful shutdown.

use std::path::Path;
use std::time::Duration;

use concord_core::ReplicaId;
use concord_e2e::raw_socket::{
    DEADLINE, RawSocket, Received, Refused, changes, doc, http_get, http_get_with_head, records,
};
use concord_e2e::relay_process::{RelayProcess, mint_token};
use concord_wire::close;
use concord_wire::{Access, ErrorCode, Frame, Message};

const HOUR: Duration = Duration::from_hours(1);

fn start(dir: &Path, args: &[&str]) -> RelayProcess {
    RelayProcess::start(Path::new(env!("CARGO_BIN_EXE_relay-under-test")), dir, args)
        .expect("relay starts")
}

fn token(d: &str) -> String {
    mint_token(d, Access::ReadWrite, HOUR)
}

#[tokio::test]
async fn documents_per_connection() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path(), &["--max-docs-per-connection", "2"]);
    let mut c = RawSocket::connect(&relay.url()).await?;
    for d in ["a", "b"] {
        c.subscribe(&doc(d), &token(d), ReplicaId(1)).await??;
    }
    assert_eq!(
        c.subscribe(&doc("c"), &token("c"), ReplicaId(1)).await?,
        Err(Refused(ErrorCode::TooManyDocuments))
    );
    c.send(&Frame::Unsubscribe { doc: doc("a") }).await?;
    assert_eq!(
        c.subscribe(&doc("c"), &token("c"), ReplicaId(1)).await?,
        Ok(Access::ReadWrite)
    );
    Ok(())
}

#[tokio::test]
async fn changes_waiting_for_dependencies_per_connection() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path(), &["--max-pending-per-connection", "3"]);
    let d = doc("p");
    let mut c = RawSocket::connect(&relay.url()).await?;
    c.subscribe(&d, &token("p"), ReplicaId(1)).await??;
    let all = changes(1, 6);
    // Five changes whose first dependency (seq 1) is missing.
    assert_eq!(
        c.upload(&d, &all[1..]).await?,
        Err(Refused(ErrorCode::TooManyPending))
    );
    // The relay asks for a resend with its version (nothing stored)...
    let hello = c
        .recv_until(|f| {
            matches!(f, Frame::Sync { message: Message::Hello { version }, .. } if version.is_empty())
        })
        .await?;
    assert!(matches!(hello, Frame::Sync { .. }));
    // ...and in causal order everything goes through.
    let acked = c.upload(&d, &all).await??;
    assert_eq!(acked.get(ReplicaId(1)), 6);
    Ok(())
}

#[tokio::test]
async fn changes_per_second_then_abuse_closes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(
        dir.path(),
        &["--max-changes-per-sec", "5", "--changes-burst", "5"],
    );
    let d = doc("r");
    let mut c = RawSocket::connect(&relay.url()).await?;
    c.subscribe(&d, &token("r"), ReplicaId(1)).await??;
    let all = changes(1, 300);
    assert_eq!(
        c.upload(&d, &all[..10]).await?,
        Err(Refused(ErrorCode::RateLimited))
    );
    // The first five were stored; once the bucket refills the relay says
    // what it has (Hello) so the rest can be resent, as a client would.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "never accepted");
        c.recv_until(|f| {
            matches!(f, Frame::Sync { message: Message::Hello { version }, .. }
                if version.get(ReplicaId(1)) >= 5)
        })
        .await?;
        match c.upload(&d, &all[5..10]).await? {
            Ok(acked) => {
                assert_eq!(acked.get(ReplicaId(1)), 10);
                break;
            }
            Err(Refused(ErrorCode::RateLimited)) => {}
            Err(other) => anyhow::bail!("{other}"),
        }
    }

    // Ignoring the limit again and again: close 1008.
    for i in 1..29 {
        let batch = all[i * 10..(i + 1) * 10].to_vec();
        let sent = c
            .send(&Frame::Sync {
                doc: d.clone(),
                message: Message::Records {
                    records: records(batch),
                },
            })
            .await;
        if sent.is_err() {
            break;
        }
    }
    assert_eq!(c.recv_close().await?, Some(close::POLICY_VIOLATION));
    Ok(())
}

#[tokio::test]
async fn message_size() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path(), &["--max-message-bytes", "4096"]);
    let d = doc("m");
    let mut c = RawSocket::connect(&relay.url()).await?;
    c.subscribe(&d, &token("m"), ReplicaId(1)).await??;
    let many = changes(1, 400);
    let frame = Frame::Sync {
        doc: d.clone(),
        message: Message::Records {
            records: records(many.clone()),
        },
    };
    assert!(frame.encode().len() > 4096);
    let _ = c.send(&frame).await;
    assert_eq!(c.recv_close().await?, Some(close::MESSAGE_TOO_BIG));
    // Smaller batches are fine.
    let mut c = RawSocket::connect(&relay.url()).await?;
    c.subscribe(&d, &token("m"), ReplicaId(1)).await??;
    c.upload(&d, &many[..20]).await??;
    Ok(())
}

#[tokio::test]
async fn connections_in_total_and_metrics() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path(), &["--max-connections", "2"]);
    let mut a = RawSocket::connect(&relay.url()).await?;
    a.subscribe(&doc("x"), &token("x"), ReplicaId(1)).await??;
    let mut b = RawSocket::connect(&relay.url()).await?;
    b.subscribe(&doc("x"), &token("x"), ReplicaId(2)).await??;
    let mut third = RawSocket::connect(&relay.url()).await?;
    assert_eq!(third.recv_close().await?, Some(close::TRY_AGAIN_LATER));

    // Once one leaves, a new connection is served (the relay notices the
    // close asynchronously: retry until the deadline).
    a.close().await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never accepted again"
        );
        let mut c = RawSocket::connect(&relay.url()).await?;
        c.send(&Frame::Subscribe {
            doc: doc("x"),
            token: token("x"),
            device: ReplicaId(3),
        })
        .await?;
        match c.recv().await? {
            Received::Frame(Frame::Subscribed { .. }) => break,
            Received::Closed(Some(close::TRY_AGAIN_LATER)) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }

    let (status, body) = http_get(relay.addr(), "/healthz").await?;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, metrics) = http_get(relay.addr(), "/metrics").await?;
    assert_eq!(status, 200);
    for needle in [
        "concord_relay_connections ",
        "concord_relay_active_documents ",
        "concord_relay_changes_stored_total ",
        "concord_relay_bytes_in_total ",
        "concord_relay_bytes_out_total ",
        "concord_relay_rejected_total{reason=\"too_many_connections\"} ",
    ] {
        assert!(metrics.contains(needle), "{needle} in\n{metrics}");
    }
    drop(b);
    Ok(())
}

#[tokio::test]
async fn graceful_shutdown_closes_sockets_with_1001_and_keeps_data() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut relay = start(dir.path(), &[]);
    let d = doc("s");
    let mut c = RawSocket::connect(&relay.url()).await?;
    c.subscribe(&d, &token("s"), ReplicaId(1)).await??;
    let all = changes(1, 5);
    c.upload(&d, &all).await??;

    let status = relay.terminate()?;
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(c.recv_close().await?, Some(close::GOING_AWAY));

    relay.restart_same_port()?;
    let mut after = RawSocket::connect(&relay.url()).await?;
    after.subscribe(&d, &token("s"), ReplicaId(2)).await??;
    assert_eq!(after.download(&d).await?, all);
    Ok(())
}

#[tokio::test]
async fn presence_follows_subscribers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path(), &[]);
    let d = doc("room");
    let presence = |want: Vec<ReplicaId>| move |f: &Frame| matches!(f, Frame::Presence { devices, .. } if *devices == want);
    let mut a = RawSocket::connect(&relay.url()).await?;
    a.subscribe(&d, &token("room"), ReplicaId(1)).await??;
    a.recv_until(presence(vec![ReplicaId(1)])).await?;
    let mut b = RawSocket::connect(&relay.url()).await?;
    b.subscribe(&d, &token("room"), ReplicaId(2)).await??;
    b.recv_until(presence(vec![ReplicaId(1), ReplicaId(2)]))
        .await?;
    a.recv_until(presence(vec![ReplicaId(1), ReplicaId(2)]))
        .await?;
    b.close().await;
    a.recv_until(presence(vec![ReplicaId(1)])).await?;
    Ok(())
}

#[tokio::test]
async fn a_subscriber_that_reads_nothing_is_closed_for_resync() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Records count against the rate by their bytes: no rate limit here,
    // this is about a socket that reads nothing.
    let relay = start(
        dir.path(),
        &[
            "--send-timeout-secs",
            "1",
            "--max-changes-per-sec",
            "1e9",
            "--changes-burst",
            "1e9",
        ],
    );
    let d = doc("big");
    let mut writer = RawSocket::connect(&relay.url()).await?;
    writer.subscribe(&d, &token("big"), ReplicaId(1)).await??;
    let mut stalled = RawSocket::connect(&relay.url()).await?;
    stalled.subscribe(&d, &token("big"), ReplicaId(2)).await??;
    stalled
        .send(&Frame::Sync {
            doc: d.clone(),
            message: Message::Hello {
                version: concord_core::VersionVector::new(),
            },
        })
        .await?;
    // From here on `stalled` reads nothing. The writer pushes far more than
    // the socket buffers hold (8 changes of 100 KB per message).
    let mut doc_a = concord_core::Document::new(ReplicaId(1));
    let payload = "x".repeat(100_000);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "never closed");
        let batch: Vec<_> = (0..8)
            .map(|_| {
                let mut tx = doc_a.transaction();
                tx.put(concord_core::ObjId::Root, "k", payload.as_str())
                    .expect("put");
                tx.commit().expect("a change")
            })
            .collect();
        writer.upload(&d, &batch).await??;
        let (_, metrics) = http_get(relay.addr(), "/metrics").await?;
        if metrics.contains("concord_relay_rejected_total{reason=\"too_slow\"} 1") {
            break;
        }
    }
    // The writer was never held up, and the relay still serves.
    let mut fresh = RawSocket::connect(&relay.url()).await?;
    fresh.subscribe(&d, &token("big"), ReplicaId(3)).await??;
    drop(stalled);
    Ok(())
}

#[tokio::test]
async fn static_files_for_the_web_demo() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let web = tempfile::tempdir()?;
    std::fs::write(web.path().join("index.html"), "<h1>concord</h1>")?;
    std::fs::create_dir(web.path().join("pkg"))?;
    std::fs::write(web.path().join("pkg/app.wasm"), b"\0asm\x01\0\0\0")?;
    let web_dir = web.path().to_str().expect("utf-8 temp path");
    let relay = start(dir.path(), &["--web", web_dir]);
    let (status, head, body) = http_get_with_head(relay.addr(), "/").await?;
    assert_eq!((status, body.as_str()), (200, "<h1>concord</h1>"));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{head}"
    );
    let (status, head, _) = http_get_with_head(relay.addr(), "/pkg/app.wasm").await?;
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/wasm"),
        "{head}"
    );
    assert_eq!(http_get(relay.addr(), "/../etc/passwd").await?.0, 404);
    assert_eq!(http_get(relay.addr(), "/missing.js").await?.0, 404);
    // The relay's own routes still win.
    assert_eq!(http_get(relay.addr(), "/healthz").await?.1, "ok");
    Ok(())
}

#[tokio::test]
async fn changes_waiting_for_dependencies_are_bounded_by_bytes_per_connection() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    // Default limits: 10,000 records, 8 MiB (and no rate limit: records
    // count against it by their bytes, and this is about what is held).
    let relay = start(
        dir.path(),
        &["--max-changes-per-sec", "1e9", "--changes-burst", "1e9"],
    );
    let d = doc("heavy");
    let mut c = RawSocket::connect(&relay.url()).await?;
    c.subscribe(&d, &token("heavy"), ReplicaId(1)).await??;
    let mut author = concord_core::Document::new(ReplicaId(1));
    let text = "x".repeat(900_000);
    let all: Vec<_> = (0..12)
        .map(|_| {
            let mut tx = author.transaction();
            tx.put(concord_core::ObjId::Root, "k", text.as_str())
                .expect("put");
            tx.commit().expect("a change")
        })
        .collect();
    // Eleven changes of 900 KB whose first dependency is missing: far fewer
    // than 10,000, but 9.9 MB.
    for change in &all[1..] {
        c.send(&Frame::Sync {
            doc: d.clone(),
            message: Message::Records {
                records: records(vec![change.clone()]),
            },
        })
        .await?;
    }
    // (The relay keeps sending Hellos, so bound the whole wait.)
    let (doc_of, code) = tokio::time::timeout(DEADLINE, c.recv_error())
        .await
        .map_err(|_| anyhow::anyhow!("9.9 MB held without an error"))??;
    assert_eq!((doc_of, code), (Some(d.clone()), ErrorCode::TooManyPending));
    // What was held is dropped; in causal order everything goes through.
    for chunk in all.chunks(1) {
        c.upload(&d, chunk).await??;
    }
    let mut fresh = RawSocket::connect(&relay.url()).await?;
    fresh.subscribe(&d, &token("heavy"), ReplicaId(2)).await??;
    assert_eq!(fresh.download(&d).await?.len(), all.len());
    Ok(())
}

#[tokio::test]
async fn a_change_held_on_one_connection_is_stored_once_another_connection_stores_its_dependency()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path(), &[]);
    let d = doc("pair");
    let all = changes(1, 3);
    let mut late = RawSocket::connect(&relay.url()).await?;
    late.subscribe(&d, &token("pair"), ReplicaId(1)).await??;
    // Seq 2 and 3 first: held.
    late.send(&Frame::Sync {
        doc: d.clone(),
        message: Message::Records {
            records: records(all[1..].to_vec()),
        },
    })
    .await?;
    // Another connection stores seq 1 ...
    let mut other = RawSocket::connect(&relay.url()).await?;
    other.subscribe(&d, &token("pair"), ReplicaId(2)).await??;
    other.upload(&d, &all[..1]).await??;
    // ... which releases the held ones: stored and acknowledged to `late`.
    late.recv_until(|f| {
        matches!(f, Frame::Sync { message: Message::Ack { version }, .. }
            if version.get(ReplicaId(1)) == 3)
    })
    .await?;
    let mut fresh = RawSocket::connect(&relay.url()).await?;
    fresh.subscribe(&d, &token("pair"), ReplicaId(3)).await??;
    assert_eq!(fresh.download(&d).await?, all);
    Ok(())
}

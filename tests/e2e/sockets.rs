//! Sockets that never become websockets, websockets that go silent, and a
//! relay at its file descriptor limit.

use std::path::Path;
use std::time::Duration;

use concord_core::ReplicaId;
use concord_e2e::raw_socket::{DEADLINE, RawSocket, changes, doc, http_get};
use concord_e2e::relay_process::{RelayProcess, mint_token};
use concord_wire::Access;
use concord_wire::close;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HOUR: Duration = Duration::from_hours(1);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_relay-under-test"))
}

/// Reads until the relay closes the socket; an error if it stays open
/// past the deadline.
async fn closed_by_relay(s: &mut TcpStream) -> anyhow::Result<()> {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(DEADLINE, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .map_err(|_| anyhow::anyhow!("the relay kept a silent socket open for {DEADLINE:?}"))
}

#[tokio::test]
async fn a_socket_that_never_finishes_its_handshake_is_closed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Default handshake timeout (10 s).
    let relay = RelayProcess::start(bin(), dir.path(), &[])?;
    let mut silent = TcpStream::connect(relay.addr()).await?;
    let mut half = TcpStream::connect(relay.addr()).await?;
    half.write_all(b"GET /v1/sync HTTP/1.1\r\nHost: relay\r\n")
        .await?;
    closed_by_relay(&mut silent).await?;
    closed_by_relay(&mut half).await?;
    Ok(())
}

#[tokio::test]
async fn a_websocket_that_sends_nothing_is_closed_after_the_idle_timeout() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = RelayProcess::start(bin(), dir.path(), &["--idle-timeout-secs", "2"])?;
    let d = doc("quiet");
    let token = mint_token("quiet", Access::ReadWrite, HOUR);
    // A client that reads answers the relay's pings: it stays.
    let mut live = RawSocket::connect(&relay.url()).await?;
    live.subscribe(&d, &token, ReplicaId(1)).await??;
    // One that never reads (so never answers) goes.
    let mut quiet = RawSocket::connect(&relay.url()).await?;
    let until = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < until {
        let _ = tokio::time::timeout_at(until, live.recv()).await;
    }
    // The close frame, or a reset if the Pong the client queues on reading
    // the relay's Pings meets a closed socket.
    let code = quiet.recv_close().await?;
    assert!(matches!(code, Some(close::NORMAL) | None), "{code:?}");
    let (_, metrics) = http_get(relay.addr(), "/metrics").await?;
    assert!(
        metrics.contains("concord_relay_rejected_total{reason=\"idle\"} 1"),
        "{metrics}"
    );
    live.upload(&d, &changes(1, 1)).await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_beyond_the_descriptor_limit_lock_out_neither_healthz_nor_clients()
-> anyhow::Result<()> {
    // This test opens 1,100 sockets itself.
    rlimit::increase_nofile_limit(4096)?;
    let dir = tempfile::tempdir()?;
    // Default --max-connections (10,000) under 1,024 descriptors.
    let relay = RelayProcess::start_with_fd_limit(bin(), dir.path(), &[], Some(1024))?;
    let mut silent = Vec::new();
    for _ in 0..1100 {
        silent.push(TcpStream::connect(relay.addr()).await?);
    }
    let (status, body) = http_get(relay.addr(), "/healthz").await?;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let d = doc("real");
    let mut client = RawSocket::connect(&relay.url()).await?;
    client
        .subscribe(
            &d,
            &mint_token("real", Access::ReadWrite, HOUR),
            ReplicaId(1),
        )
        .await??;
    client.upload(&d, &changes(1, 3)).await??;
    let log = std::fs::read_to_string(relay.stderr_path())?;
    assert!(
        log.contains("clamped to fit the open-files limit") && log.contains("896"),
        "the relay says what it can hold:\n{log}"
    );
    drop(silent);
    Ok(())
}

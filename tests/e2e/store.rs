//! The relay's store under faults: a write lock held by another process, a
//! full disk. A refused write is said so (Error StoreUnavailable), reads and
//! other documents go on, and writes resume without a restart.

use std::path::Path;
use std::time::Duration;

use concord_core::{Document, EncodedChange, ObjId, ReplicaId, VersionVector};
use concord_e2e::raw_socket::{DEADLINE, RawSocket, Refused, changes, doc, http_get};
use concord_e2e::relay_process::{RelayProcess, mint_token};
use concord_wire::{Access, DocId, ErrorCode, Frame, Message};

const HOUR: Duration = Duration::from_hours(1);

fn start(dir: &Path, args: &[&str]) -> RelayProcess {
    RelayProcess::start(Path::new(env!("CARGO_BIN_EXE_relay-under-test")), dir, args)
        .expect("relay starts")
}

fn token(d: &DocId) -> String {
    mint_token(d.as_str(), Access::ReadWrite, HOUR)
}

/// `n` changes by `replica`, each holding `size` bytes of text (large
/// enough that storing one always needs new pages).
fn big_changes(replica: u128, n: usize, size: usize) -> Vec<EncodedChange> {
    let mut d = Document::new(ReplicaId(replica));
    let text = "x".repeat(size);
    (0..n)
        .map(|_| {
            let mut tx = d.transaction();
            tx.put(ObjId::Root, "k", text.as_str()).expect("put");
            tx.commit().expect("a change")
        })
        .collect()
}

/// Another process's connection holding the database's write lock until
/// `release` is sent (or it is dropped).
struct HeldLock {
    release: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HeldLock {
    fn take(db: &Path) -> HeldLock {
        let conn = rusqlite::Connection::open(db).expect("open the relay's database");
        conn.execute_batch("BEGIN IMMEDIATE")
            .expect("take the write lock");
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _ = wait.recv();
            conn.execute_batch("COMMIT").expect("release the lock");
        });
        HeldLock {
            release,
            thread: Some(thread),
        }
    }

    fn release(mut self) {
        let _ = self.release.send(());
        if let Some(t) = self.thread.take() {
            t.join().expect("the lock holder");
        }
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = self.release.send(());
    }
}

/// Uploads until the relay stores the changes (it refuses with
/// StoreUnavailable while its store fails).
async fn upload_until_stored(
    c: &mut RawSocket,
    d: &DocId,
    cs: &[EncodedChange],
) -> anyhow::Result<VersionVector> {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "never stored again");
        match c.upload(d, cs).await? {
            Ok(v) => return Ok(v),
            Err(Refused(ErrorCode::StoreUnavailable)) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(other) => anyhow::bail!("{other}"),
        }
    }
}

async fn healthz(relay: &RelayProcess) -> anyhow::Result<u16> {
    Ok(http_get(relay.addr(), "/healthz").await?.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_lock_held_briefly_by_another_process_delays_the_commit_instead_of_failing_it()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path(), &[]);
    let d = doc("locked");
    let cs = changes(1, 2);
    let mut w = RawSocket::connect(&relay.url()).await?;
    w.subscribe(&d, &token(&d), ReplicaId(1)).await??;
    w.upload(&d, &cs[..1]).await??;

    let lock = HeldLock::take(&relay.db_path());
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        lock.release();
    });
    // The commit waits for the lock (busy timeout 5 s) and then succeeds.
    let acked = w.upload(&d, &cs[1..]).await?;
    releaser.join().expect("the lock holder");
    assert_eq!(acked.map(|v| v.get(ReplicaId(1))), Ok(2));
    assert_eq!(healthz(&relay).await?, 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_lock_held_past_the_busy_timeout_refuses_the_write_and_the_relay_recovers_without_a_restart()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut relay = start(dir.path(), &[]);
    let (d, other) = (doc("locked"), doc("other"));
    let cs = changes(1, 2);
    let theirs = changes(2, 1);
    let mut w = RawSocket::connect(&relay.url()).await?;
    w.subscribe(&d, &token(&d), ReplicaId(1)).await??;
    w.upload(&d, &cs[..1]).await??;
    let mut o = RawSocket::connect(&relay.url()).await?;
    o.subscribe(&other, &token(&other), ReplicaId(2)).await??;
    o.upload(&other, &theirs).await??;

    let lock = HeldLock::take(&relay.db_path());
    assert_eq!(
        w.upload(&d, &cs[1..]).await?,
        Err(Refused(ErrorCode::StoreUnavailable)),
        "refused after the busy timeout, and said so"
    );
    assert_eq!(healthz(&relay).await?, 503, "while the store fails");
    // New connections, subscriptions and reads of every document go on.
    let mut r = RawSocket::connect(&relay.url()).await?;
    r.subscribe(&other, &token(&other), ReplicaId(3)).await??;
    assert_eq!(r.download(&other).await?, theirs);
    r.subscribe(&d, &token(&d), ReplicaId(3)).await??;
    assert_eq!(
        r.download(&d).await?,
        cs[..1],
        "the refused change is not served"
    );

    lock.release();
    let acked = upload_until_stored(&mut w, &d, &cs[1..]).await?;
    assert_eq!(acked.get(ReplicaId(1)), 2);
    assert_eq!(healthz(&relay).await?, 200, "healthy again");

    let status = tokio::task::block_in_place(|| relay.terminate_within(Duration::from_secs(20)))?;
    assert!(status.success(), "a clean stop: {status:?}");
    tokio::task::block_in_place(|| relay.restart_same_port())?;
    let mut after = RawSocket::connect(&relay.url()).await?;
    after.subscribe(&d, &token(&d), ReplicaId(4)).await??;
    assert_eq!(after.download(&d).await?, cs);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_while_reads_go_on_and_writes_resume_once_space_is_freed()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // A database of at most 60 pages (240 KiB): a disk that fills up.
    let mut relay = start(dir.path(), &["--test-max-page-count", "60"]);
    let (notes, ballast) = (doc("notes"), doc("ballast"));
    let small = changes(1, 3);
    let mut w = RawSocket::connect(&relay.url()).await?;
    w.subscribe(&notes, &token(&notes), ReplicaId(1)).await??;
    w.upload(&notes, &small).await??;

    // Another writer fills the disk.
    let mut b = RawSocket::connect(&relay.url()).await?;
    b.subscribe(&ballast, &token(&ballast), ReplicaId(2))
        .await??;
    let mut full = false;
    for c in big_changes(2, 100, 8000) {
        match b.upload(&ballast, std::slice::from_ref(&c)).await? {
            Ok(_) => {}
            Err(Refused(ErrorCode::StoreUnavailable)) => {
                full = true;
                break;
            }
            Err(other) => anyhow::bail!("{other}"),
        }
    }
    assert!(full, "60 pages cannot hold 800 KB");
    b.close().await;
    assert_eq!(healthz(&relay).await?, 503, "while the store fails");

    // A write to another document is refused too, and said so.
    let big = big_changes(3, 1, 8000);
    let mut all = small.clone();
    all.extend(big.iter().cloned());
    let mut w2 = RawSocket::connect(&relay.url()).await?;
    w2.subscribe(&notes, &token(&notes), ReplicaId(3)).await??;
    assert_eq!(
        w2.upload(&notes, &big).await?,
        Err(Refused(ErrorCode::StoreUnavailable))
    );
    // Reads and new subscriptions go on; nothing uncommitted is served.
    let mut r = RawSocket::connect(&relay.url()).await?;
    r.subscribe(&notes, &token(&notes), ReplicaId(4)).await??;
    assert_eq!(r.download(&notes).await?, small);
    let fresh = doc("fresh");
    r.subscribe(&fresh, &token(&fresh), ReplicaId(4)).await??;

    // An operator frees space (here: drops the ballast document's rows).
    {
        let conn = rusqlite::Connection::open(relay.db_path())?;
        conn.execute(
            "DELETE FROM records WHERE doc = (SELECT id FROM documents WHERE name = 'ballast')",
            [],
        )?;
    }
    let acked = upload_until_stored(&mut w2, &notes, &big).await?;
    assert_eq!(acked.get(ReplicaId(3)), 1);
    assert_eq!(healthz(&relay).await?, 200, "healthy again, no restart");
    // The reader gets the change live, once committed.
    r.recv_until(|f| {
        matches!(f, Frame::Sync { message: Message::Records { records }, .. }
            if records.iter().any(|r| r.ids().any(|id| id == big[0].id())))
    })
    .await?;
    // The first writer, which saw none of it, still writes.
    w.upload(&notes, &changes(1, 4)[3..]).await??;

    let status = tokio::task::block_in_place(|| relay.terminate_within(Duration::from_secs(20)))?;
    assert!(status.success(), "a clean stop: {status:?}");
    tokio::task::block_in_place(|| relay.restart_same_port())?;
    let mut after = RawSocket::connect(&relay.url()).await?;
    after
        .subscribe(&notes, &token(&notes), ReplicaId(5))
        .await??;
    let stored = after.download(&notes).await?;
    assert_eq!(stored.len(), 5);
    assert!(all.iter().all(|c| stored.contains(c)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_clean_stop_the_database_file_alone_holds_every_change() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut relay = start(dir.path(), &[]);
    let d = doc("copied");
    let all = changes(1, 200);
    let mut w = RawSocket::connect(&relay.url()).await?;
    w.subscribe(&d, &token(&d), ReplicaId(1)).await??;
    for chunk in all.chunks(10) {
        w.upload(&d, chunk).await??;
    }
    let status = tokio::task::block_in_place(|| relay.terminate_within(Duration::from_secs(20)))?;
    assert!(status.success(), "a clean stop: {status:?}");

    // Copy the database file only, as a naive backup would.
    let copy = tempfile::tempdir()?;
    std::fs::copy(
        relay.db_path(),
        copy.path().join(concord_relay::store::DB_FILE),
    )?;
    let conn = rusqlite::Connection::open(copy.path().join(concord_relay::store::DB_FILE))?;
    let rows: i64 = conn.query_row("SELECT count(*) FROM records", [], |r| r.get(0))?;
    assert_eq!(rows, 200, "the WAL was folded into the file on stop");
    drop(conn);
    let from_copy = start(copy.path(), &[]);
    let mut r = RawSocket::connect(&from_copy.url()).await?;
    r.subscribe(&d, &token(&d), ReplicaId(2)).await??;
    assert_eq!(r.download(&d).await?, all);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_relay_writes_holds_every_acknowledged_change()
-> anyhow::Result<()> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path(), &[]);
    let d = doc("busy");
    let all = changes(1, 3000);
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, d, all) = (relay.url(), d.clone(), all.clone());
        let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut w = RawSocket::connect(&url).await?;
            w.subscribe(&d, &token(&d), ReplicaId(1)).await??;
            for (i, chunk) in all.chunks(5).enumerate() {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                w.upload(&d, chunk).await??;
                acked.store((i + 1) * 5, Ordering::Release);
            }
            anyhow::Ok(())
        })
    };
    while acked.load(Ordering::Acquire) < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let acked_before = acked.load(Ordering::Acquire);
    let backups = tempfile::tempdir()?;
    let dest = backups.path().join(concord_relay::store::DB_FILE);
    let output = tokio::task::block_in_place(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_relay-under-test"))
            .arg("backup")
            .arg(&dest)
            .arg("--data")
            .arg(dir.path())
            .output()
    })?;
    let acked_after_backup = acked.load(Ordering::Acquire);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stop.store(true, Ordering::Release);
    writer.await??;
    assert!(
        acked_after_backup > acked_before,
        "the relay kept acknowledging writes during the backup"
    );

    let conn = rusqlite::Connection::open(&dest)?;
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    assert_eq!(check, "ok");
    drop(conn);
    // The backup is a relay database: serve it.
    let restored = start(backups.path(), &[]);
    let mut r = RawSocket::connect(&restored.url()).await?;
    r.subscribe(&d, &token(&d), ReplicaId(2)).await??;
    let got = r.download(&d).await?;
    assert!(
        got.len() >= acked_before,
        "{} changes in the backup, {acked_before} acknowledged before it began",
        got.len()
    );
    assert_eq!(got, all[..got.len()], "a causal prefix of what was written");
    // A backup never overwrites.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_relay-under-test"))
        .arg("backup")
        .arg(&dest)
        .arg("--data")
        .arg(dir.path())
        .output()?;
    assert!(!again.status.success());
    Ok(())
}

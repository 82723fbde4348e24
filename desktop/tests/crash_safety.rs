//! Kill (SIGKILL) a process writing through the replica store at random
//! moments, many times: every change it reported as committed must be there
//! afterwards, and the database must pass `PRAGMA integrity_check`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use concord_core::ReplicaId;
use concord_desktop::{note, store::SqliteStore};
use concord_wire::DocId;

const ROUNDS: u64 = 25;

/// A tiny seeded generator, so a failing run can be repeated.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn no_committed_change_is_lost_when_the_writer_is_killed() {
    let seed = std::env::var("CONCORD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    let mut rng = seed;
    let dir = tempfile::tempdir().unwrap();
    let id = DocId::new("crash").unwrap();
    let mut committed = 0u64;
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_concord"))
            .arg("--data")
            .arg(dir.path())
            .args(["crash-writer", id.as_str()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Read in another thread so the kill can land at any moment.
        let reader = std::thread::spawn(move || {
            let mut last = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line.strip_prefix("committed ") {
                    last = n.parse::<u64>().ok();
                }
            }
            last
        });
        std::thread::sleep(Duration::from_millis(20 + next(&mut rng) % 300));
        child.kill().unwrap();
        child.wait().unwrap();
        let reported = reader.join().unwrap();
        if let Some(n) = reported {
            committed = committed.max(n);
        }

        let store = SqliteStore::open(dir.path(), || ReplicaId(0)).unwrap();
        assert_eq!(
            store.integrity_check().unwrap(),
            "ok",
            "round {round}, seed {seed}"
        );
        if committed == 0 {
            continue;
        }
        let doc = store.load(&id).unwrap();
        let have = doc.version().get(store.device());
        assert!(
            have >= committed,
            "round {round}, seed {seed}: reported {committed} committed, found {have}"
        );
        // Change 1 creates the document; every later one adds one char.
        assert_eq!(note::body_text(&doc).len() as u64, have - 1);
    }
    assert!(committed > 0, "the writer never got to commit anything");
}

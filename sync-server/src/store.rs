//! Durable storage: one SQLite database (`relay.sqlite3` under `--data DIR`)
//! in WAL mode with `synchronous=FULL`.
//!
//! ```text
//! documents(id INTEGER PRIMARY KEY, name TEXT UNIQUE)
//! changes(ord INTEGER PRIMARY KEY,          -- insertion order = a causal order
//!         doc, replica BLOB(16), seq, lamport,
//!         bytes BLOB,                        -- the encoded change, opaque
//!         UNIQUE (doc, replica, seq))
//! ```
//! Writes go to one dedicated thread that commits whatever is queued in a
//! single transaction (group commit), so many connections share one fsync,
//! and then reports to each writer, in submission order. Reads (loading a
//! document) use a separate connection.
//!
//! The API is small and free of SQLite types (`open`, `load`, `submit`,
//! `close`), so the store can move to another database (PostgreSQL) behind it.
//! The caller (the hub) guarantees that what it submits is new and causally
//! ready; the UNIQUE constraint is a safety net, and a violation fails the
//! commit.
//!
//! A failed commit *poisons* the store: later writes are refused until the
//! relay restarts. Continuing could store a change whose dependency was in
//! the failed transaction, breaking causal closure.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;

use concord_core::{DocId, EncodedChange};
use rusqlite::{Connection, OpenFlags, params};

use crate::error::{CommitFailed, StoreError};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "relay.sqlite3";
/// `PRAGMA application_id`: "CNCD". A database without it is not ours.
const APPLICATION_ID: i32 = 0x434E_4344;
/// Schema migrations; `PRAGMA user_version` = how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: documents and their changes.
    "CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE changes (
        ord INTEGER PRIMARY KEY,
        doc INTEGER NOT NULL REFERENCES documents(id),
        replica BLOB NOT NULL,
        seq INTEGER NOT NULL,
        lamport INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        UNIQUE (doc, replica, seq)
    );
    CREATE INDEX changes_by_doc ON changes(doc, ord);",
];
/// Most writers' jobs folded into one transaction.
const MAX_JOBS_PER_COMMIT: usize = 4096;

/// Called once a job's transaction has committed (or failed), on the writer
/// thread, in submission order.
pub type OnCommit = Box<dyn FnOnce(Result<(), CommitFailed>) + Send>;

struct Job {
    doc: DocId,
    changes: Vec<EncodedChange>,
    done: OnCommit,
}

/// The relay's durable log of changes.
pub struct Store {
    path: PathBuf,
    reader: Mutex<Connection>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    poisoned: Arc<AtomicBool>,
    stats: Arc<CommitStats>,
}

/// What the writer has done, for metrics.
#[derive(Debug, Default)]
pub struct CommitStats {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Microseconds spent in them (writes and fsync).
    pub micros: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    /// Opens (or creates) the database in `dir`. A file that is not a Concord
    /// relay database, or is corrupt, is an error and is left untouched.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let not_ours = |e: rusqlite::Error| StoreError::NotOurs {
            path: path.clone(),
            reason: e.to_string(),
        };
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(not_ours)?;
        // Read before writing anything: a foreign file must stay as it is.
        let app_id: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(not_ours)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(not_ours)?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(not_ours)?;
        let fresh = app_id == 0 && version == 0 && tables == 0;
        if !fresh && app_id != APPLICATION_ID {
            return Err(StoreError::NotOurs {
                path,
                reason: format!("application_id is {app_id:#x}"),
            });
        }
        let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if version > known {
            return Err(StoreError::TooNew {
                path,
                found: version,
                known,
            });
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NotOurs {
                path,
                reason: format!("cannot switch to WAL (journal mode {mode})"),
            });
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        migrate(&mut conn, version)?;
        // Catch a damaged file now rather than on some later read.
        let check: String = conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(not_ours)?;
        if check != "ok" {
            return Err(StoreError::NotOurs {
                path,
                reason: format!("integrity check: {check}"),
            });
        }

        let reader = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;

        let poisoned = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(CommitStats::default());
        let (tx, rx) = mpsc::channel();
        let writer = {
            let poisoned = Arc::clone(&poisoned);
            let stats = Arc::clone(&stats);
            std::thread::Builder::new()
                .name("store-writer".into())
                .spawn(move || run_writer(conn, &rx, &poisoned, &stats))
                .map_err(|e| StoreError::NotOurs {
                    path: path.clone(),
                    reason: format!("cannot start the writer thread: {e}"),
                })?
        };
        Ok(Store {
            path,
            reader: Mutex::new(reader),
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            poisoned,
            stats,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits so far and the time they took.
    pub fn stats(&self) -> &CommitStats {
        &self.stats
    }

    /// Can the store still take writes?
    pub fn is_healthy(&self) -> bool {
        !self.poisoned.load(Ordering::Acquire)
    }

    /// Every stored change of `doc`, in insertion order (a causal order).
    /// Blocking: call from a blocking thread.
    pub fn load(&self, doc: &DocId) -> Result<Vec<EncodedChange>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT c.replica, c.seq, c.bytes FROM changes c
             JOIN documents d ON c.doc = d.id
             WHERE d.name = ?1 ORDER BY c.ord",
        )?;
        let mut rows = stmt.query(params![doc.as_str()])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let replica: Vec<u8> = row.get(0)?;
            let seq: i64 = row.get(1)?;
            let bytes: Vec<u8> = row.get(2)?;
            let corrupt = |reason: String| StoreError::Corrupt {
                doc: doc.to_string(),
                reason,
            };
            let change = EncodedChange::decode(bytes).map_err(|e| corrupt(e.to_string()))?;
            let id = change.id();
            if replica != id.replica.to_bytes() || u64::try_from(seq).ok() != Some(id.seq) {
                return Err(corrupt(format!("row ({seq}) does not match change {id:?}")));
            }
            out.push(change);
        }
        Ok(out)
    }

    /// Queues `changes` of `doc` for the next group commit; `done` runs on the
    /// writer thread once it committed or failed. Never blocks.
    pub fn submit(&self, doc: DocId, changes: Vec<EncodedChange>, done: OnCommit) {
        if !self.is_healthy() {
            done(Err(CommitFailed(StoreError::Poisoned.to_string())));
            return;
        }
        let job = Job { doc, changes, done };
        let sent = match lock(&self.jobs).as_ref() {
            Some(tx) => tx.send(job).map_err(|e| e.0),
            None => Err(job),
        };
        if let Err(job) = sent {
            (job.done)(Err(CommitFailed(StoreError::Closed.to_string())));
        }
    }

    /// Commits everything queued, then stops the writer. Later submits fail.
    pub fn close(&self) {
        drop(lock(&self.jobs).take());
        if let Some(handle) = lock(&self.writer).take()
            && handle.join().is_err()
        {
            tracing::error!("the store writer thread panicked");
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn migrate(conn: &mut Connection, from: i64) -> Result<(), StoreError> {
    let from = usize::try_from(from).unwrap_or(0);
    for (version, sql) in (1i64..).zip(MIGRATIONS).skip(from) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.commit()?;
        tracing::info!(version, "database schema migrated");
    }
    Ok(())
}

fn run_writer(
    mut conn: Connection,
    rx: &mpsc::Receiver<Job>,
    poisoned: &AtomicBool,
    stats: &CommitStats,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_JOBS_PER_COMMIT {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let result = if poisoned.load(Ordering::Acquire) {
            Err(CommitFailed(StoreError::Poisoned.to_string()))
        } else {
            let started = std::time::Instant::now();
            let result = commit(&mut conn, &batch);
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            result
                .inspect(|()| {
                    stats.commits.fetch_add(1, Ordering::Relaxed);
                    stats.micros.fetch_add(micros, Ordering::Relaxed);
                })
                .map_err(|e| {
                    tracing::error!(error = %e, "commit failed; refusing further writes");
                    poisoned.store(true, Ordering::Release);
                    CommitFailed(e.to_string())
                })
        };
        for job in batch {
            (job.done)(result.clone());
        }
    }
}

fn commit(conn: &mut Connection, batch: &[Job]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut find_doc = tx.prepare_cached("SELECT id FROM documents WHERE name = ?1")?;
        let mut add_doc = tx.prepare_cached("INSERT INTO documents(name) VALUES (?1)")?;
        let mut add_change = tx.prepare_cached(
            "INSERT INTO changes(doc, replica, seq, lamport, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for job in batch {
            let name = job.doc.as_str();
            let doc_id: i64 = match find_doc.query_row(params![name], |r| r.get(0)) {
                Ok(id) => id,
                Err(rusqlite::Error::QueryReturnedNoRows) => {
                    add_doc.execute(params![name])?;
                    tx.last_insert_rowid()
                }
                Err(e) => return Err(e.into()),
            };
            for c in &job.changes {
                let h = c.header();
                let counter = |v: u64| {
                    i64::try_from(v).map_err(|_| StoreError::Corrupt {
                        doc: name.to_owned(),
                        reason: format!("counter {v} out of range"),
                    })
                };
                add_change.execute(params![
                    doc_id,
                    &h.id.replica.to_bytes()[..],
                    counter(h.id.seq)?,
                    counter(h.lamport)?,
                    c.bytes(),
                ])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::{Document, ObjId, ReplicaId};

    fn changes(n: i64) -> Vec<EncodedChange> {
        let mut d = Document::new(ReplicaId(1));
        (0..n)
            .map(|i| {
                let mut tx = d.transaction();
                tx.put(ObjId::Root, "k", i).unwrap();
                tx.commit().unwrap()
            })
            .collect()
    }

    fn submit_and_wait(
        store: &Store,
        doc: &DocId,
        cs: Vec<EncodedChange>,
    ) -> Result<(), CommitFailed> {
        let (tx, rx) = mpsc::channel();
        store.submit(
            doc.clone(),
            cs,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.recv().unwrap()
    }

    #[test]
    fn committed_changes_survive_a_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let doc = DocId::new("d").unwrap();
        let cs = changes(5);
        {
            let store = Store::open(dir.path()).unwrap();
            assert!(store.load(&doc).unwrap().is_empty(), "unknown doc is empty");
            submit_and_wait(&store, &doc, cs[..2].to_vec()).unwrap();
            submit_and_wait(&store, &doc, cs[2..].to_vec()).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.load(&doc).unwrap(), cs);
        assert!(
            store
                .load(&DocId::new("other").unwrap())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_duplicate_id_fails_the_commit_and_poisons_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let doc = DocId::new("d").unwrap();
        let store = Store::open(dir.path()).unwrap();
        let cs = changes(1);
        submit_and_wait(&store, &doc, cs.clone()).unwrap();
        assert!(submit_and_wait(&store, &doc, cs.clone()).is_err());
        assert!(!store.is_healthy());
        assert!(submit_and_wait(&store, &doc, changes(2)[1..].to_vec()).is_err());
        assert_eq!(store.load(&doc).unwrap(), cs, "nothing half-written");
    }

    #[test]
    fn foreign_and_garbage_files_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        let garbage = b"this is not a database, it is a shopping list\n".repeat(200);
        std::fs::write(&path, &garbage).unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(StoreError::NotOurs { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), garbage);

        let other = tempfile::tempdir().unwrap();
        let path = other.path().join(DB_FILE);
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
                .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(other.path()).unwrap_err();
        assert!(matches!(err, StoreError::NotOurs { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        {
            let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        assert!(matches!(
            Store::open(dir.path()),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }
}

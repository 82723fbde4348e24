//! Durable storage: one SQLite database (`relay.sqlite3` under `--data DIR`)
//! in WAL mode with `synchronous=FULL`.
//!
//! ```text
//! documents(id INTEGER PRIMARY KEY, name TEXT UNIQUE)
//! records(ord INTEGER PRIMARY KEY,          -- insertion order = a causal order
//!         doc, replica BLOB(16),
//!         first_seq, last_seq,               -- the changes it holds
//!         first_lamport, last_lamport,
//!         bytes BLOB,                        -- the record: a change or a run
//!                                               record ("CC" / "CR"), opaque
//!                                               but for its header
//!         UNIQUE (doc, replica, first_seq))
//! ```
//! A row is a record as a client sent it, or several joined (below). The
//! first change's dependencies are in the record's header, read when the
//! row is loaded, so they have no column. Schema 2; schema 1 kept one row
//! per change in `changes`, and its rows move to `records` as they are
//! (every change is a record).
//!
//! Writes go to one dedicated thread that commits whatever is queued in a
//! single transaction (group commit), so many connections share one fsync,
//! and then reports to each writer, in submission order. Reads (loading a
//! document) use a separate connection.
//!
//! The API is small and free of SQLite types (`open`, `load`, `submit`,
//! `compact`, `close`), so the store can move to another database
//! (PostgreSQL) behind it. The caller (the hub) guarantees that what it
//! submits is new and causally ready; the UNIQUE constraint is a safety
//! net, and a violation fails the commit.
//!
//! **Compaction** joins a replica's consecutive run records into one row
//! (`RunRecord::join`: the second continues the first, next seq and next
//! Lamport counter, no dependencies of its own; at most
//! `MAX_RECORD_BYTES`), so typing sent as it is typed does not stay a row
//! per keystroke. It reads only headers and concatenates segments, so no
//! change is altered; the joined row keeps the first row's place, which
//! keeps the order causal (the second depends on the first alone, so
//! nothing between them can depend on it). The hub asks for it
//! (`compact`) once enough joinable records were committed, when a
//! document leaves memory, and after loading one with rows left unjoined;
//! the writer runs it after the commit at hand, in a transaction of its
//! own (a crash leaves the rows joined or not, never half), and a failure
//! only leaves the rows as they were.
//!
//! A transaction starts with `BEGIN IMMEDIATE`, so a write lock held by
//! another process is waited for (up to the busy timeout) instead of failing
//! the commit at once.
//!
//! A failed commit never stops the store. Each job carries its document's
//! *epoch*: the run of uncommitted changes it extends (the hub starts a new
//! one after a failure). When a commit fails, every later job of the same
//! documents from that epoch or an earlier one is refused too, since it may
//! depend on what was lost; the hub drops its uncommitted changes and its
//! clients send them again. So the stored log stays causally closed, nothing
//! is acknowledged that was not committed, and writes resume as soon as a
//! commit succeeds again. Failures that may recover by themselves (disk
//! full, a lock held by another process) make the store *failing* until the
//! next commit succeeds; any other failure (an I/O error, a constraint the
//! relay's memory should have prevented) makes it *broken*: every write is
//! refused until the relay restarts and reads the disk afresh.
//!
//! `close` checkpoints the WAL into the database file (TRUNCATE), so after a
//! clean stop the database file alone holds everything; `backup` copies a
//! live database with SQLite's online backup.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;

use concord_wire::{DocId, MAX_RECORD_BYTES, Record, ReplicaId};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use crate::error::{CommitFailed, StoreError};
use crate::log_store::{Fenced, Fences};

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
    // 2: records (a change or a run of changes) instead of changes.
    "CREATE TABLE records (
        ord INTEGER PRIMARY KEY,
        doc INTEGER NOT NULL REFERENCES documents(id),
        replica BLOB NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        first_lamport INTEGER NOT NULL,
        last_lamport INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        UNIQUE (doc, replica, first_seq)
    );
    INSERT INTO records(ord, doc, replica, first_seq, last_seq, first_lamport, last_lamport, bytes)
        SELECT ord, doc, replica, seq, seq, lamport, lamport, bytes FROM changes ORDER BY ord;
    DROP TABLE changes;
    CREATE INDEX records_by_doc ON records(doc, ord);",
];
/// Most writers' jobs folded into one transaction.
const MAX_JOBS_PER_COMMIT: usize = 4096;

/// How long a transaction waits for a write lock held by another process.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Called once a job's transaction has committed (or failed), on the writer
/// thread, in submission order. Never called by `submit` itself, so it may
/// take locks the submitter holds.
pub type OnCommit = Box<dyn FnOnce(Result<(), CommitFailed>) + Send>;

struct Job {
    doc: DocId,
    epoch: u64,
    records: Vec<Record>,
    done: OnCommit,
}

/// What the writer thread is asked to do.
enum Task {
    Write(Job),
    /// Join `doc`'s rows of each replica from the row holding the seq
    /// before the one given on.
    Compact {
        doc: DocId,
        from: Vec<(ReplicaId, u64)>,
    },
}

/// Whether the store takes writes (`Store::health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The last commit succeeded.
    Ok,
    /// The last commit failed in a way that may pass (disk full, a lock held
    /// by another process): writes are tried and refused until one succeeds.
    Failing,
    /// A commit failed in a way only a restart can repair: writes are refused.
    Broken,
}

impl Health {
    fn from_u8(v: u8) -> Health {
        match v {
            0 => Health::Ok,
            1 => Health::Failing,
            _ => Health::Broken,
        }
    }
}

/// Options for `Store::open_with` (tests and fault injection).
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreOptions {
    /// `PRAGMA max_page_count` on the writing connection: the database
    /// cannot grow beyond this many pages, as on a full disk (SQLITE_FULL).
    pub max_page_count: Option<u64>,
}

/// The relay's durable log of changes.
pub struct Store {
    path: PathBuf,
    reader: Mutex<Connection>,
    jobs: Mutex<Option<mpsc::Sender<Task>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    health: Arc<AtomicU8>,
    stats: Arc<CommitStats>,
}

/// What the writer has done, for metrics.
#[derive(Debug, Default)]
pub struct CommitStats {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Microseconds spent in them (writes and fsync).
    pub micros: AtomicU64,
    /// Rows joined into the row before them by compaction.
    pub rows_joined: AtomicU64,
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
        Store::open_with(dir, StoreOptions::default())
    }

    /// `open` with options.
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
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
        conn.busy_timeout(BUSY_TIMEOUT)?;
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
        reader.busy_timeout(BUSY_TIMEOUT)?;
        if let Some(pages) = options.max_page_count {
            let set: i64 =
                conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                    r.get(0)
                })?;
            tracing::warn!(
                pages = set,
                "the database may not grow beyond this many pages"
            );
        }

        let health = Arc::new(AtomicU8::new(0));
        let stats = Arc::new(CommitStats::default());
        let (tx, rx) = mpsc::channel();
        let writer = {
            let health = Arc::clone(&health);
            let stats = Arc::clone(&stats);
            std::thread::Builder::new()
                .name("store-writer".into())
                .spawn(move || run_writer(conn, &rx, &health, &stats))
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
            health,
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

    /// Did the last commit succeed (`Health::Ok`)?
    pub fn is_healthy(&self) -> bool {
        self.health() == Health::Ok
    }

    pub fn health(&self) -> Health {
        Health::from_u8(self.health.load(Ordering::Acquire))
    }

    /// Every stored record of `doc`, in insertion order (a causal order).
    /// Blocking: call from a blocking thread.
    pub fn load(&self, doc: &DocId) -> Result<Vec<Record>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT r.replica, r.first_seq, r.last_seq, r.bytes FROM records r
             JOIN documents d ON r.doc = d.id
             WHERE d.name = ?1 ORDER BY r.ord",
        )?;
        let mut rows = stmt.query(params![doc.as_str()])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let record = read_row(doc.as_str(), row)?;
            out.push(record);
        }
        Ok(out)
    }

    /// Queues `records` of `doc` for the next group commit; `done` runs on
    /// the writer thread once they committed or failed. `epoch` is the run
    /// of uncommitted records of `doc` they extend: after a failed commit,
    /// jobs of `doc` from that epoch or earlier are refused. Never blocks,
    /// and never runs `done` itself: a closed store returns `Err(Closed)` and
    /// drops `done` unrun.
    pub fn submit(
        &self,
        doc: DocId,
        epoch: u64,
        records: Vec<Record>,
        done: OnCommit,
    ) -> Result<(), StoreError> {
        let job = Job {
            doc,
            epoch,
            records,
            done,
        };
        match lock(&self.jobs).as_ref() {
            Some(tx) => tx.send(Task::Write(job)).map_err(|_| StoreError::Closed),
            None => Err(StoreError::Closed),
        }
    }

    /// Asks the writer to join `doc`'s rows that continue one another, for
    /// each replica from the row before the seq given on (see the module
    /// docs). Best effort: a closed store ignores it.
    pub fn compact(&self, doc: &DocId, from: Vec<(ReplicaId, u64)>) {
        if let Some(tx) = lock(&self.jobs).as_ref() {
            let _ = tx.send(Task::Compact {
                doc: doc.clone(),
                from,
            });
        }
    }

    /// Copies the live database to `dest` with SQLite's online backup: a
    /// consistent snapshot of everything committed when it starts, taken
    /// without stopping writers (WAL readers never block them). Writes to
    /// `dest.partial` and renames it, so `dest` is never half written; an
    /// existing `dest` is refused. Blocking.
    pub fn backup(dir: &Path, dest: &Path) -> Result<(), StoreError> {
        if dest.exists() {
            return Err(StoreError::BackupExists(dest.to_owned()));
        }
        let path = dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::NotOurs {
                path,
                reason: "no such database".into(),
            });
        }
        let src = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        src.busy_timeout(BUSY_TIMEOUT)?;
        let app_id: i32 = src.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if app_id != APPLICATION_ID {
            return Err(StoreError::NotOurs {
                path,
                reason: format!("application_id is {app_id:#x}"),
            });
        }
        let mut partial = dest.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let _ = std::fs::remove_file(&partial);
        {
            let mut dst = Connection::open(&partial)?;
            let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
            // All pages in one step: one read transaction, one snapshot.
            loop {
                match backup.step(-1)? {
                    rusqlite::backup::StepResult::Done => break,
                    rusqlite::backup::StepResult::More => {}
                    _ => std::thread::sleep(std::time::Duration::from_millis(50)),
                }
            }
            drop(backup);
            let check: String = dst.query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))?;
            if check != "ok" {
                return Err(StoreError::Corrupt {
                    doc: String::new(),
                    reason: format!("the backup fails its integrity check: {check}"),
                });
            }
            // The copy is in WAL mode like its source: fold it into the file.
            dst.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(StoreError::Io)?;
        std::fs::rename(&partial, dest).map_err(StoreError::Io)?;
        Ok(())
    }

    /// Commits everything queued, checkpoints the WAL into the database
    /// file, then stops the writer. Later submits fail.
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

impl Fenced for Job {
    fn doc(&self) -> &DocId {
        &self.doc
    }

    fn epoch(&self) -> u64 {
        self.epoch
    }
}

/// May a commit that failed with `e` succeed later without a restart?
fn is_transient(e: &StoreError) -> bool {
    use rusqlite::ErrorCode as C;
    matches!(
        e,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if matches!(f.code, C::DiskFull | C::DatabaseBusy | C::DatabaseLocked)
    )
}

fn set_health(health: &AtomicU8, to: Health) {
    let v = match to {
        Health::Ok => 0,
        Health::Failing => 1,
        Health::Broken => 2,
    };
    let was = Health::from_u8(health.swap(v, Ordering::AcqRel));
    if was == Health::Broken {
        // Broken stays broken.
        health.store(2, Ordering::Release);
    } else if was != to && to == Health::Ok {
        tracing::info!("the store commits again");
    }
}

fn run_writer(
    mut conn: Connection,
    rx: &mpsc::Receiver<Task>,
    health: &AtomicU8,
    stats: &CommitStats,
) {
    let mut fences = Fences::default();
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::new();
        let mut compactions = Vec::new();
        let mut next = Some(first);
        while let Some(task) = next.take() {
            match task {
                Task::Write(job) => batch.push(job),
                Task::Compact { doc, from } => compactions.push((doc, from)),
            }
            if batch.len() < MAX_JOBS_PER_COMMIT {
                next = rx.try_recv().ok();
            }
        }
        write_batch(&mut conn, batch, &mut fences, health, stats);
        let broken = Health::from_u8(health.load(Ordering::Acquire)) == Health::Broken;
        for (doc, from) in compactions {
            if broken {
                break;
            }
            match compact(&mut conn, &doc, &from) {
                Ok(joined) => {
                    stats.rows_joined.fetch_add(joined, Ordering::Relaxed);
                }
                Err(e) => {
                    // The rows stay as they were; nothing else depends on it.
                    tracing::warn!(doc = %doc, error = %e, "compaction failed");
                    if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
                        set_health(health, Health::Broken);
                    }
                }
            }
        }
    }
    // Closed: fold the WAL into the database file, so that the file alone
    // is a complete copy after a clean stop.
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(0) => tracing::info!("WAL checkpointed into the database file"),
        Ok(_) => tracing::warn!("WAL checkpoint incomplete (a reader is still open)"),
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
    }
}

/// Commits one group of writers' jobs (those no fence refuses) in one
/// transaction and reports to each, in submission order.
fn write_batch(
    conn: &mut Connection,
    batch: Vec<Job>,
    fences: &mut Fences,
    health: &AtomicU8,
    stats: &CommitStats,
) {
    if batch.is_empty() {
        return;
    }
    let broken = Health::from_u8(health.load(Ordering::Acquire)) == Health::Broken;
    let refused: Vec<bool> = batch.iter().map(|j| broken || fences.refuses(j)).collect();
    let live: Vec<&Job> = batch
        .iter()
        .zip(&refused)
        .filter(|(_, r)| !**r)
        .map(|(j, _)| j)
        .collect();
    let result = if live.is_empty() {
        Ok(())
    } else {
        let started = std::time::Instant::now();
        let result = commit(conn, &live);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match result {
            Ok(()) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats.micros.fetch_add(micros, Ordering::Relaxed);
                set_health(health, Health::Ok);
                for job in &live {
                    fences.committed(job);
                }
                Ok(())
            }
            Err(e) => {
                let transient = is_transient(&e);
                if transient {
                    tracing::warn!(error = %e, "commit failed; refusing these writes until a commit succeeds");
                    set_health(health, Health::Failing);
                } else {
                    tracing::error!(error = %e, "commit failed; refusing every write until the relay restarts");
                    set_health(health, Health::Broken);
                }
                if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
                    set_health(health, Health::Broken);
                }
                for job in &live {
                    fences.failed(job);
                }
                Err(CommitFailed(e.to_string()))
            }
        }
    };
    for (job, refused) in batch.into_iter().zip(refused) {
        if refused {
            let why = if broken {
                StoreError::Broken
            } else {
                StoreError::Superseded
            };
            (job.done)(Err(CommitFailed(why.to_string())));
        } else {
            (job.done)(result.clone());
        }
    }
}

fn commit(conn: &mut Connection, batch: &[&Job]) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock first, so a lock held elsewhere is
    // waited for (busy timeout); a deferred transaction that reads first
    // would fail at once when it tries to write.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut find_doc = tx.prepare_cached("SELECT id FROM documents WHERE name = ?1")?;
        let mut add_doc = tx.prepare_cached("INSERT INTO documents(name) VALUES (?1)")?;
        let mut add_record = tx.prepare_cached(
            "INSERT INTO records(doc, replica, first_seq, last_seq, first_lamport, last_lamport, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
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
            for r in &job.records {
                let counter = |v: u64| {
                    i64::try_from(v).map_err(|_| StoreError::Corrupt {
                        doc: name.to_owned(),
                        reason: format!("counter {v} out of range"),
                    })
                };
                add_record.execute(params![
                    doc_id,
                    &r.replica().to_bytes()[..],
                    counter(r.first_seq())?,
                    counter(r.last_seq())?,
                    counter(r.first_lamport())?,
                    counter(r.last_lamport())?,
                    r.bytes(),
                ])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// A row of `records` (replica, first_seq, last_seq, bytes) as the record
/// it holds, checked against its columns.
fn read_row(doc: &str, row: &rusqlite::Row<'_>) -> Result<Record, StoreError> {
    let replica: Vec<u8> = row.get(0)?;
    let first: i64 = row.get(1)?;
    let last: i64 = row.get(2)?;
    let bytes: Vec<u8> = row.get(3)?;
    let corrupt = |reason: String| StoreError::Corrupt {
        doc: doc.to_owned(),
        reason,
    };
    let record = Record::decode(bytes).map_err(|e| corrupt(e.to_string()))?;
    if replica != record.replica().to_bytes()
        || u64::try_from(first).ok() != Some(record.first_seq())
        || u64::try_from(last).ok() != Some(record.last_seq())
    {
        return Err(corrupt(format!(
            "row ({first}..={last}) does not match its record ({}..={})",
            record.first_seq(),
            record.last_seq()
        )));
    }
    Ok(record)
}

/// Joins `doc`'s rows of each replica that continue one another, from the
/// row before the seq given on, in one transaction; returns how many rows
/// were joined into the row before them.
fn compact(
    conn: &mut Connection,
    doc: &DocId,
    from: &[(ReplicaId, u64)],
) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut joined = 0;
    {
        let doc_id: i64 = match tx.query_row(
            "SELECT id FROM documents WHERE name = ?1",
            params![doc.as_str()],
            |r| r.get(0),
        ) {
            Ok(id) => id,
            Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut rows = tx.prepare_cached(
            "SELECT replica, first_seq, last_seq, bytes, ord FROM records
             WHERE doc = ?1 AND replica = ?2 AND last_seq >= ?3 ORDER BY first_seq",
        )?;
        let mut update = tx.prepare_cached(
            "UPDATE records SET last_seq = ?2, last_lamport = ?3, bytes = ?4 WHERE ord = ?1",
        )?;
        let mut delete = tx.prepare_cached("DELETE FROM records WHERE ord = ?1")?;
        for &(replica, seq) in from {
            let after = i64::try_from(seq.saturating_sub(1)).unwrap_or(i64::MAX);
            let mut found = rows.query(params![doc_id, &replica.to_bytes()[..], after])?;
            // The row being grown: its ord, the record, and whether it grew.
            let mut acc: Option<(i64, concord_wire::RunRecord, bool)> = None;
            let mut writes = Vec::new();
            while let Some(row) = found.next()? {
                let ord: i64 = row.get(4)?;
                let record = read_row(doc.as_str(), row)?;
                let Record::Run(run) = record else {
                    writes.extend(acc.take());
                    continue;
                };
                match &mut acc {
                    Some((_, a, grew))
                        if a.continued_by(&run)
                            && a.bytes().len() + run.bytes().len() <= MAX_RECORD_BYTES =>
                    {
                        *a = a.join(&run);
                        *grew = true;
                        delete.execute(params![ord])?;
                        joined += 1;
                    }
                    _ => {
                        writes.extend(acc.take());
                        acc = Some((ord, run, false));
                    }
                }
            }
            writes.extend(acc);
            drop(found);
            for (ord, run, grew) in writes {
                if grew {
                    let last = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                    update.execute(params![
                        ord,
                        last(run.last_seq()),
                        last(run.last_lamport()),
                        run.bytes()
                    ])?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::{Document, ObjId, ObjType, ReplicaId, VersionVector};
    use concord_wire::ChangeSource;
    use std::sync::atomic::AtomicBool;

    fn changes(n: i64) -> Vec<Record> {
        let mut d = Document::new(ReplicaId(1));
        (0..n)
            .map(|i| {
                let mut tx = d.transaction();
                tx.put(ObjId::Root, "k", i).unwrap();
                Record::Change(tx.commit().unwrap())
            })
            .collect()
    }

    /// A text made, then `n` keystrokes of replica 1, each sent as it was
    /// typed (a run record of one); and the document.
    fn keystrokes(n: usize) -> (Document, Vec<Record>) {
        let mut d = Document::new(ReplicaId(1));
        let mut tx = d.transaction();
        let text = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
        tx.commit();
        let mut out = d.records_since(&VersionVector::new(), usize::MAX);
        for i in 0..n {
            let before = d.version().clone();
            let mut tx = d.transaction();
            tx.insert_text(text, i, "k").unwrap();
            tx.commit();
            out.extend(d.records_since(&before, usize::MAX));
        }
        (d, out)
    }

    /// Asks for a compaction and waits until the writer has done it.
    fn compact_and_wait(store: &Store, doc: &DocId, from: Vec<(ReplicaId, u64)>) {
        store.compact(doc, from);
        // The writer runs it after the writes it took with it: a write
        // submitted once one of those is done comes after it.
        let barrier = DocId::new("barrier").unwrap();
        submit_and_wait(store, &barrier, 1, Vec::new()).unwrap();
        submit_and_wait(store, &barrier, 1, Vec::new()).unwrap();
    }

    fn submit_and_wait(
        store: &Store,
        doc: &DocId,
        epoch: u64,
        cs: Vec<Record>,
    ) -> Result<(), CommitFailed> {
        let (tx, rx) = mpsc::channel();
        store
            .submit(
                doc.clone(),
                epoch,
                cs,
                Box::new(move |r| {
                    let _ = tx.send(r);
                }),
            )
            .unwrap();
        rx.recv().unwrap()
    }

    /// Changes of `replica` each holding `size` bytes of text.
    fn big_changes(replica: u128, n: usize, size: usize) -> Vec<Record> {
        let mut d = Document::new(ReplicaId(replica));
        let text = "x".repeat(size);
        (0..n)
            .map(|_| {
                let mut tx = d.transaction();
                tx.put(ObjId::Root, "k", text.as_str()).unwrap();
                Record::Change(tx.commit().unwrap())
            })
            .collect()
    }

    #[test]
    fn compaction_joins_a_replicas_consecutive_runs_and_keeps_every_change_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let doc = DocId::new("d").unwrap();
        let (typed, records) = keystrokes(300);
        let other: Vec<Record> = big_changes(2, 2, 1);
        let store = Store::open(dir.path()).unwrap();
        // The keystrokes with another replica's changes in between.
        submit_and_wait(&store, &doc, 1, records[..100].to_vec()).unwrap();
        submit_and_wait(&store, &doc, 1, other.clone()).unwrap();
        submit_and_wait(&store, &doc, 1, records[100..].to_vec()).unwrap();
        let rows = |store: &Store| store.load(&doc).unwrap();
        assert_eq!(rows(&store).len(), 303);
        compact_and_wait(&store, &doc, vec![(ReplicaId(1), 3)]);
        let after = rows(&store);
        assert_eq!(after.len(), 4, "the text, its typing joined, the other two");
        assert_eq!(store.stats().rows_joined.load(Ordering::Relaxed), 299);
        assert!(
            matches!(&after[1], Record::Run(r) if r.count() == 300 && r.segment_count() == 300)
        );
        assert_eq!(after[2..], other[..], "in place, after the joined row");
        let mut replayed = Document::new(ReplicaId(9));
        assert!(replayed.apply_records(after).refused.is_empty());
        let mut expected = typed.clone();
        expected.apply_records(other.clone());
        assert!(replayed.save() == expected.save(), "the same changes");
        // Again: nothing more to join; and a reopened store loads the same.
        compact_and_wait(&store, &doc, vec![(ReplicaId(1), 1)]);
        assert_eq!(rows(&store).len(), 4);
        drop(store);
        assert_eq!(
            Store::open(dir.path()).unwrap().load(&doc).unwrap().len(),
            4
        );
    }

    #[test]
    fn compaction_stops_at_the_record_size_bound() {
        let dir = tempfile::tempdir().unwrap();
        let doc = DocId::new("d").unwrap();
        let (_, records) = keystrokes(4000);
        let store = Store::open(dir.path()).unwrap();
        submit_and_wait(&store, &doc, 1, records).unwrap();
        compact_and_wait(&store, &doc, vec![(ReplicaId(1), 2)]);
        let rows = store.load(&doc).unwrap();
        assert!(rows.len() > 2, "4,000 segments are more than one row holds");
        assert!(rows.iter().all(|r| r.bytes().len() <= MAX_RECORD_BYTES));
        assert_eq!(rows.iter().map(Record::count).sum::<u64>(), 4001);
    }

    #[test]
    fn a_database_of_schema_1_moves_its_changes_to_records() {
        let dir = tempfile::tempdir().unwrap();
        let cs = changes(3);
        {
            // A database as a relay of protocol 1 left it: one row a change.
            let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
            c.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
            c.execute("INSERT INTO documents(id, name) VALUES (1, 'old')", [])
                .unwrap();
            for (i, r) in cs.iter().enumerate() {
                c.execute(
                    "INSERT INTO changes(doc, replica, seq, lamport, bytes) VALUES (1, ?1, ?2, ?3, ?4)",
                    params![
                        &r.replica().to_bytes()[..],
                        i64::try_from(i + 1).unwrap(),
                        i64::try_from(r.first_lamport()).unwrap(),
                        r.bytes()
                    ],
                )
                .unwrap();
            }
        }
        let store = Store::open(dir.path()).unwrap();
        let loaded = store.load(&DocId::new("old").unwrap()).unwrap();
        assert_eq!(loaded, cs);
        // And served as they are, to a peer that has none or some of them.
        let mut st = crate::hub::DocState::new(1);
        st.install(loaded).unwrap();
        assert_eq!(st.records_since(&VersionVector::new(), usize::MAX), cs);
        let mut some = VersionVector::new();
        some.observe(ReplicaId(1), 1);
        assert_eq!(st.records_since(&some, usize::MAX), cs[1..]);
    }

    #[test]
    fn committed_changes_survive_a_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let doc = DocId::new("d").unwrap();
        let cs = changes(5);
        {
            let store = Store::open(dir.path()).unwrap();
            assert!(store.load(&doc).unwrap().is_empty(), "unknown doc is empty");
            submit_and_wait(&store, &doc, 1, cs[..2].to_vec()).unwrap();
            submit_and_wait(&store, &doc, 1, cs[2..].to_vec()).unwrap();
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
    fn a_duplicate_id_breaks_the_store_until_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let doc = DocId::new("d").unwrap();
        let store = Store::open(dir.path()).unwrap();
        let cs = changes(1);
        submit_and_wait(&store, &doc, 1, cs.clone()).unwrap();
        // The relay's memory and the disk disagree: no retry can fix that.
        assert!(submit_and_wait(&store, &doc, 2, cs.clone()).is_err());
        assert_eq!(store.health(), Health::Broken);
        assert!(submit_and_wait(&store, &doc, 3, changes(2)[1..].to_vec()).is_err());
        assert_eq!(store.load(&doc).unwrap(), cs, "nothing half-written");
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.health(), Health::Ok);
        submit_and_wait(&store, &doc, 1, changes(2)[1..].to_vec()).unwrap();
    }

    #[test]
    fn a_write_lock_held_by_another_process_is_waited_for_not_failed() {
        let dir = tempfile::tempdir().unwrap();
        let doc = DocId::new("d").unwrap();
        let store = Store::open(dir.path()).unwrap();
        let cs = changes(2);
        submit_and_wait(&store, &doc, 1, cs[..1].to_vec()).unwrap();
        let other = Connection::open(dir.path().join(DB_FILE)).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(500));
            other.execute_batch("COMMIT").unwrap();
        });
        let started = std::time::Instant::now();
        submit_and_wait(&store, &doc, 1, cs[1..].to_vec()).expect("waits for the lock");
        assert!(started.elapsed() >= std::time::Duration::from_millis(400));
        release.join().unwrap();
        assert_eq!(store.health(), Health::Ok);
        assert_eq!(store.load(&doc).unwrap(), cs);
    }

    #[test]
    fn a_full_database_refuses_writes_then_takes_them_again_once_space_is_freed() {
        let dir = tempfile::tempdir().unwrap();
        let ballast = DocId::new("ballast").unwrap();
        let doc = DocId::new("d").unwrap();
        let options = StoreOptions {
            max_page_count: Some(40),
        };
        let store = Store::open_with(dir.path(), options).unwrap();
        let small = changes(1);
        submit_and_wait(&store, &doc, 1, small.clone()).unwrap();
        let mut full = false;
        for (i, c) in big_changes(7, 100, 8000).into_iter().enumerate() {
            if submit_and_wait(&store, &ballast, i as u64 + 1, vec![c]).is_err() {
                full = true;
                break;
            }
        }
        assert!(full, "40 pages hold less than 800 KB");
        assert_eq!(store.health(), Health::Failing);
        let big = big_changes(9, 1, 8000);
        assert!(submit_and_wait(&store, &doc, 1, big.clone()).is_err());
        assert_eq!(store.load(&doc).unwrap(), small, "reads go on");

        // An operator frees space.
        let other = Connection::open(dir.path().join(DB_FILE)).unwrap();
        other
            .execute(
                "DELETE FROM records WHERE doc = (SELECT id FROM documents WHERE name = 'ballast')",
                [],
            )
            .unwrap();
        submit_and_wait(&store, &doc, 2, big.clone()).expect("writes resume, no restart");
        assert_eq!(store.health(), Health::Ok);
        assert_eq!(
            store.load(&doc).unwrap(),
            [small, big].concat(),
            "only what committed"
        );
    }

    #[test]
    fn after_a_failed_commit_older_jobs_of_that_document_are_refused() {
        let job = |doc: &str, epoch| Job {
            doc: DocId::new(doc).unwrap(),
            epoch,
            records: Vec::new(),
            done: Box::new(|_| {}),
        };
        let mut fences = Fences::default();
        fences.failed(&job("a", 3));
        assert!(fences.refuses(&job("a", 3)), "queued behind the failure");
        assert!(fences.refuses(&job("a", 2)));
        assert!(!fences.refuses(&job("a", 4)), "the hub's next epoch");
        assert!(!fences.refuses(&job("b", 1)), "other documents");
        fences.committed(&job("a", 4));
        assert!(fences.0.is_empty(), "no fence is kept once it is passed");
    }

    #[test]
    fn a_closed_store_refuses_a_submit_without_running_its_completion() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.close();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let result = store.submit(
            DocId::new("d").unwrap(),
            1,
            changes(1),
            Box::new(move |_| flag.store(true, Ordering::SeqCst)),
        );
        assert!(matches!(result, Err(StoreError::Closed)));
        assert!(
            !ran.load(Ordering::SeqCst),
            "a completion never runs inline"
        );
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

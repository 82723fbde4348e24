//! The relay's log on PostgreSQL (`--store postgres://…`), so that several
//! relays can serve the same documents from one database.
//!
//! ```text
//! concord_relay_schema(version)              -- migrations run so far
//! documents(id BIGSERIAL, name TEXT UNIQUE,
//!           version BIGINT)                  -- +1 per commit that added changes
//! records(ord BIGSERIAL PRIMARY KEY,         -- per document: commit order, a causal order
//!         doc, replica BYTEA(16),
//!         first_seq, last_seq, first_lamport, last_lamport,
//!         bytes BYTEA,                       -- the record (a change or a run), opaque
//!         UNIQUE (doc, replica, first_seq))
//! ```
//! The same rows as the SQLite store (`store.rs`, schema 2). Compaction
//! (joining run records) is not done here yet: `compact` is a no-op. Writes go to one task
//! that commits whatever is queued in one transaction (group commit) and
//! then reports to each writer in submission order: an acknowledgement is
//! only ever sent after PostgreSQL's COMMIT returned (synchronous_commit is
//! PostgreSQL's default, so that means on disk).
//!
//! Several relays write the same document. A transaction first locks the
//! rows of its documents (`SELECT … FOR UPDATE`, in name order, so two
//! relays never deadlock), so the commits of one document are serialized:
//! `ord` grows in commit order within a document, and `version` counts
//! them. Two relays may both admit the same change (a client that moved
//! between them re-sends it): the insert skips a row already there
//! (`ON CONFLICT DO NOTHING`) once it checked that the stored bytes are the
//! same; a record that overlaps a stored one of its replica in any other
//! way (other bytes, other boundaries: two relays took parts of one run)
//! refuses the commit with `Conflict`, and the hub asks its client again,
//! which then meets the stored copy. So no change is ever stored twice.
//!
//! Each commit that added changes to a document sends
//! `NOTIFY concord_changes, 'ORIGIN VERSION DOC'` in the same transaction
//! (PostgreSQL delivers it on commit, never before): the document and its
//! new version, never the payload. `listen` hands these to `fanout.rs`,
//! which reads what its hubs lack (`missing`) and repairs lost notifications
//! from `versions` (anti-entropy).
//!
//! Failures: a commit that fails (PostgreSQL down, restarting, a network
//! cut) refuses the writes it held, like the SQLite store's, and the store
//! is *failing* (`/healthz` 503) until a commit or a probe succeeds; when
//! idle, the writer probes the database every second, so `/healthz` also
//! notices an outage without writes and its end without a restart. The
//! pool reconnects by itself.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use concord_wire::{ChangeId, DocId, Record, ReplicaId, VersionVector};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, IsolationLevel, NoTls, Row};

use crate::error::{CommitFailed, StoreError};
use crate::log_store::{Fenced, Fences, LogStore};
use crate::store::{CommitStats, Health, OnCommit};

/// The channel of commit notifications.
pub const CHANNEL: &str = "concord_changes";
/// Schema migrations; `concord_relay_schema.version` = how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: documents and their records.
    "CREATE TABLE documents (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        version BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE records (
        ord BIGSERIAL PRIMARY KEY,
        doc BIGINT NOT NULL REFERENCES documents(id),
        replica BYTEA NOT NULL,
        first_seq BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        first_lamport BIGINT NOT NULL,
        last_lamport BIGINT NOT NULL,
        bytes BYTEA NOT NULL,
        UNIQUE (doc, replica, first_seq)
    );
    CREATE INDEX records_by_doc ON records(doc, ord);",
];
/// Key of the advisory lock that serializes migrations of relays starting
/// together ("CNCD").
const MIGRATION_LOCK: i64 = 0x434E_4344;
/// Most writers' jobs folded into one transaction.
const MAX_JOBS_PER_COMMIT: usize = 4096;
/// Connections per relay for loads and catch-up reads; the writer has one
/// of its own, so reads never hold up commits.
const POOL_SIZE: usize = 8;
/// How long getting or making a connection may take before it fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The idle writer checks the database this often (health).
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// Wait before listening again after the listening connection broke.
const LISTEN_RETRY: Duration = Duration::from_millis(500);

struct Job {
    doc: DocId,
    epoch: u64,
    records: Vec<Record>,
    done: OnCommit,
}

/// What `listen` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A commit added changes to `doc`, which is now at `version`; `ours`
    /// when this relay made it.
    Committed {
        doc: DocId,
        version: i64,
        ours: bool,
    },
    /// Listening (again): notifications may have been missed before.
    Listening,
}

/// What a catch-up read found (`PgStore::missing`).
#[derive(Debug, Default)]
pub struct Missing {
    /// The records holding what the given version lacks, in a causal order
    /// (a record may also hold changes the version has).
    pub records: Vec<Record>,
    /// The document's version in the snapshot read.
    pub version: i64,
    /// The highest `ord` of the document in that snapshot: every row at or
    /// below it was considered.
    pub last_ord: i64,
}

/// The relay's log in PostgreSQL.
pub struct PgStore {
    config: tokio_postgres::Config,
    pool: Pool,
    /// Distinguishes this relay's notifications from the others'.
    origin: String,
    jobs: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    runtime: tokio::runtime::Handle,
    shared: Arc<Shared>,
    known: Arc<KnownStored>,
}

/// Changes read from the database that a hub is about to submit again
/// (`PgStore::expect_stored`): a job of exactly those is not written.
#[derive(Debug, Default)]
struct KnownStored(Mutex<BTreeMap<DocId, BTreeSet<ChangeId>>>);

impl KnownStored {
    /// Whether `job` holds only changes known to be stored (then forgets them).
    fn take(&self, job: &Job) -> bool {
        let mut known = lock(&self.0);
        let Some(ids) = known.get_mut(&job.doc) else {
            return false;
        };
        if job.records.is_empty()
            || !job
                .records
                .iter()
                .flat_map(Record::ids)
                .all(|id| ids.contains(&id))
        {
            return false;
        }
        for id in job.records.iter().flat_map(Record::ids) {
            ids.remove(&id);
        }
        if ids.is_empty() {
            known.remove(&job.doc);
        }
        true
    }
}

#[derive(Debug, Default)]
struct Shared {
    /// 0 ok, 1 failing.
    health: AtomicU8,
    stats: CommitStats,
}

impl Shared {
    fn set_health(&self, to: Health) {
        let v = u8::from(to != Health::Ok);
        let was = self.health.swap(v, Ordering::AcqRel);
        if was != v {
            if v == 0 {
                tracing::info!("PostgreSQL takes writes again");
            } else {
                tracing::warn!("PostgreSQL unreachable or failing: writes are refused meanwhile");
            }
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `url` without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn pool_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Pool(e.to_string())
}

fn counter(doc: &DocId, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt {
        doc: doc.to_string(),
        reason: format!("counter {v} out of range"),
    })
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`),
    /// runs the schema migrations (one relay at a time) and starts the
    /// writer. A database with tables of these names that Concord did not
    /// make is refused and left untouched. Call inside the runtime.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(|e| StoreError::BadUrl {
            url: redact(url),
            reason: e.to_string(),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("concord-relay");
        let pool = make_pool(&config, POOL_SIZE)?;
        let writer_pool = make_pool(&config, 1)?;
        migrate(&pool).await?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let origin = format!("{:x}.{:x}", nanos & 0xffff_ffff_ffff, std::process::id());
        let shared = Arc::new(Shared::default());
        let known = Arc::new(KnownStored::default());
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(run_writer(
            writer_pool,
            rx,
            Arc::clone(&shared),
            Arc::clone(&known),
            origin.clone(),
        ));
        Ok(PgStore {
            config,
            pool,
            origin,
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            runtime: tokio::runtime::Handle::current(),
            shared,
            known,
        })
    }

    /// `records` of `doc` were read from the database and are about to be
    /// submitted by a hub (`fanout.rs`): that job completes in its turn
    /// without writing them again.
    pub fn expect_stored(&self, doc: &DocId, records: &[Record]) {
        let mut known = lock(&self.known.0);
        let ids = known.entry(doc.clone()).or_default();
        ids.extend(records.iter().flat_map(Record::ids));
    }

    /// This relay's name in notifications.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    async fn load_async(&self, doc: &DocId) -> Result<Vec<Record>, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let stmt = client
            .prepare_cached(
                "SELECT c.replica, c.first_seq, c.last_seq, c.bytes FROM records c
                 JOIN documents d ON c.doc = d.id
                 WHERE d.name = $1 ORDER BY c.ord",
            )
            .await?;
        let rows = client.query(&stmt, &[&doc.as_str()]).await?;
        rows.iter().map(|r| decode_row(doc, r)).collect()
    }

    /// What `have` lacks of `doc`, among the rows after `after_ord` (rows at
    /// or below it are known to be held), read in one snapshot.
    pub async fn missing(
        &self,
        doc: &DocId,
        have: &VersionVector,
        after_ord: i64,
    ) -> Result<Missing, StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let head = tx
            .prepare_cached(
                "SELECT id, version, (SELECT max(ord) FROM records WHERE doc = documents.id)
                 FROM documents WHERE name = $1",
            )
            .await?;
        let Some(head) = tx.query_opt(&head, &[&doc.as_str()]).await? else {
            return Ok(Missing::default());
        };
        let id: i64 = head.try_get(0)?;
        let version: i64 = head.try_get(1)?;
        let last_ord: Option<i64> = head.try_get(2)?;
        let mut replicas: Vec<Vec<u8>> = Vec::with_capacity(have.len());
        let mut seqs: Vec<i64> = Vec::with_capacity(have.len());
        for (replica, seq) in have.iter() {
            replicas.push(replica.to_bytes().to_vec());
            seqs.push(counter(doc, seq)?);
        }
        let rows_stmt = tx
            .prepare_cached(
                "SELECT c.replica, c.first_seq, c.last_seq, c.bytes FROM records c
                 LEFT JOIN unnest($2::bytea[], $3::bigint[]) AS v(r, s) ON v.r = c.replica
                 WHERE c.doc = $1 AND c.ord > $4 AND c.last_seq > COALESCE(v.s, 0)
                 ORDER BY c.ord",
            )
            .await?;
        let rows = tx
            .query(&rows_stmt, &[&id, &replicas, &seqs, &after_ord])
            .await?;
        let records = rows
            .iter()
            .map(|r| decode_row(doc, r))
            .collect::<Result<_, _>>()?;
        tx.commit().await?;
        Ok(Missing {
            records,
            version,
            last_ord: last_ord.unwrap_or(0),
        })
    }

    /// The stored versions of those of `docs` the database has.
    pub async fn versions(&self, docs: &[DocId]) -> Result<Vec<(DocId, i64)>, StoreError> {
        let names: Vec<&str> = docs.iter().map(DocId::as_str).collect();
        let client = self.pool.get().await.map_err(pool_error)?;
        let stmt = client
            .prepare_cached("SELECT name, version FROM documents WHERE name = ANY($1)")
            .await?;
        let rows = client.query(&stmt, &[&names]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get(0)?;
            let version: i64 = row.try_get(1)?;
            if let Ok(doc) = DocId::new(name) {
                out.push((doc, version));
            }
        }
        Ok(out)
    }

    /// Starts listening for commit notifications on a connection of its
    /// own; reconnects whenever it breaks (then reports `Listening` again).
    pub fn listen(&self) -> mpsc::UnboundedReceiver<Notice> {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run_listener(self.config.clone(), self.origin.clone(), tx));
        rx
    }
}

impl LogStore for PgStore {
    fn load(&self, doc: &DocId) -> Result<Vec<Record>, StoreError> {
        self.runtime.block_on(self.load_async(doc))
    }

    fn compact(&self, _doc: &DocId, _from: Vec<(ReplicaId, u64)>) {
        // Not yet on PostgreSQL: rows stay as they were sent.
    }

    fn submit(
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
            Some(tx) => tx.send(job).map_err(|_| StoreError::Closed),
            None => Err(StoreError::Closed),
        }
    }

    fn health(&self) -> Health {
        if self.shared.health.load(Ordering::Acquire) == 0 {
            Health::Ok
        } else {
            Health::Failing
        }
    }

    fn stats(&self) -> &CommitStats {
        &self.shared.stats
    }

    fn close(&self) {
        drop(lock(&self.jobs).take());
        if let Some(writer) = lock(&self.writer).take()
            && self.runtime.block_on(writer).is_err()
        {
            tracing::error!("the PostgreSQL writer task panicked");
        }
    }
}

fn make_pool(config: &tokio_postgres::Config, size: usize) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(CONNECT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(pool_error)
}

fn decode_row(doc: &DocId, row: &Row) -> Result<Record, StoreError> {
    let replica: Vec<u8> = row.try_get(0)?;
    let first: i64 = row.try_get(1)?;
    let last: i64 = row.try_get(2)?;
    let bytes: Vec<u8> = row.try_get(3)?;
    let corrupt = |reason: String| StoreError::Corrupt {
        doc: doc.to_string(),
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

async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await?;
    // Held until commit: relays starting together migrate one at a time.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let ours: bool = tx
        .query_one(
            "SELECT to_regclass('concord_relay_schema') IS NOT NULL",
            &[],
        )
        .await?
        .try_get(0)?;
    if !ours {
        let taken: Option<String> = tx
            .query_one(
                "SELECT coalesce(to_regclass('documents')::text, to_regclass('records')::text)",
                &[],
            )
            .await?
            .try_get(0)?;
        if let Some(table) = taken {
            return Err(StoreError::PgNotOurs(format!("table {table} exists")));
        }
        tx.batch_execute(
            "CREATE TABLE concord_relay_schema (version BIGINT NOT NULL);
             INSERT INTO concord_relay_schema VALUES (0);",
        )
        .await?;
    }
    let version: i64 = tx
        .query_one("SELECT version FROM concord_relay_schema", &[])
        .await?
        .try_get(0)?;
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if version > known {
        return Err(StoreError::PgTooNew {
            found: version,
            known,
        });
    }
    for (to, sql) in (1i64..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(version).unwrap_or(0))
    {
        tx.batch_execute(sql).await?;
        tx.execute("UPDATE concord_relay_schema SET version = $1", &[&to])
            .await?;
        tracing::info!(version = to, "PostgreSQL schema migrated");
    }
    tx.commit().await?;
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

async fn run_writer(
    pool: Pool,
    mut rx: mpsc::UnboundedReceiver<Job>,
    shared: Arc<Shared>,
    known: Arc<KnownStored>,
    origin: String,
) {
    let mut fences = Fences::default();
    loop {
        let first = match tokio::time::timeout(PROBE_EVERY, rx.recv()).await {
            Ok(Some(job)) => job,
            Ok(None) => break,
            Err(_) => {
                probe(&pool, &shared).await;
                continue;
            }
        };
        let mut batch = vec![first];
        while batch.len() < MAX_JOBS_PER_COMMIT {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let refused: Vec<bool> = batch.iter().map(|j| fences.refuses(j)).collect();
        // Changes another relay committed need no writing: such a job only
        // waits for the jobs before it and shares their result.
        let stored: Vec<bool> = batch.iter().map(|j| known.take(j)).collect();
        // Only the jobs' data crosses the awaits (completions are not Sync).
        let live: Vec<(&DocId, &[Record])> = batch
            .iter()
            .zip(refused.iter().zip(&stored))
            .filter(|(_, (r, s))| !**r && !**s)
            .map(|(j, _)| (&j.doc, j.records.as_slice()))
            .collect();
        let result = if live.is_empty() {
            Ok(())
        } else {
            let started = Instant::now();
            let result = commit(&pool, &live, &origin).await;
            drop(live);
            let live = batch
                .iter()
                .zip(&refused)
                .filter(|(_, r)| !**r)
                .map(|(j, _)| j);
            match result {
                Ok(()) => {
                    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    shared.stats.commits.fetch_add(1, Ordering::Relaxed);
                    shared.stats.micros.fetch_add(micros, Ordering::Relaxed);
                    shared.set_health(Health::Ok);
                    for job in live {
                        fences.committed(job);
                    }
                    Ok(())
                }
                Err(e) => {
                    if matches!(e, StoreError::Conflict { .. }) {
                        tracing::warn!(error = %e, "commit refused");
                    } else {
                        tracing::warn!(error = %e, "commit failed; refusing these writes until a commit succeeds");
                        shared.set_health(Health::Failing);
                    }
                    for job in live {
                        fences.failed(job);
                    }
                    Err(CommitFailed(e.to_string()))
                }
            }
        };
        for (job, refused) in batch.into_iter().zip(refused) {
            if refused {
                (job.done)(Err(CommitFailed(StoreError::Superseded.to_string())));
            } else {
                (job.done)(result.clone());
            }
        }
    }
}

/// An idle writer's health check.
async fn probe(pool: &Pool, shared: &Shared) {
    let ok = match pool.get().await {
        Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    };
    shared.set_health(if ok { Health::Ok } else { Health::Failing });
}

async fn commit(pool: &Pool, jobs: &[(&DocId, &[Record])], origin: &str) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await?;
    let mut names: Vec<&str> = jobs.iter().map(|(doc, _)| doc.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let ids = lock_documents(&tx, &names).await?;
    let mut docs = Vec::new();
    let mut replicas: Vec<&[u8]> = Vec::new();
    let mut replica_bytes = Vec::new();
    let mut firsts = Vec::new();
    let mut lasts = Vec::new();
    let mut first_lamports = Vec::new();
    let mut last_lamports = Vec::new();
    let mut bytes: Vec<&[u8]> = Vec::new();
    for (doc, records) in jobs {
        let Some(&id) = ids.get(doc.as_str()) else {
            return Err(StoreError::Corrupt {
                doc: doc.to_string(),
                reason: "its row vanished during the commit".into(),
            });
        };
        for r in *records {
            docs.push(id);
            replica_bytes.push(r.replica().to_bytes());
            firsts.push(counter(doc, r.first_seq())?);
            lasts.push(counter(doc, r.last_seq())?);
            first_lamports.push(counter(doc, r.first_lamport())?);
            last_lamports.push(counter(doc, r.last_lamport())?);
            bytes.push(r.bytes());
        }
    }
    replicas.extend(replica_bytes.iter().map(<[u8; 16]>::as_slice));
    // A record overlapping anything stored of its replica is not inserted;
    // `check_copies` then tells an exact copy from a conflict.
    let insert = tx
        .prepare_cached(
            "INSERT INTO records(doc, replica, first_seq, last_seq, first_lamport, last_lamport, bytes)
             SELECT d, r, f, l, fl, ll, b
             FROM unnest($1::bigint[], $2::bytea[], $3::bigint[], $4::bigint[],
                         $5::bigint[], $6::bigint[], $7::bytea[])
                  WITH ORDINALITY AS u(d, r, f, l, fl, ll, b, n)
             WHERE NOT EXISTS (
                 SELECT 1 FROM records x
                 WHERE x.doc = u.d AND x.replica = u.r AND x.first_seq <= u.l AND x.last_seq >= u.f)
             ORDER BY n
             ON CONFLICT (doc, replica, first_seq) DO NOTHING
             RETURNING doc",
        )
        .await?;
    let inserted = tx
        .query(
            &insert,
            &[
                &docs,
                &replicas,
                &firsts,
                &lasts,
                &first_lamports,
                &last_lamports,
                &bytes,
            ],
        )
        .await?;
    if inserted.len() < docs.len() {
        // Some overlap what is stored (another relay took them): copies?
        check_copies(&tx, &ids, &docs, &replicas, &firsts, &lasts, &bytes).await?;
    }
    let grown: BTreeSet<i64> = inserted
        .iter()
        .map(|r| r.try_get::<_, i64>(0))
        .collect::<Result<_, _>>()?;
    if !grown.is_empty() {
        let grown: Vec<i64> = grown.into_iter().collect();
        let bump = tx
            .prepare_cached(
                "WITH u AS (UPDATE documents SET version = version + 1 WHERE id = ANY($1)
                            RETURNING name, version)
                 SELECT pg_notify('concord_changes', $2 || ' ' || u.version || ' ' || u.name)
                 FROM u",
            )
            .await?;
        tx.query(&bump, &[&grown, &origin]).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Makes the documents' rows if missing and locks them, in name order (so
/// two relays never deadlock): their commits are serialized from here to
/// COMMIT. Returns their ids by name.
async fn lock_documents(
    tx: &deadpool_postgres::Transaction<'_>,
    names: &[&str],
) -> Result<BTreeMap<String, i64>, StoreError> {
    let add_docs = tx
        .prepare_cached(
            "INSERT INTO documents(name) SELECT n FROM unnest($1::text[]) AS n ORDER BY n
             ON CONFLICT (name) DO NOTHING",
        )
        .await?;
    tx.execute(&add_docs, &[&names]).await?;
    // Commits of one document are serialized from here to COMMIT.
    let lock_docs = tx
        .prepare_cached(
            "SELECT name, id FROM documents WHERE name = ANY($1) ORDER BY name FOR UPDATE",
        )
        .await?;
    let mut ids = BTreeMap::new();
    for row in tx.query(&lock_docs, &[&names]).await? {
        let name: String = row.try_get(0)?;
        let id: i64 = row.try_get(1)?;
        ids.insert(name, id);
    }
    Ok(ids)
}

/// Fails with `Conflict` if one of these records overlaps a stored row of
/// its replica that is not exactly it (same range, same bytes).
async fn check_copies(
    tx: &deadpool_postgres::Transaction<'_>,
    ids: &BTreeMap<String, i64>,
    docs: &[i64],
    replicas: &[&[u8]],
    firsts: &[i64],
    lasts: &[i64],
    bytes: &[&[u8]],
) -> Result<(), StoreError> {
    let differ = tx
        .prepare_cached(
            "SELECT u.d FROM unnest($1::bigint[], $2::bytea[], $3::bigint[], $4::bigint[], $5::bytea[])
                  AS u(d, r, f, l, b)
             JOIN records x ON x.doc = u.d AND x.replica = u.r
                           AND x.first_seq <= u.l AND x.last_seq >= u.f
             WHERE NOT (x.first_seq = u.f AND x.last_seq = u.l AND x.bytes = u.b)
             LIMIT 1",
        )
        .await?;
    if let Some(row) = tx
        .query_opt(&differ, &[&docs, &replicas, &firsts, &lasts, &bytes])
        .await?
    {
        let id: i64 = row.try_get(0)?;
        let doc = ids
            .iter()
            .find(|(_, v)| **v == id)
            .map_or_else(String::new, |(k, _)| k.clone());
        return Err(StoreError::Conflict { doc });
    }
    Ok(())
}

/// Parses `ORIGIN VERSION DOC`.
fn parse_notice(payload: &str, origin: &str) -> Option<Notice> {
    let mut parts = payload.splitn(3, ' ');
    let from = parts.next()?;
    let version = parts.next()?.parse().ok()?;
    let doc = DocId::new(parts.next()?).ok()?;
    Some(Notice::Committed {
        doc,
        version,
        ours: from == origin,
    })
}

async fn run_listener(
    config: tokio_postgres::Config,
    origin: String,
    out: mpsc::UnboundedSender<Notice>,
) {
    loop {
        if out.is_closed() {
            return;
        }
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(n)) => {
                                if tx.send(n.payload().to_owned()).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "the listening connection broke");
                                return;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        tracing::info!("listening for other relays' commits");
                        if out.send(Notice::Listening).is_err() {
                            return;
                        }
                        while let Some(payload) = rx.recv().await {
                            if let Some(notice) = parse_notice(&payload, &origin) {
                                if out.send(notice).is_err() {
                                    return;
                                }
                            } else {
                                tracing::warn!(payload, "unreadable notification");
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "LISTEN failed"),
                }
                driver.abort();
            }
            Err(e) => tracing::debug!(error = %e, "cannot connect to listen"),
        }
        tokio::time::sleep(LISTEN_RETRY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(
            redact("postgres://relay:s3cret@db:5432/concord"),
            "postgres://relay:***@db:5432/concord"
        );
        assert_eq!(redact("postgres://db/concord"), "postgres://db/concord");
    }

    #[test]
    fn notifications_are_read_and_garbage_is_not() {
        let doc = DocId::new("notes-1").unwrap();
        assert_eq!(
            parse_notice("abc 7 notes-1", "abc"),
            Some(Notice::Committed {
                doc: doc.clone(),
                version: 7,
                ours: true
            })
        );
        assert_eq!(
            parse_notice("xyz 8 notes-1", "abc"),
            Some(Notice::Committed {
                doc,
                version: 8,
                ours: false
            })
        );
        assert_eq!(parse_notice("abc seven notes-1", "abc"), None);
        assert_eq!(parse_notice("abc 7 not a doc!", "abc"), None);
        assert_eq!(parse_notice("", "abc"), None);
    }
}

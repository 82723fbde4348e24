//! The replica store: this device's documents in one SQLite file.
//!
//! A document is kept as a snapshot (`Document::save`) plus the changes
//! applied after it, in the order they were applied; opening one loads the
//! snapshot and applies only those changes. `compact` folds them into a new
//! snapshot. Every write is one SQLite transaction, committed (WAL,
//! `synchronous=FULL`) before the call returns: a change the UI shows as
//! saved survives a crash or a power cut.
//!
//! One process at a time: the store holds an exclusive lock on a file beside
//! the database, so two processes can never both write as this device's
//! replica (which would make it equivocate).
//!
//! The file is checked before anything is written: a file that is not
//! SQLite, a SQLite database of another application, one from a newer
//! Concord, or a corrupt one gives a `StoreError` and is left untouched.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use concord_core::{DecodeError, Document, EncodedChange, ReplicaId, VersionVector};
use concord_wire::DocId;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

/// `PRAGMA application_id` of a Concord replica store ("CNCD").
const APPLICATION_ID: i32 = 0x434E_4344;
/// The schema this code writes; `migrate` brings older files up to it.
const SCHEMA_VERSION: i32 = 3;
const DB_FILE: &str = "concord.sqlite3";
const LOCK_FILE: &str = "concord.lock";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot use the data directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the data directory {0} is in use by another Concord process; close it or choose another --data directory"
    )]
    Locked(PathBuf),
    #[error("{0} is not a Concord database (it was left untouched)")]
    Foreign(PathBuf),
    #[error(
        "{path} was written by a newer Concord (schema {found}, this one knows {SCHEMA_VERSION}); it was left untouched"
    )]
    TooNew { path: PathBuf, found: i32 },
    #[error("{path} is corrupt ({detail}); it was left untouched")]
    Corrupt { path: PathBuf, detail: String },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored document {doc} cannot be read: {source}")]
    BadDocument { doc: DocId, source: DecodeError },
    #[error("no document {0}")]
    NoSuchDocument(DocId),
}

/// What the document list shows, without loading the documents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentInfo {
    pub id: DocId,
    pub title: String,
    /// Milliseconds since the Unix epoch, from the caller's clock.
    pub last_edit_ms: i64,
    /// Relay access token, when the document is shared.
    pub token: Option<String>,
    /// What the document is, as last seen; `None` until someone looked
    /// (documents from a share link, or stored by an older Concord).
    pub kind: Option<DocKind>,
}

/// What a document is: the list shows it, the window opens the matching
/// view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DocKind {
    Note,
    Calendar,
}

impl DocKind {
    /// What the document holds decides.
    pub fn of(doc: &Document) -> DocKind {
        if concord_calendar::is_calendar(doc) {
            DocKind::Calendar
        } else {
            DocKind::Note
        }
    }

    /// `of`, or `None` while the document holds nothing yet (one opened
    /// from a link, before its first change arrived).
    pub fn known(doc: &Document) -> Option<DocKind> {
        (doc.history_len() > 0).then(|| DocKind::of(doc))
    }

    /// The word the list and `concord doc list` use for it.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Note => "note",
            DocKind::Calendar => "calendar",
        }
    }

    fn parse(s: &str) -> Option<DocKind> {
        match s {
            "note" => Some(DocKind::Note),
            "calendar" => Some(DocKind::Calendar),
            _ => None,
        }
    }
}

/// A document as stored (`SqliteStore::load_parts`).
#[derive(Clone, Debug)]
pub struct StoredParts {
    /// `Document::save` bytes, if it was compacted.
    pub snapshot: Option<Vec<u8>>,
    /// The changes applied after the snapshot, in order.
    pub changes: Vec<EncodedChange>,
    /// The replica the document is edited as: the device's, unless another
    /// writer forged the device's id in it.
    pub replica: ReplicaId,
}

/// This device's replicas, in SQLite.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    device: ReplicaId,
    path: PathBuf,
    /// Held for the store's lifetime: the exclusive lock.
    _lock: File,
}

impl SqliteStore {
    /// Opens (or creates) the store in `dir`. `new_device` is called once,
    /// when the store is created, to draw this device's replica id.
    pub fn open(dir: &Path, new_device: impl FnOnce() -> ReplicaId) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| StoreError::Io {
                path: lock_path.clone(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(StoreError::Locked(dir.to_owned())),
            Err(TryLockError::Error(source)) => {
                return Err(StoreError::Io {
                    path: lock_path,
                    source,
                });
            }
        }
        let path = dir.join(DB_FILE);
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        check_file(&conn, &path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&conn)?;
        let existing: Option<Vec<u8>> = conn
            .query_row("SELECT replica FROM device WHERE id = 1", [], |r| r.get(0))
            .optional()?;
        let device = if let Some(bytes) = existing {
            let bytes: [u8; 16] = bytes.try_into().map_err(|_| StoreError::Corrupt {
                path: path.clone(),
                detail: "device id is not 16 bytes".into(),
            })?;
            ReplicaId::from_bytes(bytes)
        } else {
            let device = new_device();
            conn.execute(
                "INSERT INTO device (id, replica) VALUES (1, ?1)",
                params![device.to_bytes().to_vec()],
            )?;
            device
        };
        Ok(SqliteStore {
            conn,
            device,
            path,
            _lock: lock,
        })
    }

    /// This device's replica id: created once, kept for good.
    pub fn device(&self) -> ReplicaId {
        self.device
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every document, most recently edited first.
    pub fn list(&self) -> Result<Vec<DocumentInfo>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, title, last_edit, token, kind FROM documents ORDER BY last_edit DESC, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, title, last_edit_ms, token, kind) = row?;
            let id = DocId::new(id).map_err(|source| StoreError::Corrupt {
                path: self.path.clone(),
                detail: format!("bad document id: {source}"),
            })?;
            out.push(DocumentInfo {
                id,
                title,
                last_edit_ms,
                token,
                kind: kind.as_deref().and_then(DocKind::parse),
            });
        }
        Ok(out)
    }

    pub fn info(&self, id: &DocId) -> Result<DocumentInfo, StoreError> {
        self.list()?
            .into_iter()
            .find(|d| &d.id == id)
            .ok_or_else(|| StoreError::NoSuchDocument(id.clone()))
    }

    pub fn contains(&self, id: &DocId) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM documents WHERE id = ?1",
                [id.as_str()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Adds an empty document (its changes come with `append`). Adding one
    /// that exists is a no-op.
    pub fn create(
        &mut self,
        id: &DocId,
        title: &str,
        now_ms: i64,
        token: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO documents (id, title, last_edit, token) VALUES (?1, ?2, ?3, ?4)",
            params![id.as_str(), title, now_ms, token],
        )?;
        Ok(())
    }

    /// A document as stored: its snapshot and the changes after it, in the
    /// order they were applied, and the replica it is edited as. `None` if
    /// this device does not hold it.
    pub fn load_parts(&self, id: &DocId) -> Result<Option<StoredParts>, StoreError> {
        let Some((snapshot, replica)) = self
            .conn
            .query_row(
                "SELECT snapshot, replica FROM documents WHERE id = ?1",
                [id.as_str()],
                |r| {
                    Ok((
                        r.get::<_, Option<Vec<u8>>>(0)?,
                        r.get::<_, Option<Vec<u8>>>(1)?,
                    ))
                },
            )
            .optional()?
        else {
            return Ok(None);
        };
        let replica = match replica {
            None => self.device,
            Some(bytes) => {
                ReplicaId::from_bytes(bytes.try_into().map_err(|_| StoreError::Corrupt {
                    path: self.path.clone(),
                    detail: format!("document {id}: its replica id is not 16 bytes"),
                })?)
            }
        };
        let mut stmt = self
            .conn
            .prepare("SELECT bytes FROM changes WHERE doc = ?1 ORDER BY ord")?;
        let rows = stmt.query_map([id.as_str()], |r| r.get::<_, Vec<u8>>(0))?;
        let mut changes = Vec::new();
        for row in rows {
            changes.push(EncodedChange::decode(row?).map_err(|source| {
                StoreError::BadDocument {
                    doc: id.clone(),
                    source,
                }
            })?);
        }
        Ok(Some(StoredParts {
            snapshot,
            changes,
            replica,
        }))
    }

    /// Loads a document: its snapshot, then the changes applied after it.
    pub fn load(&self, id: &DocId) -> Result<Document, StoreError> {
        let StoredParts {
            snapshot,
            changes,
            replica,
        } = self
            .load_parts(id)?
            .ok_or_else(|| StoreError::NoSuchDocument(id.clone()))?;
        let mut doc = match snapshot {
            Some(bytes) => {
                Document::load(&bytes, replica).map_err(|source| StoreError::BadDocument {
                    doc: id.clone(),
                    source,
                })?
            }
            None => Document::new(replica),
        };
        for change in changes {
            if doc.version().contains(change.id()) {
                continue;
            }
            doc.apply(change).map_err(|e| StoreError::Corrupt {
                path: self.path.clone(),
                detail: format!("document {id}: stored change does not apply: {e}"),
            })?;
        }
        Ok(doc)
    }

    /// Appends changes applied to a document, durably, in one transaction.
    /// A change already stored is skipped.
    pub fn append(
        &mut self,
        id: &DocId,
        changes: &[EncodedChange],
        title: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let updated = match title {
            Some(title) => tx.execute(
                "UPDATE documents SET last_edit = ?2, title = ?3 WHERE id = ?1",
                params![id.as_str(), now_ms, title],
            )?,
            None => tx.execute(
                "UPDATE documents SET last_edit = ?2 WHERE id = ?1",
                params![id.as_str(), now_ms],
            )?,
        };
        if updated == 0 {
            return Err(StoreError::NoSuchDocument(id.clone()));
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO changes (doc, replica, seq, bytes) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for c in changes {
                let cid = c.id();
                insert.execute(params![
                    id.as_str(),
                    cid.replica.to_bytes().to_vec(),
                    i64::try_from(cid.seq).unwrap_or(i64::MAX),
                    c.bytes()
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// How many changes a document has after its snapshot.
    pub fn changes_after_snapshot(&self, id: &DocId) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM changes WHERE doc = ?1",
            [id.as_str()],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Writes `doc` as the new snapshot and drops the changes it covers.
    pub fn compact(&mut self, id: &DocId, doc: &Document) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let updated = tx.execute(
            "UPDATE documents SET snapshot = ?2 WHERE id = ?1",
            params![id.as_str(), doc.save()],
        )?;
        if updated == 0 {
            return Err(StoreError::NoSuchDocument(id.clone()));
        }
        delete_covered(&tx, id, doc.version())?;
        tx.commit()?;
        Ok(())
    }

    /// Makes `snapshot` (`Document::save` bytes of everything stored and
    /// more) the whole stored state of the document, dropping its change
    /// records (the sync client's compaction).
    pub fn snapshot(&mut self, id: &DocId, snapshot: &[u8]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let updated = tx.execute(
            "UPDATE documents SET snapshot = ?2 WHERE id = ?1",
            params![id.as_str(), snapshot],
        )?;
        if updated == 0 {
            return Err(StoreError::NoSuchDocument(id.clone()));
        }
        tx.execute("DELETE FROM changes WHERE doc = ?1", [id.as_str()])?;
        tx.commit()?;
        Ok(())
    }

    /// Makes `snapshot` (`Document::save` bytes) the whole stored state of
    /// the document (no changes after it), edited as `replica` from now on:
    /// after `Document::reissue`, which takes changes out of the history.
    pub fn replace(
        &mut self,
        id: &DocId,
        snapshot: &[u8],
        replica: ReplicaId,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let replica = (replica != self.device).then(|| replica.to_bytes().to_vec());
        let updated = tx.execute(
            "UPDATE documents SET snapshot = ?2, replica = ?3 WHERE id = ?1",
            params![id.as_str(), snapshot, replica],
        )?;
        if updated == 0 {
            return Err(StoreError::NoSuchDocument(id.clone()));
        }
        tx.execute("DELETE FROM changes WHERE doc = ?1", [id.as_str()])?;
        tx.commit()?;
        Ok(())
    }

    pub fn set_title(&mut self, id: &DocId, title: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE documents SET title = ?2 WHERE id = ?1",
            params![id.as_str(), title],
        )?;
        Ok(())
    }

    /// Remembers what a document is, for the list.
    pub fn set_kind(&mut self, id: &DocId, kind: DocKind) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE documents SET kind = ?2 WHERE id = ?1",
            params![id.as_str(), kind.as_str()],
        )?;
        Ok(())
    }

    /// Whether this store was ever given its first-run content (the demo
    /// calendar). True for stores that held documents before the demo
    /// existed, so an upgrade never adds it.
    pub fn first_run_done(&self) -> Result<bool, StoreError> {
        let marked = self
            .conn
            .query_row(
                "SELECT 1 FROM settings WHERE key = 'first_run_done'",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        Ok(marked || !self.list()?.is_empty())
    }

    /// Records that the first run happened: it never happens again, even
    /// if the user deletes every document.
    pub fn mark_first_run_done(&mut self) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES ('first_run_done', '1')",
            [],
        )?;
        Ok(())
    }

    pub fn set_token(&mut self, id: &DocId, token: Option<&str>) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE documents SET token = ?2 WHERE id = ?1",
            params![id.as_str(), token],
        )?;
        Ok(())
    }

    /// Removes a document and its history from this device.
    pub fn delete(&mut self, id: &DocId) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM changes WHERE doc = ?1", [id.as_str()])?;
        tx.execute("DELETE FROM documents WHERE id = ?1", [id.as_str()])?;
        tx.commit()?;
        Ok(())
    }

    /// `PRAGMA integrity_check`: "ok" or what is wrong.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

fn delete_covered(
    tx: &rusqlite::Transaction<'_>,
    id: &DocId,
    version: &VersionVector,
) -> Result<(), StoreError> {
    let mut del =
        tx.prepare_cached("DELETE FROM changes WHERE doc = ?1 AND replica = ?2 AND seq <= ?3")?;
    for (replica, seq) in version.iter() {
        del.execute(params![
            id.as_str(),
            replica.to_bytes().to_vec(),
            i64::try_from(seq).unwrap_or(i64::MAX)
        ])?;
    }
    Ok(())
}

/// Refuses anything but an empty file or a Concord store this code can read.
fn check_file(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let corrupt = |e: rusqlite::Error| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            StoreError::Foreign(path.to_owned())
        }
        other => StoreError::Corrupt {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    };
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(corrupt)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(corrupt)?;
    if app == 0 && tables == 0 {
        return Ok(()); // a new, empty file
    }
    if app != APPLICATION_ID {
        return Err(StoreError::Foreign(path.to_owned()));
    }
    let version: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(corrupt)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found: version,
        });
    }
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(corrupt)?;
    if check != "ok" {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: check,
        });
    }
    Ok(())
}

/// Brings the schema up to `SCHEMA_VERSION`, one step per version, each in
/// a transaction.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version < 1 {
        conn.execute_batch(&format!(
            "BEGIN;
             CREATE TABLE device (
                 id INTEGER PRIMARY KEY CHECK (id = 1),
                 replica BLOB NOT NULL
             );
             CREATE TABLE documents (
                 id TEXT PRIMARY KEY,
                 title TEXT NOT NULL DEFAULT '',
                 last_edit INTEGER NOT NULL,
                 token TEXT,
                 snapshot BLOB
             );
             CREATE TABLE changes (
                 ord INTEGER PRIMARY KEY AUTOINCREMENT,
                 doc TEXT NOT NULL REFERENCES documents(id),
                 replica BLOB NOT NULL,
                 seq INTEGER NOT NULL,
                 bytes BLOB NOT NULL,
                 UNIQUE (doc, replica, seq)
             );
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = 1;
             COMMIT;"
        ))?;
    }
    if version < 2 {
        conn.execute_batch(
            "BEGIN;
             ALTER TABLE documents ADD COLUMN kind TEXT;
             CREATE TABLE settings (
                 key TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             );
             PRAGMA user_version = 2;
             COMMIT;",
        )?;
    }
    if version < 3 {
        // The replica a document is edited as, when not the device's: after
        // another writer forged the device's id in it (`replace`).
        conn.execute_batch(
            "BEGIN;
             ALTER TABLE documents ADD COLUMN replica BLOB;
             PRAGMA user_version = 3;
             COMMIT;",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::{ObjId, ObjType};

    fn doc_id(s: &str) -> DocId {
        DocId::new(s).unwrap()
    }

    fn typed(doc: &mut Document, text: &str) -> Vec<EncodedChange> {
        let Some(concord_core::Value::Object(body, _)) =
            doc.get(ObjId::Root, "body").unwrap().cloned()
        else {
            let mut tx = doc.transaction();
            tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
            return std::iter::once(tx.commit().unwrap())
                .chain(typed(doc, text))
                .collect();
        };
        let mut out = Vec::new();
        for ch in text.chars() {
            let len = doc.text(body).unwrap().len_chars();
            let mut tx = doc.transaction();
            tx.insert_text(body, len, &ch.to_string()).unwrap();
            out.push(tx.commit().unwrap());
        }
        out
    }

    fn body_text(doc: &Document) -> String {
        match doc.get(ObjId::Root, "body").unwrap() {
            Some(concord_core::Value::Object(id, _)) => doc.text(*id).unwrap().to_string(),
            _ => String::new(),
        }
    }

    #[test]
    fn a_document_survives_reopening_with_and_without_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let id = doc_id("notes");
        let device;
        {
            let mut store = SqliteStore::open(dir.path(), || ReplicaId(42)).unwrap();
            device = store.device();
            let mut doc = Document::new(device);
            store.create(&id, "Notes", 1, None).unwrap();
            let changes = typed(&mut doc, "hello");
            store.append(&id, &changes, Some("Notes"), 2).unwrap();
            assert_eq!(store.changes_after_snapshot(&id).unwrap(), 6);
        }
        let mut store = SqliteStore::open(dir.path(), || ReplicaId(7)).unwrap();
        assert_eq!(store.device(), device, "the device id is kept");
        let mut doc = store.load(&id).unwrap();
        assert_eq!(body_text(&doc), "hello");
        store.compact(&id, &doc).unwrap();
        assert_eq!(store.changes_after_snapshot(&id).unwrap(), 0);
        let more = typed(&mut doc, "!");
        store.append(&id, &more, None, 3).unwrap();
        drop(store);
        let store = SqliteStore::open(dir.path(), || ReplicaId(7)).unwrap();
        assert_eq!(body_text(&store.load(&id).unwrap()), "hello!");
        assert_eq!(store.list().unwrap()[0].title, "Notes");
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn a_second_process_is_locked_out() {
        let dir = tempfile::tempdir().unwrap();
        let _first = SqliteStore::open(dir.path(), || ReplicaId(1)).unwrap();
        assert!(matches!(
            SqliteStore::open(dir.path(), || ReplicaId(2)),
            Err(StoreError::Locked(_))
        ));
    }

    #[test]
    fn foreign_and_garbage_files_are_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(DB_FILE);
        std::fs::write(&db, b"this is not a database, it is a shopping list").unwrap();
        let before = std::fs::read(&db).unwrap();
        let err = SqliteStore::open(dir.path(), || ReplicaId(1)).unwrap_err();
        assert!(matches!(err, StoreError::Foreign(_)), "{err}");
        assert_eq!(std::fs::read(&db).unwrap(), before);

        std::fs::remove_file(&db).unwrap();
        {
            let other = Connection::open(&db).unwrap();
            other
                .execute_batch("CREATE TABLE photos (x); INSERT INTO photos VALUES (1);")
                .unwrap();
        }
        let before = std::fs::read(&db).unwrap();
        let err = SqliteStore::open(dir.path(), || ReplicaId(1)).unwrap_err();
        assert!(matches!(err, StoreError::Foreign(_)), "{err}");
        assert_eq!(std::fs::read(&db).unwrap(), before);
    }

    #[test]
    fn a_version_1_store_migrates_and_keeps_its_documents() {
        let dir = tempfile::tempdir().unwrap();
        let id = doc_id("old");
        {
            // A store as schema 1 wrote it.
            let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
            c.execute_batch(&format!(
                "CREATE TABLE device (id INTEGER PRIMARY KEY CHECK (id = 1), replica BLOB NOT NULL);
                 CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '',
                     last_edit INTEGER NOT NULL, token TEXT, snapshot BLOB);
                 CREATE TABLE changes (ord INTEGER PRIMARY KEY AUTOINCREMENT,
                     doc TEXT NOT NULL REFERENCES documents(id), replica BLOB NOT NULL,
                     seq INTEGER NOT NULL, bytes BLOB NOT NULL, UNIQUE (doc, replica, seq));
                 INSERT INTO device VALUES (1, x'00000000000000000000000000000007');
                 INSERT INTO documents (id, title, last_edit) VALUES ('old', 'Old notes', 5);
                 PRAGMA application_id = {APPLICATION_ID};
                 PRAGMA user_version = 1;"
            ))
            .unwrap();
        }
        let mut store = SqliteStore::open(dir.path(), || ReplicaId(1)).unwrap();
        assert_eq!(store.device(), ReplicaId(7));
        let info = store.info(&id).unwrap();
        assert_eq!((info.title.as_str(), info.kind), ("Old notes", None));
        // It held documents: no first run (no demo) for an upgrade.
        assert!(store.first_run_done().unwrap());
        store.set_kind(&id, DocKind::Note).unwrap();
        assert_eq!(store.info(&id).unwrap().kind, Some(DocKind::Note));
    }

    #[test]
    fn the_first_run_happens_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path(), || ReplicaId(1)).unwrap();
        assert!(!store.first_run_done().unwrap());
        store.mark_first_run_done().unwrap();
        drop(store);
        let store = SqliteStore::open(dir.path(), || ReplicaId(1)).unwrap();
        assert!(store.list().unwrap().is_empty());
        assert!(store.first_run_done().unwrap());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(dir.path(), || ReplicaId(1)).unwrap());
        {
            let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        assert!(matches!(
            SqliteStore::open(dir.path(), || ReplicaId(1)),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn compaction_keeps_changes_the_snapshot_does_not_cover() {
        let dir = tempfile::tempdir().unwrap();
        let id = doc_id("d");
        let mut store = SqliteStore::open(dir.path(), || ReplicaId(1)).unwrap();
        let mut doc = Document::new(store.device());
        store.create(&id, "", 0, None).unwrap();
        let first = typed(&mut doc, "ab");
        store.append(&id, &first, None, 1).unwrap();
        let old = doc.clone();
        let later = typed(&mut doc, "c");
        store.append(&id, &later, None, 2).unwrap();
        store.compact(&id, &old).unwrap();
        assert_eq!(store.changes_after_snapshot(&id).unwrap(), 1);
        assert_eq!(body_text(&store.load(&id).unwrap()), "abc");
    }
}

//! The relay library's error types. None of their details are ever sent to a
//! client: a client sees an `ErrorCode` (usually `Internal`) and the log has
//! the rest.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::token::SecretError;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a Concord relay database (corrupt, or another program's file): {reason}; refusing to touch it"
    )]
    NotOurs { path: PathBuf, reason: String },
    #[error(
        "{path} was written by a newer relay (schema version {found}, this relay knows up to {known}); refusing to touch it"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data for document {doc} is corrupt: {reason}")]
    Corrupt { doc: String, reason: String },
    #[error(
        "a commit failed in a way the relay cannot recover from (see the log); writes are refused until the relay restarts"
    )]
    Broken,
    #[error("an earlier commit of this document failed, and these changes may depend on it")]
    Superseded,
    #[error("the store is shut down")]
    Closed,
    #[error("{0} exists; a backup never overwrites a file")]
    BackupExists(PathBuf),
    #[error("io: {0}")]
    Io(std::io::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    Pool(String),
    #[error("{url} is not a URL of a PostgreSQL database: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(
        "the PostgreSQL database holds tables named like Concord's but not Concord's schema ({0}); refusing to touch it"
    )]
    PgNotOurs(String),
    #[error(
        "the PostgreSQL database was migrated by a newer relay (schema version {found}, this relay knows up to {known}); refusing to touch it"
    )]
    PgTooNew { found: i64, known: i64 },
    #[error(
        "document {doc}: another relay stored different bytes under the same change id; these changes are refused"
    )]
    Conflict { doc: String },
}

/// A failed group commit, as reported to every writer in the batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("commit failed: {0}")]
pub struct CommitFailed(pub String);

/// Why the relay could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "no secret configured: pass --secret or set CONCORD_RELAY_SECRET (at least 32 bytes), or run with --dev to let anyone read and write every document"
    )]
    NoSecret,
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

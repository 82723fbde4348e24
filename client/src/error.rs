//! The client's errors.

use concord_core::EditError;
use concord_wire::DocId;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The document is not open on this client.
    #[error("document {0} is not open")]
    NotOpen(DocId),
    /// `create` for a document this device already holds.
    #[error("document {0} already exists on this device")]
    AlreadyExists(DocId),
    /// The replica store failed. For an edit this means: applied in memory,
    /// not yet saved; the client retries saving and sends it only once saved.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document could not be loaded.
    #[error("document {doc} could not be loaded: {reason}")]
    Load { doc: DocId, reason: String },
    /// A local edit failed (the document is unchanged by the failed edit).
    #[error(transparent)]
    Edit(#[from] EditError),
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
}

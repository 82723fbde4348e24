//! The client's errors.

use concord_core::{ApplyError, EditError};
use concord_sync::DeviceError;
use concord_wire::DocId;

use crate::device_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The document is not open on this client.
    #[error("document {0} is not open")]
    NotOpen(DocId),
    /// This device does not hold the document (not open, not stored).
    #[error("this device holds no document {0}")]
    NotHeld(DocId),
    /// `create` for a document this device already holds.
    #[error("document {0} already exists on this device")]
    AlreadyExists(DocId),
    /// The replica store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document could not be loaded.
    #[error("document {doc} could not be loaded: {reason}")]
    Load { doc: DocId, reason: String },
    /// A local edit failed (the document is unchanged by the failed edit).
    #[error(transparent)]
    Edit(#[from] EditError),
    /// Changes to merge were refused (the document is unchanged).
    #[error("changes refused: {0}")]
    Apply(ApplyError),
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
}

impl From<DeviceError> for ClientError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::NotOpen(doc) => ClientError::NotOpen(doc),
            DeviceError::AlreadyOpen(doc) => ClientError::AlreadyExists(doc),
            DeviceError::Load { doc, source } => ClientError::Load {
                doc,
                reason: source.to_string(),
            },
            DeviceError::Apply(e) => ClientError::Apply(e),
        }
    }
}

//! A document as a device's store holds it, and the document it makes.

use concord_core::{ApplyError, DecodeError, Document, EncodedChange, ReplicaId};

/// What a driver reads from its store to open a document
/// (`Device::load`): the parts the device's saves wrote.
#[derive(Clone, Debug, Default)]
pub struct StoredDocument {
    /// The token the document syncs with.
    pub token: String,
    /// The last snapshot (`SaveWhat::Snapshot` or `Replace` bytes), if any.
    pub snapshot: Option<Vec<u8>>,
    /// The change records appended after it, in the order they were written.
    pub changes: Vec<EncodedChange>,
    /// The replica this device edits the document as, when not the
    /// device's id: the `replica` of the last `SaveWhat::Replace`.
    pub replica: Option<ReplicaId>,
    /// How many of this replica's own changes the relay had confirmed
    /// storing, for a store that keeps it ("N unsent" before any
    /// connection); 0 otherwise.
    pub relay_acked_own: u64,
}

/// Why stored parts do not make a document. Nothing is opened then, and
/// the driver must not write over what is stored.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the snapshot does not decode: {0}")]
    Snapshot(DecodeError),
    #[error("a stored change does not apply: {0}")]
    Change(ApplyError),
    #[error("stored changes lack dependencies")]
    MissingDependencies,
}

impl StoredDocument {
    /// The document these parts make, edited as `replica` if set, else as
    /// `device`.
    pub fn into_document(self, device: ReplicaId) -> Result<Document, LoadError> {
        let me = self.replica.unwrap_or(device);
        let mut doc = match &self.snapshot {
            Some(bytes) => Document::load(bytes, me).map_err(LoadError::Snapshot)?,
            None => Document::new(me),
        };
        doc.apply_all(self.changes).map_err(LoadError::Change)?;
        if !doc.pending().is_empty() {
            return Err(LoadError::MissingDependencies);
        }
        Ok(doc)
    }
}

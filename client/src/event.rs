//! What a client reports to its UI.

use concord_core::{ChangeId, ReplicaId};
use concord_wire::{DocId, ErrorCode, SyncStatus};

/// The connection to the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Not connected: working offline, or waiting to retry.
    Offline,
    /// Opening a connection.
    Connecting,
    /// Connected to the relay.
    Connected,
}

/// Something a UI may want to repaint for. Sent on a broadcast channel: a
/// receiver that lags loses events, never state — read the state again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    Connection(ConnectionStatus),
    /// A document's sync status changed.
    Status {
        doc: DocId,
        status: SyncStatus,
    },
    /// Changes from the relay were applied to a document.
    RemoteChange {
        doc: DocId,
    },
    /// Who is connected to a document.
    Presence {
        doc: DocId,
        devices: Vec<ReplicaId>,
    },
    /// A change from the relay was invalid and not applied (the document is
    /// unchanged by it).
    ChangeRejected {
        doc: DocId,
        reason: String,
    },
    /// The relay holds another change as ours (`forged`): someone wrote
    /// under this device's replica id. Our changes from there on were
    /// re-made as `remade` changes of `new_replica`, which this device
    /// edits the document as from now on. Nothing typed is lost.
    IdForged {
        doc: DocId,
        forged: ChangeId,
        new_replica: ReplicaId,
        remade: usize,
    },
    /// A change from the relay was applied as an empty change: its
    /// operations could not be read or did not fit (the same on every
    /// device; `Document::unreadable` keeps it).
    ChangeUnreadable {
        doc: DocId,
        change: ChangeId,
        reason: String,
    },
    /// The relay reported an error.
    RelayError {
        doc: Option<DocId>,
        code: ErrorCode,
        detail: String,
    },
    /// Saving failed; the unsaved changes stay in memory and are retried.
    StoreFailed {
        doc: DocId,
        reason: String,
    },
}

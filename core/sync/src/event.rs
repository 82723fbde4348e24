//! What a device tells its user: one enum for the native client, the
//! desktop and the browser.

use concord_core::{ChangeId, ReplicaId};
use concord_wire::{DocId, ErrorCode, SyncStatus};

/// The connection to the relay, as the driver reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Not connected: working offline, or waiting to retry.
    Offline,
    /// Opening a connection.
    Connecting,
    /// Connected to the relay.
    Connected,
}

/// Something a user interface may want to show or repaint for
/// (`Device::poll_event`). Missing one loses no state: read it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceEvent {
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
    /// The relay reported an error. When `code.ends_subscription()` it
    /// refused the document (the status is `Refused` until a new token).
    RelayError {
        doc: Option<DocId>,
        code: ErrorCode,
        detail: String,
    },
    /// A change from the relay was invalid and not applied (the document is
    /// unchanged by it).
    ChangeRejected {
        doc: DocId,
        change: ChangeId,
        reason: String,
    },
    /// A change from the relay was applied as an empty change: its
    /// operations could not be read or did not fit (the same on every
    /// device; `Document::unreadable` keeps it).
    ChangeUnreadable {
        doc: DocId,
        change: ChangeId,
        reason: String,
    },
    /// The relay holds another change as ours (`forged`): someone wrote
    /// under this device's replica id. Our changes from there on were
    /// re-made as `remade` changes of `new_replica`, which this device
    /// edits the document as from now on, and are stored. Nothing typed is
    /// lost.
    IdForged {
        doc: DocId,
        forged: ChangeId,
        new_replica: ReplicaId,
        remade: usize,
    },
    /// A save failed: what it held stays in memory, unsent, and is offered
    /// again after the next change to the document or `retry_saves`.
    SaveFailed {
        doc: DocId,
        reason: String,
    },
}

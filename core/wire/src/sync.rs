//! The sync protocol as a state machine, free of IO.
//!
//! One `SyncPeer` per (connection, document). The caller moves bytes:
//! ```text
//! loop {
//!     while let Some(msg) = peer.poll_message(&doc) { send(msg.encode()) }
//!     let msg = Message::decode(&recv())?;
//!     doc.apply_records(peer.receive(msg));
//!     store(&doc);                 // make it durable, then:
//!     peer.stored(doc.version());  // so the next poll acknowledges it
//! }
//! ```
//! Both sides start with `Hello` (their version vector) and answer a `Hello`
//! with exactly the changes the other lacks, as records in bounded batches.
//! A timer calls `request_anti_entropy` so a lost message is repaired on a
//! live connection; a new connection calls `reset` (no state survives a
//! reconnect).

use crate::id::ReplicaId;
use crate::message::Message;
use crate::record::Record;
use crate::version::VersionVector;

/// Default upper bound on the bytes of one `Records` message.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 256 * 1024;

/// Where the changes a peer lacks come from: a document, or a relay's store.
pub trait ChangeSource {
    fn version(&self) -> VersionVector;
    /// The changes `since` lacks as records, in causal order, stopping near
    /// `max_bytes` (but at least one record if any change is missing). A
    /// record may also hold changes `since` has (a relay sends a stored
    /// record from the segment that holds the first change missing).
    fn records_since(&self, since: &VersionVector, max_bytes: usize) -> Vec<Record>;
    /// The replica this side makes changes as, if it makes any (a device's
    /// document; a relay makes none).
    fn own_replica(&self) -> Option<ReplicaId> {
        None
    }
}

/// What this side knows about one peer.
#[derive(Debug, Clone)]
pub struct SyncPeer {
    /// A Hello to send next, and which.
    hello_due: Option<Hello>,
    /// What we believe the peer has: its last Hello, plus what it acked, plus
    /// what we sent since (optimistically; a lost batch is repaired by the
    /// next Hello, which replaces this).
    their_version: Option<VersionVector>,
    /// What the peer has confirmed it stored durably.
    acked: VersionVector,
    ack_due: bool,
    last_ack: VersionVector,
    max_batch_bytes: usize,
    /// A read-only peer never sends changes (a relay would refuse them).
    read_only: bool,
    /// Checking the peer's copies of our own changes.
    own: OwnCheck,
}

/// Until changes are signed: what a peer checks of the other's copies of
/// its own changes, on one connection.
#[derive(Debug, Clone, Default)]
struct OwnCheck {
    /// After the peer's Hello: ask for its copy of our own change at the
    /// last seq of ours it claims to have, so that a copy forged by someone
    /// else is found when applied rather than trusted (see `poll_message`).
    probe_due: bool,
    /// The seq of ours asked for that way on this connection (asked once).
    probed: Option<u64>,
    /// A `Hello::WithoutOwn` went out on this connection: every change of
    /// ours the peer holds is on its way.
    scanning: bool,
}

/// Which version a Hello announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hello {
    /// What we have.
    Version,
    /// What we have but none of our own changes, so the peer sends every
    /// change of our replica it holds: to find one that someone forged.
    WithoutOwn,
}

impl Default for SyncPeer {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncPeer {
    pub fn new() -> Self {
        SyncPeer {
            hello_due: Some(Hello::Version),
            their_version: None,
            acked: VersionVector::new(),
            ack_due: false,
            last_ack: VersionVector::new(),
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            read_only: false,
            own: OwnCheck::default(),
        }
    }

    /// Never send changes (the other side would refuse them); still say
    /// Hello and acknowledge what is received.
    pub fn set_read_only(&mut self, read_only: bool) {
        self.read_only = read_only;
    }

    #[must_use]
    pub fn with_max_batch_bytes(mut self, max: usize) -> Self {
        self.max_batch_bytes = max.max(1);
        self
    }

    /// A new connection: forget everything learned on the old one.
    pub fn reset(&mut self) {
        let read_only = self.read_only;
        *self = SyncPeer::new().with_max_batch_bytes(self.max_batch_bytes);
        self.read_only = read_only;
    }

    /// Repeat the version exchange (call periodically on idle connections).
    pub fn request_anti_entropy(&mut self) {
        if self.hello_due.is_none() {
            self.hello_due = Some(Hello::Version);
        }
    }

    /// The peer holds a change with one of our ids and other content: say
    /// Hello as if we had none of our own changes, so it sends us every one
    /// it holds, and applying them finds the first that is not ours.
    pub fn request_own_changes(&mut self) {
        self.hello_due = Some(Hello::WithoutOwn);
    }

    /// Has a Hello without our own changes (`request_own_changes`) gone out
    /// on this connection, so that every change of ours the peer holds is
    /// on its way?
    pub fn scanning_own(&self) -> bool {
        self.own.scanning
    }

    /// The peer may lack `replica`'s changes from `seq` on after all (a
    /// relay that could not confirm a record overlapping its own copy):
    /// what it lacks is sent again from there, and it says Hello.
    pub fn rewind(&mut self, replica: ReplicaId, seq: u64) {
        if let Some(theirs) = &mut self.their_version
            && theirs.get(replica) >= seq
        {
            theirs.set(replica, seq.saturating_sub(1));
        }
        self.request_anti_entropy();
    }

    /// Takes in one message; returns the records to apply (and then store).
    pub fn receive(&mut self, msg: Message) -> Vec<Record> {
        match msg {
            Message::Hello { version } => {
                self.acked.merge(&version);
                self.their_version = Some(version);
                self.own.probe_due = true;
                Vec::new()
            }
            Message::Records { records } => {
                for r in &records {
                    // The peer sent it, so it holds it: a change that came
                    // from the relay is never "not yet on the relay".
                    self.acked.observe(r.replica(), r.last_seq());
                    if let Some(theirs) = &mut self.their_version {
                        theirs.observe(r.replica(), r.last_seq());
                    }
                }
                records
            }
            Message::Ack { version } => {
                self.acked.merge(&version);
                if let Some(theirs) = &mut self.their_version {
                    theirs.merge(&version);
                }
                Vec::new()
            }
        }
    }

    /// Tells the machine what is now durably stored locally, so it
    /// acknowledges it to the peer.
    pub fn stored(&mut self, local: &VersionVector) {
        if *local != self.last_ack {
            self.ack_due = true;
        }
    }

    /// The next message to send, if any.
    pub fn poll_message(&mut self, source: &(impl ChangeSource + ?Sized)) -> Option<Message> {
        if let Some(hello) = self.hello_due.take() {
            let mut version = source.version();
            if hello == Hello::WithoutOwn
                && let Some(own) = source.own_replica()
            {
                version.set(own, 0);
                self.own.scanning = true;
            }
            return Some(Message::Hello { version });
        }
        if let Some(theirs) = self.their_version.as_mut().filter(|_| !self.read_only) {
            // Until changes are signed, anyone may send one under our id.
            // The peer saying it has our changes up to some seq does not
            // make them ours: ask for its copy of ours at that seq (a Hello
            // that lacks it). Ours: a duplicate when applied; another's:
            // applying it finds the equivocation, and the device asks for
            // every change of ours the peer holds (`request_own_changes`).
            // Once per seq and connection: the peer's copy of a change it
            // holds never changes.
            if std::mem::take(&mut self.own.probe_due)
                && let Some(own) = source.own_replica()
            {
                let probe = theirs.get(own).min(source.version().get(own));
                if probe > 0 && self.own.probed != Some(probe) {
                    self.own.probed = Some(probe);
                    return Some(Message::Hello {
                        version: {
                            let mut version = source.version();
                            version.set(own, probe - 1);
                            version
                        },
                    });
                }
            }
            let batch = source.records_since(theirs, self.max_batch_bytes);
            if !batch.is_empty() {
                for r in &batch {
                    theirs.observe(r.replica(), r.last_seq());
                }
                return Some(Message::Records { records: batch });
            }
        }
        if self.ack_due {
            self.ack_due = false;
            self.last_ack = source.version();
            return Some(Message::Ack {
                version: self.last_ack.clone(),
            });
        }
        None
    }

    /// What the peer has confirmed storing.
    pub fn acked(&self) -> &VersionVector {
        &self.acked
    }

    /// How many of our changes the peer has not confirmed storing.
    pub fn unacked(&self, local: &VersionVector) -> u64 {
        local.count_missing_from(&self.acked)
    }

    /// Does the peer (as far as we know) have changes `local` lacks?
    /// `None` until the peer has said Hello.
    pub fn peer_is_ahead(&self, local: &VersionVector) -> Option<bool> {
        self.their_version
            .as_ref()
            .map(|theirs| theirs.count_missing_from(local) > 0)
    }

    /// Has the peer told us its version since the last (re)connect?
    pub fn knows_peer(&self) -> bool {
        self.their_version.is_some()
    }
}

//! A client's side of one relay connection, many documents over it, free of IO.
//!
//! The native client (tokio), the web demo (a browser WebSocket) and the tests
//! all drive this same machine; they only move frames:
//! ```text
//! session.connected();                        // a socket is open
//! loop {
//!     while let Some(f) = session.poll_frame(&docs) { send(f.encode()) }
//!     for event in session.receive(Frame::decode(&recv())?) {
//!         if let SessionEvent::Records { doc, records } = event {
//!             docs[doc].apply_records(records); store(doc);   // durable, then:
//!             session.stored(&doc, docs[doc].version());
//!         }
//!     }
//! }
//! ```
//! Per document it runs a `SyncPeer`; a subscription starts syncing once the
//! relay confirms it. On every new connection all subscriptions start over
//! with a fresh version exchange (anti-entropy), so nothing depends on what
//! the old connection delivered.

use std::collections::{BTreeMap, VecDeque};

use crate::frame::{Access, DocId, ErrorCode, Frame};
use crate::id::ReplicaId;
use crate::record::Record;
use crate::sync::{ChangeSource, SyncPeer};
use crate::version::VersionVector;

/// The caller's documents, looked up by id.
pub trait DocumentSet {
    fn change_source(&self, doc: &DocId) -> Option<&dyn ChangeSource>;
}

impl<S: ChangeSource> DocumentSet for BTreeMap<DocId, S> {
    fn change_source(&self, doc: &DocId) -> Option<&dyn ChangeSource> {
        self.get(doc).map(|d| d as &dyn ChangeSource)
    }
}

/// Something the caller must act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// Apply these to the document, store it, then call `stored`.
    Records {
        doc: DocId,
        records: Vec<Record>,
    },
    Subscribed {
        doc: DocId,
        access: Access,
    },
    /// The relay ended the subscription (bad or expired token, ...). It is
    /// not retried until `subscribe` is called again (with a new token).
    Refused {
        doc: DocId,
        code: ErrorCode,
        detail: String,
    },
    /// An error that does not end the subscription (e.g. rate limited).
    Error {
        doc: Option<DocId>,
        code: ErrorCode,
        detail: String,
    },
    /// Who is connected to the document now.
    Presence {
        doc: DocId,
        devices: Vec<ReplicaId>,
    },
}

/// Where one document stands with the relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncStatus {
    /// No connection.
    Offline,
    /// Connected, waiting for the relay to accept the subscription.
    Connecting,
    /// Exchanging changes: the relay has changes we lack, or has not yet
    /// told us what it has, or has not acknowledged `unacked` of ours.
    Syncing { unacked: u64 },
    /// The relay has stored everything we have, and we have everything it has.
    Synced,
    /// The relay refused the subscription.
    Refused { code: ErrorCode, detail: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Subscribe frame not yet sent on this connection.
    Wanted,
    /// Subscribe sent, no answer yet.
    Requested,
    Active(Access),
    Refused {
        code: ErrorCode,
        detail: String,
        /// The refusal may have been of a token since replaced (another
        /// Subscribe went out on that connection): the next connection
        /// subscribes once more, with the current token.
        recheck: bool,
    },
}

#[derive(Clone, Debug)]
struct Subscription {
    token: String,
    state: State,
    peer: SyncPeer,
    presence: Vec<ReplicaId>,
    /// Subscribes sent on this connection that the relay has not answered
    /// yet (Subscribed or a refusal; it answers each in order): while a
    /// newer one is out, a refusal is of an older token.
    unanswered: u32,
    /// Subscribes sent on this connection.
    sent: u32,
}

/// The client side of a relay connection.
#[derive(Clone, Debug)]
pub struct ClientSession {
    device: ReplicaId,
    connected: bool,
    subs: BTreeMap<DocId, Subscription>,
    /// Unsubscribe frames to send.
    outbox: VecDeque<Frame>,
    max_batch_bytes: usize,
}

impl ClientSession {
    pub fn new(device: ReplicaId) -> Self {
        ClientSession {
            device,
            connected: false,
            subs: BTreeMap::new(),
            outbox: VecDeque::new(),
            max_batch_bytes: crate::sync::DEFAULT_MAX_BATCH_BYTES,
        }
    }

    /// Bound the bytes of each Changes message (keep it well under the
    /// relay's message size limit).
    #[must_use]
    pub fn with_max_batch_bytes(mut self, max: usize) -> Self {
        self.max_batch_bytes = max.max(1);
        self
    }

    pub fn device(&self) -> ReplicaId {
        self.device
    }

    /// Sync `doc` with this token. Calling it again replaces the token and
    /// retries a refused subscription.
    pub fn subscribe(&mut self, doc: DocId, token: String) {
        let peer = SyncPeer::new().with_max_batch_bytes(self.max_batch_bytes);
        let (unanswered, sent) = self
            .subs
            .get(&doc)
            .map_or((0, 0), |s| (s.unanswered, s.sent));
        self.subs.insert(
            doc,
            Subscription {
                token,
                state: State::Wanted,
                peer,
                presence: Vec::new(),
                unanswered,
                sent,
            },
        );
    }

    /// Stop syncing `doc`.
    pub fn unsubscribe(&mut self, doc: &DocId) {
        if let Some(sub) = self.subs.remove(doc)
            && self.connected
            && matches!(sub.state, State::Requested | State::Active(_))
        {
            self.outbox
                .push_back(Frame::Unsubscribe { doc: doc.clone() });
        }
    }

    pub fn is_subscribed(&self, doc: &DocId) -> bool {
        self.subs.contains_key(doc)
    }

    pub fn documents(&self) -> impl Iterator<Item = &DocId> {
        self.subs.keys()
    }

    /// A new connection is open: every subscription starts over.
    pub fn connected(&mut self) {
        self.connected = true;
        self.outbox.clear();
        for sub in self.subs.values_mut() {
            sub.peer.reset();
            sub.peer.set_read_only(false);
            sub.presence.clear();
            sub.unanswered = 0;
            sub.sent = 0;
            if !matches!(sub.state, State::Refused { recheck: false, .. }) {
                sub.state = State::Wanted;
            }
        }
    }

    /// The connection is gone.
    pub fn disconnected(&mut self) {
        self.connected = false;
        self.outbox.clear();
        for sub in self.subs.values_mut() {
            sub.presence.clear();
            sub.unanswered = 0;
            sub.sent = 0;
            if !matches!(sub.state, State::Refused { .. }) {
                sub.state = State::Wanted;
            }
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Repeat the version exchange on every active subscription (call from a
    /// timer on idle connections: it repairs lost messages).
    pub fn request_anti_entropy(&mut self) {
        for sub in self.subs.values_mut() {
            if matches!(sub.state, State::Active(_)) {
                sub.peer.request_anti_entropy();
            }
        }
    }

    /// Takes in one frame from the relay.
    pub fn receive(&mut self, frame: Frame) -> Vec<SessionEvent> {
        match frame {
            Frame::Subscribed { doc, access } => {
                let Some(sub) = self.subs.get_mut(&doc) else {
                    return Vec::new();
                };
                sub.unanswered = sub.unanswered.saturating_sub(1);
                // The answer to our Subscribe. (After a refusal it answers
                // a later one, a new token: the relay serves the document,
                // so do we.)
                if !matches!(sub.state, State::Requested | State::Refused { .. }) {
                    return Vec::new();
                }
                sub.state = State::Active(access);
                sub.peer.set_read_only(!access.can_write());
                vec![SessionEvent::Subscribed { doc, access }]
            }
            Frame::Sync { doc, message } => {
                let Some(sub) = self.subs.get_mut(&doc) else {
                    return Vec::new();
                };
                if !matches!(sub.state, State::Active(_)) {
                    return Vec::new();
                }
                let records = sub.peer.receive(message);
                if records.is_empty() {
                    Vec::new()
                } else {
                    vec![SessionEvent::Records { doc, records }]
                }
            }
            Frame::Presence { doc, devices } => match self.subs.get_mut(&doc) {
                Some(sub) if matches!(sub.state, State::Active(_)) => {
                    sub.presence.clone_from(&devices);
                    vec![SessionEvent::Presence { doc, devices }]
                }
                _ => Vec::new(),
            },
            Frame::Error {
                doc: Some(doc),
                code,
                detail,
            } if code.ends_subscription() => match self.subs.get_mut(&doc) {
                Some(sub) if answers_subscribe(code) && sub.unanswered > 1 => {
                    // The refusal of a token we have since replaced: the
                    // relay has yet to answer the newer one.
                    sub.unanswered -= 1;
                    vec![SessionEvent::Error {
                        doc: Some(doc),
                        code,
                        detail,
                    }]
                }
                Some(sub) => {
                    if answers_subscribe(code) {
                        sub.unanswered = sub.unanswered.saturating_sub(1);
                    }
                    sub.state = State::Refused {
                        code,
                        detail: detail.clone(),
                        recheck: sub.sent > 1,
                    };
                    sub.presence.clear();
                    vec![SessionEvent::Refused { doc, code, detail }]
                }
                None => Vec::new(),
            },
            Frame::Error { doc, code, detail } => {
                // A write the relay refused (read-only) or could not take
                // (rate, pending): the next version exchange resends what it
                // still lacks, so ask for one.
                if let Some(sub) = doc.as_ref().and_then(|d| self.subs.get_mut(d))
                    && matches!(sub.state, State::Active(_))
                {
                    if code == ErrorCode::ReadOnly {
                        sub.peer.set_read_only(true);
                    }
                    if code == ErrorCode::Equivocation {
                        sub.peer.request_own_changes();
                    } else {
                        sub.peer.request_anti_entropy();
                    }
                }
                vec![SessionEvent::Error { doc, code, detail }]
            }
            // Client-to-relay frames are never sent to a client; ignore them.
            Frame::Subscribe { .. } | Frame::Unsubscribe { .. } => Vec::new(),
        }
    }

    /// Someone sent a change under our id (applying the relay's copy of one
    /// of ours found an equivocation): say Hello as if we had none of our
    /// own changes, so the relay sends every one it holds and applying them
    /// finds the first forged one.
    pub fn request_own_changes(&mut self, doc: &DocId) {
        if let Some(sub) = self.subs.get_mut(doc)
            && matches!(sub.state, State::Active(_))
        {
            sub.peer.request_own_changes();
        }
    }

    /// Is every change of ours the relay holds for `doc` on its way, after
    /// `request_own_changes` (on this connection)?
    pub fn scanning_own(&self, doc: &DocId) -> bool {
        self.subs
            .get(doc)
            .is_some_and(|sub| sub.peer.scanning_own())
    }

    /// The document's history was replaced (`Document::reissue`): its sync
    /// with the relay starts over with a version exchange.
    pub fn resync(&mut self, doc: &DocId) {
        if let Some(sub) = self.subs.get_mut(doc) {
            sub.peer.reset();
        }
    }

    /// `version` of `doc` is now durably stored: acknowledge it to the relay.
    pub fn stored(&mut self, doc: &DocId, version: &VersionVector) {
        if let Some(sub) = self.subs.get_mut(doc) {
            sub.peer.stored(version);
        }
    }

    /// The next frame to send, if any.
    pub fn poll_frame(&mut self, docs: &impl DocumentSet) -> Option<Frame> {
        if !self.connected {
            return None;
        }
        if let Some(f) = self.outbox.pop_front() {
            return Some(f);
        }
        for (doc, sub) in &mut self.subs {
            match sub.state {
                State::Wanted => {
                    sub.state = State::Requested;
                    sub.unanswered = sub.unanswered.saturating_add(1);
                    sub.sent = sub.sent.saturating_add(1);
                    return Some(Frame::Subscribe {
                        doc: doc.clone(),
                        token: sub.token.clone(),
                        device: self.device,
                    });
                }
                State::Active(_) => {
                    if let Some(source) = docs.change_source(doc)
                        && let Some(message) = sub.peer.poll_message(source)
                    {
                        return Some(Frame::Sync {
                            doc: doc.clone(),
                            message,
                        });
                    }
                }
                State::Requested | State::Refused { .. } => {}
            }
        }
        None
    }

    /// Where `doc` stands, given what is stored locally.
    pub fn status(&self, doc: &DocId, local: &VersionVector) -> SyncStatus {
        let Some(sub) = self.subs.get(doc) else {
            return SyncStatus::Offline;
        };
        if let State::Refused { code, detail, .. } = &sub.state {
            return SyncStatus::Refused {
                code: *code,
                detail: detail.clone(),
            };
        }
        if !self.connected {
            return SyncStatus::Offline;
        }
        let State::Active(access) = sub.state else {
            return SyncStatus::Connecting;
        };
        // A read-only subscription never uploads, so nothing waits on the relay.
        let unacked = if access.can_write() {
            sub.peer.unacked(local)
        } else {
            0
        };
        match sub.peer.peer_is_ahead(local) {
            Some(false) if unacked == 0 => SyncStatus::Synced,
            _ => SyncStatus::Syncing { unacked },
        }
    }

    /// How many of `doc`'s local changes the relay has not acknowledged.
    pub fn unacked(&self, doc: &DocId, local: &VersionVector) -> u64 {
        self.subs
            .get(doc)
            .map_or(local.total(), |sub| sub.peer.unacked(local))
    }

    /// What the relay has confirmed storing of `doc`, as learned on this
    /// connection (its Hello and Acks; empty again after a reconnect).
    pub fn acked(&self, doc: &DocId) -> Option<&VersionVector> {
        self.subs.get(doc).map(|sub| sub.peer.acked())
    }

    /// The devices connected to `doc`, as the relay last said.
    pub fn presence(&self, doc: &DocId) -> &[ReplicaId] {
        self.subs.get(doc).map_or(&[], |sub| &sub.presence)
    }

    /// The access the relay granted, once subscribed on this connection.
    pub fn access(&self, doc: &DocId) -> Option<Access> {
        match self.subs.get(doc)?.state {
            State::Active(access) => Some(access),
            _ => None,
        }
    }
}

/// Does the relay send this refusal in answer to a Subscribe?
fn answers_subscribe(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::Unauthorized | ErrorCode::TokenExpired | ErrorCode::TooManyDocuments
    )
}

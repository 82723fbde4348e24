//! What the relay decides about one connection, free of IO: subscribe and
//! authorize, token expiry on a live subscription, read-only, the rate
//! limit, admission of changes and the ones held for a dependency, re-acks,
//! presence, anti-entropy, asking again after a refusal, closing.
//!
//! A `Session` is a state machine. Its driver (`connection.rs`) only moves
//! bytes and time:
//! ```text
//! let mut session = Session::new(&config, now);
//! loop {
//!     while let Some(effect) = session.poll(&mut docs) {
//!         perform(effect)        // send, ping, join or leave a hub, close, count, log
//!     }
//!     wait for: a frame (only while session.reading()), a commit's result,
//!               a change to a document, session.deadline(), shutdown
//!     session.handle(input, now, &mut docs)
//! }
//! ```
//! Time is an argument (`Now`), never read here. The documents are the
//! hub's shared state, reached through `Documents`: the driver locks one
//! document at a time, and a batch this session admits goes to the store
//! before that lock is released, so every document's commits keep the
//! order its changes were admitted in. A Sync stream is pulled one message
//! at a time (`poll`), so a catch-up is never built whole in memory.
//!
//! Changes arrive as records (one change, or a run of typing) and leave
//! for the store as records; the relay reads only their headers.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use concord_wire::{Access, ChangeSource, DecodeError, DocId, ErrorCode, Frame, Message};
use concord_wire::{Record, ReplicaId, VersionVector};
use concord_wire::{SyncPeer, close, frame};

use crate::config::{Auth, Config, Limits, TokenBucket};
use crate::error::CommitFailed;
use crate::held::{Held, HeldLimits, HeldTotals, admit_all};
use crate::hub::{DocState, LoadFailed};
use crate::token::{self, Grant, TokenError};

/// After the store refused a write, the relay asks for it again (Hello)
/// after this long, doubling on every further refusal up to `STORE_RETRY_MAX`.
const STORE_RETRY_MIN: Duration = Duration::from_millis(500);
const STORE_RETRY_MAX: Duration = Duration::from_secs(30);
/// Bounds on the wait before a rate-limited client is asked again.
const RATE_RETRY_MIN: f64 = 0.05;
const RATE_RETRY_MAX: f64 = 60.0;

/// The time, as the driver reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time since the connection began: timers, the rate limit.
    pub elapsed: Duration,
    /// The wall clock in unix seconds: token expiry.
    pub unix_secs: u64,
}

/// Something that happened to the connection.
#[derive(Debug)]
pub enum Input {
    /// A frame from the client.
    Frame(Frame),
    /// A binary message that is not a frame.
    Malformed(DecodeError),
    /// A websocket message that cannot be a frame.
    Unusable(Unusable),
    /// A websocket Ping or Pong: the client is alive.
    Heard,
    /// `Effect::Join` is done: the document's hub serves this connection,
    /// or the document could not be loaded.
    Joined {
        doc: DocId,
        result: Result<(), LoadFailed>,
    },
    /// The oldest commit in flight ended.
    Committed(Result<VersionVector, CommitFailed>),
    /// A document changed: another connection's commit, someone joined or left.
    Changed(DocId),
    /// The socket accepted nothing for the send timeout.
    SendTimedOut,
    /// Time passed; due at `Session::deadline`.
    Tick,
    /// The relay is shutting down (commits in flight are reported first).
    Shutdown,
}

/// A websocket message that cannot be a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// A frame of another protocol version (`frame::foreign_version`).
    Version(u8),
    Text,
    /// Over the message size limit.
    TooBig,
    /// Broken websocket framing.
    Protocol,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send a frame.
    Send(Frame),
    /// Send a websocket Ping: a reading client answers, which keeps the
    /// idle timeout away.
    Ping,
    /// Subscribe to `doc`'s hub as `device` (loading the document if needed),
    /// then report `Input::Joined`.
    Join { doc: DocId, device: ReplicaId },
    /// Unsubscribe from `doc`'s hub.
    Leave(DocId),
    /// Send `frames` (best effort: they explain the close), then close the
    /// socket with `code`. Nothing follows.
    Close {
        code: u16,
        reason: &'static str,
        frames: Vec<Frame>,
    },
    /// The client speaks protocol `version`, not ours: send it `frame` (an
    /// Error frame) in that version's framing (`Frame::encode_as`), so that
    /// it can tell its user, then close with `code`. Nothing follows.
    CloseForeign {
        version: u8,
        frame: Frame,
        code: u16,
        reason: &'static str,
    },
    /// Count a refusal: an error code's name or a close reason.
    Reject(&'static str),
    /// Something for the relay's log.
    Log(Log),
}

/// Events worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Log {
    CommitFailed { doc: DocId, error: CommitFailed },
    TooSlow,
}

/// The documents a session serves, as its driver reaches them: the hub's
/// state of every document the session joined, shared with other
/// connections.
pub trait Documents {
    /// Calls `f` with `doc`'s state; `None` if `doc` is not joined.
    fn read<R>(&self, doc: &DocId, f: impl FnOnce(&DocState) -> R) -> Option<R>;

    /// Calls `f` with `doc`'s state to admit records; the records `f`
    /// returns (the batch it admitted, maybe none) go to the store before
    /// anyone else sees the state, so that commits keep admission order.
    /// Their commit is reported later as `Input::Committed`. `None` if `doc`
    /// is not joined.
    fn admit<R>(
        &mut self,
        doc: &DocId,
        f: impl FnOnce(&mut DocState) -> (R, Vec<Record>),
    ) -> Option<R>;
}

/// One subscription.
#[derive(Debug)]
struct Sub {
    peer: SyncPeer,
    grant: Grant,
    held: Held,
    /// The presence last sent, and the hub's generation it was taken at.
    presence_sent: Option<(u64, Vec<ReplicaId>)>,
}

/// What the relay knows and decides about one connection.
#[derive(Debug)]
pub struct Session {
    auth: Auth,
    limits: Limits,
    anti_entropy: Duration,
    subs: BTreeMap<DocId, Sub>,
    /// Subscriptions waiting for their hub (`Effect::Join`).
    joining: BTreeMap<DocId, Grant>,
    /// Changes held for missing dependencies, over all subscriptions.
    held: HeldTotals,
    bucket: TokenBucket,
    /// When the rate limit was hit recently.
    violations: VecDeque<Duration>,
    /// Documents whose writes were dropped (rate limit, store refusal), and
    /// when to ask for them again.
    resync_at: Option<Duration>,
    resync_docs: BTreeSet<DocId>,
    /// Delay before asking again after the next store refusal.
    store_retry: Duration,
    /// Commits in flight, oldest first (they complete in that order).
    in_flight: VecDeque<DocId>,
    next_anti_entropy: Duration,
    /// When something last arrived (or the connection last waited on a
    /// commit, which is not silence).
    last_heard: Duration,
    /// Documents with something to send: a change, an ack, presence, held
    /// changes another connection may have unblocked.
    dirty: BTreeSet<DocId>,
    /// The dirty document whose Sync messages `poll` is sending.
    sending: Option<DocId>,
    effects: VecDeque<Effect>,
    closed: bool,
}

impl Session {
    pub fn new(config: &Config, now: Now) -> Self {
        let limits = config.limits.clone();
        Session {
            auth: config.auth.clone(),
            bucket: TokenBucket::new(
                limits.max_changes_per_sec,
                limits.changes_burst,
                now.elapsed.as_secs_f64(),
            ),
            limits,
            anti_entropy: config.anti_entropy,
            subs: BTreeMap::new(),
            joining: BTreeMap::new(),
            held: HeldTotals::default(),
            violations: VecDeque::new(),
            resync_at: None,
            resync_docs: BTreeSet::new(),
            store_retry: STORE_RETRY_MIN,
            in_flight: VecDeque::new(),
            next_anti_entropy: now.elapsed + config.anti_entropy,
            last_heard: now.elapsed,
            dirty: BTreeSet::new(),
            sending: None,
            effects: VecDeque::new(),
            closed: false,
        }
    }

    /// Read the next frame? Not while a commit is in flight (back-pressure:
    /// a write waits for its commit), nor once closed.
    pub fn reading(&self) -> bool {
        self.in_flight.is_empty() && !self.closed
    }

    /// When to report `Input::Tick` (time since the connection began).
    pub fn deadline(&self) -> Option<Duration> {
        if self.closed {
            return None;
        }
        let mut at = self.next_anti_entropy;
        if let Some(resync) = self.resync_at {
            at = at.min(resync);
        }
        if self.reading() {
            at = at.min(self.last_heard + self.limits.idle_timeout);
        }
        Some(at)
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The documents subscribed.
    pub fn documents(&self) -> impl Iterator<Item = &DocId> {
        self.subs.keys()
    }

    /// Takes in one input; its effects come from `poll`.
    pub fn handle(&mut self, input: Input, now: Now, docs: &mut impl Documents) {
        if self.closed {
            return;
        }
        let heard = matches!(
            input,
            Input::Frame(_) | Input::Malformed(_) | Input::Unusable(_) | Input::Heard
        );
        if heard || !self.reading() {
            self.last_heard = now.elapsed;
        }
        match input {
            Input::Frame(frame) => self.frame(frame, now, docs),
            Input::Malformed(e) => {
                self.error(None, ErrorCode::Malformed, e.to_string());
                self.close(close::PROTOCOL_ERROR, "malformed frame");
            }
            Input::Unusable(Unusable::Version(version)) => {
                // Frames in our framing would mean nothing to this client.
                self.effects.retain(|e| !matches!(e, Effect::Send(_)));
                self.reject("unsupported_version");
                let framing = if (frame::OLDEST_VERSION..=frame::VERSION).contains(&version) {
                    version
                } else {
                    frame::VERSION
                };
                self.effects.push_back(Effect::CloseForeign {
                    version: framing,
                    frame: Frame::Error {
                        doc: None,
                        code: ErrorCode::UnsupportedVersion,
                        detail: format!(
                            "this relay speaks Concord sync protocol version {}, this client \
                             version {version}: update the client",
                            frame::VERSION
                        ),
                    },
                    code: close::UNSUPPORTED_VERSION,
                    reason: "unsupported protocol version: update the client",
                });
                self.closed = true;
                self.sending = None;
            }
            Input::Unusable(Unusable::Text) => {
                self.reject("text_frame");
                self.close(close::UNSUPPORTED_DATA, "binary frames only");
            }
            Input::Unusable(Unusable::TooBig) => {
                self.reject("message_too_big");
                self.close(close::MESSAGE_TOO_BIG, "message too big");
            }
            Input::Unusable(Unusable::Protocol) => {
                self.reject("websocket_protocol");
                self.close(close::PROTOCOL_ERROR, "websocket protocol error");
            }
            Input::Heard => {}
            Input::Joined { doc, result } => self.joined(doc, result, docs),
            Input::Committed(result) => self.committed(result, now),
            Input::Changed(doc) => {
                if self.subs.contains_key(&doc) {
                    self.dirty.insert(doc);
                }
            }
            Input::SendTimedOut => {
                // Nothing more goes into a socket that accepts nothing.
                self.effects.retain(|e| !matches!(e, Effect::Send(_)));
                self.effects.push_back(Effect::Log(Log::TooSlow));
                self.reject("too_slow");
                self.close(close::RESYNC, "too slow: reconnect and resync");
            }
            Input::Tick => self.tick(now),
            Input::Shutdown => self.close(close::GOING_AWAY, "relay shutting down"),
        }
    }

    /// The next thing to do: what the inputs so far decided, then for each
    /// document that changed its held changes released, its presence and,
    /// one per call, its `SyncPeer`'s messages.
    pub fn poll(&mut self, docs: &mut impl Documents) -> Option<Effect> {
        loop {
            if let Some(effect) = self.effects.pop_front() {
                return Some(effect);
            }
            if self.closed {
                return None;
            }
            if let Some(doc) = self.sending.take() {
                if let Some(frame) = self.next_message(&doc, docs) {
                    self.sending = Some(doc);
                    return Some(Effect::Send(frame));
                }
                continue;
            }
            let Some(doc) = self.dirty.pop_first() else {
                self.release_buffers();
                return None;
            };
            self.refresh(&doc, docs);
            self.sending = Some(doc);
        }
    }

    /// Nothing to do: give back the memory the queues kept. A relay holds
    /// thousands of idle sessions, and an emptied `BTreeMap` or `VecDeque`
    /// keeps its node or buffer (a kilobyte and a half a session).
    fn release_buffers(&mut self) {
        if self.effects.capacity() > 0 {
            self.effects = VecDeque::new();
        }
        if self.dirty.is_empty() {
            self.dirty = BTreeSet::new();
        }
        if self.joining.is_empty() {
            self.joining = BTreeMap::new();
        }
    }

    fn frame(&mut self, frame: Frame, now: Now, docs: &mut impl Documents) {
        match frame {
            Frame::Subscribe { doc, token, device } => self.subscribe(doc, &token, device, now),
            Frame::Unsubscribe { doc } => {
                if self.subs.contains_key(&doc) {
                    self.leave(&doc);
                } else {
                    self.error(Some(&doc), ErrorCode::NotSubscribed, "not subscribed");
                }
            }
            Frame::Sync { doc, message } => self.sync(&doc, message, now, docs),
            Frame::Subscribed { .. } | Frame::Error { .. } | Frame::Presence { .. } => {
                self.error(None, ErrorCode::Malformed, "a relay-to-client frame");
                self.close(close::PROTOCOL_ERROR, "malformed frame");
            }
        }
    }

    fn authorize(&self, doc: &DocId, token: &str, now: Now) -> Result<Grant, TokenError> {
        match &self.auth {
            Auth::Open => Ok(Grant {
                doc: doc.clone(),
                access: Access::ReadWrite,
                expires: u64::MAX,
            }),
            Auth::Secret(secret) => token::verify(secret, token, doc, now.unix_secs),
        }
    }

    fn subscribe(&mut self, doc: DocId, token: &str, device: ReplicaId, now: Now) {
        let grant = match self.authorize(&doc, token, now) {
            Ok(g) => g,
            Err(e) => {
                let code = match e {
                    TokenError::Expired => ErrorCode::TokenExpired,
                    TokenError::Invalid | TokenError::WrongDocument => ErrorCode::Unauthorized,
                };
                self.joining.remove(&doc);
                if self.subs.contains_key(&doc) {
                    self.leave(&doc);
                }
                self.error(Some(&doc), code, e.to_string());
                return;
            }
        };
        if let Some(sub) = self.subs.get_mut(&doc) {
            // A new token on a live subscription: start the exchange over.
            let access = grant.access;
            sub.grant = grant;
            sub.peer.reset();
            self.send(Frame::Subscribed {
                doc: doc.clone(),
                access,
            });
            self.dirty.insert(doc);
            return;
        }
        if let Some(waiting) = self.joining.get_mut(&doc) {
            // Its hub has not answered yet: the newer token counts.
            *waiting = grant;
            return;
        }
        let max = self.limits.max_docs_per_connection;
        if self.subs.len() + self.joining.len() >= max {
            self.error(
                Some(&doc),
                ErrorCode::TooManyDocuments,
                format!("at most {max} documents per connection"),
            );
            return;
        }
        self.joining.insert(doc.clone(), grant);
        self.effects.push_back(Effect::Join { doc, device });
    }

    fn joined(&mut self, doc: DocId, result: Result<(), LoadFailed>, docs: &impl Documents) {
        let Some(grant) = self.joining.remove(&doc) else {
            // Refused meanwhile: the hub is not ours to keep.
            if result.is_ok() {
                self.effects.push_back(Effect::Leave(doc));
            }
            return;
        };
        let capacity = self.limits.max_pending_per_connection;
        let held = result
            .ok()
            .and_then(|()| docs.read(&doc, |st| Held::new(capacity, st)));
        let Some(held) = held else {
            self.error(
                Some(&doc),
                ErrorCode::Internal,
                "the document is unavailable",
            );
            return;
        };
        let access = grant.access;
        self.subs.insert(
            doc.clone(),
            Sub {
                peer: SyncPeer::new(),
                grant,
                held,
                presence_sent: None,
            },
        );
        self.send(Frame::Subscribed {
            doc: doc.clone(),
            access,
        });
        self.dirty.insert(doc);
    }

    fn leave(&mut self, doc: &DocId) {
        if let Some(mut sub) = self.subs.remove(doc) {
            sub.held.clear(&mut self.held);
            self.resync_docs.remove(doc);
            self.dirty.remove(doc);
            if self.sending.as_ref() == Some(doc) {
                self.sending = None;
            }
            self.effects.push_back(Effect::Leave(doc.clone()));
        }
    }

    /// Ends `doc`'s subscription if its token expired; returns whether it did.
    fn expire(&mut self, doc: &DocId, now: Now) -> bool {
        let Some(sub) = self.subs.get(doc) else {
            return false;
        };
        if token::check_expiry(&sub.grant, now.unix_secs).is_ok() {
            return false;
        }
        self.leave(doc);
        self.error(Some(doc), ErrorCode::TokenExpired, "token expired");
        true
    }

    fn sync(&mut self, doc: &DocId, message: Message, now: Now, docs: &mut impl Documents) {
        if !self.subs.contains_key(doc) {
            self.error(Some(doc), ErrorCode::NotSubscribed, "not subscribed");
            return;
        }
        if self.expire(doc, now) {
            return;
        }
        let Some(sub) = self.subs.get_mut(doc) else {
            return;
        };
        let is_write = matches!(&message, Message::Records { records } if !records.is_empty());
        if is_write && !sub.grant.access.can_write() {
            self.error(Some(doc), ErrorCode::ReadOnly, "read-only token");
            return;
        }
        let mut records = sub.peer.receive(message);
        self.dirty.insert(doc.clone());
        if records.is_empty() {
            return;
        }
        // The rate counts what the relay does: a row and a header per
        // record, and its bytes.
        let costs: Vec<usize> = records.iter().map(record_cost).collect();
        let total: usize = costs.iter().sum();
        let secs = now.elapsed.as_secs_f64();
        let granted = self.bucket.take_up_to(total, secs);
        if granted < total {
            let mut used = 0;
            let fit = costs
                .iter()
                .take_while(|&&c| {
                    used += c;
                    used <= granted
                })
                .count();
            let kept: usize = costs[..fit].iter().sum();
            self.bucket.give_back(granted - kept);
            records.truncate(fit);
            self.rate_limited(doc, total - kept, now);
            if self.closed {
                return;
            }
        }
        self.store_records(doc, records, docs);
    }

    /// Drops a batch over the rate; the relay asks for it again (Hello) once
    /// the bucket has refilled. Too many in a short time closes the socket.
    fn rate_limited(&mut self, doc: &DocId, wanted: usize, now: Now) {
        self.error(
            Some(doc),
            ErrorCode::RateLimited,
            format!("records worth {wanted} dropped: over the rate limit"),
        );
        let t = now.elapsed;
        self.violations.push_back(t);
        while self
            .violations
            .front()
            .is_some_and(|&v| t.saturating_sub(v) > self.limits.abuse_window)
        {
            self.violations.pop_front();
        }
        if self.violations.len() > self.limits.max_rate_violations as usize {
            self.reject("policy_violation");
            self.close(close::POLICY_VIOLATION, "rate limit abused");
            return;
        }
        let wait = self.bucket.wait_for(wanted, t.as_secs_f64());
        let wait = Duration::from_secs_f64(wait.clamp(RATE_RETRY_MIN, RATE_RETRY_MAX));
        self.resync_after(doc, wait, now);
    }

    /// Sends `doc`'s Hello (so its client resends what the relay lacks) in
    /// `delay`, or later if a resync is already due later.
    fn resync_after(&mut self, doc: &DocId, delay: Duration, now: Now) {
        let at = now.elapsed + delay;
        self.resync_at = Some(self.resync_at.map_or(at, |t| t.max(at)));
        self.resync_docs.insert(doc.clone());
    }

    /// Admits `incoming` (and whatever held records became ready), sends
    /// what is new to the store, and acknowledges it once committed.
    fn store_records(&mut self, doc: &DocId, incoming: Vec<Record>, docs: &mut impl Documents) {
        let limits = HeldLimits {
            max_records: self.limits.max_pending_per_connection,
            max_bytes: self.limits.max_pending_bytes_per_connection,
        };
        let Some(sub) = self.subs.get_mut(doc) else {
            return;
        };
        let totals = &mut self.held;
        let admitted = docs.admit(doc, |st| {
            let mut outcome = admit_all(st, &mut sub.held, totals, limits, incoming);
            // A re-send of what is already stored: acknowledge it again (the
            // first Ack may have been lost). Not if part of it could not be
            // compared with what is stored: the client is sent the relay's
            // copy to compare instead.
            let ack = (outcome.batch.is_empty()
                && outcome.duplicates > 0
                && outcome.unconfirmed.is_empty())
            .then(|| st.version());
            let batch = std::mem::take(&mut outcome.batch);
            let submitted = !batch.is_empty();
            ((outcome, ack, submitted), batch)
        });
        let Some((outcome, ack, submitted)) = admitted else {
            return;
        };
        if let Some(version) = ack {
            self.effects.push_back(Effect::Send(Frame::Sync {
                doc: doc.clone(),
                message: Message::Ack { version },
            }));
        }
        if outcome.overflow {
            // Drop what is held for this document; the relay's Hello makes
            // the client resend from what the relay has, in causal order.
            sub.held.clear(&mut self.held);
            sub.peer.request_anti_entropy();
            self.dirty.insert(doc.clone());
            self.error(
                Some(doc),
                ErrorCode::TooManyPending,
                format!(
                    "more than {} records or {} bytes waiting for their dependencies",
                    limits.max_records, limits.max_bytes
                ),
            );
        }
        if outcome.equivocations > 0 {
            self.error(
                Some(doc),
                ErrorCode::Equivocation,
                format!(
                    "{} change ids already stored with other content",
                    outcome.equivocations
                ),
            );
        }
        if let Some(why) = outcome.invalid {
            self.error(Some(doc), ErrorCode::InvalidChange, why);
        }
        if !outcome.unconfirmed.is_empty()
            && let Some(sub) = self.subs.get_mut(doc)
        {
            // Changes sent that overlap what is stored where the relay
            // cannot compare them: send the client the stored copy from
            // there (it compares), and say Hello so that it sends what the
            // relay lacks.
            for &(replica, seq) in &outcome.unconfirmed {
                sub.peer.rewind(replica, seq);
            }
            self.dirty.insert(doc.clone());
        }
        if submitted {
            self.in_flight.push_back(doc.clone());
        }
    }

    /// The oldest commit ended: acknowledge, or report the failure.
    fn committed(&mut self, result: Result<VersionVector, CommitFailed>, now: Now) {
        let Some(doc) = self.in_flight.pop_front() else {
            return;
        };
        match result {
            Ok(version) => {
                self.store_retry = STORE_RETRY_MIN;
                if let Some(sub) = self.subs.get_mut(&doc) {
                    sub.peer.stored(&version);
                    self.dirty.insert(doc);
                }
            }
            Err(error) => {
                self.effects.push_back(Effect::Log(Log::CommitFailed {
                    doc: doc.clone(),
                    error,
                }));
                self.store_refused(&doc, now);
            }
        }
    }

    /// Nothing of a batch was stored: say so, and ask for it again later
    /// (with a growing delay while the store keeps refusing).
    fn store_refused(&mut self, doc: &DocId, now: Now) {
        self.error(
            Some(doc),
            ErrorCode::StoreUnavailable,
            "the relay could not store the changes; it will ask for them again",
        );
        if self.subs.contains_key(doc) {
            let delay = self.store_retry;
            self.store_retry = (delay * 2).min(STORE_RETRY_MAX);
            self.resync_after(doc, delay, now);
        }
    }

    fn tick(&mut self, now: Now) {
        let t = now.elapsed;
        if t >= self.next_anti_entropy {
            self.next_anti_entropy = t + self.anti_entropy;
            self.effects.push_back(Effect::Ping);
            self.anti_entropy(now);
        }
        if self.resync_at.is_some_and(|at| t >= at) {
            self.resync();
        }
        if self.reading() && t >= self.last_heard + self.limits.idle_timeout {
            self.reject("idle");
            self.close(close::NORMAL, "idle: nothing received");
        }
    }

    /// Every subscription repeats the version exchange, unless its token
    /// expired, which ends it.
    fn anti_entropy(&mut self, now: Now) {
        let docs: Vec<DocId> = self.subs.keys().cloned().collect();
        for doc in docs {
            if self.expire(&doc, now) {
                continue;
            }
            if let Some(sub) = self.subs.get_mut(&doc) {
                sub.peer.request_anti_entropy();
                self.dirty.insert(doc);
            }
        }
    }

    /// Asks for what was dropped (rate limit, store refusal): a Hello.
    fn resync(&mut self) {
        self.resync_at = None;
        for doc in std::mem::take(&mut self.resync_docs) {
            if let Some(sub) = self.subs.get_mut(&doc) {
                sub.peer.request_anti_entropy();
                self.dirty.insert(doc);
            }
        }
    }

    /// A document changed: release what its held changes waited for, and
    /// say who is here if that changed.
    fn refresh(&mut self, doc: &DocId, docs: &mut impl Documents) {
        if self.subs.get(doc).is_some_and(|s| !s.held.is_empty()) {
            // Another connection may have stored what the held records wait for.
            self.store_records(doc, Vec::new(), docs);
        }
        let Some(sub) = self.subs.get_mut(doc) else {
            return;
        };
        let sent = sub.presence_sent.as_ref();
        let fresh = docs
            .read(doc, |st| {
                let generation = st.presence_generation();
                match sent {
                    Some((g, _)) if *g == generation => None,
                    _ => Some((generation, st.devices())),
                }
            })
            .flatten();
        let Some((generation, devices)) = fresh else {
            return;
        };
        let changed = sub
            .presence_sent
            .as_ref()
            .is_none_or(|(_, d)| *d != devices);
        sub.presence_sent = Some((generation, devices.clone()));
        if changed {
            self.send(Frame::Presence {
                doc: doc.clone(),
                devices,
            });
        }
    }

    /// `doc`'s next Sync message, if its peer has one.
    fn next_message(&mut self, doc: &DocId, docs: &impl Documents) -> Option<Frame> {
        let sub = self.subs.get_mut(doc)?;
        let message = docs.read(doc, |st| sub.peer.poll_message(st))??;
        Some(Frame::Sync {
            doc: doc.clone(),
            message,
        })
    }

    fn send(&mut self, frame: Frame) {
        self.effects.push_back(Effect::Send(frame));
    }

    fn reject(&mut self, reason: &'static str) {
        self.effects.push_back(Effect::Reject(reason));
    }

    fn error(&mut self, doc: Option<&DocId>, code: ErrorCode, detail: impl Into<String>) {
        self.reject(code.name());
        self.send(Frame::Error {
            doc: doc.cloned(),
            code,
            detail: detail.into(),
        });
    }

    /// Ends the connection: the frames queued (they explain why) go with
    /// the close; nothing else is done or sent.
    fn close(&mut self, code: u16, reason: &'static str) {
        let mut frames = Vec::new();
        let mut rest = VecDeque::new();
        for effect in self.effects.drain(..) {
            match effect {
                Effect::Send(frame) => frames.push(frame),
                other => rest.push_back(other),
            }
        }
        rest.push_back(Effect::Close {
            code,
            reason,
            frames,
        });
        self.effects = rest;
        self.closed = true;
        self.sending = None;
    }
}

/// What a record costs against the rate limit: one for its row and header,
/// one more per full KiB of its bytes.
fn record_cost(record: &Record) -> usize {
    1 + record.bytes().len() / 1024
}

#[cfg(test)]
mod tests;

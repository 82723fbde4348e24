//! One websocket: frames in, frames out, many document subscriptions.
//!
//! A single task per connection runs a loop: send what is due (replies,
//! then for every dirty document what its `SyncPeer` says), then wait for
//! the next incoming frame, a dirty mark from another connection's commit,
//! the anti-entropy timer or shutdown. A write waits for its commit before
//! the next frame is read, which is the connection's back-pressure.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use concord_wire::close;
use concord_wire::{Access, ChangeSource, DocId, ErrorCode, Frame, Message, SyncPeer};
use concord_wire::{EncodedChange, ReplicaId};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::oneshot;

use crate::config::{Auth, TokenBucket};
use crate::held::{Held, HeldLimits, HeldTotals, admit_all};
use crate::hub::{ConnId, DocHub, Signal};
use crate::metrics::Metrics;
use crate::server::AppState;
use crate::token::{self, Grant, TokenError};

/// How long the final frames and the close frame may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// After the store refused a write, the relay asks for it again (Hello)
/// after this long, doubling on every further refusal up to `STORE_RETRY_MAX`.
const STORE_RETRY_MIN: Duration = Duration::from_millis(500);
const STORE_RETRY_MAX: Duration = Duration::from_secs(30);

type CommitResult = Result<concord_wire::VersionVector, crate::error::CommitFailed>;

/// What woke the connection loop.
#[derive(Debug)]
enum Event {
    Shutdown,
    Committed(Result<CommitResult, oneshot::error::RecvError>),
    Incoming(Option<Result<WsMessage, axum::Error>>),
    Dirty,
    AntiEntropy,
    Resync,
    Idle,
}

/// Why the loop ended.
#[derive(Debug)]
enum End {
    /// Close the socket with this code.
    Close(u16, &'static str),
    /// The peer is gone (closed, reset): nothing more to send.
    Gone,
}

struct Sub {
    hub: Arc<DocHub>,
    peer: SyncPeer,
    grant: Grant,
    held: Held,
    /// The presence last sent, and the hub's generation it was taken at.
    presence_sent: Option<(u64, Vec<ReplicaId>)>,
}

struct Connection {
    id: ConnId,
    app: Arc<AppState>,
    signal: Arc<Signal>,
    subs: BTreeMap<DocId, Sub>,
    /// Frames to send before anything else.
    outbox: Vec<Frame>,
    /// Changes held for missing dependencies, over all subscriptions.
    held: HeldTotals,
    bucket: TokenBucket,
    started: Instant,
    violations: VecDeque<Instant>,
    /// Documents whose writes were dropped (rate limit, store refusal), and
    /// when to ask for a resend.
    resync_at: Option<Instant>,
    resync_docs: BTreeSet<DocId>,
    /// Delay before asking again after the next store refusal.
    store_retry: Duration,
    /// Commits in flight, in submission order (they complete in that order).
    commits: VecDeque<(DocId, Instant, oneshot::Receiver<CommitResult>)>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Serves one websocket until it closes. Counts itself in the metrics.
pub async fn run(socket: WebSocket, app: Arc<AppState>) {
    let limits = &app.config.limits;
    let count = app.metrics.connections.fetch_add(1, Ordering::AcqRel) + 1;
    let (mut sink, mut stream) = socket.split();
    if usize::try_from(count).unwrap_or(usize::MAX) > limits.max_connections {
        app.metrics.reject("too_many_connections");
        close_socket(&mut sink, close::TRY_AGAIN_LATER, "too many connections").await;
        app.connection_closed();
        return;
    }
    let now = Instant::now();
    let mut conn = Connection {
        id: app.hubs.next_conn_id(),
        signal: Arc::new(Signal::default()),
        subs: BTreeMap::new(),
        outbox: Vec::new(),
        held: HeldTotals::default(),
        bucket: TokenBucket::new(limits.max_changes_per_sec, limits.changes_burst, 0.0),
        started: now,
        violations: VecDeque::new(),
        resync_at: None,
        resync_docs: BTreeSet::new(),
        store_retry: STORE_RETRY_MIN,
        commits: VecDeque::new(),
        app: Arc::clone(&app),
    };
    tracing::debug!(conn = conn.id, "connected");
    let end = conn.serve(&mut sink, &mut stream).await;
    tracing::debug!(conn = conn.id, ?end, "disconnected");
    if let End::Close(code, reason) = end {
        // Best effort: the frame that explains the close, then the close.
        let frames = std::mem::take(&mut conn.outbox);
        for f in frames {
            let bytes = f.encode();
            let fed =
                tokio::time::timeout(CLOSE_TIMEOUT, sink.feed(WsMessage::Binary(bytes.into())))
                    .await;
            if !matches!(fed, Ok(Ok(()))) {
                break;
            }
        }
        close_socket(&mut sink, code, reason).await;
    }
    conn.leave_all();
    app.connection_closed();
}

async fn close_socket(
    sink: &mut futures_util::stream::SplitSink<WebSocket, WsMessage>,
    code: u16,
    reason: &'static str,
) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(WsMessage::Close(Some(frame)))).await;
}

type Sink = futures_util::stream::SplitSink<WebSocket, WsMessage>;
type Stream = futures_util::stream::SplitStream<WebSocket>;

impl Connection {
    fn now_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    async fn serve(&mut self, sink: &mut Sink, stream: &mut Stream) -> End {
        let mut shutdown = self.app.shutdown.clone();
        if *shutdown.borrow_and_update() {
            return End::Close(close::GOING_AWAY, "relay shutting down");
        }
        let period = self.app.config.anti_entropy;
        let mut anti_entropy =
            tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        anti_entropy.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let idle_timeout = self.app.config.limits.idle_timeout;
        let mut last_heard = Instant::now();
        loop {
            if let Err(end) = self.flush(sink).await {
                return end;
            }
            let resync_at = self.resync_at;
            let resync = async move {
                match resync_at {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let signal = Arc::clone(&self.signal);
            // While a commit is in flight, read nothing new (back-pressure)
            // but keep sending: other documents' changes, presence, Hellos.
            let mut front = self.commits.pop_front();
            let reading = front.is_none();
            // Only while reading: a frame waiting behind a commit is not silence.
            let idle = tokio::time::sleep_until((last_heard + idle_timeout).into());
            let event = {
                let committed = async {
                    match front.as_mut() {
                        Some((_, _, rx)) => rx.await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    _ = shutdown.changed() => Event::Shutdown,
                    r = committed => Event::Committed(r),
                    msg = stream.next(), if reading => Event::Incoming(msg),
                    () = signal.notified() => Event::Dirty,
                    _ = anti_entropy.tick() => Event::AntiEntropy,
                    () = resync => Event::Resync,
                    () = idle, if reading => Event::Idle,
                }
            };
            if matches!(event, Event::Incoming(_)) || !reading {
                last_heard = Instant::now();
            }
            if let Event::Committed(result) = event {
                if let Some((doc, read_at, _)) = front {
                    self.app.metrics.commit_wait.observe(read_at.elapsed());
                    self.committed(&doc, result);
                }
                continue;
            }
            if let Some(f) = front {
                self.commits.push_front(f);
            }
            match event {
                Event::Shutdown => {
                    self.finish_commits().await;
                    let _ = self.flush(sink).await;
                    return End::Close(close::GOING_AWAY, "relay shutting down");
                }
                Event::Incoming(msg) => {
                    let result = match msg {
                        None | Some(Ok(WsMessage::Close(_))) => Err(End::Gone),
                        Some(Err(e)) => Err(self.read_error(e)),
                        Some(Ok(WsMessage::Binary(bytes))) => {
                            Metrics::add(&self.app.metrics.bytes_in, bytes.len() as u64);
                            let handled = self.handle(&bytes).await;
                            // One frame per turn: a connection that sends
                            // without pause lets the others run.
                            tokio::task::yield_now().await;
                            handled
                        }
                        Some(Ok(WsMessage::Text(_))) => {
                            self.app.metrics.reject("text_frame");
                            Err(End::Close(close::UNSUPPORTED_DATA, "binary frames only"))
                        }
                        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => Ok(()),
                    };
                    if let Err(end) = result {
                        return end;
                    }
                }
                Event::Committed(_) | Event::Dirty => {}
                Event::Idle => {
                    self.app.metrics.reject("idle");
                    return End::Close(close::NORMAL, "idle: nothing received");
                }
                Event::AntiEntropy => {
                    if let Err(end) = self.ping(sink).await {
                        return end;
                    }
                    self.anti_entropy();
                }
                Event::Resync => self.resync(),
            }
        }
    }

    /// Something to answer even without subscriptions: a live client's
    /// websocket library sends a Pong, which keeps the idle timeout away.
    async fn ping(&self, sink: &mut Sink) -> Result<(), End> {
        let timeout = self.app.config.limits.send_timeout;
        let ping = sink.send(WsMessage::Ping(Vec::new().into()));
        match tokio::time::timeout(timeout, ping).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(self.too_slow()),
        }
    }

    /// Asks for what was dropped (rate limit, store refusal): a Hello.
    fn resync(&mut self) {
        self.resync_at = None;
        for doc in std::mem::take(&mut self.resync_docs) {
            if let Some(sub) = self.subs.get_mut(&doc) {
                sub.peer.request_anti_entropy();
                self.signal.mark(&doc);
            }
        }
    }

    /// Waits for the commits in flight (shutdown: acknowledge what was
    /// stored before closing).
    async fn finish_commits(&mut self) {
        while let Some((doc, _, rx)) = self.commits.pop_front() {
            match tokio::time::timeout(CLOSE_TIMEOUT, rx).await {
                Ok(result) => self.committed(&doc, result),
                Err(_) => break,
            }
        }
    }

    /// A commit of `doc` ended: acknowledge, or report the failure.
    fn committed(&mut self, doc: &DocId, result: Result<CommitResult, oneshot::error::RecvError>) {
        match result {
            Ok(Ok(version)) => {
                self.store_retry = STORE_RETRY_MIN;
                if let Some(sub) = self.subs.get_mut(doc) {
                    sub.peer.stored(&version);
                    self.signal.mark(doc);
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(conn = self.id, doc = %doc, error = %e, "commit failed");
                self.store_refused(doc);
            }
            Err(_) => self.store_refused(doc),
        }
    }

    /// Nothing of a batch was stored: say so, and ask for it again later
    /// (with a growing delay while the store keeps refusing).
    fn store_refused(&mut self, doc: &DocId) {
        self.error(
            Some(doc),
            ErrorCode::StoreUnavailable,
            "the relay could not store the changes; it will ask for them again",
        );
        if self.subs.contains_key(doc) {
            let delay = self.store_retry;
            self.store_retry = (delay * 2).min(STORE_RETRY_MAX);
            self.resync_after(doc, delay);
        }
    }

    fn read_error(&self, e: axum::Error) -> End {
        use tokio_tungstenite::tungstenite::Error as WsError;
        match e.into_inner().downcast::<WsError>() {
            Ok(err) if matches!(*err, WsError::Capacity(_)) => {
                self.app.metrics.reject("message_too_big");
                End::Close(close::MESSAGE_TOO_BIG, "message too big")
            }
            Ok(err) if matches!(*err, WsError::Protocol(_) | WsError::Utf8(_)) => {
                self.app.metrics.reject("websocket_protocol");
                End::Close(close::PROTOCOL_ERROR, "websocket protocol error")
            }
            _ => End::Gone,
        }
    }

    /// Sends the outbox, then what every dirty document's peer has to say.
    async fn flush(&mut self, sink: &mut Sink) -> Result<(), End> {
        let mut sent_any = false;
        loop {
            for f in std::mem::take(&mut self.outbox) {
                self.feed(sink, &f).await?;
                sent_any = true;
            }
            let dirty = self.signal.take();
            if dirty.is_empty() {
                break;
            }
            for doc in dirty {
                if self.subs.get(&doc).is_some_and(|s| !s.held.is_empty()) {
                    // Another connection may have stored what the held
                    // changes wait for.
                    self.store_changes(&doc, Vec::new());
                }
                let Some(sub) = self.subs.get_mut(&doc) else {
                    continue;
                };
                let presence = {
                    let st = sub.hub.lock();
                    let generation = st.presence_generation();
                    match &sub.presence_sent {
                        Some((g, _)) if *g == generation => None,
                        _ => Some((generation, st.devices())),
                    }
                };
                if let Some((generation, devices)) = presence {
                    let changed = sub
                        .presence_sent
                        .as_ref()
                        .is_none_or(|(_, d)| *d != devices);
                    sub.presence_sent = Some((generation, devices.clone()));
                    if changed {
                        self.outbox.push(Frame::Presence {
                            doc: doc.clone(),
                            devices,
                        });
                    }
                }
                while let Some(sub) = self.subs.get_mut(&doc) {
                    let (msg, last_commit) = {
                        let st = sub.hub.lock();
                        (sub.peer.poll_message(&*st), st.last_commit())
                    };
                    if let (Some(Message::Changes { .. }), Some(at)) = (&msg, last_commit) {
                        self.app.metrics.fanout_delay.observe(at.elapsed());
                    }
                    let Some(message) = msg else {
                        break;
                    };
                    let frame = Frame::Sync {
                        doc: doc.clone(),
                        message,
                    };
                    for f in std::mem::take(&mut self.outbox) {
                        self.feed(sink, &f).await?;
                    }
                    self.feed(sink, &frame).await?;
                    sent_any = true;
                }
            }
        }
        if sent_any {
            let timeout = self.app.config.limits.send_timeout;
            match tokio::time::timeout(timeout, sink.flush()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(End::Gone),
                Err(_) => return Err(self.too_slow()),
            }
        }
        Ok(())
    }

    async fn feed(&self, sink: &mut Sink, frame: &Frame) -> Result<(), End> {
        let bytes = frame.encode();
        Metrics::add(&self.app.metrics.bytes_out, bytes.len() as u64);
        let timeout = self.app.config.limits.send_timeout;
        match tokio::time::timeout(timeout, sink.feed(WsMessage::Binary(bytes.into()))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(self.too_slow()),
        }
    }

    fn too_slow(&self) -> End {
        tracing::info!(conn = self.id, "subscriber too slow; closing so it resyncs");
        self.app.metrics.reject("too_slow");
        End::Close(close::RESYNC, "too slow: reconnect and resync")
    }

    fn error(&mut self, doc: Option<&DocId>, code: ErrorCode, detail: impl Into<String>) {
        self.app.metrics.reject(code.name());
        self.outbox.push(Frame::Error {
            doc: doc.cloned(),
            code,
            detail: detail.into(),
        });
    }

    async fn handle(&mut self, bytes: &[u8]) -> Result<(), End> {
        let frame = match Frame::decode(bytes) {
            Ok(f) => f,
            Err(e) => {
                self.error(None, ErrorCode::Malformed, e.to_string());
                return Err(End::Close(close::PROTOCOL_ERROR, "malformed frame"));
            }
        };
        match frame {
            Frame::Subscribe { doc, token, device } => {
                self.subscribe(doc, &token, device).await;
                Ok(())
            }
            Frame::Unsubscribe { doc } => {
                if self.subs.contains_key(&doc) {
                    self.leave(&doc);
                } else {
                    self.error(Some(&doc), ErrorCode::NotSubscribed, "not subscribed");
                }
                Ok(())
            }
            Frame::Sync { doc, message } => self.sync(&doc, message),
            Frame::Subscribed { .. } | Frame::Error { .. } | Frame::Presence { .. } => {
                self.error(None, ErrorCode::Malformed, "a relay-to-client frame");
                Err(End::Close(close::PROTOCOL_ERROR, "malformed frame"))
            }
        }
    }

    fn authorize(&self, doc: &DocId, token: &str) -> Result<Grant, TokenError> {
        match &self.app.config.auth {
            Auth::Open => Ok(Grant {
                doc: doc.clone(),
                access: Access::ReadWrite,
                expires: u64::MAX,
            }),
            Auth::Secret(secret) => token::verify(secret, token, doc, unix_now()),
        }
    }

    async fn subscribe(&mut self, doc: DocId, token: &str, device: ReplicaId) {
        let grant = match self.authorize(&doc, token) {
            Ok(g) => g,
            Err(e) => {
                let code = match e {
                    TokenError::Expired => ErrorCode::TokenExpired,
                    TokenError::Invalid | TokenError::WrongDocument => ErrorCode::Unauthorized,
                };
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
            self.outbox.push(Frame::Subscribed {
                doc: doc.clone(),
                access,
            });
            self.signal.mark(&doc);
            return;
        }
        if self.subs.len() >= self.app.config.limits.max_docs_per_connection {
            self.error(
                Some(&doc),
                ErrorCode::TooManyDocuments,
                format!(
                    "at most {} documents per connection",
                    self.app.config.limits.max_docs_per_connection
                ),
            );
            return;
        }
        let subscribed = self
            .app
            .hubs
            .subscribe(&doc, self.id, device, Arc::clone(&self.signal))
            .await;
        let Ok(hub) = subscribed else {
            self.error(
                Some(&doc),
                ErrorCode::Internal,
                "the document is unavailable",
            );
            return;
        };
        let access = grant.access;
        let held = Held::new(
            self.app.config.limits.max_pending_per_connection,
            &hub.lock(),
        );
        self.subs.insert(
            doc.clone(),
            Sub {
                hub,
                peer: SyncPeer::new(),
                grant,
                held,
                presence_sent: None,
            },
        );
        self.outbox.push(Frame::Subscribed {
            doc: doc.clone(),
            access,
        });
        self.signal.mark(&doc);
    }

    fn leave(&mut self, doc: &DocId) {
        if let Some(mut sub) = self.subs.remove(doc) {
            sub.held.clear(&mut self.held);
            self.resync_docs.remove(doc);
            self.app.hubs.unsubscribe(&sub.hub, self.id);
        }
    }

    fn leave_all(&mut self) {
        let docs: Vec<DocId> = self.subs.keys().cloned().collect();
        for doc in docs {
            self.leave(&doc);
        }
    }

    /// Ends subscriptions whose token expired; returns whether `doc`'s did.
    fn expire(&mut self, doc: &DocId) -> bool {
        let Some(sub) = self.subs.get(doc) else {
            return false;
        };
        if token::check_expiry(&sub.grant, unix_now()).is_ok() {
            return false;
        }
        self.leave(doc);
        self.error(Some(doc), ErrorCode::TokenExpired, "token expired");
        true
    }

    fn anti_entropy(&mut self) {
        let docs: Vec<DocId> = self.subs.keys().cloned().collect();
        for doc in docs {
            if self.expire(&doc) {
                continue;
            }
            if let Some(sub) = self.subs.get_mut(&doc) {
                sub.peer.request_anti_entropy();
                self.signal.mark(&doc);
            }
        }
    }

    fn sync(&mut self, doc: &DocId, message: Message) -> Result<(), End> {
        if !self.subs.contains_key(doc) {
            self.error(Some(doc), ErrorCode::NotSubscribed, "not subscribed");
            return Ok(());
        }
        if self.expire(doc) {
            return Ok(());
        }
        let Some(sub) = self.subs.get_mut(doc) else {
            return Ok(());
        };
        let is_write = matches!(&message, Message::Changes { changes } if !changes.is_empty());
        if is_write && !sub.grant.access.can_write() {
            self.error(Some(doc), ErrorCode::ReadOnly, "read-only token");
            return Ok(());
        }
        let mut changes = sub.peer.receive(message);
        self.signal.mark(doc);
        if changes.is_empty() {
            return Ok(());
        }
        let now = self.now_secs();
        let granted = self.bucket.take_up_to(changes.len(), now);
        if granted < changes.len() {
            let wanted = changes.len() - granted;
            changes.truncate(granted);
            self.rate_limited(doc, wanted, now)?;
        }
        self.store_changes(doc, changes);
        Ok(())
    }

    /// Drops a batch over the rate; the relay asks for it again (Hello) once
    /// the bucket has refilled. Too many in a short time closes the socket.
    fn rate_limited(&mut self, doc: &DocId, wanted: usize, now: f64) -> Result<(), End> {
        self.error(
            Some(doc),
            ErrorCode::RateLimited,
            format!("{wanted} changes dropped: over the rate limit"),
        );
        let limits = &self.app.config.limits;
        let instant = Instant::now();
        self.violations.push_back(instant);
        while self
            .violations
            .front()
            .is_some_and(|t| instant.duration_since(*t) > limits.abuse_window)
        {
            self.violations.pop_front();
        }
        if self.violations.len() > limits.max_rate_violations as usize {
            self.app.metrics.reject("policy_violation");
            return Err(End::Close(close::POLICY_VIOLATION, "rate limit abused"));
        }
        let wait = self.bucket.wait_for(wanted, now);
        self.resync_after(doc, Duration::from_secs_f64(wait.clamp(0.05, 60.0)));
        Ok(())
    }

    /// Sends `doc`'s Hello (so its client resends what the relay lacks) in
    /// `delay`, or later if a resync is already due later.
    fn resync_after(&mut self, doc: &DocId, delay: Duration) {
        let at = Instant::now() + delay;
        self.resync_at = Some(self.resync_at.map_or(at, |t| t.max(at)));
        self.resync_docs.insert(doc.clone());
    }

    /// Admits `incoming` (and whatever held changes became ready), stores
    /// what is new, and acknowledges once committed.
    fn store_changes(&mut self, doc: &DocId, incoming: Vec<EncodedChange>) {
        let limits = HeldLimits {
            max_changes: self.app.config.limits.max_pending_per_connection,
            max_bytes: self.app.config.limits.max_pending_bytes_per_connection,
        };
        let Some(sub) = self.subs.get_mut(doc) else {
            return;
        };
        let (outcome, commit) = {
            let mut st = sub.hub.lock();
            let mut outcome = admit_all(&mut st, &mut sub.held, &mut self.held, limits, incoming);
            if outcome.batch.is_empty() && outcome.duplicates > 0 {
                // A re-send of what is already stored: acknowledge it again
                // (the first Ack may have been lost).
                self.outbox.push(Frame::Sync {
                    doc: doc.clone(),
                    message: Message::Ack {
                        version: st.version(),
                    },
                });
            }
            let batch = std::mem::take(&mut outcome.batch);
            let commit =
                (!batch.is_empty()).then(|| self.app.hubs.submit(&sub.hub, &mut st, batch));
            (outcome, commit)
        };
        if outcome.overflow {
            // Drop what is held for this document; the relay's Hello makes
            // the client resend from what the relay has, in causal order.
            sub.held.clear(&mut self.held);
            sub.peer.request_anti_entropy();
            self.signal.mark(doc);
            self.error(
                Some(doc),
                ErrorCode::TooManyPending,
                format!(
                    "more than {} changes or {} bytes waiting for their dependencies",
                    limits.max_changes, limits.max_bytes
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
        if let Some(rx) = commit {
            self.commits.push_back((doc.clone(), Instant::now(), rx));
        }
    }
}

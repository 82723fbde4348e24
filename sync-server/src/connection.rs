//! One websocket: moves bytes and time for the relay's core (`relay.rs`),
//! which decides everything else.
//!
//! A single task per connection runs a loop: do what the session says (send
//! frames, ping, join or leave a document's hub, close), then wait for the
//! next incoming frame (only while the session is reading: a write waits
//! for its commit, which is the connection's back-pressure), the result of
//! a commit, a document another connection changed, the session's deadline
//! or shutdown, and hand what came to the session.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use concord_wire::{DocId, Frame, Message, Record, VersionVector, close, frame};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::oneshot;

use crate::error::CommitFailed;
use crate::hub::{ConnId, DocHub, DocState, Hubs, Signal};
use crate::metrics::Metrics;
use crate::relay::{Documents, Effect, Input, Log, Now, Session, Unusable};
use crate::server::AppState;

/// How long the final frames and the close frame may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

type CommitResult = Result<VersionVector, CommitFailed>;

/// What woke the connection loop.
#[derive(Debug)]
enum Event {
    Shutdown,
    Committed(Result<CommitResult, oneshot::error::RecvError>),
    Incoming(Option<Result<WsMessage, axum::Error>>),
    Changed,
    Deadline,
}

/// Why the loop ended.
#[derive(Debug)]
enum End {
    /// Send these frames, encoded (best effort), then close the socket with
    /// this code.
    Close(u16, &'static str, Vec<Vec<u8>>),
    /// The peer is gone (closed, reset): nothing more to send.
    Gone,
}

/// Why a send failed.
enum SendFailed {
    Gone,
    TimedOut,
}

/// The documents this connection joined, as its session reaches them: each
/// hub's state under its lock, and a batch admitted under that lock
/// submitted to the store before it is released.
#[derive(Debug)]
struct Joined {
    hubs: Arc<Hubs>,
    docs: BTreeMap<DocId, Arc<DocHub>>,
    /// Commits in flight, in submission order (they complete in that order),
    /// with the time each was submitted.
    commits: VecDeque<(Instant, oneshot::Receiver<CommitResult>)>,
}

impl Documents for Joined {
    fn read<R>(&self, doc: &DocId, f: impl FnOnce(&DocState) -> R) -> Option<R> {
        let hub = self.docs.get(doc)?;
        Some(f(&hub.lock()))
    }

    fn admit<R>(
        &mut self,
        doc: &DocId,
        f: impl FnOnce(&mut DocState) -> (R, Vec<Record>),
    ) -> Option<R> {
        let hub = self.docs.get(doc)?;
        let mut st = hub.lock();
        let (result, batch) = f(&mut st);
        if !batch.is_empty() {
            let rx = self.hubs.submit(hub, &mut st, batch);
            self.commits.push_back((Instant::now(), rx));
        }
        Some(result)
    }
}

struct Connection {
    id: ConnId,
    app: Arc<AppState>,
    signal: Arc<Signal>,
    session: Session,
    joined: Joined,
    started: Instant,
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
    let started = Instant::now();
    let now = Now {
        elapsed: Duration::ZERO,
        unix_secs: unix_now(),
    };
    let mut conn = Connection {
        id: app.hubs.next_conn_id(),
        signal: Arc::new(Signal::default()),
        session: Session::new(&app.config, now),
        joined: Joined {
            hubs: Arc::clone(&app.hubs),
            docs: BTreeMap::new(),
            commits: VecDeque::new(),
        },
        started,
        app: Arc::clone(&app),
    };
    tracing::debug!(conn = conn.id, "connected");
    let end = conn.serve(&mut sink, &mut stream).await;
    tracing::debug!(conn = conn.id, ?end, "disconnected");
    if let End::Close(code, reason, frames) = end {
        // Best effort: the frames that explain the close, then the close.
        for bytes in frames {
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
    fn now(&self) -> Now {
        Now {
            elapsed: self.started.elapsed(),
            unix_secs: unix_now(),
        }
    }

    fn input(&mut self, input: Input) {
        let now = self.now();
        self.session.handle(input, now, &mut self.joined);
    }

    async fn serve(&mut self, sink: &mut Sink, stream: &mut Stream) -> End {
        let mut shutdown = self.app.shutdown.clone();
        if *shutdown.borrow_and_update() {
            self.input(Input::Shutdown);
            return self.perform(sink).await.err().unwrap_or(End::Gone);
        }
        loop {
            if let Err(end) = self.perform(sink).await {
                return end;
            }
            let deadline = self.session.deadline().map(|d| self.started + d);
            let wake = async move {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let signal = Arc::clone(&self.signal);
            let reading = self.session.reading();
            // While a commit is in flight, read nothing new (back-pressure)
            // but keep sending: other documents' changes, presence, Hellos.
            let mut front = self.joined.commits.pop_front();
            let event = {
                let committed = async {
                    match front.as_mut() {
                        Some((_, rx)) => rx.await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    _ = shutdown.changed() => Event::Shutdown,
                    r = committed => Event::Committed(r),
                    msg = stream.next(), if reading => Event::Incoming(msg),
                    () = signal.notified() => Event::Changed,
                    () = wake => Event::Deadline,
                }
            };
            if let Event::Committed(result) = event {
                if let Some((submitted, _)) = front {
                    self.app.metrics.commit_wait.observe(submitted.elapsed());
                    self.input(Input::Committed(commit_result(result)));
                }
                continue;
            }
            if let Some(f) = front {
                self.joined.commits.push_front(f);
            }
            match event {
                Event::Shutdown => return self.shut_down(sink).await,
                Event::Incoming(msg) => {
                    let binary = matches!(msg, Some(Ok(WsMessage::Binary(_))));
                    let input = match msg {
                        None | Some(Ok(WsMessage::Close(_))) => return End::Gone,
                        Some(Err(e)) => match unusable(e) {
                            Some(why) => Input::Unusable(why),
                            None => return End::Gone,
                        },
                        Some(Ok(WsMessage::Binary(bytes))) => {
                            Metrics::add(&self.app.metrics.bytes_in, bytes.len() as u64);
                            match Frame::decode(&bytes) {
                                Ok(frame) => Input::Frame(frame),
                                Err(e) => match frame::foreign_version(&bytes) {
                                    Some(v) => Input::Unusable(Unusable::Version(v)),
                                    None => Input::Malformed(e),
                                },
                            }
                        }
                        Some(Ok(WsMessage::Text(_))) => Input::Unusable(Unusable::Text),
                        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => Input::Heard,
                    };
                    self.input(input);
                    if binary {
                        // One frame per turn: a connection that sends
                        // without pause lets the others run.
                        tokio::task::yield_now().await;
                    }
                }
                // `perform` takes the documents from the signal.
                Event::Changed | Event::Committed(_) => {}
                Event::Deadline => self.input(Input::Tick),
            }
        }
    }

    /// Acknowledges what the commits in flight stored, sends what is due,
    /// then closes (1001).
    async fn shut_down(&mut self, sink: &mut Sink) -> End {
        while let Some((_, rx)) = self.joined.commits.pop_front() {
            match tokio::time::timeout(CLOSE_TIMEOUT, rx).await {
                Ok(result) => self.input(Input::Committed(commit_result(result))),
                Err(_) => break,
            }
        }
        if let Err(end) = self.perform(sink).await {
            return end;
        }
        self.input(Input::Shutdown);
        self.perform(sink).await.err().unwrap_or(End::Gone)
    }

    /// Does what the session says until it has nothing more to say, taking
    /// in the documents other connections changed meanwhile.
    async fn perform(&mut self, sink: &mut Sink) -> Result<(), End> {
        let mut sent = false;
        loop {
            while let Some(effect) = self.session.poll(&mut self.joined) {
                match effect {
                    Effect::Send(frame) => match self.send(sink, &frame).await {
                        Ok(()) => sent = true,
                        Err(SendFailed::Gone) => return Err(End::Gone),
                        Err(SendFailed::TimedOut) => self.input(Input::SendTimedOut),
                    },
                    Effect::Ping => match self.ping(sink).await {
                        Ok(()) => {}
                        Err(SendFailed::Gone) => return Err(End::Gone),
                        Err(SendFailed::TimedOut) => self.input(Input::SendTimedOut),
                    },
                    Effect::Join { doc, device } => {
                        let signal = Arc::clone(&self.signal);
                        let hubs = &self.app.hubs;
                        let result = match hubs.subscribe(&doc, self.id, device, signal).await {
                            Ok(hub) => {
                                self.joined.docs.insert(doc.clone(), hub);
                                Ok(())
                            }
                            Err(e) => Err(e),
                        };
                        self.input(Input::Joined { doc, result });
                    }
                    Effect::Leave(doc) => {
                        if let Some(hub) = self.joined.docs.remove(&doc) {
                            self.app.hubs.unsubscribe(&hub, self.id);
                        }
                    }
                    Effect::Close {
                        code,
                        reason,
                        frames,
                    } => {
                        let frames = frames.iter().map(Frame::encode).collect();
                        return Err(End::Close(code, reason, frames));
                    }
                    Effect::CloseForeign {
                        version,
                        frame,
                        code,
                        reason,
                    } => return Err(End::Close(code, reason, vec![frame.encode_as(version)])),
                    Effect::Reject(reason) => self.app.metrics.reject(reason),
                    Effect::Log(Log::CommitFailed { doc, error }) => {
                        tracing::warn!(conn = self.id, doc = %doc, error = %error, "commit failed");
                    }
                    Effect::Log(Log::TooSlow) => {
                        tracing::info!(
                            conn = self.id,
                            "subscriber too slow; closing so it resyncs"
                        );
                    }
                }
            }
            let changed = self.signal.take();
            if !changed.is_empty() {
                for doc in changed {
                    self.input(Input::Changed(doc));
                }
                continue;
            }
            if std::mem::take(&mut sent) {
                let timeout = self.app.config.limits.send_timeout;
                match tokio::time::timeout(timeout, sink.flush()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Err(End::Gone),
                    Err(_) => {
                        self.input(Input::SendTimedOut);
                        continue;
                    }
                }
            }
            return Ok(());
        }
    }

    async fn send(&self, sink: &mut Sink, frame: &Frame) -> Result<(), SendFailed> {
        if let Frame::Sync {
            doc,
            message: Message::Records { .. },
        } = frame
            && let Some(hub) = self.joined.docs.get(doc)
            && let Some(at) = hub.lock().last_commit()
        {
            self.app.metrics.fanout_delay.observe(at.elapsed());
        }
        let bytes = frame.encode();
        Metrics::add(&self.app.metrics.bytes_out, bytes.len() as u64);
        let timeout = self.app.config.limits.send_timeout;
        match tokio::time::timeout(timeout, sink.feed(WsMessage::Binary(bytes.into()))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(SendFailed::Gone),
            Err(_) => Err(SendFailed::TimedOut),
        }
    }

    /// Something to answer even without subscriptions: a live client's
    /// websocket library sends a Pong, which keeps the idle timeout away.
    async fn ping(&self, sink: &mut Sink) -> Result<(), SendFailed> {
        let timeout = self.app.config.limits.send_timeout;
        let ping = sink.send(WsMessage::Ping(Vec::new().into()));
        match tokio::time::timeout(timeout, ping).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(SendFailed::Gone),
            Err(_) => Err(SendFailed::TimedOut),
        }
    }

    fn leave_all(&mut self) {
        for hub in std::mem::take(&mut self.joined.docs).into_values() {
            self.app.hubs.unsubscribe(&hub, self.id);
        }
    }
}

/// A commit's reply; a dropped one means the store closed without it.
fn commit_result(result: Result<CommitResult, oneshot::error::RecvError>) -> CommitResult {
    result.unwrap_or_else(|_| Err(CommitFailed("the store closed".into())))
}

/// A read error that is the client's fault; `None` if the socket just broke.
fn unusable(e: axum::Error) -> Option<Unusable> {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match e.into_inner().downcast::<WsError>() {
        Ok(err) if matches!(*err, WsError::Capacity(_)) => Some(Unusable::TooBig),
        Ok(err) if matches!(*err, WsError::Protocol(_) | WsError::Utf8(_)) => {
            Some(Unusable::Protocol)
        }
        _ => None,
    }
}

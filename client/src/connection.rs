//! The connection task: opens the websocket, moves frames between it and the
//! engine, repeats the version exchange on a timer, notices stalls, and
//! reconnects with backoff. It only moves bytes; the protocol is the core's
//! `ClientSession` inside the engine.

use std::sync::Arc;
use std::time::Duration;

use concord_wire::Frame;
use concord_wire::close;
use futures_util::{SinkExt, StreamExt};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::net::TcpStream;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::backoff::Backoff;
use crate::client::Shared;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Frames taken from the engine per lock; more wait for the next turn so
/// incoming messages are not starved.
const FRAMES_PER_TURN: usize = 64;

/// Why a connection ended.
#[derive(Debug)]
enum Ended {
    Shutdown,
    WentOffline,
    /// Lost, closed by the relay, or given up: reconnect after a backoff.
    /// `worked`: the relay spoke and did not close for our misbehaviour, so
    /// the backoff starts over.
    Lost {
        why: String,
        worked: bool,
    },
}

pub(crate) async fn run(shared: Arc<Shared>) {
    let config = &shared.config;
    let rng = StdRng::from_rng(&mut rand::rng());
    let mut backoff = Backoff::new(config.backoff_base, config.backoff_max, rng);
    loop {
        // Wait until we should be online.
        loop {
            {
                let mut engine = shared.lock();
                if engine.shutdown {
                    return;
                }
                if engine.online {
                    engine.connecting(Instant::now());
                    break;
                }
                engine.disconnected(Instant::now());
            }
            shared.wake.notified().await;
        }
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(config.max_message_bytes))
            .max_frame_size(Some(config.max_message_bytes));
        let connect = tokio::time::timeout(
            config.connect_timeout,
            tokio_tungstenite::connect_async_with_config(
                config.relay_url.as_str(),
                Some(ws_config),
                true,
            ),
        );
        let attempt = tokio::select! {
            attempt = connect => attempt,
            // Shut down or set offline meanwhile: the loop's top decides.
            () = until_stopped(&shared) => continue,
        };
        let ended = match attempt {
            Ok(Ok((socket, _response))) => drive(&shared, socket).await,
            Ok(Err(e)) => lost(format!("connect: {e}")),
            Err(_) => lost("connect: timed out".into()),
        };
        shared.lock().disconnected(Instant::now());
        match ended {
            Ended::Shutdown => return,
            Ended::WentOffline => {}
            Ended::Lost { why, worked } => {
                if worked {
                    backoff.reset();
                }
                let delay = backoff.next_delay();
                tracing::info!(%why, ?delay, attempt = backoff.attempt(), "connection lost; retrying");
                if wait_out(&shared, delay).await {
                    return;
                }
            }
        }
    }
}

/// Sleeps `delay`, waking early only to shut down or go offline. Returns
/// whether to shut down.
async fn wait_out(shared: &Shared, delay: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        () = until_stopped(shared) => shared.lock().shutdown,
    }
}

/// Returns once the client is shut down or set offline. (Other wake-ups,
/// for frames to send, are swallowed: a new connection sends everything.)
async fn until_stopped(shared: &Shared) {
    loop {
        shared.wake.notified().await;
        let engine = shared.lock();
        if engine.shutdown || !engine.online {
            return;
        }
    }
}

/// One live connection, until it ends.
async fn drive(shared: &Shared, socket: Socket) -> Ended {
    let config = &shared.config;
    let (mut sink, mut stream) = socket.split();
    // Set offline (or shut down) while the connection was opening?
    let (shutdown, online) = {
        let mut engine = shared.lock();
        if !engine.shutdown && engine.online {
            engine.connected(Instant::now());
        }
        (engine.shutdown, engine.online)
    };
    if shutdown || !online {
        let _ = sink.send(close_message(close::NORMAL, "")).await;
        return if shutdown {
            Ended::Shutdown
        } else {
            Ended::WentOffline
        };
    }
    let mut last_inbound = Instant::now();
    let mut heard = false;
    let gone = |why: String, heard: bool| Ended::Lost { why, worked: heard };
    let period = config.anti_entropy_interval;
    let mut timer = tokio::time::interval_at(Instant::now() + period, period);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        if let Err(e) = flush(shared, &mut sink).await {
            return gone(format!("send: {e}"), heard);
        }
        tokio::select! {
            msg = stream.next() => {
                let msg = match msg {
                    None => return gone("closed without a close frame".into(), heard),
                    Some(Err(e)) => return gone(format!("receive: {e}"), heard),
                    Some(Ok(msg)) => msg,
                };
                last_inbound = Instant::now();
                match msg {
                    Message::Binary(bytes) => match Frame::decode(&bytes) {
                        Ok(frame) => {
                            heard = true;
                            shared.lock().receive(frame, Instant::now());
                        }
                        Err(e) => {
                            let _ = sink.send(close_message(close::PROTOCOL_ERROR, "bad frame")).await;
                            return gone(format!("undecodable frame from the relay: {e}"), false);
                        }
                    },
                    Message::Close(frame) => {
                        let (code, reason) = frame.map_or((0, String::new()), |f| {
                            (u16::from(f.code), f.reason.to_string())
                        });
                        // Closed for something we did: do not hurry back.
                        let ours = matches!(
                            code,
                            close::PROTOCOL_ERROR
                                | close::UNSUPPORTED_DATA
                                | close::POLICY_VIOLATION
                                | close::MESSAGE_TOO_BIG
                                | close::TRY_AGAIN_LATER
                        );
                        return gone(format!("closed by the relay: {code} {reason}"), heard && !ours);
                    }
                    Message::Text(_) => {
                        let _ = sink.send(close_message(close::UNSUPPORTED_DATA, "binary frames only")).await;
                        return gone("text message from the relay".into(), false);
                    }
                    // Pings are answered by tungstenite on the next write;
                    // any of these shows the connection is alive.
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                }
            }
            () = shared.wake.notified() => {
                let (shutdown, online) = {
                    let engine = shared.lock();
                    (engine.shutdown, engine.online)
                };
                if shutdown || !online {
                    let code = if shutdown { close::GOING_AWAY } else { close::NORMAL };
                    let _ = sink.send(close_message(code, "")).await;
                    let _ = sink.close().await;
                    return if shutdown { Ended::Shutdown } else { Ended::WentOffline };
                }
            }
            _ = timer.tick() => {
                let now = Instant::now();
                let stalled = {
                    let mut engine = shared.lock();
                    engine.anti_entropy(now);
                    engine.stalled(now, config.stall_timeout)
                };
                if let Some(doc) = stalled {
                    return gone(format!("document {doc} stalled"), heard);
                }
                if now.duration_since(last_inbound) > config.stall_timeout {
                    return gone("the relay went silent".into(), false);
                }
                if let Err(e) = sink.send(Message::Ping(Vec::new().into())).await {
                    return gone(format!("send: {e}"), heard);
                }
            }
        }
    }
}

/// Sends everything the engine has to send.
async fn flush<S>(shared: &Shared, sink: &mut S) -> Result<(), S::Error>
where
    S: futures_util::Sink<Message> + Unpin,
{
    loop {
        let frames = shared.lock().poll_frames(FRAMES_PER_TURN);
        if frames.is_empty() {
            return Ok(());
        }
        let full = frames.len() == FRAMES_PER_TURN;
        for frame in frames {
            sink.feed(Message::Binary(frame.encode().into())).await?;
        }
        sink.flush().await?;
        if full {
            // Let incoming messages in before sending more.
            shared.wake.notify_one();
            return Ok(());
        }
    }
}

fn lost(why: String) -> Ended {
    Ended::Lost { why, worked: false }
}

fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }))
}

#[cfg(test)]
mod tests {
    //! The connection task against a scripted websocket server: close codes,
    //! garbage, going offline, shutting down.

    use std::time::Duration;

    use concord_core::ReplicaId;
    use concord_wire::close;
    use concord_wire::{DocId, Frame};
    use futures_util::{SinkExt, StreamExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::Message;

    use super::close_message;
    use crate::{Client, Config, ConnectionStatus, MemoryStore};

    type ServerSocket = WebSocketStream<TcpStream>;

    /// Accepts websockets and hands each to the test.
    async fn server() -> (String, mpsc::Receiver<ServerSocket>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/v1/sync", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                    let _ = tx.send(ws).await;
                }
            }
        });
        (url, rx)
    }

    fn client(url: &str) -> Client {
        let mut config = Config::new(url, ReplicaId(1));
        config.backoff_base = Duration::from_millis(10);
        config.backoff_max = Duration::from_millis(100);
        config.anti_entropy_interval = Duration::from_millis(100);
        config.stall_timeout = Duration::from_secs(30);
        let client = Client::start(
            config,
            MemoryStore::new(),
            &tokio::runtime::Handle::current(),
        )
        .unwrap();
        client.open(DocId::new("d").unwrap(), "t").unwrap();
        client
    }

    async fn next_socket(rx: &mut mpsc::Receiver<ServerSocket>) -> ServerSocket {
        tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the client connects")
            .unwrap()
    }

    /// The next data frame the client sends, skipping pings.
    async fn next_frame(ws: &mut ServerSocket) -> Frame {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(30), ws.next())
                .await
                .expect("a message")
                .unwrap()
                .unwrap();
            if let Message::Binary(b) = msg {
                return Frame::decode(&b).unwrap();
            }
        }
    }

    /// The close code the client sends next.
    async fn close_code(ws: &mut ServerSocket) -> Option<u16> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(30), ws.next())
                .await
                .expect("a message");
            match msg {
                Some(Ok(Message::Close(f))) => return f.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                _ => return None,
            }
        }
    }

    #[tokio::test]
    async fn a_resync_close_is_followed_by_a_new_connection() {
        let (url, mut sockets) = server().await;
        let client = client(&url);
        let mut first = next_socket(&mut sockets).await;
        assert!(matches!(
            next_frame(&mut first).await,
            Frame::Subscribe { .. }
        ));
        first
            .send(close_message(close::RESYNC, "too slow"))
            .await
            .unwrap();
        let mut second = next_socket(&mut sockets).await;
        assert!(
            matches!(next_frame(&mut second).await, Frame::Subscribe { .. }),
            "subscribes again on the new connection"
        );
        client.shutdown().await;
    }

    #[tokio::test]
    async fn garbage_from_the_relay_is_a_protocol_error_and_the_client_comes_back() {
        let (url, mut sockets) = server().await;
        let client = client(&url);
        let mut first = next_socket(&mut sockets).await;
        first
            .send(Message::Binary(vec![0xde, 0xad].into()))
            .await
            .unwrap();
        assert_eq!(close_code(&mut first).await, Some(close::PROTOCOL_ERROR));
        let mut second = next_socket(&mut sockets).await;
        second.send(Message::Text("hello".into())).await.unwrap();
        assert_eq!(close_code(&mut second).await, Some(close::UNSUPPORTED_DATA));
        next_socket(&mut sockets).await;
        client.shutdown().await;
    }

    #[tokio::test]
    async fn going_offline_closes_normally_and_shutdown_says_going_away() {
        let (url, mut sockets) = server().await;
        let client = client(&url);
        let mut first = next_socket(&mut sockets).await;
        next_frame(&mut first).await; // connected: it subscribes
        client.set_online(false);
        assert_eq!(close_code(&mut first).await, Some(close::NORMAL));
        assert_eq!(client.connection(), ConnectionStatus::Offline);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), sockets.recv())
                .await
                .is_err(),
            "offline stays offline"
        );
        client.set_online(true);
        let mut second = next_socket(&mut sockets).await;
        next_frame(&mut second).await;
        client.shutdown().await;
        assert_eq!(close_code(&mut second).await, Some(close::GOING_AWAY));
    }
}

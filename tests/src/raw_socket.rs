//! A bare websocket speaking relay frames, for tests that poke the relay
//! directly (bad tokens, malformed input, limits) without a client library.
//! Every wait has a deadline (`DEADLINE`), so a wrong relay fails the test
//! instead of hanging it.

use std::time::Duration;

use anyhow::{Context, bail};
use concord_core::{Document, EncodedChange, ObjId, ReplicaId, VersionVector};
use concord_wire::{Access, DocId, ErrorCode, Frame, Message, Record};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// How long any single wait may take (generous: loaded CI machines).
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The relay answered with an Error frame with this code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub ErrorCode);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused: {}", self.0)
    }
}

impl std::error::Error for Refused {}

/// What arrived on the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Frame(Frame),
    /// The relay closed the socket with this code (None: no close frame).
    Closed(Option<u16>),
}

/// A raw websocket to a relay.
#[derive(Debug)]
pub struct RawSocket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl RawSocket {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let (ws, _) = tokio::time::timeout(DEADLINE, connect_async(url))
            .await
            .context("connect timed out")??;
        Ok(RawSocket { ws })
    }

    pub async fn send(&mut self, frame: &Frame) -> anyhow::Result<()> {
        self.send_bytes(frame.encode()).await
    }

    pub async fn send_bytes(&mut self, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.ws.send(WsMessage::Binary(bytes.into())).await?;
        Ok(())
    }

    pub async fn send_text(&mut self, text: &str) -> anyhow::Result<()> {
        self.ws.send(WsMessage::Text(text.into())).await?;
        Ok(())
    }

    pub async fn close(mut self) {
        let _ = self
            .ws
            .close(Some(CloseFrame {
                code: 1000.into(),
                reason: "bye".into(),
            }))
            .await;
    }

    /// The next frame or the close.
    pub async fn recv(&mut self) -> anyhow::Result<Received> {
        loop {
            let msg = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .context("nothing received before the deadline")?;
            match msg {
                None | Some(Err(_)) => return Ok(Received::Closed(None)),
                Some(Ok(WsMessage::Binary(b))) => {
                    return Ok(Received::Frame(
                        Frame::decode(&b).context("the relay sent an undecodable frame")?,
                    ));
                }
                Some(Ok(WsMessage::Close(c))) => {
                    return Ok(Received::Closed(c.map(|c| u16::from(c.code))));
                }
                Some(Ok(WsMessage::Text(_))) => bail!("the relay sent a text frame"),
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next binary message as bytes, undecoded (what a client of
    /// another protocol version would read), or the close.
    pub async fn recv_bytes(&mut self) -> anyhow::Result<Result<Vec<u8>, Option<u16>>> {
        loop {
            let msg = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .context("nothing received before the deadline")?;
            match msg {
                None | Some(Err(_)) => return Ok(Err(None)),
                Some(Ok(WsMessage::Binary(b))) => return Ok(Ok(b.to_vec())),
                Some(Ok(WsMessage::Close(c))) => return Ok(Err(c.map(|c| u16::from(c.code)))),
                Some(Ok(WsMessage::Text(_))) => bail!("the relay sent a text frame"),
                Some(Ok(_)) => {}
            }
        }
    }

    /// Frames until one matches `want` (others are skipped); an error if the
    /// socket closes first.
    pub async fn recv_until(&mut self, want: impl Fn(&Frame) -> bool) -> anyhow::Result<Frame> {
        loop {
            match self.recv().await? {
                Received::Frame(f) if want(&f) => return Ok(f),
                Received::Frame(_) => {}
                Received::Closed(code) => bail!("closed ({code:?}) while waiting"),
            }
        }
    }

    /// The next Error frame (others skipped): (doc, code).
    pub async fn recv_error(&mut self) -> anyhow::Result<(Option<DocId>, ErrorCode)> {
        match self
            .recv_until(|f| matches!(f, Frame::Error { .. }))
            .await?
        {
            Frame::Error { doc, code, .. } => Ok((doc, code)),
            _ => unreachable!("filtered"),
        }
    }

    /// Reads until the relay closes; its close code.
    pub async fn recv_close(&mut self) -> anyhow::Result<Option<u16>> {
        loop {
            if let Received::Closed(code) = self.recv().await? {
                return Ok(code);
            }
        }
    }

    /// Subscribes and waits for the answer: the access granted, or the error.
    pub async fn subscribe(
        &mut self,
        doc: &DocId,
        token: &str,
        device: ReplicaId,
    ) -> anyhow::Result<Result<Access, Refused>> {
        self.send(&Frame::Subscribe {
            doc: doc.clone(),
            token: token.to_owned(),
            device,
        })
        .await?;
        let f = self
            .recv_until(|f| {
                matches!(f, Frame::Subscribed { doc: d, .. } | Frame::Error { doc: Some(d), .. } if d == doc)
            })
            .await?;
        Ok(match f {
            Frame::Subscribed { access, .. } => Ok(access),
            Frame::Error { code, .. } => Err(Refused(code)),
            _ => unreachable!("filtered"),
        })
    }

    /// Sends `changes` of `doc` and waits for an Ack covering all of them,
    /// or an Error about `doc`: the relay's acknowledged version, or the code.
    pub async fn upload(
        &mut self,
        doc: &DocId,
        changes: &[EncodedChange],
    ) -> anyhow::Result<Result<VersionVector, Refused>> {
        self.send(&Frame::Sync {
            doc: doc.clone(),
            message: Message::Records {
                records: changes.iter().cloned().map(Record::from).collect(),
            },
        })
        .await?;
        let mut want = VersionVector::new();
        for c in changes {
            want.observe(c.id().replica, c.id().seq);
        }
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if tokio::time::Instant::now() > deadline {
                bail!("no Ack covering the upload before the deadline");
            }
            match self.recv().await? {
                Received::Frame(Frame::Sync {
                    doc: d,
                    message: Message::Ack { version },
                }) if d == *doc => {
                    if want.count_missing_from(&version) == 0 {
                        return Ok(Ok(version));
                    }
                }
                Received::Frame(Frame::Error {
                    doc: Some(d), code, ..
                }) if d == *doc => return Ok(Err(Refused(code))),
                Received::Frame(_) => {}
                Received::Closed(code) => bail!("closed ({code:?}) during upload"),
            }
        }
    }

    /// After a successful subscribe: asks for everything (Hello with an
    /// empty version) and collects changes until it has the relay's version.
    /// For changes uploaded one by one, which the relay serves as they came
    /// (it joins only run records): a run record is an error here.
    pub async fn download(&mut self, doc: &DocId) -> anyhow::Result<Vec<EncodedChange>> {
        self.download_records(doc)
            .await?
            .into_iter()
            .map(|r| match r {
                Record::Change(c) => Ok(c),
                Record::Run(run) => bail!(
                    "a run record ({}..={}) where single changes were expected",
                    run.first_seq(),
                    run.last_seq()
                ),
            })
            .collect()
    }

    /// `download`, as the relay sends it: records (single changes and runs).
    pub async fn download_records(&mut self, doc: &DocId) -> anyhow::Result<Vec<Record>> {
        let hello = self
            .recv_until(
                |f| matches!(f, Frame::Sync { doc: d, message: Message::Hello { .. } } if d == doc),
            )
            .await?;
        let Frame::Sync {
            message: Message::Hello {
                version: relay_version,
            },
            ..
        } = hello
        else {
            unreachable!("filtered")
        };
        self.send(&Frame::Sync {
            doc: doc.clone(),
            message: Message::Hello {
                version: VersionVector::new(),
            },
        })
        .await?;
        let mut got = Vec::new();
        let mut have = VersionVector::new();
        while relay_version.count_missing_from(&have) > 0 {
            if let Frame::Sync {
                message: Message::Records { records },
                ..
            } = self
                .recv_until(|f| {
                    matches!(f, Frame::Sync { doc: d, message: Message::Records { .. } } if d == doc)
                })
                .await?
            {
                for r in records {
                    have.observe(r.replica(), r.last_seq());
                    got.push(r);
                }
            }
        }
        Ok(got)
    }
}

/// Single changes as the records a `Records` message carries.
pub fn records(changes: impl IntoIterator<Item = EncodedChange>) -> Vec<Record> {
    changes.into_iter().map(Record::from).collect()
}

/// `n` changes by `replica`, each setting key "k" of the root map.
pub fn changes(replica: u128, n: usize) -> Vec<EncodedChange> {
    let mut doc = Document::new(ReplicaId(replica));
    (0..n)
        .map(|i| {
            let mut tx = doc.transaction();
            tx.put(ObjId::Root, "k", i64::try_from(i).unwrap_or(i64::MAX))
                .expect("a put on the root map");
            tx.commit().expect("a change")
        })
        .collect()
}

/// A document id.
pub fn doc(id: &str) -> DocId {
    DocId::new(id).expect("a valid document id")
}

/// `GET path` over plain HTTP/1.0: (status, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let (status, _, body) = http_get_with_head(addr, path).await?;
    Ok((status, body))
}

/// `GET path` over plain HTTP/1.0: (status, head (status line and headers), body).
pub async fn http_get_with_head(
    addr: std::net::SocketAddr,
    path: &str,
) -> anyhow::Result<(u16, String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::time::timeout(DEADLINE, TcpStream::connect(addr)).await??;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: relay\r\n\r\n").as_bytes())
        .await?;
    let mut buf = Vec::new();
    tokio::time::timeout(DEADLINE, s.read_to_end(&mut buf)).await??;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Ok((status, head.to_owned(), body.to_owned()))
}

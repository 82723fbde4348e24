//! Malformed input from raw sockets: each item of a corpus gets its clear
//! error or close code, the relay keeps serving another client, and the
//! stored data is intact (read back live and after a restart). Also the
//! store's rules: equivocation refused, re-sends idempotent, changes with a
//! missing dependency held until it arrives.

use std::path::Path;
use std::time::Duration;

use concord_core::{Document, ObjId, ReplicaId};
use concord_e2e::raw_socket::{RawSocket, Received, Refused, changes, doc, records};
use concord_e2e::relay_process::{RelayProcess, mint_token};
use concord_wire::close;
use concord_wire::{Access, ErrorCode, Frame, Message};

const HOUR: Duration = Duration::from_hours(1);

fn start(dir: &Path) -> RelayProcess {
    RelayProcess::start(Path::new(env!("CARGO_BIN_EXE_relay-under-test")), dir, &[])
        .expect("relay starts")
}

fn uvarint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn bytes_field(out: &mut Vec<u8>, b: &[u8]) {
    uvarint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A Sync frame for `doc` carrying a Records message whose single change is
/// `change` (any bytes).
fn sync_with_raw_change(doc: &str, change: &[u8]) -> Vec<u8> {
    let mut msg = b"CS\x02\x02".to_vec();
    uvarint(&mut msg, 1);
    bytes_field(&mut msg, change);
    let mut f = b"CF\x02\x03".to_vec();
    bytes_field(&mut f, doc.as_bytes());
    bytes_field(&mut f, &msg);
    f
}

/// Inputs that are not valid frames: each must get Error Malformed (for the
/// connection) and close 1002.
fn malformed_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let subscribe = Frame::Subscribe {
        doc: doc("notes"),
        token: "t".into(),
        device: ReplicaId(1),
    }
    .encode();
    let good_change = changes(5, 1)[0].bytes().to_vec();
    let mut corrupt_change = good_change.clone();
    corrupt_change.truncate(corrupt_change.len() - 1);
    let mut wrong_change_magic = good_change.clone();
    wrong_change_magic[0] = b'X';
    let mut huge = b"CF\x02\x01".to_vec();
    uvarint(&mut huge, 250_000_000);
    huge.extend_from_slice(b"abc");
    vec![
        ("empty message", Vec::new()),
        ("garbage bytes", b"\x00\xffhello relay\x13\x37".to_vec()),
        ("wrong magic", b"XX\x01\x02\x01a".to_vec()),
        ("unknown tag", b"CF\x02\x63\x01a".to_vec()),
        (
            "truncated subscribe",
            subscribe[..subscribe.len() - 3].to_vec(),
        ),
        (
            "trailing bytes",
            [subscribe.clone(), b"x".to_vec()].concat(),
        ),
        ("huge declared length", huge),
        ("bad document id", b"CF\x02\x02\x03a b".to_vec()),
        (
            "corrupt change bytes",
            sync_with_raw_change("notes", &corrupt_change),
        ),
        (
            "change with wrong magic",
            sync_with_raw_change("notes", &wrong_change_magic),
        ),
        (
            "change that is garbage",
            sync_with_raw_change("notes", b"\xff\xff\xff"),
        ),
        (
            "relay-to-client frame",
            Frame::Subscribed {
                doc: doc("notes"),
                access: Access::ReadWrite,
            }
            .encode(),
        ),
    ]
}

#[tokio::test]
async fn malformed_input_gets_clear_codes_and_harms_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut relay = start(dir.path());
    let d = doc("notes");
    let rw = mint_token("notes", Access::ReadWrite, HOUR);

    let mut bystander = RawSocket::connect(&relay.url()).await?;
    bystander.subscribe(&d, &rw, ReplicaId(1)).await??;
    let stored = changes(1, 20);
    bystander.upload(&d, &stored[..10]).await??;

    for (what, bytes) in malformed_corpus() {
        let mut bad = RawSocket::connect(&relay.url()).await?;
        // Some inputs are sent after a valid subscription, some before.
        if what.contains("change") {
            bad.subscribe(&d, &rw, ReplicaId(7)).await??;
        }
        bad.send_bytes(bytes).await?;
        let mut saw_error = false;
        let code = loop {
            match bad.recv().await? {
                Received::Frame(Frame::Error {
                    doc: None, code, ..
                }) => {
                    assert_eq!(code, ErrorCode::Malformed, "{what}");
                    saw_error = true;
                }
                Received::Frame(_) => {}
                Received::Closed(code) => break code,
            }
        };
        assert!(saw_error, "{what}: an Error frame before the close");
        assert_eq!(code, Some(close::PROTOCOL_ERROR), "{what}");
    }

    // A text message: close 1003.
    let mut text = RawSocket::connect(&relay.url()).await?;
    text.send_text("{\"hello\": \"relay\"}").await?;
    assert_eq!(text.recv_close().await?, Some(close::UNSUPPORTED_DATA));

    // Over the message size limit (default 1 MiB): close 1009.
    let mut big = RawSocket::connect(&relay.url()).await?;
    let _ = big.send_bytes(vec![0u8; (1 << 20) + 1]).await;
    assert_eq!(big.recv_close().await?, Some(close::MESSAGE_TOO_BIG));

    // Sync for a document not subscribed: an error, the connection stays.
    let mut stray = RawSocket::connect(&relay.url()).await?;
    stray
        .send(&Frame::Sync {
            doc: doc("elsewhere"),
            message: Message::Records {
                records: records(changes(3, 1)),
            },
        })
        .await?;
    assert_eq!(
        stray.recv_error().await?,
        (Some(doc("elsewhere")), ErrorCode::NotSubscribed)
    );
    stray
        .send(&Frame::Unsubscribe {
            doc: doc("elsewhere"),
        })
        .await?;
    assert_eq!(
        stray.recv_error().await?,
        (Some(doc("elsewhere")), ErrorCode::NotSubscribed)
    );
    // An unknown document is simply empty.
    let unknown = doc("never-written");
    let tok = mint_token("never-written", Access::ReadWrite, HOUR);
    assert_eq!(
        stray.subscribe(&unknown, &tok, ReplicaId(3)).await?,
        Ok(Access::ReadWrite)
    );
    assert!(stray.download(&unknown).await?.is_empty());

    // The bystander kept working through all of it.
    bystander.upload(&d, &stored[10..]).await??;

    // The data is intact: live, and after a restart on the same data.
    let mut fresh = RawSocket::connect(&relay.url()).await?;
    fresh.subscribe(&d, &rw, ReplicaId(2)).await??;
    assert_eq!(fresh.download(&d).await?, stored);
    relay.kill();
    relay.restart_same_port()?;
    let mut after = RawSocket::connect(&relay.url()).await?;
    after.subscribe(&d, &rw, ReplicaId(2)).await??;
    assert_eq!(after.download(&d).await?, stored);
    Ok(())
}

#[tokio::test]
async fn equivocation_is_refused_and_resends_are_idempotent() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path());
    let d = doc("log");
    let rw = mint_token("log", Access::ReadWrite, HOUR);
    let mut c = RawSocket::connect(&relay.url()).await?;
    c.subscribe(&d, &rw, ReplicaId(1)).await??;

    let original = changes(1, 2);
    c.upload(&d, &original).await??;
    // The same changes again: acknowledged, stored once.
    c.upload(&d, &original).await??;
    c.upload(&d, &original[1..]).await??;

    // Same ids, other content: a second document on the same replica id.
    let mut liar = Document::new(ReplicaId(1));
    let mut tx = liar.transaction();
    tx.put(ObjId::Root, "k", "something else")?;
    let forged = tx.commit().expect("a change");
    assert_eq!(forged.id(), original[0].id());
    assert_ne!(forged.bytes(), original[0].bytes());
    assert_eq!(
        c.upload(&d, std::slice::from_ref(&forged)).await?,
        Err(Refused(ErrorCode::Equivocation))
    );

    let mut fresh = RawSocket::connect(&relay.url()).await?;
    fresh.subscribe(&d, &rw, ReplicaId(2)).await??;
    assert_eq!(fresh.download(&d).await?, original);
    Ok(())
}

#[tokio::test]
async fn a_change_waits_for_its_missing_dependency() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path());
    let d = doc("causal");
    let rw = mint_token("causal", Access::ReadWrite, HOUR);
    let all = changes(1, 3);

    let mut writer = RawSocket::connect(&relay.url()).await?;
    writer.subscribe(&d, &rw, ReplicaId(1)).await??;
    // seq 2 and 3 first: held, not stored, not acknowledged.
    writer
        .send(&Frame::Sync {
            doc: d.clone(),
            message: Message::Records {
                records: records(all[1..].to_vec()),
            },
        })
        .await?;
    let mut observer = RawSocket::connect(&relay.url()).await?;
    observer.subscribe(&d, &rw, ReplicaId(2)).await??;
    assert!(
        observer.download(&d).await?.is_empty(),
        "nothing stored while seq 1 is missing"
    );

    // seq 1 arrives: all three are stored, in causal order, and acknowledged.
    let acked = writer.upload(&d, &all[..1]).await??;
    assert_eq!(acked.get(ReplicaId(1)), 3);
    let mut fresh = RawSocket::connect(&relay.url()).await?;
    fresh.subscribe(&d, &rw, ReplicaId(3)).await??;
    assert_eq!(fresh.download(&d).await?, all);
    // And the observer got them live.
    let mut seen = 0;
    while seen < 3 {
        if let Frame::Sync {
            message: Message::Records { records },
            ..
        } = observer
            .recv_until(|f| {
                matches!(
                    f,
                    Frame::Sync {
                        message: Message::Records { .. },
                        ..
                    }
                )
            })
            .await?
        {
            seen += records.iter().map(concord_wire::Record::count).sum::<u64>();
        }
    }
    Ok(())
}

/// A client of protocol 1 (frames "CF" 0x01) is told why it is refused in
/// a frame it can read, an Error of its own version with the code
/// UnsupportedVersion and a detail for its log, and closed with 4001; the
/// relay goes on serving everyone else.
#[tokio::test]
async fn a_client_of_protocol_1_gets_a_clear_error_and_close_code() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path());
    let d = doc("notes");
    let rw = mint_token("notes", Access::ReadWrite, HOUR);
    let mut current = RawSocket::connect(&relay.url()).await?;
    current.subscribe(&d, &rw, ReplicaId(1)).await??;

    let mut old = RawSocket::connect(&relay.url()).await?;
    // A version 1 Subscribe, byte for byte as a v1 client writes it.
    let mut subscribe = b"CF\x01\x01\x05notes".to_vec();
    subscribe.push(u8::try_from(rw.len())?);
    subscribe.extend_from_slice(rw.as_bytes());
    subscribe.extend_from_slice(&ReplicaId(2).to_bytes());
    old.send_bytes(subscribe).await?;
    let refusal = old
        .recv_bytes()
        .await?
        .map_err(|code| anyhow::anyhow!("closed ({code:?}) without a word"))?;
    // "CF" 1, Error (tag 5), no document, code 13, then the detail.
    assert_eq!(&refusal[..6], b"CF\x01\x05\x00\x0d", "{refusal:?}");
    let detail = String::from_utf8(refusal[7..].to_vec())?;
    assert_eq!(usize::from(refusal[6]), detail.len());
    assert!(
        detail.contains("version 2") && detail.contains("update"),
        "{detail}"
    );
    assert_eq!(
        old.recv_bytes().await?,
        Err(Some(close::UNSUPPORTED_VERSION))
    );

    // A version from the future is answered in ours.
    let mut newer = RawSocket::connect(&relay.url()).await?;
    newer.send_bytes(b"CF\x09\x02\x01a".to_vec()).await?;
    assert_eq!(
        newer.recv_error().await?,
        (None, ErrorCode::UnsupportedVersion)
    );
    assert_eq!(newer.recv_close().await?, Some(close::UNSUPPORTED_VERSION));

    // Everyone else is served as before.
    let mine = changes(1, 3);
    current.upload(&d, &mine).await??;
    Ok(())
}

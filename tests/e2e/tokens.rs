//! Access tokens seen from raw sockets: wrong, forged, other-document,
//! expired and read-only tokens are refused on subscribe or on write, while
//! another connection on the same relay keeps working.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use concord_core::ReplicaId;
use concord_e2e::raw_socket::{RawSocket, Refused, changes, doc, records};
use concord_e2e::relay_process::{RelayProcess, mint_token};
use concord_relay::token::{self, Secret};
use concord_wire::{Access, ErrorCode, Frame, Message};

const HOUR: Duration = Duration::from_hours(1);

fn start(dir: &Path) -> RelayProcess {
    RelayProcess::start(Path::new(env!("CARGO_BIN_EXE_relay-under-test")), dir, &[])
        .expect("relay starts")
}

#[tokio::test]
async fn bad_tokens_are_refused_on_subscribe_and_others_keep_working() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path());
    let d = doc("notes");

    // A well-behaved client, connected throughout.
    let mut good = RawSocket::connect(&relay.url()).await?;
    let rw = mint_token("notes", Access::ReadWrite, HOUR);
    assert_eq!(
        good.subscribe(&d, &rw, ReplicaId(1)).await?,
        Ok(Access::ReadWrite)
    );

    let other_secret = Secret::new(vec![b'x'; 40])?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let cases = [
        ("garbage", "not a token".to_owned(), ErrorCode::Unauthorized),
        ("empty", String::new(), ErrorCode::Unauthorized),
        (
            "forged (another secret)",
            token::mint(&other_secret, &d, Access::ReadWrite, now + 3600),
            ErrorCode::Unauthorized,
        ),
        (
            "another document",
            mint_token("other", Access::ReadWrite, HOUR),
            ErrorCode::Unauthorized,
        ),
        (
            "expired",
            mint_token("notes", Access::ReadWrite, Duration::ZERO),
            ErrorCode::TokenExpired,
        ),
    ];
    let all = changes(1, 2);
    for (i, (what, tok, code)) in cases.into_iter().enumerate() {
        let mut bad = RawSocket::connect(&relay.url()).await?;
        assert_eq!(
            bad.subscribe(&d, &tok, ReplicaId(9)).await?,
            Err(Refused(code)),
            "{what}"
        );
        // Refused means not subscribed: a write is refused too.
        bad.send(&Frame::Sync {
            doc: d.clone(),
            message: Message::Records {
                records: records(changes(9, 1)),
            },
        })
        .await?;
        assert_eq!(
            bad.recv_error().await?,
            (Some(d.clone()), ErrorCode::NotSubscribed),
            "{what}"
        );
        // The good client is unaffected.
        if i < all.len() {
            assert!(good.upload(&d, &all[i..=i]).await?.is_ok(), "after {what}");
        }
    }

    // Nothing from the refused clients was stored.
    let mut fresh = RawSocket::connect(&relay.url()).await?;
    fresh.subscribe(&d, &rw, ReplicaId(2)).await??;
    let stored = fresh.download(&d).await?;
    assert_eq!(stored, all);
    Ok(())
}

#[tokio::test]
async fn read_only_tokens_read_but_never_write() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path());
    let d = doc("shared");
    let rw = mint_token("shared", Access::ReadWrite, HOUR);
    let ro = mint_token("shared", Access::Read, HOUR);

    let mut writer = RawSocket::connect(&relay.url()).await?;
    writer.subscribe(&d, &rw, ReplicaId(1)).await??;
    let mine = changes(1, 3);
    writer.upload(&d, &mine).await??;

    let mut reader = RawSocket::connect(&relay.url()).await?;
    assert_eq!(
        reader.subscribe(&d, &ro, ReplicaId(2)).await?,
        Ok(Access::Read)
    );
    assert_eq!(reader.download(&d).await?, mine, "reads everything");

    assert_eq!(
        reader.upload(&d, &changes(2, 1)).await?,
        Err(Refused(ErrorCode::ReadOnly))
    );
    // Still subscribed, still reading: the writer's next change arrives live.
    let next = changes(1, 4);
    writer.upload(&d, &next[3..]).await??;
    reader
        .recv_until(|f| {
            matches!(f, Frame::Sync { message: Message::Records { records }, .. }
                if records.iter().any(|r| r.ids().any(|id| id == next[3].id())))
        })
        .await?;

    let mut fresh = RawSocket::connect(&relay.url()).await?;
    fresh.subscribe(&d, &rw, ReplicaId(3)).await??;
    assert_eq!(
        fresh.download(&d).await?,
        next,
        "the read-only write was not stored"
    );
    Ok(())
}

#[tokio::test]
async fn a_token_expiring_during_the_connection_ends_the_subscription() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = start(dir.path());
    let d = doc("brief");
    let short = mint_token("brief", Access::ReadWrite, Duration::from_secs(2));
    let mut c = RawSocket::connect(&relay.url()).await?;
    c.subscribe(&d, &short, ReplicaId(1)).await??;
    c.upload(&d, &changes(1, 1)).await??;

    // Wait for the clock to pass the expiry (this is the condition itself).
    let expires = SystemTime::now() + Duration::from_secs(3);
    while SystemTime::now() < expires {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The relay says so on its own (anti-entropy timer) or on the next write.
    let all = changes(1, 2);
    c.send(&Frame::Sync {
        doc: d.clone(),
        message: Message::Records {
            records: records(all[1..].to_vec()),
        },
    })
    .await?;
    assert_eq!(
        c.recv_error().await?,
        (Some(d.clone()), ErrorCode::TokenExpired)
    );

    // The write after expiry was not stored.
    let mut fresh = RawSocket::connect(&relay.url()).await?;
    let rw = mint_token("brief", Access::ReadWrite, HOUR);
    fresh.subscribe(&d, &rw, ReplicaId(2)).await??;
    assert_eq!(fresh.download(&d).await?, all[..1].to_vec());
    Ok(())
}

//! Time and endings: tokens expiring on a live connection, anti-entropy,
//! the idle timeout, close codes, shutdown, idle memory.

use super::*;

#[test]
fn a_token_that_expires_ends_its_subscription_at_the_anti_entropy_tick() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.input(
        &mut a,
        subscribe("short", token("short", Access::ReadWrite, 20), 1),
    );
    relay.subscribed(&mut a, "long");
    assert_eq!(a.session.deadline(), Some(Duration::from_secs(30)));
    relay.at(30.0);
    let effects = relay.input(&mut a, Input::Tick);
    assert_eq!(effects[0], Effect::Ping);
    assert!(effects.contains(&Effect::Leave(doc("short"))));
    assert_eq!(errors(&effects), [ErrorCode::TokenExpired]);
    assert_eq!(hellos(&effects), [doc("long")], "the other goes on");
    assert_eq!(a.session.documents().collect::<Vec<_>>(), [&doc("long")]);
}

#[test]
fn a_token_that_expired_refuses_the_next_sync_frame() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.input(&mut a, subscribe("d", token("d", Access::ReadWrite, 20), 1));
    relay.at(19.0);
    assert!(errors(&relay.input(&mut a, changes("d", &edits(1, 1)))).is_empty());
    relay.commit_for(&mut a);
    relay.at(20.0);
    let effects = relay.input(&mut a, changes("d", &edits(1, 2)[1..]));
    assert_eq!(errors(&effects), [ErrorCode::TokenExpired]);
    assert!(relay.submitted().is_empty());
    assert_eq!(a.session.documents().count(), 0);
}

#[test]
fn every_anti_entropy_period_the_relay_pings_and_says_hello() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    for period in 1..=3 {
        let due = Duration::from_secs(30 * period);
        assert_eq!(a.session.deadline(), Some(due));
        relay.at(due.as_secs_f64());
        relay.input(&mut a, Input::Heard);
        let effects = relay.input(&mut a, Input::Tick);
        assert_eq!(effects, [Effect::Ping, hello("d", VersionVector::new())]);
    }
}

#[test]
fn a_connection_that_sends_nothing_is_closed_after_the_idle_timeout() {
    let mut relay = Relay::new(Limits {
        idle_timeout: Duration::from_secs(45),
        ..limits()
    });
    let mut a = relay.connect(1);
    relay.at(30.0);
    assert_eq!(relay.input(&mut a, Input::Tick), [Effect::Ping]);
    assert_eq!(a.session.deadline(), Some(Duration::from_secs(45)));
    relay.at(40.0);
    relay.input(&mut a, Input::Heard);
    assert_eq!(a.session.deadline(), Some(Duration::from_mins(1)));
    relay.at(85.0);
    let effects = relay.input(&mut a, Input::Tick);
    assert_eq!(
        effects.last(),
        Some(&Effect::Close {
            code: close::NORMAL,
            reason: "idle: nothing received",
            frames: Vec::new()
        })
    );
    assert!(effects.contains(&Effect::Reject("idle")));
}

#[test]
fn waiting_on_a_commit_is_not_silence() {
    let mut relay = Relay::new(Limits {
        idle_timeout: Duration::from_secs(45),
        ..limits()
    });
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    relay.input(&mut a, changes("d", &edits(1, 1)));
    relay.at(100.0);
    assert!(!a.session.reading());
    assert_eq!(
        a.session.deadline(),
        Some(Duration::from_secs(30)),
        "no idle deadline while a commit is in flight"
    );
    relay.commit_for(&mut a);
    assert_eq!(a.session.deadline(), Some(Duration::from_secs(30)));
    relay.at(30.0 * 4.0);
    let effects = relay.input(&mut a, Input::Tick);
    assert!(!a.session.is_closed(), "{effects:?}");
}

#[test]
fn a_malformed_frame_is_explained_then_closed_with_1002() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let bad = Frame::decode(b"not a frame").unwrap_err();
    let effects = relay.input(&mut a, Input::Malformed(bad));
    let Some(Effect::Close { code, frames, .. }) = effects.last() else {
        panic!("closed: {effects:?}");
    };
    assert_eq!(*code, close::PROTOCOL_ERROR);
    assert!(matches!(
        frames.as_slice(),
        [Frame::Error {
            doc: None,
            code: ErrorCode::Malformed,
            ..
        }]
    ));
    assert!(
        a.session
            .poll(&mut View {
                hub: &mut relay.hub,
                conn: 1
            })
            .is_none()
    );
    assert!(
        relay.input(&mut a, changes("d", &edits(1, 1))).is_empty(),
        "deaf once closed"
    );
}

#[test]
fn a_relay_to_client_frame_from_a_client_is_malformed() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    let effects = relay.input(
        &mut a,
        Input::Frame(Frame::Presence {
            doc: doc("d"),
            devices: Vec::new(),
        }),
    );
    assert!(matches!(
        effects.last(),
        Some(Effect::Close {
            code: close::PROTOCOL_ERROR,
            ..
        })
    ));
}

#[test]
fn websocket_messages_that_are_not_frames_close_with_their_codes() {
    for (what, code) in [
        (Unusable::Text, close::UNSUPPORTED_DATA),
        (Unusable::TooBig, close::MESSAGE_TOO_BIG),
        (Unusable::Protocol, close::PROTOCOL_ERROR),
    ] {
        let mut relay = Relay::new(limits());
        let mut a = relay.connect(1);
        let effects = relay.input(&mut a, Input::Unusable(what));
        assert!(
            matches!(effects.last(), Some(Effect::Close { code: c, .. }) if *c == code),
            "{what:?}: {effects:?}"
        );
    }
}

#[test]
fn a_socket_that_accepts_nothing_is_closed_with_4000_and_sent_no_more() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let now = relay.now();
    let mut view = View {
        hub: &mut relay.hub,
        conn: a.id,
    };
    // The driver is sending a's Hello when the socket stops taking bytes.
    a.session.handle(Input::Changed(doc("d")), now, &mut view);
    a.session.handle(
        Input::Frame(Frame::Unsubscribe { doc: doc("x") }),
        now,
        &mut view,
    );
    a.session.handle(Input::SendTimedOut, now, &mut view);
    let effects: Vec<Effect> = std::iter::from_fn(|| a.session.poll(&mut view)).collect();
    assert_eq!(
        effects,
        [
            Effect::Reject("not_subscribed"),
            Effect::Log(Log::TooSlow),
            Effect::Reject("too_slow"),
            Effect::Close {
                code: close::RESYNC,
                reason: "too slow: reconnect and resync",
                frames: Vec::new()
            }
        ]
    );
}

#[test]
fn shutdown_acknowledges_what_was_committed_then_closes_with_1001() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let cs = edits(1, 1);
    relay.input(&mut a, changes("d", &cs));
    // The driver reports the commits in flight first, then the shutdown.
    assert_eq!(relay.commit_for(&mut a), [ack("d", version_of(&cs))]);
    let effects = relay.input(&mut a, Input::Shutdown);
    assert_eq!(
        effects,
        [Effect::Close {
            code: close::GOING_AWAY,
            reason: "relay shutting down",
            frames: Vec::new()
        }]
    );
}

#[test]
fn an_idle_session_keeps_no_queue_buffers() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    relay.input(&mut a, changes("d", &edits(1, 1)));
    relay.commit_for(&mut a);
    // (An emptied BTreeMap's node cannot be seen from outside; the
    // queue's buffer can.)
    assert_eq!(a.session.effects.capacity(), 0);
}

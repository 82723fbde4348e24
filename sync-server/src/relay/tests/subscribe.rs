//! Subscribing: tokens, limits, a document that fails to load, leaving,
//! presence.

use super::*;

#[test]
fn a_valid_token_subscribes_and_the_exchange_starts() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    let t = token("d", Access::ReadWrite, HOUR);
    let effects = relay.input(&mut a, subscribe("d", t, 9));
    assert_eq!(
        effects,
        vec![
            Effect::Join {
                doc: doc("d"),
                device: ReplicaId(9)
            },
            Effect::Send(Frame::Subscribed {
                doc: doc("d"),
                access: Access::ReadWrite
            }),
            Effect::Send(Frame::Presence {
                doc: doc("d"),
                devices: vec![ReplicaId(9)]
            }),
            hello("d", VersionVector::new()),
        ]
    );
    assert_eq!(a.session.documents().collect::<Vec<_>>(), [&doc("d")]);
}

#[test]
fn a_forged_token_or_one_for_another_document_is_refused_as_unauthorized() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    let other = token("other", Access::ReadWrite, HOUR);
    let effects = relay.input(&mut a, subscribe("d", other, 1));
    assert_eq!(errors(&effects), [ErrorCode::Unauthorized]);
    let forged = mint(
        &Secret::new(vec![8u8; 32]).unwrap(),
        &doc("d"),
        Access::ReadWrite,
        T0 + HOUR,
    );
    let effects = relay.input(&mut a, subscribe("d", forged, 1));
    assert_eq!(errors(&effects), [ErrorCode::Unauthorized]);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Join { .. })));
    assert!(effects.contains(&Effect::Reject("unauthorized")));
    assert_eq!(a.session.documents().count(), 0);
}

#[test]
fn an_expired_token_is_refused_at_subscribe() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.at(20.0);
    let effects = relay.input(&mut a, subscribe("d", token("d", Access::ReadWrite, 20), 1));
    assert_eq!(errors(&effects), [ErrorCode::TokenExpired]);
    assert_eq!(a.session.documents().count(), 0);
}

#[test]
fn a_bad_token_on_a_live_subscription_ends_it() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let effects = relay.input(&mut a, subscribe("d", "v1.nonsense".into(), 1));
    assert_eq!(effects[0], Effect::Leave(doc("d")));
    assert_eq!(errors(&effects), [ErrorCode::Unauthorized]);
    assert_eq!(a.session.documents().count(), 0);
}

#[test]
fn a_new_token_on_a_live_subscription_restarts_the_exchange() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let read_only = token("d", Access::Read, HOUR);
    let effects = relay.input(&mut a, subscribe("d", read_only, 1));
    assert_eq!(
        effects,
        vec![
            Effect::Send(Frame::Subscribed {
                doc: doc("d"),
                access: Access::Read
            }),
            hello("d", VersionVector::new()),
        ],
        "no second Join, a fresh Hello"
    );
}

#[test]
fn a_document_that_cannot_be_loaded_is_refused_as_internal() {
    let mut relay = Relay::new(limits());
    relay.hub.unloadable.insert(doc("d"));
    let mut a = relay.connect(1);
    let effects = relay.subscribed(&mut a, "d");
    assert_eq!(errors(&effects), [ErrorCode::Internal]);
    assert_eq!(a.session.documents().count(), 0);
    // Once it loads, a new Subscribe works.
    relay.hub.unloadable.clear();
    let effects = relay.subscribed(&mut a, "d");
    assert!(errors(&effects).is_empty());
}

#[test]
fn subscribing_beyond_the_per_connection_limit_is_refused() {
    let mut relay = Relay::new(Limits {
        max_docs_per_connection: 2,
        ..limits()
    });
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "a");
    relay.subscribed(&mut a, "b");
    let effects = relay.subscribed(&mut a, "c");
    assert_eq!(errors(&effects), [ErrorCode::TooManyDocuments]);
    // Leaving one makes room.
    relay.input(&mut a, Input::Frame(Frame::Unsubscribe { doc: doc("a") }));
    assert!(errors(&relay.subscribed(&mut a, "c")).is_empty());
}

#[test]
fn sync_or_unsubscribe_without_a_subscription_is_not_subscribed() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    let effects = relay.input(&mut a, changes("d", &edits(1, 1)));
    assert_eq!(errors(&effects), [ErrorCode::NotSubscribed]);
    let effects = relay.input(&mut a, Input::Frame(Frame::Unsubscribe { doc: doc("d") }));
    assert_eq!(errors(&effects), [ErrorCode::NotSubscribed]);
    assert!(relay.submitted().is_empty());
}

#[test]
fn unsubscribe_leaves_the_hub_and_the_others_see_it() {
    let mut relay = Relay::new(limits());
    let (mut a, mut b) = (relay.connect(1), relay.connect(2));
    relay.subscribed(&mut a, "d");
    relay.subscribed(&mut b, "d");
    let effects = relay.input(&mut a, Input::Frame(Frame::Unsubscribe { doc: doc("d") }));
    assert_eq!(effects, [Effect::Leave(doc("d"))]);
    let effects = relay.input(&mut b, Input::Changed(doc("d")));
    assert_eq!(
        effects,
        [Effect::Send(Frame::Presence {
            doc: doc("d"),
            devices: vec![ReplicaId(2)]
        })]
    );
}

#[test]
fn presence_is_sent_when_someone_joins_or_leaves_and_only_then() {
    let mut relay = Relay::new(limits());
    let (mut a, mut b) = (relay.connect(1), relay.connect(2));
    relay.subscribed(&mut a, "d");
    relay.subscribed(&mut b, "d");
    let presence = |devices: &[u128]| {
        Effect::Send(Frame::Presence {
            doc: doc("d"),
            devices: devices.iter().map(|&d| ReplicaId(d)).collect(),
        })
    };
    assert_eq!(
        relay.input(&mut a, Input::Changed(doc("d"))),
        [presence(&[1, 2])]
    );
    assert!(relay.input(&mut a, Input::Changed(doc("d"))).is_empty());
    // A second connection of the same device changes nobody's presence.
    let mut b2 = relay.connect(3);
    relay.input(&mut b2, subscribe("d", token("d", Access::Read, HOUR), 2));
    assert!(relay.input(&mut a, Input::Changed(doc("d"))).is_empty());
    relay.input(&mut b, Input::Frame(Frame::Unsubscribe { doc: doc("d") }));
    assert!(relay.input(&mut a, Input::Changed(doc("d"))).is_empty());
    relay.input(&mut b2, Input::Frame(Frame::Unsubscribe { doc: doc("d") }));
    assert_eq!(
        relay.input(&mut a, Input::Changed(doc("d"))),
        [presence(&[1])]
    );
}

//! Writes: acks after commits, read-only, held changes, equivocation, the
//! rate limit, store refusals.

use super::*;

#[test]
fn changes_are_acknowledged_only_once_committed_and_reading_waits_for_the_commit() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let cs = edits(1, 3);
    let effects = relay.input(&mut a, changes("d", &cs));
    assert!(effects.is_empty(), "no Ack before the commit: {effects:?}");
    assert_eq!(relay.submitted(), std::slice::from_ref(&cs));
    assert!(!a.session.reading(), "back-pressure: the next frame waits");
    let effects = relay.commit_for(&mut a);
    assert_eq!(effects, [ack("d", version_of(&cs))]);
    assert!(a.session.reading());
}

#[test]
fn a_committed_change_goes_to_the_other_subscribers() {
    let mut relay = Relay::new(limits());
    let (mut a, mut b) = (relay.connect(1), relay.connect(2));
    relay.subscribed(&mut a, "d");
    relay.subscribed(&mut b, "d");
    relay.input(&mut a, Input::Changed(doc("d")));
    relay.input(
        &mut b,
        sync(
            "d",
            Message::Hello {
                version: VersionVector::new(),
            },
        ),
    );
    let cs = edits(1, 2);
    relay.input(&mut a, changes("d", &cs));
    relay.commit_for(&mut a);
    let effects = relay.input(&mut b, Input::Changed(doc("d")));
    assert_eq!(
        effects,
        [Effect::Send(Frame::Sync {
            doc: doc("d"),
            message: Message::Records { records: cs }
        })]
    );
}

#[test]
fn a_resent_stored_change_is_acknowledged_again() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let cs = edits(1, 1);
    relay.input(&mut a, changes("d", &cs));
    relay.commit_for(&mut a);
    let effects = relay.input(&mut a, changes("d", &cs));
    assert_eq!(
        effects,
        [ack("d", version_of(&cs))],
        "the first Ack may be lost"
    );
    assert!(relay.submitted().is_empty(), "stored once");
}

#[test]
fn a_read_only_token_cannot_write_but_still_syncs() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.input(&mut a, subscribe("d", token("d", Access::Read, HOUR), 1));
    let effects = relay.input(&mut a, changes("d", &edits(1, 1)));
    assert_eq!(errors(&effects), [ErrorCode::ReadOnly]);
    assert!(relay.submitted().is_empty(), "nothing stored");
    assert!(a.session.documents().next().is_some(), "still subscribed");
    // Reading goes on: its Hello is answered.
    let mut b = relay.connect(2);
    relay.subscribed(&mut b, "d");
    let cs = edits(2, 1);
    relay.input(&mut b, changes("d", &cs));
    relay.commit_for(&mut b);
    let effects = relay.input(
        &mut a,
        sync(
            "d",
            Message::Hello {
                version: VersionVector::new(),
            },
        ),
    );
    assert!(effects.contains(&Effect::Send(Frame::Sync {
        doc: doc("d"),
        message: Message::Records { records: cs }
    })));
}

#[test]
fn a_change_waits_for_its_dependency_and_is_stored_with_it() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let cs = edits(1, 3);
    let effects = relay.input(&mut a, changes("d", &cs[1..]));
    assert!(errors(&effects).is_empty());
    assert!(
        relay.submitted().is_empty(),
        "held: its dependency is missing"
    );
    assert!(a.session.reading());
    relay.input(&mut a, changes("d", &cs[..1]));
    assert_eq!(
        relay.submitted(),
        std::slice::from_ref(&cs),
        "released in causal order"
    );
}

#[test]
fn a_held_change_is_stored_once_another_connection_stores_its_dependency() {
    let mut relay = Relay::new(limits());
    let (mut a, mut b) = (relay.connect(1), relay.connect(2));
    relay.subscribed(&mut a, "d");
    relay.subscribed(&mut b, "d");
    let cs = edits(1, 2);
    relay.input(&mut a, changes("d", &cs[1..]));
    relay.input(&mut b, changes("d", &cs[..1]));
    assert_eq!(relay.submitted(), [cs[..1].to_vec()]);
    relay.commit_for(&mut b);
    // The hub tells `a` the document changed; `a` releases what it held.
    relay.input(&mut a, Input::Changed(doc("d")));
    assert_eq!(relay.submitted(), [cs[1..].to_vec()]);
    assert_eq!(relay.commit().0, a.id);
}

#[test]
fn too_many_held_changes_drop_them_all_and_the_relay_asks_again() {
    let mut relay = Relay::new(Limits {
        max_pending_per_connection: 2,
        ..limits()
    });
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let cs = edits(1, 5);
    let effects = relay.input(&mut a, changes("d", &cs[1..]));
    assert_eq!(errors(&effects), [ErrorCode::TooManyPending]);
    assert_eq!(
        hellos(&effects),
        [doc("d")],
        "resend in causal order from here"
    );
    // Nothing is held any more: the first change alone is stored.
    relay.input(&mut a, changes("d", &cs[..1]));
    assert_eq!(relay.submitted(), [cs[..1].to_vec()]);
}

#[test]
fn a_change_id_stored_with_other_bytes_is_an_equivocation_and_not_stored() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let mine = edits(1, 1);
    relay.input(&mut a, changes("d", &mine));
    relay.commit_for(&mut a);
    let mut forger = Document::new(ReplicaId(1));
    let mut tx = forger.transaction();
    tx.put(ObjId::Root, "k", "forged").unwrap();
    let forged = Record::Change(tx.commit().unwrap());
    assert_eq!(forged.first_header().id, mine[0].first_header().id);
    let effects = relay.input(&mut a, changes("d", &[forged]));
    assert_eq!(errors(&effects), [ErrorCode::Equivocation]);
    assert!(relay.submitted().is_empty());
    let st = &relay.hub.states[&doc("d")];
    assert_eq!(st.records_since(&VersionVector::new(), usize::MAX), mine);
}

#[test]
fn changes_over_the_rate_are_dropped_and_hello_comes_when_the_bucket_refills() {
    let mut relay = Relay::new(Limits {
        max_changes_per_sec: 10.0,
        changes_burst: 5.0,
        ..limits()
    });
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let cs = edits(1, 8);
    let effects = relay.input(&mut a, changes("d", &cs));
    assert_eq!(errors(&effects), [ErrorCode::RateLimited]);
    assert_eq!(relay.submitted(), [cs[..5].to_vec()], "the first that fit");
    relay.commit_for(&mut a);
    // Three changes at 10/s: asked again 0.3 s later.
    assert_eq!(a.session.deadline(), Some(Duration::from_secs_f64(0.3)));
    relay.at(0.29);
    assert!(hellos(&relay.input(&mut a, Input::Tick)).is_empty());
    relay.at(0.3);
    let effects = relay.input(&mut a, Input::Tick);
    assert_eq!(effects, [hello("d", version_of(&cs[..5]))]);
}

#[test]
fn ignoring_the_rate_limit_again_and_again_closes_the_connection_1008() {
    let mut relay = Relay::new(Limits {
        max_changes_per_sec: 1.0,
        changes_burst: 1.0,
        max_rate_violations: 2,
        ..limits()
    });
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let cs = edits(1, 10);
    for round in 0..2 {
        let effects = relay.input(&mut a, changes("d", &cs));
        assert_eq!(errors(&effects), [ErrorCode::RateLimited], "round {round}");
        if !relay.submitted().is_empty() {
            relay.commit_for(&mut a);
        }
    }
    let effects = relay.input(&mut a, changes("d", &cs));
    let Some(Effect::Close {
        code,
        reason,
        frames,
    }) = effects.last()
    else {
        panic!("closed: {effects:?}");
    };
    assert_eq!(
        (*code, *reason),
        (close::POLICY_VIOLATION, "rate limit abused")
    );
    assert!(matches!(
        frames.as_slice(),
        [Frame::Error {
            code: ErrorCode::RateLimited,
            ..
        }]
    ));
    assert!(effects.contains(&Effect::Reject("policy_violation")));
    assert!(a.session.is_closed());
    assert_eq!(a.session.deadline(), None);
    // Violations older than the window do not count.
    let mut b = relay.connect(2);
    relay.subscribed(&mut b, "e");
    for round in 0..6 {
        relay.at(f64::from(round) * 11.0);
        relay.input(&mut b, changes("e", &cs));
        if !relay.submitted().is_empty() {
            relay.commit_for(&mut b);
        }
    }
    assert!(!b.session.is_closed());
}

#[test]
fn a_store_refusal_says_store_unavailable_and_asks_again_later_and_later() {
    let mut relay = Relay::new(limits());
    // No anti-entropy Hello in the way of the ones asked for.
    relay.config.anti_entropy = Duration::from_secs(HOUR);
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let cs = edits(1, 1);
    let mut t = 0.0;
    for delay in [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0] {
        relay.input(&mut a, changes("d", &cs));
        let (_, refused) = relay.refuse();
        let effects = relay.input(&mut a, refused);
        assert_eq!(errors(&effects), [ErrorCode::StoreUnavailable]);
        assert!(effects.contains(&Effect::Log(Log::CommitFailed {
            doc: doc("d"),
            error: CommitFailed("disk full".into())
        })));
        assert_eq!(
            a.session.deadline(),
            Some(Duration::from_secs_f64(t + delay)),
            "asked again {delay} s later"
        );
        t += delay;
        relay.at(t);
        assert_eq!(hellos(&relay.input(&mut a, Input::Tick)), [doc("d")]);
    }
    // A commit that succeeds starts the delay over.
    relay.input(&mut a, changes("d", &cs));
    relay.commit_for(&mut a);
    relay.input(&mut a, changes("d", &edits(1, 2)[1..]));
    let (_, refused) = relay.refuse();
    relay.input(&mut a, refused);
    assert_eq!(a.session.deadline(), Some(Duration::from_secs_f64(t + 0.5)));
}

#[test]
fn a_refused_change_is_stored_when_sent_again() {
    let mut relay = Relay::new(limits());
    let mut a = relay.connect(1);
    relay.subscribed(&mut a, "d");
    let cs = edits(1, 2);
    relay.input(&mut a, changes("d", &cs));
    let (_, refused) = relay.refuse();
    relay.input(&mut a, refused);
    assert_eq!(
        relay.hub.states[&doc("d")].admitted().total(),
        0,
        "rolled back"
    );
    relay.input(&mut a, changes("d", &cs));
    assert_eq!(relay.commit_for(&mut a), [ack("d", version_of(&cs))]);
}

//! The core driven by hand: time passed in, documents as plain `DocState`s,
//! a store that commits or refuses when the test says. No socket, no
//! database, no thread, no clock.

use std::sync::Arc;

use concord_core::{Document, ObjId};
use concord_wire::Access;

use super::*;
use crate::hub::{ConnId, Submission};
use crate::token::{Secret, mint};

/// Unix seconds at the start of every test.
const T0: u64 = 1_700_000_000;
const HOUR: u64 = 3600;

fn doc(name: &str) -> DocId {
    DocId::new(name).unwrap()
}

fn secret() -> Secret {
    Secret::new(vec![7u8; 32]).unwrap()
}

/// A token for `name`, valid for `secs` from the start of the test.
fn token(name: &str, access: Access, secs: u64) -> String {
    mint(&secret(), &doc(name), access, T0 + secs)
}

/// `n` changes by `replica`, each depending on the one before.
fn edits(replica: u128, n: i64) -> Vec<EncodedChange> {
    let mut d = Document::new(ReplicaId(replica));
    (0..n)
        .map(|i| {
            let mut tx = d.transaction();
            tx.put(ObjId::Root, "k", i).unwrap();
            tx.commit().unwrap()
        })
        .collect()
}

fn subscribe(name: &str, token: String, device: u128) -> Input {
    Input::Frame(Frame::Subscribe {
        doc: doc(name),
        token,
        device: ReplicaId(device),
    })
}

fn sync(name: &str, message: Message) -> Input {
    Input::Frame(Frame::Sync {
        doc: doc(name),
        message,
    })
}

fn changes(name: &str, changes: &[EncodedChange]) -> Input {
    sync(
        name,
        Message::Changes {
            changes: changes.to_vec(),
        },
    )
}

fn hello(name: &str, version: VersionVector) -> Effect {
    Effect::Send(Frame::Sync {
        doc: doc(name),
        message: Message::Hello { version },
    })
}

fn ack(name: &str, version: VersionVector) -> Effect {
    Effect::Send(Frame::Sync {
        doc: doc(name),
        message: Message::Ack { version },
    })
}

fn version_of(cs: &[EncodedChange]) -> VersionVector {
    let mut v = VersionVector::new();
    for c in cs {
        v.observe(c.id().replica, c.id().seq);
    }
    v
}

/// The error codes among `effects`, in order.
fn errors(effects: &[Effect]) -> Vec<ErrorCode> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(Frame::Error { code, .. }) => Some(*code),
            _ => None,
        })
        .collect()
}

/// The Hellos among `effects`: for which documents.
fn hellos(effects: &[Effect]) -> Vec<DocId> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(Frame::Sync {
                doc,
                message: Message::Hello { .. },
            }) => Some(doc.clone()),
            _ => None,
        })
        .collect()
}

/// The hub's documents without locks, threads or a store: what a session
/// submits waits in `queue` until the test commits or refuses it.
#[derive(Debug, Default)]
struct Hub {
    states: BTreeMap<DocId, DocState>,
    /// Submitted batches, oldest first: who submitted, where, what.
    queue: VecDeque<(ConnId, DocId, Submission, Vec<EncodedChange>)>,
    /// Documents whose load fails.
    unloadable: BTreeSet<DocId>,
    next_epoch: u64,
}

/// One connection's view of the hub (what `connection.rs`'s `Joined` is).
struct View<'a> {
    hub: &'a mut Hub,
    conn: ConnId,
}

impl Documents for View<'_> {
    fn read<R>(&self, doc: &DocId, f: impl FnOnce(&DocState) -> R) -> Option<R> {
        self.hub.states.get(doc).map(f)
    }

    fn admit<R>(
        &mut self,
        doc: &DocId,
        f: impl FnOnce(&mut DocState) -> (R, Vec<EncodedChange>),
    ) -> Option<R> {
        let st = self.hub.states.get_mut(doc)?;
        let (result, batch) = f(st);
        if !batch.is_empty() {
            let job = st.submission();
            self.hub
                .queue
                .push_back((self.conn, doc.clone(), job, batch));
        }
        Some(result)
    }
}

/// A connection: its id at the hub and its session.
struct Conn {
    id: ConnId,
    session: Session,
}

/// A relay in miniature: one hub, any number of sessions, a clock.
struct Relay {
    hub: Hub,
    config: Config,
    now: Duration,
}

impl Relay {
    fn new(limits: Limits) -> Self {
        Relay {
            hub: Hub {
                next_epoch: 100,
                ..Hub::default()
            },
            config: Config {
                auth: Auth::Secret(secret()),
                limits,
                anti_entropy: Duration::from_secs(30),
                web_dir: None,
            },
            now: Duration::ZERO,
        }
    }

    fn now(&self) -> Now {
        Now {
            elapsed: self.now,
            unix_secs: T0 + self.now.as_secs(),
        }
    }

    /// Moves the clock to `secs` after the start.
    fn at(&mut self, secs: f64) {
        self.now = Duration::from_secs_f64(secs);
    }

    fn connect(&mut self, id: ConnId) -> Conn {
        Conn {
            id,
            session: Session::new(&self.config, self.now()),
        }
    }

    /// Hands `input` to `conn`'s session and does what it says, as the
    /// driver does (joining and leaving the hub); returns every effect.
    fn input(&mut self, conn: &mut Conn, input: Input) -> Vec<Effect> {
        let now = self.now();
        let mut view = View {
            hub: &mut self.hub,
            conn: conn.id,
        };
        conn.session.handle(input, now, &mut view);
        let mut out = Vec::new();
        while let Some(effect) = conn.session.poll(&mut view) {
            match &effect {
                Effect::Join { doc, device } => {
                    let result = if view.hub.unloadable.contains(doc) {
                        Err(LoadFailed("no such disk".into()))
                    } else {
                        view.hub
                            .states
                            .entry(doc.clone())
                            .or_insert_with(DocState::for_tests)
                            .join(conn.id, *device, Arc::default());
                        Ok(())
                    };
                    let joined = Input::Joined {
                        doc: doc.clone(),
                        result,
                    };
                    conn.session.handle(joined, now, &mut view);
                }
                Effect::Leave(doc) => {
                    if let Some(st) = view.hub.states.get_mut(doc) {
                        st.leave(conn.id);
                    }
                }
                _ => {}
            }
            out.push(effect);
        }
        out
    }

    /// Subscribes `conn` to `name` with read-write access for an hour.
    fn subscribed(&mut self, conn: &mut Conn, name: &str) -> Vec<Effect> {
        let t = token(name, Access::ReadWrite, HOUR);
        self.input(conn, subscribe(name, t, conn.id.into()))
    }

    /// The store commits the oldest batch: whose it was, and its report.
    fn commit(&mut self) -> (ConnId, Input) {
        let (conn, doc, job, _) = self.hub.queue.pop_front().expect("a batch to commit");
        let st = self.hub.states.get_mut(&doc).unwrap();
        let result = st.commit(job).map(|_| st.version());
        (conn, Input::Committed(result))
    }

    /// The store refuses the oldest batch.
    fn refuse(&mut self) -> (ConnId, Input) {
        let (conn, doc, job, _) = self.hub.queue.pop_front().expect("a batch to refuse");
        let next = &mut self.hub.next_epoch;
        self.hub.states.get_mut(&doc).unwrap().refuse(job, || {
            *next += 1;
            *next
        });
        (
            conn,
            Input::Committed(Err(CommitFailed("disk full".into()))),
        )
    }

    /// Commits the oldest batch, which `conn` submitted, and reports it.
    fn commit_for(&mut self, conn: &mut Conn) -> Vec<Effect> {
        let (who, report) = self.commit();
        assert_eq!(who, conn.id);
        self.input(conn, report)
    }

    /// Batches submitted and not yet committed: their changes.
    fn submitted(&self) -> Vec<Vec<EncodedChange>> {
        self.hub.queue.iter().map(|(.., cs)| cs.clone()).collect()
    }
}

fn limits() -> Limits {
    Limits::default()
}

// --- subscribe ---

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

// --- writes ---

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
            message: Message::Changes { changes: cs }
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
        message: Message::Changes { changes: cs }
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
    let forged = tx.commit().unwrap();
    assert_eq!(forged.id(), mine[0].id());
    let effects = relay.input(&mut a, changes("d", &[forged]));
    assert_eq!(errors(&effects), [ErrorCode::Equivocation]);
    assert!(relay.submitted().is_empty());
    let st = &relay.hub.states[&doc("d")];
    assert_eq!(st.changes_since(&VersionVector::new(), usize::MAX), mine);
}

// --- the rate limit ---

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

// --- the store ---

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

// --- tokens on a live connection ---

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

// --- presence ---

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

// --- time ---

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

// --- closing ---

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

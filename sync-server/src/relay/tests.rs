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

/// `n` changes by `replica`, each depending on the one before, each a
/// record.
fn edits(replica: u128, n: i64) -> Vec<Record> {
    let mut d = Document::new(ReplicaId(replica));
    (0..n)
        .map(|i| {
            let mut tx = d.transaction();
            tx.put(ObjId::Root, "k", i).unwrap();
            Record::Change(tx.commit().unwrap())
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

fn changes(name: &str, records: &[Record]) -> Input {
    sync(
        name,
        Message::Records {
            records: records.to_vec(),
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

fn version_of(cs: &[Record]) -> VersionVector {
    let mut v = VersionVector::new();
    for c in cs {
        v.observe(c.replica(), c.last_seq());
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
    queue: VecDeque<(ConnId, DocId, Submission, Vec<Record>)>,
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
        f: impl FnOnce(&mut DocState) -> (R, Vec<Record>),
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
    fn submitted(&self) -> Vec<Vec<Record>> {
        self.hub.queue.iter().map(|(.., cs)| cs.clone()).collect()
    }
}

fn limits() -> Limits {
    Limits::default()
}

mod records;
mod subscribe;
mod time;
mod writes;

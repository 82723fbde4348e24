//! Records a connection sent before what they depend on: held per
//! subscription, bounded per connection by count and by bytes, and released
//! in time linear in what is released.
//!
//! A held record waits in core's `CausalBuffer`, indexed by the one
//! dependency its first change still lacks (its later changes depend on
//! that one alone). It becomes ready when that dependency is admitted to
//! the document, by this connection (`waited_on` the range of each record
//! it admits) or by another one: every admission gets a ticket from the
//! document (`DocState::admitted_after`), and a subscription remembers the
//! last ticket it looked at, so each admission is looked at once per
//! subscription that holds something. Nothing is ever re-scanned: the
//! relay used to re-examine every held change on every frame, which made
//! 4,000 held changes cost 7 s of CPU and let one connection stall the relay.
//!
//! Pure: no locks, no IO; the caller passes the document's state.

use std::collections::VecDeque;
use std::ops::RangeInclusive;

use concord_wire::{CausalBuffer, Record, ReplicaId};

use crate::admission::Verdict;
use crate::hub::DocState;

/// Per-connection bounds on held records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldLimits {
    pub max_records: usize,
    pub max_bytes: usize,
}

/// What one connection holds, over all its subscriptions.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HeldTotals {
    pub records: usize,
    pub bytes: usize,
}

/// The records held for one subscription.
#[derive(Debug)]
pub struct Held {
    buffer: CausalBuffer<Record>,
    bytes: usize,
    /// Admissions to the document up to this ticket have been looked at.
    seen: u64,
}

impl Held {
    /// `capacity` bounds this subscription alone (the connection's totals
    /// are checked in `admit_all`).
    pub fn new(capacity: usize, st: &DocState) -> Self {
        Held {
            buffer: CausalBuffer::new(capacity),
            bytes: 0,
            seen: st.admission_mark(),
        }
    }

    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Drops everything held (the client resends in causal order).
    pub fn clear(&mut self, totals: &mut HeldTotals) {
        totals.records -= self.buffer.len();
        totals.bytes -= self.bytes;
        self.buffer.clear();
        self.bytes = 0;
    }

    /// Removes and queues (at the front of `work`) what the admission of
    /// `replica`'s changes `seqs` unblocked.
    fn release_after(
        &mut self,
        replica: ReplicaId,
        seqs: RangeInclusive<u64>,
        st: &DocState,
        totals: &mut HeldTotals,
        work: &mut VecDeque<Record>,
    ) {
        let mut ready = Vec::new();
        for id in self.buffer.waited_on(replica, seqs) {
            ready.extend(self.buffer.take_ready_after(id, st.admitted()));
        }
        ready.sort_by_key(|(h, _)| h.id);
        for (_, r) in ready.into_iter().rev() {
            let n = r.bytes().len();
            self.bytes -= n;
            totals.records -= 1;
            totals.bytes -= n;
            work.push_front(r);
        }
    }
}

/// What admitting a batch of incoming records did.
#[derive(Debug, Default)]
pub struct Admitted {
    /// New and ready: to be stored, in this (causal) order.
    pub batch: Vec<Record>,
    /// Records held exactly so already.
    pub duplicates: usize,
    pub equivocations: usize,
    /// Where a record overlapped what the document holds and could not be
    /// compared: the client is sent the relay's copy from there, and asked
    /// again for what the relay lacks.
    pub unconfirmed: Vec<(ReplicaId, u64)>,
    pub invalid: Option<&'static str>,
    /// The connection's bound on held records was reached.
    pub overflow: bool,
    /// Records classified (incoming and released): the work done.
    pub examined: usize,
}

/// Admits `incoming` into `st`: new ready records are appended (and
/// returned to be stored), unready ones held in `held`, and held ones whose
/// dependency was admitted (here, or by another connection since the last
/// call) released. Work: the records given and released, plus the
/// admissions by others since the last call; never what stays held.
pub fn admit_all(
    st: &mut DocState,
    held: &mut Held,
    totals: &mut HeldTotals,
    limits: HeldLimits,
    incoming: Vec<Record>,
) -> Admitted {
    let mut out = Admitted::default();
    let mut work: VecDeque<Record> = incoming.into();
    if !held.is_empty() {
        let admitted: Vec<_> = st.admitted_after(held.seen).collect();
        for (replica, seqs) in admitted {
            held.release_after(replica, seqs, st, totals, &mut work);
        }
    }
    while let Some(r) = work.pop_front() {
        out.examined += 1;
        match st.classify(&r) {
            Verdict::New(new) => {
                let (replica, seqs) = (new.replica(), new.first_seq()..=new.last_seq());
                st.admit(new.clone());
                out.batch.push(new);
                held.release_after(replica, seqs, st, totals, &mut work);
            }
            Verdict::Duplicate => out.duplicates += 1,
            Verdict::Equivocation => out.equivocations += 1,
            Verdict::Unconfirmed { from_seq } => out.unconfirmed.push((r.replica(), from_seq)),
            Verdict::Invalid(why) => out.invalid = Some(why),
            Verdict::NotReady => {
                let n = r.bytes().len();
                let first = r.first_header();
                if let Some(same) = held.buffer.get(first.id) {
                    if same.bytes() != r.bytes() {
                        // Another record from the same change (cut
                        // otherwise): keep the one held; the client is
                        // asked again for what the relay lacks.
                        out.unconfirmed.push((r.replica(), r.first_seq()));
                    }
                } else if totals.records < limits.max_records
                    && totals.bytes + n <= limits.max_bytes
                    && held.buffer.insert(first, r, st.admitted()).is_ok()
                {
                    held.bytes += n;
                    totals.records += 1;
                    totals.bytes += n;
                } else {
                    out.overflow = true;
                }
            }
        }
    }
    held.seen = st.admission_mark();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::{Document, ObjId, ReplicaId, VersionVector};

    fn chain(replica: u128, n: usize, size: usize) -> Vec<Record> {
        let mut d = Document::new(ReplicaId(replica));
        let text = "x".repeat(size);
        (0..n)
            .map(|_| {
                let mut tx = d.transaction();
                tx.put(ObjId::Root, "k", text.as_str()).unwrap();
                Record::Change(tx.commit().unwrap())
            })
            .collect()
    }

    const ROOMY: HeldLimits = HeldLimits {
        max_records: usize::MAX,
        max_bytes: usize::MAX,
    };

    #[test]
    fn held_records_are_not_reexamined_on_every_frame() {
        // 2,000 records whose first is missing arrive one frame each, then
        // the first: every record must be looked at a bounded number of
        // times, not once per frame (2,000,000 looks).
        let n = 2000;
        let cs = chain(1, n + 1, 1);
        let mut st = DocState::for_tests();
        let mut held = Held::new(usize::MAX, &st);
        let mut totals = HeldTotals::default();
        let mut examined = 0;
        for c in &cs[1..] {
            let out = admit_all(&mut st, &mut held, &mut totals, ROOMY, vec![c.clone()]);
            assert!(out.batch.is_empty());
            examined += out.examined;
        }
        assert_eq!(totals.records, n);
        let out = admit_all(&mut st, &mut held, &mut totals, ROOMY, vec![cs[0].clone()]);
        examined += out.examined;
        assert_eq!(out.batch, cs, "all released, in causal order");
        assert_eq!(totals, HeldTotals::default());
        assert!(examined <= 2 * (n + 1), "{examined} looks for {n} records");
    }

    #[test]
    fn a_dependency_admitted_by_another_connection_releases_what_waits_for_it() {
        let cs = chain(1, 3, 1);
        let mut st = DocState::for_tests();
        let mut held = Held::new(10, &st);
        let mut totals = HeldTotals::default();
        let out = admit_all(&mut st, &mut held, &mut totals, ROOMY, cs[1..].to_vec());
        assert!(out.batch.is_empty());
        // Another connection admits the first change.
        let mut theirs = Held::new(10, &st);
        let mut their_totals = HeldTotals::default();
        let out = admit_all(
            &mut st,
            &mut theirs,
            &mut their_totals,
            ROOMY,
            cs[..1].to_vec(),
        );
        assert_eq!(out.batch, cs[..1]);
        // This connection notices on its next turn, without a frame.
        let out = admit_all(&mut st, &mut held, &mut totals, ROOMY, Vec::new());
        assert_eq!(out.batch, cs[1..]);
        assert_eq!(out.examined, 2);
        assert!(held.is_empty());
    }

    #[test]
    fn a_record_waiting_on_a_change_inside_an_admitted_run_is_released() {
        // A run record of replica 1 (seqs 1..=50), and a change of replica
        // 2 that depends on seq 30, sent first.
        let mut a = Document::new(ReplicaId(1));
        let mut tx = a.transaction();
        let text = tx
            .put_object(ObjId::Root, "t", concord_core::ObjType::Text)
            .unwrap();
        tx.commit();
        for i in 0..49 {
            let mut tx = a.transaction();
            tx.insert_text(text, i, "a").unwrap();
            tx.commit();
        }
        let mut at_30 = VersionVector::new();
        at_30.observe(ReplicaId(1), 30);
        let mut b = Document::new(ReplicaId(2));
        b.apply_records(a.records_between(&VersionVector::new(), &at_30, usize::MAX));
        let mut tx = b.transaction();
        tx.insert_text(text, 0, "b").unwrap();
        let theirs = Record::Change(tx.commit().unwrap());
        let mut st = DocState::for_tests();
        let mut held = Held::new(10, &st);
        let mut totals = HeldTotals::default();
        let out = admit_all(&mut st, &mut held, &mut totals, ROOMY, vec![theirs.clone()]);
        assert!(out.batch.is_empty());
        let runs = a.records_since(&VersionVector::new(), usize::MAX);
        assert_eq!(runs.len(), 2, "the map change, then the typing");
        let out = admit_all(&mut st, &mut held, &mut totals, ROOMY, runs.clone());
        assert_eq!(out.batch, [runs, vec![theirs]].concat());
        assert_eq!(totals, HeldTotals::default());
    }

    #[test]
    fn held_records_are_bounded_by_bytes_as_well_as_count() {
        let cs = chain(1, 6, 1000);
        let limits = HeldLimits {
            max_records: 100,
            max_bytes: 3 * 1100,
        };
        let mut st = DocState::for_tests();
        let mut held = Held::new(100, &st);
        let mut totals = HeldTotals::default();
        let out = admit_all(&mut st, &mut held, &mut totals, limits, cs[1..].to_vec());
        assert!(out.overflow, "five changes of 1 KB are over 3.3 KB");
        assert_eq!(held.len(), 3);
        assert!(held.bytes() <= limits.max_bytes);
        assert_eq!(totals.bytes, held.bytes());
        held.clear(&mut totals);
        assert_eq!(totals, HeldTotals::default());
    }
}

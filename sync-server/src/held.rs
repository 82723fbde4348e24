//! Changes a connection sent before their dependencies: held per
//! subscription, bounded per connection by count and by bytes, and released
//! in time linear in what is released.
//!
//! A held change waits in core's `CausalBuffer`, indexed by the one
//! dependency it still lacks. It becomes ready when that dependency is
//! admitted to the document, by this connection (`take_ready_after` on each
//! change it admits) or by another one: every admission gets a ticket from
//! the document (`DocState::admitted_after`), and a subscription remembers
//! the last ticket it looked at, so each admission is looked at once per
//! subscription that holds something. Nothing is ever re-scanned: the
//! relay used to re-examine every held change on every frame, which made
//! 4,000 held changes cost 7 s of CPU and let one connection stall the relay.
//!
//! Pure: no locks, no IO; the caller passes the document's state.

use std::collections::VecDeque;

use concord_wire::CausalBuffer;
use concord_wire::EncodedChange;

use crate::admission::Verdict;
use crate::hub::DocState;

/// Per-connection bounds on held changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldLimits {
    pub max_changes: usize,
    pub max_bytes: usize,
}

/// What one connection holds, over all its subscriptions.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HeldTotals {
    pub changes: usize,
    pub bytes: usize,
}

/// The changes held for one subscription.
#[derive(Debug)]
pub struct Held {
    buffer: CausalBuffer<EncodedChange>,
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
        totals.changes -= self.buffer.len();
        totals.bytes -= self.bytes;
        self.buffer.clear();
        self.bytes = 0;
    }

    /// Removes and queues (at the front of `work`) what `applied` unblocked.
    fn release_after(
        &mut self,
        applied: concord_wire::ChangeId,
        st: &DocState,
        totals: &mut HeldTotals,
        work: &mut VecDeque<EncodedChange>,
    ) {
        let ready = self.buffer.take_ready_after(applied, st.admitted());
        for (_, c) in ready.into_iter().rev() {
            let n = c.bytes().len();
            self.bytes -= n;
            totals.changes -= 1;
            totals.bytes -= n;
            work.push_front(c);
        }
    }
}

/// What admitting a batch of incoming changes did.
#[derive(Debug, Default)]
pub struct Admitted {
    /// New and ready: to be stored, in this (causal) order.
    pub batch: Vec<EncodedChange>,
    pub duplicates: usize,
    pub equivocations: usize,
    pub invalid: Option<&'static str>,
    /// The connection's bound on held changes was reached.
    pub overflow: bool,
    /// Changes classified (incoming and released): the work done.
    pub examined: usize,
}

/// Admits `incoming` into `st`: new ready changes are appended (and returned
/// to be stored), unready ones held in `held`, and held ones whose
/// dependency was admitted (here, or by another connection since the last
/// call) released. Work: the changes given and released, plus the
/// admissions by others since the last call; never what stays held.
pub fn admit_all(
    st: &mut DocState,
    held: &mut Held,
    totals: &mut HeldTotals,
    limits: HeldLimits,
    incoming: Vec<EncodedChange>,
) -> Admitted {
    let mut out = Admitted::default();
    let mut work: VecDeque<EncodedChange> = incoming.into();
    if !held.is_empty() {
        let admitted: Vec<_> = st.admitted_after(held.seen).collect();
        for id in admitted {
            held.release_after(id, st, totals, &mut work);
        }
    }
    while let Some(c) = work.pop_front() {
        out.examined += 1;
        match st.classify(&c) {
            Verdict::New => {
                let id = c.id();
                st.admit(c.clone());
                out.batch.push(c);
                held.release_after(id, st, totals, &mut work);
            }
            Verdict::Duplicate => out.duplicates += 1,
            Verdict::Equivocation => out.equivocations += 1,
            Verdict::Invalid(why) => out.invalid = Some(why),
            Verdict::NotReady => {
                let n = c.bytes().len();
                if let Some(same) = held.buffer.get(c.id()) {
                    if same.bytes() != c.bytes() {
                        out.equivocations += 1;
                    }
                } else if totals.changes < limits.max_changes
                    && totals.bytes + n <= limits.max_bytes
                    && held
                        .buffer
                        .insert(c.header().clone(), c, st.admitted())
                        .is_ok()
                {
                    held.bytes += n;
                    totals.changes += 1;
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
    use concord_core::{Document, ObjId, ReplicaId};

    fn chain(replica: u128, n: usize, size: usize) -> Vec<EncodedChange> {
        let mut d = Document::new(ReplicaId(replica));
        let text = "x".repeat(size);
        (0..n)
            .map(|_| {
                let mut tx = d.transaction();
                tx.put(ObjId::Root, "k", text.as_str()).unwrap();
                tx.commit().unwrap()
            })
            .collect()
    }

    const ROOMY: HeldLimits = HeldLimits {
        max_changes: usize::MAX,
        max_bytes: usize::MAX,
    };

    #[test]
    fn held_changes_are_not_reexamined_on_every_frame() {
        // 2,000 changes whose first is missing arrive one frame each, then
        // the first: every change must be looked at a bounded number of
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
        assert_eq!(totals.changes, n);
        let out = admit_all(&mut st, &mut held, &mut totals, ROOMY, vec![cs[0].clone()]);
        examined += out.examined;
        assert_eq!(out.batch, cs, "all released, in causal order");
        assert_eq!(totals, HeldTotals::default());
        assert!(examined <= 2 * (n + 1), "{examined} looks for {n} changes");
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
    fn held_changes_are_bounded_by_bytes_as_well_as_count() {
        let cs = chain(1, 6, 1000);
        let limits = HeldLimits {
            max_changes: 100,
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

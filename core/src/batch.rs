//! Applying records (`concord_wire::Record`): many changes at once, typing
//! as run records whose segments are text runs (`encoding/record.rs`).
//!
//! A segment that fits the document as it stands (its first change is
//! causally ready, nothing of it is known or held) is integrated without
//! building a change per keystroke: its ops are read straight from its
//! bytes, characters typed one after another are joined into one insert
//! and backspaces into one delete span, the joined ops are checked against
//! the text as a whole, and only then applied; the run joins the history
//! as it came (extending the replica's last run when it continues it, so
//! runs stay maximal). A segment wholly known is compared with the history
//! at once when the history holds it as one run. Anything else (single
//! changes, segments that are early, partly known, fail the check, or do
//! not decode) goes change by change through `Document::apply`, so records
//! always end in the state their changes delivered one by one give.

use concord_wire::{Record, SegmentRef};

use crate::change::{ChangeHeader, ChangeId};
use crate::document::{ApplyOutcome, Document, MAX_LAMPORT, Object, split_at_counter};
use crate::encoding::EncodedChange;
use crate::encoding::record::{read_batch, read_segment, unreadable_changes};
use crate::error::{ApplyError, EditError};
use crate::id::{OpId, ReplicaId};
use crate::log::{RunOp, TextRun};
use crate::text::{IdSpan, Text, TextError, TextInsert};

/// What `apply_records` (or `apply_batch`) did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Changes applied: the records' and held ones they released.
    pub applied: u64,
    /// Changes of the records held until their dependencies arrive.
    pub pending: u64,
    /// Changes of the records already applied or held.
    pub duplicates: u64,
    /// Changes of the records refused (an equivocation, an invalid header,
    /// a full buffer), the document unchanged by them; the rest of a
    /// segment after a refused change is not applied (it depends on it).
    pub refused: Vec<(ChangeId, ApplyError)>,
    /// Held changes that became ready but turned out invalid; dropped.
    pub rejected: Vec<(ChangeId, ApplyError)>,
    /// Applied changes whose operations could not be read or applied, each
    /// applied as an empty change (`Document::unreadable`).
    pub unreadable: Vec<ChangeId>,
}

impl BatchOutcome {
    fn add(&mut self, o: ApplyOutcome) {
        self.applied += o.applied.len() as u64;
        self.pending += u64::from(o.pending);
        self.duplicates += u64::from(o.duplicate);
        self.rejected.extend(o.rejected);
        self.unreadable.extend(o.unreadable);
    }
}

/// A run's ops joined: what is applied to the text.
pub(crate) enum Step {
    /// Chars `id.counter .. end`.
    Insert {
        id: OpId,
        end: u64,
        insert: TextInsert,
    },
    Delete(IdSpan),
}

impl Document {
    /// Applies records from a peer (a relay, `records_since`). Never fails
    /// as a whole: a change that cannot be applied is listed in `refused`
    /// (the document unchanged by it) and the rest go on.
    pub fn apply_records(&mut self, records: impl IntoIterator<Item = Record>) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        for record in records {
            match record {
                Record::Change(change) => {
                    self.apply_counted(change, &mut outcome);
                }
                Record::Run(run) => {
                    for seg in run.segments() {
                        self.apply_segment(&seg, &mut outcome);
                    }
                }
            }
        }
        outcome
    }

    /// Applies a batch from `export_since` (untrusted bytes). Bytes that do
    /// not decode are an error before anything changes; a change that is
    /// refused is an error too, after the records were applied as
    /// `apply_records` applies them (callers that need all or nothing work
    /// on a copy, as `merge` does).
    pub fn apply_batch(&mut self, bytes: &[u8]) -> Result<BatchOutcome, ApplyError> {
        let records = read_batch(bytes)?;
        let outcome = self.apply_records(records);
        match outcome.refused.first() {
            Some((_, e)) => Err(e.clone()),
            None => Ok(outcome),
        }
    }

    /// `apply`, counted in `outcome`; `false` if the change was refused.
    fn apply_counted(&mut self, change: EncodedChange, outcome: &mut BatchOutcome) -> bool {
        let id = change.id();
        match self.apply(change) {
            Ok(o) => {
                outcome.add(o);
                true
            }
            Err(e) => {
                outcome.refused.push((id, e));
                false
            }
        }
    }

    /// Applies one segment of a run record.
    fn apply_segment(&mut self, seg: &SegmentRef<'_>, outcome: &mut BatchOutcome) {
        let known = self.version.get(seg.replica);
        if seg.last_seq() <= known && self.log.segment_matches(seg) {
            outcome.duplicates += seg.count;
            return;
        }
        let Ok((run, steps)) = read_segment(seg) else {
            // Every replica takes these changes as empty, unreadable ones.
            for change in unreadable_changes(seg) {
                if !self.apply_counted(change, outcome) {
                    return;
                }
            }
            return;
        };
        if seg.first_seq > known && self.run_fits(&run) {
            let text = self.text(run.obj).expect("run_fits checked the object");
            if check_steps(text, &run, &steps).is_ok() {
                self.integrate(run, &steps, outcome);
                return;
            }
        }
        // Change by change: the general path finds what is wrong, if
        // anything, and which change it is; what follows a refused change
        // depends on it.
        let mut at = run.cursor(0);
        for index in 0..run.len {
            let (change, next) = run.change(index, at);
            at = next;
            if !self.apply_counted(change.encode(), outcome) {
                return;
            }
        }
    }

    /// Applies a run that `run_fits` and whose joined ops `check_steps`
    /// accepted.
    fn integrate(&mut self, run: TextRun, steps: &[Step], outcome: &mut BatchOutcome) {
        let text = self.text_mut(run.obj).expect("checked by run_fits");
        for step in steps {
            match step {
                Step::Insert { id, insert, .. } => {
                    text.apply_checked_insert(*id, insert);
                }
                Step::Delete(span) => {
                    text.apply_checked_deletes(std::slice::from_ref(span));
                }
            }
        }
        let (replica, first, last) = (run.replica, run.first_seq, run.last_seq());
        self.record_run(run);
        outcome.applied += last - first + 1;
        if !self.pending.is_empty() {
            for id in self.pending.waited_on(replica, first..=last) {
                let mut released = ApplyOutcome::default();
                self.release(id, &mut released);
                outcome.add(released);
            }
        }
    }

    /// Can `run` be integrated as a whole: its first change is ready, its
    /// Lamport counters follow its dependencies and stay in range, its op
    /// counters follow the replica's, its object is a text, and none of it
    /// is held?
    fn run_fits(&self, run: &TextRun) -> bool {
        let header = ChangeHeader {
            id: ChangeId::new(run.replica, run.first_seq),
            deps: run.deps.clone(),
            lamport: run.first_lamport,
        };
        header.is_ready(&self.version)
            && self.lamport_follows_deps(&header)
            && run.last_lamport() <= MAX_LAMPORT
            && run.first_op == self.log.next_op(run.replica)
            && matches!(self.objects.get(&run.obj), Some(Object::Text(_)))
            && !self
                .pending
                .holds_any(run.replica, run.first_seq..=run.last_seq())
    }
}

/// Joins a run's ops, fed in order (`TextRun::from_saved_visiting`), into
/// steps: chars typed one after another become one insert, adjacent single
/// deletes (backspacing, deleting forward) one span. Applying the steps in
/// order gives what applying the ops in order gives.
pub(crate) struct Joiner {
    own: ReplicaId,
    steps: Vec<Step>,
}

impl Joiner {
    pub(crate) fn new(own: ReplicaId) -> Self {
        Joiner {
            own,
            steps: Vec::new(),
        }
    }

    /// The op with counter `c` (a delete's spans in `spans`).
    pub(crate) fn visit(&mut self, c: u64, op: &RunOp<'_>, spans: &[IdSpan]) {
        let own = self.own;
        match op {
            RunOp::Insert {
                origin_left,
                right_parent,
                content,
                chars,
            } => {
                if let Some(Step::Insert { end, insert, .. }) = self.steps.last_mut()
                    && *end == c
                    && right_parent.is_none()
                    && *origin_left == Some(OpId::new(own, c - 1))
                {
                    insert.content.push_str(content);
                    *end += chars;
                    return;
                }
                self.steps.push(Step::Insert {
                    id: OpId::new(own, c),
                    end: c + chars,
                    insert: TextInsert {
                        origin_left: *origin_left,
                        right_parent: *right_parent,
                        content: (*content).to_owned(),
                    },
                });
            }
            RunOp::Delete => {
                if let [one] = spans
                    && let Some(Step::Delete(prev)) = self.steps.last_mut()
                    && one.start.replica == prev.start.replica
                {
                    if one.start.counter + one.len == prev.start.counter {
                        prev.start = one.start;
                        prev.len += one.len;
                        return;
                    }
                    if prev.start.counter + prev.len == one.start.counter {
                        prev.len += one.len;
                        return;
                    }
                }
                self.steps.extend(spans.iter().map(|s| Step::Delete(*s)));
            }
        }
    }

    pub(crate) fn finish(self) -> Vec<Step> {
        self.steps
    }
}

/// Checks the joined ops of `run` against `text` as it is before the run:
/// every id they name exists, in the text or inserted earlier by the run,
/// and every right_parent shares its insert's origin_left. The ids the run
/// inserts are new: they follow the replica's last op counter.
fn check_steps(text: &Text, run: &TextRun, steps: &[Step]) -> Result<(), EditError> {
    let own = run.replica;
    // The run's inserts so far: (first counter, end counter, origin_left of
    // the first char), counters ascending.
    let mut inserted: Vec<(u64, u64, Option<OpId>)> = Vec::new();
    let origin_left_of = |inserted: &[(u64, u64, Option<OpId>)], id: OpId| {
        if id.replica != own || id.counter < run.first_op {
            return text.origin_left_of(id);
        }
        let i = inserted.partition_point(|&(start, _, _)| start <= id.counter);
        match i.checked_sub(1).map(|i| inserted[i]) {
            Some((start, end, left)) if id.counter < end => Ok(if id.counter == start {
                left
            } else {
                Some(OpId::new(own, id.counter - 1))
            }),
            _ => Err(TextError::UnknownId(id)),
        }
    };
    for step in steps {
        match step {
            Step::Insert { id, end, insert } => {
                if let Some(left) = insert.origin_left {
                    origin_left_of(&inserted, left)?;
                }
                if let Some(right) = insert.right_parent
                    && origin_left_of(&inserted, right)? != insert.origin_left
                {
                    return Err(TextError::BadRightParent(right).into());
                }
                inserted.push((id.counter, *end, insert.origin_left));
            }
            Step::Delete(span) => {
                let (old, new) = split_at_counter(*span, own, run.first_op);
                if let Some(old) = old {
                    text.check_delete(old)?;
                }
                if let Some(new) = new
                    && !covered(&inserted, new)
                {
                    return Err(TextError::UnknownId(new.start).into());
                }
            }
        }
    }
    Ok(())
}

/// Are all ids of `span` (the run's own, from its first op on) inserted by
/// the given inserts?
fn covered(inserted: &[(u64, u64, Option<OpId>)], span: IdSpan) -> bool {
    let end = span.start.counter + span.len;
    let mut next = span.start.counter;
    let mut i = inserted.partition_point(|&(start, _, _)| start <= next);
    if i == 0 {
        return false;
    }
    i -= 1;
    while let Some(&(start, stop, _)) = inserted.get(i) {
        if start > next || next >= stop {
            return false;
        }
        next = stop;
        if next >= end {
            return true;
        }
        i += 1;
    }
    false
}

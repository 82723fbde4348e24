//! A document: nested objects (maps, sets, texts) plus the history that made
//! them, causal delivery of remote changes and anti-entropy queries.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::causal::CausalBuffer;
use crate::change::{Change, ChangeHeader, ChangeId, NewValue, Op};
use crate::clock::Lamport;
use crate::encoding::{DecodeOps, EncodedChange};
use crate::error::{ApplyError, EditError};
use crate::id::{OpId, ReplicaId};
use crate::log::{ChangeLog, TextRun};
use crate::map::{LwwMap, MapEntry};
use crate::set::OrSet;
use crate::text::{IdSpan, Text, TextError};
use crate::transaction::Transaction;
use crate::value::{ChildId, ObjId, ObjType, Value};
use crate::version::VersionVector;

/// How many causally-unready changes a document holds by default.
pub const DEFAULT_PENDING_CAPACITY: usize = 10_000;

/// The largest Lamport counter a change may carry. Far beyond any real
/// history, and it leaves room to count on: a peer cannot push our clock to
/// `u64::MAX` and make our next local change overflow.
pub const MAX_LAMPORT: u64 = 1 << 62;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Object {
    Map(LwwMap),
    Set(OrSet),
    Text(Text),
}

impl Object {
    pub(crate) fn new(ty: ObjType) -> Self {
        match ty {
            ObjType::Map => Object::Map(LwwMap::new()),
            ObjType::Set => Object::Set(OrSet::new()),
            ObjType::Text => Object::Text(Text::new()),
        }
    }

    pub(crate) fn ty(&self) -> ObjType {
        match self {
            Object::Map(_) => ObjType::Map,
            Object::Set(_) => ObjType::Set,
            Object::Text(_) => ObjType::Text,
        }
    }
}

/// Whether a change's operations were applied, or it became an empty one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Applied {
    Readable,
    Unreadable,
}

/// What `apply` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// Changes applied, in order: the given one (if it was ready) and every
    /// held change it released.
    pub applied: Vec<ChangeId>,
    /// The given change is held until its dependencies arrive.
    pub pending: bool,
    /// The given change was already applied or held: nothing to do.
    pub duplicate: bool,
    /// Held changes that became ready but turned out invalid; dropped.
    pub rejected: Vec<(ChangeId, ApplyError)>,
    /// Applied changes (among `applied`) whose operations could not be read
    /// or applied: each became an empty change, on every replica alike.
    pub unreadable: Vec<ChangeId>,
}

#[derive(Clone, Debug)]
pub struct Document {
    pub(crate) replica: ReplicaId,
    pub(crate) objects: BTreeMap<ObjId, Object>,
    pub(crate) version: VersionVector,
    /// Changes no other applied change depends on: sorted, at most one per
    /// replica (a sorted `Vec`: it is small, and typing replaces one entry).
    pub(crate) heads: Vec<ChangeId>,
    pub(crate) max_lamport: u64,
    pub(crate) log: ChangeLog,
    pub(crate) pending: CausalBuffer<EncodedChange>,
    /// Changes whose operations could not be read or applied, applied as
    /// empty changes, with why (derived from the history: the log keeps
    /// their bytes, and `save` marks them).
    pub(crate) unreadable: BTreeMap<ChangeId, String>,
}

/// Two documents are equal when their state and history are: the local replica
/// id and changes still waiting for dependencies do not count.
impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        self.objects == other.objects && self.version == other.version && self.log == other.log
    }
}

impl Document {
    /// An empty document (a root map) edited locally as `replica`.
    pub fn new(replica: ReplicaId) -> Self {
        let mut objects = BTreeMap::new();
        objects.insert(ObjId::Root, Object::Map(LwwMap::new()));
        Document {
            replica,
            objects,
            version: VersionVector::new(),
            heads: Vec::new(),
            max_lamport: 0,
            log: ChangeLog::default(),
            pending: CausalBuffer::new(DEFAULT_PENDING_CAPACITY),
            unreadable: BTreeMap::new(),
        }
    }

    /// Sets how many causally-unready changes may wait (default
    /// `DEFAULT_PENDING_CAPACITY`). Drops anything currently held.
    #[must_use]
    pub fn with_pending_capacity(mut self, capacity: usize) -> Self {
        self.pending = CausalBuffer::new(capacity);
        self
    }

    /// A copy of this document that edits as another replica.
    #[must_use]
    pub fn fork(&self, replica: ReplicaId) -> Self {
        let mut doc = self.clone();
        doc.replica = replica;
        doc
    }

    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    // ---- reading ----

    pub fn object_type(&self, obj: ObjId) -> Option<ObjType> {
        self.objects.get(&obj).map(Object::ty)
    }

    pub fn map(&self, obj: ObjId) -> Result<&LwwMap, EditError> {
        match self.object(obj)? {
            Object::Map(m) => Ok(m),
            other => Err(wrong_type(obj, ObjType::Map, other)),
        }
    }

    pub fn set(&self, obj: ObjId) -> Result<&OrSet, EditError> {
        match self.object(obj)? {
            Object::Set(s) => Ok(s),
            other => Err(wrong_type(obj, ObjType::Set, other)),
        }
    }

    pub fn text(&self, obj: ObjId) -> Result<&Text, EditError> {
        match self.object(obj)? {
            Object::Text(t) => Ok(t),
            other => Err(wrong_type(obj, ObjType::Text, other)),
        }
    }

    /// The winning value of `key` in map `obj`.
    pub fn get(&self, obj: ObjId, key: &str) -> Result<Option<&Value>, EditError> {
        Ok(self.map(obj)?.get(key))
    }

    /// Every concurrent value of `key`, winner first.
    pub fn get_all(&self, obj: ObjId, key: &str) -> Result<&[MapEntry], EditError> {
        Ok(self.map(obj)?.get_all(key))
    }

    /// The version: which changes this document has applied.
    pub fn version(&self) -> &VersionVector {
        &self.version
    }

    /// Changes no other applied change depends on.
    pub fn heads(&self) -> Vec<ChangeId> {
        self.heads.clone()
    }

    /// Changes held because their dependencies have not arrived.
    pub fn pending(&self) -> Vec<ChangeId> {
        self.pending.pending_ids()
    }

    /// Dependencies of held changes that have not arrived.
    pub fn missing(&self) -> Vec<ChangeId> {
        self.pending.missing()
    }

    /// Changes whose operations could not be read (they do not decode) or
    /// applied (they do not fit the document), with the reason. Each was
    /// applied as an empty change: the same on every replica, so replicas
    /// still converge and the changes after it still apply. A person should
    /// be told ("1 change from device X could not be read").
    pub fn unreadable(&self) -> &BTreeMap<ChangeId, String> {
        &self.unreadable
    }

    /// What to tell a person about `unreadable` changes, if there are any:
    /// "1 change from device 0a1b2c3d could not be read (…)".
    pub fn unreadable_summary(&self) -> Option<String> {
        let (first, why) = self.unreadable.iter().next()?;
        let mut devices: Vec<String> = self
            .unreadable
            .keys()
            .map(|id| format!("{:08x}", id.replica.0 >> 96))
            .collect();
        devices.dedup();
        let n = self.unreadable.len();
        Some(format!(
            "{n} change{} from device{} {} could not be read and {} left out \
             (first: {first:?}, {why})",
            if n == 1 { "" } else { "s" },
            if devices.len() == 1 { "" } else { "s" },
            devices.join(", "),
            if n == 1 { "was" } else { "were" },
        ))
    }

    /// Exactly the changes `since` lacks, in causal order.
    pub fn changes_since(&self, since: &VersionVector) -> Vec<EncodedChange> {
        self.log.since(since).collect()
    }

    /// Like `changes_since`, but stops before the total encoded size would
    /// exceed `max_bytes` (always at least one change if any is missing).
    pub fn changes_since_limited(
        &self,
        since: &VersionVector,
        max_bytes: usize,
    ) -> Vec<EncodedChange> {
        let mut total = 0;
        let mut out = Vec::new();
        for change in self.log.since(since) {
            total += change.bytes().len();
            if total > max_bytes && !out.is_empty() {
                break;
            }
            out.push(change);
        }
        out
    }

    /// One applied change.
    pub fn change(&self, id: ChangeId) -> Option<EncodedChange> {
        self.log.get(id)
    }

    /// Number of changes in the history.
    pub fn history_len(&self) -> usize {
        self.log.len()
    }

    // ---- local edits ----

    /// Starts a local change. Each edit is applied as it is made, through the
    /// same code path as remote operations; the change is finished by
    /// `commit` (or when the transaction is dropped).
    pub fn transaction(&mut self) -> Transaction<'_> {
        let first_op = self.log.next_op(self.replica);
        let lamport = self.max_lamport + 1;
        Transaction::new(self, first_op, lamport)
    }

    // ---- remote changes ----

    /// Applies a change from anywhere, in any order, any number of times.
    /// Not-yet-ready changes wait for their dependencies; duplicates are
    /// no-ops; an invalid change is an error and leaves the document as it was.
    pub fn apply(&mut self, change: EncodedChange) -> Result<ApplyOutcome, ApplyError> {
        let id = change.id();
        let mut outcome = ApplyOutcome::default();
        let equal = |known: &EncodedChange| known.bytes() == change.bytes();
        let known = match self.log.get(id) {
            Some(applied) => Some(equal(&applied)),
            None => self.pending.get(id).map(equal),
        };
        if let Some(equal) = known {
            if !equal {
                return Err(ApplyError::Equivocation(id));
            }
            outcome.duplicate = true;
            return Ok(outcome);
        }
        if !change.header().is_ready(&self.version) {
            self.pending
                .insert(change.header().clone(), change, &self.version)
                .map_err(|full| ApplyError::BufferFull {
                    capacity: full.capacity,
                })?;
            outcome.pending = true;
            return Ok(outcome);
        }
        if self.apply_ready(&change)? == Applied::Unreadable {
            outcome.unreadable.push(id);
        }
        outcome.applied.push(id);
        self.release(id, &mut outcome);
        Ok(outcome)
    }

    /// After `done` was applied: applies the held changes it makes ready, and
    /// those they make ready in turn.
    pub(crate) fn release(&mut self, done: ChangeId, outcome: &mut ApplyOutcome) {
        let mut released = VecDeque::from([done]);
        while let Some(done) = released.pop_front() {
            for (header, held) in self.pending.take_ready_after(done, &self.version) {
                match self.apply_ready(&held) {
                    Ok(applied) => {
                        if applied == Applied::Unreadable {
                            outcome.unreadable.push(header.id);
                        }
                        outcome.applied.push(header.id);
                        released.push_back(header.id);
                    }
                    Err(e) => outcome.rejected.push((header.id, e)),
                }
            }
        }
    }

    /// Decodes and applies a change received as bytes.
    pub fn apply_bytes(&mut self, bytes: Vec<u8>) -> Result<ApplyOutcome, ApplyError> {
        self.apply(EncodedChange::decode(bytes)?)
    }

    /// Applies several changes; stops at the first error.
    pub fn apply_all(
        &mut self,
        changes: impl IntoIterator<Item = EncodedChange>,
    ) -> Result<ApplyOutcome, ApplyError> {
        let mut total = ApplyOutcome::default();
        for change in changes {
            let o = self.apply(change)?;
            total.applied.extend(o.applied);
            total.rejected.extend(o.rejected);
        }
        Ok(total)
    }

    /// State merge: takes every change of `other` this document lacks. Ends in
    /// the same state as delivering those changes one by one. All or nothing.
    /// The changes travel as records (`records_since` / `apply_records`),
    /// so typing is integrated run by run.
    pub fn merge(&mut self, other: &Document) -> Result<ApplyOutcome, ApplyError> {
        let mut merged = self.clone();
        let batch = merged.apply_records(other.records_since(&self.version, usize::MAX));
        if let Some((_, e)) = batch.refused.into_iter().next() {
            return Err(e);
        }
        let mut applied: Vec<(u64, ChangeId)> = Vec::new();
        for (replica, seq) in merged.version.iter() {
            for seq in self.version.get(replica) + 1..=seq {
                let id = ChangeId::new(replica, seq);
                let lamport = merged.log.lamport(id).expect("an applied change is logged");
                applied.push((lamport, id));
            }
        }
        applied.sort_unstable();
        let outcome = ApplyOutcome {
            applied: applied.into_iter().map(|(_, id)| id).collect(),
            pending: false,
            duplicate: false,
            rejected: batch.rejected,
            unreadable: batch.unreadable,
        };
        *self = merged;
        Ok(outcome)
    }

    /// Validates, then applies, a causally ready change. Its header must
    /// fit (a relay checks the same before it stores a change); its
    /// operations, which a relay never reads, may not: a change whose ops
    /// do not decode or do not fit the document is applied as an empty
    /// change and recorded (`unreadable`), the same way on every replica, so
    /// that one bad change stalls no one.
    fn apply_ready(&mut self, encoded: &EncodedChange) -> Result<Applied, ApplyError> {
        let header = encoded.header();
        let id = header.id;
        if !self.lamport_follows_deps(header) {
            return Err(ApplyError::Invalid {
                id,
                reason: EditError::InvalidOp(
                    "lamport not greater than its dependencies' or out of range",
                ),
            });
        }
        let first_op = self.log.next_op(id.replica);
        let change = match encoded.decode_change() {
            Ok(change) => change,
            Err(e) => {
                self.record_unreadable(
                    encoded,
                    first_op,
                    format!("its operations do not decode: {e}"),
                );
                return Ok(Applied::Unreadable);
            }
        };
        let width = change
            .ops
            .iter()
            .try_fold(0u64, |acc, op| acc.checked_add(op.width()))
            .filter(|w| first_op.checked_add(*w).is_some())
            .ok_or(EditError::CounterOverflow)
            .and_then(|width| self.validate_ops(&change, first_op).map(|()| width));
        let width = match width {
            Ok(width) => width,
            Err(e) => {
                self.record_unreadable(
                    encoded,
                    first_op,
                    format!("its operations do not fit: {e}"),
                );
                return Ok(Applied::Unreadable);
            }
        };
        let lamport = Lamport::new(change.header.lamport, id.replica);
        let mut counter = first_op;
        for op in &change.ops {
            self.apply_op(OpId::new(id.replica, counter), lamport, op)
                .expect("a validated operation applies");
            counter += op.width();
        }
        self.record(&change, Some(encoded.shared_bytes()), first_op, width);
        Ok(Applied::Readable)
    }

    /// Adds a change whose ops could not be read or applied to the history
    /// as an empty change (no ops, no op counters), keeping its bytes.
    pub(crate) fn record_unreadable(
        &mut self,
        encoded: &EncodedChange,
        first_op: u64,
        why: String,
    ) {
        let empty = Change {
            header: encoded.header().clone(),
            ops: Vec::new(),
        };
        self.record(&empty, Some(encoded.shared_bytes()), first_op, 0);
        self.unreadable.insert(empty.header.id, why);
    }

    /// Is the change's Lamport counter greater than every dependency's (the
    /// causal order of the history and of `changes_since` relies on it) and
    /// at most `MAX_LAMPORT`?
    pub(crate) fn lamport_follows_deps(&self, header: &ChangeHeader) -> bool {
        header.lamport <= MAX_LAMPORT
            && header.all_deps().all(|dep| {
                self.log
                    .lamport(dep)
                    .is_some_and(|lamport| header.lamport > lamport)
            })
    }

    /// Checks every operation of `change` against the current state (plus what
    /// earlier operations of the same change create) without modifying
    /// anything, so that a bad change is rejected as a whole.
    fn validate_ops(&self, change: &Change, first_op: u64) -> Result<(), EditError> {
        let replica = change.id().replica;
        let mut new_objects: BTreeMap<ObjId, ObjType> = BTreeMap::new();
        // Text inserted earlier in this change: (object, ids, origin_left of
        // the first char).
        let mut new_text: Vec<(ObjId, IdSpan, Option<OpId>)> = Vec::new();
        let mut counter = first_op;
        for (i, op) in change.ops.iter().enumerate() {
            // Only ops after this one can refer to what it creates.
            let more = i + 1 < change.ops.len();
            let id = OpId::new(replica, counter);
            let obj = op.obj();
            let existing = self.objects.get(&obj);
            let ty = existing
                .map(Object::ty)
                .or_else(|| new_objects.get(&obj).copied())
                .ok_or(EditError::NoSuchObject(obj))?;
            let expect = |expected: ObjType| {
                if ty == expected {
                    Ok(())
                } else {
                    Err(EditError::WrongType {
                        obj,
                        expected,
                        found: ty,
                    })
                }
            };
            let text = match existing {
                Some(Object::Text(t)) => Some(t),
                _ => None,
            };
            match op {
                Op::MapSet { .. } => {
                    expect(ObjType::Map)?;
                    if let Some((child, child_ty)) = created_object(op, id) {
                        match self.objects.get(&child).map(Object::ty) {
                            Some(t) if t != child_ty => {
                                return Err(EditError::WrongType {
                                    obj: child,
                                    expected: child_ty,
                                    found: t,
                                });
                            }
                            _ if more => {
                                new_objects.insert(child, child_ty);
                            }
                            _ => {}
                        }
                    }
                }
                Op::MapDelete { .. } => expect(ObjType::Map)?,
                Op::SetAdd { .. } | Op::SetRemove { .. } => expect(ObjType::Set)?,
                Op::TextInsert { insert, .. } => {
                    expect(ObjType::Text)?;
                    // The same checks as `Text::check_insert`, seeing the text
                    // as it will be when this op applies.
                    let ids = IdSpan {
                        start: id,
                        len: op.width(),
                    };
                    if text.is_some_and(|t| t.contains_any(ids)) {
                        return Err(TextError::DuplicateId(id).into());
                    }
                    let origin_left_of = |c: OpId| origin_left_of(text, &new_text, obj, c);
                    if let Some(left) = insert.origin_left {
                        origin_left_of(left)?;
                    }
                    if let Some(right) = insert.right_parent
                        && origin_left_of(right)? != insert.origin_left
                    {
                        return Err(TextError::BadRightParent(right).into());
                    }
                    if more {
                        new_text.push((obj, ids, insert.origin_left));
                    }
                }
                Op::TextDelete { spans, .. } => {
                    expect(ObjType::Text)?;
                    for span in spans {
                        // One span may cover older characters and characters
                        // inserted earlier in this change (same replica, ids
                        // from `first_op` on): check each part where it lives.
                        let (old, new) = split_at_counter(*span, replica, first_op);
                        let old_known =
                            old.is_none_or(|old| text.is_some_and(|t| t.check_delete(old).is_ok()));
                        let new_known = new.is_none_or(|new| covered_by(&new_text, obj, new));
                        if !old_known || !new_known {
                            return Err(TextError::UnknownId(span.start).into());
                        }
                    }
                }
            }
            counter += op.width();
        }
        Ok(())
    }

    /// Applies one operation with id `id`. The only place state changes: local
    /// edits and remote changes both come through here.
    pub(crate) fn apply_op(
        &mut self,
        id: OpId,
        lamport: Lamport,
        op: &Op,
    ) -> Result<(), EditError> {
        match op {
            Op::MapSet {
                obj,
                key,
                value,
                pred,
            } => {
                self.map_mut(*obj)?;
                let value = match (value, created_object(op, id)) {
                    (NewValue::Scalar(s), _) => Value::Scalar(s.clone()),
                    (_, None) => unreachable!("an object value names its object"),
                    (_, Some((child, ty))) => {
                        // A container at a key may exist already (made by
                        // this replica or another): it is kept, contents
                        // and all.
                        let existing = self.objects.entry(child).or_insert_with(|| Object::new(ty));
                        if existing.ty() != ty {
                            return Err(wrong_type(child, ty, existing));
                        }
                        Value::Object(child, ty)
                    }
                };
                let entry = MapEntry { id, lamport, value };
                self.map_mut(*obj)?.apply(key, pred, Some(entry));
            }
            Op::MapDelete { obj, key, pred } => self.map_mut(*obj)?.apply(key, pred, None),
            Op::SetAdd { obj, value } => self.set_mut(*obj)?.add(value.clone(), id),
            Op::SetRemove {
                obj,
                value,
                observed,
            } => self.set_mut(*obj)?.remove(value, observed),
            Op::TextInsert { obj, insert } => {
                self.text_mut(*obj)?.apply_insert(id, insert)?;
            }
            Op::TextDelete { obj, spans } => {
                let text = self.text_mut(*obj)?;
                for span in spans {
                    text.check_delete(*span)?;
                }
                text.apply_checked_deletes(spans);
            }
        }
        Ok(())
    }

    /// Adds an applied change, whose ops use counters `first_op ..
    /// first_op + width`, to the history and the clocks. `bytes`: its
    /// encoding, if there is one already. Returns the bytes the history keeps
    /// when it keeps the change as bytes.
    pub(crate) fn record(
        &mut self,
        change: &Change,
        bytes: Option<&Arc<[u8]>>,
        first_op: u64,
        width: u64,
    ) -> Option<Arc<[u8]>> {
        self.observe_header(&change.header);
        self.log.push(change, bytes, first_op, width)
    }

    /// The clocks' part of `record`: heads, version, Lamport.
    pub(crate) fn observe_header(&mut self, header: &ChangeHeader) {
        // Typing: the change takes its predecessor's place among the heads
        // (nothing sorts between a change and the next of its replica).
        if header.deps.is_empty()
            && header.id.seq > 1
            && let Ok(i) = self
                .heads
                .binary_search(&ChangeId::new(header.id.replica, header.id.seq - 1))
        {
            self.heads[i] = header.id;
        } else {
            for dep in header.all_deps() {
                self.remove_head(dep);
            }
            self.insert_head(header.id);
        }
        self.version.observe(header.id.replica, header.id.seq);
        self.max_lamport = self.max_lamport.max(header.lamport);
    }

    /// Adds a run of changes read from a saved document (checked by the
    /// loader) to the history and the clocks.
    pub(crate) fn record_run(&mut self, run: TextRun) {
        for dep in &run.deps {
            self.remove_head(*dep);
        }
        if run.first_seq > 1 {
            self.remove_head(ChangeId::new(run.replica, run.first_seq - 1));
        }
        self.insert_head(ChangeId::new(run.replica, run.last_seq()));
        self.version.observe(run.replica, run.last_seq());
        self.max_lamport = self.max_lamport.max(run.last_lamport());
        // Runs stay maximal: one that continues the replica's last run
        // (a record cut in pieces, typing sent as it is typed) joins it.
        if self.log.last_run(run.replica).is_some_and(|last| {
            last.continued_by(run.first_lamport, run.obj, &run.deps) && last.end_op == run.first_op
        }) {
            self.log.extend_run(&run);
        } else {
            self.log.push_run(run);
        }
    }

    fn remove_head(&mut self, id: ChangeId) {
        if let Ok(i) = self.heads.binary_search(&id) {
            self.heads.remove(i);
        }
    }

    fn insert_head(&mut self, id: ChangeId) {
        if let Err(i) = self.heads.binary_search(&id) {
            self.heads.insert(i, id);
        }
    }

    fn object(&self, obj: ObjId) -> Result<&Object, EditError> {
        self.objects.get(&obj).ok_or(EditError::NoSuchObject(obj))
    }

    fn object_mut(&mut self, obj: ObjId) -> Result<&mut Object, EditError> {
        self.objects
            .get_mut(&obj)
            .ok_or(EditError::NoSuchObject(obj))
    }

    fn map_mut(&mut self, obj: ObjId) -> Result<&mut LwwMap, EditError> {
        match self.object_mut(obj)? {
            Object::Map(m) => Ok(m),
            other => Err(wrong_type(obj, ObjType::Map, other)),
        }
    }

    fn set_mut(&mut self, obj: ObjId) -> Result<&mut OrSet, EditError> {
        match self.object_mut(obj)? {
            Object::Set(s) => Ok(s),
            other => Err(wrong_type(obj, ObjType::Set, other)),
        }
    }

    pub(crate) fn text_mut(&mut self, obj: ObjId) -> Result<&mut Text, EditError> {
        match self.object_mut(obj)? {
            Object::Text(t) => Ok(t),
            other => Err(wrong_type(obj, ObjType::Text, other)),
        }
    }
}

/// The object a `MapSet` with id `id` points its key at, and its type; `None`
/// for a scalar value.
pub(crate) fn created_object(op: &Op, id: OpId) -> Option<(ObjId, ObjType)> {
    match op {
        Op::MapSet {
            obj,
            key,
            value: NewValue::Object(ty),
            ..
        } => Some((ObjId::Child(ChildId::of(*obj, key, *ty)), *ty)),
        Op::MapSet {
            value: NewValue::LegacyObject(ty),
            ..
        } => Some((ObjId::Op(id), *ty)),
        _ => None,
    }
}

/// Splits `span` into the ids below `counter` and from `counter` on, where
/// the span belongs to `replica` (other replicas' ids are all "below").
pub(crate) fn split_at_counter(
    span: IdSpan,
    replica: ReplicaId,
    counter: u64,
) -> (Option<IdSpan>, Option<IdSpan>) {
    let start = span.start.counter;
    let end = start + span.len;
    if span.start.replica != replica || end <= counter {
        return (Some(span), None);
    }
    if start >= counter {
        return (None, Some(span));
    }
    (
        Some(IdSpan {
            start: span.start,
            len: counter - start,
        }),
        Some(IdSpan {
            start: OpId::new(replica, counter),
            len: end - counter,
        }),
    )
}

/// Are all ids of `span` inserted into `obj` by the given inserts? The inserts
/// of one change have consecutive, ascending ids, so walk them in order.
fn covered_by(inserted: &[(ObjId, IdSpan, Option<OpId>)], obj: ObjId, span: IdSpan) -> bool {
    let mut next = span.start.counter;
    let end = span.start.counter + span.len;
    for (o, s, _) in inserted {
        if *o == obj
            && s.start.replica == span.start.replica
            && s.start.counter <= next
            && next < s.start.counter + s.len
        {
            next = s.start.counter + s.len;
            if next >= end {
                return true;
            }
        }
    }
    false
}

/// The origin_left of char `c` of text `obj`, which is either in the text
/// already or was inserted earlier in the change being validated (char `k` of
/// an insert was typed after char `k - 1`).
fn origin_left_of(
    text: Option<&Text>,
    inserted: &[(ObjId, IdSpan, Option<OpId>)],
    obj: ObjId,
    c: OpId,
) -> Result<Option<OpId>, TextError> {
    for (o, s, first_left) in inserted {
        if *o == obj
            && s.start.replica == c.replica
            && s.start.counter <= c.counter
            && c.counter < s.start.counter + s.len
        {
            return Ok(if c.counter == s.start.counter {
                *first_left
            } else {
                Some(OpId::new(c.replica, c.counter - 1))
            });
        }
    }
    text.ok_or(TextError::UnknownId(c))?.origin_left_of(c)
}

fn wrong_type(obj: ObjId, expected: ObjType, found: &Object) -> EditError {
    EditError::WrongType {
        obj,
        expected,
        found: found.ty(),
    }
}

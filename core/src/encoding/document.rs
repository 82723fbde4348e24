//! Saving and loading a whole document: snapshot + history.
//!
//! ```text
//! "CCDOC" version(5)
//! replicas: n, replica[16]*n              -- table for every OpId below
//! version:  n, (replica_index seq)*n
//! objects:  n, (obj type body)*n         -- the snapshot, in ObjId order
//! history:  n, record*n                  -- in order of (lamport, id) of
//!                                           each record's first change
//! crc32 of all the above, little-endian
//!
//! record:   0 change_bytes               -- one change, any kind
//!         | 2 change_bytes why:str       -- a change applied as an empty
//!                                           one: its ops did not decode or
//!                                           fit (`Document::unreadable`)
//!         | 1 replica_index lamport n    -- a text run (`log/run.rs`): n
//!           obj deps others run_bytes       changes; seq and op counters
//!                                           follow the replica's previous
//! deps:     n, (replica_index seq)*n     -- the first change's, sorted,
//!                                           other replicas
//! others:   n, replica_index*n           -- in order of first mention
//! ```
//! The history is stored as the in-memory log keeps it: every change that a
//! text run can hold is in one, runs are maximal, and the loader rejects
//! anything else. So the bytes depend only on the set of changes applied,
//! never on delivery order or on which replica saves. Loading checks every
//! run's bytes but builds no change.
//!
//! Version 4 is the same format; it had no containers at keys
//! (`ObjId::Child`, written as replica index 0, counter 0, 16 bytes), and
//! version 5 says so, so that a reader that predates them refuses the file
//! by its version rather than by a puzzling id.
//!
//! Version 3 differed in one thing: every change of a run had the run's
//! dependencies, so a run ended at the change typed after a merge. It is
//! still read, change by change into today's runs, and saved as version 4.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::change::{obj_type_from_tag, obj_type_tag, read_scalar, write_scalar};
use super::codec::{Reader, Writer};
use super::ids::{ReplicaIndex, read_id, read_obj, read_opt_id, write_id, write_obj, write_opt_id};
use super::{DecodeOps, EncodedChange};
use crate::change::{ChangeHeader, ChangeId};
use crate::clock::Lamport;
use crate::document::{Document, MAX_LAMPORT, Object};
use crate::error::{ApplyError, DecodeError};
use crate::id::ReplicaId;
use crate::log::{Record, SavedRun, TextRun};
use crate::map::{LwwMap, MapEntry};
use crate::set::{Element, OrSet};
use crate::text::{SpanRecord, Text};
use crate::value::{ObjId, ObjType, Value};
use crate::version::VersionVector;

const MAGIC: &[u8; 5] = b"CCDOC";
const VERSION: u8 = 5;
/// Version 4 is version 5 without containers at keys (`ObjId::Child`), which
/// older readers cannot name: read as it is.
const VERSION_4: u8 = 4;
/// Version 3 runs: every change of a run had the run's dependencies. Read
/// change by change into today's runs (which a merge no longer splits).
const VERSION_3: u8 = 3;
const OBJECT_REF: u8 = 16;
// History record tags.
const SINGLE: u8 = 0;
const TEXT_RUN: u8 = 1;
/// A change whose ops could not be read or applied (`Document::unreadable`),
/// applied as an empty change (version 5 on).
const UNREADABLE: u8 = 2;

/// A format's replica table: sorted, so a replica's index is found by search.
pub(crate) struct Table(pub(crate) Vec<ReplicaId>);

impl Table {
    /// `n, replica[16]*n`.
    pub(crate) fn write(&self, w: &mut Writer) {
        w.len(self.0.len());
        for r in &self.0 {
            w.raw(&r.to_bytes());
        }
    }

    /// A table `write` wrote (untrusted: it must be sorted and distinct).
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Table, DecodeError> {
        let n = r.count(16)?;
        let mut replicas: Vec<ReplicaId> = Vec::with_capacity(n);
        for _ in 0..n {
            let id = ReplicaId::from_bytes(r.array()?);
            if replicas.last().is_some_and(|&l| l >= id) {
                return Err(DecodeError::Invalid("replica table not sorted"));
            }
            replicas.push(id);
        }
        Ok(Table(replicas))
    }
}

impl ReplicaIndex for Table {
    fn index(&self, r: ReplicaId) -> u64 {
        self.0
            .binary_search(&r)
            .expect("the table lists every replica in the document") as u64
    }

    fn get(&self, i: u64) -> Result<ReplicaId, DecodeError> {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.0.get(i))
            .copied()
            .ok_or(DecodeError::Invalid("replica index out of range"))
    }
}

impl Document {
    /// The whole document: snapshot for fast loading plus the full history.
    pub fn save(&self) -> Vec<u8> {
        let table = Table(self.replicas_mentioned().into_iter().collect());
        let mut w = Writer::new();
        w.raw(MAGIC);
        w.u8(VERSION);
        table.write(&mut w);
        w.len(self.version.len());
        for (r, seq) in self.version.iter() {
            w.uvarint(table.index(r));
            w.uvarint(seq);
        }
        w.len(self.objects.len());
        for (obj, object) in &self.objects {
            write_obj(&mut w, *obj, &table);
            w.u8(obj_type_tag(object.ty()));
            match object {
                Object::Map(m) => write_map(&mut w, m, &table),
                Object::Set(s) => write_set(&mut w, s, &table),
                Object::Text(t) => write_text(&mut w, t, &table),
            }
        }
        let records = self.log.records();
        w.len(records.len());
        for (replica, record) in records {
            match record {
                Record::Single(single) => {
                    let why = self.unreadable.get(&ChangeId::new(replica, single.seq()));
                    w.u8(if why.is_some() { UNREADABLE } else { SINGLE });
                    w.bytes(single.bytes());
                    if let Some(why) = why {
                        w.str(why);
                    }
                }
                Record::Run(run) => {
                    w.u8(TEXT_RUN);
                    w.uvarint(table.index(replica));
                    w.uvarint(run.first_lamport);
                    w.uvarint(run.len);
                    write_run_body(&mut w, run, &table);
                }
            }
        }
        let crc = crc32fast::hash(&w.buf);
        w.raw(&crc.to_le_bytes());
        w.into_inner()
    }

    /// Loads a document saved by `save`, to be edited as `replica`. Uses the
    /// snapshot (no replay); checks the checksum, the structure and that the
    /// history is causally complete and matches the snapshot's version.
    pub fn load(bytes: &[u8], replica: ReplicaId) -> Result<Document, DecodeError> {
        let Some(body_len) = bytes.len().checked_sub(4) else {
            return Err(DecodeError::Truncated);
        };
        let (body, crc) = bytes.split_at(body_len);
        if !body.starts_with(MAGIC) {
            return Err(DecodeError::BadMagic("document"));
        }
        let mut crc_bytes = [0u8; 4];
        crc_bytes.copy_from_slice(crc);
        if crc32fast::hash(body) != u32::from_le_bytes(crc_bytes) {
            return Err(DecodeError::Checksum);
        }
        let mut r = Reader::new(body);
        r.raw(MAGIC.len())?;
        let version = r.u8()?;
        if ![VERSION, VERSION_4, VERSION_3].contains(&version) {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let table = Table::read(&mut r)?;
        let n = r.count(2)?;
        let mut snapshot_version = VersionVector::new();
        for _ in 0..n {
            let replica = table.get(r.uvarint()?)?;
            snapshot_version.observe(replica, r.uvarint()?);
        }
        let mut doc = Document::new(replica);
        doc.objects.clear();
        let n = r.count(2)?;
        let mut last_obj = None;
        for _ in 0..n {
            let obj = read_obj(&mut r, &table)?;
            if last_obj.is_some_and(|l| l >= obj) {
                return Err(DecodeError::Invalid("objects not sorted"));
            }
            last_obj = Some(obj);
            let object = match obj_type_from_tag(r.u8()?)? {
                ObjType::Map => Object::Map(read_map(&mut r, &table)?),
                ObjType::Set => Object::Set(read_set(&mut r, &table)?),
                ObjType::Text => Object::Text(read_text(&mut r, &table)?),
            };
            doc.objects.insert(obj, object);
        }
        check_references(&doc)?;
        let n = r.count(2)?;
        let mut last_key = None;
        for _ in 0..n {
            let key = match r.u8()? {
                SINGLE => load_single(&mut doc, r.bytes()?)?,
                UNREADABLE if version == VERSION => {
                    let bytes = r.bytes()?;
                    load_unreadable(&mut doc, bytes, r.str()?)?
                }
                TEXT_RUN => load_run(&mut doc, &mut r, &table, version)?,
                other => return Err(DecodeError::UnknownTag(other)),
            };
            if last_key.is_some_and(|last| last >= key) {
                return Err(DecodeError::Invalid("history records out of order"));
            }
            last_key = Some(key);
        }
        r.finish()?;
        if doc.version != snapshot_version {
            return Err(DecodeError::Invalid("snapshot and history disagree"));
        }
        Ok(doc)
    }

    /// Merges a document saved elsewhere (untrusted bytes): its history is
    /// replayed through the validated change path, its snapshot ignored. All
    /// or nothing: on error this document is unchanged.
    pub fn import(&mut self, bytes: &[u8]) -> Result<crate::ApplyOutcome, ApplyError> {
        let other = Document::load(bytes, self.replica)?;
        self.merge(&other)
    }

    fn replicas_mentioned(&self) -> BTreeSet<ReplicaId> {
        let mut set: BTreeSet<ReplicaId> = self.version.iter().map(|(r, _)| r).collect();
        for run in self.log.runs() {
            set.insert(run.replica);
            set.extend(run.deps.iter().map(|d| d.replica));
            set.extend(run.others.iter().copied());
            if let ObjId::Op(id) = run.obj {
                set.insert(id.replica);
            }
        }
        for (obj, object) in &self.objects {
            if let ObjId::Op(id) = obj {
                set.insert(id.replica);
            }
            match object {
                Object::Map(m) => {
                    for (_, entries) in m.iter_entries() {
                        set.extend(entries.iter().map(|e| e.id.replica));
                    }
                }
                Object::Set(s) => {
                    for (_, el) in s.elements() {
                        set.extend(el.adds.iter().map(|t| t.replica));
                        set.extend(el.removed.iter().map(|(r, _)| r));
                    }
                }
                Object::Text(t) => {
                    for span in t.spans() {
                        set.insert(span.id.replica);
                        set.extend(span.origin_left.map(|o| o.replica));
                        set.extend(span.right_parent.map(|o| o.replica));
                    }
                }
            }
        }
        set
    }
}

/// Where a history record sorts: Lamport, replica and seq of its first change.
type RecordKey = (u64, ReplicaId, u64);

/// Checks a change kept as bytes and adds it to the history.
fn load_single(doc: &mut Document, bytes: &[u8]) -> Result<RecordKey, DecodeError> {
    let encoded = EncodedChange::decode_shared(Arc::from(bytes))?;
    let change = encoded.decode_change()?;
    let header = &change.header;
    check_header(doc, header)?;
    let first_op = doc.log.next_op(header.id.replica);
    let width = change
        .ops
        .iter()
        .try_fold(0u64, |acc, op| acc.checked_add(op.width()))
        .filter(|w| first_op.checked_add(*w).is_some())
        .ok_or(DecodeError::Invalid("change width out of range"))?;
    if TextRun::can_hold(&change, first_op) {
        return Err(DecodeError::Invalid(
            "history keeps a change outside the text run that must hold it",
        ));
    }
    let key = (header.lamport, header.id.replica, header.id.seq);
    doc.record(&change, Some(encoded.shared_bytes()), first_op, width);
    Ok(key)
}

/// Adds a change saved as unreadable: its header is checked, its ops are
/// not read (they did not decode, or did not fit, when it was applied).
fn load_unreadable(doc: &mut Document, bytes: &[u8], why: &str) -> Result<RecordKey, DecodeError> {
    let encoded = EncodedChange::decode_shared(Arc::from(bytes))?;
    let header = encoded.header();
    check_header(doc, header)?;
    let key = (header.lamport, header.id.replica, header.id.seq);
    let first_op = doc.log.next_op(header.id.replica);
    doc.record_unreadable(&encoded, first_op, why.to_owned());
    Ok(key)
}

/// Reads, checks and adds a text run to the history.
fn load_run(
    doc: &mut Document,
    r: &mut Reader<'_>,
    t: &Table,
    version: u8,
) -> Result<RecordKey, DecodeError> {
    let replica = t.get(r.uvarint()?)?;
    let lamport = r.uvarint()?;
    let len = r.uvarint()?;
    let (obj, deps, others, data) = read_run_body(r, t, replica)?;
    let seq = doc
        .version
        .get(replica)
        .checked_add(1)
        .ok_or(DecodeError::Invalid("seq out of range"))?;
    let last = len
        .checked_sub(1)
        .ok_or(DecodeError::Invalid("empty text run"))?;
    if lamport == 0
        || seq.checked_add(last).is_none()
        || lamport.checked_add(last).is_none_or(|l| l > MAX_LAMPORT)
    {
        return Err(DecodeError::Invalid("text run out of range"));
    }
    let header = ChangeHeader {
        id: ChangeId::new(replica, seq),
        deps,
        lamport,
    };
    check_header(doc, &header)?;
    if version == VERSION_3 {
        load_v3_run(doc, &header, obj, others, len, data)?;
        return Ok((lamport, replica, seq));
    }
    if doc
        .log
        .last_run(replica)
        .is_some_and(|prev| prev.continued_by(lamport, obj, &header.deps))
    {
        return Err(DecodeError::Invalid("history text runs not maximal"));
    }
    let first_op = doc.log.next_op(replica);
    let run = TextRun::from_saved(SavedRun {
        replica,
        first_seq: seq,
        first_lamport: lamport,
        first_op,
        obj,
        deps: header.deps,
        others,
        len,
        data,
    })?;
    doc.record_run(run);
    Ok((lamport, replica, seq))
}

/// A run's object, dependencies, table of other replicas and bytes, as the
/// saved document and the batch (`batch.rs`) both write them after their own
/// fields.
pub(crate) fn write_run_body(w: &mut Writer, run: &TextRun, table: &impl ReplicaIndex) {
    write_obj(w, run.obj, table);
    w.len(run.deps.len());
    for d in &run.deps {
        w.uvarint(table.index(d.replica));
        w.uvarint(d.seq);
    }
    w.len(run.others.len());
    for r in &run.others {
        w.uvarint(table.index(*r));
    }
    w.bytes(run.data());
}

/// The run body `write_run_body` wrote for a run of `replica`, checked: sorted
/// distinct dependencies on other replicas, a distinct table of others.
pub(crate) type RunBody<'a> = (ObjId, Vec<ChangeId>, Vec<ReplicaId>, &'a [u8]);

pub(crate) fn read_run_body<'a>(
    r: &mut Reader<'a>,
    t: &impl ReplicaIndex,
    replica: ReplicaId,
) -> Result<RunBody<'a>, DecodeError> {
    let obj = read_obj(r, t)?;
    let n = r.count(2)?;
    let mut deps: Vec<ChangeId> = Vec::with_capacity(n);
    for _ in 0..n {
        let dep = ChangeId::new(t.get(r.uvarint()?)?, r.uvarint()?);
        if dep.replica == replica
            || dep.seq == 0
            || deps.last().is_some_and(|last| last.replica >= dep.replica)
        {
            return Err(DecodeError::Invalid(
                "text run dependencies not sorted, distinct, other replicas",
            ));
        }
        deps.push(dep);
    }
    let n = r.count(1)?;
    let mut others = Vec::with_capacity(n);
    for _ in 0..n {
        others.push(t.get(r.uvarint()?)?);
    }
    // Distinct: a short table (the usual) is checked pairwise, a long one
    // sorted.
    let distinct = if n <= 8 {
        others
            .iter()
            .enumerate()
            .all(|(i, o)| !others[..i].contains(o))
    } else {
        let mut sorted = others.clone();
        sorted.sort_unstable();
        sorted.windows(2).all(|w| w[0] != w[1])
    };
    if !distinct || others.contains(&replica) {
        return Err(DecodeError::Invalid(
            "text run replica table not distinct, other replicas",
        ));
    }
    let data = r.bytes()?;
    Ok((obj, deps, others, data))
}

/// A version 3 run, whose changes all had `header.deps`: checked as saved,
/// then added change by change, so that the history keeps today's runs.
fn load_v3_run(
    doc: &mut Document,
    header: &ChangeHeader,
    obj: ObjId,
    others: Vec<ReplicaId>,
    len: u64,
    data: &[u8],
) -> Result<(), DecodeError> {
    let replica = header.id.replica;
    let run = TextRun::from_saved(SavedRun {
        replica,
        first_seq: header.id.seq,
        first_lamport: header.lamport,
        first_op: doc.log.next_op(replica),
        obj,
        deps: header.deps.clone(),
        others,
        len,
        data,
    })?;
    let mut at = run.cursor(0);
    for index in 0..run.len {
        let (mut change, next) = run.change(index, at);
        at = next;
        change.header.deps.clone_from(&header.deps);
        let first_op = doc.log.next_op(replica);
        let width = change.ops.iter().map(crate::change::Op::width).sum();
        doc.record(&change, None, first_op, width);
    }
    Ok(())
}

/// A change (or a run's first) may follow what is loaded so far.
fn check_header(doc: &Document, header: &ChangeHeader) -> Result<(), DecodeError> {
    if !header.is_ready(&doc.version) {
        return Err(DecodeError::Invalid("history is not causally complete"));
    }
    if !doc.lamport_follows_deps(header) {
        return Err(DecodeError::Invalid(
            "history has a lamport out of causal order",
        ));
    }
    Ok(())
}

/// Every object a map points at exists with the type the map claims.
fn check_references(doc: &Document) -> Result<(), DecodeError> {
    if !matches!(doc.objects.get(&ObjId::Root), Some(Object::Map(_))) {
        return Err(DecodeError::Invalid("root map missing"));
    }
    for object in doc.objects.values() {
        if let Object::Map(m) = object {
            for (_, entries) in m.iter_entries() {
                for e in entries {
                    if let Value::Object(child, ty) = e.value
                        && doc.object_type(child) != Some(ty)
                    {
                        return Err(DecodeError::Invalid("map points at a missing object"));
                    }
                }
            }
        }
    }
    Ok(())
}

fn write_map(w: &mut Writer, m: &LwwMap, t: &Table) {
    w.len(m.len());
    for (key, entries) in m.iter_entries() {
        w.str(key);
        w.len(entries.len());
        for e in entries {
            write_id(w, e.id, t);
            w.uvarint(e.lamport.counter);
            match &e.value {
                Value::Scalar(s) => write_scalar(w, s),
                Value::Object(obj, ty) => {
                    w.u8(OBJECT_REF + obj_type_tag(*ty));
                    write_obj(w, *obj, t);
                }
            }
        }
    }
}

fn read_map(r: &mut Reader<'_>, t: &Table) -> Result<LwwMap, DecodeError> {
    let mut map = LwwMap::new();
    let n = r.count(2)?;
    let mut last_key: Option<&str> = None;
    for _ in 0..n {
        let key = r.str()?;
        if last_key.is_some_and(|l| l >= key) {
            return Err(DecodeError::Invalid("map keys not sorted"));
        }
        last_key = Some(key);
        let m = r.count(4)?;
        if m == 0 {
            return Err(DecodeError::Invalid("map key without values"));
        }
        let mut entries = Vec::with_capacity(m);
        for _ in 0..m {
            let id = read_id(r, t)?;
            let lamport = Lamport::new(r.uvarint()?, id.replica);
            let mut peek = r.clone();
            let tag = peek.u8()?;
            let value = if tag >= OBJECT_REF {
                r.u8()?;
                let ty = obj_type_from_tag(tag - OBJECT_REF)?;
                Value::Object(read_obj(r, t)?, ty)
            } else {
                Value::Scalar(read_scalar(r)?)
            };
            entries.push(MapEntry { id, lamport, value });
        }
        map.restore_key(key.to_owned(), entries);
    }
    Ok(map)
}

fn write_set(w: &mut Writer, s: &OrSet, t: &Table) {
    let elements: Vec<_> = s.elements().collect();
    w.len(elements.len());
    for (value, el) in elements {
        write_scalar(w, value);
        w.len(el.adds.len());
        for tag in &el.adds {
            write_id(w, *tag, t);
        }
        w.len(el.removed.len());
        for (r, c) in el.removed.iter() {
            w.uvarint(t.index(r));
            w.uvarint(c);
        }
    }
}

fn read_set(r: &mut Reader<'_>, t: &Table) -> Result<OrSet, DecodeError> {
    let mut set = OrSet::new();
    let n = r.count(3)?;
    let mut last = None;
    for _ in 0..n {
        let value = read_scalar(r)?;
        if last.as_ref().is_some_and(|l| *l >= value) {
            return Err(DecodeError::Invalid("set values not sorted"));
        }
        last = Some(value.clone());
        let mut element = Element::default();
        let m = r.count(2)?;
        for _ in 0..m {
            element.adds.insert(read_id(r, t)?);
        }
        let m = r.count(2)?;
        for _ in 0..m {
            let replica = t.get(r.uvarint()?)?;
            element.removed.observe(replica, r.uvarint()?);
        }
        set.restore(value, element);
    }
    Ok(set)
}

fn write_text(w: &mut Writer, text: &Text, t: &Table) {
    let spans = text.spans();
    w.len(spans.len());
    for s in &spans {
        write_id(w, s.id, t);
        w.uvarint(s.len);
        write_opt_id(w, s.origin_left, t);
        write_opt_id(w, s.right_parent, t);
        match &s.content {
            None => w.u8(0),
            Some(c) => {
                w.u8(1);
                w.str(c);
            }
        }
    }
}

fn read_text(r: &mut Reader<'_>, t: &Table) -> Result<Text, DecodeError> {
    let n = r.count(5)?;
    let mut spans = Vec::with_capacity(n);
    for _ in 0..n {
        let id = read_id(r, t)?;
        let len = r.uvarint()?;
        let origin_left = read_opt_id(r, t)?;
        let right_parent = read_opt_id(r, t)?;
        let content = match r.u8()? {
            0 => None,
            1 => Some(r.str()?.to_owned()),
            other => return Err(DecodeError::UnknownTag(other)),
        };
        spans.push(SpanRecord {
            id,
            len,
            origin_left,
            right_parent,
            content,
        });
    }
    Text::from_spans(spans).map_err(|_| DecodeError::Invalid("text snapshot"))
}

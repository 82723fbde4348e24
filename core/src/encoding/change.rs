//! Binary encoding of one change.
//!
//! ```text
//! "CC" version(1)
//! replica[16] seq lamport                    -- the change id and clock
//! n_others replica[16]*n_others              -- replica table, sorted; index 0 = own
//! n_deps (replica_index seq)*n_deps          -- dependencies
//! ops: length-prefixed block                 -- opaque to relays
//! ```
//! Every OpId inside the ops is `(replica_index, counter)` into the table.
//! The encoding is canonical: one change has exactly one byte string. The
//! decoder enforces it as it reads (minimal varints, sorted table and
//! dependencies, every table entry used), so it never needs to re-encode.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use super::codec::{Reader, Writer};
use super::ids::{ReplicaIndex, read_id, read_obj, read_opt_id, write_id, write_obj, write_opt_id};
use crate::change::{Change, ChangeHeader, ChangeId, NewValue, Op};
use crate::error::DecodeError;
use crate::id::{OpId, ReplicaId};
use crate::text::{IdSpan, TextInsert};
use crate::value::{ObjId, ObjType, ScalarValue};
use crate::version::VersionVector;

const MAGIC: &[u8; 2] = b"CC";
const VERSION: u8 = 1;

/// A change as bytes, with its header decoded. This is what travels between
/// peers and what a relay stores; the operations are only decoded by
/// documents (`decode_change`).
/// Cloning is cheap: the bytes are shared. A change committed locally starts
/// without bytes (and without an allocation of its own): they are encoded the
/// first time they are asked for, or when the change is cloned, as most local
/// changes never travel one by one.
#[derive(Debug)]
pub struct EncodedChange {
    repr: Repr,
}

#[derive(Debug)]
enum Repr {
    Encoded {
        header: ChangeHeader,
        bytes: Arc<[u8]>,
    },
    Lazy {
        change: Change,
        bytes: OnceLock<Arc<[u8]>>,
    },
}

/// A clone shares the bytes, encoding them first if need be, so that every
/// copy of a change holds one encoding.
impl Clone for EncodedChange {
    fn clone(&self) -> Self {
        EncodedChange::from_parts(self.header().clone(), Arc::clone(self.shared_bytes()))
    }
}

/// Equal when the bytes are (a change has exactly one encoding).
impl PartialEq for EncodedChange {
    fn eq(&self, other: &Self) -> bool {
        self.header() == other.header() && self.bytes() == other.bytes()
    }
}

impl Eq for EncodedChange {}

impl EncodedChange {
    /// Decodes and validates the header only; the ops block is kept opaque
    /// (only its length is checked).
    pub fn decode(bytes: Vec<u8>) -> Result<Self, DecodeError> {
        Self::decode_shared(bytes.into())
    }

    /// As `decode`, for bytes already shared (e.g. kept in a history).
    pub fn decode_shared(bytes: Arc<[u8]>) -> Result<Self, DecodeError> {
        let mut r = Reader::new(&bytes);
        let (header, _table) = read_header(&mut r)?;
        let _ops = r.bytes()?;
        r.finish()?;
        Ok(EncodedChange {
            repr: Repr::Encoded { header, bytes },
        })
    }

    /// A change made here, encoded when its bytes are first asked for. Only
    /// for changes built canonically (by a transaction).
    pub(crate) fn lazy(change: Change) -> Self {
        EncodedChange {
            repr: Repr::Lazy {
                change,
                bytes: OnceLock::new(),
            },
        }
    }

    /// A change and its canonical bytes, encoded already.
    pub(crate) fn from_parts(header: ChangeHeader, bytes: Arc<[u8]>) -> Self {
        EncodedChange {
            repr: Repr::Encoded { header, bytes },
        }
    }

    pub fn header(&self) -> &ChangeHeader {
        match &self.repr {
            Repr::Encoded { header, .. } => header,
            Repr::Lazy { change, .. } => &change.header,
        }
    }

    pub fn id(&self) -> ChangeId {
        self.header().id
    }

    pub fn bytes(&self) -> &[u8] {
        self.shared_bytes()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes().to_vec()
    }

    /// The shared bytes.
    pub fn shared_bytes(&self) -> &Arc<[u8]> {
        match &self.repr {
            Repr::Encoded { bytes, .. } => bytes,
            Repr::Lazy { change, bytes } => bytes.get_or_init(|| encode(change).into()),
        }
    }

    /// Decodes the operations too.
    pub fn decode_change(&self) -> Result<Change, DecodeError> {
        let mut r = Reader::new(self.bytes());
        let (header, table) = read_header(&mut r)?;
        let ops_bytes = r.bytes()?;
        r.finish()?;
        let mut ops_reader = Reader::new(ops_bytes);
        let ops = read_ops(&mut ops_reader, &table)?;
        ops_reader.finish()?;
        if !table.all_used() {
            return Err(DecodeError::Invalid(
                "replica table lists an unused replica",
            ));
        }
        Ok(Change { header, ops })
    }
}

impl Change {
    pub fn encode(&self) -> EncodedChange {
        EncodedChange::from_parts(self.header.clone(), encode(self).into())
    }
}

/// The replicas a change mentions; index 0 is the change's own replica.
/// While decoding, it notes which entries were used.
struct ReplicaTable {
    own: ReplicaId,
    others: Vec<ReplicaId>,
    used: Vec<Cell<bool>>,
}

impl ReplicaIndex for ReplicaTable {
    fn index(&self, r: ReplicaId) -> u64 {
        if r == self.own {
            return 0;
        }
        let i = self
            .others
            .binary_search(&r)
            .expect("replica table lists every replica the change mentions");
        i as u64 + 1
    }

    fn get(&self, index: u64) -> Result<ReplicaId, DecodeError> {
        if index == 0 {
            return Ok(self.own);
        }
        let i = usize::try_from(index - 1)
            .ok()
            .filter(|&i| i < self.others.len())
            .ok_or(DecodeError::Invalid("replica index out of range"))?;
        if let Some(used) = self.used.get(i) {
            used.set(true);
        }
        Ok(self.others[i])
    }
}

impl ReplicaTable {
    fn all_used(&self) -> bool {
        self.used.iter().all(Cell::get)
    }
}

/// Every replica other than the change's own that it mentions, sorted.
fn mentioned_replicas(change: &Change) -> Vec<ReplicaId> {
    let own = change.header.id.replica;
    let mut out: Vec<ReplicaId> = Vec::new();
    let mut add = |r: ReplicaId| {
        if r != own {
            out.push(r);
        }
    };
    for d in &change.header.deps {
        add(d.replica);
    }
    for op in &change.ops {
        if let ObjId::Op(id) = op.obj() {
            add(id.replica);
        }
        match op {
            Op::MapSet { pred, .. } | Op::MapDelete { pred, .. } => {
                for p in pred {
                    add(p.replica);
                }
            }
            Op::SetAdd { .. } => {}
            Op::SetRemove { observed, .. } => observed.iter().for_each(|(r, _)| add(r)),
            Op::TextInsert { insert, .. } => {
                insert.origin_left.iter().for_each(|p| add(p.replica));
                insert.right_parent.iter().for_each(|p| add(p.replica));
            }
            Op::TextDelete { spans, .. } => spans.iter().for_each(|s| add(s.start.replica)),
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn encode(change: &Change) -> Vec<u8> {
    let h = &change.header;
    let table = ReplicaTable {
        own: h.id.replica,
        others: mentioned_replicas(change),
        used: Vec::new(),
    };
    let mut w = Writer::with_capacity(64 + 16 * table.others.len());
    w.raw(MAGIC);
    w.u8(VERSION);
    w.raw(&h.id.replica.to_bytes());
    w.uvarint(h.id.seq);
    w.uvarint(h.lamport);
    w.len(table.others.len());
    for r in &table.others {
        w.raw(&r.to_bytes());
    }
    w.len(h.deps.len());
    for d in &h.deps {
        w.uvarint(table.index(d.replica));
        w.uvarint(d.seq);
    }
    // The ops block is length-prefixed: write it in place, then splice the
    // prefix in front of it (cheaper than a second buffer and a copy).
    let ops_start = w.buf.len();
    write_ops(&mut w, &change.ops, &table);
    let mut prefix = Writer::new();
    prefix.len(w.buf.len() - ops_start);
    w.buf.splice(ops_start..ops_start, prefix.buf);
    w.into_inner()
}

fn read_header(r: &mut Reader<'_>) -> Result<(ChangeHeader, ReplicaTable), DecodeError> {
    if r.raw(2).map_err(|_| DecodeError::BadMagic("change"))? != MAGIC {
        return Err(DecodeError::BadMagic("change"));
    }
    let version = r.u8()?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let own = ReplicaId::from_bytes(r.array()?);
    let seq = r.uvarint()?;
    let lamport = r.uvarint()?;
    if seq == 0 || lamport == 0 {
        return Err(DecodeError::Invalid("seq and lamport start at 1"));
    }
    let n = r.count(16)?;
    let mut others = Vec::with_capacity(n);
    for _ in 0..n {
        let id = ReplicaId::from_bytes(r.array()?);
        if id == own || others.last().is_some_and(|&last| last >= id) {
            return Err(DecodeError::Invalid(
                "replica table not sorted and distinct",
            ));
        }
        others.push(id);
    }
    let used = vec![Cell::new(false); others.len()];
    let table = ReplicaTable { own, others, used };
    let n = r.count(2)?;
    let mut deps: Vec<ChangeId> = Vec::with_capacity(n);
    for _ in 0..n {
        let index = r.uvarint()?;
        if index == 0 {
            return Err(DecodeError::Invalid(
                "a change cannot list its own replica as a dependency",
            ));
        }
        let dep = ChangeId::new(table.get(index)?, r.uvarint()?);
        if dep.seq == 0 || deps.last().is_some_and(|last| last.replica >= dep.replica) {
            return Err(DecodeError::Invalid(
                "dependencies not sorted, distinct replicas",
            ));
        }
        deps.push(dep);
    }
    let header = ChangeHeader {
        id: ChangeId::new(own, seq),
        deps,
        lamport,
    };
    Ok((header, table))
}

// Op tags.
const MAP_SET: u8 = 1;
const MAP_DELETE: u8 = 2;
const SET_ADD: u8 = 3;
const SET_REMOVE: u8 = 4;
const TEXT_INSERT: u8 = 5;
const TEXT_DELETE: u8 = 6;

fn write_ops(w: &mut Writer, ops: &[Op], t: &ReplicaTable) {
    w.len(ops.len());
    for op in ops {
        match op {
            Op::MapSet {
                obj,
                key,
                value,
                pred,
            } => {
                w.u8(MAP_SET);
                write_obj(w, *obj, t);
                w.str(key);
                match value {
                    NewValue::Scalar(s) => write_scalar(w, s),
                    NewValue::Object(ty) => w.u8(CHILD_TAG + obj_type_tag(*ty)),
                    NewValue::LegacyObject(ty) => w.u8(OBJECT_TAG + obj_type_tag(*ty)),
                }
                write_ids(w, pred, t);
            }
            Op::MapDelete { obj, key, pred } => {
                w.u8(MAP_DELETE);
                write_obj(w, *obj, t);
                w.str(key);
                write_ids(w, pred, t);
            }
            Op::SetAdd { obj, value } => {
                w.u8(SET_ADD);
                write_obj(w, *obj, t);
                write_scalar(w, value);
            }
            Op::SetRemove {
                obj,
                value,
                observed,
            } => {
                w.u8(SET_REMOVE);
                write_obj(w, *obj, t);
                write_scalar(w, value);
                w.len(observed.len());
                for (r, c) in observed.iter() {
                    w.uvarint(t.index(r));
                    w.uvarint(c);
                }
            }
            Op::TextInsert { obj, insert } => {
                w.u8(TEXT_INSERT);
                write_obj(w, *obj, t);
                write_opt_id(w, insert.origin_left, t);
                write_opt_id(w, insert.right_parent, t);
                w.str(&insert.content);
            }
            Op::TextDelete { obj, spans } => {
                w.u8(TEXT_DELETE);
                write_obj(w, *obj, t);
                w.len(spans.len());
                for s in spans {
                    write_id(w, s.start, t);
                    w.uvarint(s.len);
                }
            }
        }
    }
}

fn read_ops(r: &mut Reader<'_>, t: &ReplicaTable) -> Result<Vec<Op>, DecodeError> {
    let n = r.count(2)?;
    let mut ops = Vec::with_capacity(n);
    for _ in 0..n {
        let tag = r.u8()?;
        let op = match tag {
            MAP_SET => {
                let obj = read_obj(r, t)?;
                let key = r.str()?.to_owned();
                let vtag = r.u8()?;
                let value = if vtag >= CHILD_TAG {
                    NewValue::Object(obj_type_from_tag(vtag - CHILD_TAG)?)
                } else if vtag >= OBJECT_TAG {
                    NewValue::LegacyObject(obj_type_from_tag(vtag - OBJECT_TAG)?)
                } else {
                    NewValue::Scalar(read_scalar_body(r, vtag)?)
                };
                let pred = read_ids(r, t)?;
                Op::MapSet {
                    obj,
                    key,
                    value,
                    pred,
                }
            }
            MAP_DELETE => Op::MapDelete {
                obj: read_obj(r, t)?,
                key: r.str()?.to_owned(),
                pred: read_ids(r, t)?,
            },
            SET_ADD => Op::SetAdd {
                obj: read_obj(r, t)?,
                value: read_scalar(r)?,
            },
            SET_REMOVE => {
                let obj = read_obj(r, t)?;
                let value = read_scalar(r)?;
                let n = r.count(2)?;
                let mut observed = VersionVector::new();
                let mut last = None;
                for _ in 0..n {
                    let replica = t.get(r.uvarint()?)?;
                    let counter = r.uvarint()?;
                    if counter == 0 || last.is_some_and(|l| l >= replica) {
                        return Err(DecodeError::Invalid("remove clock not canonical"));
                    }
                    last = Some(replica);
                    observed.observe(replica, counter);
                }
                Op::SetRemove {
                    obj,
                    value,
                    observed,
                }
            }
            TEXT_INSERT => {
                let obj = read_obj(r, t)?;
                let origin_left = read_opt_id(r, t)?;
                let right_parent = read_opt_id(r, t)?;
                let content = r.str()?.to_owned();
                if content.is_empty() {
                    return Err(DecodeError::Invalid("empty text insert"));
                }
                Op::TextInsert {
                    obj,
                    insert: TextInsert {
                        origin_left,
                        right_parent,
                        content,
                    },
                }
            }
            TEXT_DELETE => {
                let obj = read_obj(r, t)?;
                let n = r.count(3)?;
                let mut spans = Vec::with_capacity(n);
                for _ in 0..n {
                    let start = read_id(r, t)?;
                    let len = r.uvarint()?;
                    if len == 0 || start.counter.checked_add(len).is_none() {
                        return Err(DecodeError::Invalid("bad delete span"));
                    }
                    spans.push(IdSpan { start, len });
                }
                if spans.is_empty() {
                    return Err(DecodeError::Invalid("empty text delete"));
                }
                Op::TextDelete { obj, spans }
            }
            other => return Err(DecodeError::UnknownTag(other)),
        };
        ops.push(op);
    }
    Ok(ops)
}

fn write_ids(w: &mut Writer, ids: &[OpId], t: &ReplicaTable) {
    w.len(ids.len());
    for &id in ids {
        write_id(w, id, t);
    }
}

fn read_ids(r: &mut Reader<'_>, t: &ReplicaTable) -> Result<Vec<OpId>, DecodeError> {
    let n = r.count(2)?;
    (0..n).map(|_| read_id(r, t)).collect()
}

/// A new object with the op's id (`NewValue::LegacyObject`), by type.
const OBJECT_TAG: u8 = 16;
/// The container at the key (`NewValue::Object`), by type.
const CHILD_TAG: u8 = 24;

pub(crate) fn obj_type_tag(ty: ObjType) -> u8 {
    match ty {
        ObjType::Map => 0,
        ObjType::Set => 1,
        ObjType::Text => 2,
    }
}

pub(crate) fn obj_type_from_tag(tag: u8) -> Result<ObjType, DecodeError> {
    match tag {
        0 => Ok(ObjType::Map),
        1 => Ok(ObjType::Set),
        2 => Ok(ObjType::Text),
        other => Err(DecodeError::UnknownTag(other)),
    }
}

pub(crate) fn write_scalar(w: &mut Writer, s: &ScalarValue) {
    match s {
        ScalarValue::Null => w.u8(0),
        ScalarValue::Bool(false) => w.u8(1),
        ScalarValue::Bool(true) => w.u8(2),
        ScalarValue::Int(i) => {
            w.u8(3);
            w.ivarint(*i);
        }
        ScalarValue::F64(x) => {
            w.u8(4);
            w.raw(&x.to_le_bytes());
        }
        ScalarValue::Str(s) => {
            w.u8(5);
            w.str(s);
        }
        ScalarValue::Bytes(b) => {
            w.u8(6);
            w.bytes(b);
        }
    }
}

pub(crate) fn read_scalar(r: &mut Reader<'_>) -> Result<ScalarValue, DecodeError> {
    let tag = r.u8()?;
    read_scalar_body(r, tag)
}

fn read_scalar_body(r: &mut Reader<'_>, tag: u8) -> Result<ScalarValue, DecodeError> {
    Ok(match tag {
        0 => ScalarValue::Null,
        1 => ScalarValue::Bool(false),
        2 => ScalarValue::Bool(true),
        3 => ScalarValue::Int(r.ivarint()?),
        4 => ScalarValue::F64(f64::from_le_bytes(r.array()?)),
        5 => ScalarValue::Str(r.str()?.to_owned()),
        6 => ScalarValue::Bytes(r.bytes()?.to_vec()),
        other => return Err(DecodeError::UnknownTag(other)),
    })
}

//! The operations of one change: the block the change format
//! (`concord_wire::encoded`) carries as opaque bytes, which only documents
//! decode. Every op id inside is `(replica_index, counter)` into the
//! change's table (`ChangeTable`). The encoding is canonical: decoding
//! checks every table entry is used, so a change has exactly one encoding.

use concord_wire::encoded::{ChangeTable, EncodeLater, write_change};

use super::codec::{Reader, Writer};
use super::ids::{ReplicaIndex, read_id, read_obj, read_opt_id, write_id, write_obj, write_opt_id};
use crate::change::{Change, NewValue, Op};
use crate::error::DecodeError;
use crate::id::{OpId, ReplicaId};
use crate::text::{IdSpan, TextInsert};
use crate::value::{ObjId, ObjType, ScalarValue};
use crate::version::VersionVector;

pub use concord_wire::EncodedChange;

/// Reading a change's operations: what only a document does.
pub trait DecodeOps {
    /// Decodes the operations too.
    fn decode_change(&self) -> Result<Change, DecodeError>;
}

impl DecodeOps for EncodedChange {
    fn decode_change(&self) -> Result<Change, DecodeError> {
        let (table, ops_bytes) = self.parts()?;
        let mut ops_reader = Reader::new(ops_bytes);
        let ops = read_ops(&mut ops_reader, &table)?;
        ops_reader.finish()?;
        if !table.all_used() {
            return Err(DecodeError::Invalid(
                "replica table lists an unused replica",
            ));
        }
        Ok(Change {
            header: self.header().clone(),
            ops,
        })
    }
}

impl Change {
    pub fn encode(&self) -> EncodedChange {
        EncodedChange::from_parts(self.header.clone(), encode(self).into())
    }

    /// This change, encoded only when its bytes are first asked for. Only
    /// for changes built canonically (by a transaction).
    pub(crate) fn encode_later(self) -> EncodedChange {
        EncodedChange::later(self.header.clone(), Box::new(self))
    }
}

impl EncodeLater for Change {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
}

impl ReplicaIndex for ChangeTable {
    fn index(&self, r: ReplicaId) -> u64 {
        ChangeTable::index(self, r)
    }

    fn get(&self, index: u64) -> Result<ReplicaId, DecodeError> {
        ChangeTable::get(self, index)
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
    let table = ChangeTable::new(change.header.id.replica, mentioned_replicas(change));
    write_change(&change.header, &table, |w| {
        write_ops(w, &change.ops, &table);
    })
}

// Op tags.
const MAP_SET: u8 = 1;
const MAP_DELETE: u8 = 2;
const SET_ADD: u8 = 3;
const SET_REMOVE: u8 = 4;
const TEXT_INSERT: u8 = 5;
const TEXT_DELETE: u8 = 6;

fn write_ops(w: &mut Writer, ops: &[Op], t: &ChangeTable) {
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

fn read_ops(r: &mut Reader<'_>, t: &ChangeTable) -> Result<Vec<Op>, DecodeError> {
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

fn write_ids(w: &mut Writer, ids: &[OpId], t: &ChangeTable) {
    w.len(ids.len());
    for &id in ids {
        write_id(w, id, t);
    }
}

fn read_ids(r: &mut Reader<'_>, t: &ChangeTable) -> Result<Vec<OpId>, DecodeError> {
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

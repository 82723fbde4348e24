//! Operation and object ids on the wire: the replica as an index into a
//! table the enclosing format carries, then the counter.

use super::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::id::{OpId, ReplicaId};
use crate::value::{ChildId, ObjId};

/// A format's table of replicas.
pub(crate) trait ReplicaIndex {
    /// The index of a replica the table lists.
    fn index(&self, r: ReplicaId) -> u64;
    /// The replica at an index read from untrusted bytes.
    fn get(&self, index: u64) -> Result<ReplicaId, DecodeError>;
}

pub(crate) fn write_id(w: &mut Writer, id: OpId, t: &impl ReplicaIndex) {
    w.uvarint(t.index(id.replica));
    w.uvarint(id.counter);
}

pub(crate) fn read_id(r: &mut Reader<'_>, t: &impl ReplicaIndex) -> Result<OpId, DecodeError> {
    let replica = t.get(r.uvarint()?)?;
    counter(r).map(|c| OpId::new(replica, c))
}

/// `0` for none, else the replica index + 1 and the counter.
pub(crate) fn write_opt_id(w: &mut Writer, id: Option<OpId>, t: &impl ReplicaIndex) {
    match id {
        None => w.uvarint(0),
        Some(id) => {
            w.uvarint(t.index(id.replica) + 1);
            w.uvarint(id.counter);
        }
    }
}

pub(crate) fn read_opt_id(
    r: &mut Reader<'_>,
    t: &impl ReplicaIndex,
) -> Result<Option<OpId>, DecodeError> {
    match r.uvarint()? {
        0 => Ok(None),
        i => {
            let replica = t.get(i - 1)?;
            counter(r).map(|c| Some(OpId::new(replica, c)))
        }
    }
}

/// The root as "none"; an object made by an op as that op's id; a container
/// at a key as replica index 0, counter 0 (which no op id has) and its 16
/// bytes.
pub(crate) fn write_obj(w: &mut Writer, obj: ObjId, t: &impl ReplicaIndex) {
    match obj {
        ObjId::Root => w.uvarint(0),
        ObjId::Op(id) => write_opt_id(w, Some(id), t),
        ObjId::Child(child) => {
            w.uvarint(1);
            w.uvarint(0);
            w.raw(&child.0);
        }
    }
}

pub(crate) fn read_obj(r: &mut Reader<'_>, t: &impl ReplicaIndex) -> Result<ObjId, DecodeError> {
    let index = r.uvarint()?;
    if index == 0 {
        return Ok(ObjId::Root);
    }
    match r.uvarint()? {
        0 if index == 1 => Ok(ObjId::Child(ChildId(r.array()?))),
        0 => Err(DecodeError::Invalid("op counters start at 1")),
        c => Ok(ObjId::Op(OpId::new(t.get(index - 1)?, c))),
    }
}

fn counter(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    match r.uvarint()? {
        0 => Err(DecodeError::Invalid("op counters start at 1")),
        c => Ok(c),
    }
}

//! Changes: the unit of replication. One replica's atomic group of operations,
//! numbered 1, 2, 3, ... per replica, with its causal dependencies (the
//! header, `concord_wire::ChangeHeader`, all a relay reads).

pub use concord_wire::{ChangeHeader, ChangeId};

use crate::id::OpId;
use crate::text::{IdSpan, TextInsert};
use crate::value::{ObjId, ObjType, ScalarValue};
use crate::version::VersionVector;

/// What a map key is set to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewValue {
    Scalar(ScalarValue),
    /// The container of this type at the key (`ObjId::Child`), made empty if
    /// it does not exist yet. Replicas that set it concurrently all point at
    /// the same container, so what each writes into it is kept.
    Object(ObjType),
    /// A new empty object whose id is this operation's (`ObjId::Op`): how
    /// objects were made before container ids were derived. Decoded and
    /// applied so old histories replay; never made any more.
    LegacyObject(ObjType),
}

/// One operation. Its id is not stored: it is the change's first op counter
/// plus the widths of the operations before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Sets `key`, superseding the values with ids in `pred` (the values the
    /// writer saw). Concurrent writes both survive as a multi-value.
    MapSet {
        obj: ObjId,
        key: String,
        value: NewValue,
        pred: Vec<OpId>,
    },
    /// Removes the values with ids in `pred` from `key`.
    MapDelete {
        obj: ObjId,
        key: String,
        pred: Vec<OpId>,
    },
    /// Adds `value` to a set; this op's id is the add's tag.
    SetAdd { obj: ObjId, value: ScalarValue },
    /// Removes exactly the adds of `value` the remover had seen: every add tag
    /// `(r, c)` with `c <= observed[r]`. A concurrent add survives.
    SetRemove {
        obj: ObjId,
        value: ScalarValue,
        observed: VersionVector,
    },
    /// Inserts text; its first character's id is this op's id.
    TextInsert { obj: ObjId, insert: TextInsert },
    /// Deletes the characters with the given ids.
    TextDelete { obj: ObjId, spans: Vec<IdSpan> },
}

impl Op {
    /// How many op counters this operation uses.
    pub fn width(&self) -> u64 {
        match self {
            Op::TextInsert { insert, .. } => insert.content.chars().count() as u64,
            _ => 1,
        }
    }

    /// The object this operation targets.
    pub fn obj(&self) -> ObjId {
        match self {
            Op::MapSet { obj, .. }
            | Op::MapDelete { obj, .. }
            | Op::SetAdd { obj, .. }
            | Op::SetRemove { obj, .. }
            | Op::TextInsert { obj, .. }
            | Op::TextDelete { obj, .. } => *obj,
        }
    }
}

/// A change: header plus operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub header: ChangeHeader,
    pub ops: Vec<Op>,
}

impl Change {
    pub fn id(&self) -> ChangeId {
        self.header.id
    }

    /// Total op counters used by this change.
    pub fn width(&self) -> u64 {
        self.ops.iter().map(Op::width).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ReplicaId;

    #[test]
    fn an_insert_uses_one_counter_per_char() {
        let op = Op::TextInsert {
            obj: ObjId::Root,
            insert: TextInsert {
                origin_left: None,
                right_parent: None,
                content: "日本😀".into(),
            },
        };
        assert_eq!(op.width(), 3);
        let change = Change {
            header: ChangeHeader {
                id: ChangeId::new(ReplicaId(1), 1),
                deps: vec![],
                lamport: 1,
            },
            ops: vec![
                op,
                Op::SetAdd {
                    obj: ObjId::Root,
                    value: ScalarValue::Null,
                },
            ],
        };
        assert_eq!(change.width(), 4);
    }
}

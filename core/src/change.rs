//! Changes: the unit of replication. One replica's atomic group of operations,
//! numbered 1, 2, 3, ... per replica, with its causal dependencies.

use std::fmt;

use crate::id::{OpId, ReplicaId};
use crate::text::{IdSpan, TextInsert};
use crate::value::{ObjId, ObjType, ScalarValue};
use crate::version::VersionVector;

/// `(replica, seq)`: the `seq`-th change made by `replica` (seq starts at 1).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangeId {
    pub replica: ReplicaId,
    pub seq: u64,
}

impl ChangeId {
    pub fn new(replica: ReplicaId, seq: u64) -> Self {
        ChangeId { replica, seq }
    }
}

impl fmt::Debug for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}#{}", self.replica, self.seq)
    }
}

/// The causal metadata of a change: all a relay needs to store and order it
/// without reading its operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeHeader {
    pub id: ChangeId,
    /// Changes by *other* replicas this one depends on, sorted and distinct.
    /// The dependency on `(replica, seq - 1)` is implicit.
    pub deps: Vec<ChangeId>,
    /// Lamport counter: greater than the lamport of every dependency.
    pub lamport: u64,
}

impl ChangeHeader {
    /// Every change that must be applied before this one, including the
    /// implicit previous change of the same replica.
    pub fn all_deps(&self) -> impl Iterator<Item = ChangeId> + '_ {
        let prev = (self.id.seq > 1).then(|| ChangeId::new(self.id.replica, self.id.seq - 1));
        prev.into_iter().chain(self.deps.iter().copied())
    }

    /// Can this change be applied on top of `version`?
    pub fn is_ready(&self, version: &VersionVector) -> bool {
        version.get(self.id.replica) + 1 == self.id.seq
            && self.deps.iter().all(|d| version.contains(*d))
    }
}

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

    #[test]
    fn a_change_depends_on_its_predecessor_and_its_listed_deps() {
        let header = ChangeHeader {
            id: ChangeId::new(ReplicaId(1), 3),
            deps: vec![ChangeId::new(ReplicaId(2), 5)],
            lamport: 9,
        };
        let deps: Vec<_> = header.all_deps().collect();
        assert_eq!(
            deps,
            vec![
                ChangeId::new(ReplicaId(1), 2),
                ChangeId::new(ReplicaId(2), 5)
            ]
        );
        let mut version: VersionVector = [(ReplicaId(2), 5)].into_iter().collect();
        assert!(!header.is_ready(&version), "missing (1, 2)");
        version.observe(ReplicaId(1), 2);
        assert!(header.is_ready(&version));
        version.observe(ReplicaId(1), 3);
        assert!(!header.is_ready(&version), "already applied");
    }

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

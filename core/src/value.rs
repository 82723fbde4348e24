//! What documents hold: scalar values, object ids and object kinds.

use std::cmp::Ordering;
use std::fmt;

use crate::id::OpId;

/// A leaf value in a map or set.
#[derive(Clone, Debug)]
pub enum ScalarValue {
    Null,
    Bool(bool),
    Int(i64),
    F64(f64),
    Str(String),
    Bytes(Vec<u8>),
}

impl ScalarValue {
    fn rank(&self) -> u8 {
        match self {
            ScalarValue::Null => 0,
            ScalarValue::Bool(_) => 1,
            ScalarValue::Int(_) => 2,
            ScalarValue::F64(_) => 3,
            ScalarValue::Str(_) => 4,
            ScalarValue::Bytes(_) => 5,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            ScalarValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

// Floats compare by `total_cmp` so sets of values have one deterministic order
// on every replica (NaN included) and `Eq` is lawful.
impl Ord for ScalarValue {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (ScalarValue::Bool(a), ScalarValue::Bool(b)) => a.cmp(b),
            (ScalarValue::Int(a), ScalarValue::Int(b)) => a.cmp(b),
            (ScalarValue::F64(a), ScalarValue::F64(b)) => a.total_cmp(b),
            (ScalarValue::Str(a), ScalarValue::Str(b)) => a.cmp(b),
            (ScalarValue::Bytes(a), ScalarValue::Bytes(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for ScalarValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ScalarValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ScalarValue {}

impl fmt::Display for ScalarValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScalarValue::Null => write!(f, "null"),
            ScalarValue::Bool(b) => write!(f, "{b}"),
            ScalarValue::Int(i) => write!(f, "{i}"),
            ScalarValue::F64(x) => write!(f, "{x}"),
            ScalarValue::Str(s) => write!(f, "{s:?}"),
            ScalarValue::Bytes(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

impl From<&str> for ScalarValue {
    fn from(s: &str) -> Self {
        ScalarValue::Str(s.to_owned())
    }
}
impl From<String> for ScalarValue {
    fn from(s: String) -> Self {
        ScalarValue::Str(s)
    }
}
impl From<i64> for ScalarValue {
    fn from(i: i64) -> Self {
        ScalarValue::Int(i)
    }
}
impl From<f64> for ScalarValue {
    fn from(x: f64) -> Self {
        ScalarValue::F64(x)
    }
}
impl From<bool> for ScalarValue {
    fn from(b: bool) -> Self {
        ScalarValue::Bool(b)
    }
}
impl From<Vec<u8>> for ScalarValue {
    fn from(b: Vec<u8>) -> Self {
        ScalarValue::Bytes(b)
    }
}

/// The kinds of nested object a document can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjType {
    Map,
    Set,
    Text,
}

/// Addresses an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjId {
    /// The document's root map.
    Root,
    /// An object made before container ids were derived (saved format 4 and
    /// older): its id is the id of the operation that created it, so two
    /// replicas that created "the same" object concurrently made two. Read
    /// and edited, never made any more.
    Op(OpId),
    /// The container at a key of a map: its id is derived from the parent,
    /// the key and the type (`ChildId::of`), so every replica that creates
    /// it creates the same object and concurrent creations share contents.
    Child(ChildId),
}

/// The id of the container of type `ty` at `key` of map `parent`: 128 bits of
/// SHA-256 over the three, so it is the same on every replica and a crafted
/// key cannot name another container.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChildId(pub [u8; 16]);

impl ChildId {
    pub fn of(parent: ObjId, key: &str, ty: ObjType) -> ChildId {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"concord child v1\0");
        match parent {
            ObjId::Root => h.update([0]),
            ObjId::Op(id) => {
                h.update([1]);
                h.update(id.replica.to_bytes());
                h.update(id.counter.to_be_bytes());
            }
            ObjId::Child(c) => {
                h.update([2]);
                h.update(c.0);
            }
        }
        h.update((key.len() as u64).to_be_bytes());
        h.update(key.as_bytes());
        h.update([match ty {
            ObjType::Map => 0,
            ObjType::Set => 1,
            ObjType::Text => 2,
        }]);
        let digest = h.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        ChildId(id)
    }
}

impl fmt::Debug for ChildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "C")?;
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// What a map key holds: a scalar or a child object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Scalar(ScalarValue),
    Object(ObjId, ObjType),
}

impl Value {
    pub fn as_scalar(&self) -> Option<&ScalarValue> {
        match self {
            Value::Scalar(s) => Some(s),
            Value::Object(..) => None,
        }
    }

    pub fn as_object(&self) -> Option<(ObjId, ObjType)> {
        match self {
            Value::Object(id, ty) => Some((*id, *ty)),
            Value::Scalar(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_id_depends_on_parent_key_and_type_only() {
        let body = ChildId::of(ObjId::Root, "body", ObjType::Text);
        assert_eq!(body, ChildId::of(ObjId::Root, "body", ObjType::Text));
        assert_ne!(body, ChildId::of(ObjId::Root, "body", ObjType::Map));
        assert_ne!(body, ChildId::of(ObjId::Root, "bod", ObjType::Text));
        assert_ne!(body, ChildId::of(ObjId::Child(body), "body", ObjType::Text));
        // Pinned: another derivation would split every container in two.
        let hex = format!("{:032x}", u128::from_be_bytes(body.0));
        assert_eq!(hex, "67b84d3559a515287683b2f466f6a12d");
    }

    #[test]
    fn floats_have_a_total_order() {
        let nan = ScalarValue::F64(f64::NAN);
        assert_eq!(nan, nan.clone());
        assert!(ScalarValue::F64(-0.0) < ScalarValue::F64(0.0));
        assert!(
            ScalarValue::Int(5) < ScalarValue::F64(0.0),
            "kinds order first"
        );
    }
}

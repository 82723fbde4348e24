//! One change as bytes: the header a relay reads, the operations as an
//! opaque, length-prefixed block.
//!
//! ```text
//! "CC" version(1)
//! replica[16] seq lamport                    -- the change id and clock
//! n_others replica[16]*n_others              -- replica table, sorted; index 0 = own
//! n_deps (replica_index seq)*n_deps          -- dependencies
//! ops: length-prefixed block                 -- opaque to relays
//! ```
//! Every op id inside the ops is `(replica_index, counter)` into the table;
//! the engine (`concord-core`) reads and writes the ops block through
//! `ChangeTable`. The encoding is canonical: one change has exactly one byte
//! string. This crate checks what it can see (minimal varints, sorted table
//! and dependencies); that every table entry is used needs the ops, so the
//! engine checks it when it decodes them.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use crate::change::{ChangeHeader, ChangeId};
use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::id::ReplicaId;

const MAGIC: &[u8; 2] = b"CC";
const VERSION: u8 = 1;

/// A change whose bytes are made when first asked for: the engine's local
/// changes, most of which never travel one by one.
pub trait EncodeLater: std::fmt::Debug + Send + Sync {
    /// The change's canonical bytes.
    fn encode(&self) -> Vec<u8>;
}

/// A change as bytes, with its header decoded. This is what travels between
/// peers and what a relay stores; the operations are only decoded by
/// documents (`concord_core::DecodeOps::decode_change`).
/// Cloning is cheap: the bytes are shared. A change committed locally may
/// start without bytes: they are encoded the first time they are asked for,
/// or when the change is cloned.
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
        header: ChangeHeader,
        source: Box<dyn EncodeLater>,
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
        let (header, _table, _ops) = read_change(&bytes)?;
        Ok(EncodedChange {
            repr: Repr::Encoded { header, bytes },
        })
    }

    /// A change encoded when its bytes are first asked for. `source` must
    /// encode to a change with exactly this header.
    pub fn later(header: ChangeHeader, source: Box<dyn EncodeLater>) -> Self {
        EncodedChange {
            repr: Repr::Lazy {
                header,
                source,
                bytes: OnceLock::new(),
            },
        }
    }

    /// A change and its canonical bytes, encoded already.
    pub fn from_parts(header: ChangeHeader, bytes: Arc<[u8]>) -> Self {
        EncodedChange {
            repr: Repr::Encoded { header, bytes },
        }
    }

    pub fn header(&self) -> &ChangeHeader {
        match &self.repr {
            Repr::Encoded { header, .. } | Repr::Lazy { header, .. } => header,
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
            Repr::Lazy { source, bytes, .. } => bytes.get_or_init(|| source.encode().into()),
        }
    }

    /// The replica table and the opaque ops block, for the engine.
    pub fn parts(&self) -> Result<(ChangeTable, &[u8]), DecodeError> {
        let (_header, table, ops) = read_change(self.bytes())?;
        Ok((table, ops))
    }
}

/// The replicas a change mentions; index 0 is the change's own replica.
/// While the engine decodes the ops, it notes which entries were used.
#[derive(Debug)]
pub struct ChangeTable {
    own: ReplicaId,
    others: Vec<ReplicaId>,
    used: Vec<Cell<bool>>,
}

impl ChangeTable {
    /// The table of a change by `own` that mentions `others` (sorted,
    /// distinct, without `own`).
    pub fn new(own: ReplicaId, others: Vec<ReplicaId>) -> Self {
        debug_assert!(others.windows(2).all(|w| w[0] < w[1]) && !others.contains(&own));
        ChangeTable {
            own,
            used: Vec::new(),
            others,
        }
    }

    /// The index of a replica the table lists.
    pub fn index(&self, r: ReplicaId) -> u64 {
        if r == self.own {
            return 0;
        }
        let i = self
            .others
            .binary_search(&r)
            .expect("replica table lists every replica the change mentions");
        i as u64 + 1
    }

    /// The replica at an index read from untrusted bytes (noted as used).
    pub fn get(&self, index: u64) -> Result<ReplicaId, DecodeError> {
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

    /// Was every entry used (by the header's dependencies or the ops)?
    pub fn all_used(&self) -> bool {
        self.used.iter().all(Cell::get)
    }

    pub fn others(&self) -> &[ReplicaId] {
        &self.others
    }
}

/// A change's bytes: the header, then the ops block `write_ops` writes.
pub fn write_change(
    h: &ChangeHeader,
    table: &ChangeTable,
    write_ops: impl FnOnce(&mut Writer),
) -> Vec<u8> {
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
    write_ops(&mut w);
    let mut prefix = Writer::new();
    prefix.len(w.buf.len() - ops_start);
    w.buf.splice(ops_start..ops_start, prefix.buf);
    w.into_inner()
}

/// A change's header, its table and its (undecoded) ops block.
pub fn read_change(bytes: &[u8]) -> Result<(ChangeHeader, ChangeTable, &[u8]), DecodeError> {
    let mut r = Reader::new(bytes);
    let (header, table) = read_header(&mut r)?;
    let ops = r.bytes()?;
    r.finish()?;
    Ok((header, table, ops))
}

fn read_header(r: &mut Reader<'_>) -> Result<(ChangeHeader, ChangeTable), DecodeError> {
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
    let table = ChangeTable { own, others, used };
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

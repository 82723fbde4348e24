//! The engine's part of a run record (`concord_wire::record`): the body of
//! each segment, a text run of the record's replica (`log/run.rs`).
//!
//! ```text
//! segment body:
//!   first_op                        -- op counter of the segment's first op
//!   obj: 0 root | 1 child[16]       -- the text object
//!      | 2 replica[16] counter
//!   n_others replica[16]*n_others   -- replicas the ops mention other than
//!                                      the record's, in order of first mention
//!   run data                        -- the rest: `count` changes (`log/run.rs`)
//! ```
//! Each segment carries its own first op counter, object and table, so a
//! relay may join segments under one header or cut a record between them
//! without changing what any change is. For a given run of changes the body
//! is canonical, so an honest device always sends the same bytes for the
//! same segment of changes.
//!
//! Also the batch of `Document::export_since` / `apply_batch`: the records
//! of a `Records` message in one blob.
//!
//! ```text
//! "CCBAT" version(2) n record_bytes*n   -- each length-prefixed, causal order
//! ```

use std::sync::Arc;

use concord_wire::encoded::{ChangeTable, write_change};
use concord_wire::{Record, RunRecord, SegmentRef};

use super::codec::{Reader, Writer};
use crate::batch::{Joiner, Step};
use crate::change::{ChangeHeader, ChangeId};
use crate::document::Document;
use crate::error::DecodeError;
use crate::id::{OpId, ReplicaId};
use crate::log::{SavedRun, TextRun};
use crate::value::{ChildId, ObjId};
use crate::version::VersionVector;

const MAGIC: &[u8; 5] = b"CCBAT";
const VERSION: u8 = 2;

const OBJ_ROOT: u8 = 0;
const OBJ_CHILD: u8 = 1;
const OBJ_OP: u8 = 2;

/// The body of a segment holding changes `from..to` of `run`.
pub(crate) fn segment_body(run: &TextRun, from: u64, to: u64) -> Vec<u8> {
    let (first_op, others, data) = run.piece(from, to);
    let mut w = Writer::with_capacity(data.len() + 24 + 16 * others.len());
    w.uvarint(first_op);
    match run.obj {
        ObjId::Root => w.u8(OBJ_ROOT),
        ObjId::Child(child) => {
            w.u8(OBJ_CHILD);
            w.raw(&child.0);
        }
        ObjId::Op(id) => {
            w.u8(OBJ_OP);
            w.raw(&id.replica.to_bytes());
            w.uvarint(id.counter);
        }
    }
    w.len(others.len());
    for r in &others {
        w.raw(&r.to_bytes());
    }
    w.raw(&data);
    w.into_inner()
}

/// Changes `from..to` of `run` as a run record of one segment.
pub(crate) fn run_record(run: &TextRun, from: u64, to: u64) -> RunRecord {
    let deps: &[ChangeId] = if from == 0 { &run.deps } else { &[] };
    let body = segment_body(run, from, to);
    RunRecord::new(
        run.replica,
        run.first_seq + from,
        run.first_lamport + from,
        deps,
        &[(to - from, &body)],
    )
    .expect("a run's changes make a valid run record")
}

/// Reads a segment (untrusted bytes) as a text run, checked in full, with
/// its ops joined into the steps `apply_records` integrates.
pub(crate) fn read_segment(seg: &SegmentRef<'_>) -> Result<(TextRun, Vec<Step>), DecodeError> {
    let mut r = Reader::new(seg.body);
    let first_op = r.uvarint()?;
    if first_op == 0 {
        return Err(DecodeError::Invalid("op counters start at 1"));
    }
    let obj = match r.u8()? {
        OBJ_ROOT => ObjId::Root,
        OBJ_CHILD => ObjId::Child(ChildId(r.array()?)),
        OBJ_OP => {
            let replica = ReplicaId::from_bytes(r.array()?);
            match r.uvarint()? {
                0 => return Err(DecodeError::Invalid("op counters start at 1")),
                c => ObjId::Op(OpId::new(replica, c)),
            }
        }
        other => return Err(DecodeError::UnknownTag(other)),
    };
    let n = r.count(16)?;
    let mut others = Vec::with_capacity(n);
    for _ in 0..n {
        let other = ReplicaId::from_bytes(r.array()?);
        if other == seg.replica || others.contains(&other) {
            return Err(DecodeError::Invalid(
                "segment replica table not distinct, other replicas",
            ));
        }
        others.push(other);
    }
    let data = r.raw(r.remaining())?;
    let mut joiner = Joiner::new(seg.replica);
    let saved = SavedRun {
        replica: seg.replica,
        first_seq: seg.first_seq,
        first_lamport: seg.first_lamport,
        first_op,
        obj,
        deps: seg.deps.to_vec(),
        others,
        len: seg.count,
        data,
    };
    let run = TextRun::from_saved_visiting(saved, |c, op, spans| joiner.visit(c, op, spans))?;
    Ok((run, joiner.finish()))
}

/// The changes of a segment whose body does not decode: each with its
/// header and an operations block that does not decode either (the single
/// byte 0xff), so that every replica applies it as an empty change and
/// lists it as unreadable, whichever way it arrives.
pub(crate) fn unreadable_changes(seg: &SegmentRef<'_>) -> Vec<concord_wire::EncodedChange> {
    (0..seg.count)
        .map(|i| {
            let header = ChangeHeader {
                id: ChangeId::new(seg.replica, seg.first_seq + i),
                deps: if i == 0 {
                    seg.deps.to_vec()
                } else {
                    Vec::new()
                },
                lamport: seg.first_lamport + i,
            };
            let table =
                ChangeTable::new(seg.replica, header.deps.iter().map(|d| d.replica).collect());
            let bytes = write_change(&header, &table, |w| w.u8(0xff));
            concord_wire::EncodedChange::from_parts(header, Arc::from(bytes))
        })
        .collect()
}

impl Document {
    /// The changes `since` lacks as records, in causal order, about
    /// `max_bytes` of them (at least one record if any change is missing):
    /// typing as run records, anything else as single changes.
    pub fn records_since(&self, since: &VersionVector, max_bytes: usize) -> Vec<Record> {
        self.log.records_between(since, None, max_bytes)
    }

    /// `records_since`, limited to the changes `until` holds (a version
    /// this document has, e.g. what a device has stored).
    pub fn records_between(
        &self,
        since: &VersionVector,
        until: &VersionVector,
        max_bytes: usize,
    ) -> Vec<Record> {
        self.log.records_between(since, Some(until), max_bytes)
    }

    /// Every change this document has that `since` lacks, as one batch for
    /// `apply_batch`: the records `records_since` gives, in one blob.
    pub fn export_since(&self, since: &VersionVector) -> Vec<u8> {
        let records = self.records_since(since, usize::MAX);
        let mut w = Writer::new();
        w.raw(MAGIC);
        w.u8(VERSION);
        w.len(records.len());
        for r in &records {
            w.bytes(r.bytes());
        }
        w.into_inner()
    }
}

/// Reads a batch (untrusted bytes) into its records; only what a relay
/// could check is checked here, the rest when they apply.
pub(crate) fn read_batch(bytes: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(bytes);
    if r.raw(MAGIC.len())? != MAGIC {
        return Err(DecodeError::BadMagic("batch"));
    }
    let version = r.u8()?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let n = r.count(1)?;
    let mut records = Vec::with_capacity(n);
    for _ in 0..n {
        records.push(Record::decode(r.bytes()?.to_vec())?);
    }
    r.finish()?;
    Ok(records)
}

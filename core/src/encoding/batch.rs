//! A batch: every change one replica has and another lacks, in one message,
//! with typing kept as text runs (`log/run.rs`) instead of one encoding per
//! keystroke. What a replica that is new or far behind is sent; applying it
//! is `Document::apply_batch` (`batch.rs`).
//!
//! ```text
//! "CCBAT" version(1)
//! replicas: n, replica[16]*n          -- sorted; table for the runs below
//! records:  n, record*n               -- causal order
//! record:   0 change_bytes            -- one change (`EncodedChange`)
//!         | 1 replica_index first_seq first_op lamport n
//!           obj deps others run_bytes -- a text run of n changes
//! ```
//! A run carries its first seq and op counter, so it can be read before the
//! changes it follows have arrived. The records of a run only partly behind
//! the receiver's version are sent as single changes.

use std::collections::BTreeSet;

use super::EncodedChange;
use super::codec::{Reader, Writer};
use super::document::{Table, read_run_body, write_run_body};
use super::ids::ReplicaIndex;
use crate::batch::{Joiner, Step};
use crate::document::{Document, MAX_LAMPORT};
use crate::error::DecodeError;
use crate::log::{Record, SavedRun, TextRun};
use crate::value::ObjId;
use crate::version::VersionVector;

const MAGIC: &[u8; 5] = b"CCBAT";
const VERSION: u8 = 1;
const SINGLE: u8 = 0;
const TEXT_RUN: u8 = 1;

/// One record of a batch, structurally checked; a run with its ops joined.
pub(crate) enum BatchItem {
    Change(EncodedChange),
    Run(TextRun, Vec<Step>),
}

/// What a batch record sends: a whole record of the log, or some changes of
/// a run the receiver has the start of.
enum Out<'a> {
    Record(&'a Record),
    Changes(Vec<EncodedChange>),
}

impl Document {
    /// Every change this document has that `since` lacks, as one batch for
    /// `apply_batch`: what to send a replica that is new or far behind.
    /// Typing travels as run-length text runs, a few bytes per keystroke.
    pub fn export_since(&self, since: &VersionVector) -> Vec<u8> {
        let mut out = Vec::new();
        let mut replicas = BTreeSet::new();
        for (replica, record) in self.log.records() {
            let known = since.get(replica);
            let first = record.first_seq();
            let last = first + record.len() - 1;
            if last <= known {
                continue;
            }
            match record {
                Record::Run(run) if first <= known => {
                    // The receiver has the run's start: send the rest as
                    // changes (a run must start where its bytes start).
                    let mut at = run.cursor(known + 1 - first);
                    let mut changes = Vec::new();
                    for index in known + 1 - first..run.len {
                        let (change, next) = run.change(index, at);
                        changes.push(change.encode());
                        at = next;
                    }
                    out.push(Out::Changes(changes));
                }
                Record::Run(run) => {
                    replicas.insert(run.replica);
                    replicas.extend(run.deps.iter().map(|d| d.replica));
                    replicas.extend(run.others.iter().copied());
                    if let ObjId::Op(id) = run.obj {
                        replicas.insert(id.replica);
                    }
                    out.push(Out::Record(record));
                }
                Record::Single(_) => out.push(Out::Record(record)),
            }
        }
        let table = Table(replicas.into_iter().collect());
        let count = out
            .iter()
            .map(|o| match o {
                Out::Record(_) => 1,
                Out::Changes(c) => c.len(),
            })
            .sum();
        let mut w = Writer::new();
        w.raw(MAGIC);
        w.u8(VERSION);
        table.write(&mut w);
        w.len(count);
        for o in out {
            match o {
                Out::Record(Record::Single(single)) => {
                    w.u8(SINGLE);
                    w.bytes(single.bytes());
                }
                Out::Record(Record::Run(run)) => {
                    w.u8(TEXT_RUN);
                    w.uvarint(table.index(run.replica));
                    w.uvarint(run.first_seq);
                    w.uvarint(run.first_op);
                    w.uvarint(run.first_lamport);
                    w.uvarint(run.len);
                    write_run_body(&mut w, run, &table);
                }
                Out::Changes(changes) => {
                    for change in changes {
                        w.u8(SINGLE);
                        w.bytes(change.bytes());
                    }
                }
            }
        }
        w.into_inner()
    }
}

/// Reads a whole batch (untrusted bytes), checking every record's structure;
/// whether the records fit a document is for the one applying them.
pub(crate) fn read_batch(bytes: &[u8]) -> Result<Vec<BatchItem>, DecodeError> {
    let mut r = Reader::new(bytes);
    if r.raw(MAGIC.len())? != MAGIC {
        return Err(DecodeError::BadMagic("batch"));
    }
    let version = r.u8()?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let table = Table::read(&mut r)?;
    let n = r.count(2)?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        items.push(match r.u8()? {
            SINGLE => {
                // Its header only: a change whose ops do not decode is
                // applied as an empty change (`Document::unreadable`), as
                // it would be on its own.
                BatchItem::Change(EncodedChange::decode(r.bytes()?.to_vec())?)
            }
            TEXT_RUN => {
                let (run, steps) = read_run(&mut r, &table)?;
                BatchItem::Run(run, steps)
            }
            other => return Err(DecodeError::UnknownTag(other)),
        });
    }
    r.finish()?;
    Ok(items)
}

/// A run record, checked, and its ops joined for applying.
fn read_run(r: &mut Reader<'_>, t: &Table) -> Result<(TextRun, Vec<Step>), DecodeError> {
    let replica = t.get(r.uvarint()?)?;
    let seq = r.uvarint()?;
    let first_op = r.uvarint()?;
    let lamport = r.uvarint()?;
    let len = r.uvarint()?;
    let (obj, deps, others, data) = read_run_body(r, t, replica)?;
    let last = len
        .checked_sub(1)
        .ok_or(DecodeError::Invalid("empty text run"))?;
    if seq == 0
        || first_op == 0
        || lamport == 0
        || seq.checked_add(last).is_none()
        || lamport.checked_add(last).is_none_or(|l| l > MAX_LAMPORT)
    {
        return Err(DecodeError::Invalid("text run out of range"));
    }
    let mut joiner = Joiner::new(replica);
    let saved = SavedRun {
        replica,
        first_seq: seq,
        first_lamport: lamport,
        first_op,
        obj,
        deps,
        others,
        len,
        data,
    };
    let run = TextRun::from_saved_visiting(saved, |c, op, spans| joiner.visit(c, op, spans))?;
    Ok((run, joiner.finish()))
}

//! A text run: consecutive changes of one replica that hold only text inserts
//! and deletes on one object, count their Lamport clock up by one, and depend
//! on nothing but their predecessor after the first — what typing produces,
//! also right after merging someone else's changes (the first change after a
//! merge depends on what was merged; the next ones only on it). The run stores what its changes
//! share once and each change's operations in a few bytes; a change's
//! canonical encoding is rebuilt from them when someone asks for it.
//!
//! Per operation, `c` being the operation's own counter:
//! ```text
//! flags(u8)  bit 0: last op of its change; bit 1: 0 insert, 1 delete
//!   insert:  bits 2-3 origin_left ref kind, bits 4-5 right_parent ref kind,
//!            bit 6 content of several chars
//!            [origin_left ref] [right_parent ref]
//!            one char as UTF-8 | (bit 6) len + UTF-8 of two or more chars
//!   delete:  bits 2-3 ref kind of the first span's start (never "none"),
//!            bit 4 anything but one span of one char
//!            start_ref [(bit 4) first_len n_more (kind(u8) ref len)*n_more]
//! ref kinds: 0 none | 1 own c-1 | 2 own c-2-d: d | 3 other: index counter
//! ```
//! `index` points into the run's table of other replicas, in the order they
//! are first mentioned. Every change has exactly one encoding in a run and a
//! run's changes are always the maximal sequence that fits, so a run's bytes
//! depend only on the history: the saved format stores them as they are, and
//! the loader checks them with the same decoder.

use crate::change::{Change, ChangeHeader, ChangeId, Op};
use crate::encoding::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::id::{OpId, ReplicaId};
use crate::text::{IdSpan, InsertRef, TextInsert};
use crate::value::ObjId;

const LAST: u8 = 0x01;
const DELETE: u8 = 0x02;
const MULTI_CHAR: u8 = 0x40;
const SPANS: u8 = 0x10;
const INSERT_BITS: u8 = 0x7f;
const DELETE_BITS: u8 = 0x1f;

/// The flags of a whole change inserting one char after the previous one.
const TYPED_AFTER_PREV: u8 = LAST | REF_PREV << 2;

/// Every ASCII char as a one-char `str`, so reading one needs no UTF-8 check.
const ASCII: [&str; 128] = {
    const BYTES: [u8; 128] = {
        let mut b = [0u8; 128];
        let mut i = 0;
        while i < 128 {
            b[i] = i as u8;
            i += 1;
        }
        b
    };
    let mut out = [""; 128];
    let mut i = 0;
    while i < 128 {
        let (_, rest) = BYTES.split_at(i);
        let (one, _) = rest.split_at(1);
        out[i] = match std::str::from_utf8(one) {
            Ok(s) => s,
            Err(_) => panic!("ASCII is UTF-8"),
        };
        i += 1;
    }
    out
};

/// The flags of a whole change deleting the own char with counter `c - 1`,
/// or (then a varint `d` follows) `c - 2 - d`.
const DELETED_PREV: u8 = LAST | DELETE | REF_PREV << 2;
const DELETED_OWN: u8 = LAST | DELETE | REF_OWN << 2;

const REF_NONE: u8 = 0;
const REF_PREV: u8 = 1;
const REF_OWN: u8 = 2;
const REF_OTHER: u8 = 3;

/// A cursor is kept every this many changes, so finding one change decodes
/// at most this many.
const CHECKPOINT_EVERY: u64 = 64;

/// Where a change starts in a run: its byte offset and its first op counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cursor {
    offset: usize,
    op: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TextRun {
    pub(crate) replica: ReplicaId,
    pub(crate) first_seq: u64,
    pub(crate) first_lamport: u64,
    pub(crate) first_op: u64,
    pub(crate) obj: ObjId,
    /// Dependencies of the run's first change (besides its predecessor);
    /// every later change depends only on its predecessor.
    pub(crate) deps: Vec<ChangeId>,
    /// Replicas other than `replica` the ops mention, in order of mention.
    pub(crate) others: Vec<ReplicaId>,
    /// Number of changes, > 0.
    pub(crate) len: u64,
    /// Op counter after the run's last op.
    pub(crate) end_op: u64,
    data: Vec<u8>,
    /// `checkpoints[k]`: where change `(k + 1) * CHECKPOINT_EVERY` starts.
    checkpoints: Vec<Cursor>,
}

/// A run as a saved format holds it: the fields, and the bytes of its ops.
#[derive(Debug)]
pub(crate) struct SavedRun<'a> {
    pub(crate) replica: ReplicaId,
    pub(crate) first_seq: u64,
    pub(crate) first_lamport: u64,
    pub(crate) first_op: u64,
    pub(crate) obj: ObjId,
    pub(crate) deps: Vec<ChangeId>,
    pub(crate) others: Vec<ReplicaId>,
    pub(crate) len: u64,
    pub(crate) data: &'a [u8],
}

impl TextRun {
    /// A run holding just `change`, if it is a change a run can hold.
    pub(crate) fn start(change: &Change, first_op: u64) -> Option<TextRun> {
        let obj = text_obj(change, first_op)?;
        Some(Self::starting(
            &change.header,
            first_op,
            obj,
            op_refs(change),
        ))
    }

    /// `start` for a change of one text op given by its parts (a keystroke).
    pub(crate) fn start_one(
        header: &ChangeHeader,
        first_op: u64,
        obj: ObjId,
        op: TextOpRef<'_>,
    ) -> Option<TextRun> {
        fits(header.id.replica, first_op, std::iter::once(op))?;
        Some(Self::starting(header, first_op, obj, std::iter::once(op)))
    }

    fn starting<'a>(
        header: &ChangeHeader,
        first_op: u64,
        obj: ObjId,
        ops: impl ExactSizeIterator<Item = TextOpRef<'a>>,
    ) -> TextRun {
        let mut run = TextRun {
            replica: header.id.replica,
            first_seq: header.id.seq,
            first_lamport: header.lamport,
            first_op,
            obj,
            deps: header.deps.clone(),
            others: Vec::new(),
            len: 0,
            end_op: first_op,
            data: Vec::new(),
            checkpoints: Vec::new(),
        };
        run.append(ops);
        run
    }

    /// Can a run hold `change` (whatever came before it)?
    pub(crate) fn can_hold(change: &Change, first_op: u64) -> bool {
        text_obj(change, first_op).is_some()
    }

    /// Is a change with this header, whose ops start at `first_op`, the next
    /// one of this run: the next change of the replica, Lamport one more, no
    /// dependency but its predecessor?
    fn follows(&self, h: &ChangeHeader, first_op: u64) -> bool {
        h.id.replica == self.replica
            && h.id.seq == self.first_seq + self.len
            && h.lamport == self.first_lamport + self.len
            && first_op == self.end_op
            && h.deps.is_empty()
    }

    /// Appends `change` if it continues this run: the next change of the
    /// replica, Lamport one more, no dependency but its predecessor, the same
    /// text object.
    pub(crate) fn try_push(&mut self, change: &Change, first_op: u64) -> bool {
        if !self.follows(&change.header, first_op) {
            return false;
        }
        if let [Op::TextInsert { obj, insert }] = change.ops.as_slice()
            && *obj == self.obj
            && self.push_typed_ascii(first_op, insert.into())
        {
            return true;
        }
        let fits = text_obj(change, first_op) == Some(self.obj);
        if fits {
            self.append(op_refs(change));
        }
        fits
    }

    /// `try_push` for a change of one op on `obj` given by its parts (a
    /// keystroke), with this header: the same bytes, no `Change` built.
    pub(crate) fn try_push_one(
        &mut self,
        header: &ChangeHeader,
        first_op: u64,
        obj: ObjId,
        op: TextOpRef<'_>,
    ) -> bool {
        if !self.follows(header, first_op) || obj != self.obj {
            return false;
        }
        if let TextOpRef::Insert(insert) = op
            && self.push_typed_ascii(first_op, insert)
        {
            return true;
        }
        let fits = fits(self.replica, first_op, std::iter::once(op)).is_some();
        if fits {
            self.append(std::iter::once(op));
        }
        fits
    }

    /// What most of a run is: one ASCII char typed after the previous.
    /// Appends it if `insert` is that.
    fn push_typed_ascii(&mut self, first_op: u64, insert: InsertRef<'_>) -> bool {
        if let [byte @ 0..=0x7f] = insert.content.as_bytes()
            && insert.right_parent.is_none()
            && first_op >= 2
            && insert.origin_left == Some(OpId::new(self.replica, first_op - 1))
        {
            self.make_room();
            self.data.extend_from_slice(&[TYPED_AFTER_PREV, *byte]);
            self.end_op += 1;
            self.len += 1;
            return true;
        }
        false
    }

    /// `append` for tests: the general encoder, whatever the change.
    #[cfg(test)]
    pub(crate) fn append_for_test(&mut self, change: &Change) {
        self.append(op_refs(change));
    }

    /// Before appending a change: a checkpoint if one is due, and room.
    fn make_room(&mut self) {
        if self.len > 0 && self.len.is_multiple_of(CHECKPOINT_EVERY) {
            self.checkpoints.push(Cursor {
                offset: self.data.len(),
                op: self.end_op,
            });
        }
        // A run grows by an eighth, not by doubling: it lives as long as the
        // document, and copying it now and then costs far less than keeping
        // up to half of it spare.
        if self.data.capacity() - self.data.len() < 64 {
            self.data.reserve_exact(self.data.len() / 8 + 256);
        }
    }

    /// Would a run of `replica` starting at `lamport` with these deps and
    /// object have continued this one? (Saved runs must be maximal.)
    pub(crate) fn continued_by(&self, lamport: u64, obj: ObjId, deps: &[ChangeId]) -> bool {
        lamport == self.first_lamport + self.len && obj == self.obj && deps.is_empty()
    }

    pub(crate) fn last_seq(&self) -> u64 {
        self.first_seq + self.len - 1
    }

    pub(crate) fn last_lamport(&self) -> u64 {
        self.first_lamport + self.len - 1
    }

    /// No change will join the run any more: give back spare capacity.
    pub(crate) fn finish(&mut self) {
        self.data.shrink_to_fit();
        self.checkpoints.shrink_to_fit();
    }

    /// The run's bytes, as saved.
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    fn append<'a>(&mut self, ops: impl ExactSizeIterator<Item = TextOpRef<'a>>) {
        self.make_room();
        let mut w = Writer {
            buf: std::mem::take(&mut self.data),
        };
        let mut c = self.end_op;
        let n = ops.len();
        let mut out = OpWriter {
            own: self.replica,
            others: &mut self.others,
        };
        for (i, op) in ops.enumerate() {
            let last = i + 1 == n;
            let (op, spans): (RunOp<'_>, &[IdSpan]) = match op {
                TextOpRef::Insert(insert) => (
                    RunOp::Insert {
                        origin_left: insert.origin_left,
                        right_parent: insert.right_parent,
                        content: insert.content,
                        chars: insert.content.chars().count() as u64,
                    },
                    &[],
                ),
                TextOpRef::Delete(spans) => (RunOp::Delete, spans),
            };
            out.write(&mut w, c, &op, spans, last);
            c += op.width();
        }
        self.data = w.into_inner();
        self.end_op = c;
        self.len += 1;
    }

    /// The byte offset where change `index` starts (`data().len()` for
    /// `len`).
    fn offset(&self, index: u64) -> usize {
        if index == self.len {
            self.data.len()
        } else {
            self.cursor(index).offset
        }
    }

    /// The end of a piece from change `from` to at most `to` holding about
    /// `max_bytes` of run data: `to` if it fits, else the last checkpoint
    /// that keeps it within bounds, at least `from + 1`.
    pub(crate) fn piece_end(&self, from: u64, to: u64, max_bytes: usize) -> u64 {
        let start = self.offset(from);
        if self.offset(to) - start <= max_bytes {
            return to;
        }
        let mut end = from + 1;
        for (k, cp) in self.checkpoints.iter().enumerate() {
            let index = (k as u64 + 1) * CHECKPOINT_EVERY;
            if index <= from {
                continue;
            }
            if index >= to || cp.offset - start > max_bytes {
                break;
            }
            end = index;
        }
        end
    }

    /// Changes `from..to` of the run as the engine's part of a record's
    /// segment (`encoding/record.rs` writes it): their first op counter,
    /// the replicas they mention other than the run's own in order of first
    /// mention, and their run data. Canonical: the same changes always give
    /// the same bytes, however the run holding them began.
    pub(crate) fn piece(&self, from: u64, to: u64) -> (u64, Vec<ReplicaId>, Vec<u8>) {
        debug_assert!(from < to && to <= self.len);
        if from == 0 && to == self.len {
            return (self.first_op, self.others.clone(), self.data.clone());
        }
        let at = self.cursor(from);
        let end = self.offset(to);
        if self.others.is_empty() {
            // No index into the table of others to renumber: the bytes are
            // what a run of just these changes holds.
            return (at.op, Vec::new(), self.data[at.offset..end].to_vec());
        }
        let mut others = Vec::new();
        let mut w = Writer::with_capacity(end - at.offset);
        let mut out = OpWriter {
            own: self.replica,
            others: &mut others,
        };
        let mut reader = self.reader_at(at);
        let mut spans = Vec::new();
        let mut c = at.op;
        while reader.offset() < end {
            let (op, last) = reader
                .read(c, &mut spans)
                .expect("a run holds only what it wrote or checked");
            out.write(&mut w, c, &op, &spans, last);
            c += op.width();
        }
        (at.op, others, w.into_inner())
    }

    /// Appends `next`, a run that continues this one (the next changes of
    /// the replica, Lamport counters, op counters and object following on,
    /// no dependency of its own), its ops re-encoded in this run's table of
    /// other replicas: the run ends as it would had the changes come one by
    /// one.
    pub(crate) fn extend(&mut self, next: &TextRun) {
        debug_assert!(
            next.replica == self.replica
                && next.first_seq == self.first_seq + self.len
                && self.continued_by(next.first_lamport, next.obj, &next.deps)
                && next.first_op == self.end_op
        );
        let mut reader = next.reader_at(Cursor {
            offset: 0,
            op: next.first_op,
        });
        let mut spans = Vec::new();
        let mut c = next.first_op;
        let mut w = Writer::new();
        let mut change_start = true;
        while reader.r.remaining() > 0 {
            if change_start {
                self.data.append(&mut w.buf);
                self.make_room();
            }
            let (op, last) = reader
                .read(c, &mut spans)
                .expect("a run holds only what it wrote or checked");
            let mut out = OpWriter {
                own: self.replica,
                others: &mut self.others,
            };
            out.write(&mut w, c, &op, &spans, last);
            c += op.width();
            if last {
                self.len += 1;
                self.end_op = c;
            }
            change_start = last;
        }
        self.data.append(&mut w.buf);
    }

    /// Rebuilds a run read from a saved document, checking `data` fully:
    /// well formed, canonical, exactly `len` changes, counters in range.
    pub(crate) fn from_saved(saved: SavedRun<'_>) -> Result<TextRun, DecodeError> {
        Self::from_saved_visiting(saved, |_, _, _| {})
    }

    /// `from_saved`, calling `visit` with every op as it is checked (its
    /// counter, the op, a delete's spans), so that a reader needs one pass.
    pub(crate) fn from_saved_visiting(
        saved: SavedRun<'_>,
        mut visit: impl FnMut(u64, &RunOp<'_>, &[IdSpan]),
    ) -> Result<TextRun, DecodeError> {
        let SavedRun {
            replica,
            first_seq,
            first_lamport,
            first_op,
            obj,
            deps,
            others,
            len,
            data,
        } = saved;
        if len == 0 || data.is_empty() {
            return Err(DecodeError::Invalid("empty text run"));
        }
        let mut reader = OpReader::new(data, replica, &others);
        let mut checkpoints = Vec::new();
        let mut c = first_op;
        let mut changes = 0u64;
        let mut spans = Vec::new();
        while reader.r.remaining() > 0 {
            if changes > 0 && changes.is_multiple_of(CHECKPOINT_EVERY) {
                checkpoints.push(Cursor {
                    offset: reader.offset(),
                    op: c,
                });
            }
            // Fast path for what most of a run is: a change typing one ASCII
            // char right after the previous one (flags, char). Exactly what
            // `read` would accept for these two bytes.
            if let (Some(TYPED_AFTER_PREV), Some(byte @ 0..=0x7f)) =
                (reader.r.peek_at(0), reader.r.peek_at(1))
                && (2..u64::MAX).contains(&c)
            {
                reader.r.skip(2);
                let op = RunOp::Insert {
                    origin_left: Some(OpId::new(replica, c - 1)),
                    right_parent: None,
                    content: ASCII[usize::from(byte)],
                    chars: 1,
                };
                visit(c, &op, &[]);
                c += 1;
                changes += 1;
                continue;
            }
            if let Some(counter) = reader.backspace(c) {
                let span = IdSpan {
                    start: OpId::new(replica, counter),
                    len: 1,
                };
                visit(c, &RunOp::Delete, &[span]);
                c += 1;
                changes += 1;
                continue;
            }
            loop {
                let (op, last) = reader.read(c, &mut spans)?;
                visit(c, &op, &spans);
                c = c
                    .checked_add(op.width())
                    .ok_or(DecodeError::Invalid("op counter overflow in a text run"))?;
                if last {
                    break;
                }
                if reader.r.remaining() == 0 {
                    return Err(DecodeError::Truncated);
                }
            }
            changes += 1;
        }
        if changes != len {
            return Err(DecodeError::Invalid(
                "text run length does not match its changes",
            ));
        }
        if reader.seen != others.len() {
            return Err(DecodeError::Invalid("text run lists an unused replica"));
        }
        Ok(TextRun {
            replica,
            first_seq,
            first_lamport,
            first_op,
            obj,
            deps,
            others,
            len,
            end_op: c,
            data: data.to_vec(),
            checkpoints,
        })
    }

    /// Where the `index`-th change (from 0) starts.
    pub(crate) fn cursor(&self, index: u64) -> Cursor {
        debug_assert!(index < self.len);
        let k = index / CHECKPOINT_EVERY;
        let mut at = match k {
            0 => Cursor {
                offset: 0,
                op: self.first_op,
            },
            k => self.checkpoints[k as usize - 1],
        };
        let mut spans = Vec::new();
        let mut reader = self.reader_at(at);
        for _ in 0..index % CHECKPOINT_EVERY {
            at = reader
                .skip_change(at.op, &mut spans)
                .expect("a run holds only what it wrote or checked");
        }
        at
    }

    /// The change starting at `at` (the `index`-th), and where the next
    /// one starts.
    pub(crate) fn change(&self, index: u64, at: Cursor) -> (Change, Cursor) {
        let mut reader = self.reader_at(at);
        let mut ops = Vec::new();
        let mut c = at.op;
        let mut spans = Vec::new();
        loop {
            let (op, last) = reader
                .read(c, &mut spans)
                .expect("a run holds only what it wrote or checked");
            c += op.width();
            ops.push(match op {
                RunOp::Insert {
                    origin_left,
                    right_parent,
                    content,
                    ..
                } => Op::TextInsert {
                    obj: self.obj,
                    insert: TextInsert {
                        origin_left,
                        right_parent,
                        content: content.to_owned(),
                    },
                },
                RunOp::Delete => Op::TextDelete {
                    obj: self.obj,
                    spans: spans.clone(),
                },
            });
            if last {
                break;
            }
        }
        let change = Change {
            header: ChangeHeader {
                id: ChangeId::new(self.replica, self.first_seq + index),
                deps: if index == 0 {
                    self.deps.clone()
                } else {
                    Vec::new()
                },
                lamport: self.first_lamport + index,
            },
            ops,
        };
        let next = Cursor {
            offset: reader.offset(),
            op: c,
        };
        (change, next)
    }

    fn reader_at(&self, at: Cursor) -> OpReader<'_> {
        let mut reader = OpReader::new(&self.data, self.replica, &self.others);
        reader.r = Reader::new(&self.data[at.offset..]);
        reader.base = at.offset;
        // Checking first-mention order needs the whole run from its start.
        reader.seen = self.others.len();
        reader
    }
}

/// The object a run holding `change` would have: every op is a text insert
/// or delete on one object, and every id it mentions can be written in a run
/// (own ids only before the op mentioning them).
fn text_obj(change: &Change, first_op: u64) -> Option<ObjId> {
    let obj = change.ops.first()?.obj();
    if change
        .ops
        .iter()
        .any(|op| op.obj() != obj || TextOpRef::of(op).is_none())
    {
        return None;
    }
    fits(change.header.id.replica, first_op, op_refs(change))?;
    Some(obj)
}

/// Can a run of `own` write these ops, the first with counter `first_op`?
fn fits<'a>(own: ReplicaId, first_op: u64, ops: impl Iterator<Item = TextOpRef<'a>>) -> Option<()> {
    let mut c = first_op;
    for op in ops {
        match op {
            TextOpRef::Insert(insert) => {
                if insert.content.is_empty()
                    || !writable(own, c, insert.origin_left)
                    || !writable(own, c, insert.right_parent)
                {
                    return None;
                }
                c = c.checked_add(insert.content.chars().count() as u64)?;
            }
            TextOpRef::Delete(spans) => {
                if spans.is_empty()
                    || spans.iter().any(|s| {
                        s.len == 0
                            || s.start.counter == 0
                            || s.start.counter.checked_add(s.len).is_none()
                            || !writable(own, c, Some(s.start))
                    })
                {
                    return None;
                }
                c = c.checked_add(1)?;
            }
        }
    }
    Some(())
}

/// A text op as a run writes it, borrowed from an `Op` or given by the
/// parts of a keystroke.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TextOpRef<'a> {
    Insert(InsertRef<'a>),
    Delete(&'a [IdSpan]),
}

impl<'a> TextOpRef<'a> {
    /// The op, if it is a text op.
    fn of(op: &'a Op) -> Option<Self> {
        match op {
            Op::TextInsert { insert, .. } => Some(TextOpRef::Insert(insert.into())),
            Op::TextDelete { spans, .. } => Some(TextOpRef::Delete(spans)),
            _ => None,
        }
    }
}

/// The ops of a change a run holds (`text_obj` said so).
fn op_refs(change: &Change) -> impl ExactSizeIterator<Item = TextOpRef<'_>> {
    change
        .ops
        .iter()
        .map(|op| TextOpRef::of(op).expect("a run holds only text ops (checked by text_obj)"))
}

/// Can a run write `id` in an op with counter `c`?
fn writable(own: ReplicaId, c: u64, id: Option<OpId>) -> bool {
    id.is_none_or(|id| id.counter >= 1 && (id.replica != own || id.counter < c))
}

fn ref_kind(own: ReplicaId, c: u64, id: Option<OpId>) -> u8 {
    match id {
        None => REF_NONE,
        Some(id) if id.replica != own => REF_OTHER,
        Some(id) if id.counter + 1 == c => REF_PREV,
        Some(_) => REF_OWN,
    }
}

/// Writes ops in a run's encoding, noting the other replicas they mention
/// in a table in order of first mention.
struct OpWriter<'a> {
    own: ReplicaId,
    others: &'a mut Vec<ReplicaId>,
}

impl OpWriter<'_> {
    /// Writes `op` (a delete's spans in `spans`) with counter `c`; `last`:
    /// it ends its change.
    fn write(&mut self, w: &mut Writer, c: u64, op: &RunOp<'_>, spans: &[IdSpan], last: bool) {
        let last = if last { LAST } else { 0 };
        match op {
            RunOp::Insert {
                origin_left,
                right_parent,
                content,
                chars,
            } => {
                let ol = ref_kind(self.own, c, *origin_left);
                let rp = ref_kind(self.own, c, *right_parent);
                let multi = if *chars > 1 { MULTI_CHAR } else { 0 };
                w.u8(last | ol << 2 | rp << 4 | multi);
                self.write_ref(w, c, *origin_left);
                self.write_ref(w, c, *right_parent);
                if *chars > 1 {
                    w.str(content);
                } else {
                    w.raw(content.as_bytes());
                }
            }
            RunOp::Delete => {
                let first = spans[0];
                let kind = ref_kind(self.own, c, Some(first.start));
                let general = spans.len() > 1 || first.len != 1;
                let bits = if general { SPANS } else { 0 };
                w.u8(last | DELETE | kind << 2 | bits);
                self.write_ref(w, c, Some(first.start));
                if general {
                    w.uvarint(first.len);
                    w.len(spans.len() - 1);
                    for s in &spans[1..] {
                        w.u8(ref_kind(self.own, c, Some(s.start)));
                        self.write_ref(w, c, Some(s.start));
                        w.uvarint(s.len);
                    }
                }
            }
        }
    }

    fn write_ref(&mut self, w: &mut Writer, c: u64, id: Option<OpId>) {
        let Some(id) = id else { return };
        if id.replica == self.own {
            if id.counter + 1 != c {
                w.uvarint(c - 2 - id.counter);
            }
            return;
        }
        let index = if let Some(i) = self.others.iter().position(|&r| r == id.replica) {
            i
        } else {
            self.others.push(id.replica);
            self.others.len() - 1
        };
        w.len(index);
        w.uvarint(id.counter);
    }
}

/// One op read from a run (a delete's spans go to a buffer).
pub(crate) enum RunOp<'a> {
    Insert {
        origin_left: Option<OpId>,
        right_parent: Option<OpId>,
        content: &'a str,
        chars: u64,
    },
    Delete,
}

impl RunOp<'_> {
    fn width(&self) -> u64 {
        match self {
            RunOp::Insert { chars, .. } => *chars,
            RunOp::Delete => 1,
        }
    }
}

struct OpReader<'a> {
    r: Reader<'a>,
    /// Offset of `r`'s start in the run's data.
    base: usize,
    own: ReplicaId,
    others: &'a [ReplicaId],
    /// How many of `others` have been mentioned so far.
    seen: usize,
}

impl<'a> OpReader<'a> {
    fn new(data: &'a [u8], own: ReplicaId, others: &'a [ReplicaId]) -> Self {
        OpReader {
            r: Reader::new(data),
            base: 0,
            own,
            others,
            seen: 0,
        }
    }

    fn offset(&self) -> usize {
        self.base + self.r.position()
    }

    /// If a whole change with op counter `c` deleting one own char comes
    /// next (backspacing: what `read` accepts for these bytes), reads it and
    /// returns the deleted char's counter.
    fn backspace(&mut self, c: u64) -> Option<u64> {
        match self.r.peek_at(0)? {
            DELETED_PREV if (2..u64::MAX).contains(&c) => {
                self.r.skip(1);
                Some(c - 1)
            }
            DELETED_OWN if c < u64::MAX => {
                let mut peek = self.r.clone();
                peek.skip(1);
                let d = peek.uvarint().ok()?;
                let counter = c
                    .checked_sub(2)
                    .and_then(|x| x.checked_sub(d))
                    .filter(|&x| x >= 1)?;
                self.r = peek;
                Some(counter)
            }
            _ => None,
        }
    }

    /// Skips one change starting at op counter `c`; returns where the next
    /// starts.
    fn skip_change(&mut self, mut c: u64, spans: &mut Vec<IdSpan>) -> Result<Cursor, DecodeError> {
        loop {
            let (op, last) = self.read(c, spans)?;
            c += op.width();
            if last {
                return Ok(Cursor {
                    offset: self.offset(),
                    op: c,
                });
            }
        }
    }

    /// Reads one op with counter `c`; also says whether it ends its change.
    fn read(&mut self, c: u64, spans: &mut Vec<IdSpan>) -> Result<(RunOp<'a>, bool), DecodeError> {
        let flags = self.r.u8()?;
        let last = flags & LAST != 0;
        let op = if flags & DELETE == 0 {
            if flags & !INSERT_BITS != 0 {
                return Err(DecodeError::UnknownTag(flags));
            }
            let origin_left = self.read_ref((flags >> 2) & 3, c)?;
            let right_parent = self.read_ref((flags >> 4) & 3, c)?;
            let (content, chars) = if flags & MULTI_CHAR == 0 {
                let n = match self.r.peek()? {
                    0x00..=0x7f => 1,
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf7 => 4,
                    _ => return Err(DecodeError::BadUtf8),
                };
                let bytes = self.r.raw(n)?;
                (
                    std::str::from_utf8(bytes).map_err(|_| DecodeError::BadUtf8)?,
                    1,
                )
            } else {
                let s = self.r.str()?;
                let chars = s.chars().count() as u64;
                if chars < 2 {
                    return Err(DecodeError::Invalid("text run insert not canonical"));
                }
                (s, chars)
            };
            if c.checked_add(chars).is_none() {
                return Err(DecodeError::Invalid("op counter overflow in a text run"));
            }
            RunOp::Insert {
                origin_left,
                right_parent,
                content,
                chars,
            }
        } else {
            if flags & !DELETE_BITS != 0 {
                return Err(DecodeError::UnknownTag(flags));
            }
            spans.clear();
            let start = self.read_span_start((flags >> 2) & 3, c)?;
            if flags & SPANS == 0 {
                spans.push(IdSpan { start, len: 1 });
            } else {
                let first = self.read_span(start)?;
                let more = self.r.count(2)?;
                if more == 0 && first.len == 1 {
                    return Err(DecodeError::Invalid("text run delete not canonical"));
                }
                spans.push(first);
                for _ in 0..more {
                    let kind = self.r.u8()?;
                    if kind > REF_OTHER {
                        return Err(DecodeError::UnknownTag(kind));
                    }
                    let start = self.read_span_start(kind, c)?;
                    spans.push(self.read_span(start)?);
                }
            }
            RunOp::Delete
        };
        Ok((op, last))
    }

    fn read_span_start(&mut self, kind: u8, c: u64) -> Result<OpId, DecodeError> {
        self.read_ref(kind, c)?
            .ok_or(DecodeError::Invalid("text run delete without a start"))
    }

    fn read_span(&mut self, start: OpId) -> Result<IdSpan, DecodeError> {
        let len = self.r.uvarint()?;
        if len == 0 || start.counter.checked_add(len).is_none() {
            return Err(DecodeError::Invalid("bad delete span"));
        }
        Ok(IdSpan { start, len })
    }

    fn read_ref(&mut self, kind: u8, c: u64) -> Result<Option<OpId>, DecodeError> {
        let out_of_range = DecodeError::Invalid("text run id out of range");
        Ok(match kind {
            REF_NONE => None,
            REF_PREV => {
                if c < 2 {
                    return Err(out_of_range);
                }
                Some(OpId::new(self.own, c - 1))
            }
            REF_OWN => {
                let d = self.r.uvarint()?;
                let counter = c
                    .checked_sub(2)
                    .and_then(|x| x.checked_sub(d))
                    .filter(|&x| x >= 1)
                    .ok_or(out_of_range)?;
                Some(OpId::new(self.own, counter))
            }
            _ => {
                let index = usize::try_from(self.r.uvarint()?).unwrap_or(usize::MAX);
                if index > self.seen || index >= self.others.len() {
                    return Err(DecodeError::Invalid(
                        "text run replica table not in order of mention",
                    ));
                }
                if index == self.seen {
                    self.seen += 1;
                }
                let counter = self.r.uvarint()?;
                if counter == 0 {
                    return Err(DecodeError::Invalid("op counters start at 1"));
                }
                Some(OpId::new(self.others[index], counter))
            }
        })
    }
}

//! A transaction that is one keystroke: a short insert, or a delete of one
//! run of ids, and nothing else — what typing makes, one transaction per key.
//!
//! Such an edit is applied through the same `Text` front door as its `Op`
//! would be (`apply_insert_ref` is `apply_insert`; a delete is checked and
//! applied as `Document::apply_op` does), but no `Op`, `String` or `Vec` is
//! built for it: the transaction holds its parts inline, the history appends
//! them to the replica's text run as the bytes the `Op` would have written,
//! and the change it returns encodes itself from them only if someone asks
//! for its bytes. A second edit in the same transaction turns the keystroke
//! into an ordinary `Op` first, so nothing else sees the difference.

use concord_wire::encoded::EncodeLater;

use crate::change::{Change, ChangeHeader, Op};
use crate::document::Document;
use crate::id::OpId;
use crate::log::TextOpRef;
use crate::text::{IdSpan, InsertRef, TextInsert};
use crate::value::ObjId;

/// Most UTF-8 bytes of an insert kept inline.
const INLINE: usize = 16;

#[derive(Clone, Copy, Debug)]
pub(super) enum Keystroke {
    Insert {
        obj: ObjId,
        origin_left: Option<OpId>,
        right_parent: Option<OpId>,
        /// Chars of the content (its width in op counters).
        chars: u64,
        len: u8,
        bytes: [u8; INLINE],
    },
    Delete {
        obj: ObjId,
        span: IdSpan,
    },
}

impl Keystroke {
    /// An insert of `content`, if it is short enough to be kept inline.
    pub(super) fn insert(
        obj: ObjId,
        origin_left: Option<OpId>,
        right_parent: Option<OpId>,
        content: &str,
    ) -> Option<Keystroke> {
        let len = content.len();
        if len == 0 || len > INLINE {
            return None;
        }
        let mut bytes = [0; INLINE];
        bytes[..len].copy_from_slice(content.as_bytes());
        Some(Keystroke::Insert {
            obj,
            origin_left,
            right_parent,
            chars: content.chars().count() as u64,
            len: len as u8,
            bytes,
        })
    }

    pub(super) fn obj(&self) -> ObjId {
        match self {
            Keystroke::Insert { obj, .. } | Keystroke::Delete { obj, .. } => *obj,
        }
    }

    /// Op counters used: one per char inserted, one for a delete.
    pub(super) fn width(&self) -> u64 {
        match self {
            Keystroke::Insert { chars, .. } => *chars,
            Keystroke::Delete { .. } => 1,
        }
    }

    fn content(&self) -> &str {
        match self {
            Keystroke::Insert { len, bytes, .. } => {
                std::str::from_utf8(&bytes[..usize::from(*len)])
                    .expect("copied from a str, whole chars")
            }
            Keystroke::Delete { .. } => "",
        }
    }

    pub(super) fn op_ref(&self) -> TextOpRef<'_> {
        match self {
            Keystroke::Insert {
                origin_left,
                right_parent,
                ..
            } => TextOpRef::Insert(InsertRef {
                origin_left: *origin_left,
                right_parent: *right_parent,
                content: self.content(),
            }),
            Keystroke::Delete { span, .. } => TextOpRef::Delete(std::slice::from_ref(span)),
        }
    }

    /// The `Op` this keystroke stands for.
    pub(super) fn to_op(self) -> Op {
        match self {
            Keystroke::Insert {
                obj,
                origin_left,
                right_parent,
                ..
            } => Op::TextInsert {
                obj,
                insert: TextInsert {
                    origin_left,
                    right_parent,
                    content: self.content().to_owned(),
                },
            },
            Keystroke::Delete { obj, span } => Op::TextDelete {
                obj,
                spans: vec![span],
            },
        }
    }
}

/// The change of a transaction that was one keystroke, encoded when its
/// bytes are first asked for, exactly as its `Change` would be.
#[derive(Debug)]
pub(super) struct KeystrokeChange {
    pub(super) header: ChangeHeader,
    pub(super) key: Keystroke,
}

impl EncodeLater for KeystrokeChange {
    fn encode(&self) -> Vec<u8> {
        let change = Change {
            header: self.header.clone(),
            ops: vec![self.key.to_op()],
        };
        EncodeLater::encode(&change)
    }
}

impl Document {
    /// `record` for a change of one keystroke, applied already, whose op
    /// counters are `first_op .. first_op + width`: when the history can keep
    /// it in a text run, it does so and the clocks move, and this returns
    /// true; otherwise nothing changed (record its `Change` instead).
    pub(super) fn record_keystroke(
        &mut self,
        header: &ChangeHeader,
        key: &Keystroke,
        first_op: u64,
        width: u64,
    ) -> bool {
        if self
            .log
            .push_one(header, key.obj(), key.op_ref(), first_op, width)
        {
            self.observe_header(header);
            true
        } else {
            false
        }
    }
}

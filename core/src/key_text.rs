//! The text at a key of a map, as a person sees it.
//!
//! A text container made by `put_object` has the id of its place
//! (`ObjId::Child`), so concurrent creations share one text. Documents
//! written before that can hold several texts at one key, made concurrently
//! (a device typed into a shared note before its first sync): the key's
//! winner showed one of them and the others' whole contents were hidden on
//! every replica. `KeyText` shows every distinct text among the key's
//! concurrent values, the winner first and the others after it in the map's
//! order, so nothing anyone wrote stays hidden; an edit lands in the part
//! that holds its position. With one text (every document made since) it
//! is exactly that text.

use std::fmt;

use crate::document::Document;
use crate::error::EditError;
use crate::id::OpId;
use crate::text::{Text, TextError};
use crate::transaction::Transaction;
use crate::value::{ObjId, ObjType, Value};

/// The texts at one key, shown one after another.
#[derive(Clone, Debug)]
pub struct KeyText<'a> {
    parts: Vec<(ObjId, &'a Text)>,
}

impl Document {
    /// The text at `key` of map `obj` (empty if there is none).
    pub fn key_text(&self, obj: ObjId, key: &str) -> KeyText<'_> {
        let mut parts: Vec<(ObjId, &Text)> = Vec::new();
        for entry in self.get_all(obj, key).unwrap_or_default() {
            if let Value::Object(id, ObjType::Text) = entry.value
                && !parts.iter().any(|(p, _)| *p == id)
                && let Ok(text) = self.text(id)
            {
                parts.push((id, text));
            }
        }
        KeyText { parts }
    }
}

impl KeyText<'_> {
    /// The text objects shown, in order. More than one only in documents
    /// written before container ids were derived.
    pub fn objects(&self) -> impl Iterator<Item = ObjId> + '_ {
        self.parts.iter().map(|(id, _)| *id)
    }

    /// Is there no text object at the key at all?
    pub fn is_missing(&self) -> bool {
        self.parts.is_empty()
    }

    pub fn len_chars(&self) -> usize {
        self.parts.iter().map(|(_, t)| t.len_chars()).sum()
    }

    pub fn len_utf16(&self) -> usize {
        self.parts.iter().map(|(_, t)| t.len_utf16()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len_chars() == 0
    }

    /// The id of the visible char at `pos`.
    pub fn id_at(&self, mut pos: usize) -> Option<OpId> {
        for (_, t) in &self.parts {
            if pos < t.len_chars() {
                return t.id_at(pos);
            }
            pos -= t.len_chars();
        }
        None
    }

    /// Where char `id` is (or, deleted, where it was); `None` if no part
    /// holds it.
    pub fn pos_of(&self, id: OpId) -> Option<usize> {
        let mut before = 0;
        for (_, t) in &self.parts {
            if t.contains_id(id) {
                return t.pos_of(id).map(|p| before + p);
            }
            before += t.len_chars();
        }
        None
    }

    /// The char position of UTF-16 offset `unit`.
    pub fn utf16_to_char(&self, mut unit: usize) -> Option<usize> {
        let mut before = 0;
        for (_, t) in &self.parts {
            if unit <= t.len_utf16() {
                return t.utf16_to_char(unit).map(|p| before + p);
            }
            unit -= t.len_utf16();
            before += t.len_chars();
        }
        (unit == 0).then_some(before)
    }

    /// The UTF-16 offset of char position `pos`.
    pub fn char_to_utf16(&self, mut pos: usize) -> Option<usize> {
        let mut before = 0;
        for (_, t) in &self.parts {
            if pos <= t.len_chars() {
                return t.char_to_utf16(pos).map(|u| before + u);
            }
            pos -= t.len_chars();
            before += t.len_utf16();
        }
        (pos == 0).then_some(before)
    }

    /// The deletes a splice makes: `(part, pos in it, len)` for each part
    /// that `pos .. pos + del` touches, last part first so that earlier
    /// positions stay valid.
    fn deletes(&self, pos: usize, del: usize) -> Result<Vec<(ObjId, usize, usize)>, EditError> {
        let end = pos
            .checked_add(del)
            .filter(|&e| e <= self.len_chars())
            .ok_or(EditError::Text(TextError::OutOfBounds {
                pos,
                len: self.len_chars(),
            }))?;
        let mut out = Vec::new();
        let mut start = 0;
        for (id, t) in &self.parts {
            let stop = start + t.len_chars();
            let (from, to) = (pos.max(start), end.min(stop));
            if from < to {
                out.push((*id, from - start, to - from));
            }
            start = stop;
        }
        out.reverse();
        Ok(out)
    }

    /// The part an insert at `pos` goes into, and the position in it: the
    /// first part whose end is at or after `pos`.
    fn insert_at(&self, pos: usize) -> Option<(ObjId, usize)> {
        let mut start = 0;
        for (id, t) in &self.parts {
            if pos <= start + t.len_chars() {
                return Some((*id, pos - start));
            }
            start += t.len_chars();
        }
        None
    }
}

impl fmt::Display for KeyText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (_, t) in &self.parts {
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

impl Transaction<'_> {
    /// Replaces `del` chars at `pos` of the text at `key` of map `obj` with
    /// `insert` (positions in chars, over every part `key_text` shows),
    /// making the text container first if the key holds none.
    pub fn splice_key_text(
        &mut self,
        obj: ObjId,
        key: &str,
        pos: usize,
        del: usize,
        insert: &str,
    ) -> Result<(), EditError> {
        if self.doc().key_text(obj, key).is_missing() {
            let text = self.put_object(obj, key, ObjType::Text)?;
            return self.splice_text(text, pos, del, insert);
        }
        let deletes = self.doc().key_text(obj, key).deletes(pos, del)?;
        for (part, at, len) in deletes {
            self.splice_text(part, at, len, "")?;
        }
        if !insert.is_empty() {
            let (part, at) =
                self.doc()
                    .key_text(obj, key)
                    .insert_at(pos)
                    .ok_or(EditError::Text(TextError::OutOfBounds {
                        pos,
                        len: self.doc().key_text(obj, key).len_chars(),
                    }))?;
            self.splice_text(part, at, 0, insert)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::change::{Change, ChangeHeader, ChangeId, NewValue, Op};
    use crate::{Document, ObjId, ObjType, ReplicaId};

    /// A document as the code before derived container ids left it when two
    /// devices each made a body and typed into it: two legacy texts at
    /// "body", one of them hidden by the key's winner.
    fn two_legacy_bodies() -> Document {
        let mut out = Document::new(ReplicaId(9));
        for (replica, words) in [(1u128, "from one"), (2, "from two")] {
            let mut doc = Document::new(ReplicaId(replica));
            let change = Change {
                header: ChangeHeader {
                    id: ChangeId::new(ReplicaId(replica), 1),
                    deps: vec![],
                    lamport: 1,
                },
                ops: vec![Op::MapSet {
                    obj: ObjId::Root,
                    key: "body".into(),
                    value: NewValue::LegacyObject(ObjType::Text),
                    pred: vec![],
                }],
            };
            let bytes = change.encode().bytes().to_vec();
            doc.apply_bytes(bytes.clone()).unwrap();
            out.apply_bytes(bytes).unwrap();
            let body = doc.key_text(ObjId::Root, "body").objects().next().unwrap();
            let mut tx = doc.transaction();
            tx.insert_text(body, 0, words).unwrap();
            out.apply(tx.commit().unwrap()).unwrap();
        }
        out
    }

    #[test]
    fn every_legacy_text_at_a_key_is_shown_winner_first() {
        let doc = two_legacy_bodies();
        let body = doc.key_text(ObjId::Root, "body");
        assert_eq!(body.objects().count(), 2);
        // Replica 2's entry wins the tie at lamport 1.
        assert_eq!(body.to_string(), "from twofrom one");
        assert_eq!(body.len_chars(), 16);
        let id = body.id_at(9).unwrap();
        assert_eq!(id.replica, ReplicaId(1));
        assert_eq!(body.pos_of(id), Some(9));
        assert_eq!(body.char_to_utf16(16), Some(16));
        assert_eq!(body.utf16_to_char(16), Some(16));
        assert_eq!(body.utf16_to_char(17), None);
    }

    #[test]
    fn a_splice_across_legacy_texts_lands_where_it_is_shown() {
        let mut doc = two_legacy_bodies();
        let mut tx = doc.transaction();
        // Replace "two" + "from" (across the seam) with "2 & ".
        tx.splice_key_text(ObjId::Root, "body", 5, 7, "2 & ")
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(
            doc.key_text(ObjId::Root, "body").to_string(),
            "from 2 &  one"
        );
        let mut tx = doc.transaction();
        tx.splice_key_text(ObjId::Root, "body", 13, 0, "!").unwrap();
        tx.commit().unwrap();
        assert_eq!(
            doc.key_text(ObjId::Root, "body").to_string(),
            "from 2 &  one!"
        );
        let mut tx = doc.transaction();
        let err = tx.splice_key_text(ObjId::Root, "body", 10, 5, "");
        assert!(err.is_err(), "past the end");
    }

    #[test]
    fn a_missing_text_is_made_at_its_key() {
        let mut doc = Document::new(ReplicaId(1));
        assert!(doc.key_text(ObjId::Root, "body").is_missing());
        let mut tx = doc.transaction();
        tx.splice_key_text(ObjId::Root, "body", 0, 0, "hi").unwrap();
        tx.commit().unwrap();
        let body = doc.key_text(ObjId::Root, "body");
        assert_eq!(body.to_string(), "hi");
        assert!(matches!(body.objects().next(), Some(ObjId::Child(_))));
    }
}

//! Local edits. Each edit becomes an operation that is applied at once through
//! `Document::apply_op` (the path remote operations take); the transaction
//! groups them into one change. A transaction that is one keystroke
//! (`keystroke.rs`) is applied and recorded from its parts, without an `Op`.

mod keystroke;

use crate::change::{Change, ChangeHeader, ChangeId, NewValue, Op};
use crate::clock::Lamport;
use crate::document::Document;
use crate::encoding::EncodedChange;
use crate::error::EditError;
use crate::id::OpId;
use crate::value::{ChildId, ObjId, ObjType, ScalarValue, Value};
use keystroke::{Keystroke, KeystrokeChange};

#[derive(Debug)]
pub struct Transaction<'a> {
    doc: &'a mut Document,
    ops: Vec<Op>,
    /// The transaction's one edit so far, when it is a keystroke (then `ops`
    /// is empty).
    key: Option<Keystroke>,
    first_op: u64,
    next_op: u64,
    lamport: u64,
    finished: bool,
}

impl<'a> Transaction<'a> {
    pub(crate) fn new(doc: &'a mut Document, first_op: u64, lamport: u64) -> Self {
        Transaction {
            doc,
            // Most transactions are one keystroke: one op.
            ops: Vec::new(),
            key: None,
            first_op,
            next_op: first_op,
            lamport,
            finished: false,
        }
    }

    /// The document as edited so far.
    pub fn doc(&self) -> &Document {
        self.doc
    }

    fn push(&mut self, op: Op) -> Result<OpId, EditError> {
        if let Some(key) = self.key.take() {
            self.ops.push(key.to_op());
        }
        let replica = self.doc.replica;
        let id = OpId::new(replica, self.next_op);
        let next = self
            .next_op
            .checked_add(op.width())
            .ok_or(EditError::CounterOverflow)?;
        self.doc
            .apply_op(id, Lamport::new(self.lamport, replica), &op)?;
        self.next_op = next;
        self.ops.push(op);
        Ok(id)
    }

    /// Sets `key` of map `obj` to a scalar.
    pub fn put(
        &mut self,
        obj: ObjId,
        key: &str,
        value: impl Into<ScalarValue>,
    ) -> Result<(), EditError> {
        let pred = self.doc.map(obj)?.current_ids(key);
        self.push(Op::MapSet {
            obj,
            key: key.to_owned(),
            value: NewValue::Scalar(value.into()),
            pred,
        })?;
        Ok(())
    }

    /// Sets `key` of map `obj` to the container of type `ty` at that key and
    /// returns its id. The id is derived from `obj`, `key` and `ty`
    /// (`ObjId::Child`), so replicas that create it concurrently (a device
    /// typing into a shared note before its first sync, say) create the
    /// same container and both contents are kept; if it exists already it
    /// keeps what it holds. It supersedes the key's other values, but not
    /// the objects of type `ty` that documents written before container ids
    /// were derived may hold there: they stay, and are shown beside it
    /// (`Document::key_text`), so nothing written into them is hidden.
    pub fn put_object(&mut self, obj: ObjId, key: &str, ty: ObjType) -> Result<ObjId, EditError> {
        let child = ObjId::Child(ChildId::of(obj, key, ty));
        let entries = self.doc.map(obj)?.get_all(key);
        let is_kin = |value: &Value| matches!(value, Value::Object(_, t) if *t == ty);
        if entries.iter().all(|e| is_kin(&e.value))
            && entries.iter().any(|e| e.value == Value::Object(child, ty))
        {
            return Ok(child);
        }
        let pred = entries
            .iter()
            .filter(|e| !is_kin(&e.value))
            .map(|e| e.id)
            .collect();
        self.push(Op::MapSet {
            obj,
            key: key.to_owned(),
            value: NewValue::Object(ty),
            pred,
        })?;
        Ok(child)
    }

    /// Removes `key` (all its concurrent values) from map `obj`.
    pub fn delete(&mut self, obj: ObjId, key: &str) -> Result<(), EditError> {
        let pred = self.doc.map(obj)?.current_ids(key);
        if pred.is_empty() {
            return Ok(());
        }
        self.push(Op::MapDelete {
            obj,
            key: key.to_owned(),
            pred,
        })?;
        Ok(())
    }

    /// Adds `value` to set `obj`.
    pub fn add(&mut self, obj: ObjId, value: impl Into<ScalarValue>) -> Result<(), EditError> {
        self.doc.set(obj)?;
        self.push(Op::SetAdd {
            obj,
            value: value.into(),
        })?;
        Ok(())
    }

    /// Removes `value` from set `obj` (the adds seen so far). Returns whether it
    /// was present.
    pub fn remove(&mut self, obj: ObjId, value: &ScalarValue) -> Result<bool, EditError> {
        let Some(observed) = self.doc.set(obj)?.observed(value) else {
            return Ok(false);
        };
        self.push(Op::SetRemove {
            obj,
            value: value.clone(),
            observed,
        })?;
        Ok(true)
    }

    /// Deletes `del` characters at `pos`, then inserts `insert` there
    /// (positions in Unicode code points).
    pub fn splice_text(
        &mut self,
        obj: ObjId,
        pos: usize,
        del: usize,
        insert: &str,
    ) -> Result<(), EditError> {
        if self.ops.is_empty()
            && self.key.is_none()
            && (del == 0) != insert.is_empty()
            && self.keystroke(obj, pos, del, insert)?
        {
            return Ok(());
        }
        if del > 0 {
            let spans = self.doc.text(obj)?.prepare_delete(pos, del)?;
            self.push(Op::TextDelete { obj, spans })?;
        }
        if !insert.is_empty() {
            let op = self.doc.text(obj)?.prepare_insert(pos, insert)?;
            self.push(Op::TextInsert { obj, insert: op })?;
        }
        Ok(())
    }

    /// The first edit of a transaction, when it is one insert or one delete:
    /// applied as a `Keystroke` if it is one (a short insert, a delete of
    /// one run of ids), and then true; false if it is not, with nothing
    /// changed.
    fn keystroke(
        &mut self,
        obj: ObjId,
        pos: usize,
        del: usize,
        insert: &str,
    ) -> Result<bool, EditError> {
        let text = self.doc.text(obj)?;
        let key = if del > 0 {
            match text.prepare_delete_one(pos, del)? {
                Some(span) => Keystroke::Delete { obj, span },
                None => return Ok(false),
            }
        } else {
            let (origin_left, right_parent) = text.prepare_origins(pos)?;
            match Keystroke::insert(obj, origin_left, right_parent, insert) {
                Some(key) => key,
                None => return Ok(false),
            }
        };
        let id = OpId::new(self.doc.replica, self.next_op);
        let next = self
            .next_op
            .checked_add(key.width())
            .ok_or(EditError::CounterOverflow)?;
        // What `Document::apply_op` does with the key's `Op`.
        let text = self.doc.text_mut(obj)?;
        match key.op_ref() {
            crate::log::TextOpRef::Insert(ins) => {
                text.apply_insert_ref(id, ins)?;
            }
            crate::log::TextOpRef::Delete(spans) => {
                for span in spans {
                    text.check_delete(*span)?;
                }
                text.apply_checked_deletes(spans);
            }
        }
        self.next_op = next;
        self.key = Some(key);
        Ok(true)
    }

    pub fn insert_text(&mut self, obj: ObjId, pos: usize, text: &str) -> Result<(), EditError> {
        self.splice_text(obj, pos, 0, text)
    }

    pub fn delete_text(&mut self, obj: ObjId, pos: usize, len: usize) -> Result<(), EditError> {
        self.splice_text(obj, pos, len, "")
    }

    /// Finishes the change and returns it, ready to send (`None` if nothing
    /// was edited).
    pub fn commit(mut self) -> Option<EncodedChange> {
        self.finish()
    }

    fn finish(&mut self) -> Option<EncodedChange> {
        if self.finished || (self.ops.is_empty() && self.key.is_none()) {
            self.finished = true;
            return None;
        }
        self.finished = true;
        let replica = self.doc.replica;
        let header = ChangeHeader {
            id: ChangeId::new(replica, self.doc.version.get(replica) + 1),
            deps: self
                .doc
                .heads
                .iter()
                .filter(|h| h.replica != replica)
                .copied()
                .collect(),
            lamport: self.lamport,
        };
        let width = self.next_op - self.first_op;
        if let Some(key) = self.key.take() {
            if self
                .doc
                .record_keystroke(&header, &key, self.first_op, width)
            {
                return Some(EncodedChange::later(
                    header.clone(),
                    Box::new(KeystrokeChange { header, key }),
                ));
            }
            self.ops.push(key.to_op());
        }
        let change = Change {
            header,
            ops: std::mem::take(&mut self.ops),
        };
        // The history keeps typing without its bytes; the change is encoded
        // when someone asks for its bytes, if ever.
        Some(match self.doc.record(&change, None, self.first_op, width) {
            Some(bytes) => EncodedChange::from_parts(change.header, bytes),
            None => change.encode_later(),
        })
    }
}

impl Drop for Transaction<'_> {
    /// Edits are applied as they are made, so an unfinished transaction still
    /// becomes a change: the history must explain the state.
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use crate::encoding::DecodeOps;
    use crate::{Document, ObjId, ObjType, ReplicaId};

    #[test]
    fn an_empty_transaction_makes_no_change() {
        let mut doc = Document::new(ReplicaId(1));
        assert!(doc.transaction().commit().is_none());
        assert!(doc.version().is_empty());
    }

    #[test]
    fn a_failed_edit_changes_nothing_and_a_dropped_transaction_still_commits() {
        let mut doc = Document::new(ReplicaId(1));
        {
            let mut tx = doc.transaction();
            let t = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
            tx.insert_text(t, 0, "ab").unwrap();
            assert!(tx.insert_text(t, 5, "x").is_err(), "out of bounds");
            assert!(tx.add(t, "x").is_err(), "a text is not a set");
        }
        assert_eq!(doc.history_len(), 1, "dropped, yet committed");
        let change = doc.changes_since(&crate::VersionVector::new()).remove(0);
        assert_eq!(change.decode_change().unwrap().ops.len(), 2);
    }

    /// Keystrokes of every kind: typing, a typo backspaced, a char of
    /// several bytes, a paste too long to keep inline, a delete forward, a
    /// delete over another replica's chars and one over two runs of ids
    /// (no keystroke: `prepare_delete` names two spans).
    #[test]
    fn a_keystroke_makes_the_change_its_op_makes() {
        let mut a = Document::new(ReplicaId(1));
        let mut b = Document::new(ReplicaId(2));
        let mut tx = a.transaction();
        let t = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
        let first = tx.commit().unwrap();
        b.apply(first.clone()).unwrap();
        let mut tx = b.transaction();
        tx.insert_text(t, 0, "B").unwrap();
        let theirs = tx.commit().unwrap();
        a.apply(theirs.clone()).unwrap();
        let mut made = vec![first, theirs];
        let edits: &[(usize, usize, &str)] = &[
            (1, 0, "h"),
            (2, 0, "e"),
            (3, 0, "y"),
            (3, 1, ""),
            (3, 0, "é"),
            (4, 0, "😀"),
            (0, 0, "a paste longer than sixteen bytes"),
            (0, 2, ""),
            (31, 2, ""),
            (2, 0, "x"),
            (1, 3, ""),
        ];
        for &(pos, del, ins) in edits {
            let mut tx = a.transaction();
            tx.splice_text(t, pos, del, ins).unwrap();
            let change = tx.commit().unwrap();
            let decoded = change.decode_change().unwrap();
            assert_eq!(decoded.ops.len(), 1, "{pos} {del} {ins:?}");
            assert_eq!(decoded.encode(), change, "canonical bytes");
            assert_eq!(
                a.change(change.id()).as_ref(),
                Some(&change),
                "as the history keeps it"
            );
            made.push(change);
        }
        let mut c = Document::new(ReplicaId(3));
        c.apply_all(made).unwrap();
        assert_eq!(
            c.text(t).unwrap().to_string(),
            a.text(t).unwrap().to_string()
        );
        assert_eq!(c.text(t).unwrap(), a.text(t).unwrap());
        assert_eq!(
            c.save(),
            Document::load(&a.save(), ReplicaId(3)).unwrap().save()
        );
    }

    #[test]
    fn a_second_edit_turns_the_keystroke_into_an_op_before_its_own() {
        let mut doc = Document::new(ReplicaId(1));
        let mut tx = doc.transaction();
        let t = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
        tx.commit().unwrap();
        let mut tx = doc.transaction();
        tx.insert_text(t, 0, "a").unwrap();
        tx.insert_text(t, 1, "b").unwrap();
        tx.delete_text(t, 0, 1).unwrap();
        let change = tx.commit().unwrap();
        let ops = change.decode_change().unwrap().ops;
        assert_eq!(ops.len(), 3);
        assert!(matches!(&ops[0], crate::Op::TextInsert { insert, .. } if insert.content == "a"));
        assert_eq!(doc.text(t).unwrap().to_string(), "b");
        let mut other = Document::new(ReplicaId(2));
        other
            .apply_all(doc.changes_since(&crate::VersionVector::new()))
            .unwrap();
        assert_eq!(other.text(t).unwrap().to_string(), "b");
    }

    #[test]
    fn a_typed_change_is_encoded_once_when_asked_and_like_any_other() {
        let mut doc = Document::new(ReplicaId(1));
        let mut tx = doc.transaction();
        let t = tx.put_object(ObjId::Root, "t", ObjType::Text).unwrap();
        let first = tx.commit().unwrap();
        let mut tx = doc.transaction();
        tx.insert_text(t, 0, "é").unwrap();
        let typed = tx.commit().unwrap();
        let copy = typed.clone();
        let bytes = typed.shared_bytes();
        assert!(
            std::sync::Arc::ptr_eq(bytes, copy.shared_bytes()),
            "clones share one encoding"
        );
        assert_eq!(typed.decode_change().unwrap().encode(), typed);
        assert_eq!(doc.change(typed.id()).as_ref(), Some(&typed));
        assert_ne!(first, typed);
        let mut other = Document::new(ReplicaId(2));
        other.apply_all([first, copy]).unwrap();
        assert_eq!(other.text(t).unwrap().to_string(), "é");
    }
}

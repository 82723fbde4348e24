//! What a text document is made of: a root map with `title` (a string,
//! last-writer-wins, concurrent titles kept for the user to pick from) and
//! `body` (collaborative text).

use concord_core::{Document, EditError, ObjId, ObjType, ScalarValue, Transaction, Value};

const TITLE: &str = "title";
const BODY: &str = "body";

/// Makes a new note: `title` and an empty body.
pub fn create(tx: &mut Transaction<'_>, title: &str) -> Result<(), EditError> {
    tx.put(ObjId::Root, TITLE, title)?;
    tx.put_object(ObjId::Root, BODY, ObjType::Text)?;
    Ok(())
}

/// The winning title ("" if none).
pub fn title(doc: &Document) -> String {
    match doc.get(ObjId::Root, TITLE) {
        Ok(Some(Value::Scalar(ScalarValue::Str(s)))) => s.clone(),
        _ => String::new(),
    }
}

/// Every concurrent title, winner first: more than one means two devices
/// renamed the document concurrently and the user may pick.
pub fn titles(doc: &Document) -> Vec<String> {
    doc.get_all(ObjId::Root, TITLE)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| match &e.value {
                    Value::Scalar(ScalarValue::Str(s)) => Some(s.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Renames (also resolves a title conflict: the new value supersedes all).
pub fn set_title(tx: &mut Transaction<'_>, title: &str) -> Result<(), EditError> {
    tx.put(ObjId::Root, TITLE, title)
}

/// The body's text object, if the document has one.
pub fn body(doc: &Document) -> Option<ObjId> {
    match doc.get(ObjId::Root, BODY) {
        Ok(Some(Value::Object(id, ObjType::Text))) => Some(*id),
        _ => None,
    }
}

pub fn body_text(doc: &Document) -> String {
    body(doc)
        .and_then(|b| doc.text(b).ok())
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Replaces `del` chars at `pos` with `insert` (positions in chars).
pub fn splice(
    tx: &mut Transaction<'_>,
    pos: usize,
    del: usize,
    insert: &str,
) -> Result<(), EditError> {
    let body = match body(tx.doc()) {
        Some(b) => b,
        None => tx.put_object(ObjId::Root, BODY, ObjType::Text)?,
    };
    tx.splice_text(body, pos, del, insert)
}

/// Appends text at the end of the body.
pub fn append(tx: &mut Transaction<'_>, text: &str) -> Result<(), EditError> {
    let end = body(tx.doc())
        .and_then(|b| tx.doc().text(b).ok())
        .map_or(0, concord_core::Text::len_chars);
    splice(tx, end, 0, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::{EncodedChange, ReplicaId};

    fn edit(
        doc: &mut Document,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<(), EditError>,
    ) -> EncodedChange {
        let mut tx = doc.transaction();
        f(&mut tx).unwrap();
        tx.commit().unwrap()
    }

    #[test]
    fn concurrent_renames_keep_both_until_one_is_picked() {
        let mut a = Document::new(ReplicaId(1));
        let first = edit(&mut a, |tx| create(tx, "Plan"));
        let mut b = Document::new(ReplicaId(2));
        b.apply(first).unwrap();
        let ca = edit(&mut a, |tx| set_title(tx, "Plan A"));
        let cb = edit(&mut b, |tx| set_title(tx, "Plan B"));
        a.apply(cb).unwrap();
        b.apply(ca).unwrap();
        assert_eq!(titles(&a).len(), 2);
        assert_eq!(titles(&a), titles(&b));
        assert_eq!(title(&a), titles(&a)[0]);
        let pick = edit(&mut a, |tx| set_title(tx, "Plan B"));
        b.apply(pick).unwrap();
        assert_eq!(titles(&a), vec!["Plan B".to_string()]);
        assert_eq!(titles(&b), vec!["Plan B".to_string()]);
    }

    #[test]
    fn body_edits() {
        let mut a = Document::new(ReplicaId(1));
        edit(&mut a, |tx| create(tx, "t"));
        edit(&mut a, |tx| append(tx, "hello"));
        edit(&mut a, |tx| splice(tx, 0, 1, "J"));
        assert_eq!(body_text(&a), "Jello");
    }
}

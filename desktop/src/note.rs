//! What a text document is made of: a root map with `title` (a string,
//! last-writer-wins, concurrent titles kept for the user to pick from) and
//! `body` (collaborative text).

use concord_core::{Document, EditError, EncodedChange, ObjId, ObjType, ScalarValue, Value};

const TITLE: &str = "title";
const BODY: &str = "body";

/// A new note document with `title` and an empty body, as its first change.
pub fn create(doc: &mut Document, title: &str) -> Result<Option<EncodedChange>, EditError> {
    let mut tx = doc.transaction();
    tx.put(ObjId::Root, TITLE, title)?;
    tx.put_object(ObjId::Root, BODY, ObjType::Text)?;
    Ok(tx.commit())
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
pub fn set_title(doc: &mut Document, title: &str) -> Result<Option<EncodedChange>, EditError> {
    let mut tx = doc.transaction();
    tx.put(ObjId::Root, TITLE, title)?;
    Ok(tx.commit())
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
    doc: &mut Document,
    pos: usize,
    del: usize,
    insert: &str,
) -> Result<Option<EncodedChange>, EditError> {
    let existing = body(doc);
    let mut tx = doc.transaction();
    let body = match existing {
        Some(b) => b,
        None => tx.put_object(ObjId::Root, BODY, ObjType::Text)?,
    };
    tx.splice_text(body, pos, del, insert)?;
    Ok(tx.commit())
}

/// Appends text at the end of the body.
pub fn append(doc: &mut Document, text: &str) -> Result<Option<EncodedChange>, EditError> {
    let end = body(doc)
        .and_then(|b| doc.text(b).ok())
        .map_or(0, concord_core::Text::len_chars);
    splice(doc, end, 0, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::ReplicaId;

    #[test]
    fn concurrent_renames_keep_both_until_one_is_picked() {
        let mut a = Document::new(ReplicaId(1));
        let first = create(&mut a, "Plan").unwrap().unwrap();
        let mut b = Document::new(ReplicaId(2));
        b.apply(first).unwrap();
        let ca = set_title(&mut a, "Plan A").unwrap().unwrap();
        let cb = set_title(&mut b, "Plan B").unwrap().unwrap();
        a.apply(cb).unwrap();
        b.apply(ca).unwrap();
        assert_eq!(titles(&a).len(), 2);
        assert_eq!(titles(&a), titles(&b));
        assert_eq!(title(&a), titles(&a)[0]);
        let pick = set_title(&mut a, "Plan B").unwrap().unwrap();
        b.apply(pick).unwrap();
        assert_eq!(titles(&a), vec!["Plan B".to_string()]);
        assert_eq!(titles(&b), vec!["Plan B".to_string()]);
    }

    #[test]
    fn body_edits() {
        let mut a = Document::new(ReplicaId(1));
        create(&mut a, "t").unwrap();
        append(&mut a, "hello").unwrap();
        splice(&mut a, 0, 1, "J").unwrap();
        assert_eq!(body_text(&a), "Jello");
    }
}

//! What a text document is made of: a root map with `title` (a string,
//! last-writer-wins, concurrent titles kept for the user to pick from) and
//! `body` (collaborative text, the container at that key: every device that
//! makes it makes the same one).

use concord_core::{Document, EditError, KeyText, ObjId, ObjType, ScalarValue, Transaction, Value};

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

/// The body as a person sees it. Its container's id is derived from its
/// place, so devices that each make a body (one typing before its first
/// sync) share one; a document written before that may hold several, and
/// all of them are shown, the winner first.
pub fn body(doc: &Document) -> KeyText<'_> {
    doc.key_text(ObjId::Root, BODY)
}

pub fn body_text(doc: &Document) -> String {
    body(doc).to_string()
}

/// Replaces `del` chars at `pos` with `insert` (positions in chars), making
/// the body if the document has none yet.
pub fn splice(
    tx: &mut Transaction<'_>,
    pos: usize,
    del: usize,
    insert: &str,
) -> Result<(), EditError> {
    tx.splice_key_text(ObjId::Root, BODY, pos, del, insert)
}

/// Appends text at the end of the body.
pub fn append(tx: &mut Transaction<'_>, text: &str) -> Result<(), EditError> {
    let end = body(tx.doc()).len_chars();
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

    /// Exchanges every change both ways.
    fn sync(a: &mut Document, b: &mut Document) {
        let (va, vb) = (a.version().clone(), b.version().clone());
        for c in a.changes_since(&vb) {
            b.apply(c).unwrap();
        }
        for c in b.changes_since(&va) {
            a.apply(c).unwrap();
        }
    }

    /// Issue 13: a device that opened a share link and typed before its
    /// first sync made a second body, and the key's winner hid the other
    /// one's whole text on every device.
    #[test]
    fn a_device_typing_before_its_first_sync_hides_no_one_s_text() {
        for first in [1u128, 2] {
            // Both orders of replica ids: either side may win the key.
            let mut a = Document::new(ReplicaId(first));
            let mut b = Document::new(ReplicaId(3 - first));
            edit(&mut a, |tx| create(tx, "Shared"));
            edit(&mut a, |tx| append(tx, "creator's words"));
            edit(&mut b, |tx| append(tx, "joiner's words"));
            sync(&mut a, &mut b);
            assert_eq!(body_text(&a), body_text(&b));
            let text = body_text(&a);
            assert!(text.contains("creator's words"), "{text:?}");
            assert!(text.contains("joiner's words"), "{text:?}");
            assert_eq!(body(&a).objects().count(), 1, "one shared body");
            assert!(a == b);
        }
    }

    #[test]
    fn three_devices_making_and_filling_the_body_at_once_keep_every_character() {
        let mut docs: Vec<Document> = (1..=3).map(|r| Document::new(ReplicaId(r))).collect();
        edit(&mut docs[0], |tx| create(tx, "Three"));
        for (i, doc) in docs.iter_mut().enumerate() {
            let words = format!("<{i}:{}>", "x".repeat(i + 1));
            edit(doc, |tx| append(tx, &words));
            edit(doc, |tx| splice(tx, 0, 0, &format!("[{i}]")));
        }
        let (first, rest) = docs.split_at_mut(1);
        for other in rest.iter_mut() {
            sync(&mut first[0], other);
        }
        for other in rest.iter_mut() {
            sync(&mut first[0], other);
        }
        let text = body_text(&docs[0]);
        for (i, doc) in docs.iter().enumerate() {
            assert_eq!(body_text(doc), text);
            assert!(
                text.contains(&format!("<{i}:{}>", "x".repeat(i + 1))),
                "{text:?}"
            );
            assert!(text.contains(&format!("[{i}]")), "{text:?}");
        }
        assert_eq!(text.chars().count(), 3 * 3 + (4 + 5 + 6) + 3);
    }

    /// A document written before container ids were derived, with two
    /// bodies made concurrently (the second one hidden then), shows both
    /// texts after the upgrade, and a device joining now (its own body made
    /// before its first sync) hides nothing either.
    #[test]
    fn a_body_hidden_by_the_old_code_shows_again_after_the_upgrade() {
        use concord_core::{Change, ChangeHeader, ChangeId, NewValue, Op};
        let mut doc = Document::new(ReplicaId(9));
        for (replica, words) in [(1u128, "kept "), (2, "was hidden ")] {
            let mut device = Document::new(ReplicaId(replica));
            let made = Change {
                header: ChangeHeader {
                    id: ChangeId::new(ReplicaId(replica), 1),
                    deps: vec![],
                    lamport: 1,
                },
                ops: vec![Op::MapSet {
                    obj: ObjId::Root,
                    key: BODY.into(),
                    value: NewValue::LegacyObject(ObjType::Text),
                    pred: vec![],
                }],
            };
            let bytes = made.encode().bytes().to_vec();
            device.apply_bytes(bytes.clone()).unwrap();
            doc.apply_bytes(bytes).unwrap();
            doc.apply(edit(&mut device, |tx| append(tx, words)))
                .unwrap();
        }
        let winner = match doc.get(ObjId::Root, BODY).unwrap() {
            Some(Value::Object(id, _)) => doc.text(*id).unwrap().to_string(),
            _ => panic!("no body"),
        };
        assert_eq!(winner, "was hidden ", "the old code showed only this");
        assert_eq!(body_text(&doc), "was hidden kept ");

        let mut joiner = Document::new(ReplicaId(5));
        edit(&mut joiner, |tx| append(tx, "joined"));
        sync(&mut doc, &mut joiner);
        let text = body_text(&doc);
        assert_eq!(text, body_text(&joiner));
        for words in ["kept", "was hidden", "joined"] {
            assert!(text.contains(words), "{text:?}");
        }
        // Editing across the seam between two of them works.
        let end = text.chars().count();
        edit(&mut doc, |tx| splice(tx, 0, end, "one text"));
        assert_eq!(body_text(&doc), "one text");
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

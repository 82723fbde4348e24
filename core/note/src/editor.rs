//! Between a plain text field and the text CRDT: a user's edit becomes one
//! splice, and a cursor survives remote edits by riding on a character id.

use concord_core::{KeyText, OpId};

/// One edit that turns `old` into `new`: replace `del` chars at `pos` (in
/// chars) with `insert`. `None` if they are equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Splice {
    pub pos: usize,
    pub del: usize,
    pub insert: String,
}

/// The smallest single splice between two texts (common prefix and suffix
/// removed). A text field changes by one such splice per keystroke or paste.
/// `cursor_hint` is where the caret ended up (in chars, in `new`): typing
/// "a" into "aa" is ambiguous, and the caret says which "a" is the new one.
pub fn diff(old: &str, new: &str, cursor_hint: Option<usize>) -> Option<Splice> {
    if old == new {
        return None;
    }
    let old: Vec<char> = old.chars().collect();
    let new: Vec<char> = new.chars().collect();
    let mut prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let mut suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    // A pure insertion or deletion inside a run of equal chars could sit at
    // several places; take the one the caret says, if it explains the edit.
    if let Some(caret) = cursor_hint {
        let (short, long) = if new.len() > old.len() {
            (&old, &new)
        } else {
            (&new, &old)
        };
        let delta = long.len() - short.len();
        let at = if new.len() > old.len() {
            caret.checked_sub(delta)
        } else {
            Some(caret)
        };
        if let Some(at) = at.filter(|&at| at < prefix && prefix + suffix == short.len())
            && short[..at] == long[..at]
            && short[at..] == long[at + delta..]
        {
            prefix = at;
            suffix = short.len() - at;
        }
    }
    Some(Splice {
        pos: prefix,
        del: old.len() - prefix - suffix,
        insert: new[prefix..new.len() - suffix].iter().collect(),
    })
}

/// Moves `splice` (made against `base`) onto `now`, which is `base` plus
/// concurrent remote edits: positions after the remote edit shift by its
/// length; a position inside it moves to its end. For a text field whose
/// edit arrives after a remote change landed (the desktop's frame, the
/// browser's IME composition).
pub fn rebase(splice: &Splice, base: &str, now: &str) -> Splice {
    let Some(remote) = diff(base, now, None) else {
        return splice.clone();
    };
    let inserted = remote.insert.chars().count();
    let shift = |p: usize| {
        if p <= remote.pos {
            p
        } else if p >= remote.pos + remote.del {
            p - remote.del + inserted
        } else {
            remote.pos + inserted
        }
    };
    let start = shift(splice.pos);
    let end = shift(splice.pos + splice.del).max(start);
    Splice {
        pos: start,
        del: end - start,
        insert: splice.insert.clone(),
    }
}

/// A caret position that stays on its characters while others edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// Before every character.
    Start,
    /// Just after this character.
    After(OpId),
}

impl Anchor {
    /// The anchor for caret position `pos` (in chars).
    pub fn at(text: &KeyText<'_>, pos: usize) -> Anchor {
        match pos.checked_sub(1).and_then(|p| text.id_at(p)) {
            Some(id) => Anchor::After(id),
            None => Anchor::Start,
        }
    }

    /// Where the caret is now. If its character was deleted, the caret sits
    /// where that character was.
    pub fn resolve(self, text: &KeyText<'_>) -> usize {
        match self {
            Anchor::Start => 0,
            Anchor::After(id) => match text.pos_of(id) {
                Some(p) if text.id_at(p) == Some(id) => p + 1,
                Some(p) => p,
                None => 0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concord_core::{Document, ObjId, ObjType, ReplicaId};

    fn s(pos: usize, del: usize, insert: &str) -> Splice {
        Splice {
            pos,
            del,
            insert: insert.into(),
        }
    }

    #[test]
    fn diffs_are_minimal_single_splices() {
        assert_eq!(diff("hello", "hello", None), None);
        assert_eq!(diff("hello", "help", None), Some(s(3, 2, "p")));
        assert_eq!(diff("", "abc", None), Some(s(0, 0, "abc")));
        assert_eq!(diff("abc", "", None), Some(s(0, 3, "")));
        assert_eq!(diff("héllo", "hé-llo", None), Some(s(2, 0, "-")));
        // Ambiguous: the caret decides which "a" was typed.
        assert_eq!(diff("aa", "aaa", Some(1)), Some(s(0, 0, "a")));
        assert_eq!(diff("aa", "aaa", Some(3)), Some(s(2, 0, "a")));
        assert_eq!(diff("aaa", "aa", Some(0)), Some(s(0, 1, "")));
    }

    #[test]
    fn every_diff_applied_gives_the_new_text() {
        let cases = [
            ("", ""),
            ("abc", "abd"),
            ("kitten", "sitting"),
            ("aaaa", "aa"),
            ("ab", "ba"),
            ("日本語", "日本"),
        ];
        for (old, new) in cases {
            for hint in [None, Some(0), Some(1), Some(new.chars().count())] {
                let mut chars: Vec<char> = old.chars().collect();
                if let Some(d) = diff(old, new, hint) {
                    chars.splice(d.pos..d.pos + d.del, d.insert.chars());
                }
                assert_eq!(chars.iter().collect::<String>(), new, "{old:?} -> {new:?}");
            }
        }
    }

    #[test]
    fn a_splice_moves_past_a_concurrent_remote_edit() {
        // Typed "!" after "hello" while the other device put ">> " in front.
        let mine = s(5, 0, "!");
        assert_eq!(rebase(&mine, "hello", ">> hello"), s(8, 0, "!"));
        // Nothing happened remotely: unchanged.
        assert_eq!(rebase(&mine, "hello", "hello"), mine);
        // The remote edit is after mine: unchanged.
        assert_eq!(rebase(&s(0, 1, "J"), "hello", "hello world"), s(0, 1, "J"));
        // My deletion spans the remotely replaced part: it shrinks to what is left.
        assert_eq!(rebase(&s(1, 3, ""), "hello", "hXo"), s(1, 1, ""));
    }

    #[test]
    fn the_caret_stays_on_its_characters_through_remote_edits() {
        let mut me = Document::new(ReplicaId(1));
        let mut tx = me.transaction();
        let body = tx.put_object(ObjId::Root, "body", ObjType::Text).unwrap();
        tx.insert_text(body, 0, "hello world").unwrap();
        let first = tx.commit().unwrap();
        let mut other = Document::new(ReplicaId(2));
        other.apply(first).unwrap();

        // My caret is after "hello" (position 5).
        let anchor = Anchor::at(&me.key_text(ObjId::Root, "body"), 5);
        // The other device types at the start and deletes "world".
        let mut tx = other.transaction();
        tx.insert_text(body, 0, ">> ").unwrap();
        tx.delete_text(body, 9, 5).unwrap();
        me.apply(tx.commit().unwrap()).unwrap();
        assert_eq!(me.text(body).unwrap().to_string(), ">> hello ");
        assert_eq!(
            anchor.resolve(&me.key_text(ObjId::Root, "body")),
            8,
            "still after hello"
        );

        // The char under the caret is deleted: the caret sits where it was.
        let mut tx = other.transaction();
        tx.delete_text(body, 3, 6).unwrap();
        me.apply(tx.commit().unwrap()).unwrap();
        assert_eq!(anchor.resolve(&me.key_text(ObjId::Root, "body")), 3);
        assert_eq!(
            Anchor::at(&me.key_text(ObjId::Root, "body"), 0),
            Anchor::Start
        );
    }
}

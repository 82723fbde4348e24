//! Automerge: an `Automerge` document with code-point text positions, one
//! transaction per trace transaction. Changes travel as change bytes, the
//! history as every change, the saved document as `save()` (compressed).

use automerge::transaction::Transactable;
use automerge::{
    ActorId, Automerge, Change, LoadOptions, ObjId, ObjType, ROOT, ReadDoc, TextEncoding,
};

use crate::harness::System;
use crate::trace::Patch;

#[derive(Debug)]
pub struct AutomergeSystem;

#[derive(Debug)]
pub struct Replica {
    doc: Automerge,
    text: ObjId,
}

fn actor(agent: usize) -> ActorId {
    ActorId::from((agent as u128 + 1).to_be_bytes().as_slice())
}

fn text_of(doc: &Automerge) -> ObjId {
    match doc.get(ROOT, "text") {
        Ok(Some((automerge::Value::Object(ObjType::Text), id))) => id,
        other => panic!("the document has no text object: {other:?}"),
    }
}

impl System for AutomergeSystem {
    const NAME: &'static str = "automerge";
    type Replica = Replica;
    type Msg = Vec<u8>;
    type History = Vec<Vec<u8>>;

    fn version() -> &'static str {
        env!("BENCH_VERSION_AUTOMERGE")
    }

    /// Replica 0 creates the text; the others receive that first change.
    fn replicas(n: usize, start: &str) -> Vec<Replica> {
        let mut first =
            Automerge::new_with_encoding(TextEncoding::UnicodeCodePoint).with_actor(actor(0));
        let mut tx = first.transaction();
        let text = tx
            .put_object(ROOT, "text", ObjType::Text)
            .expect("the root is a map");
        if !start.is_empty() {
            tx.splice_text(&text, 0, 0, start).expect("inserting at 0");
        }
        tx.commit();
        let genesis = first.get_last_local_change().expect("a change was made");
        let mut out = vec![Replica { doc: first, text }];
        for agent in 1..n {
            let mut doc = Automerge::new_with_encoding(TextEncoding::UnicodeCodePoint)
                .with_actor(actor(agent));
            doc.apply_changes([genesis.clone()])
                .expect("the first change applies");
            let text = text_of(&doc);
            out.push(Replica { doc, text });
        }
        out
    }

    fn edit(r: &mut Replica, patches: &[Patch], emit: bool) -> Option<Vec<u8>> {
        let mut tx = r.doc.transaction();
        for p in patches {
            let del = isize::try_from(p.del).expect("a delete count fits isize");
            tx.splice_text(&r.text, p.pos, del, &p.insert)
                .expect("a trace edit is in range");
        }
        let (hash, _) = tx.commit();
        if emit && hash.is_some() {
            r.doc
                .get_last_local_change()
                .map(|c| c.raw_bytes().to_vec())
        } else {
            None
        }
    }

    fn merge(r: &mut Replica, msgs: &[&Vec<u8>]) {
        let changes: Vec<Change> = msgs
            .iter()
            .map(|m| Change::from_bytes((*m).clone()).expect("a change decodes"))
            .collect();
        r.doc
            .apply_changes(changes)
            .expect("changes from another replica apply");
    }

    fn text(r: &Replica) -> String {
        r.doc.text(&r.text).expect("a text object")
    }

    fn history(r: &Replica) -> Vec<Vec<u8>> {
        r.doc
            .get_changes(&[])
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect()
    }

    fn apply_history(history: Vec<Vec<u8>>) -> Replica {
        let changes: Vec<Change> = history
            .into_iter()
            .map(|b| Change::from_bytes(b).expect("a change decodes"))
            .collect();
        let mut doc = Automerge::new_with_encoding(TextEncoding::UnicodeCodePoint)
            .with_actor(actor(usize::MAX - 1));
        doc.apply_changes(changes).expect("the history applies");
        let text = text_of(&doc);
        Replica { doc, text }
    }

    fn save(r: &Replica) -> Vec<u8> {
        r.doc.save()
    }

    fn load(bytes: &[u8]) -> (Replica, String) {
        let doc = Automerge::load_with_options(
            bytes,
            LoadOptions::new().text_encoding(TextEncoding::UnicodeCodePoint),
        )
        .expect("a saved document loads");
        let text = text_of(&doc);
        let s = doc.text(&text).expect("a text object");
        (Replica { doc, text }, s)
    }
}

//! Concord: one transaction per trace transaction; changes travel as bytes.

use concord_core::{Document, ObjId, ObjType, ReplicaId, Value, VersionVector};

use crate::harness::System;
use crate::trace::Patch;

#[derive(Debug)]
pub struct Concord;

#[derive(Debug)]
pub struct Replica {
    doc: Document,
    text: ObjId,
}

/// The text object of a document: the root map's `"text"`.
fn text_of(doc: &Document) -> ObjId {
    match doc.get(ObjId::Root, "text") {
        Ok(Some(Value::Object(obj, ObjType::Text))) => *obj,
        other => panic!("the document has no text object: {other:?}"),
    }
}

impl System for Concord {
    const NAME: &'static str = "Concord";
    type Replica = Replica;
    type Msg = Vec<u8>;
    type History = Vec<u8>;

    fn version() -> &'static str {
        env!("BENCH_VERSION_CONCORD")
    }

    /// Replica 0 creates the text (and its start content); the others
    /// receive that first change.
    fn replicas(n: usize, start: &str) -> Vec<Replica> {
        let mut first = Document::new(ReplicaId(1));
        let mut tx = first.transaction();
        let text = tx
            .put_object(ObjId::Root, "text", ObjType::Text)
            .expect("the root is a map");
        if !start.is_empty() {
            tx.insert_text(text, 0, start).expect("inserting at 0");
        }
        let genesis = tx.commit().expect("the transaction made a change");
        let mut out = vec![Replica { doc: first, text }];
        for agent in 1..n {
            let mut doc = Document::new(ReplicaId(agent as u128 + 1));
            doc.apply(genesis.clone())
                .expect("the first change applies");
            out.push(Replica { doc, text });
        }
        out
    }

    fn edit(r: &mut Replica, patches: &[Patch], emit: bool) -> Option<Vec<u8>> {
        let mut tx = r.doc.transaction();
        for p in patches {
            tx.splice_text(r.text, p.pos, p.del, &p.insert)
                .expect("a trace edit is in range");
        }
        let change = tx.commit();
        if emit {
            change.map(concord_core::EncodedChange::into_bytes)
        } else {
            None
        }
    }

    fn merge(r: &mut Replica, msgs: &[&Vec<u8>]) {
        for m in msgs {
            r.doc
                .apply_bytes((*m).clone())
                .expect("a change from another replica applies");
        }
    }

    fn text(r: &Replica) -> String {
        r.doc.text(r.text).expect("a text object").to_string()
    }

    /// What a replica sends one that has nothing: one batch.
    fn history(r: &Replica) -> Vec<u8> {
        r.doc.export_since(&VersionVector::new())
    }

    fn apply_history(history: Vec<u8>) -> Replica {
        let mut doc = Document::new(ReplicaId(u128::MAX));
        doc.apply_batch(&history).expect("the history applies");
        let text = text_of(&doc);
        Replica { doc, text }
    }

    fn save(r: &Replica) -> Vec<u8> {
        r.doc.save()
    }

    fn load(bytes: &[u8]) -> (Replica, String) {
        let doc = Document::load(bytes, ReplicaId(u128::MAX)).expect("a saved document loads");
        let text = text_of(&doc);
        let s = doc.text(text).expect("a text object").to_string();
        (Replica { doc, text }, s)
    }
}

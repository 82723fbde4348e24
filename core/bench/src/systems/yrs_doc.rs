//! Yrs: a `Doc` with a root text, one write transaction per trace
//! transaction. Changes travel as the transaction's v1 update, the history
//! and the saved document as `encode_state_as_update_v1` from the empty state.
//!
//! Yrs counts positions in UTF-8 bytes or UTF-16 units, not code points, so
//! every position is converted, inside the timed work as a user would have
//! to. While a replica has seen only ASCII the two agree and the conversion
//! is the check that keeps track of that; after the first non-ASCII insert
//! (its own or merged) it reads the text to convert.

use yrs::updates::decoder::Decode;
use yrs::{
    Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, TextRef, Transact, Update,
};

use crate::harness::System;
use crate::trace::Patch;

#[derive(Debug)]
pub struct Yrs;

#[derive(Debug)]
pub struct Replica {
    doc: Doc,
    text: TextRef,
    /// Every insert seen so far was ASCII: code points are UTF-16 units.
    ascii: bool,
}

/// A transaction's update, and whether all it inserted is ASCII.
pub type Msg = (Vec<u8>, bool);

fn replica(client_id: u64) -> Replica {
    let doc = Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        ..Options::with_client_id(yrs::block::ClientID::new(client_id))
    });
    let text = doc.get_or_insert_text("text");
    Replica {
        doc,
        text,
        ascii: true,
    }
}

/// The UTF-16 offset of code point `pos` of `s`, and the UTF-16 length of
/// the `len` code points from there.
pub fn utf16_range(s: &str, pos: usize, len: usize) -> (u32, u32) {
    let mut chars = s.chars();
    let start: usize = chars.by_ref().take(pos).map(char::len_utf16).sum();
    let n: usize = chars.take(len).map(char::len_utf16).sum();
    (
        u32::try_from(start).expect("positions fit u32"),
        u32::try_from(n).expect("lengths fit u32"),
    )
}

fn to_u32(x: usize) -> u32 {
    u32::try_from(x).expect("positions fit u32")
}

impl System for Yrs {
    const NAME: &'static str = "yrs";
    type Replica = Replica;
    type Msg = Msg;
    type History = Vec<u8>;

    fn version() -> &'static str {
        env!("BENCH_VERSION_YRS")
    }

    fn replicas(n: usize, start: &str) -> Vec<Replica> {
        let mut out: Vec<Replica> = (0..n).map(|a| replica(a as u64 + 1)).collect();
        if !start.is_empty() {
            let r = &mut out[0];
            let mut txn = r.doc.transact_mut();
            r.text.insert(&mut txn, 0, start);
            r.ascii = start.is_ascii();
        }
        out
    }

    fn edit(r: &mut Replica, patches: &[Patch], emit: bool) -> Option<Msg> {
        let mut txn = r.doc.transact_mut();
        let mut ascii = true;
        for p in patches {
            let (pos, del) = if r.ascii {
                (to_u32(p.pos), to_u32(p.del))
            } else {
                utf16_range(&r.text.get_string(&txn), p.pos, p.del)
            };
            if del > 0 {
                r.text.remove_range(&mut txn, pos, del);
            }
            if !p.insert.is_empty() {
                r.text.insert(&mut txn, pos, &p.insert);
                if !p.insert.is_ascii() {
                    ascii = false;
                    r.ascii = false;
                }
            }
        }
        (emit && !patches.is_empty()).then(|| (txn.encode_update_v1(), ascii))
    }

    fn merge(r: &mut Replica, msgs: &[&Msg]) {
        let mut txn = r.doc.transact_mut();
        for (update, ascii) in msgs {
            let update = Update::decode_v1(update).expect("an update decodes");
            txn.apply_update(update)
                .expect("an update from another replica applies");
            r.ascii &= ascii;
        }
    }

    fn text(r: &Replica) -> String {
        r.text.get_string(&r.doc.transact())
    }

    fn history(r: &Replica) -> Vec<u8> {
        r.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    fn apply_history(history: Vec<u8>) -> Replica {
        let mut r = replica(u64::from(u32::MAX));
        {
            let mut txn = r.doc.transact_mut();
            let update = Update::decode_v1(&history).expect("the history decodes");
            txn.apply_update(update).expect("the history applies");
        }
        // Unknown without reading the text: take the general path.
        r.ascii = false;
        r
    }

    fn save(r: &Replica) -> Vec<u8> {
        Self::history(r)
    }

    fn load(bytes: &[u8]) -> (Replica, String) {
        let r = replica(u64::from(u32::MAX));
        let s = {
            let mut txn = r.doc.transact_mut();
            let update = Update::decode_v1(bytes).expect("a saved document decodes");
            txn.apply_update(update).expect("a saved document applies");
            r.text.get_string(&txn)
        };
        (r, s)
    }
}

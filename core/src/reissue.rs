//! Getting a device's edits out under a fresh replica id.
//!
//! Until changes are signed, anyone who may write a document can send a
//! change under another device's replica id and next seq. The relay keeps
//! whichever arrived first; the real device's change with that id is then
//! refused as an equivocation, and so is everything it made after it. The
//! device must not lose those edits: `Document::reissue` makes the same
//! edits again as changes of a new replica id, on top of everything else
//! the document holds, and the device edits as that id from then on.

use std::collections::BTreeSet;

use crate::change::{Change, ChangeHeader, ChangeId, Op};
use crate::document::Document;
use crate::encoding::{DecodeOps, EncodedChange};
use crate::error::{ApplyError, EditError};
use crate::id::{OpId, ReplicaId};
use crate::text::{IdSpan, TextInsert};
use crate::value::ObjId;
use crate::version::VersionVector;

/// What `reissue` made.
#[derive(Debug)]
pub struct Reissued {
    /// The document without the replaced changes, with their edits re-made,
    /// edited as the new replica.
    pub doc: Document,
    /// The re-made changes, in order: to store and send.
    pub changes: Vec<EncodedChange>,
    /// Changes of other replicas that depended on a replaced change, left
    /// out (they cannot be re-made; only a device that was sent the replaced
    /// changes directly can hold any).
    pub dropped: Vec<ChangeId>,
}

impl Document {
    /// This document without its own replica's changes from `from_seq` on,
    /// their edits re-made (the same ops, the same places) as changes of
    /// `replica`, which must be new to the document. Every op id of a
    /// replaced change moves to the new replica, counted from 1, and every
    /// later reference to it follows.
    pub fn reissue(&self, from_seq: u64, replica: ReplicaId) -> Result<Reissued, ApplyError> {
        let old = self.replica;
        let invalid = |id, reason| ApplyError::Invalid {
            id,
            reason: EditError::InvalidOp(reason),
        };
        if self.version.get(replica) > 0 || replica == old {
            return Err(invalid(
                ChangeId::new(replica, 1),
                "the new replica id is not new to the document",
            ));
        }
        let mut replaced: BTreeSet<ChangeId> = BTreeSet::new();
        let mut dropped = Vec::new();
        let mut doc = Document::new(replica).with_pending_capacity(self.pending.capacity());
        let mut mine = Vec::new();
        for change in self.log.since(&VersionVector::new()) {
            let id = change.id();
            if id.replica == old && id.seq >= from_seq {
                replaced.insert(id);
                mine.push(change);
            } else if change.header().all_deps().any(|d| replaced.contains(&d)) {
                replaced.insert(id);
                dropped.push(id);
            } else {
                doc.apply(change)?;
            }
        }
        // The first op counter of the first replaced change.
        let base = doc.log.next_op(old);
        let remap = Remap {
            old,
            new: replica,
            base,
        };
        let mut changes = Vec::with_capacity(mine.len());
        for (i, encoded) in mine.iter().enumerate() {
            let id = encoded.id();
            let new_id = ChangeId::new(replica, i as u64 + 1);
            let ops = if self.unreadable.contains_key(&id) {
                // It was applied as empty: it is re-made as empty.
                Vec::new()
            } else {
                encoded
                    .decode_change()?
                    .ops
                    .iter()
                    .map(|op| remap.op(op))
                    .collect()
            };
            if ops.is_empty() {
                // Nothing to re-make; its successors' ids are unchanged
                // (an empty change takes no op counters).
                continue;
            }
            let mut deps = encoded.header().deps.clone();
            if changes.is_empty() && from_seq > 1 {
                deps.push(ChangeId::new(old, from_seq - 1));
                deps.sort_unstable();
            }
            let change = Change {
                header: ChangeHeader {
                    id: ChangeId::new(replica, changes.len() as u64 + 1),
                    deps,
                    lamport: encoded.header().lamport,
                },
                ops,
            }
            .encode();
            let outcome = doc.apply(change.clone())?;
            if outcome.applied != [change.id()] || !outcome.unreadable.is_empty() {
                return Err(invalid(new_id, "a re-made change did not apply as made"));
            }
            changes.push(change);
        }
        Ok(Reissued {
            doc,
            changes,
            dropped,
        })
    }
}

/// Op ids of the old replica from `base` on move to the new one, from 1.
struct Remap {
    old: ReplicaId,
    new: ReplicaId,
    base: u64,
}

impl Remap {
    fn id(&self, id: OpId) -> OpId {
        if id.replica == self.old && id.counter >= self.base {
            OpId::new(self.new, id.counter - self.base + 1)
        } else {
            id
        }
    }

    fn obj(&self, obj: ObjId) -> ObjId {
        match obj {
            ObjId::Op(id) => ObjId::Op(self.id(id)),
            other => other,
        }
    }

    /// A span may hold ids on both sides of `base`: it splits there.
    fn spans(&self, spans: &[IdSpan]) -> Vec<IdSpan> {
        let mut out = Vec::with_capacity(spans.len());
        for s in spans {
            let (below, above) = crate::document::split_at_counter(*s, self.old, self.base);
            out.extend(below);
            out.extend(above.map(|a| IdSpan {
                start: self.id(a.start),
                len: a.len,
            }));
        }
        out
    }

    fn observed(&self, observed: &VersionVector) -> VersionVector {
        let mut out = VersionVector::new();
        for (r, c) in observed.iter() {
            if r == self.old && c >= self.base {
                out.observe(r, self.base - 1);
                out.observe(self.new, c - self.base + 1);
            } else {
                out.observe(r, c);
            }
        }
        out
    }

    fn op(&self, op: &Op) -> Op {
        match op {
            Op::MapSet {
                obj,
                key,
                value,
                pred,
            } => Op::MapSet {
                obj: self.obj(*obj),
                key: key.clone(),
                value: value.clone(),
                pred: self.preds(pred),
            },
            Op::MapDelete { obj, key, pred } => Op::MapDelete {
                obj: self.obj(*obj),
                key: key.clone(),
                pred: self.preds(pred),
            },
            Op::SetAdd { obj, value } => Op::SetAdd {
                obj: self.obj(*obj),
                value: value.clone(),
            },
            Op::SetRemove {
                obj,
                value,
                observed,
            } => Op::SetRemove {
                obj: self.obj(*obj),
                value: value.clone(),
                observed: self.observed(observed),
            },
            Op::TextInsert { obj, insert } => Op::TextInsert {
                obj: self.obj(*obj),
                insert: TextInsert {
                    origin_left: insert.origin_left.map(|id| self.id(id)),
                    right_parent: insert.right_parent.map(|id| self.id(id)),
                    content: insert.content.clone(),
                },
            },
            Op::TextDelete { obj, spans } => Op::TextDelete {
                obj: self.obj(*obj),
                spans: self.spans(spans),
            },
        }
    }

    fn preds(&self, pred: &[OpId]) -> Vec<OpId> {
        pred.iter().map(|id| self.id(*id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::{ChangeId, Document, ObjId, ObjType, ReplicaId};

    fn text(doc: &Document) -> String {
        doc.key_text(ObjId::Root, "body").to_string()
    }

    /// Alice syncs "Hello", then types offline; Mallory sends a change under
    /// Alice's id and next seq. Alice's offline edits are re-made under a
    /// new id: applied everywhere with Mallory's change, nothing is lost.
    #[test]
    fn edits_made_after_a_forged_seq_survive_under_a_new_id() {
        let mut alice = Document::new(ReplicaId(0xA));
        let mut tx = alice.transaction();
        tx.splice_key_text(ObjId::Root, "body", 0, 0, "Hello")
            .unwrap();
        tx.commit().unwrap();
        let relay_had = alice.clone();
        // Alice, offline: three more changes, a delete that reaches back
        // into what was synced, and a set with a remove.
        for (pos, del, ins) in [(5, 0, " world"), (0, 1, "J"), (11, 0, "!")] {
            let mut tx = alice.transaction();
            tx.splice_key_text(ObjId::Root, "body", pos, del, ins)
                .unwrap();
            tx.commit().unwrap();
        }
        let mut tx = alice.transaction();
        let tags = tx.put_object(ObjId::Root, "tags", ObjType::Set).unwrap();
        tx.add(tags, "a").unwrap();
        tx.commit().unwrap();
        let mut tx = alice.transaction();
        tx.remove(tags, &"a".into()).unwrap();
        tx.add(tags, "b").unwrap();
        tx.commit().unwrap();
        assert_eq!(text(&alice), "Jello world!");

        // Mallory forges Alice's seq 2 on what the relay had.
        let mut mallory = relay_had.fork(ReplicaId(0xA));
        let mut tx = mallory.transaction();
        tx.splice_key_text(ObjId::Root, "body", 5, 0, " (forged)")
            .unwrap();
        let forged = tx.commit().unwrap();
        assert!(
            alice.clone().apply(forged.clone()).is_err(),
            "an equivocation"
        );

        let out = alice.reissue(2, ReplicaId(0xA2)).unwrap();
        assert_eq!(out.changes.len(), 5);
        assert!(out.dropped.is_empty());
        assert_eq!(text(&out.doc), "Jello world!", "the same edits");
        assert_eq!(out.doc.replica(), ReplicaId(0xA2));
        assert!(!out.doc.version().contains(ChangeId::new(ReplicaId(0xA), 2)));

        // Everyone else: what the relay had, the forged change, the re-made.
        let mut bob = relay_had.fork(ReplicaId(0xB));
        bob.apply(forged.clone()).unwrap();
        bob.apply_all(out.changes.clone()).unwrap();
        let mut mine = out.doc;
        mine.apply(forged).unwrap();
        assert_eq!(text(&bob), text(&mine));
        let shown = text(&bob);
        for words in ["J", "ello", " world", "!", " (forged)"] {
            assert!(shown.contains(words), "{shown:?}");
        }
        assert_eq!(
            bob.set(tags).unwrap().values().collect::<Vec<_>>(),
            [&"b".into()]
        );
        assert!(bob == mine);
    }
}

//! Loro: a `LoroDoc` with a root text (positions in code points), committed
//! once per trace transaction. Changes travel as the updates
//! `subscribe_local_update` hands out at each commit, the history as
//! `ExportMode::all_updates()`, the saved document as a snapshot.

use std::sync::{Arc, Mutex};

use loro::{ExportMode, LoroDoc, LoroText, Subscription};

use crate::harness::System;
use crate::trace::Patch;

#[derive(Debug)]
pub struct Loro;

/// Updates of local commits not yet taken, filled by a subscription.
type Outbox = Arc<Mutex<Vec<Vec<u8>>>>;

pub struct Replica {
    doc: LoroDoc,
    text: LoroText,
    /// Updates of local commits not yet taken, with the subscription that
    /// collects them.
    outbox: Option<(Outbox, Subscription)>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica").finish_non_exhaustive()
    }
}

fn replica(peer: u64, subscribe: bool) -> Replica {
    let doc = LoroDoc::new();
    doc.set_peer_id(peer)
        .expect("a fresh document takes a peer id");
    let text = doc.get_text("text");
    let outbox = subscribe.then(|| {
        let updates = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&updates);
        let sub = doc.subscribe_local_update(Box::new(move |bytes| {
            sink.lock().expect("not poisoned").push(bytes.clone());
            true
        }));
        (updates, sub)
    });
    Replica { doc, text, outbox }
}

impl System for Loro {
    const NAME: &'static str = "loro";
    type Replica = Replica;
    type Msg = Vec<u8>;
    type History = Vec<u8>;

    fn version() -> &'static str {
        env!("BENCH_VERSION_LORO")
    }

    /// Replicas of a concurrent replay (n > 1) collect their local updates.
    fn replicas(n: usize, start: &str) -> Vec<Replica> {
        let out: Vec<Replica> = (0..n).map(|a| replica(a as u64 + 1, n > 1)).collect();
        if !start.is_empty() {
            out[0].text.insert(0, start).expect("inserting at 0");
            out[0].doc.commit();
        }
        out
    }

    fn edit(r: &mut Replica, patches: &[Patch], emit: bool) -> Option<Vec<u8>> {
        for p in patches {
            if p.del > 0 {
                r.text
                    .delete(p.pos, p.del)
                    .expect("a trace delete is in range");
            }
            if !p.insert.is_empty() {
                r.text
                    .insert(p.pos, &p.insert)
                    .expect("a trace insert is in range");
            }
        }
        r.doc.commit();
        let (updates, _) = r.outbox.as_ref()?;
        let mut updates = updates.lock().expect("not poisoned");
        let update = updates.pop();
        debug_assert!(updates.is_empty(), "one update per commit");
        if emit { update } else { None }
    }

    /// Several updates at once go through `import_batch` (measured: 2.6×
    /// faster than one `import` each on friendsforever).
    fn merge(r: &mut Replica, msgs: &[&Vec<u8>]) {
        if let [one] = msgs {
            r.doc.import(one).expect("an update imports");
        } else {
            let batch: Vec<Vec<u8>> = msgs.iter().map(|m| (*m).clone()).collect();
            r.doc.import_batch(&batch).expect("updates import");
        }
    }

    fn text(r: &Replica) -> String {
        r.text.to_string()
    }

    fn history(r: &Replica) -> Vec<u8> {
        r.doc
            .export(ExportMode::all_updates())
            .expect("updates export")
    }

    fn apply_history(history: Vec<u8>) -> Replica {
        let r = replica(u64::from(u32::MAX), false);
        r.doc.import(&history).expect("the history imports");
        r
    }

    fn save(r: &Replica) -> Vec<u8> {
        r.doc
            .export(ExportMode::Snapshot)
            .expect("a snapshot exports")
    }

    fn load(bytes: &[u8]) -> (Replica, String) {
        let doc = LoroDoc::from_snapshot(bytes).expect("a snapshot loads");
        let text = doc.get_text("text");
        let s = text.to_string();
        (
            Replica {
                doc,
                text,
                outbox: None,
            },
            s,
        )
    }
}

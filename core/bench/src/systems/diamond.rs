//! diamond-types: a `ListCRDT` (operation log + checked-out branch) per
//! replica. Positions are code points already. Changes travel as oplog
//! patches (`encode_from` the version before the edit, `ENCODE_PATCH`), the
//! history and the saved document as the full oplog encoding.

use diamond_types::list::ListCRDT;
use diamond_types::list::encoding::{ENCODE_FULL, ENCODE_PATCH};

use crate::harness::System;
use crate::trace::Patch;

#[derive(Debug)]
pub struct Diamond;

pub struct Replica {
    pub doc: ListCRDT,
    agent: diamond_types::AgentId,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica").finish_non_exhaustive()
    }
}

fn replica(agent: usize) -> Replica {
    let mut doc = ListCRDT::new();
    let agent = doc.get_or_create_agent_id(&format!("agent{agent}"));
    Replica { doc, agent }
}

impl System for Diamond {
    const NAME: &'static str = "diamond-types";
    type Replica = Replica;
    type Msg = Vec<u8>;
    type History = Vec<u8>;

    fn version() -> &'static str {
        env!("BENCH_VERSION_DIAMOND_TYPES")
    }

    fn replicas(n: usize, start: &str) -> Vec<Replica> {
        let mut out: Vec<Replica> = (0..n).map(replica).collect();
        if !start.is_empty() {
            let r = &mut out[0];
            r.doc.insert(r.agent, 0, start);
        }
        out
    }

    fn edit(r: &mut Replica, patches: &[Patch], emit: bool) -> Option<Vec<u8>> {
        let before = emit.then(|| r.doc.oplog.local_version());
        for p in patches {
            if p.del > 0 {
                r.doc.delete_without_content(r.agent, p.pos..p.pos + p.del);
            }
            if !p.insert.is_empty() {
                r.doc.insert(r.agent, p.pos, &p.insert);
            }
        }
        before.map(|v| r.doc.oplog.encode_from(ENCODE_PATCH, &v))
    }

    fn merge(r: &mut Replica, msgs: &[&Vec<u8>]) {
        for m in msgs {
            r.doc
                .oplog
                .decode_and_add(m)
                .expect("a patch from another replica decodes");
        }
        let tip = r.doc.oplog.local_version();
        r.doc.branch.merge(&r.doc.oplog, &tip);
    }

    fn text(r: &Replica) -> String {
        r.doc.branch.content().to_string()
    }

    fn history(r: &Replica) -> Vec<u8> {
        r.doc.oplog.encode(ENCODE_PATCH)
    }

    fn apply_history(history: Vec<u8>) -> Replica {
        let mut r = replica(usize::MAX);
        r.doc
            .merge_data_and_ff(&history)
            .expect("the history decodes");
        r
    }

    fn save(r: &Replica) -> Vec<u8> {
        r.doc.oplog.encode(ENCODE_FULL)
    }

    fn load(bytes: &[u8]) -> (Replica, String) {
        let mut doc = ListCRDT::load_from(bytes).expect("a saved oplog loads");
        let agent = doc.get_or_create_agent_id("loader");
        let text = doc.branch.content().to_string();
        (Replica { doc, agent }, text)
    }
}

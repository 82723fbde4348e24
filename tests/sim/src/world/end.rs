//! Healing, waiting for quiet, the fresh device, and the checks.

use std::fmt::Write;

use concord_note::note;
use concord_relay::hub::DocState;
use concord_wire::ChangeSource;

use super::{HEAL_LIMIT, Outcome, Phase, World, skewed};
use crate::device::SimDevice;
use crate::net::Faults;
use crate::sched::Event;
use crate::show;
use crate::time::{SEC, secs};

impl World {
    /// The faults stop: paths clean, partitions over, the store and the
    /// disks sound, every process up and online, every device in every
    /// document. Nothing else is done for them: a subscription stuck in
    /// the chaos must get unstuck by itself (a token that expires is
    /// renewed as always, when the relay refuses it).
    pub(super) fn heal(&mut self) {
        self.phase = Phase::Heal { since: self.now };
        self.note(format_args!("HEAL: the faults stop"));
        for d in 0..self.paths.len() {
            self.paths[d].faults = Faults::default();
            self.heal_path(d);
        }
        self.relay.store.failing = false;
        self.relay.store.flaky = 0.0;
        {
            let (mut ctx, relay, _) = self.parts();
            relay.restart(&mut ctx);
        }
        for d in 0..self.devices.len() {
            self.devices[d].flaky_disk = 0.0;
            self.devices[d].online = true;
            for doc in self.docs.clone() {
                if !self.devices[d].disk.contains_key(&doc) {
                    let token = self.token(&doc, true);
                    let (mut ctx, _, devices) = self.parts();
                    devices[d].join(&doc, token, &mut ctx);
                }
            }
            let (mut ctx, _, devices) = self.parts();
            devices[d].boot(&mut ctx);
            devices[d].set_online(true, &mut ctx);
        }
        self.at(self.now + SEC, Event::Check);
    }

    /// Why the system is not yet quiet and equal, if it is not.
    fn unquiet(&self) -> Option<String> {
        if !self.relay.is_up() {
            return Some("the relay is down".into());
        }
        if !self.relay.is_idle() {
            return Some("the relay's writer is busy".into());
        }
        self.devices.iter().find_map(|d| {
            d.unquiet(&self.docs, &self.relay.store)
                .map(|why| format!("{}: {why}", d.name))
        })
    }

    /// Once a second after healing: quiet yet? Then a fresh device joins;
    /// once it too is quiet, the checks.
    pub(super) fn check(&mut self) {
        let since = match self.phase {
            Phase::Heal { since } | Phase::Fresh { since } => since,
            Phase::Chaos | Phase::Done => return,
        };
        match self.unquiet() {
            None if matches!(self.phase, Phase::Heal { .. }) => {
                self.healed_after = Some(self.now - since);
                self.note(format_args!("quiet; a fresh device joins"));
                self.phase = Phase::Fresh { since: self.now };
                self.add_fresh_device();
            }
            None => {
                self.final_checks();
                self.phase = Phase::Done;
                return;
            }
            Some(why) if self.now - since > HEAL_LIMIT => {
                let what = format!(
                    "not quiet {} s after healing: {why}",
                    (self.now - since) / SEC
                );
                self.problems.push(what);
                self.phase = Phase::Done;
                return;
            }
            Some(_) => {}
        }
        self.at(self.now + SEC, Event::Check);
    }

    /// A device that never edited: it must end up with the same documents
    /// (the relay itself holds every change, not only the devices that
    /// upload theirs again).
    fn add_fresh_device(&mut self) {
        let index = self.devices.len();
        let clock = skewed(&mut self.rng);
        self.devices.push(SimDevice::new(index, clock));
        for doc in self.docs.clone() {
            let token = self.token(&doc, true);
            let (mut ctx, _, devices) = self.parts();
            devices[index].join(&doc, token, &mut ctx);
        }
        let (mut ctx, _, devices) = self.parts();
        devices[index].boot(&mut ctx);
    }

    /// Every replica equal to the fresh device's, in memory and as its
    /// disk reloads it; the relay's store loads to the same version; every
    /// body holds exactly what the devices said they saved.
    fn final_checks(&mut self) {
        let mut problems = Vec::new();
        let Some((fresh, others)) = self.devices.split_last() else {
            return;
        };
        let Some(run) = &fresh.run else {
            return;
        };
        for doc in &self.docs {
            let Ok(reference) = run.device.document(doc) else {
                problems.push(format!("{doc}: the fresh device does not have it"));
                continue;
            };
            let body = note::body_text(reference);
            for d in others.iter().chain(Some(fresh)) {
                let Some(mine) = d.run.as_ref().and_then(|r| r.device.document(doc).ok()) else {
                    problems.push(format!("{}: {doc} is not open", d.name));
                    continue;
                };
                if mine != reference {
                    problems.push(format!(
                        "{doc}: {} differs from the fresh device: {} {:?} and {} {:?}",
                        d.name,
                        show::version(mine.version()),
                        note::body_text(mine),
                        show::version(reference.version()),
                        body
                    ));
                }
                let reloaded = d
                    .disk
                    .get(doc)
                    .cloned()
                    .unwrap_or_default()
                    .into_document(d.replica);
                match reloaded {
                    Ok(r) if r == *reference => {}
                    Ok(r) => problems.push(format!(
                        "{doc}: {}'s store reloads as {} {:?}",
                        d.name,
                        show::version(r.version()),
                        note::body_text(&r)
                    )),
                    Err(e) => {
                        problems.push(format!("{doc}: {}'s store does not load: {e}", d.name));
                    }
                }
            }
            let mut stored = DocState::new(1);
            match stored.install(self.relay.store.log(doc).to_vec()) {
                Ok(()) if stored.version() == *reference.version() => {}
                Ok(()) => problems.push(format!(
                    "{doc}: the relay's store holds {}",
                    show::version(&stored.version())
                )),
                Err(e) => problems.push(format!("{doc}: the relay's store does not load: {e}")),
            }
            problems.extend(self.ledger.check(doc, &body));
        }
        for what in problems {
            self.problem("check", &what);
        }
    }

    pub(super) fn outcome(self) -> Outcome {
        let bodies = self
            .devices
            .last()
            .and_then(|d| d.run.as_ref())
            .map(|run| {
                self.docs
                    .iter()
                    .map(|doc| {
                        run.device
                            .document(doc)
                            .map(|d| format!("{doc}: {}", note::body_text(d)))
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let summary = self.summary();
        let saved = (self.ledger.saved_inserts, self.ledger.saved_deletes);
        Outcome {
            stats: self.stats,
            saved,
            seed: self.seed,
            problems: self.problems,
            trace_hash: self.trace.hash(),
            trace: self.trace.lines().map(str::to_owned).collect(),
            summary,
            bodies,
        }
    }

    fn summary(&self) -> String {
        let s = &self.stats;
        let n = &s.net;
        let mut out = format!(
            "seed {}: {} devices, {} documents, {} s of chaos; {} events in {} s of virtual time; \
             {} edits ({} inserts and {} deletes reported saved); {} device crashes ({} saves in \
             flight lost, {} saves failed); relay: {} crashes ({} queued commits lost), {} failed \
             commits; network: {} messages, {} dropped, {} duplicated, {} reordered, {} held, \
             {} cuts, {} partitions, {} times offline; {} tokens refused",
            self.seed,
            self.plan.devices,
            self.plan.docs,
            self.plan.chaos / SEC,
            s.events,
            secs(self.now),
            s.edits,
            self.ledger.saved_inserts,
            self.ledger.saved_deletes,
            s.device_crashes,
            s.saves_lost_in_crash,
            s.saves_failed,
            s.relay_crashes,
            s.commits_lost_in_crash,
            s.commit_failures,
            n.sent,
            n.dropped,
            n.duplicated,
            n.reordered,
            n.held,
            s.cuts,
            s.partitions,
            s.offline,
            s.tokens_refused,
        );
        if let Some(t) = self.healed_after {
            let _ = write!(out, "; quiet {} s after healing", secs(t));
        }
        if !s.relay_errors.is_empty() {
            let _ = write!(out, "; relay refusals {:?}", s.relay_errors);
        }
        out
    }
}

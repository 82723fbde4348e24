//! The chaos phase's steps: what happens next is drawn from the seed.

use concord_wire::DocId;

use super::World;
use crate::device::Link;
use crate::net::{Dir, Faults, Partition, Wire};
use crate::sched::Event;
use crate::time::{MS, Micros, SEC};

/// The close code a socket reports when its peer's process died.
const ABNORMAL: u16 = 1006;

impl World {
    /// One step of chaos: an edit burst most of the time, else a fault.
    pub(super) fn chaos(&mut self) {
        let roll = self.rng.unit();
        if roll < 0.40 {
            self.typing();
        } else if roll < 0.48 {
            let d = self.rng.index(self.devices.len());
            self.join_one(d);
        } else if roll < 0.54 {
            let d = self.rng.index(self.devices.len());
            let soon = self.rng.below(50 * MS);
            self.crash_device(d, soon);
        } else if roll < 0.57 {
            self.crash_relay();
        } else if roll < 0.63 {
            self.cut();
        } else if roll < 0.68 {
            self.partition();
        } else if roll < 0.78 {
            self.weather();
        } else if roll < 0.81 {
            self.fail_store();
        } else if roll < 0.85 {
            self.go_offline();
        }
    }

    /// A running device types a few edits into one of its documents
    /// (joining one first if it has none).
    fn typing(&mut self) {
        let d = self.rng.index(self.devices.len());
        if !self.devices[d].is_running() {
            return;
        }
        if self.devices[d].disk.is_empty() {
            self.join_one(d);
        }
        let docs: Vec<DocId> = self.devices[d].disk.keys().cloned().collect();
        if docs.is_empty() {
            return;
        }
        let doc = docs[self.rng.index(docs.len())].clone();
        let left = self.rng.below(5) as u32;
        let life = self.devices[d].life;
        self.at(
            self.now,
            Event::Type {
                device: d,
                life,
                doc,
                left,
            },
        );
    }

    /// Device `d` opens a document it lacks from a share link.
    fn join_one(&mut self, d: usize) {
        let lacking: Vec<DocId> = self
            .docs
            .iter()
            .filter(|doc| !self.devices[d].disk.contains_key(*doc))
            .cloned()
            .collect();
        if lacking.is_empty() {
            return;
        }
        let doc = lacking[self.rng.index(lacking.len())].clone();
        let token = self.token(&doc, false);
        let (mut ctx, _, devices) = self.parts();
        devices[d].join(&doc, token, &mut ctx);
    }

    /// Device `d`'s process dies `after` from now, and restarts a while later.
    pub(super) fn crash_device(&mut self, d: usize, after: Micros) {
        let life = self.devices[d].life;
        self.at(self.now + after, Event::Crash { device: d, life });
    }

    pub(super) fn crash_now(&mut self, d: usize) {
        let (mut ctx, _, devices) = self.parts();
        if let Some(conn) = devices[d].crash(&mut ctx) {
            // Its socket is reset: the relay hears, if the path lets it.
            ctx.send(d, conn, Dir::Up, Wire::Close(ABNORMAL));
        }
        let back = self.rng.range(200 * MS, 8 * SEC);
        self.at(self.now + back, Event::DeviceRestart { device: d });
    }

    fn crash_relay(&mut self) {
        if !self.relay.is_up() {
            return;
        }
        let (mut ctx, relay, _) = self.parts();
        for (conn, d) in relay.crash(&mut ctx) {
            ctx.send(d, conn, Dir::Down, Wire::Close(ABNORMAL));
        }
        let back = self.rng.range(200 * MS, 8 * SEC);
        self.at(self.now + back, Event::RelayRestart);
    }

    /// A device's connection is cut: each end hears of it.
    fn cut(&mut self) {
        let d = self.rng.index(self.devices.len());
        let Link::Open(conn) = self.devices[d].link() else {
            return;
        };
        self.stats.cuts += 1;
        let name = self.devices[d].name.clone();
        self.trace
            .line(self.now, "net", format_args!("cuts {name}'s c{conn}"));
        let (mut ctx, _, _) = self.parts();
        ctx.send(d, conn, Dir::Up, Wire::Close(ABNORMAL));
        ctx.send(d, conn, Dir::Down, Wire::Close(ABNORMAL));
    }

    /// A device's path loses or holds everything for a while.
    fn partition(&mut self) {
        let d = self.rng.index(self.devices.len());
        let mode = if self.rng.chance(0.5) {
            Partition::Lost
        } else {
            Partition::Held
        };
        self.partitions[d] += 1;
        self.paths[d].partition = Some(mode);
        self.stats.partitions += 1;
        let until = self.now + self.rng.range(SEC, 40 * SEC);
        let name = self.devices[d].name.clone();
        self.trace.line(
            self.now,
            "net",
            format_args!(
                "partitions {name} ({mode:?}) until {}",
                crate::time::secs(until)
            ),
        );
        let number = self.partitions[d];
        self.at(until, Event::PartitionEnds { device: d, number });
    }

    /// The partition of `d`'s path ends: what it held arrives.
    pub(super) fn heal_path(&mut self, d: usize) {
        for a in self.paths[d].heal(self.now, &mut self.rng) {
            self.queue.push(
                a.at,
                Event::Deliver {
                    device: d,
                    conn: a.conn,
                    dir: a.dir,
                    wire: a.wire,
                },
            );
        }
    }

    /// A device's path turns lossy, or clean again.
    fn weather(&mut self) {
        let d = self.rng.index(self.devices.len());
        let faults = if self.rng.chance(0.3) {
            Faults::default()
        } else {
            Faults {
                drop: self.rng.unit() * 0.3,
                duplicate: self.rng.unit() * 0.2,
                reorder: self.rng.unit() * 0.3,
            }
        };
        self.paths[d].faults = faults;
        let name = self.devices[d].name.clone();
        self.trace
            .line(self.now, "net", format_args!("{name}'s path: {faults:?}"));
    }

    /// The relay's store refuses every commit for a while (disk full).
    fn fail_store(&mut self) {
        self.store_failures += 1;
        self.relay.store.failing = true;
        let until = self.now + self.rng.range(500 * MS, 8 * SEC);
        self.note(format_args!(
            "the store fails until {}",
            crate::time::secs(until)
        ));
        let number = self.store_failures;
        self.at(until, Event::StoreRecovers { number });
    }

    /// A device's user works offline for a while.
    fn go_offline(&mut self) {
        let d = self.rng.index(self.devices.len());
        if !self.devices[d].online {
            return;
        }
        self.spells[d] += 1;
        let number = self.spells[d];
        let back = self.now + self.rng.range(SEC, 30 * SEC);
        let (mut ctx, _, devices) = self.parts();
        devices[d].set_online(false, &mut ctx);
        self.at(back, Event::BackOnline { device: d, number });
    }
}

//! Shared by the text property tests (`core/tests/it/text_props.rs`) and the
//! text module's unit tests, which build the tree with tiny node capacities so
//! that small cases already split leaves, nodes and runs:
//! - `Local`: one replica checked against a `Vec<char>` model;
//! - `RefList`: the FugueMax rules implemented naively (one `Vec` of chars,
//!   indexes by linear search), the reference for the ordering;
//! - `run_replicas`: replicas editing concurrently and reading each other's
//!   logs in causal orders, compared with `RefList` after every op.
//!
//! The including module provides `Text`, `TextInsert`, `TextError`, `IdSpan`,
//! `OpId` and `ReplicaId`.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::{IdSpan, OpId, ReplicaId, Text, TextError, TextInsert};

pub const ALPHABET: &[char] = &['a', 'b', 'c', ' ', 'é', '日', '😀', '\n'];

pub fn content() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 1..6)
        .prop_map(|v| v.into_iter().collect())
}

// ---- one replica against a model ----

#[derive(Clone, Debug)]
pub enum Edit {
    /// Insert at a position (a fraction of the length, in per mille).
    Insert(u16, String),
    /// Type at the caret (right after the previous edit), one char at a time.
    Type(String),
    /// Delete `len` chars at a position.
    Delete(u16, usize),
    /// Delete `n` chars before the caret, one at a time.
    Backspace(usize),
    /// Delete `n` chars after the caret, one at a time.
    ForwardDelete(usize),
}

pub fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (0..=1000u16, content()).prop_map(|(p, s)| Edit::Insert(p, s)),
        3 => content().prop_map(Edit::Type),
        2 => (0..=1000u16, 1..8usize).prop_map(|(p, n)| Edit::Delete(p, n)),
        1 => (1..5usize).prop_map(Edit::Backspace),
        1 => (1..5usize).prop_map(Edit::ForwardDelete),
    ]
}

pub fn at(per_mille: u16, len: usize) -> usize {
    len * per_mille as usize / 1000
}

pub struct Local {
    pub text: Text,
    pub model: Vec<char>,
    next: u64,
    caret: usize,
}

impl Local {
    /// Runs `edits` on a new replica, checking it after every step.
    pub fn run_all(edits: &[Edit]) -> Local {
        let mut l = Local {
            text: Text::new(),
            model: Vec::new(),
            next: 1,
            caret: 0,
        };
        for e in edits {
            l.run(e);
        }
        l
    }

    /// Then: every char ever inserted still has a position, and the snapshot
    /// round-trips.
    pub fn check_end(&self) -> Result<(), TestCaseError> {
        for id in (1..self.next).map(|c| OpId::new(ReplicaId(1), c)) {
            let pos = self.text.pos_of(id).expect("known id");
            prop_assert!(pos <= self.model.len());
        }
        let copy = Text::from_spans(self.text.spans()).unwrap();
        copy.check();
        prop_assert_eq!(&copy, &self.text);
        prop_assert_eq!(copy.to_string(), self.text.to_string());
        Ok(())
    }

    pub fn insert(&mut self, pos: usize, s: &str) {
        let ins = self.text.prepare_insert(pos, s).unwrap();
        let id = OpId::new(ReplicaId(1), self.next);
        self.next += s.chars().count() as u64;
        assert_eq!(self.text.apply_insert(id, &ins), Ok(pos));
        self.model.splice(pos..pos, s.chars());
        self.caret = pos + s.chars().count();
        self.text.check();
    }

    pub fn delete(&mut self, pos: usize, len: usize) {
        let spans = self.text.prepare_delete(pos, len).unwrap();
        let total: u64 = spans.iter().map(|s| s.len).sum();
        assert_eq!(total, len as u64);
        let removed: usize = spans
            .iter()
            .map(|s| self.text.apply_delete(*s).unwrap())
            .sum();
        assert_eq!(removed, len);
        self.model.drain(pos..pos + len);
        self.caret = pos;
        self.text.check();
    }

    pub fn run(&mut self, e: &Edit) {
        let len = self.model.len();
        match e {
            Edit::Insert(p, s) => self.insert(at(*p, len), s),
            Edit::Type(s) => {
                for c in s.chars() {
                    self.insert(self.caret, &c.to_string());
                }
            }
            Edit::Delete(p, n) => {
                let pos = at(*p, len);
                self.delete(pos, (*n).min(len - pos));
            }
            Edit::Backspace(n) => {
                for _ in 0..*n {
                    if self.caret > 0 {
                        self.delete(self.caret - 1, 1);
                    }
                }
            }
            Edit::ForwardDelete(n) => {
                for _ in 0..*n {
                    if self.caret < self.model.len() {
                        self.delete(self.caret, 1);
                    }
                }
            }
        }
        self.compare();
    }

    pub fn compare(&self) {
        let t = &self.text;
        let expected: String = self.model.iter().collect();
        assert_eq!(t.to_string(), expected);
        assert_eq!(t.len_chars(), self.model.len());
        assert_eq!(t.len_utf8(), expected.len());
        assert_eq!(t.len_utf16(), expected.encode_utf16().count());
        assert_eq!(t.is_empty(), expected.is_empty());
        let (mut b8, mut b16) = (0, 0);
        for (pos, c) in self.model.iter().chain(std::iter::once(&'\0')).enumerate() {
            assert_eq!(t.char_to_utf8(pos), Some(b8), "char_to_utf8({pos})");
            assert_eq!(t.char_to_utf16(pos), Some(b16), "char_to_utf16({pos})");
            assert_eq!(t.utf8_to_char(b8), Some(pos), "utf8_to_char({b8})");
            assert_eq!(t.utf16_to_char(b16), Some(pos), "utf16_to_char({b16})");
            if pos == self.model.len() {
                break;
            }
            for inside in 1..c.len_utf8() {
                assert_eq!(t.utf8_to_char(b8 + inside), None, "byte inside {c:?}");
            }
            if c.len_utf16() == 2 {
                assert_eq!(t.utf16_to_char(b16 + 1), None, "unit inside {c:?}");
            }
            let id = t.id_at(pos).expect("a visible char has an id");
            assert_eq!(t.pos_of(id), Some(pos));
            b8 += c.len_utf8();
            b16 += c.len_utf16();
        }
        assert_eq!(t.char_to_utf8(self.model.len() + 1), None);
        assert_eq!(t.utf8_to_char(b8 + 1), None);
        assert_eq!(t.utf16_to_char(b16 + 1), None);
        assert_eq!(t.id_at(self.model.len()), None);
    }
}

// ---- a naive implementation of the ordering, for reference ----

#[derive(Clone, Debug)]
pub struct Item {
    id: OpId,
    origin_left: Option<OpId>,
    right_parent: Option<OpId>,
    ch: char,
    deleted: bool,
}

/// Every char in one `Vec`, positions by linear scans: the rules exactly as
/// written, without runs, trees or shortcuts.
#[derive(Clone, Debug, Default)]
pub struct RefList {
    items: Vec<Item>,
}

impl RefList {
    pub fn index(&self, id: OpId) -> usize {
        self.items
            .iter()
            .position(|i| i.id == id)
            .expect("known id")
    }

    pub fn visible_index(&self, pos: usize) -> usize {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, i)| !i.deleted)
            .nth(pos)
            .expect("pos in range")
            .0
    }

    pub fn prepare_insert(&self, pos: usize) -> (Option<OpId>, Option<OpId>) {
        let (left, next) = if pos == 0 {
            (None, 0)
        } else {
            let i = self.visible_index(pos - 1);
            (Some(self.items[i].id), i + 1)
        };
        let right = self
            .items
            .get(next)
            .filter(|n| n.origin_left == left)
            .map(|n| n.id);
        (left, right)
    }

    pub fn integrate(&mut self, id: OpId, ins: &TextInsert) {
        for (k, ch) in ins.content.chars().enumerate() {
            let k = k as u64;
            let item = Item {
                id: id.offset(k),
                origin_left: if k == 0 {
                    ins.origin_left
                } else {
                    Some(id.offset(k - 1))
                },
                right_parent: if k == 0 { ins.right_parent } else { None },
                ch,
                deleted: false,
            };
            self.integrate1(item);
        }
    }

    /// The brief's `integrate`, with indexes shifted by one so that the
    /// document start (index -1) is 0: `left(x)` is "index of x, plus one".
    pub fn integrate1(&mut self, new: Item) {
        let len = self.items.len();
        let left = |o: Option<OpId>| o.map_or(0, |id| self.index(id) + 1);
        let right = |o: Option<OpId>| o.map_or(len + 1, |id| self.index(id) + 1);
        let left_idx = left(new.origin_left);
        let right_idx = right(new.right_parent);
        let start = left_idx;
        let mut dest = start;
        let mut scanning = false;
        let mut i = start;
        while i < self.items.len() {
            let o = &self.items[i];
            if Some(o.id) == new.right_parent {
                break;
            }
            let oleft = left(o.origin_left);
            if oleft < left_idx {
                break;
            }
            if oleft == left_idx {
                let oright = right(o.right_parent);
                if oright == right_idx && new.id < o.id {
                    break;
                }
                scanning = oright < right_idx;
            }
            i += 1;
            if !scanning {
                dest = i;
            }
        }
        self.items.insert(dest, new);
    }

    /// Returns how many of the chars were visible.
    pub fn delete(&mut self, span: IdSpan) -> usize {
        let mut removed = 0;
        for k in 0..span.len {
            let i = self.index(span.start.offset(k));
            removed += usize::from(!self.items[i].deleted);
            self.items[i].deleted = true;
        }
        removed
    }

    /// Visible chars before `id`.
    pub fn pos_of(&self, id: OpId) -> usize {
        let i = self.index(id);
        self.items[..i].iter().filter(|x| !x.deleted).count()
    }

    pub fn text(&self) -> String {
        self.items
            .iter()
            .filter(|i| !i.deleted)
            .map(|i| i.ch)
            .collect()
    }
}

/// The items of a `Text`, from its snapshot.
pub fn items_of(t: &Text) -> Vec<(OpId, Option<OpId>, Option<OpId>, bool)> {
    let mut out = Vec::new();
    for r in t.spans() {
        for k in 0..r.len {
            let (left, right) = if k == 0 {
                (r.origin_left, r.right_parent)
            } else {
                (Some(r.id.offset(k - 1)), None)
            };
            out.push((r.id.offset(k), left, right, r.content.is_none()));
        }
    }
    out
}

pub fn ref_items(r: &RefList) -> Vec<(OpId, Option<OpId>, Option<OpId>, bool)> {
    r.items
        .iter()
        .map(|i| (i.id, i.origin_left, i.right_parent, i.deleted))
        .collect()
}

// ---- replicas editing concurrently ----

#[derive(Clone, Debug)]
pub enum Op {
    Ins(OpId, TextInsert),
    Del(IdSpan),
}

#[derive(Clone, Debug)]
pub enum Step {
    /// Replica `r` edits locally.
    Edit(usize, Edit),
    /// Replica `to` applies the next `n` ops of `from`'s log it lacks.
    Deliver { from: usize, to: usize, n: usize },
}

pub fn step(replicas: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..replicas, edit()).prop_map(|(r, e)| Step::Edit(r, e)),
        1 => (0..replicas, 0..replicas, 1..6usize)
            .prop_map(|(from, to, n)| Step::Deliver { from, to, n }),
    ]
}

pub struct Replica {
    text: Text,
    reference: RefList,
    id: ReplicaId,
    next: u64,
    caret: usize,
    /// Every op applied here, in the order applied (a causal order), with a
    /// number naming it across replicas.
    log: Vec<(usize, Op)>,
    seen: BTreeSet<usize>,
    /// How far this replica has read each other replica's log.
    read: Vec<usize>,
}

impl Replica {
    pub fn apply(&mut self, n: usize, op: &Op) {
        match op {
            Op::Ins(id, ins) => {
                self.text.check_insert(*id, ins).unwrap();
                let pos = self.text.apply_insert(*id, ins).unwrap();
                self.reference.integrate(*id, ins);
                assert_eq!(pos, self.reference.pos_of(*id), "where it landed");
                // Applying it again is refused and changes nothing.
                let dup = self.text.apply_insert(*id, ins).unwrap_err();
                assert!(matches!(dup, TextError::DuplicateId(_)), "{dup}");
            }
            Op::Del(span) => {
                self.text.check_delete(*span).unwrap();
                let removed = self.text.apply_delete(*span).unwrap();
                assert_eq!(removed, self.reference.delete(*span), "chars removed");
                assert_eq!(self.text.apply_delete(*span), Ok(0), "deleting twice");
            }
        }
        self.text.check();
        assert_eq!(
            items_of(&self.text),
            ref_items(&self.reference),
            "same as the reference"
        );
        assert_eq!(self.text.to_string(), self.reference.text());
        self.log.push((n, op.clone()));
        self.seen.insert(n);
    }

    pub fn insert(&mut self, pos: usize, s: &str, counter: &mut usize) {
        let ins = self.text.prepare_insert(pos, s).unwrap();
        let (left, right) = self.reference.prepare_insert(pos);
        assert_eq!(
            (ins.origin_left, ins.right_parent),
            (left, right),
            "prepared origins"
        );
        let id = OpId::new(self.id, self.next);
        self.next += s.chars().count() as u64;
        *counter += 1;
        self.apply(*counter, &Op::Ins(id, ins));
        self.caret = pos + s.chars().count();
    }

    pub fn delete(&mut self, pos: usize, len: usize, counter: &mut usize) {
        for span in self.text.prepare_delete(pos, len).unwrap() {
            *counter += 1;
            self.apply(*counter, &Op::Del(span));
        }
        self.caret = pos;
    }

    pub fn edit(&mut self, e: &Edit, counter: &mut usize) {
        let len = self.text.len_chars();
        match e {
            Edit::Insert(p, s) => self.insert(at(*p, len), s, counter),
            Edit::Type(s) => {
                for c in s.chars() {
                    let caret = self.caret.min(self.text.len_chars());
                    self.insert(caret, &c.to_string(), counter);
                }
            }
            Edit::Delete(p, n) => {
                let pos = at(*p, len);
                self.delete(pos, (*n).min(len - pos), counter);
            }
            Edit::Backspace(n) => {
                for _ in 0..*n {
                    let caret = self.caret.min(self.text.len_chars());
                    if caret > 0 {
                        self.delete(caret - 1, 1, counter);
                    }
                }
            }
            Edit::ForwardDelete(n) => {
                for _ in 0..*n {
                    let caret = self.caret.min(self.text.len_chars());
                    if caret < self.text.len_chars() {
                        self.delete(caret, 1, counter);
                    }
                }
            }
        }
    }
}

/// Replica `to` reads up to `n` more ops from `from`'s log, applying the ones
/// it lacks. Reading another log in order is a causal order.
pub fn deliver(replicas: &mut [Replica], from: usize, to: usize, n: usize) -> bool {
    if from == to {
        return false;
    }
    let mut progressed = false;
    for _ in 0..n {
        let Some((num, op)) = replicas[from].log.get(replicas[to].read[from]).cloned() else {
            break;
        };
        replicas[to].read[from] += 1;
        if !replicas[to].seen.contains(&num) {
            replicas[to].apply(num, &op);
        }
        progressed = true;
    }
    progressed
}

pub fn run_replicas(count: usize, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut replicas: Vec<Replica> = (0..count)
        .map(|r| Replica {
            text: Text::new(),
            reference: RefList::default(),
            // Later replicas get smaller ids, so ties go both ways.
            id: ReplicaId(100 - r as u128),
            next: 1,
            caret: 0,
            log: Vec::new(),
            seen: BTreeSet::new(),
            read: vec![0; count],
        })
        .collect();
    let mut counter = 0;
    for s in steps {
        match s {
            Step::Edit(r, e) => replicas[*r].edit(e, &mut counter),
            Step::Deliver { from, to, n } => {
                deliver(&mut replicas, *from, *to, *n);
            }
        }
    }
    // Heal: everyone reads everything, in an order that differs per replica.
    let mut progressed = true;
    while progressed {
        progressed = false;
        for to in 0..count {
            for k in 0..count {
                let from = (to + k + 1) % count;
                progressed |= deliver(&mut replicas, from, to, 3);
            }
        }
    }
    let first = &replicas[0].text;
    for r in &replicas[1..] {
        prop_assert_eq!(r.text.to_string(), first.to_string());
        prop_assert_eq!(r.text.spans(), first.spans());
    }
    let copy = Text::from_spans(first.spans()).unwrap();
    copy.check();
    prop_assert_eq!(&copy, first);
    Ok(())
}

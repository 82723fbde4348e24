//! A span: a run of characters stored as one entry of the sequence tree.
//!
//! Characters typed one after another by one replica have consecutive ids,
//! each has the previous one as `origin_left` and no `right_parent`; as long as
//! they stay adjacent in the document and share their deleted state they are one
//! `Span`, which stores only its first character's origins.

use crate::id::{OpId, ReplicaId};

/// Longest visible span, in chars. Bounds the work to split a span or to
/// convert a position inside one, whatever was pasted. (Tiny in unit tests, so
/// that small cases hit the limit.)
pub(super) const MAX_VISIBLE_RUN: u64 = if cfg!(test) { 8 } else { 512 };

/// Sizes summed over a part of the sequence: tree nodes store one per child.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Agg {
    /// Characters including deleted ones (tombstones).
    pub items: u64,
    /// Visible characters (code points).
    pub chars: usize,
    /// Visible UTF-8 bytes.
    pub utf8: usize,
    /// Visible UTF-16 code units.
    pub utf16: usize,
}

impl Agg {
    pub const ZERO: Agg = Agg {
        items: 0,
        chars: 0,
        utf8: 0,
        utf16: 0,
    };

    #[must_use]
    pub fn plus(self, o: Agg) -> Agg {
        Agg {
            items: self.items + o.items,
            chars: self.chars + o.chars,
            utf8: self.utf8 + o.utf8,
            utf16: self.utf16 + o.utf16,
        }
    }

    #[must_use]
    pub fn minus(self, o: Agg) -> Agg {
        Agg {
            items: self.items - o.items,
            chars: self.chars - o.chars,
            utf8: self.utf8 - o.utf8,
            utf16: self.utf16 - o.utf16,
        }
    }

    pub fn get(&self, m: Metric) -> usize {
        match m {
            Metric::Chars => self.chars,
            Metric::Utf8 => self.utf8,
            Metric::Utf16 => self.utf16,
        }
    }
}

/// An `OpId` in 24 bytes. A `u128` field aligns a struct to 16 bytes, which
/// pads an `OpId` to 32 bytes and an `Option<OpId>` to 48; a span holds
/// three. Ordered like `OpId`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct PackedId {
    hi: u64,
    lo: u64,
    counter: u64,
}

impl PackedId {
    pub fn new(id: OpId) -> Self {
        PackedId {
            hi: (id.replica.0 >> 64) as u64,
            lo: id.replica.0 as u64,
            counter: id.counter,
        }
    }

    pub fn same_replica(self, other: PackedId) -> bool {
        self.hi == other.hi && self.lo == other.lo
    }

    pub fn get(self) -> OpId {
        OpId::new(
            ReplicaId(u128::from(self.hi) << 64 | u128::from(self.lo)),
            self.counter,
        )
    }
}

/// A unit in which visible positions are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Metric {
    Chars,
    Utf8,
    Utf16,
}

/// Spans are most of a text's memory: ids are packed (`PackedId`), the
/// origins' presence is two bits, and the UTF-16 length of at most
/// `MAX_VISIBLE_RUN` chars fits in a `u32` (112 bytes instead of 176).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Span {
    /// Id of the first character; character `k` has `id.offset(k)`.
    id: PackedId,
    /// Number of characters, always > 0.
    pub len: u64,
    /// Origins of the first character (zero when absent, see `origins`).
    /// Character `k > 0` has origin_left `id.offset(k - 1)` and no
    /// right_parent.
    origin_left: PackedId,
    right_parent: PackedId,
    /// The characters, or None once deleted.
    pub content: Option<String>,
    /// UTF-16 length of `content` (0 when deleted).
    utf16: u32,
    /// `HAS_LEFT | HAS_RIGHT`: which origins are present.
    origins: u8,
}

const HAS_LEFT: u8 = 1;
const HAS_RIGHT: u8 = 2;

impl Span {
    pub fn visible(
        id: OpId,
        origin_left: Option<OpId>,
        right_parent: Option<OpId>,
        content: String,
        len: u64,
    ) -> Span {
        let utf16 = utf16_len(&content);
        let mut span = Span::deleted(id, len, origin_left, right_parent);
        span.content = Some(content);
        span.set_utf16(utf16);
        span
    }

    pub fn deleted(
        id: OpId,
        len: u64,
        origin_left: Option<OpId>,
        right_parent: Option<OpId>,
    ) -> Span {
        let mut span = Span {
            id: PackedId::new(id),
            len,
            origin_left: PackedId::default(),
            right_parent: PackedId::default(),
            content: None,
            utf16: 0,
            origins: 0,
        };
        span.set_origins(origin_left, right_parent);
        span
    }

    pub fn id(&self) -> OpId {
        self.id.get()
    }

    /// The first id, packed: the id index key of a visible span.
    pub fn key(&self) -> PackedId {
        self.id
    }

    /// The span's ids, packed: a tombstone's index key is one of them.
    pub fn key_range(&self) -> std::ops::Range<PackedId> {
        self.id..PackedId {
            counter: self.end(),
            ..self.id
        }
    }

    pub fn set_id(&mut self, id: OpId) {
        self.id = PackedId::new(id);
    }

    pub fn origin_left(&self) -> Option<OpId> {
        (self.origins & HAS_LEFT != 0).then(|| self.origin_left.get())
    }

    pub fn right_parent(&self) -> Option<OpId> {
        (self.origins & HAS_RIGHT != 0).then(|| self.right_parent.get())
    }

    /// Sets the first character's origins (absent ones stored as zero, so
    /// that equal spans compare equal).
    pub fn set_origins(&mut self, origin_left: Option<OpId>, right_parent: Option<OpId>) {
        self.origin_left = origin_left.map(PackedId::new).unwrap_or_default();
        self.right_parent = right_parent.map(PackedId::new).unwrap_or_default();
        self.origins = (u8::from(origin_left.is_some()) * HAS_LEFT)
            | (u8::from(right_parent.is_some()) * HAS_RIGHT);
    }

    pub fn utf16(&self) -> usize {
        self.utf16 as usize
    }

    /// Sets the UTF-16 length: at most `2 * MAX_VISIBLE_RUN` for a visible
    /// span.
    pub fn set_utf16(&mut self, utf16: usize) {
        self.utf16 = u32::try_from(utf16).expect("a visible span is short");
    }

    pub fn is_deleted(&self) -> bool {
        self.content.is_none()
    }

    /// One past the last counter.
    pub fn end(&self) -> u64 {
        self.id.counter + self.len
    }

    pub fn last_id(&self) -> OpId {
        self.id().offset(self.len - 1)
    }

    pub fn contains(&self, id: OpId) -> bool {
        id.counter >= self.id.counter
            && id.counter < self.end()
            && PackedId::new(id).same_replica(self.id)
    }

    /// The origins of the character at offset `off`.
    pub fn origins_at(&self, off: u64) -> (Option<OpId>, Option<OpId>) {
        if off == 0 {
            (self.origin_left(), self.right_parent())
        } else {
            (Some(self.id().offset(off - 1)), None)
        }
    }

    pub fn chars(&self) -> usize {
        if self.is_deleted() {
            0
        } else {
            self.len as usize
        }
    }

    pub fn agg(&self) -> Agg {
        Agg {
            items: self.len,
            chars: self.chars(),
            utf8: self.content.as_ref().map_or(0, String::len),
            utf16: self.utf16(),
        }
    }

    /// Whether `next`'s ids and origins continue this run (whatever the
    /// deleted states).
    pub fn continues_into(&self, next: &Span) -> bool {
        next.id.counter == self.end()
            && next.origins == HAS_LEFT
            && next.origin_left == PackedId::new(self.last_id())
            && next.id.same_replica(self.id)
    }

    /// Whether `next`, placed right after `self`, can be one span with it.
    pub fn can_append(&self, next: &Span) -> bool {
        self.continues_into(next)
            && match (&self.content, &next.content) {
                (None, None) => true,
                (Some(_), Some(_)) => self.len + next.len <= MAX_VISIBLE_RUN,
                _ => false,
            }
    }

    /// Appends `next`, which must satisfy `can_append`.
    pub fn append(&mut self, next: Span) {
        debug_assert!(self.can_append(&next));
        self.len += next.len;
        self.utf16 += next.utf16;
        if let (Some(a), Some(b)) = (&mut self.content, next.content) {
            a.push_str(&b);
        }
    }

    /// Splits the span so that `self` keeps chars `..at` and the returned span
    /// holds chars `at..`. `0 < at < len`.
    pub fn split_off(&mut self, at: u64) -> Span {
        debug_assert!(at > 0 && at < self.len);
        let (content, utf16) = match &mut self.content {
            Some(s) => {
                let byte = byte_of_char(s, self.len, at as usize);
                let right = s.split_off(byte);
                let right_utf16 = utf16_len(&right);
                self.set_utf16(self.utf16() - right_utf16);
                (Some(right), right_utf16)
            }
            None => (None, 0),
        };
        let id = self.id();
        let mut right = Span::deleted(id.offset(at), self.len - at, Some(id.offset(at - 1)), None);
        right.content = content;
        right.set_utf16(utf16);
        self.len = at;
        right
    }

    /// Drops the visible chars `at..` (`0 < at < len`); returns their size.
    pub fn truncate(&mut self, at: u64) -> Agg {
        let before = self.agg();
        let utf16 = self.utf16();
        let s = self.content.as_mut().expect("a visible span");
        let byte = byte_of_char(s, self.len, at as usize);
        let utf16 = utf16 - utf16_len(&s[byte..]);
        s.truncate(byte);
        self.set_utf16(utf16);
        self.len = at;
        Agg {
            items: 0,
            ..before.minus(self.agg())
        }
    }

    /// Drops the first `n` visible chars (`0 < n < len`), so the span starts
    /// `n` ids later; returns their size.
    pub fn drop_front(&mut self, n: u64) -> Agg {
        let before = self.agg();
        let utf16 = self.utf16();
        let s = self.content.as_mut().expect("a visible span");
        let byte = byte_of_char(s, self.len, n as usize);
        let utf16 = utf16 - utf16_len(&s[..byte]);
        s.drain(..byte);
        self.set_utf16(utf16);
        let id = self.id();
        self.set_origins(Some(id.offset(n - 1)), None);
        self.set_id(id.offset(n));
        self.len -= n;
        Agg {
            items: 0,
            ..before.minus(self.agg())
        }
    }

    /// Turns the span into a tombstone; returns what stopped being visible.
    pub fn delete(&mut self) -> Agg {
        let before = self.agg();
        self.content = None;
        self.utf16 = 0;
        before.minus(self.agg())
    }
}

/// The spans holding `content` (`n` chars, ids from `id`, the first char with
/// these origins): runs of at most `MAX_VISIBLE_RUN` chars.
pub(super) fn visible_runs(
    id: OpId,
    origin_left: Option<OpId>,
    right_parent: Option<OpId>,
    content: &str,
    n: u64,
) -> impl Iterator<Item = Span> {
    let mut rest = content;
    let mut offset = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = (n - offset).min(MAX_VISIBLE_RUN);
        let take = if len == n {
            rest.len()
        } else {
            byte_of_char(rest, n - offset, len as usize)
        };
        let (chunk, tail) = rest.split_at(take);
        let (left, right) = if offset == 0 {
            (origin_left, right_parent)
        } else {
            (Some(id.offset(offset - 1)), None)
        };
        let span = Span::visible(id.offset(offset), left, right, chunk.to_owned(), len);
        offset += len;
        rest = tail;
        Some(span)
    })
}

/// UTF-16 length of a string.
pub(super) fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().map(char::len_utf16).sum()
    }
}

/// Byte offset of char `k` in `s`, which has `chars` chars (`k <= chars`).
pub(super) fn byte_of_char(s: &str, chars: u64, k: usize) -> usize {
    if s.len() as u64 == chars {
        return k; // ASCII
    }
    s.char_indices().nth(k).map_or(s.len(), |(b, _)| b)
}

/// Offset, in metric `m`, of char `k` in `s` (`k <= chars of s`).
pub(super) fn metric_of_char(s: &str, chars: u64, k: usize, m: Metric) -> usize {
    match m {
        Metric::Chars => k,
        Metric::Utf8 => byte_of_char(s, chars, k),
        Metric::Utf16 => {
            if s.len() as u64 == chars {
                k
            } else {
                s.chars().take(k).map(char::len_utf16).sum()
            }
        }
    }
}

/// The char index at offset `unit` (in metric `m`) of `s`, or None if `unit`
/// falls inside a char. `unit <= metric length of s`.
pub(super) fn char_of_metric(s: &str, chars: u64, unit: usize, m: Metric) -> Option<usize> {
    if m == Metric::Chars || s.len() as u64 == chars {
        return Some(unit);
    }
    let mut acc = 0;
    for (k, c) in s.chars().enumerate() {
        if acc == unit {
            return Some(k);
        }
        if acc > unit {
            return None;
        }
        acc += match m {
            Metric::Utf8 => c.len_utf8(),
            _ => c.len_utf16(),
        };
    }
    (acc == unit).then_some(chars as usize)
}

//! What happened, line by line: every line goes into a hash (two runs of
//! a seed must hash the same), the last few are kept for a failure report,
//! or all of them when asked.

use std::collections::VecDeque;
use std::fmt::Write;

use crate::time::{Micros, secs};

/// Lines kept for a failure report.
const TAIL: usize = 300;

#[derive(Debug)]
pub struct Trace {
    /// FNV-1a over every line.
    hash: u64,
    lines: VecDeque<String>,
    keep_all: bool,
    pub count: u64,
}

impl Trace {
    pub fn new(keep_all: bool) -> Self {
        Trace {
            hash: 0xcbf2_9ce4_8422_2325,
            lines: VecDeque::new(),
            keep_all,
            count: 0,
        }
    }

    /// Records what `who` did at `now`.
    pub fn line(&mut self, now: Micros, who: &str, what: std::fmt::Arguments<'_>) {
        let mut line = String::with_capacity(64);
        let _ = write!(line, "{:>9} {who:<6} {what}", secs(now));
        for b in line.bytes() {
            self.hash ^= u64::from(b);
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.count += 1;
        if !self.keep_all && self.lines.len() == TAIL {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The lines kept: the last few, or all.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(String::as_str)
    }
}

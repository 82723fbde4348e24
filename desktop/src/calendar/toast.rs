//! "Event deleted — Undo": what a delete leaves behind for a few seconds,
//! and what the undo restores.

use std::time::{Duration, Instant};

use concord_calendar::OccurrenceKey;

/// How long the toast stays.
pub const TOAST_TIME: Duration = Duration::from_secs(12);

/// What was deleted, so it can be brought back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// A whole event (`restore_event`).
    Event { uid: String },
    /// One occurrence of a repeating event (`restore_occurrence`).
    Occurrence { uid: String, key: OccurrenceKey },
}

#[derive(Clone, Debug)]
pub struct Toast {
    pub deleted: Deleted,
    pub title: String,
    pub since: Instant,
}

impl Toast {
    pub fn new(deleted: Deleted, title: String) -> Self {
        Toast {
            deleted,
            title,
            since: Instant::now(),
        }
    }

    pub fn expired(&self) -> bool {
        self.since.elapsed() > TOAST_TIME
    }

    pub fn message(&self) -> String {
        match self.deleted {
            Deleted::Event { .. } => format!("Event deleted — {}", self.title),
            Deleted::Occurrence { .. } => format!("Occurrence deleted — {}", self.title),
        }
    }
}

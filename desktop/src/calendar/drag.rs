//! What a pointer drag on the week grid is doing: drawing out a new event,
//! moving an event, or pulling its end. Works on wall-clock times (the grid
//! turns pointer positions into them), snaps to quarter hours, and says on
//! release what to do to the calendar. Pure: the view feeds it times.

use chrono::{Duration, NaiveDateTime};

use super::week_grid::{SNAP_MINUTES, snap, snap_down, snap_duration};

/// The drag in progress. `K` names an event (or one occurrence of one).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Drag<K> {
    #[default]
    Idle,
    /// Drawing out a new event from `anchor` to where the pointer is.
    Creating {
        anchor: NaiveDateTime,
        current: NaiveDateTime,
    },
    /// Moving `event` (which was `[start, end)`) by where the pointer went
    /// since it grabbed the event at `grabbed`.
    Moving {
        event: K,
        start: NaiveDateTime,
        end: NaiveDateTime,
        grabbed: NaiveDateTime,
        current: NaiveDateTime,
    },
    /// Pulling the end of `event` to the pointer.
    Resizing {
        event: K,
        start: NaiveDateTime,
        end: NaiveDateTime,
        current: NaiveDateTime,
    },
}

/// What a finished drag asks for. Times are wall-clock times in the view's
/// zone, `start < end` always.
#[derive(Clone, Debug, PartialEq)]
pub enum DragEnd<K> {
    /// Nothing changes (a drag that went nowhere, or none at all).
    Nothing,
    Create {
        start: NaiveDateTime,
        end: NaiveDateTime,
    },
    Move {
        event: K,
        start: NaiveDateTime,
        end: NaiveDateTime,
    },
    Resize {
        event: K,
        start: NaiveDateTime,
        end: NaiveDateTime,
    },
}

fn quarter() -> Duration {
    Duration::minutes(SNAP_MINUTES)
}

impl<K: Clone> Drag<K> {
    pub fn is_idle(&self) -> bool {
        matches!(self, Drag::Idle)
    }

    /// A drag on empty time began at `at`.
    pub fn create(at: NaiveDateTime) -> Self {
        Drag::Creating {
            anchor: at,
            current: at,
        }
    }

    /// The pointer grabbed `event`, spanning `[start, end)`, at time `at`.
    pub fn grab(event: K, start: NaiveDateTime, end: NaiveDateTime, at: NaiveDateTime) -> Self {
        Drag::Moving {
            event,
            start,
            end,
            grabbed: at,
            current: at,
        }
    }

    /// The pointer took the bottom edge of `event`.
    pub fn pull_end(event: K, start: NaiveDateTime, end: NaiveDateTime) -> Self {
        Drag::Resizing {
            event,
            start,
            end,
            current: end,
        }
    }

    /// The pointer is now over time `at`.
    pub fn update(&mut self, at: NaiveDateTime) {
        match self {
            Drag::Idle => {}
            Drag::Creating { current, .. }
            | Drag::Moving { current, .. }
            | Drag::Resizing { current, .. } => *current = at,
        }
    }

    /// The span the dragged (or drawn) event would have if released now,
    /// and which event it is (`None` for a new one).
    pub fn preview(&self) -> Option<(Option<&K>, NaiveDateTime, NaiveDateTime)> {
        match self {
            Drag::Idle => None,
            Drag::Creating { anchor, current } => {
                let (start, end) = created_span(*anchor, *current);
                Some((None, start, end))
            }
            Drag::Moving {
                event,
                start,
                end,
                grabbed,
                current,
            } => {
                let delta = snap_duration(*current - *grabbed);
                Some((Some(event), *start + delta, *end + delta))
            }
            Drag::Resizing {
                event,
                start,
                current,
                ..
            } => Some((Some(event), *start, resized_end(*start, *current))),
        }
    }

    /// The pointer let go: what to do. Leaves the drag idle.
    pub fn finish(&mut self) -> DragEnd<K> {
        let preview = self
            .preview()
            .map(|(event, start, end)| (event.cloned(), start, end));
        let old = std::mem::replace(self, Drag::Idle);
        let Some((event, start, end)) = preview else {
            return DragEnd::Nothing;
        };
        match old {
            Drag::Idle => DragEnd::Nothing,
            Drag::Creating { .. } => DragEnd::Create { start, end },
            Drag::Moving {
                start: was_start, ..
            } => match event {
                Some(event) if start != was_start => DragEnd::Move { event, start, end },
                _ => DragEnd::Nothing,
            },
            Drag::Resizing { end: was_end, .. } => match event {
                Some(event) if end != was_end => DragEnd::Resize { event, start, end },
                _ => DragEnd::Nothing,
            },
        }
    }

    /// Escape: drop the drag, change nothing.
    pub fn cancel(&mut self) {
        *self = Drag::Idle;
    }
}

/// A drawn-out span: from the quarter hour the drag began in to the quarter
/// hour the pointer is nearest, whichever way it went; at least a quarter.
fn created_span(anchor: NaiveDateTime, current: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
    let a = snap_down(anchor);
    if current >= anchor {
        let end = snap(current).max(a + quarter());
        (a, end)
    } else {
        // Dragging upwards: the anchor's quarter stays in the span.
        let start = snap_down(current);
        (start.min(a), a + quarter())
    }
}

/// A pulled end: the nearest quarter hour, never before a quarter after
/// the start.
fn resized_end(start: NaiveDateTime, current: NaiveDateTime) -> NaiveDateTime {
    snap(current).max(start + quarter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2025, 3, day)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn drawing_out_an_event_snaps_to_quarters() {
        let mut d: Drag<u8> = Drag::create(at(4, 9, 7));
        d.update(at(4, 10, 20));
        assert_eq!(d.preview(), Some((None, at(4, 9, 0), at(4, 10, 15))));
        assert_eq!(
            d.finish(),
            DragEnd::Create {
                start: at(4, 9, 0),
                end: at(4, 10, 15)
            }
        );
        assert!(d.is_idle());
    }

    #[test]
    fn drawing_upwards_and_a_tiny_drag() {
        let mut d: Drag<u8> = Drag::create(at(4, 11, 5));
        d.update(at(4, 9, 50));
        assert_eq!(
            d.finish(),
            DragEnd::Create {
                start: at(4, 9, 45),
                end: at(4, 11, 15)
            }
        );
        let mut d: Drag<u8> = Drag::create(at(4, 11, 5));
        d.update(at(4, 11, 6));
        assert_eq!(
            d.finish(),
            DragEnd::Create {
                start: at(4, 11, 0),
                end: at(4, 11, 15)
            }
        );
    }

    #[test]
    fn moving_keeps_the_length_and_crosses_days() {
        let mut d = Drag::grab(7u8, at(4, 9, 0), at(4, 10, 30), at(4, 9, 40));
        d.update(at(5, 14, 47));
        // 1 day 5 h 7 min → 1 day 5 h 0 min.
        assert_eq!(
            d.finish(),
            DragEnd::Move {
                event: 7,
                start: at(5, 14, 0),
                end: at(5, 15, 30)
            }
        );
    }

    #[test]
    fn a_move_that_goes_nowhere_changes_nothing() {
        let mut d = Drag::grab(7u8, at(4, 9, 0), at(4, 10, 0), at(4, 9, 40));
        d.update(at(4, 9, 44));
        assert_eq!(d.finish(), DragEnd::Nothing);
        let mut d: Drag<u8> = Drag::Idle;
        d.update(at(4, 9, 0));
        assert_eq!(d.finish(), DragEnd::Nothing);
    }

    #[test]
    fn resizing_never_ends_before_it_starts() {
        let mut d = Drag::pull_end(3u8, at(4, 9, 0), at(4, 10, 0));
        d.update(at(4, 11, 38));
        assert_eq!(d.preview(), Some((Some(&3), at(4, 9, 0), at(4, 11, 45))));
        d.update(at(4, 7, 0));
        assert_eq!(
            d.finish(),
            DragEnd::Resize {
                event: 3,
                start: at(4, 9, 0),
                end: at(4, 9, 15)
            }
        );
    }

    #[test]
    fn cancel_drops_the_drag() {
        let mut d = Drag::pull_end(3u8, at(4, 9, 0), at(4, 10, 0));
        d.update(at(4, 12, 0));
        d.cancel();
        assert_eq!(d.finish(), DragEnd::Nothing);
    }
}

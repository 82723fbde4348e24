//! Where time sits on the week view: day columns side by side, midnight at
//! the top of each, one hour every `hour_height` points. Converts between
//! wall-clock times (in the zone the view shows) and screen points, and
//! cuts an event into the pieces each visible day shows.
//!
//! Pure geometry: no egui state, no document. The drawing code and the drag
//! logic both stand on it, so what is drawn and what is hit agree.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use egui::{Pos2, Rect, pos2};

pub const MINUTES_PER_DAY: i64 = 24 * 60;
/// Drags and clicks land on quarter hours.
pub const SNAP_MINUTES: i64 = 15;
/// An event shorter than this is still drawn this tall, so it can be hit.
pub const MIN_VISIBLE_MINUTES: i64 = 20;

/// The time area of a week (or of any run of consecutive days).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeekGrid {
    /// The whole time area, midnight of every day at `area.top()`, the end
    /// of the day at `area.bottom()`, in screen points.
    pub area: Rect,
    pub first_day: NaiveDate,
    pub days: u32,
}

/// One day's piece of an event on the grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    /// Column index, 0 = `first_day`.
    pub day: u32,
    /// Minutes after midnight where the piece starts and ends on that day.
    pub start_minute: i64,
    pub end_minute: i64,
    /// The event starts (ends) on this day rather than continuing from the
    /// day before (into the next).
    pub starts_here: bool,
    pub ends_here: bool,
}

impl WeekGrid {
    pub fn new(area: Rect, first_day: NaiveDate, days: u32) -> Self {
        WeekGrid {
            area,
            first_day,
            days: days.max(1),
        }
    }

    pub fn hour_height(&self) -> f32 {
        self.area.height() / 24.0
    }

    pub fn column_width(&self) -> f32 {
        self.area.width() / self.days as f32
    }

    /// The date of column `day`.
    pub fn date(&self, day: u32) -> NaiveDate {
        self.first_day + Duration::days(i64::from(day))
    }

    /// The column showing `date`, if it is on the grid.
    pub fn day_index(&self, date: NaiveDate) -> Option<u32> {
        let offset = (date - self.first_day).num_days();
        u32::try_from(offset).ok().filter(|d| *d < self.days)
    }

    /// The whole column of day `day`.
    pub fn column(&self, day: u32) -> Rect {
        let left = self.area.left() + self.column_width() * day as f32;
        Rect::from_min_max(
            pos2(left, self.area.top()),
            pos2(left + self.column_width(), self.area.bottom()),
        )
    }

    /// The screen y of `minute` after midnight.
    pub fn y_at(&self, minute: f32) -> f32 {
        self.area.top() + minute / 60.0 * self.hour_height()
    }

    /// The minute after midnight at screen y, kept within the day.
    pub fn minute_at(&self, y: f32) -> f32 {
        ((y - self.area.top()) / self.hour_height() * 60.0).clamp(0.0, MINUTES_PER_DAY as f32)
    }

    /// The wall-clock time under `pos`, unsnapped; `None` off the grid.
    pub fn time_at(&self, pos: Pos2) -> Option<NaiveDateTime> {
        if !self.area.contains(pos) {
            return None;
        }
        Some(self.time_at_clamped(pos))
    }

    /// The time under `pos`, with a pointer that left the grid held to its
    /// edge (a drag may wander outside it).
    pub fn time_at_clamped(&self, pos: Pos2) -> NaiveDateTime {
        let column = ((pos.x - self.area.left()) / self.column_width()).floor() as i64;
        let day = u32::try_from(column.clamp(0, i64::from(self.days) - 1)).unwrap_or(0);
        let minute = self.minute_at(pos.y).round() as i64;
        self.date(day).and_time(NaiveTime::MIN) + Duration::minutes(minute)
    }

    /// The rectangle of a piece of an event (inset a little from the
    /// column's sides), at least `MIN_VISIBLE_MINUTES` tall.
    pub fn segment_rect(&self, segment: &Segment) -> Rect {
        let column = self.column(segment.day);
        let end = segment
            .end_minute
            .max(segment.start_minute + MIN_VISIBLE_MINUTES);
        Rect::from_min_max(
            pos2(column.left() + 1.0, self.y_at(segment.start_minute as f32)),
            pos2(column.right() - 2.0, self.y_at(end as f32)),
        )
    }

    /// The pieces of `[start, end)` that the grid shows, one per day, in
    /// day order. An event ending exactly at midnight does not spill into
    /// the next day.
    pub fn segments(&self, start: NaiveDateTime, end: NaiveDateTime) -> Vec<Segment> {
        let end = end.max(start);
        let mut pieces = Vec::new();
        for day in 0..self.days {
            let midnight = self.date(day).and_time(NaiveTime::MIN);
            let next = midnight + Duration::days(1);
            let zero_length_here = start == end && start >= midnight && start < next;
            if !(zero_length_here || (start < next && end > midnight)) {
                continue;
            }
            let from = start.max(midnight);
            let to = end.min(next);
            pieces.push(Segment {
                day,
                start_minute: (from - midnight).num_minutes(),
                end_minute: (to - midnight).num_minutes(),
                starts_here: start >= midnight,
                ends_here: end <= next,
            });
        }
        pieces
    }
}

/// `t` moved to the nearest quarter hour.
pub fn snap(t: NaiveDateTime) -> NaiveDateTime {
    let minute = i64::from(t.minute()) + i64::from(u8::from(t.second() >= 30));
    let quarter = (minute + SNAP_MINUTES / 2).div_euclid(SNAP_MINUTES) * SNAP_MINUTES;
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .and_then(|t| t.with_minute(0))
        .map_or(t, |hour| hour + Duration::minutes(quarter))
}

/// `t` moved back to the quarter hour it falls in.
pub fn snap_down(t: NaiveDateTime) -> NaiveDateTime {
    let quarter = i64::from(t.minute()).div_euclid(SNAP_MINUTES) * SNAP_MINUTES;
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .and_then(|t| t.with_minute(0))
        .map_or(t, |hour| hour + Duration::minutes(quarter))
}

/// A duration rounded to whole quarter hours.
pub fn snap_duration(d: Duration) -> Duration {
    let quarter = SNAP_MINUTES * 60;
    let quarters = (d.num_seconds() + quarter / 2).div_euclid(quarter);
    Duration::minutes(quarters * SNAP_MINUTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::vec2;

    fn at(day: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2025, 3, day)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    /// Seven 100-point columns, 48 points an hour, starting at (50, 20).
    fn grid() -> WeekGrid {
        let monday = NaiveDate::from_ymd_opt(2025, 3, 3).unwrap();
        WeekGrid::new(
            Rect::from_min_size(pos2(50.0, 20.0), vec2(700.0, 48.0 * 24.0)),
            monday,
            7,
        )
    }

    #[test]
    fn time_and_points_round_trip() {
        let g = grid();
        assert!((g.hour_height() - 48.0).abs() < 1e-3);
        assert!((g.y_at(90.0) - (20.0 + 72.0)).abs() < 1e-3);
        assert!((g.minute_at(g.y_at(615.0)) - 615.0).abs() < 1e-2);
        // Wednesday (column 2) at 10:15.
        let p = pos2(50.0 + 250.0, g.y_at(615.0));
        assert_eq!(g.time_at(p), Some(at(5, 10, 15)));
    }

    #[test]
    fn hit_testing_outside_the_grid() {
        let g = grid();
        assert_eq!(g.time_at(pos2(10.0, 100.0)), None);
        assert_eq!(g.time_at(pos2(900.0, 100.0)), None);
        // Held to the edge while dragging: last column, end of day.
        assert_eq!(
            g.time_at_clamped(pos2(900.0, 5000.0)),
            at(10, 0, 0),
            "the end of Sunday is midnight of the next Monday"
        );
        assert_eq!(g.time_at_clamped(pos2(-40.0, -40.0)), at(3, 0, 0));
    }

    #[test]
    fn day_indices() {
        let g = grid();
        assert_eq!(
            g.day_index(NaiveDate::from_ymd_opt(2025, 3, 3).unwrap()),
            Some(0)
        );
        assert_eq!(
            g.day_index(NaiveDate::from_ymd_opt(2025, 3, 9).unwrap()),
            Some(6)
        );
        assert_eq!(
            g.day_index(NaiveDate::from_ymd_opt(2025, 3, 10).unwrap()),
            None
        );
        assert_eq!(
            g.day_index(NaiveDate::from_ymd_opt(2025, 3, 2).unwrap()),
            None
        );
        assert!((g.column(3).left() - 350.0).abs() < 1e-3);
    }

    #[test]
    fn an_event_within_one_day_is_one_segment() {
        let s = grid().segments(at(4, 9, 0), at(4, 10, 30));
        assert_eq!(
            s,
            vec![Segment {
                day: 1,
                start_minute: 540,
                end_minute: 630,
                starts_here: true,
                ends_here: true
            }]
        );
    }

    #[test]
    fn a_night_event_is_cut_at_midnight() {
        let s = grid().segments(at(4, 22, 0), at(5, 2, 0));
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].day, s[0].start_minute, s[0].end_minute),
            (1, 1320, 1440)
        );
        assert!(s[0].starts_here && !s[0].ends_here);
        assert_eq!((s[1].day, s[1].start_minute, s[1].end_minute), (2, 0, 120));
        assert!(!s[1].starts_here && s[1].ends_here);
    }

    #[test]
    fn ending_at_midnight_does_not_spill_over() {
        let s = grid().segments(at(4, 23, 0), at(5, 0, 0));
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].end_minute, 1440);
    }

    #[test]
    fn events_outside_the_week_are_clipped_or_absent() {
        let g = grid();
        assert!(g.segments(at(1, 9, 0), at(1, 10, 0)).is_empty());
        let s = g.segments(at(2, 20, 0), at(3, 1, 0));
        assert_eq!(s.len(), 1);
        assert!(!s[0].starts_here);
        // Zero length still shows, at least MIN_VISIBLE_MINUTES tall.
        let s = g.segments(at(6, 8, 0), at(6, 8, 0));
        assert_eq!(s.len(), 1);
        let r = g.segment_rect(&s[0]);
        assert!(r.height() >= 48.0 * MIN_VISIBLE_MINUTES as f32 / 60.0 - 1e-3);
    }

    #[test]
    fn snapping() {
        assert_eq!(snap(at(4, 9, 7)), at(4, 9, 0));
        assert_eq!(snap(at(4, 9, 8)), at(4, 9, 15));
        assert_eq!(snap(at(4, 23, 53)), at(5, 0, 0));
        assert_eq!(snap_down(at(4, 9, 29)), at(4, 9, 15));
        assert_eq!(snap_down(at(4, 9, 30)), at(4, 9, 30));
        assert_eq!(snap_duration(Duration::minutes(22)), Duration::minutes(15));
        assert_eq!(snap_duration(Duration::minutes(23)), Duration::minutes(30));
        assert_eq!(
            snap_duration(Duration::minutes(-50)),
            Duration::minutes(-45)
        );
    }
}

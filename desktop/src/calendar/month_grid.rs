//! Where days sit on the month view: whole weeks (Monday first) from the
//! week holding the 1st to the week holding the last day, one row each.

use chrono::{Datelike, Duration, NaiveDate};
use egui::{Pos2, Rect, pos2, vec2};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonthGrid {
    pub area: Rect,
    /// The month shown (any day of it).
    pub month: NaiveDate,
    /// The Monday of the first row.
    pub first_day: NaiveDate,
    pub weeks: u32,
}

/// The Monday of the week holding `date`.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

/// The first day of the month holding `date`.
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// The first day of the month after the one holding `date`.
pub fn next_month(date: NaiveDate) -> NaiveDate {
    let first = month_start(date);
    (first + Duration::days(31)).with_day(1).unwrap_or(first)
}

/// The first day of the month before the one holding `date`.
pub fn previous_month(date: NaiveDate) -> NaiveDate {
    month_start(month_start(date) - Duration::days(1))
}

impl MonthGrid {
    pub fn new(area: Rect, month: NaiveDate) -> Self {
        let first = month_start(month);
        let last = next_month(month) - Duration::days(1);
        let first_day = week_start(first);
        let weeks = u32::try_from((last - first_day).num_days() / 7 + 1).unwrap_or(6);
        MonthGrid {
            area,
            month: first,
            first_day,
            weeks,
        }
    }

    pub fn cell_size(&self) -> egui::Vec2 {
        vec2(
            self.area.width() / 7.0,
            self.area.height() / self.weeks as f32,
        )
    }

    /// Every day shown, row by row.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        (0..i64::from(self.weeks) * 7).map(|i| self.first_day + Duration::days(i))
    }

    /// The first day after the grid.
    pub fn end(&self) -> NaiveDate {
        self.first_day + Duration::days(i64::from(self.weeks) * 7)
    }

    /// Whether `date` belongs to the month shown (others are greyed).
    pub fn in_month(&self, date: NaiveDate) -> bool {
        date.year() == self.month.year() && date.month() == self.month.month()
    }

    /// The cell of `date`, if the grid shows it.
    pub fn cell(&self, date: NaiveDate) -> Option<Rect> {
        let offset = (date - self.first_day).num_days();
        if offset < 0 || offset >= i64::from(self.weeks) * 7 {
            return None;
        }
        let size = self.cell_size();
        let (row, col) = (offset / 7, offset % 7);
        Some(Rect::from_min_size(
            pos2(
                self.area.left() + col as f32 * size.x,
                self.area.top() + row as f32 * size.y,
            ),
            size,
        ))
    }

    /// The day under `pos`.
    pub fn date_at(&self, pos: Pos2) -> Option<NaiveDate> {
        if !self.area.contains(pos) {
            return None;
        }
        let size = self.cell_size();
        let col = (((pos.x - self.area.left()) / size.x) as i64).min(6);
        let row = (((pos.y - self.area.top()) / size.y) as i64).min(i64::from(self.weeks) - 1);
        Some(self.first_day + Duration::days(row * 7 + col))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn area() -> Rect {
        Rect::from_min_size(pos2(0.0, 0.0), vec2(700.0, 600.0))
    }

    #[test]
    fn weeks_cover_the_month() {
        // March 2025 starts on a Saturday and ends on a Monday: 6 rows.
        let g = MonthGrid::new(area(), d(2025, 3, 14));
        assert_eq!(g.first_day, d(2025, 2, 24));
        assert_eq!(g.weeks, 6);
        assert_eq!(g.end(), d(2025, 4, 7));
        // February 2021 starts on a Monday and has 28 days: 4 rows.
        let g = MonthGrid::new(area(), d(2021, 2, 1));
        assert_eq!((g.first_day, g.weeks), (d(2021, 2, 1), 4));
        assert_eq!(g.days().count(), 28);
    }

    #[test]
    fn cells_and_hits_agree() {
        let g = MonthGrid::new(area(), d(2025, 3, 1));
        for day in g.days() {
            let cell = g.cell(day).unwrap();
            assert_eq!(g.date_at(cell.center()), Some(day));
        }
        assert_eq!(g.cell(d(2025, 4, 7)), None);
        assert_eq!(g.date_at(pos2(-1.0, 3.0)), None);
        assert!(g.in_month(d(2025, 3, 31)));
        assert!(!g.in_month(d(2025, 2, 28)));
    }

    #[test]
    fn month_steps() {
        assert_eq!(next_month(d(2025, 1, 31)), d(2025, 2, 1));
        assert_eq!(next_month(d(2025, 12, 5)), d(2026, 1, 1));
        assert_eq!(previous_month(d(2025, 1, 31)), d(2024, 12, 1));
        assert_eq!(previous_month(d(2025, 3, 31)), d(2025, 2, 1));
        assert_eq!(week_start(d(2025, 3, 9)), d(2025, 3, 3));
        assert_eq!(week_start(d(2025, 3, 3)), d(2025, 3, 3));
    }
}

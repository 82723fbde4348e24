//! A date picker for the event editor's date fields: a small button beside
//! the field opens a month of days (Monday first, like the month view);
//! a click on a day picks it, "‹" and "›" page through the months.
//!
//! egui has no date picker of its own, and `egui_extras`' one works in
//! `jiff` dates, a second date library beside the `chrono` the calendar is
//! written in; this one is a few lines over `month_grid`'s month
//! arithmetic. `PickerMonth` is the pure part (which days, in which rows,
//! what each is called), tested without a window; `button` draws.

use chrono::{Datelike, Duration, NaiveDate};
use egui::{Id, Role, Sense, Stroke, Ui, WidgetInfo, vec2};

use super::month_grid::{month_start, next_month, previous_month, week_start};

/// A day's button.
const DAY: egui::Vec2 = vec2(26.0, 22.0);

/// The month a picker shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PickerMonth {
    /// Its first day.
    first: NaiveDate,
}

impl PickerMonth {
    /// The month holding `date`.
    pub fn of(date: NaiveDate) -> Self {
        PickerMonth {
            first: month_start(date),
        }
    }

    #[must_use]
    pub fn next(self) -> Self {
        PickerMonth::of(next_month(self.first))
    }

    #[must_use]
    pub fn previous(self) -> Self {
        PickerMonth::of(previous_month(self.first))
    }

    /// "May 2026".
    pub fn title(self) -> String {
        self.first.format("%B %Y").to_string()
    }

    /// Whole weeks, Monday first, from the week holding the 1st to the week
    /// holding the last day.
    pub fn weeks(self) -> Vec<[NaiveDate; 7]> {
        let last = next_month(self.first) - Duration::days(1);
        let mut monday = week_start(self.first);
        let mut weeks = Vec::new();
        while monday <= last {
            weeks.push(std::array::from_fn(|i| {
                monday + Duration::days(i64::try_from(i).unwrap_or(0))
            }));
            monday += Duration::days(7);
        }
        weeks
    }

    /// Whether `date` is in this month (days of the weeks around it are
    /// shown greyed).
    pub fn holds(self, date: NaiveDate) -> bool {
        month_start(date) == self.first
    }
}

/// What a day's button is called (for screen readers and tests): "Monday
/// 4 May 2026".
pub fn day_name(date: NaiveDate) -> String {
    date.format("%A %-d %B %Y").to_string()
}

/// The month the popup shows, kept between frames while it is open.
fn shown_month(ui: &Ui, id: Id) -> Option<PickerMonth> {
    ui.data(|d| d.get_temp::<NaiveDate>(id).map(PickerMonth::of))
}

fn show_month(ui: &Ui, id: Id, month: PickerMonth) {
    ui.data_mut(|d| d.insert_temp(id, month.first));
}

/// A button that opens the picker on `date`'s month (the month of
/// `fallback` if the field holds no date); returns the day picked, if one
/// was. `what` names the field ("start date"): the button is "Pick the
/// start date".
pub fn button(
    ui: &mut Ui,
    what: &str,
    date: Option<NaiveDate>,
    fallback: NaiveDate,
    enabled: bool,
) -> Option<NaiveDate> {
    let name = format!("Pick the {what}");
    let sense = if enabled {
        Sense::click()
    } else {
        Sense::hover()
    };
    let (rect, response) = ui.allocate_exact_size(vec2(22.0, 20.0), sense);
    response.widget_info(|| WidgetInfo::labeled(Role::Button, enabled, name.clone()));
    paint_icon(ui, rect, &response, enabled);
    let response = response.on_hover_text(&name);
    if !enabled {
        return None;
    }
    let month_id = response.id.with("month");
    if response.clicked() {
        show_month(ui, month_id, PickerMonth::of(date.unwrap_or(fallback)));
    }
    let mut picked = None;
    egui::Popup::from_toggle_button_response(&response)
        .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside)
        .show(|ui| {
            let Some(mut month) = shown_month(ui, month_id) else {
                return;
            };
            ui.horizontal(|ui| {
                let previous = ui.button("‹").on_hover_text("Previous month");
                previous.widget_info(|| WidgetInfo::labeled(Role::Button, true, "Previous month"));
                if previous.clicked() {
                    month = month.previous();
                }
                ui.label(egui::RichText::new(month.title()).strong());
                let next = ui.button("›").on_hover_text("Next month");
                next.widget_info(|| WidgetInfo::labeled(Role::Button, true, "Next month"));
                if next.clicked() {
                    month = month.next();
                }
            });
            egui::Grid::new(month_id.with("days"))
                .spacing(vec2(2.0, 2.0))
                .min_col_width(DAY.x)
                .show(ui, |ui| {
                    for weekday in ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"] {
                        // Centred over the day numbers.
                        ui.add_sized(
                            [DAY.x, 14.0],
                            egui::Label::new(egui::RichText::new(weekday).weak().small()),
                        );
                    }
                    ui.end_row();
                    for week in month.weeks() {
                        for day in week {
                            let text = egui::RichText::new(day.day().to_string());
                            let text = if month.holds(day) { text } else { text.weak() };
                            let cell = ui
                                .add_sized(DAY, egui::Button::selectable(Some(day) == date, text));
                            cell.widget_info(|| {
                                WidgetInfo::labeled(Role::Button, true, day_name(day))
                            });
                            if cell.clicked() {
                                picked = Some(day);
                                ui.close();
                            }
                        }
                        ui.end_row();
                    }
                });
            show_month(ui, month_id, month);
        });
    picked
}

/// A small calendar leaf: a frame, its top bar and two rows of days.
fn paint_icon(ui: &Ui, rect: egui::Rect, response: &egui::Response, enabled: bool) {
    let visuals = if enabled {
        ui.style().interact(response)
    } else {
        &ui.visuals().widgets.inactive
    };
    let colour = if enabled {
        visuals.fg_stroke.color
    } else {
        ui.visuals().weak_text_color()
    };
    let painter = ui.painter();
    if response.hovered() && enabled {
        painter.rect_filled(rect, 3.0, visuals.weak_bg_fill);
    }
    let leaf = rect.shrink2(vec2(5.0, 4.0));
    painter.rect_stroke(
        leaf,
        1.5,
        Stroke::new(1.2, colour),
        egui::StrokeKind::Inside,
    );
    let bar = egui::Rect::from_min_max(leaf.min, egui::pos2(leaf.max.x, leaf.min.y + 3.0));
    painter.rect_filled(bar, 1.0, colour);
    for row in 0..2u8 {
        for col in 0..3u8 {
            let centre = egui::pos2(
                leaf.min.x + 3.0 + f32::from(col) * 3.0,
                leaf.min.y + 6.5 + f32::from(row) * 3.0,
            );
            painter.circle_filled(centre, 0.9, colour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_month_is_whole_weeks_from_monday() {
        // May 2026 starts on a Friday and ends on a Sunday: 5 rows, from
        // Monday 27 April to Sunday 31 May.
        let may = PickerMonth::of(d(2026, 5, 19));
        assert_eq!(may.title(), "May 2026");
        let weeks = may.weeks();
        assert_eq!(weeks.len(), 5);
        assert_eq!(weeks[0][0], d(2026, 4, 27));
        assert_eq!(weeks[4][6], d(2026, 5, 31));
        assert!(
            weeks
                .iter()
                .flatten()
                .all(|day| day.weekday().num_days_from_monday()
                    == u32::try_from((*day - weeks[0][0]).num_days() % 7).unwrap())
        );
        assert!(!may.holds(d(2026, 4, 30)) && may.holds(d(2026, 5, 1)));
        // February 2021: 28 days from a Monday, exactly 4 rows.
        assert_eq!(PickerMonth::of(d(2021, 2, 14)).weeks().len(), 4);
        // March 2025 starts on a Saturday and ends on a Monday: 6 rows.
        assert_eq!(PickerMonth::of(d(2025, 3, 1)).weeks().len(), 6);
    }

    #[test]
    fn paging_crosses_years_and_short_months() {
        let january = PickerMonth::of(d(2026, 1, 31));
        assert_eq!(january.previous().title(), "December 2025");
        assert_eq!(january.next().title(), "February 2026");
        assert_eq!(january.next().next(), PickerMonth::of(d(2026, 3, 1)));
        assert_eq!(day_name(d(2026, 5, 4)), "Monday 4 May 2026");
    }
}

//! The month view: whole weeks, each day with its events as one-line
//! chips (all-day first), "+N more" when they do not fit. A chip dragged to
//! another day moves the event by whole days; double-clicking an empty day
//! makes an all-day event there; a day's number shows its week.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use concord_calendar::Occurrence;
use egui::{Color32, FontId, Id, Rect, Role, Sense, Stroke, Ui, WidgetInfo, pos2, vec2};

use super::action::{Action, OccRef, clicks};
use super::drag::{Drag, DragEnd};
use super::month_grid::MonthGrid;
use super::paint;
use super::week::{ViewContext, display_title};

const HEADER_HEIGHT: f32 = 24.0;
const CHIP: f32 = 18.0;
const DAY_NUMBER: f32 = 20.0;

#[derive(Debug, Default)]
pub struct MonthState {
    /// Dragging a chip: times are midnights of the days.
    pub drag: Drag<OccRef>,
    pub grid: Option<MonthGrid>,
}

/// What every day cell needs.
struct Pass<'a> {
    grid: MonthGrid,
    cx: &'a ViewContext<'a>,
    occurrences: &'a [Occurrence],
    chips_per_day: usize,
    /// The chip being dragged and the day it would land on.
    preview: Option<(Option<OccRef>, NaiveDateTime)>,
}

pub fn show(
    ui: &mut Ui,
    state: &mut MonthState,
    month: NaiveDate,
    cx: &ViewContext<'_>,
    occurrences: &[Occurrence],
) -> Vec<Action> {
    let mut actions = Vec::new();
    let size = ui.available_size();
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let grid = MonthGrid::new(
        Rect::from_min_max(pos2(rect.left(), rect.top() + HEADER_HEIGHT), rect.max),
        month,
    );
    state.grid = Some(grid);
    for (i, name) in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .enumerate()
    {
        let w = grid.cell_size().x;
        ui.painter().text(
            pos2(
                rect.left() + w * (i as f32 + 0.5),
                rect.top() + HEADER_HEIGHT / 2.0,
            ),
            egui::Align2::CENTER_CENTER,
            *name,
            FontId::proportional(13.0),
            ui.visuals().weak_text_color(),
        );
    }
    let rows = ((grid.cell_size().y - DAY_NUMBER - 4.0) / CHIP)
        .floor()
        .max(1.0);
    let pass = Pass {
        grid,
        cx,
        occurrences,
        chips_per_day: usize::try_from(rows as i64).unwrap_or(1),
        preview: state.drag.preview().map(|(k, s, _)| (k.cloned(), s)),
    };
    for date in grid.days() {
        day_cell(ui, state, &pass, date, &mut actions);
    }
    finish_drag(ui, state, &grid, &mut actions);
    actions
}

fn finish_drag(ui: &Ui, state: &mut MonthState, grid: &MonthGrid, actions: &mut Vec<Action>) {
    if state.drag.is_idle() {
        return;
    }
    if let Some(day) = ui
        .input(|i| i.pointer.interact_pos())
        .and_then(|p| grid.date_at(p))
    {
        state.drag.update(day.and_time(NaiveTime::MIN));
    }
    if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
        state.drag.cancel();
    } else if !ui.input(|i| i.pointer.primary_down())
        && let DragEnd::Move { event, start, end } = state.drag.finish()
    {
        actions.push(Action::Retime {
            target: event,
            start,
            end,
        });
    }
}

fn day_cell(
    ui: &Ui,
    state: &mut MonthState,
    pass: &Pass<'_>,
    date: NaiveDate,
    actions: &mut Vec<Action>,
) {
    let Some(cell) = pass.grid.cell(date) else {
        return;
    };
    day_frame(ui, pass, cell, date, actions);
    let painter = ui.painter();
    let visuals = ui.visuals();
    let day_start = date.and_time(NaiveTime::MIN);
    let day_end = day_start + Duration::days(1);
    let todays: Vec<&Occurrence> = pass
        .occurrences
        .iter()
        .filter(|o| o.start < day_end && (o.end > day_start || o.start >= day_start))
        .collect();
    let shown = if todays.len() > pass.chips_per_day {
        pass.chips_per_day.saturating_sub(1)
    } else {
        todays.len()
    };
    let row_rect = |row: usize| {
        Rect::from_min_size(
            pos2(
                cell.left() + 3.0,
                cell.top() + DAY_NUMBER + 2.0 + row as f32 * CHIP,
            ),
            vec2(cell.width() - 6.0, CHIP - 2.0),
        )
    };
    for (row, o) in todays.iter().take(shown).enumerate() {
        chip(ui, state, pass, o, row_rect(row), day_start, actions);
    }
    if todays.len() > shown {
        let more = row_rect(shown);
        let text = format!("+{} more", todays.len() - shown);
        let response = ui.interact(more, Id::unique(("month-more", date)), Sense::click());
        response.widget_info(|| WidgetInfo::labeled(Role::Button, true, text.clone()));
        painter.text(
            more.left_center() + vec2(4.0, 0.0),
            egui::Align2::LEFT_CENTER,
            text,
            FontId::proportional(12.0),
            visuals.hyperlink_color,
        );
        if response.clicked() {
            actions.push(Action::ShowWeek(date));
        }
    }
}

/// A day's cell: tint, border, its number (shows the week), double-click
/// to add an all-day event.
fn day_frame(ui: &Ui, pass: &Pass<'_>, cell: Rect, date: NaiveDate, actions: &mut Vec<Action>) {
    let cx = pass.cx;
    let painter = ui.painter();
    let visuals = ui.visuals();
    let today = cx.now.date();
    if date == today {
        painter.rect_filled(
            cell,
            0.0,
            Color32::from_rgba_unmultiplied(0x1a, 0x66, 0xd2, 20),
        );
    }
    if matches!(&pass.preview, Some((_, s)) if s.date() == date) {
        painter.rect_stroke(
            cell.shrink(1.0),
            2.0,
            Stroke::new(2.0, Color32::from_rgb(0x1a, 0x66, 0xd2)),
            egui::StrokeKind::Inside,
        );
    }
    painter.rect_stroke(
        cell,
        0.0,
        Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color),
        egui::StrokeKind::Inside,
    );
    let background = ui.interact(cell, Id::unique(("month-day", date)), Sense::click());
    let day_label = format!("{}", date.format("%A %-d %B"));
    background.widget_info(|| WidgetInfo::labeled(Role::Group, true, day_label.clone()));
    if background.double_clicked() && !cx.read_only {
        actions.push(Action::CreateAllDay {
            first: date,
            end: date + Duration::days(1),
        });
    }
    let number_rect = Rect::from_min_size(cell.min + vec2(2.0, 2.0), vec2(28.0, DAY_NUMBER));
    let number = ui
        .interact(
            number_rect,
            Id::unique(("month-number", date)),
            Sense::click(),
        )
        .on_hover_text("Show this week");
    let number_label = format!("Week of {}", date.format("%-d %B"));
    number.widget_info(|| WidgetInfo::labeled(Role::Button, true, number_label.clone()));
    let colour = if date == today {
        Color32::from_rgb(0x1a, 0x66, 0xd2)
    } else if pass.grid.in_month(date) {
        visuals.text_color()
    } else {
        visuals.weak_text_color()
    };
    painter.text(
        number_rect.left_center() + vec2(4.0, 0.0),
        egui::Align2::LEFT_CENTER,
        date.format("%-d").to_string(),
        FontId::proportional(13.0),
        colour,
    );
    if number.clicked() {
        actions.push(Action::ShowWeek(date));
    }
}

/// One event's chip in a day cell.
fn chip(
    ui: &Ui,
    state: &mut MonthState,
    pass: &Pass<'_>,
    o: &Occurrence,
    rect: Rect,
    day_start: NaiveDateTime,
    actions: &mut Vec<Action>,
) {
    let cx = pass.cx;
    let text = if o.all_day || o.start < day_start {
        display_title(&o.title).to_owned()
    } else {
        format!("{} {}", o.start.format("%H:%M"), display_title(&o.title))
    };
    let fill = paint::fill(o.colour.as_deref());
    let moving = matches!(&pass.preview, Some((Some(k), _)) if k.is(o));
    paint::event_block(
        ui.painter(),
        rect,
        if moving { paint::faded(fill) } else { fill },
        &[(text.clone(), false)],
        cx.selected.is_some_and(|s| s.is(o)),
        o.conflict.is_some(),
    );
    let date = day_start.date();
    let response = ui.interact(
        rect,
        Id::unique(("month-chip", &o.uid, o.key.as_str(), date)),
        Sense::click_and_drag(),
    );
    response.widget_info(|| WidgetInfo::labeled(Role::Button, true, text.clone()));
    clicks(&response, o, actions);
    if response.drag_started() && !cx.read_only {
        state.drag = Drag::grab(OccRef::of(o), o.start, o.end, day_start);
    }
    if o.conflict.is_some() {
        let mark = Rect::from_center_size(rect.right_center() - vec2(8.0, 0.0), vec2(14.0, 14.0));
        let response = ui.interact(
            mark,
            Id::unique(("month-conflict", &o.uid, o.key.as_str(), date)),
            Sense::click(),
        );
        let label = format!("Conflict: {}", display_title(&o.title));
        response.widget_info(|| WidgetInfo::labeled(Role::Button, true, label.clone()));
        paint::conflict_mark(ui.painter(), mark, response.hovered());
        if response.clicked() {
            actions.push(Action::PickConflict(OccRef::of(o)));
        }
    }
}

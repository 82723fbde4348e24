//! The week view: a header of days, a strip of all-day events, and the
//! hour grid (scrolled to working hours) with timed events side by side
//! where they overlap, the current time as a red line. Drawing and
//! hit-testing only: what the pointer does comes back as `Action`s.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use concord_calendar::Occurrence;
use egui::{
    Color32, CursorIcon, FontId, Id, Rect, Role, Sense, Stroke, Ui, WidgetInfo, pos2, vec2,
};

use super::action::{Action, OccRef, clicks};
use super::drag::{Drag, DragEnd};
use super::overlap::lanes;
use super::paint;
use super::week_grid::{MIN_VISIBLE_MINUTES, Segment, WeekGrid, snap_down};

/// Points per hour.
pub const HOUR_HEIGHT: f32 = 46.0;
/// The time labels' column.
pub const GUTTER: f32 = 54.0;
const HEADER_HEIGHT: f32 = 34.0;
const STRIP_ROW: f32 = 22.0;
/// Room kept free on the right for the scroll bar, so header and grid align.
const SCROLLBAR: f32 = 10.0;
/// The hour the grid scrolls to when it first shows.
const WORKDAY_START: f32 = 8.0;

/// What the week view keeps between frames.
#[derive(Debug, Default)]
pub struct WeekState {
    /// A drag on the hour grid.
    pub drag: Drag<OccRef>,
    /// A drag in the all-day strip (times are midnights).
    pub strip_drag: Drag<OccRef>,
    /// The hour grid as last drawn (tests aim with it).
    pub grid: Option<WeekGrid>,
    /// The all-day strip as last drawn.
    pub strip: Option<WeekGrid>,
    /// Scroll to working hours on the next frame.
    pub scroll_pending: bool,
}

/// What a view needs to know besides the occurrences.
#[derive(Clone, Debug)]
pub struct ViewContext<'a> {
    pub first_day: NaiveDate,
    pub days: u32,
    pub zone: chrono_tz::Tz,
    pub now: NaiveDateTime,
    pub selected: Option<&'a OccRef>,
    pub read_only: bool,
}

pub fn show(
    ui: &mut Ui,
    state: &mut WeekState,
    cx: &ViewContext<'_>,
    occurrences: &[Occurrence],
) -> Vec<Action> {
    let mut actions = Vec::new();
    let width = ui.available_width();
    let columns_width = (width - GUTTER - SCROLLBAR).max(70.0);

    // Day headers.
    let (header, _) = ui.allocate_exact_size(vec2(width, HEADER_HEIGHT), Sense::hover());
    let header_grid = WeekGrid::new(
        Rect::from_min_size(
            pos2(header.left() + GUTTER, header.top()),
            vec2(columns_width, HEADER_HEIGHT),
        ),
        cx.first_day,
        cx.days,
    );
    day_headers(ui, &header_grid, cx, &mut actions);

    // All-day strip.
    let all_day: Vec<&Occurrence> = occurrences.iter().filter(|o| o.all_day).collect();
    let rows = strip_rows(&all_day, cx.first_day, cx.days);
    let row_count = rows.iter().copied().max().map_or(1, |r| r + 1).max(1);
    let strip_height = row_count as f32 * STRIP_ROW + 6.0;
    let (strip_rect, _) = ui.allocate_exact_size(vec2(width, strip_height), Sense::hover());
    let strip = WeekGrid::new(
        Rect::from_min_size(
            pos2(strip_rect.left() + GUTTER, strip_rect.top()),
            vec2(columns_width, strip_height),
        ),
        cx.first_day,
        cx.days,
    );
    state.strip = Some(strip);
    all_day_strip(ui, state, &strip, cx, &all_day, &rows, &mut actions);

    // The hour grid.
    let mut scroll = egui::ScrollArea::vertical()
        .id_salt("week-hours")
        .scroll_source(egui::containers::scroll_area::ScrollSource {
            drag: egui::containers::scroll_area::DragScroll::Never,
            ..Default::default()
        })
        .auto_shrink([false, false]);
    if state.scroll_pending {
        scroll = scroll.vertical_scroll_offset(WORKDAY_START * HOUR_HEIGHT - 10.0);
        state.scroll_pending = false;
    }
    scroll.show(ui, |ui| {
        let (rect, _) = ui.allocate_exact_size(vec2(width, 24.0 * HOUR_HEIGHT), Sense::hover());
        let grid = WeekGrid::new(
            Rect::from_min_size(
                pos2(rect.left() + GUTTER, rect.top()),
                vec2(columns_width, 24.0 * HOUR_HEIGHT),
            ),
            cx.first_day,
            cx.days,
        );
        state.grid = Some(grid);
        hour_grid(ui, state, &grid, cx, occurrences, &mut actions);
    });
    actions
}

fn day_headers(ui: &Ui, grid: &WeekGrid, cx: &ViewContext<'_>, actions: &mut Vec<Action>) {
    let today = cx.now.date();
    let painter = ui.painter();
    for day in 0..grid.days {
        let date = grid.date(day);
        let column = grid.column(day);
        let is_today = date == today;
        let colour = if is_today {
            Color32::from_rgb(0x1a, 0x66, 0xd2)
        } else {
            ui.visuals().text_color()
        };
        let text = format!("{}", date.format("%a %-d %b"));
        let response = ui
            .interact(column, Id::unique(("day-header", date)), Sense::click())
            .on_hover_text("Show this day's week");
        response.widget_info(|| WidgetInfo::labeled(Role::Label, true, text.clone()));
        if is_today {
            painter.rect_filled(
                column.shrink2(vec2(4.0, 4.0)),
                4.0,
                Color32::from_rgba_unmultiplied(0x1a, 0x66, 0xd2, 28),
            );
        }
        painter.text(
            column.center(),
            egui::Align2::CENTER_CENTER,
            text,
            FontId::proportional(14.0),
            colour,
        );
        if response.clicked() {
            actions.push(Action::ShowWeek(date));
        }
    }
}

/// The row of each all-day occurrence in the strip: first free row, earlier
/// and longer ones first.
fn strip_rows(all_day: &[&Occurrence], first: NaiveDate, days: u32) -> Vec<usize> {
    let span = |o: &Occurrence| {
        let s = (o.start.date() - first).num_days().max(0);
        let e = (o.end.date() - first)
            .num_days()
            .clamp(s + 1, i64::from(days).max(s + 1));
        (s, e)
    };
    let intervals: Vec<(i64, i64)> = all_day.iter().map(|o| span(o)).collect();
    let mut order: Vec<usize> = (0..all_day.len()).collect();
    order.sort_by_key(|&i| (intervals[i].0, std::cmp::Reverse(intervals[i].1), i));
    let mut row_ends: Vec<i64> = Vec::new();
    let mut rows = vec![0; all_day.len()];
    for i in order {
        let (s, e) = intervals[i];
        let row = if let Some(r) = row_ends.iter().position(|&end| end <= s) {
            row_ends[r] = e;
            r
        } else {
            row_ends.push(e);
            row_ends.len() - 1
        };
        rows[i] = row;
    }
    rows
}

fn midnight(date: NaiveDate) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN)
}

/// The strip's day under a pointer, as a midnight.
fn strip_day(strip: &WeekGrid, pos: egui::Pos2) -> NaiveDateTime {
    midnight(
        strip
            .time_at_clamped(pos2(pos.x, strip.area.top() + 1.0))
            .date(),
    )
}

fn occurrence_label(o: &Occurrence) -> String {
    let time = if o.all_day {
        "all day".to_owned()
    } else if o.start.date() == o.end.date() {
        format!("{}–{}", o.start.format("%H:%M"), o.end.format("%H:%M"))
    } else {
        format!(
            "{} – {}",
            o.start.format("%a %H:%M"),
            o.end.format("%a %H:%M")
        )
    };
    format!("{}, {time}", display_title(&o.title))
}

pub fn display_title(title: &str) -> &str {
    if title.trim().is_empty() {
        "(no title)"
    } else {
        title
    }
}

/// The lines and the "all-day" label of the strip.
fn strip_lines(ui: &Ui, strip: &WeekGrid) {
    let painter = ui.painter();
    let stroke = Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color);
    painter.text(
        pos2(strip.area.left() - 6.0, strip.area.top() + 4.0),
        egui::Align2::RIGHT_TOP,
        "all-day",
        FontId::proportional(11.0),
        ui.visuals().weak_text_color(),
    );
    painter.hline(
        strip.area.left() - GUTTER..=strip.area.right(),
        strip.area.bottom(),
        stroke,
    );
    for day in 0..=strip.days {
        let x = strip.area.left() + strip.column_width() * day as f32;
        painter.vline(x, strip.area.y_range(), stroke);
    }
}

/// Where an all-day bar over `[start, end)` in `row` is drawn.
fn strip_bar(strip: &WeekGrid, start: NaiveDateTime, end: NaiveDateTime, row: usize) -> Rect {
    let s = (start.date() - strip.first_day).num_days().max(0) as f32;
    let e = ((end.date() - strip.first_day).num_days() as f32).min(strip.days as f32);
    Rect::from_min_max(
        pos2(
            strip.area.left() + s * strip.column_width() + 2.0,
            strip.area.top() + 3.0 + row as f32 * STRIP_ROW,
        ),
        pos2(
            strip.area.left() + e.max(s + 1.0) * strip.column_width() - 3.0,
            strip.area.top() + 3.0 + (row + 1) as f32 * STRIP_ROW - 2.0,
        ),
    )
}

fn all_day_strip(
    ui: &Ui,
    state: &mut WeekState,
    strip: &WeekGrid,
    cx: &ViewContext<'_>,
    all_day: &[&Occurrence],
    rows: &[usize],
    actions: &mut Vec<Action>,
) {
    strip_lines(ui, strip);
    let painter = ui.painter();
    let background = ui.interact(strip.area, Id::unique("all-day-strip"), Sense::click());
    background.widget_info(|| WidgetInfo::labeled(Role::Group, true, "All-day events"));
    if background.clicked()
        && !cx.read_only
        && let Some(pos) = background.interact_pointer_pos()
    {
        let day = strip_day(strip, pos).date();
        actions.push(Action::CreateAllDay {
            first: day,
            end: day + Duration::days(1),
        });
    }
    let dragged = state
        .strip_drag
        .preview()
        .map(|(k, s, e)| (k.cloned(), s, e));
    for (o, &row) in all_day.iter().zip(rows) {
        let rect = strip_bar(strip, o.start, o.end, row);
        let fill = paint::fill(o.colour.as_deref());
        let moving = matches!(&dragged, Some((Some(k), _, _)) if k.is(o));
        let id = Id::unique(("all-day", &o.uid, o.key.as_str()));
        let response = ui.interact(rect, id, Sense::click_and_drag());
        let label = occurrence_label(o);
        response.widget_info(|| WidgetInfo::labeled(Role::Button, true, label.clone()));
        paint::event_block(
            painter,
            rect,
            if moving { paint::faded(fill) } else { fill },
            &[(display_title(&o.title).to_owned(), true)],
            cx.selected.is_some_and(|s| s.is(o)),
            o.conflict.is_some(),
        );
        clicks(&response, o, actions);
        if response.drag_started()
            && !cx.read_only
            && let Some(origin) = ui.input(|i| i.pointer.press_origin())
        {
            state.strip_drag = Drag::grab(OccRef::of(o), o.start, o.end, strip_day(strip, origin));
        }
        if o.conflict.is_some() {
            conflict_mark(ui, rect, o, actions);
        }
    }
    // The dragged bar where it would land.
    if let Some((Some(target), start, end)) = &dragged
        && let Some(o) = all_day.iter().find(|o| target.is(o))
    {
        let row = all_day
            .iter()
            .position(|x| target.is(x))
            .map_or(0, |i| rows[i]);
        paint::event_block(
            painter,
            strip_bar(strip, *start, *end, row),
            paint::fill(o.colour.as_deref()),
            &[(display_title(&o.title).to_owned(), true)],
            true,
            false,
        );
    }
    finish_strip_drag(ui, state, strip, actions);
}

fn finish_strip_drag(ui: &Ui, state: &mut WeekState, strip: &WeekGrid, actions: &mut Vec<Action>) {
    if state.strip_drag.is_idle() {
        return;
    }
    if let Some(pos) = ui.input(|i| i.pointer.interact_pos()) {
        state.strip_drag.update(strip_day(strip, pos));
    }
    if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
        state.strip_drag.cancel();
    } else if !ui.input(|i| i.pointer.primary_down())
        && let DragEnd::Move { event, start, end } = state.strip_drag.finish()
    {
        actions.push(Action::Retime {
            target: event,
            start,
            end,
        });
    }
}

fn conflict_mark(ui: &Ui, event: Rect, o: &Occurrence, actions: &mut Vec<Action>) {
    let rect = paint::conflict_mark_rect(event);
    let response = ui
        .interact(
            rect,
            Id::unique(("conflict", &o.uid, o.key.as_str())),
            Sense::click(),
        )
        .on_hover_text("Moved on two devices at the same time: click to choose a time")
        .on_hover_cursor(CursorIcon::PointingHand);
    let label = format!("Conflict: {}", display_title(&o.title));
    response.widget_info(|| WidgetInfo::labeled(Role::Button, true, label.clone()));
    paint::conflict_mark(ui.painter(), rect, response.hovered());
    if response.clicked() {
        actions.push(Action::PickConflict(OccRef::of(o)));
    }
}

/// Hour lines and labels, day lines, today's tint.
fn grid_lines(ui: &Ui, grid: &WeekGrid, cx: &ViewContext<'_>) {
    let painter = ui.painter();
    let visuals = ui.visuals();
    let colour = visuals.widgets.noninteractive.bg_stroke.color;
    let line = Stroke::new(1.0, colour);
    let half = Stroke::new(1.0, colour.gamma_multiply(0.45));
    if let Some(day) = grid.day_index(cx.now.date()) {
        painter.rect_filled(
            grid.column(day),
            0.0,
            Color32::from_rgba_unmultiplied(0x1a, 0x66, 0xd2, 12),
        );
    }
    for hour in 0..24 {
        let y = grid.y_at(hour as f32 * 60.0);
        painter.hline(grid.area.left() - 6.0..=grid.area.right(), y, line);
        painter.hline(
            grid.area.x_range(),
            grid.y_at(hour as f32 * 60.0 + 30.0),
            half,
        );
        if hour > 0 {
            painter.text(
                pos2(grid.area.left() - 8.0, y),
                egui::Align2::RIGHT_CENTER,
                format!("{hour:02}:00"),
                FontId::proportional(11.5),
                visuals.weak_text_color(),
            );
        }
    }
    for day in 0..=grid.days {
        let x = grid.area.left() + grid.column_width() * day as f32;
        painter.vline(x, grid.area.y_range(), line);
    }
}

/// Empty time: click for a one-hour event, drag to draw one out.
fn empty_time(
    ui: &Ui,
    state: &mut WeekState,
    grid: &WeekGrid,
    cx: &ViewContext<'_>,
    actions: &mut Vec<Action>,
) {
    let background = ui.interact(grid.area, Id::unique("week-grid"), Sense::click_and_drag());
    background.widget_info(|| WidgetInfo::labeled(Role::Group, true, "Week grid"));
    if cx.read_only {
        return;
    }
    if background.clicked()
        && let Some(pos) = background.interact_pointer_pos()
    {
        let start = snap_down(grid.time_at_clamped(pos));
        actions.push(Action::Create {
            start,
            end: start + Duration::hours(1),
        });
    }
    if background.drag_started()
        && let Some(origin) = ui.input(|i| i.pointer.press_origin())
    {
        state.drag = Drag::create(grid.time_at_clamped(origin));
    }
}

/// Where each piece of each timed event goes: cut per day, laid side by
/// side where they overlap. (index into `timed`, piece, rectangle)
fn place(grid: &WeekGrid, timed: &[&Occurrence]) -> Vec<(usize, Segment, Rect)> {
    let mut pieces: Vec<(usize, Segment)> = Vec::new();
    for (i, o) in timed.iter().enumerate() {
        for s in grid.segments(o.start, o.end) {
            pieces.push((i, s));
        }
    }
    let mut placed = Vec::new();
    for day in 0..grid.days {
        let on_day: Vec<&(usize, Segment)> = pieces.iter().filter(|(_, s)| s.day == day).collect();
        let spans: Vec<(i64, i64)> = on_day
            .iter()
            .map(|(_, s)| (s.start_minute, s.end_minute))
            .collect();
        for ((i, segment), lane) in on_day.iter().zip(lanes(&spans, MIN_VISIBLE_MINUTES)) {
            let full = grid.segment_rect(segment);
            let (from, to) = lane.span();
            let rect = Rect::from_min_max(
                pos2(full.left() + full.width() * from, full.top()),
                pos2(full.left() + full.width() * to, full.bottom()),
            );
            placed.push((*i, *segment, rect));
        }
    }
    placed
}

fn hour_grid(
    ui: &Ui,
    state: &mut WeekState,
    grid: &WeekGrid,
    cx: &ViewContext<'_>,
    occurrences: &[Occurrence],
    actions: &mut Vec<Action>,
) {
    grid_lines(ui, grid, cx);
    empty_time(ui, state, grid, cx, actions);
    let preview = state.drag.preview().map(|(k, s, e)| (k.cloned(), s, e));
    let timed: Vec<&Occurrence> = occurrences.iter().filter(|o| !o.all_day).collect();
    for (i, segment, rect) in place(grid, &timed) {
        let o = timed[i];
        let moving = matches!(&preview, Some((Some(k), _, _)) if k.is(o));
        timed_event(ui, state, grid, cx, o, segment, rect, moving, actions);
    }
    if let Some((target, start, end)) = &preview {
        drag_ghost(ui.painter(), grid, &timed, target.as_ref(), *start, *end);
    }
    now_line(ui.painter(), grid, cx.now);
    finish_drag(ui, state, grid, actions);
}

/// One piece of a timed event: drawn, clickable, draggable, its end
/// draggable, its conflict mark clickable.
#[allow(clippy::too_many_arguments)]
fn timed_event(
    ui: &Ui,
    state: &mut WeekState,
    grid: &WeekGrid,
    cx: &ViewContext<'_>,
    o: &Occurrence,
    segment: Segment,
    rect: Rect,
    moving: bool,
    actions: &mut Vec<Action>,
) {
    let fill = paint::fill(o.colour.as_deref());
    let mut lines = vec![(display_title(&o.title).to_owned(), true)];
    if segment.starts_here {
        lines.push((
            format!("{}–{}", o.start.format("%H:%M"), o.end.format("%H:%M")),
            false,
        ));
    }
    if !o.location.is_empty() {
        lines.push((o.location.clone(), false));
    }
    paint::event_block(
        ui.painter(),
        rect,
        if moving { paint::faded(fill) } else { fill },
        &lines,
        cx.selected.is_some_and(|s| s.is(o)),
        o.conflict.is_some(),
    );
    let id = Id::unique(("event", &o.uid, o.key.as_str(), segment.day));
    let response = ui
        .interact(rect, id, Sense::click_and_drag())
        .on_hover_cursor(CursorIcon::Grab);
    let label = occurrence_label(o);
    response.widget_info(|| WidgetInfo::labeled(Role::Button, true, label.clone()));
    clicks(&response, o, actions);
    if response.drag_started()
        && !cx.read_only
        && let Some(origin) = ui.input(|i| i.pointer.press_origin())
    {
        state.drag = Drag::grab(OccRef::of(o), o.start, o.end, grid.time_at_clamped(origin));
    }
    if segment.ends_here && !cx.read_only {
        let handle = Rect::from_min_max(pos2(rect.left(), rect.bottom() - 6.0), rect.max);
        let response = ui
            .interact(handle, id.with("end"), Sense::drag())
            .on_hover_cursor(CursorIcon::ResizeVertical);
        let label = format!("End of {}", display_title(&o.title));
        response.widget_info(|| WidgetInfo::labeled(Role::Group, true, label.clone()));
        if response.drag_started() {
            state.drag = Drag::pull_end(OccRef::of(o), o.start, o.end);
        }
    }
    if o.conflict.is_some() && segment.starts_here {
        conflict_mark(ui, rect, o, actions);
    }
}

/// What the drag would make, drawn on top.
fn drag_ghost(
    painter: &egui::Painter,
    grid: &WeekGrid,
    timed: &[&Occurrence],
    target: Option<&OccRef>,
    start: NaiveDateTime,
    end: NaiveDateTime,
) {
    let (fill, title) = match target {
        Some(t) => (
            paint::fill(
                timed
                    .iter()
                    .find(|o| t.is(o))
                    .and_then(|o| o.colour.as_deref()),
            ),
            display_title(&t.title).to_owned(),
        ),
        None => (paint::fill(None), "New event".to_owned()),
    };
    for segment in grid.segments(start, end) {
        paint::event_block(
            painter,
            grid.segment_rect(&segment),
            fill,
            &[
                (title.clone(), true),
                (
                    format!("{}–{}", start.format("%H:%M"), end.format("%H:%M")),
                    false,
                ),
            ],
            true,
            false,
        );
    }
}

fn finish_drag(ui: &Ui, state: &mut WeekState, grid: &WeekGrid, actions: &mut Vec<Action>) {
    if state.drag.is_idle() {
        return;
    }
    if let Some(pos) = ui.input(|i| i.pointer.interact_pos()) {
        state.drag.update(grid.time_at_clamped(pos));
    }
    if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
        state.drag.cancel();
    } else if !ui.input(|i| i.pointer.primary_down()) {
        match state.drag.finish() {
            DragEnd::Nothing => {}
            DragEnd::Create { start, end } => actions.push(Action::Create { start, end }),
            DragEnd::Move { event, start, end } | DragEnd::Resize { event, start, end } => {
                actions.push(Action::Retime {
                    target: event,
                    start,
                    end,
                });
            }
        }
    }
}

fn now_line(painter: &egui::Painter, grid: &WeekGrid, now: NaiveDateTime) {
    let Some(day) = grid.day_index(now.date()) else {
        return;
    };
    let column = grid.column(day);
    let y = grid.y_at((now.hour() * 60 + now.minute()) as f32);
    let red = Color32::from_rgb(0xe0, 0x25, 0x25);
    painter.hline(column.x_range(), y, Stroke::new(2.0, red));
    painter.circle_filled(pos2(column.left(), y), 4.5, red);
}

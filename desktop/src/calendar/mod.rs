//! The calendar view: a week of hours or a month of days, events drawn on
//! them, dragged to create, move and resize; an editor window per event;
//! conflicts of concurrent moves marked and resolved by a pick.
//!
//! Pure geometry first (`week_grid`, `month_grid`, `overlap`, `drag`,
//! `retime`; the date picker's `PickerMonth`), so the drawing and the hit testing agree and are tested
//! without a window. `week` and `month` draw and return `Action`s;
//! `view::CalendarView` carries them out through the sync client.

// Screen geometry: day, lane and minute counts are tiny, f32 holds them
// exactly.
#![allow(clippy::cast_precision_loss)]

pub mod action;
pub mod date_picker;
pub mod drag;
pub mod event_editor;
pub mod event_form;
pub mod month;
pub mod month_grid;
pub mod overlap;
pub mod paint;
pub mod retime;
pub mod rule_form;
pub mod toast;
pub mod view;
pub mod week;
pub mod week_grid;
pub mod zone;

pub use view::{CalendarView, Mode};

//! The calendar view: a week of hours or a month of days, events drawn on
//! them, dragged to create, move and resize.
//!
//! Pure geometry first (`week_grid`, `month_grid`, `overlap`, `drag`), so
//! the drawing and the hit testing agree and are tested without a window.

// Screen geometry: day, lane and minute counts are tiny, f32 holds them
// exactly.
#![allow(clippy::cast_precision_loss)]

pub mod drag;
pub mod month_grid;
pub mod overlap;
pub mod week_grid;

//! The window, driven headless with egui_kittest: one test binary, a
//! module per area.

mod big_note;
mod calendar;
mod event_editor;
mod notes;
mod support;

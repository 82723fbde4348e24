//! Text-field edits and carets; they live in `concord-note`, shared with the web demo.

pub use concord_note::editor::*;

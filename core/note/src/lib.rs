//! What a Concord text document is, and how a plain text field edits one.
//!
//! Both the desktop app (egui) and the web demo (a browser `<textarea>`)
//! use this crate, so a note written on one reads the same on the other and
//! both turn a text field's edits into the same splices.
//!
//! - `note` — the document's shape: a root map with `title` (a string,
//!   last-writer-wins, concurrent titles kept) and `body` (text).
//! - `editor` — a text field's edit as one splice (`diff`), moved past
//!   concurrent remote edits (`rebase`), and carets that stay on their
//!   characters while others edit (`Anchor`).
//!
//! Pure like `concord-core`: no IO, no clock; builds for wasm32.

pub mod editor;
pub mod note;

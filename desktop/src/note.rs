//! A text document's shape; it lives in `concord-note`, shared with the web demo.

pub use concord_note::note::*;

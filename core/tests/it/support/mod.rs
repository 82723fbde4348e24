//! Helpers shared by the integration tests.

pub mod rng;
pub mod trace;
// `text_model.rs` (naive FugueMax reference + string model) is included with
// `#[path]` by `text_props.rs` and by the text module's unit tests, because it
// takes the text types from the including module.

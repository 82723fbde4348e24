//! The measured systems, each driven through its public API the way its
//! documentation shows.

pub mod automerge_doc;
pub mod concord;
pub mod diamond;
pub mod loro_doc;
pub mod yrs_doc;

//! Binary encodings: changes, whole documents and sync messages. Each starts
//! with magic bytes and a format version; decoding never trusts a length it
//! has not checked against the input.

mod change;
pub(crate) mod codec;
mod document;
mod ids;
mod message;

pub use change::EncodedChange;
pub use message::Message;

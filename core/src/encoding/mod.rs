//! Binary encodings: changes, whole documents, sync messages and relay frames. Each starts
//! with magic bytes and a format version; decoding never trusts a length it
//! has not checked against the input.

pub(crate) mod batch;
mod change;
pub(crate) mod codec;
pub(crate) mod document;
mod frame;
pub(crate) mod ids;
mod message;

pub use change::EncodedChange;
pub use frame::{Access, DocId, ErrorCode, Frame, MAX_DOC_ID_LEN, MAX_TOKEN_LEN, close};
pub use message::Message;

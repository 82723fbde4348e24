//! Binary encodings of the engine: a change's operations (the block the
//! wire format carries opaquely), whole documents, and the segments of run
//! records (batches of records too). Each starts
//! with magic bytes and a format version; decoding never trusts a length it
//! has not checked against the input.

mod change;
pub(crate) mod document;
pub(crate) mod ids;
pub(crate) mod record;

/// The wire's bounded varint reader and writer.
pub(crate) use concord_wire::codec;

pub use change::{DecodeOps, EncodedChange};

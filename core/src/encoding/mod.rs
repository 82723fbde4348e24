//! Binary encodings of the engine: a change's operations (the block the
//! wire format carries opaquely), whole documents and batches. Each starts
//! with magic bytes and a format version; decoding never trusts a length it
//! has not checked against the input.

pub(crate) mod batch;
mod change;
pub(crate) mod document;
pub(crate) mod ids;

/// The wire's bounded varint reader and writer.
pub(crate) use concord_wire::codec;

pub use change::{DecodeOps, EncodedChange};

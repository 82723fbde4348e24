//! concord-core integration tests: one binary, one module per area.

mod support;

mod batch;
mod causal_delivery;
mod client_session;
mod containers;
mod encoding;
mod examples;
mod fuzz_regressions;
mod props;
mod records;
mod sim;
mod sync_peer;
mod text_conformance;
mod text_props;
mod traces;

//! concord-calendar integration tests: one binary, one module per area.

mod support;

mod demo;
mod ics;
mod interop;
mod merge;
mod props;
mod purity;
mod views;

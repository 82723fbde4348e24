//! Harness for the cross-crate tests: real relay processes, a fault-injecting
//! proxy. The tests themselves are in `e2e/`.

pub mod proxy;
pub mod relay_process;

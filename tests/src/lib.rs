//! Harness for the cross-crate tests: real relay processes, a fault-injecting
//! proxy. The tests themselves are in `e2e/`.

pub mod proxy;
pub mod raw_socket;
pub mod relay_process;

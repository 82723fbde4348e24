//! Harness for the cross-crate tests: real relay processes, a fault-injecting
//! proxy, browser scripts (headless Chromium) for the web demo. The tests themselves are in `e2e/`.

pub mod balancer;
pub mod browser;
pub mod device_process;
pub mod postgres;
pub mod proxy;
pub mod raw_socket;
pub mod relay_process;

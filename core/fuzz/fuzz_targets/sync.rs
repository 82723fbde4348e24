//! Arbitrary bytes as a script for the sync state machine: see `check_sync`
//! in `src/lib.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| concord_core_fuzz::check_sync(data));

//! Arbitrary bytes as change input: see `check_change` in `src/lib.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| concord_core_fuzz::check_change(data));

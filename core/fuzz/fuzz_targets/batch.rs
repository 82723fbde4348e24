//! Arbitrary bytes as a batch: see `check_batch` in `src/lib.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| concord_core_fuzz::check_batch(data));

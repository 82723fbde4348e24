//! Arbitrary bytes as message input: see `check_message` in `src/lib.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| concord_core_fuzz::check_message(data));

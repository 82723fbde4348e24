//! Arbitrary bytes as a record (a change or a run record): see
//! `check_record` in `src/lib.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| concord_core_fuzz::check_record(data));

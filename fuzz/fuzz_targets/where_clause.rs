#![no_main]
//! `cargo xtask fuzz where_clause`: see gp-fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gp_fuzz::run("where_clause", data));

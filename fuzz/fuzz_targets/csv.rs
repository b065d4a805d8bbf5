#![no_main]
//! `cargo xtask fuzz csv`: see gp-fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gp_fuzz::run("csv", data));

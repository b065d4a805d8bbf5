#![no_main]
//! `cargo xtask fuzz filegdb`: see gp-fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gp_fuzz::run("filegdb", data));

#![no_main]
//! `cargo xtask fuzz flatgeobuf`: see gp-fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gp_fuzz::run("flatgeobuf", data));

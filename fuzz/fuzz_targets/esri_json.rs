#![no_main]
//! `cargo xtask fuzz esri_json`: see gp-fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gp_fuzz::run("esri_json", data));

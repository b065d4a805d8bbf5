#![no_main]
//! `cargo xtask fuzz geojson`: see gp-fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| gp_fuzz::run("geojson", data));

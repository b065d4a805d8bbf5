//! What the GDAL-checked tests share.

#![allow(clippy::print_stderr, dead_code)] // reason: test helpers; not every test file uses each

use std::process::Command;

/// True when GDAL's tools run. Without them a test is skipped with a message, unless
/// `GP_REQUIRE_GDAL=1` (set by `cargo xtask ci`, which installs gdal-bin): then it fails.
pub(crate) fn gdal() -> bool {
    let ok = Command::new("gdalinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("GP_REQUIRE_GDAL").is_err(),
            "GP_REQUIRE_GDAL is set but gdalinfo is not available"
        );
        eprintln!(
            "skipped: GDAL (gdalinfo) is not installed; `apt-get install gdal-bin` to run this test"
        );
    }
    ok
}

//! Helpers the hostile-file tests share.
#![allow(dead_code, unreachable_pub)] // reason: each test file uses a subset

use std::sync::atomic::{AtomicUsize, Ordering};

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts every panic from now on, and still shows it (a failed assertion of the
/// test is one too). One test per binary, so the count is that test's.
pub fn count_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default(info);
    }));
}

/// Panics counted since [`count_panics`].
pub fn panics() -> usize {
    PANICS.load(Ordering::SeqCst)
}

/// True when GDAL's `ogr2ogr` runs; a missing GDAL fails under `GP_REQUIRE_GDAL=1`
/// (set by `cargo xtask ci`).
pub fn ogr2ogr() -> bool {
    let ok = std::process::Command::new("ogr2ogr")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var("GP_REQUIRE_GDAL").is_err(),
        "GP_REQUIRE_GDAL is set but ogr2ogr is not available"
    );
    ok
}

/// [`ogr2ogr`], saying on stderr that the test is skipped when GDAL is missing.
#[allow(clippy::print_stderr)] // reason: the skip is said where the test output shows it
pub fn gdal_or_skip() -> bool {
    let ok = ogr2ogr();
    if !ok {
        eprintln!("skipped: GDAL is not installed; `apt-get install gdal-bin` to run this test");
    }
    ok
}

/// GDAL's own reading of a feature file as GeoJSON (`ogr2ogr -f GeoJSON`; GDAL 3.6
/// has no `ogrinfo -json`), with `args` after the source (a layer name, options).
pub fn gdal_geojson(source: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new("ogr2ogr")
        .args(["-f", "GeoJSON", "/vsistdout/"])
        .arg(source)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running ogr2ogr: {e}"));
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("ogr2ogr's GeoJSON: {e}"))
}

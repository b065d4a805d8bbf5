//! Hostile Shapefiles: records whose content length or point counts the file cannot
//! back, and single-byte changes of a real file (the Natural Earth countries, written
//! by GDAL through geopandas, from gp-server's sample data). Each is read or refused
//! with a clear error, quickly, without reserving what the header claims and without
//! a panic (a panic hook counts them; this binary has one test).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gp-server/data/naturalearth_lowres")
}

/// A copy of the countries Shapefile in `dir` with its `.shp` replaced by `shp`.
fn with_shp(dir: &Path, shp: &[u8]) -> PathBuf {
    for ext in ["shx", "dbf", "prj", "cpg"] {
        std::fs::copy(
            source().join(format!("naturalearth_lowres.{ext}")),
            dir.join(format!("c.{ext}")),
        )
        .unwrap();
    }
    let p = dir.join("c.shp");
    std::fs::write(&p, shp).unwrap();
    p
}

#[track_caller]
fn refused(dir: &Path, shp: &[u8], needle: &str) {
    let p = with_shp(dir, shp);
    let t = Instant::now();
    let e = gp_features::load(&p).unwrap_err().to_string();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(e.contains(needle), "`{e}` does not say `{needle}`");
}

#[test]
fn hostile_shapefiles_are_refused_without_reserving_what_they_claim() {
    common::count_panics();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let real = std::fs::read(source().join("naturalearth_lowres.shp")).unwrap();
    let fs = gp_features::load(with_shp(d, &real)).unwrap();
    assert_eq!(fs.features.len(), 177);
    // The first record starts at byte 100: 8 bytes of record header, then the shape
    // type, the box, the part count (byte 144) and the point count (byte 148).
    assert_eq!(
        i32::from_le_bytes(real[108..112].try_into().unwrap()),
        5,
        "a polygon"
    );
    let mut points = real.clone();
    points[148..152].copy_from_slice(&0x4000_0000i32.to_le_bytes());
    refused(d, &points, "declares 3 parts and 1073741824 points");
    let mut parts = real.clone();
    parts[144..148].copy_from_slice(&i32::MAX.to_le_bytes());
    refused(d, &parts, "parts");
    let mut negative = real.clone();
    negative[148..152].copy_from_slice(&(-5i32).to_le_bytes());
    refused(d, &negative, "-5 points");
    let mut content = real.clone();
    content[104..108].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
    refused(d, &content, "claims 4294967294 bytes");
    refused(
        d,
        &real[..real.len() - 3],
        "claims 1056 bytes; the file has 1053 left",
    );
    // Single-byte changes over the header and the first records.
    let t = Instant::now();
    for i in 0..1500 {
        for b in [0xFFu8, real[i] ^ 0x40] {
            let mut m = real.clone();
            m[i] = b;
            let p = with_shp(d, &m);
            let _ = gp_features::load(&p);
        }
    }
    assert!(t.elapsed() < Duration::from_secs(120), "{:?}", t.elapsed());
    assert_eq!(common::panics(), 0, "panics while reading hostile files");
}

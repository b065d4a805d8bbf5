//! Hostile File Geodatabases: sizes and counts the files cannot back, and single-byte
//! changes of a geodatabase GDAL wrote (`tests/data/gdal.gdb`). Each is read or
//! refused with a clear error, quickly, without reserving what a header claims and
//! without a panic (a panic hook counts them; this binary has one test).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gdal.gdb")
}

/// The copy of the fixture in `dir` (made once) with file `name` replaced by
/// `bytes` and every other file as the fixture has it.
fn with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let to = dir.join("h.gdb");
    if !to.exists() {
        std::fs::create_dir_all(&to).unwrap();
    }
    for e in std::fs::read_dir(fixture()).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        let want = std::fs::read(e.path()).unwrap();
        if std::fs::read(&dst).ok().as_deref() != Some(want.as_slice()) {
            std::fs::write(&dst, want).unwrap();
        }
    }
    std::fs::write(to.join(name), bytes).unwrap();
    to
}

#[track_caller]
fn refused(dir: &Path, name: &str, bytes: &[u8], layer: &str, needle: &str) {
    let gdb = with(dir, name, bytes);
    let t = Instant::now();
    let e = gp_features::load(gdb.join(layer)).unwrap_err().to_string();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(e.contains(needle), "`{e}` does not say `{needle}`");
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture().join(name)).unwrap()
}

#[test]
fn hostile_geodatabases_are_refused_without_reserving_what_they_claim() {
    common::count_panics();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `places` is table 9.
    let table = read("a00000009.gdbtable");
    let tablx = read("a00000009.gdbtablx");
    assert_eq!(
        gp_features::load(with(d, "x", b"").join("places"))
            .unwrap()
            .features
            .len(),
        3
    );
    let fields_at = u64::from_le_bytes(table[32..40].try_into().unwrap()) as usize;

    let mut m = table.clone();
    m[fields_at..fields_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    refused(
        d,
        "a00000009.gdbtable",
        &m,
        "places",
        "field descriptions of 4294967295 bytes",
    );
    let mut m = table.clone();
    m[32..40].copy_from_slice(&(1u64 << 40).to_le_bytes());
    refused(d, "a00000009.gdbtable", &m, "places", "beyond the file");
    let mut m = table.clone();
    m[0] = 9;
    refused(d, "a00000009.gdbtable", &m, "places", "version 9");
    // The index claims two billion blocks of offsets.
    let mut m = tablx.clone();
    m[4..8].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    refused(
        d,
        "a00000009.gdbtablx",
        &m,
        "places",
        "blocks of offsets in a file of",
    );
    // A row offset beyond the file, and a row length beyond it.
    let mut m = tablx.clone();
    m[16..21].copy_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    refused(d, "a00000009.gdbtablx", &m, "places", "beyond the file");
    let first = u64::from_le_bytes([
        tablx[16], tablx[17], tablx[18], tablx[19], tablx[20], 0, 0, 0,
    ]) as usize;
    let mut m = table.clone();
    m[first..first + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    refused(
        d,
        "a00000009.gdbtable",
        &m,
        "places",
        "2147483632 bytes, beyond the file",
    );
    // The catalog cut short.
    let cat = read("a00000001.gdbtable");
    refused(d, "a00000001.gdbtable", &cat[..30], "places", "too short");
    // A polygon claiming a billion points in a blob of a few dozen bytes.
    let parcels = read("a0000000a.gdbtable");
    let px = read("a0000000a.gdbtablx");
    let at = u64::from_le_bytes([px[16], px[17], px[18], px[19], px[20], 0, 0, 0]) as usize;
    // Row: length (4), null flags (1), blob length (varint), shape type, point count.
    let mut m = parcels.clone();
    let blob_len_at = at + 5;
    assert!(m[blob_len_at] < 0x80, "a short blob");
    assert_eq!(m[blob_len_at + 1], 25, "a measured polygon");
    m[blob_len_at + 2..blob_len_at + 7].copy_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x04]);
    let gdb = with(d, "a0000000a.gdbtable", &m);
    let e = gp_features::load(gdb.join("parcels"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("point count"), "{e}");

    // Single-byte changes over every file of the `parcels` and `places` tables and
    // the catalog's start.
    let t = Instant::now();
    for (name, bytes, span, layers) in [
        (
            "a0000000a.gdbtable",
            &parcels,
            parcels.len(),
            &["parcels"][..],
        ),
        ("a00000009.gdbtable", &table, table.len(), &["places"][..]),
        ("a00000009.gdbtablx", &tablx, 64, &["places"][..]),
        (
            "a00000001.gdbtable",
            &cat,
            cat.len().min(400),
            &["places", "parcels"][..],
        ),
    ] {
        let gdb = with(d, name, bytes);
        let file = gdb.join(name);
        for i in 0..span {
            // One change a byte, of three kinds in turn: all bits set, a flipped bit,
            // a varint continuation.
            for b in [[0xffu8, bytes[i] ^ 0x40, 0x80][i % 3]] {
                let mut m = bytes.clone();
                m[i] = b;
                std::fs::write(&file, &m).unwrap();
                for layer in layers {
                    let _ = gp_features::load(gdb.join(layer));
                }
            }
        }
        std::fs::write(&file, bytes).unwrap();
    }
    assert!(t.elapsed() < Duration::from_secs(240), "{:?}", t.elapsed());
    assert_eq!(
        common::panics(),
        0,
        "panics while reading hostile geodatabases"
    );
}

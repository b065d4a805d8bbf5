//! Safety: TIFF bombs, malformed files, unsafe names, interrupted downloads.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

use std::io::Read;

use gp_raster::*;

/// A minimal little-endian TIFF header + IFD claiming `w` x `h` float64 pixels in
/// one uncompressed strip of 16 bytes.
fn bomb(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"II*\0".to_vec();
    b.extend(8u32.to_le_bytes());
    let entries: [(u16, u16, u32, u32); 9] = [
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 64),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 200),
        (278, 4, 1, h),
        (279, 4, 1, 16),
        (339, 3, 1, 3),
    ];
    b.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        b.extend(tag.to_le_bytes());
        b.extend(kind.to_le_bytes());
        b.extend(count.to_le_bytes());
        b.extend(value.to_le_bytes());
    }
    b.extend(0u32.to_le_bytes());
    b.resize(216, 0);
    b
}

#[test]
fn tiff_bomb_is_refused_before_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.tif");
    std::fs::write(&p, bomb(1_000_000, 1_000_000)).unwrap();
    let e = read_tiff(&p, &DecodeLimits::default()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                what: "decoded size in bytes",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("8000000000000"), "{e}");
    // A tight limit refuses a modest file too, and counts chunks.
    std::fs::write(&p, bomb(100, 100)).unwrap();
    let small = DecodeLimits {
        max_decoded_bytes: 1000,
        ..Default::default()
    };
    assert!(matches!(read_tiff(&p, &small), Err(Error::TooLarge { .. })));
    let few = DecodeLimits {
        max_chunks: 0,
        ..Default::default()
    };
    assert!(matches!(
        read_tiff(&p, &few),
        Err(Error::TooLarge {
            what: "chunk count",
            ..
        })
    ));
    // Within the limits, the short strip is an error, not a panic.
    assert!(read_tiff(&p, &DecodeLimits::default()).is_err());
}

#[test]
fn malformed_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.tif");
    let data: Vec<f32> = (0..64 * 48).map(|i| i as f32).collect();
    let r = Raster::new(64, 48, 1, RasterData::F32(data)).unwrap();
    write_geotiff(
        &good,
        &r,
        &WriteOptions {
            tile_size: 16,
            ..Default::default()
        },
    )
    .unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let p = dir.path().join("bad.tif");
    // Every truncation, and a byte flipped at many positions.
    let mut seed = 12345u64;
    for cut in (0..bytes.len()).step_by(7) {
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let _ = read_tiff(&p, &DecodeLimits::default());
        let _ = read_tiff_info(&p);
    }
    for _ in 0..400 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut b = bytes.clone();
        let i = (seed >> 33) as usize % b.len();
        b[i] ^= (seed >> 13) as u8 | 1;
        std::fs::write(&p, &b).unwrap();
        let _ = read_tiff(
            &p,
            &DecodeLimits {
                max_decoded_bytes: 1 << 26,
                ..Default::default()
            },
        );
    }
    std::fs::write(&p, b"not a tiff at all").unwrap();
    let e = read_tiff(&p, &DecodeLimits::default()).unwrap_err();
    assert!(
        e.to_string().contains("bad.tif"),
        "the error names the file: {e}"
    );
    let e = read_tiff(dir.path().join("missing.tif"), &DecodeLimits::default()).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
}

#[track_caller]
fn check_name(name: &str, ok: bool) {
    assert_eq!(sanitize_file_name(name).is_ok(), ok, "{name:?}");
}

#[test]
fn file_names_cannot_escape_the_folder() {
    for bad in [
        "",
        ".",
        "..",
        "../x.tif",
        "a/b.tif",
        "a\\b.tif",
        "/etc/passwd",
        "C:x.tif",
        "x\u{0}.tif",
        "x\n.tif",
        "CON",
        "con.tif",
        "LPT1.txt",
        "x.tif.",
        "x ",
        "a..b",
        "?.tif",
        // Hidden files: a server must not replace `.bashrc` or `.ssh`.
        ".hidden",
        ".bashrc",
    ] {
        check_name(bad, false);
    }
    for good in ["slope.tif", "_ags_out1.tif", "Road Buffer.png", "é.tif"] {
        check_name(good, true);
    }
    assert!(file_name_from_url("https://h/x/..%2F..%2Fetc%2Fpasswd").is_err());
    assert!(file_name_from_url("https://h/x/").is_err());
    assert!(file_name_from_url("https://host.example").is_err());
    assert_eq!(
        file_name_from_url("https://h/a/b/c.tif#frag").unwrap(),
        "c.tif"
    );
    assert_eq!(
        file_name_from_url("https://h/a/%E2%82%AC.tif").unwrap(),
        "€.tif"
    );
    assert!(file_name_from_url("https://h/a/%FF.tif").is_err());
}

#[test]
fn collisions_get_numbered_suffixes() {
    let dir = tempfile::tempdir().unwrap();
    let ws = ScratchWorkspace::at(dir.path().join("scratch"));
    let a = ws
        .save_reader("out.tif", &b"one"[..], Some(3), false)
        .unwrap();
    let b = ws.save_reader("out.tif", &b"two"[..], None, false).unwrap();
    let c = ws
        .save_reader("out.tif", &b"three"[..], None, true)
        .unwrap();
    assert_eq!(a.file_name().unwrap(), "out.tif");
    assert_eq!(b.file_name().unwrap(), "out_1.tif");
    assert_eq!(c, a, "overwrite replaces");
    assert_eq!(std::fs::read(&a).unwrap(), b"three");
    assert_eq!(std::fs::read(&b).unwrap(), b"two");
}

/// A reader that fails after some bytes, like a cut connection.
struct Cut(usize);

impl Read for Cut {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset",
            ));
        }
        let n = buf.len().min(self.0).min(1000);
        buf[..n].fill(7);
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn interrupted_downloads_leave_nothing_under_the_final_name() {
    let dir = tempfile::tempdir().unwrap();
    let ws = ScratchWorkspace::at(dir.path());
    let e = ws
        .save_reader("big.tif", Cut(150_000), Some(1_000_000), false)
        .unwrap_err();
    assert!(e.to_string().contains("connection reset"), "{e}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no partial or temporary file"
    );
    // A stream shorter than announced is refused too.
    let e = ws
        .save_reader("short.tif", &[1u8; 10][..], Some(11), false)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::SizeMismatch {
                expected: 11,
                received: 10,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // An existing file is never destroyed by a failed download.
    std::fs::write(dir.path().join("keep.tif"), b"precious").unwrap();
    let _ = ws.save_reader("keep.tif", Cut(10), None, true).unwrap_err();
    assert_eq!(
        std::fs::read(dir.path().join("keep.tif")).unwrap(),
        b"precious"
    );
}

#[test]
fn scratch_workspace_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let ws = ScratchWorkspace::resolve(Some(dir.path()));
    assert_eq!(ws.dir(), dir.path());
    let default = ScratchWorkspace::resolve(None);
    match std::env::var_os(SCRATCH_ENV) {
        Some(v) if !v.is_empty() => assert_eq!(default.dir(), std::path::Path::new(&v)),
        _ => {
            assert!(default.dir().starts_with(std::env::temp_dir()));
            assert!(
                default
                    .dir()
                    .to_string_lossy()
                    .contains(&std::process::id().to_string())
            );
        }
    }
    let nested = ScratchWorkspace::at(dir.path().join("a/b/rasteroutput"));
    assert!(nested.ensure().unwrap().is_dir(), "created on demand");
}

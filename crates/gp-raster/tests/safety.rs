//! Safety: TIFF bombs and malformed files.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

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

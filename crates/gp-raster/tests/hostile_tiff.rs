//! Hostile TIFFs: a few bytes claiming gigabytes, Deflate bombs, tiles sharing their
//! bytes, and GDAL-written files changed byte by byte. Every one is refused with a
//! clear error or decoded, never a panic, and the memory allocated while reading is
//! measured by a counting allocator: it stays within a small bound whatever the
//! header claims.

// reason: the counting allocator (test instrumentation) implements GlobalAlloc, which
// is unsafe by definition; it only forwards to the system allocator.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // reason: test code

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use gp_raster::*;

mod common;
use common::gdal;

struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the same layout; the counters are atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = NOW.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        NOW.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > l.size() {
            let now = NOW.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            NOW.fetch_sub(l.size() - new, Ordering::Relaxed);
        }
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The tests of this file measure one global counter: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` and returns its result with the most bytes allocated above the start.
fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = NOW.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    let v = f();
    (v, PEAK.load(Ordering::Relaxed).saturating_sub(start))
}

/// A little-endian TIFF of `w`×`h` float32 pixels whose chunks all point at `data`.
fn tiff(w: u32, h: u32, tile: Option<u32>, compression: u16, data: &[u8]) -> Vec<u8> {
    let chunks = match tile {
        Some(t) => w.div_ceil(t) * h.div_ceil(t),
        None => 1,
    };
    let arrays_at = 8 + 2 + 12 * 11 + 4;
    let data_at = arrays_at + 8 * chunks;
    let mut entries: Vec<(u16, u16, u32, u32)> = vec![
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 32),
        (259, 3, 1, u32::from(compression)),
        (262, 3, 1, 1),
    ];
    // A chunk with no bytes has offset 0, as in GDAL's sparse files.
    let one = |v: u32| if data.is_empty() { 0 } else { v };
    match tile {
        Some(t) => entries.extend([
            (322, 4, 1, t),
            (323, 4, 1, t),
            (324, 4, chunks, arrays_at),
            (325, 4, chunks, arrays_at + 4 * chunks),
        ]),
        None => entries.extend([
            (273, 4, 1, one(data_at)),
            (278, 4, 1, h),
            (279, 4, 1, data.len() as u32),
        ]),
    }
    entries.push((339, 3, 1, 3));
    entries.sort_by_key(|e| e.0);
    let mut b = b"II*\0".to_vec();
    b.extend(8u32.to_le_bytes());
    b.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in &entries {
        b.extend(tag.to_le_bytes());
        b.extend(kind.to_le_bytes());
        b.extend(count.to_le_bytes());
        b.extend(value.to_le_bytes());
    }
    b.extend(0u32.to_le_bytes());
    b.resize(arrays_at as usize, 0);
    if tile.is_some() {
        for _ in 0..chunks {
            b.extend(data_at.to_le_bytes());
        }
        for _ in 0..chunks {
            b.extend((data.len() as u32).to_le_bytes());
        }
    }
    b.resize(data_at as usize, 0);
    b.extend(data);
    b
}

fn deflated_zeros(n: usize) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&vec![0u8; n]).unwrap();
    e.finish().unwrap()
}

#[track_caller]
fn refused(p: &Path, bytes: &[u8], want: &str) {
    std::fs::write(p, bytes).unwrap();
    for (what, (r, used)) in [
        (
            "read_tiff",
            peak(|| read_tiff(p, &DecodeLimits::default()).map(|_| ())),
        ),
        (
            "tiff_stats",
            peak(|| tiff_stats(p, &DecodeLimits::default()).map(|_| ())),
        ),
    ] {
        let e = r.expect_err(what);
        assert!(e.to_string().contains(want), "{what}: {e}");
        assert!(
            used < 1 << 20,
            "{what} allocated {used} bytes before refusing"
        );
    }
}

#[test]
fn small_files_claiming_huge_images_are_refused_in_small_memory() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.tif");
    // 32768 x 32768 float32 (4 GiB) in one strip of 16 bytes: a 200-byte file.
    let b = tiff(32768, 32768, None, 1, &[0; 16]);
    assert!(b.len() < 400);
    refused(&p, &b, "cannot hold the 4294967296 bytes");
    // A ~10 KB Deflate stream declaring 20000 x 20000 float32 (1.6 GB).
    let z = deflated_zeros(10 << 20);
    assert!(z.len() < 12 << 10, "{}", z.len());
    refused(
        &p,
        &tiff(20000, 20000, None, 8, &z),
        "cannot hold the 1600000000 bytes",
    );
    // The same as tiles that all point at one small stream: each tile alone is
    // plausible, together they use the file's bytes thousands of times.
    let z = deflated_zeros(256 * 256 * 4);
    refused(&p, &tiff(20000, 20000, Some(256), 8, &z), "they overlap");
    // A tile larger than the image.
    refused(
        &p,
        &tiff(16, 16, Some(65536), 1, &[0; 64]),
        "tiles of 65536x65536",
    );
    // A sparse file (no bytes at all for its one strip) is read as nodata, but only
    // up to a limit, since that memory is not backed by the file.
    let sparse = tiff(32768, 32768, None, 1, &[]);
    std::fs::write(&p, &sparse).unwrap();
    let e = read_tiff(&p, &DecodeLimits::default()).unwrap_err();
    assert!(e.to_string().contains("sparse"), "{e}");
    // Its statistics stream and need no such memory: 2^30 zeros.
    let (s, used) = peak(|| tiff_stats(&p, &DecodeLimits::default()).unwrap());
    let s = s[0].unwrap();
    assert_eq!((s.valid_count, s.min, s.max), (1 << 30, 0.0, 0.0));
    assert!(used < 1 << 20, "{used}");
}

#[test]
fn gdal_written_files_changed_byte_by_byte_never_panic_nor_balloon() {
    if !gdal() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (100u32, 60u32);
    let data: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i % w) * 2 + (i / w % h) * 3) as u8)
        .collect();
    let mut r = Raster::new(w, h, 3, RasterData::U8(data)).unwrap();
    r.georef = GeoReference::north_up(500_000.0, 4_000_000.0, 30.0, 32611);
    let src = dir.path().join("src.tif");
    write_geotiff(&src, &r, &WriteOptions::default()).unwrap();
    let variants: &[&[&str]] = &[
        &[
            "-co",
            "COMPRESS=LZW",
            "-co",
            "TILED=YES",
            "-co",
            "BLOCKXSIZE=32",
            "-co",
            "BLOCKYSIZE=32",
        ],
        &[
            "-ot",
            "Float32",
            "-co",
            "COMPRESS=DEFLATE",
            "-co",
            "PREDICTOR=3",
            "-co",
            "INTERLEAVE=BAND",
            "-co",
            "BLOCKYSIZE=7",
        ],
        &[
            "-co",
            "COMPRESS=JPEG",
            "-co",
            "PHOTOMETRIC=YCBCR",
            "-co",
            "TILED=YES",
            "-co",
            "BLOCKXSIZE=32",
            "-co",
            "BLOCKYSIZE=32",
        ],
        &[
            "-ot",
            "Int16",
            "-co",
            "COMPRESS=PACKBITS",
            "-co",
            "BIGTIFF=YES",
            "-co",
            "ENDIANNESS=BIG",
        ],
        &[
            "-ot",
            "UInt16",
            "-co",
            "COMPRESS=ZSTD",
            "-co",
            "PREDICTOR=2",
            "-co",
            "TILED=YES",
            "-co",
            "BLOCKXSIZE=48",
            "-co",
            "BLOCKYSIZE=16",
        ],
    ];
    let prev = std::panic::take_hook();
    let panics = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = panics.clone();
    std::panic::set_hook(Box::new(move |info| {
        if counter.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("panic: {info}");
        }
    }));
    let (mut files, mut decoded, mut worst) = (0, 0, 0usize);
    let limits = DecodeLimits::default();
    for (n, args) in variants.iter().enumerate() {
        let good = dir.path().join(format!("v{n}.tif"));
        let mut a = vec!["-q"];
        a.extend_from_slice(args);
        a.extend([src.to_str().unwrap(), good.to_str().unwrap()]);
        let out = Command::new("gdal_translate").args(&a).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&good).unwrap();
        let bad = dir.path().join("bad.tif");
        // Every byte of the header and IFDs (the first 600) set to 0xFF and to 0, and
        // every 11th byte after inverted.
        let mut edits: Vec<(usize, Option<u8>)> = Vec::new();
        for i in 0..bytes.len().min(600) {
            edits.push((i, Some(0xFF)));
            edits.push((i, Some(0)));
        }
        edits.extend((600..bytes.len()).step_by(11).map(|i| (i, None)));
        for (i, v) in edits {
            let mut b = bytes.clone();
            b[i] = v.unwrap_or(!b[i]);
            std::fs::write(&bad, &b).unwrap();
            let (ok, used) = peak(|| {
                std::panic::catch_unwind(|| {
                    let a = read_tiff(&bad, &limits).is_ok();
                    let _ = tiff_stats(&bad, &limits);
                    let _ = read_tiff_info(&bad);
                    a
                })
                .unwrap_or(false)
            });
            files += 1;
            decoded += usize::from(ok);
            worst = worst.max(used);
        }
    }
    std::panic::set_hook(prev);
    eprintln!(
        "{files} changed files: {decoded} decoded, the rest refused; {} panics; at most {worst} bytes allocated",
        panics.load(Ordering::Relaxed)
    );
    assert_eq!(
        panics.load(Ordering::Relaxed),
        0,
        "panics while reading changed files"
    );
    // The good files decode in well under a megabyte; a changed header may claim
    // anything but gets no more than the file (a few KB) times the codec's ratio.
    assert!(
        worst < 48 << 20,
        "{worst} bytes allocated for a file of a few KB"
    );
}

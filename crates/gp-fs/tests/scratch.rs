//! Safe names, numbered collisions, interrupted downloads and the scratch folder.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: test code

use std::io::Read;

use gp_fs::*;

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

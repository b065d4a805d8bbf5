//! Map images: real format from the bytes, saving, conversion.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

use std::io::Cursor;

use gp_raster::*;
use image::{ImageFormat, Rgba, RgbaImage};

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(w, h, |x, y| {
        if (x + y) % 2 == 0 {
            Rgba([200, 0, 0, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn format_and_size_come_from_the_bytes() {
    let m = MapImage::from_bytes(png(40, 30), "export.jpg").unwrap();
    assert_eq!((m.kind(), m.width(), m.height()), (ImageKind::Png, 40, 30));
    let e = MapImage::from_bytes(b"<html>error</html>".to_vec(), "x.png").unwrap_err();
    assert!(e.to_string().contains("x.png"), "{e}");
    let e = MapImage::from_bytes(png(4, 4)[..20].to_vec(), "cut.png").unwrap_err();
    assert!(matches!(e, Error::Image { .. }), "{e}");
}

#[test]
fn save_keeps_or_converts() {
    let dir = tempfile::tempdir().unwrap();
    let m = MapImage::from_bytes(png(40, 30), "map").unwrap();
    // No extension: the real one is added, bytes unchanged.
    let p = m.save(dir.path().join("map"), false).unwrap();
    assert_eq!(p.file_name().unwrap(), "map.png");
    assert_eq!(std::fs::read(&p).unwrap(), m.bytes());
    // The seed's road_buffer.jpg: converted to a real JPEG.
    let p = m.save(dir.path().join("road_buffer.jpg"), false).unwrap();
    let back = MapImage::from_bytes(std::fs::read(&p).unwrap(), "road_buffer.jpg").unwrap();
    assert_eq!(
        (back.kind(), back.width(), back.height()),
        (ImageKind::Jpeg, 40, 30)
    );
    let px = back.decode().unwrap().to_rgb8();
    assert!(
        px.get_pixel(1, 0)[0] > 200,
        "transparent pixels are laid on white"
    );
    let gif = m.save(dir.path().join("x.GIF"), false).unwrap();
    assert_eq!(
        MapImage::from_bytes(std::fs::read(gif).unwrap(), "x")
            .unwrap()
            .kind(),
        ImageKind::Gif
    );
    let e = m.save(dir.path().join("x.bmp"), false).unwrap_err();
    assert!(e.to_string().contains(".bmp"), "{e}");
    let e = m.save(dir.path().join("map.png"), false).unwrap_err();
    assert!(matches!(e, Error::File(gp_fs::Error::Exists { .. })), "{e}");
}

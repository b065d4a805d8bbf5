//! GDAL as an independent checker: files this crate writes are read by GDAL with the
//! same values and georeferencing, and files GDAL writes (tiles, strips, every
//! compression, predictors, planar, BigTIFF, pixel-is-point) decode here to exactly
//! what GDAL decodes. Skipped with a message when GDAL is absent, unless
//! `GP_REQUIRE_GDAL=1` (set by `cargo xtask ci`, which installs gdal-bin).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // reason: test code

use std::path::Path;
use std::process::Command;

use gp_raster::*;

mod common;
use common::gdal;

#[track_caller]
fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn gdalinfo(p: &Path) -> serde_json::Value {
    let out = Command::new("gdalinfo")
        .args(["-json", "-stats", "-nomd"])
        .arg(p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(p.with_extension("tif.aux.xml"));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// GDAL's decode of `p`, as band-sequential native-endian bytes.
fn gdal_bytes(p: &Path) -> Vec<u8> {
    let out = p.with_extension("envi");
    run(
        "gdal_translate",
        &[
            "-q",
            "-of",
            "ENVI",
            "-co",
            "INTERLEAVE=BSQ",
            p.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
    );
    std::fs::read(&out).unwrap()
}

fn dem(w: u32, h: u32) -> Raster {
    let data: Vec<f32> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            if (x - 20.0).abs() < 2.0 && (y - 7.0).abs() < 2.0 {
                -9999.0
            } else {
                100.0 + 0.5 * x + 0.25 * y + (x * 0.3).sin() * 3.0
            }
        })
        .collect();
    let mut r = Raster::new(w, h, 1, RasterData::F32(data)).unwrap();
    r.georef = GeoReference::north_up(500_000.0, 4_000_000.0, 30.0, 32611);
    r.nodata = Some(-9999.0);
    r
}

#[test]
fn gdal_reads_what_we_write() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, raster, opts) in [
        ("f32.tif", dem(300, 170), WriteOptions::default()),
        (
            "f32-small-tiles.tif",
            dem(300, 170),
            WriteOptions {
                tile_size: 32,
                ..Default::default()
            },
        ),
        (
            "f32-nopred.tif",
            dem(40, 30),
            WriteOptions {
                predictor: false,
                ..Default::default()
            },
        ),
    ] {
        let p = dir.path().join(name);
        write_geotiff(&p, &raster, &opts).unwrap();
        let j = gdalinfo(&p);
        assert_eq!(
            j["size"],
            serde_json::json!([raster.width, raster.height]),
            "{name}"
        );
        let gt: Vec<f64> = serde_json::from_value(j["geoTransform"].clone()).unwrap();
        assert_eq!(gt, raster.georef.geotransform.unwrap().to_vec(), "{name}");
        assert_eq!(j["stac"]["proj:epsg"], 32611, "{name}");
        let b = &j["bands"][0];
        assert_eq!(b["noDataValue"], -9999.0, "{name}");
        let s = raster.stats(0).unwrap();
        for (k, v) in [
            ("minimum", s.min),
            ("maximum", s.max),
            ("mean", s.mean),
            ("stdDev", s.stddev),
        ] {
            let g = b[k].as_f64().unwrap();
            // gdalinfo -json prints 3 decimals.
            assert!(
                (g - v).abs() <= 5e-4 + 1e-9 * v.abs(),
                "{name} {k}: gdal {g} vs ours {v}"
            );
        }
        // Pixel for pixel: GDAL decodes our predictor and tiles to the same bytes.
        assert_eq!(gdal_bytes(&p), raster.data.as_bytes(), "{name}");
    }
}

#[test]
fn we_read_what_gdal_writes() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.tif");
    write_geotiff(&src, &dem(300, 170), &WriteOptions::default()).unwrap();
    // An RGB byte image and an int16 one, for JPEG and the horizontal predictor.
    let rgb_data: Vec<u8> = (0..3 * 300 * 170u32)
        .map(|i| ((i % 300) ^ (i / 300 % 170)) as u8)
        .collect();
    let mut rgb = Raster::new(300, 170, 3, RasterData::U8(rgb_data)).unwrap();
    rgb.georef = GeoReference::north_up(-120.0, 38.0, 0.001, 4326);
    let src_rgb = dir.path().join("rgb.tif");
    write_geotiff(&src_rgb, &rgb, &WriteOptions::default()).unwrap();
    let src = src.to_str().unwrap();
    let src_rgb = src_rgb.to_str().unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "deflate-pred3-tiled",
            src,
            &[
                "-co",
                "TILED=YES",
                "-co",
                "COMPRESS=DEFLATE",
                "-co",
                "PREDICTOR=3",
            ],
        ),
        (
            "deflate-pred3-strips",
            src,
            &[
                "-co",
                "COMPRESS=DEFLATE",
                "-co",
                "PREDICTOR=3",
                "-co",
                "BLOCKYSIZE=7",
            ],
        ),
        (
            "lzw-pred2-int16",
            src,
            &[
                "-ot",
                "Int16",
                "-co",
                "COMPRESS=LZW",
                "-co",
                "PREDICTOR=2",
                "-co",
                "TILED=YES",
                "-co",
                "BLOCKXSIZE=64",
                "-co",
                "BLOCKYSIZE=32",
            ],
        ),
        (
            "packbits-u16",
            src,
            &["-ot", "UInt16", "-co", "COMPRESS=PACKBITS"],
        ),
        (
            "none-f64-bigtiff",
            src,
            &["-ot", "Float64", "-co", "BIGTIFF=YES", "-co", "TILED=YES"],
        ),
        ("lzw-i32", src, &["-ot", "Int32", "-co", "COMPRESS=LZW"]),
        (
            "rgb-pixel-interleaved",
            src_rgb,
            &[
                "-co",
                "COMPRESS=DEFLATE",
                "-co",
                "INTERLEAVE=PIXEL",
                "-co",
                "TILED=YES",
            ],
        ),
        (
            "rgb-band-interleaved",
            src_rgb,
            &["-co", "COMPRESS=LZW", "-co", "INTERLEAVE=BAND"],
        ),
        (
            "rgb-jpeg",
            src_rgb,
            &[
                "-co",
                "COMPRESS=JPEG",
                "-co",
                "PHOTOMETRIC=RGB",
                "-co",
                "TILED=YES",
            ],
        ),
        (
            "pixel-is-point",
            src,
            &["-mo", "AREA_OR_POINT=Point", "-co", "COMPRESS=DEFLATE"],
        ),
    ];
    for (name, from, args) in cases {
        let p = dir.path().join(format!("{name}.tif"));
        let mut a: Vec<&str> = vec!["-q"];
        a.extend_from_slice(args);
        a.push(from);
        a.push(p.to_str().unwrap());
        run("gdal_translate", &a);
        let ours =
            read_tiff(&p, &DecodeLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let theirs = gdal_bytes(&p);
        if name.contains("jpeg") {
            // Two JPEG decoders may round differently by a level or two.
            let diff = ours
                .data
                .as_bytes()
                .iter()
                .zip(&theirs)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert_eq!(ours.data.as_bytes().len(), theirs.len(), "{name}");
            assert!(diff <= 3, "{name}: max difference {diff}");
        } else {
            let first = ours
                .data
                .as_bytes()
                .iter()
                .zip(&theirs)
                .position(|(a, b)| a != b);
            assert!(
                ours.data.as_bytes().len() == theirs.len() && first.is_none(),
                "{name}: pixels differ from GDAL's decode (lengths {} and {}, first difference at byte {first:?})",
                ours.data.as_bytes().len(),
                theirs.len()
            );
        }
        let j = gdalinfo(&p);
        let gt: Vec<f64> = serde_json::from_value(j["geoTransform"].clone()).unwrap();
        assert_eq!(ours.georef.geotransform.unwrap().to_vec(), gt, "{name}");
        assert_eq!(
            ours.georef.epsg,
            j["stac"]["proj:epsg"].as_u64().map(|e| e as u32),
            "{name}"
        );
        if *name == "pixel-is-point" {
            assert_eq!(ours.georef.raster_type, RasterType::Point);
        }
    }
}

#[test]
fn nodata_nan_and_infinity_are_kept_and_float_nodata_is_compared_as_float32() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // (GDAL's -a_nodata text, what gp's JSON says, as GDAL's JSON says it)
    for (nodata, json) in [
        ("nan", serde_json::json!("NaN")),
        ("-inf", serde_json::json!("-Infinity")),
        ("inf", serde_json::json!("Infinity")),
        ("-9999", serde_json::json!(-9999.0)),
    ] {
        let p = dir.path().join(format!("nd{nodata}.tif"));
        run(
            "gdal_create",
            &[
                "-of",
                "GTiff",
                "-ot",
                "Float32",
                "-outsize",
                "4",
                "4",
                "-burn",
                "1",
                "-a_nodata",
                nodata,
                p.to_str().unwrap(),
            ],
        );
        let ours = RasterInfo::read(&p, false, &Default::default()).unwrap();
        let v = serde_json::to_value(&ours).unwrap();
        assert_eq!(v["nodata"], json, "{nodata}: {v}");
        let theirs = gdalinfo(&p);
        assert_eq!(
            theirs["bands"][0]["noDataValue"], json,
            "GDAL agrees for {nodata}"
        );
        assert!(
            ours.to_string()
                .contains(&format!("NoData: {}", nodata.trim_start_matches('+'))),
            "{ours}"
        );
    }
    // A float32 band whose GDAL_NODATA is written in decimal (`0.1`, not the float32's
    // 0.10000000149011612): cells holding it are not data, here as in GDAL.
    let p = dir.path().join("tenth.tif");
    let mut r = Raster::new(4, 4, 1, RasterData::F32(vec![0.1; 16])).unwrap();
    if let RasterData::F32(v) = &mut r.data {
        v[0] = 2.5;
    }
    r.nodata = Some(0.1);
    write_geotiff(&p, &r, &WriteOptions::default()).unwrap();
    assert_eq!(read_tiff_info(&p).unwrap().nodata, Some(0.1));
    let back = read_tiff(&p, &DecodeLimits::default()).unwrap();
    let stats = back.stats(0).unwrap();
    assert_eq!((stats.valid_count, stats.min, stats.max), (1, 2.5, 2.5));
    let out = Command::new("gdalinfo")
        .args(["-stats", "-json", p.to_str().unwrap()])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let band = &v["bands"][0];
    assert_eq!(
        band["noDataValue"].as_f64().map(|x| x as f32),
        Some(0.1f32),
        "{band}"
    );
    assert_eq!(band["minimum"], 2.5, "GDAL too sees one valid cell: {band}");
}

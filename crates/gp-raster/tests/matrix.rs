//! The GDAL matrix: every sample type × compression × predictor × strips/tiles (block
//! sizes that do and do not divide the image) × pixel/band interleave × photometric
//! (grey, RGB, YCbCr JPEG, palette) × BigTIFF × byte order, written by `gdal_translate`
//! and compared with GDAL's own reading: pixel by pixel (JPEG within a few levels),
//! georeferencing, nodata and the colour table. A combination either decodes to what
//! GDAL decodes or is refused as `Error::Unsupported`, and only the combinations the
//! README lists as unsupported may be refused.
//!
//! Skipped with a message when GDAL is absent, unless `GP_REQUIRE_GDAL=1` (set by
//! `cargo xtask ci`, which installs gdal-bin).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // reason: test code

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use gp_raster::*;

mod common;
use common::gdal;

const W: u32 = 80;
const H: u32 = 48;

fn run(cmd: &str, args: &[String]) -> Result<Vec<u8>, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Pseudo-random bits, so every byte of every sample is exercised.
fn noise(n: usize, seed: u64) -> impl Iterator<Item = u64> {
    let mut s = seed | 1;
    (0..n).map(move |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    })
}

/// A 3-band source of one sample type, written by gp (GDAL re-encodes it).
fn source(dir: &Path, st: SampleType) -> PathBuf {
    let n = (W * H * 3) as usize;
    let r = noise(n, 0x9e37_79b9 + st.size() as u64);
    let data = match st {
        SampleType::U8 => RasterData::U8(r.map(|x| x as u8).collect()),
        SampleType::I8 => RasterData::I8(r.map(|x| x as i8).collect()),
        SampleType::U16 => RasterData::U16(r.map(|x| x as u16).collect()),
        SampleType::I16 => RasterData::I16(r.map(|x| x as i16).collect()),
        SampleType::U32 => RasterData::U32(r.map(|x| x as u32).collect()),
        SampleType::I32 => RasterData::I32(r.map(|x| x as i32).collect()),
        SampleType::U64 => RasterData::U64(r.collect()),
        SampleType::I64 => RasterData::I64(r.map(|x| x as i64).collect()),
        SampleType::F32 => RasterData::F32(r.map(|x| (x as i32) as f32 / 1024.0).collect()),
        SampleType::F64 => RasterData::F64(r.map(|x| (x as i64) as f64 / 1e6).collect()),
        other => panic!("no source for {other:?}"),
    };
    let mut raster = Raster::new(W, H, 3, data).unwrap();
    raster.georef = GeoReference::north_up(500_000.0, 4_000_000.0, 30.0, 32611);
    let p = dir.join(format!("src-{st:?}.tif"));
    write_geotiff(&p, &raster, &WriteOptions::default()).unwrap();
    p
}

/// A smooth byte image for JPEG (decoders agree within a level or two on it).
fn smooth(dir: &Path) -> PathBuf {
    let data = (0..W * H * 3)
        .map(|i| {
            let (b, p) = (i / (W * H), i % (W * H));
            let (x, y) = (p % W, p / W);
            (x * 2 + y * 3 + b * 40) as u8
        })
        .collect();
    let mut raster = Raster::new(W, H, 3, RasterData::U8(data)).unwrap();
    raster.georef = GeoReference::north_up(-120.0, 38.0, 0.001, 4326);
    let p = dir.join("smooth.tif");
    write_geotiff(&p, &raster, &WriteOptions::default()).unwrap();
    p
}

/// A one-band byte image with a colour table, through a VRT.
fn paletted(dir: &Path) -> PathBuf {
    let src = smooth(dir);
    let entries: String = (0..256)
        .map(|i| {
            format!(
                "<Entry c1=\"{}\" c2=\"{}\" c3=\"{}\" c4=\"255\"/>",
                i,
                255 - i,
                (i * 7) % 256
            )
        })
        .collect();
    let vrt = format!(
        r#"<VRTDataset rasterXSize="{W}" rasterYSize="{H}">
  <SRS>EPSG:4326</SRS>
  <GeoTransform>-120, 0.001, 0, 38, 0, -0.001</GeoTransform>
  <VRTRasterBand dataType="Byte" band="1">
    <ColorInterp>Palette</ColorInterp>
    <ColorTable>{entries}</ColorTable>
    <SimpleSource><SourceFilename relativeToVRT="0">{}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>
  </VRTRasterBand>
</VRTDataset>"#,
        src.display()
    );
    let p = dir.join("palette.vrt");
    std::fs::write(&p, vrt).unwrap();
    p
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    src: PathBuf,
    args: Vec<String>,
    /// Largest difference allowed per byte (JPEG).
    tolerance: u8,
    /// Refusing it as unsupported is allowed (the README lists it).
    may_refuse: bool,
}

fn gdal_type(st: SampleType) -> &'static [&'static str] {
    match st {
        SampleType::U8 => &["-ot", "Byte"],
        SampleType::I8 => &["-ot", "Byte", "-co", "PIXELTYPE=SIGNEDBYTE"],
        SampleType::U16 => &["-ot", "UInt16"],
        SampleType::I16 => &["-ot", "Int16"],
        SampleType::U32 => &["-ot", "UInt32"],
        SampleType::I32 => &["-ot", "Int32"],
        SampleType::U64 => &["-ot", "UInt64"],
        SampleType::I64 => &["-ot", "Int64"],
        SampleType::F32 => &["-ot", "Float32"],
        SampleType::F64 => &["-ot", "Float64"],
        other => panic!("no GDAL type for {other:?}"),
    }
}

/// Strips of `a` rows (dividing the 48-row image) and of `b` (not), tiles of 16 (dividing
/// 80 x 48) and of 32 (not). JPEG strips must be a multiple of 8 rows (16 for YCbCr).
fn layouts(a: u32, b: u32) -> Vec<(String, Vec<String>)> {
    let strips = |n: u32| {
        (
            format!("strips{n}"),
            vec!["-co".to_string(), format!("BLOCKYSIZE={n}")],
        )
    };
    let tiles = |n: u32| {
        let mut v = vec!["-co".to_string(), "TILED=YES".to_string()];
        v.extend([
            "-co".into(),
            format!("BLOCKXSIZE={n}"),
            "-co".into(),
            format!("BLOCKYSIZE={n}"),
        ]);
        (format!("tiles{n}"), v)
    };
    vec![strips(a), strips(b), tiles(16), tiles(32)]
}

fn cases(dir: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let mut variant = 0usize;
    let mut push = |name: String, src: &Path, mut args: Vec<String>, tolerance, may_refuse| {
        // BigTIFF and byte order rotate over the cases, so each meets every codec.
        let (big, endian) = [
            ("NO", "LITTLE"),
            ("YES", "BIG"),
            ("NO", "BIG"),
            ("YES", "LITTLE"),
        ][variant % 4];
        variant += 1;
        args.extend(["-co".into(), format!("BIGTIFF={big}")]);
        args.extend(["-co".into(), format!("ENDIANNESS={endian}")]);
        out.push(Case {
            name: format!("{name}-bigtiff{big}-{endian}"),
            src: src.to_path_buf(),
            args,
            tolerance,
            may_refuse,
        });
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    for st in [
        SampleType::U8,
        SampleType::I8,
        SampleType::U16,
        SampleType::I16,
        SampleType::U32,
        SampleType::I32,
        SampleType::U64,
        SampleType::I64,
        SampleType::F32,
        SampleType::F64,
    ] {
        let src = source(dir, st);
        let pred = if st.is_float() { "3" } else { "2" };
        let nodata = match st {
            SampleType::F32 | SampleType::F64 => ["nan", "-inf", "0.1", "-9999"][st.size() % 4],
            _ => "7",
        };
        for (codec, predictor) in [
            ("NONE", "1"),
            ("PACKBITS", "1"),
            ("LZW", "1"),
            ("LZW", pred),
            ("DEFLATE", "1"),
            ("DEFLATE", pred),
            ("ZSTD", "1"),
            ("ZSTD", pred),
        ] {
            for (layout, largs) in layouts(8, 7) {
                for interleave in ["PIXEL", "BAND"] {
                    let mut args = s(gdal_type(st));
                    args.extend(s(&["-a_nodata", nodata, "-co"]));
                    args.push(format!("COMPRESS={codec}"));
                    args.extend(s(&["-co", &format!("PREDICTOR={predictor}")]));
                    args.extend(s(&["-co", &format!("INTERLEAVE={interleave}")]));
                    args.extend(largs.iter().cloned());
                    push(
                        format!("{st:?}-{codec}-pred{predictor}-{layout}-{interleave}"),
                        &src,
                        args,
                        0,
                        false,
                    );
                }
            }
        }
    }
    let smooth = smooth(dir);
    for (layout, largs) in layouts(16, 32) {
        for (photometric, bands, interleaves) in [
            ("MINISBLACK", &["-b", "1"][..], &["PIXEL"][..]),
            ("RGB", &[][..], &["PIXEL", "BAND"][..]),
            ("YCBCR", &[][..], &["PIXEL"][..]),
        ] {
            for interleave in interleaves {
                let mut args = s(bands);
                args.extend(s(&["-co", "COMPRESS=JPEG", "-co"]));
                args.push(format!("PHOTOMETRIC={photometric}"));
                args.extend(s(&["-co", &format!("INTERLEAVE={interleave}")]));
                args.extend(largs.iter().cloned());
                push(
                    format!("jpeg-{photometric}-{layout}-{interleave}"),
                    &smooth,
                    args,
                    4,
                    false,
                );
            }
        }
    }
    let palette = paletted(dir);
    for (layout, largs) in layouts(8, 7) {
        for codec in ["NONE", "LZW", "DEFLATE", "PACKBITS"] {
            let mut args = s(&["-co"]);
            args.push(format!("COMPRESS={codec}"));
            args.extend(largs.iter().cloned());
            push(
                format!("palette-{codec}-{layout}"),
                &palette,
                args,
                0,
                false,
            );
        }
    }
    // Sample sizes that are not whole bytes: refused, and listed in the README.
    for (nbits, max) in [("1", "1"), ("4", "15"), ("12", "4095")] {
        let ot = if nbits == "12" { "UInt16" } else { "Byte" };
        let mut args = s(&["-ot", ot, "-scale", "0", "255", "0", max, "-co"]);
        args.push(format!("NBITS={nbits}"));
        push(format!("nbits{nbits}"), &smooth, args, 0, true);
    }
    out
}

/// GDAL's decode: band-sequential native-endian bytes (ENVI; 64-bit integers, which
/// ENVI cannot hold, through GDAL's plainest TIFF).
fn gdal_bytes(p: &Path, st: SampleType, bands: u32) -> Result<Vec<u8>, String> {
    if matches!(st, SampleType::I64 | SampleType::U64) {
        // GDAL re-encodes it uncompressed, one little-endian strip per band; the raw
        // strips are its decode.
        let raw = p.with_extension("raw.tif");
        run(
            "gdal_translate",
            &[
                "-q",
                "-co",
                "COMPRESS=NONE",
                "-co",
                "INTERLEAVE=BAND",
                "-co",
                "ENDIANNESS=LITTLE",
                "-co",
                "BIGTIFF=NO",
                "-co",
                &format!("BLOCKYSIZE={H}"),
            ]
            .iter()
            .map(|s| s.to_string())
            .chain([p.display().to_string(), raw.display().to_string()])
            .collect::<Vec<_>>(),
        )?;
        let bytes = std::fs::read(&raw).map_err(|e| e.to_string())?;
        let mut d =
            tiff::decoder::Decoder::new(std::io::Cursor::new(&bytes)).map_err(|e| e.to_string())?;
        let offsets = d
            .get_tag_u64_vec(tiff::tags::Tag::StripOffsets)
            .map_err(|e| e.to_string())?;
        let len = (W * H * 8) as usize;
        let mut out = Vec::new();
        for (b, o) in offsets.iter().enumerate().take(bands as usize) {
            let o = *o as usize;
            let strip = bytes
                .get(o..o + len)
                .ok_or(format!("strip {b} past the end"))?;
            // Little-endian on disk, native here.
            for v in strip.chunks_exact(8) {
                out.extend(u64::from_le_bytes(v.try_into().unwrap()).to_ne_bytes());
            }
        }
        return Ok(out);
    }
    let envi = p.with_extension("envi");
    run(
        "gdal_translate",
        &[
            "-q".into(),
            "-of".into(),
            "ENVI".into(),
            "-co".into(),
            "INTERLEAVE=BSQ".into(),
            p.display().to_string(),
            envi.display().to_string(),
        ],
    )?;
    std::fs::read(&envi).map_err(|e| e.to_string())
}

fn same_nodata(a: Option<f64>, b: &serde_json::Value) -> bool {
    match (a, b) {
        (None, serde_json::Value::Null) => true,
        (Some(x), serde_json::Value::String(s)) => {
            (s == "NaN" && x.is_nan())
                || (s == "Infinity" && x == f64::INFINITY)
                || (s == "-Infinity" && x == f64::NEG_INFINITY)
        }
        (Some(x), v) => v.as_f64() == Some(x),
        _ => false,
    }
}

/// Checks one case; `Err` says how it failed.
fn check(case: &Case, dir: &Path) -> Result<&'static str, String> {
    let p = dir.join(format!("{}.tif", case.name));
    let mut args = vec!["-q".to_string()];
    args.extend(case.args.iter().cloned());
    args.push(case.src.display().to_string());
    args.push(p.display().to_string());
    run("gdal_translate", &args)?;
    let ours = match read_tiff(&p, &DecodeLimits::default()) {
        Ok(r) => r,
        Err(Error::Unsupported { message, .. }) if case.may_refuse => {
            return if message.is_empty() {
                Err("refused without saying why".into())
            } else {
                Ok("refused")
            };
        }
        Err(e) => return Err(format!("gp refused what GDAL reads: {e}")),
    };
    let info = read_tiff_info(&p).map_err(|e| e.to_string())?;
    let theirs = gdal_bytes(&p, ours.sample_type(), ours.bands)?;
    let mine = ours.data.as_bytes();
    if mine.len() != theirs.len() {
        return Err(format!(
            "{} bytes decoded, GDAL {} ({}x{}x{} {:?})",
            mine.len(),
            theirs.len(),
            ours.width,
            ours.height,
            ours.bands,
            ours.sample_type()
        ));
    }
    let worst = mine
        .iter()
        .zip(&theirs)
        .enumerate()
        .map(|(i, (a, b))| (a.abs_diff(*b), i))
        .max()
        .unwrap_or((0, 0));
    if worst.0 > case.tolerance {
        return Err(format!(
            "pixels differ from GDAL's decode: byte {} of {} differs by {}",
            worst.1,
            mine.len(),
            worst.0
        ));
    }
    let j: serde_json::Value = serde_json::from_slice(&run(
        "gdalinfo",
        &["-json".into(), "-nomd".into(), p.display().to_string()],
    )?)
    .map_err(|e| e.to_string())?;
    let gt: Vec<f64> = serde_json::from_value(j["geoTransform"].clone()).unwrap_or_default();
    if ours.georef.geotransform.map(|g| g.to_vec()) != Some(gt.clone()) {
        return Err(format!(
            "geotransform {:?}, GDAL {gt:?}",
            ours.georef.geotransform
        ));
    }
    let epsg = j["stac"]["proj:epsg"].as_u64().map(|e| e as u32);
    if ours.georef.epsg != epsg {
        return Err(format!("EPSG {:?}, GDAL {epsg:?}", ours.georef.epsg));
    }
    let band = &j["bands"][0];
    if !same_nodata(info.nodata, &band["noDataValue"]) {
        return Err(format!(
            "nodata {:?}, GDAL {}",
            info.nodata, band["noDataValue"]
        ));
    }
    if let Some(entries) = band["colorTable"]["entries"].as_array() {
        let table = info.color_table.as_ref().ok_or("no colour table")?;
        let want: Vec<[u8; 4]> = serde_json::from_value(serde_json::Value::Array(entries.clone()))
            .map_err(|e| e.to_string())?;
        if table.rgba8() != want {
            return Err("colour table differs from GDAL's".into());
        }
    } else if info.color_table.is_some() {
        return Err("a colour table GDAL does not see".into());
    }
    Ok("same as GDAL")
}

#[test]
fn every_combination_gdal_writes_reads_as_gdal_reads_it() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let refused = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    match check(case, dir.path()) {
                        Ok("refused") => {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(e) => failures.lock().unwrap().push(format!("{}: {e}", case.name)),
                    }
                    for ext in [
                        "tif",
                        "envi",
                        "hdr",
                        "envi.aux.xml",
                        "tif.aux.xml",
                        "raw.tif",
                    ] {
                        let _ =
                            std::fs::remove_file(dir.path().join(format!("{}.{ext}", case.name)));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "{} combinations: {} as GDAL reads them, {} refused as unsupported, {} failed",
        cases.len(),
        cases.len() - failures.len() - refused.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} combinations differ from GDAL:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

//! Round trips: rasters written by this crate and by the `tiff` crate's encoder
//! (strips, every sample type and compression, BigTIFF) decode to the same values.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

use gp_raster::*;
use tiff::encoder::{TiffEncoder, colortype};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Values that exercise signs, extremes and structure.
fn pattern(i: usize) -> f64 {
    ((i * 7919) % 1000) as f64 - 300.0 + (i as f64 * 0.37).sin()
}

fn raster_of(t: SampleType, w: u32, h: u32, bands: u32) -> Raster {
    let n = (w * h * bands) as usize;
    let data = match t {
        SampleType::U8 => RasterData::U8((0..n).map(|i| (i * 31 % 256) as u8).collect()),
        SampleType::U16 => RasterData::U16((0..n).map(|i| (i * 7919 % 65536) as u16).collect()),
        SampleType::U32 => RasterData::U32(
            (0..n)
                .map(|i| (i as u32).wrapping_mul(2_654_435_761))
                .collect(),
        ),
        SampleType::U64 => RasterData::U64(
            (0..n)
                .map(|i| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .collect(),
        ),
        SampleType::I8 => RasterData::I8((0..n).map(|i| (i as i64 % 256 - 128) as i8).collect()),
        SampleType::I16 => RasterData::I16(
            (0..n)
                .map(|i| (i as i64 * 131 % 65536 - 32768) as i16)
                .collect(),
        ),
        SampleType::I32 => RasterData::I32(
            (0..n)
                .map(|i| (i as i32).wrapping_mul(-1_640_531_535))
                .collect(),
        ),
        SampleType::I64 => RasterData::I64(
            (0..n)
                .map(|i| (i as i64).wrapping_mul(-7_046_029_254_386_353_131))
                .collect(),
        ),
        SampleType::F32 => RasterData::F32((0..n).map(|i| pattern(i) as f32).collect()),
        SampleType::F64 => RasterData::F64((0..n).map(pattern).collect()),
        _ => unreachable!(),
    };
    Raster::new(w, h, bands, data).unwrap()
}

const TYPES: [SampleType; 10] = [
    SampleType::U8,
    SampleType::U16,
    SampleType::U32,
    SampleType::U64,
    SampleType::I8,
    SampleType::I16,
    SampleType::I32,
    SampleType::I64,
    SampleType::F32,
    SampleType::F64,
];

#[test]
fn geotiff_writer_round_trips_every_type() {
    let dir = tmp();
    for t in TYPES {
        for (bands, predictor, tile) in [
            (1, true, 16),
            (3, true, 32),
            (1, false, 256),
            (2, false, 16),
        ] {
            let mut r = raster_of(t, 37, 21, bands);
            r.georef = GeoReference::north_up(500_000.0, 4_000_000.0, 30.0, 32611);
            r.nodata = Some(-99.0);
            let p = dir
                .path()
                .join(format!("{t:?}-{bands}-{predictor}-{tile}.tif"));
            let opts = WriteOptions {
                tile_size: tile,
                predictor,
                ..Default::default()
            };
            write_geotiff(&p, &r, &opts).unwrap();
            let back =
                read_tiff(&p, &DecodeLimits::default()).unwrap_or_else(|e| panic!("{t:?}: {e}"));
            assert_eq!(
                back, r,
                "{t:?} bands={bands} predictor={predictor} tile={tile}"
            );
            let info = read_tiff_info(&p).unwrap();
            assert_eq!(info.layout, Layout::Tiles);
            assert_eq!(info.compression, "deflate");
            assert_eq!(info.planar, bands > 1);
        }
    }
}

#[test]
fn pixel_is_point_and_geographic_round_trip() {
    let dir = tmp();
    let mut r = raster_of(SampleType::F32, 10, 10, 1);
    r.georef = GeoReference::north_up(-120.5, 38.25, 0.001, 4326);
    r.georef.raster_type = RasterType::Point;
    r.metadata = Some("<GDALMetadata><Item name=\"UNITS\">m</Item></GDALMetadata>".into());
    r.nodata = Some(f64::NAN);
    let p = dir.path().join("point.tif");
    write_geotiff(&p, &r, &WriteOptions::default()).unwrap();
    let back = read_tiff(&p, &DecodeLimits::default()).unwrap();
    assert_eq!(back.georef, r.georef);
    assert_eq!(back.georef.model_type, Some(ModelType::Geographic));
    assert_eq!(back.metadata, r.metadata);
    assert!(back.nodata.unwrap().is_nan());
}

macro_rules! strip_case {
    ($dir:expr, $name:literal, $ct:ty, $data:expr, $compression:expr, $big:expr) => {{
        let p = $dir.path().join($name);
        let f = std::fs::File::create(&p).unwrap();
        let data = $data;
        if $big {
            let mut enc = TiffEncoder::new_big(f)
                .unwrap()
                .with_compression($compression);
            enc.write_image::<$ct>(13, 9, &data).unwrap();
        } else {
            let mut enc = TiffEncoder::new(f).unwrap().with_compression($compression);
            enc.write_image::<$ct>(13, 9, &data).unwrap();
        }
        (p, data)
    }};
}

#[test]
fn strips_with_every_compression_and_bigtiff() {
    use tiff::encoder::Compression as C;
    let dir = tmp();
    let n = 13 * 9;
    for (ci, compression) in [
        C::Uncompressed,
        C::Lzw,
        C::Deflate(tiff::encoder::DeflateLevel::Balanced),
        C::Packbits,
    ]
    .into_iter()
    .enumerate()
    {
        for big in [false, true] {
            let (p, data) = strip_case!(
                dir,
                "u16.tif",
                colortype::Gray16,
                (0..n).map(|i| (i * 977) as u16).collect::<Vec<u16>>(),
                compression,
                big
            );
            let r = read_tiff(&p, &DecodeLimits::default()).unwrap();
            assert_eq!(r.data, RasterData::U16(data), "compression {ci} big {big}");
            assert_eq!(read_tiff_info(&p).unwrap().bigtiff, big);
            let (p, data) = strip_case!(
                dir,
                "f64.tif",
                colortype::Gray64Float,
                (0..n).map(pattern).collect::<Vec<f64>>(),
                compression,
                big
            );
            assert_eq!(
                read_tiff(&p, &DecodeLimits::default()).unwrap().data,
                RasterData::F64(data)
            );
            let (p, data) = strip_case!(
                dir,
                "i32.tif",
                colortype::GrayI32,
                (0..n).map(|i| i as i32 * -1000).collect::<Vec<i32>>(),
                compression,
                big
            );
            assert_eq!(
                read_tiff(&p, &DecodeLimits::default()).unwrap().data,
                RasterData::I32(data)
            );
            // Three interleaved bands become three band-sequential planes.
            let rgb: Vec<u8> = (0..n * 3).map(|i| (i % 251) as u8).collect();
            let (p, _) = strip_case!(
                dir,
                "rgb.tif",
                colortype::RGB8,
                rgb.clone(),
                compression,
                big
            );
            let r = read_tiff(&p, &DecodeLimits::default()).unwrap();
            assert_eq!(r.bands, 3);
            for b in 0..3u32 {
                for i in [0usize, 5, n - 1] {
                    let (col, row) = ((i % 13) as u32, (i / 13) as u32);
                    assert_eq!(
                        r.value(b, col, row),
                        Some(f64::from(rgb[i * 3 + b as usize]))
                    );
                }
            }
        }
    }
}

#[test]
fn stats_ignore_nodata_and_nan() {
    let mut r = Raster::new(4, 1, 1, RasterData::F32(vec![1.0, 3.0, -9999.0, f32::NAN])).unwrap();
    r.nodata = Some(-9999.0);
    let s = r.stats(0).unwrap();
    assert_eq!((s.min, s.max, s.mean, s.valid_count), (1.0, 3.0, 2.0, 2));
    assert!((s.stddev - 1.0).abs() < 1e-12);
    let empty = Raster::new(1, 1, 1, RasterData::F32(vec![f32::NAN])).unwrap();
    assert_eq!(empty.stats(0), None);
    assert_eq!(r.stats(1), None);
}

#[test]
fn bad_buffers_and_options_are_errors() {
    assert!(Raster::new(2, 2, 1, RasterData::U8(vec![0; 3])).is_err());
    let r = raster_of(SampleType::U8, 4, 4, 1);
    let dir = tmp();
    let p = dir.path().join("x.tif");
    let e = write_geotiff(
        &p,
        &r,
        &WriteOptions {
            tile_size: 10,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("multiple of 16"), "{e}");
    write_geotiff(&p, &r, &WriteOptions::default()).unwrap();
    let e = write_geotiff(
        &p,
        &r,
        &WriteOptions {
            overwrite: false,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, Error::File(gp_fs::Error::Exists { .. })), "{e}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left behind"
    );
}

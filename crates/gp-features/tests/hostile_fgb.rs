//! Hostile FlatGeobuf files: sizes a file cannot back, an index that cannot exist,
//! features whose parts or properties point past their buffers, every single-byte
//! change of a file gp wrote, and changes of one GDAL wrote. Each is read with a clear
//! error (or read, when the change is harmless), in bounded memory, and no panic
//! happens anywhere (a panic hook counts them; this binary has one test so the hook
//! sees only it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use flatbuffers::FlatBufferBuilder;
use flatgeobuf::{
    Column, ColumnArgs, ColumnType, Feature, FeatureArgs, Geometry, GeometryArgs, GeometryType,
    Header, HeaderArgs,
};
use gp_model::{AttrValue, Attributes, Feature as EsriFeature, FeatureSet, Field, FieldType};

const MAGIC: [u8; 8] = [b'f', b'g', b'b', 3, b'f', b'g', b'b', 0];

/// A FlatGeobuf file: a header with `count` features and index node size `node`, one
/// Int column `n`, then the given size-prefixed features.
fn file(count: u64, node: u16, features: &[Vec<u8>]) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let name = fbb.create_string("n");
    let col = Column::create(
        &mut fbb,
        &ColumnArgs {
            name: Some(name),
            type_: ColumnType::Int,
            ..Default::default()
        },
    );
    let columns = fbb.create_vector(&[col]);
    let header = Header::create(
        &mut fbb,
        &HeaderArgs {
            geometry_type: GeometryType::Polygon,
            columns: Some(columns),
            features_count: count,
            index_node_size: node,
            ..Default::default()
        },
    );
    fbb.finish_size_prefixed(header, None);
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(fbb.finished_data());
    for f in features {
        out.extend_from_slice(f);
    }
    out
}

/// One size-prefixed polygon feature with `xy`, part `ends` and raw `properties`.
fn feature(xy: &[f64], ends: &[u32], properties: &[u8]) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let xy = fbb.create_vector(xy);
    let ends = fbb.create_vector(ends);
    let geometry = Geometry::create(
        &mut fbb,
        &GeometryArgs {
            xy: Some(xy),
            ends: Some(ends),
            type_: GeometryType::Polygon,
            ..Default::default()
        },
    );
    let properties = fbb.create_vector(properties);
    let f = Feature::create(
        &mut fbb,
        &FeatureArgs {
            geometry: Some(geometry),
            properties: Some(properties),
            columns: None,
        },
    );
    fbb.finish_size_prefixed(f, None);
    fbb.finished_data().to_vec()
}

const SQUARE: [f64; 10] = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
const N_IS_7: [u8; 6] = [0, 0, 7, 0, 0, 0];

#[track_caller]
fn check(dir: &Path, name: &str, bytes: &[u8], want: Result<usize, &str>) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let t = Instant::now();
    let got = gp_features::load(&path);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "{name}: {:?}",
        t.elapsed()
    );
    match (got, want) {
        (Ok(fs), Ok(n)) => assert_eq!(fs.features.len(), n, "{name}"),
        (Err(e), Err(needle)) => {
            let m = e.to_string();
            assert!(m.contains(needle), "{name}: `{m}` does not say `{needle}`");
            assert!(
                !m.contains("reader failed"),
                "{name}: a panic was caught: {m}"
            );
        }
        (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
    }
}

fn real_file(dir: &Path) -> Vec<u8> {
    let fields = vec![
        Field::new("OBJECTID", FieldType::Oid),
        Field::new("Name", FieldType::String),
        Field::new("Value", FieldType::Double),
    ];
    let features = (0..20)
        .map(|i| {
            let mut a = Attributes::default();
            a.insert("OBJECTID".into(), AttrValue::Int(i + 1));
            a.insert("Name".into(), AttrValue::String(format!("f{i}")));
            a.insert("Value".into(), AttrValue::Float(i as f64 / 3.0));
            let x = i as f64;
            EsriFeature {
                attributes: a,
                geometry: Some(gp_model::Geometry::Polygon(gp_model::Polygon {
                    rings: vec![vec![
                        gp_model::Coord::xy(x, 0.0),
                        gp_model::Coord::xy(x, 1.0),
                        gp_model::Coord::xy(x + 1.0, 1.0),
                        gp_model::Coord::xy(x, 0.0),
                    ]],
                    ..Default::default()
                })),
            }
        })
        .collect();
    let fs = FeatureSet {
        geometry_type: Some(gp_model::GeometryType::Polygon),
        spatial_reference: Some(gp_model::SpatialReference::from_wkid(4326)),
        fields: Some(fields),
        features,
        ..Default::default()
    };
    let path = dir.join("real.fgb");
    gp_features::save(&fs, &path).unwrap();
    std::fs::read(&path).unwrap()
}

#[test]
fn hostile_flatgeobuf_files_are_refused_in_bounded_memory_without_a_panic() {
    common::count_panics();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The good file the others are made from.
    let good = file(1, 0, &[feature(&SQUARE, &[5], &N_IS_7)]);
    check(d, "good.fgb", &good, Ok(1));
    // A header size of almost 4 GiB in a file of a few hundred bytes.
    let mut big_header = good.clone();
    big_header[8..12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    check(
        d,
        "big-header.fgb",
        &big_header,
        Err("the header claims 4294967280 bytes"),
    );
    // A feature claiming 2 GiB.
    let mut big_feature = file(1, 0, &[]);
    big_feature.extend_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
    big_feature.extend_from_slice(&[0; 16]);
    check(
        d,
        "big-feature.fgb",
        &big_feature,
        Err("claims 2147483647 bytes"),
    );
    // An index that cannot be: node size 1 (the crate asserts), or 10^15 features.
    check(d, "node-1.fgb", &file(3, 1, &[]), Err("node size is 1"));
    check(
        d,
        "huge-count.fgb",
        &file(1_000_000_000_000_000, 16, &[]),
        Err("more than the file's"),
    );
    // More features declared than present.
    check(
        d,
        "short.fgb",
        &file(2, 0, &[feature(&SQUARE, &[5], &N_IS_7)]),
        Err("declares 2 features; the file holds 1"),
    );
    // Parts and properties that point past their buffers.
    check(
        d,
        "ends.fgb",
        &file(1, 0, &[feature(&SQUARE, &[9], &N_IS_7)]),
        Err("part end 9 outside the 5 coordinates"),
    );
    check(
        d,
        "ends-back.fgb",
        &file(1, 0, &[feature(&SQUARE, &[4, 2], &N_IS_7)]),
        Err("before the part end 4"),
    );
    check(
        d,
        "odd.fgb",
        &file(1, 0, &[feature(&SQUARE[..9], &[4], &N_IS_7)]),
        Err("an odd number"),
    );
    check(
        d,
        "props.fgb",
        &file(1, 0, &[feature(&SQUARE, &[5], &N_IS_7[..4])]),
        Err("passes the end of the properties"),
    );
    check(
        d,
        "column.fgb",
        &file(1, 0, &[feature(&SQUARE, &[5], &[3, 0, 1, 0, 0, 0])]),
        Err("column 3; the header has 1 columns"),
    );
    // A file GDAL wrote (the Natural Earth countries, with GDAL's spatial index): read
    // whole, and its single-byte changes over the header, the index and the first
    // features read or refused.
    if common::ogr2ogr() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../gp-server/data/naturalearth_lowres/naturalearth_lowres.shp");
        let gdal = d.join("gdal.fgb");
        let out = std::process::Command::new("ogr2ogr")
            .args([
                "-f",
                "FlatGeobuf",
                "-nlt",
                "PROMOTE_TO_MULTI",
                gdal.to_str().unwrap(),
                src.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(gp_features::load(&gdal).unwrap().features.len(), 177);
        let bytes = std::fs::read(&gdal).unwrap();
        let path = d.join("gdal-mutant.fgb");
        // Every byte of the header (where a changed column type once made the crate
        // panic), then every fourth byte of the index and the first features.
        let header_end = 12 + u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let end = bytes.len().min(12_000);
        for i in (0..header_end).chain((header_end..end).step_by(4)) {
            let mut m = bytes.clone();
            m[i] ^= 0x5A;
            std::fs::write(&path, &m).unwrap();
            let _ = gp_features::load(&path);
        }
    }
    // Every single-byte change of a real file (with its index): read or refused.
    let real = real_file(d);
    let path = d.join("mutant.fgb");
    let t = Instant::now();
    for i in 0..real.len() {
        for b in [0x00u8, 0xFF, real[i] ^ 0x01] {
            let mut m = real.clone();
            m[i] = b;
            std::fs::write(&path, &m).unwrap();
            let _ = gp_features::load(&path);
        }
    }
    assert!(t.elapsed() < Duration::from_secs(120), "{:?}", t.elapsed());
    assert_eq!(common::panics(), 0, "panics while reading hostile files");
}

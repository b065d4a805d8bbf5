//! # gp-fuzz
//!
//! The fuzzing harness of gp's file readers: one function per target, each taking the
//! fuzzer's bytes as a file of its format and reading it the ways gp does (whole, and
//! streamed through [`gp_features::convert`] or [`gp_raster::tiff_stats`]), and of the
//! `where` clauses of layer queries (parsed and evaluated, never run as SQL). A result
//! is ignored; only a panic, a hang or an allocation over the fuzzer's limit is a
//! finding.
//!
//! The same functions serve the `cargo fuzz` targets in `fuzz/` (run with
//! `cargo xtask fuzz TARGET --seconds S`) and the regression test of this crate, which
//! replays every seed and every input a fuzzer found (`fuzz/regressions/TARGET/`) on
//! each `cargo xtask ci`.
//!
//! ```
//! // Any bytes are a clear error or a value, never a panic.
//! gp_fuzz::run("tiff", b"II*\0\x08\0\0\0garbage");
//! gp_fuzz::run("esri_json", br#"{"features": [{"geometry": {"rings": [[[0, 0]]]}}]}"#);
//! ```

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The targets, by name.
pub const TARGETS: &[&str] = &[
    "tiff",
    "flatgeobuf",
    "shapefile",
    "geopackage",
    "geojson",
    "csv",
    "esri_json",
    "filegdb",
    "where_clause",
];

/// A folder for the inputs of this process (in memory where `/dev/shm` exists).
fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("gp-fuzz-{}", std::process::id()));
        // Nothing to do if it cannot be made: every read below then fails cleanly.
        let _ = std::fs::create_dir_all(&d);
        d
    })
}

fn put(name: &str, data: &[u8]) -> PathBuf {
    let p = dir().join(name);
    let _ = std::fs::write(&p, data);
    p
}

/// Reads `data` as a feature file named `name`, whole and streamed into GeoJSON.
fn features(name: &str, data: &[u8]) {
    let p = put(name, data);
    let _ = gp_features::load(&p);
    let out = dir().join("out.geojson");
    let _ = gp_features::convert(
        &p,
        &out,
        &gp_features::SaveOptions {
            overwrite: true,
            ..Default::default()
        },
    );
    let _ = std::fs::remove_file(out);
}

/// Splits a shapefile input: `.shp` length and `.shx` length as little-endian u32,
/// then the three files' bytes (`.dbf` the rest).
pub fn split_shapefile(data: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let shp = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let shx = u32::from_le_bytes(data.get(4..8)?.try_into().ok()?) as usize;
    let rest = &data[8..];
    let (a, rest) = rest.split_at_checked(shp)?;
    let (b, c) = rest.split_at_checked(shx)?;
    Some((a, b, c))
}

/// The other way: three files into one shapefile input.
pub fn join_shapefile(shp: &[u8], shx: &[u8], dbf: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + shp.len() + shx.len() + dbf.len());
    v.extend((shp.len() as u32).to_le_bytes());
    v.extend((shx.len() as u32).to_le_bytes());
    v.extend_from_slice(shp);
    v.extend_from_slice(shx);
    v.extend_from_slice(dbf);
    v
}

/// Splits a File Geodatabase input into its files: repeated (name length as one
/// byte, name, length as little-endian u32, bytes). Stops at the first record that
/// does not fit; names are reduced to their last path component.
pub fn split_gdb(mut data: &[u8]) -> Vec<(String, &[u8])> {
    let mut files = Vec::new();
    while let Some((&n, rest)) = data.split_first() {
        let Some((name, rest)) = rest.split_at_checked(usize::from(n)) else {
            break;
        };
        let Some((len, rest)) = rest.split_at_checked(4) else {
            break;
        };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some((bytes, rest)) = rest.split_at_checked(len) else {
            break;
        };
        let name = String::from_utf8_lossy(name);
        let name = name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_string();
        if !name.is_empty() && name != "." && name != ".." {
            files.push((name, bytes));
        }
        data = rest;
    }
    files
}

/// The other way: files (name, bytes) into one File Geodatabase input.
pub fn join_gdb(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (name, bytes) in files {
        let name = &name.as_bytes()[..name.len().min(255)];
        v.push(name.len() as u8);
        v.extend_from_slice(name);
        v.extend((bytes.len() as u32).to_le_bytes());
        v.extend_from_slice(bytes);
    }
    v
}

/// Reads `data` as the files of a File Geodatabase: its layers listed, each read
/// whole, the first streamed into GeoJSON.
fn filegdb(data: &[u8]) {
    let gdb = dir().join("input.gdb");
    let _ = std::fs::remove_dir_all(&gdb);
    let _ = std::fs::create_dir_all(&gdb);
    for (name, bytes) in split_gdb(data) {
        let _ = std::fs::write(gdb.join(name), bytes);
    }
    let layers = gp_features::layers(&gdb).unwrap_or_default();
    for l in &layers {
        let _ = gp_features::load(gdb.join(l));
    }
    if let Some(l) = layers.first() {
        let out = dir().join("out.geojson");
        let opts = gp_features::SaveOptions {
            overwrite: true,
            ..Default::default()
        };
        let _ = gp_features::convert(gdb.join(l), &out, &opts);
        let _ = std::fs::remove_file(out);
    }
}

/// Runs target `name` on `data`. Unknown names do nothing.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "tiff" => {
            let p = put("input.tif", data);
            let limits = gp_raster::DecodeLimits {
                max_decoded_bytes: 256 << 20,
                ..Default::default()
            };
            let _ = gp_raster::read_tiff_info(&p);
            let _ = gp_raster::read_tiff(&p, &limits);
            let _ = gp_raster::tiff_stats(&p, &limits);
        }
        "flatgeobuf" => features("input.fgb", data),
        "shapefile" => {
            if let Some((shp, shx, dbf)) = split_shapefile(data) {
                put("input.shx", shx);
                put("input.dbf", dbf);
                features("input.shp", shp);
            }
        }
        "geopackage" => features("input.gpkg", data),
        "geojson" => features("input.geojson", data),
        "csv" => features("input.csv", data),
        "esri_json" => features("input.json", data),
        "filegdb" => filegdb(data),
        "where_clause" => where_clause(data),
        _ => {}
    }
}

/// A layer query's parameters from a request (the text as the `where` of a query
/// and as the filter of a layer input), evaluated on attributes of every kind.
fn where_clause(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = gp_model::LayerQuery::from_form(|k| (k == "where").then_some(text.as_ref()));
    if let Ok(w) = gp_model::Where::parse(&text) {
        let mut a = gp_model::Attributes::new();
        for (i, v) in [
            gp_model::AttrValue::Null,
            gp_model::AttrValue::Int(-3),
            gp_model::AttrValue::Float(f64::NAN),
            gp_model::AttrValue::String("O'Brien %_".into()),
            gp_model::AttrValue::Bool(true),
        ]
        .into_iter()
        .enumerate()
        {
            for f in w.fields() {
                a.insert(format!("{f}{i}"), v.clone());
                a.insert(f.clone(), v.clone());
                let _ = w.matches(&a);
            }
        }
        let _ = w.matches(&a);
    }
}

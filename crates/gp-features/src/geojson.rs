//! GeoJSON and newline-delimited GeoJSON, through geozero.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use geozero::GeozeroDatasource;
use geozero::geojson::{GeoJsonLineReader, GeoJsonReader, GeoJsonWriter};
use std::collections::HashMap;

use gp_model::esrijson::{FeatureSetBuilder, process_geometry};
use gp_model::{AttrValue, Feature, FeatureSet, FieldType, SpatialReference};

use crate::error::{Result, fmt_err, io};

/// The legacy `crs` member (`"name": "EPSG:3857"` or `urn:ogc:def:crs:EPSG::3857`),
/// else WGS 84 as RFC 7946 says.
fn crs_of(head: &str) -> SpatialReference {
    if let Some(i) = head.find("\"crs\"") {
        let rest = &head[i..head.len().min(i + 300)];
        if let Some(j) = rest.find("EPSG:") {
            let digits: String = rest[j + 5..]
                .trim_start_matches(':')
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(code) = digits.parse() {
                return SpatialReference::from_wkid(code);
            }
        }
    }
    SpatialReference::from_wkid(4326)
}

pub(crate) fn read(path: &Path, lines: bool) -> Result<FeatureSet> {
    let mut head = vec![0u8; 8192];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(io("reading", path))?;
    head.truncate(n);
    let sr = crs_of(&String::from_utf8_lossy(&head));
    let f = BufReader::new(std::fs::File::open(path).map_err(io("opening", path))?);
    let mut b = FeatureSetBuilder::new();
    let res = if lines {
        GeoJsonLineReader::new(f).process(&mut b)
    } else {
        GeoJsonReader(f).process(&mut b)
    };
    res.map_err(|e| fmt_err(path, "GeoJSON")(e.to_string()))?;
    let mut fs = b.finish()?;
    fs.spatial_reference = Some(sr);
    crate::schema::promote_dates(&mut fs);
    Ok(fs)
}

/// Writes one feature as a GeoJSON object: properties (nulls kept, dates as RFC 3339
/// text) and the geometry (`null` when absent or empty).
fn write_feature<W: Write>(
    out: &mut W,
    f: &Feature,
    types: &HashMap<&str, &FieldType>,
    geom: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    let e = |x: std::io::Error| x.to_string();
    out.write_all(b"{\"type\":\"Feature\",\"properties\":{")
        .map_err(e)?;
    for (i, (k, v)) in f.attributes.iter().enumerate() {
        if i > 0 {
            out.write_all(b",").map_err(e)?;
        }
        serde_json::to_writer(&mut *out, k).map_err(|x| x.to_string())?;
        out.write_all(b":").map_err(e)?;
        match (types.get(k.as_str()), v) {
            (Some(FieldType::Date), AttrValue::Int(ms)) => {
                match chrono::DateTime::from_timestamp_millis(*ms) {
                    Some(d) => serde_json::to_writer(
                        &mut *out,
                        &d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    ),
                    None => serde_json::to_writer(&mut *out, ms),
                }
            }
            _ => serde_json::to_writer(&mut *out, v),
        }
        .map_err(|x| x.to_string())?;
    }
    out.write_all(b"},\"geometry\":").map_err(e)?;
    match &f.geometry {
        Some(g) if !g.is_empty() => {
            geom.clear();
            let dims = g.dims();
            let mut w = GeoJsonWriter::with_dims(
                &mut *geom,
                geozero::CoordDimensions {
                    z: dims.has_z,
                    m: false,
                    t: false,
                    tm: false,
                },
            );
            process_geometry(g, 0, &mut w).map_err(|x| x.to_string())?;
            out.write_all(geom).map_err(e)?;
        }
        _ => out.write_all(b"null").map_err(e)?,
    }
    out.write_all(b"}").map_err(e)
}

pub(crate) fn write(fs: &FeatureSet, path: &Path, lines: bool) -> Result<()> {
    let err = fmt_err(path, "GeoJSON");
    let f = std::fs::File::create(path).map_err(io("creating", path))?;
    let mut out = BufWriter::new(f);
    let types: HashMap<&str, &FieldType> = fs
        .fields
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|f| (f.name.as_str(), &f.field_type))
        .collect();
    let w = |x: std::io::Error| io("writing", path)(x);
    if !lines {
        out.write_all(b"{\"type\":\"FeatureCollection\",")
            .map_err(w)?;
        // RFC 7946 GeoJSON is WGS 84; other systems get the legacy `crs` member that
        // GDAL and this crate read.
        if let Some(code) = fs
            .spatial_reference
            .as_ref()
            .and_then(SpatialReference::epsg)
            .filter(|c| *c != 4326)
        {
            write!(out, "\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{code}\"}}}},").map_err(w)?;
        }
        out.write_all(b"\"features\":[\n").map_err(w)?;
    }
    let mut geom = Vec::new();
    for (i, f) in fs.features.iter().enumerate() {
        if i > 0 && !lines {
            out.write_all(b",\n").map_err(w)?;
        }
        write_feature(&mut out, f, &types, &mut geom)
            .map_err(|x| err(format!("feature {i}: {x}")))?;
        if lines {
            out.write_all(b"\n").map_err(w)?;
        }
    }
    if !lines {
        out.write_all(b"\n]}\n").map_err(w)?;
    }
    out.flush().map_err(w)
}

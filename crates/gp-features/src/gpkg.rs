//! Reading OGC GeoPackage 1.3 layers (rusqlite, SQLite bundled): the layer list,
//! feature tables with their `gpkg_geometry_columns` and `gpkg_spatial_ref_sys` rows,
//! geometry blobs through geozero's GeoPackage WKB reader. Writing is in `gpkg_write`.

use std::path::Path;

use geozero::wkb::GpkgWkb;
use gp_model::esrijson::geometry_from_geozero;
use gp_model::{
    AttrValue, Feature, FeatureSet, Field, FieldType, Geometry, GeometryType, SpatialReference,
};
use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result, fmt_err};
use crate::srs;

pub(crate) fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The feature layers of a GeoPackage.
pub(crate) fn layers(path: &Path) -> Result<Vec<String>> {
    let err = fmt_err(path, "GeoPackage");
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| err(e.to_string()))?;
    let mut st = c
        .prepare(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name",
        )
        .map_err(|e| err(format!("not a GeoPackage ({e})")))?;
    let names = st
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(Iterator::collect)
        .map_err(|e| err(e.to_string()))?;
    Ok(names)
}

/// Loads a whole layer.
pub(crate) fn read(path: &Path, layer: Option<&str>) -> Result<FeatureSet> {
    let mut all = crate::sink::Collect::default();
    read_each(path, layer, &mut all)?;
    Ok(all.0)
}

/// Reads a layer row by row into `to`: its schema (from the table definition and
/// `gpkg_geometry_columns`, whose `z`/`m` flags give the dimensions), then every
/// feature, in table order. Memory does not grow with the layer.
pub(crate) fn read_each(
    path: &Path,
    layer: Option<&str>,
    to: &mut dyn crate::sink::Consumer,
) -> Result<()> {
    let err = fmt_err(path, "GeoPackage");
    let all = layers(path)?;
    let layer = match layer {
        Some(l) => all
            .iter()
            .find(|n| n.eq_ignore_ascii_case(l))
            .cloned()
            .ok_or_else(|| Error::Layer {
                path: path.to_path_buf(),
                message: format!("no layer `{l}`"),
                layers: all.clone(),
            })?,
        None if all.len() == 1 => all[0].clone(),
        None => {
            return Err(Error::Layer {
                path: path.to_path_buf(),
                message: if all.is_empty() {
                    "no feature layer".into()
                } else {
                    "several layers: name one as FILE.gpkg/LAYER".into()
                },
                layers: all,
            });
        }
    };
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| err(e.to_string()))?;
    let (geom_col, gtype, srs_id, z, m): (String, String, i64, i64, i64) = c
        .query_row(
            "SELECT column_name, geometry_type_name, srs_id, z, m FROM gpkg_geometry_columns WHERE table_name = ?1",
            [&layer],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .map_err(|e| err(format!("layer {layer}: no geometry column ({e})")))?;
    let sr = c
        .query_row(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)),
        )
        .ok()
        .and_then(|(org, code, def)| {
            if org.eq_ignore_ascii_case("epsg") && code > 0 {
                i32::try_from(code).ok().map(SpatialReference::from_wkid)
            } else if def.trim().is_empty() || def == "undefined" {
                None
            } else {
                Some(srs::sr_from_wkt(&def))
            }
        });
    // Columns: (name, declared type, is primary key).
    let mut st = c
        .prepare(&format!("PRAGMA table_info({})", q(&layer)))
        .map_err(|e| err(e.to_string()))?;
    let cols: Vec<(String, String, bool)> = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(5)? > 0,
            ))
        })
        .and_then(Iterator::collect)
        .map_err(|e| err(e.to_string()))?;
    let mut fields = Vec::new();
    for (name, decl, pk) in &cols {
        if name.eq_ignore_ascii_case(&geom_col) {
            continue;
        }
        let d = decl.to_ascii_uppercase();
        let t = if *pk {
            FieldType::Oid
        } else if d.starts_with("TEXT") {
            FieldType::String
        } else {
            match d.as_str() {
                "BOOLEAN" | "TINYINT" | "SMALLINT" => FieldType::SmallInteger,
                "MEDIUMINT" => FieldType::Integer,
                "INT" | "INTEGER" => FieldType::BigInteger,
                "FLOAT" => FieldType::Single,
                "DOUBLE" | "REAL" => FieldType::Double,
                "DATE" | "DATETIME" => FieldType::Date,
                "BLOB" => FieldType::Blob,
                _ => FieldType::String,
            }
        };
        let mut f = Field::new(name.clone(), t);
        if let Some(n) = d
            .strip_prefix("TEXT(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|n| n.parse().ok())
        {
            f.length = Some(n);
        }
        fields.push(f);
    }
    let select: Vec<String> = fields
        .iter()
        .map(|f| q(&f.name))
        .chain([q(&geom_col)])
        .collect();
    let decode = |b: &[u8], n: usize| -> Result<Option<Geometry>> {
        if is_empty_blob(b) {
            return Ok(None);
        }
        geometry_from_geozero(&GpkgWkb(b))
            .map(Some)
            .map_err(|e| err(format!("layer {layer}, row {n}: {e}")))
    };
    let geometry_type = match gtype.to_ascii_uppercase().as_str() {
        "POINT" => Some(GeometryType::Point),
        "MULTIPOINT" => Some(GeometryType::Multipoint),
        "LINESTRING" | "MULTILINESTRING" => Some(GeometryType::Polyline),
        "POLYGON" | "MULTIPOLYGON" => Some(GeometryType::Polygon),
        // A generic column: the type of its first geometry.
        _ => {
            let first: Option<Vec<u8>> = c
                .query_row(
                    &format!(
                        "SELECT {g} FROM {t} WHERE {g} IS NOT NULL LIMIT 1",
                        g = q(&geom_col),
                        t = q(&layer)
                    ),
                    [],
                    |r| r.get(0),
                )
                .ok();
            match first {
                Some(b) => decode(&b, 0)?.map(|g| g.geometry_type()),
                None => None,
            }
        }
    };
    let oid = fields
        .iter()
        .find(|f| f.field_type == FieldType::Oid)
        .map(|f| f.name.clone());
    to.schema(&FeatureSet {
        object_id_field_name: oid,
        geometry_type,
        spatial_reference: sr,
        has_z: z != 0,
        has_m: m != 0,
        fields: Some(fields.clone()),
        ..Default::default()
    })?;
    let mut st = c
        .prepare(&format!("SELECT {} FROM {}", select.join(", "), q(&layer)))
        .map_err(|e| err(e.to_string()))?;
    let mut rows = st.query([]).map_err(|e| err(e.to_string()))?;
    let mut n = 0usize;
    while let Some(row) = rows.next().map_err(|e| err(e.to_string()))? {
        let mut attributes = gp_model::Attributes::new();
        for (i, f) in fields.iter().enumerate() {
            use rusqlite::types::ValueRef as V;
            let v = match row.get_ref(i).map_err(|e| err(e.to_string()))? {
                V::Null => AttrValue::Null,
                V::Integer(x) => AttrValue::Int(x),
                V::Real(x) => AttrValue::Float(x),
                V::Text(t) => {
                    let s = String::from_utf8_lossy(t).into_owned();
                    match (&f.field_type, parse_date(&s)) {
                        (FieldType::Date, Some(ms)) => AttrValue::Int(ms),
                        _ => AttrValue::String(s),
                    }
                }
                V::Blob(b) => AttrValue::String(b.iter().map(|x| format!("{x:02x}")).collect()),
            };
            attributes.insert(f.name.clone(), v);
        }
        let geometry = match row.get_ref(fields.len()).map_err(|e| err(e.to_string()))? {
            rusqlite::types::ValueRef::Blob(b) => decode(b, n)?,
            _ => None,
        };
        to.feature(Feature {
            attributes,
            geometry,
        })?;
        n += 1;
    }
    Ok(())
}

fn parse_date(s: &str) -> Option<i64> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
}

/// The GeoPackage header's empty flag (bit 4).
fn is_empty_blob(b: &[u8]) -> bool {
    b.len() >= 4 && b[0] == b'G' && b[1] == b'P' && b[3] & 0x10 != 0
}

// ---- writing ----

//! Reading: any Arrow table with a WKB geometry column as a feature set.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field as ArrowField, Schema, TimeUnit};
use gp_model::{AttrValue, Feature, FeatureSet, Field, FieldType, GeometryType, SpatialReference};

use super::{ESRI_TYPE_KEY, arrow_err, data_type};
use crate::error::{Error, Result};

/// The spatial reference named by GeoArrow `crs` metadata: a string (`EPSG:4326`,
/// `ESRI:102100`, `OGC:CRS84`, WKT) or PROJJSON with an `id`.
fn crs_of(v: &serde_json::Value) -> Option<SpatialReference> {
    match v {
        serde_json::Value::String(s) => {
            let t = s.trim();
            let (auth, code) = t.split_once(':').unwrap_or(("", ""));
            match (auth.to_ascii_uppercase().as_str(), code.parse::<i32>()) {
                ("EPSG" | "ESRI", Ok(c)) => Some(SpatialReference::from_wkid(c)),
                _ if t.eq_ignore_ascii_case("OGC:CRS84") => Some(SpatialReference::from_wkid(4326)),
                _ if !t.is_empty() => Some(SpatialReference::from_wkt(t)),
                _ => None,
            }
        }
        serde_json::Value::Object(o) => {
            let id = o.get("id")?;
            let auth = id.get("authority")?.as_str()?;
            let code = id.get("code")?;
            let code = code
                .as_i64()
                .or_else(|| code.as_str().and_then(|c| c.parse().ok()))?;
            match auth {
                "EPSG" | "ESRI" => Some(SpatialReference::from_wkid(i32::try_from(code).ok()?)),
                "OGC" if o.get("name").is_some() => Some(SpatialReference::from_wkid(4326)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// How one Arrow column becomes an attribute.
#[derive(Debug, Clone, Copy)]
enum Reader {
    Int,
    UInt,
    Float,
    Bool,
    Text,
    Timestamp(TimeUnit),
    Date32,
    Date64,
}

/// The Esri field type and reader of an Arrow column, or why it has none.
fn reader_of(f: &ArrowField) -> std::result::Result<(FieldType, Reader), String> {
    let declared = f
        .metadata()
        .get(ESRI_TYPE_KEY)
        .and_then(|t| serde_json::from_value::<FieldType>(t.as_str().into()).ok());
    let (natural, reader) = match f.data_type() {
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => {
            (FieldType::SmallInteger, Reader::Int)
        }
        DataType::Int32 | DataType::UInt16 => (FieldType::Integer, Reader::Int),
        DataType::Int64 => (FieldType::BigInteger, Reader::Int),
        DataType::UInt32 => (FieldType::BigInteger, Reader::UInt),
        DataType::UInt64 => (FieldType::BigInteger, Reader::UInt),
        DataType::Float16 | DataType::Float32 => (FieldType::Single, Reader::Float),
        DataType::Float64 => (FieldType::Double, Reader::Float),
        DataType::Boolean => (FieldType::SmallInteger, Reader::Bool),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            (FieldType::String, Reader::Text)
        }
        DataType::Timestamp(u, _) => (FieldType::Date, Reader::Timestamp(*u)),
        DataType::Date32 => (FieldType::Date, Reader::Date32),
        DataType::Date64 => (FieldType::Date, Reader::Date64),
        other => {
            return Err(format!(
                "has Arrow type {other}, which has no Esri field type (cast it to a number, text or timestamp first)"
            ));
        }
    };
    // The declared type wins where the values fit it (an OID column stays one).
    let t = match declared {
        Some(d) if data_type(&d) == data_type(&natural) || d == FieldType::Oid => d,
        _ => natural,
    };
    Ok((t, reader))
}

/// The value of row `i` of column `a` through `r`.
fn value_at(a: &dyn Array, r: Reader, i: usize) -> AttrValue {
    if a.is_null(i) {
        return AttrValue::Null;
    }
    macro_rules! prim {
        ($($t:ty => $wrap:expr),*) => {
            $(if let Some(p) = a.as_primitive_opt::<$t>() {
                return $wrap(p.value(i));
            })*
        };
    }
    match r {
        Reader::Int | Reader::UInt | Reader::Float => {
            prim!(Int8Type => |v: i8| AttrValue::Int(v.into()),
                Int16Type => |v: i16| AttrValue::Int(v.into()),
                Int32Type => |v: i32| AttrValue::Int(v.into()),
                Int64Type => AttrValue::Int,
                UInt8Type => |v: u8| AttrValue::Int(v.into()),
                UInt16Type => |v: u16| AttrValue::Int(v.into()),
                UInt32Type => |v: u32| AttrValue::Int(v.into()),
                UInt64Type => AttrValue::UInt,
                Float32Type => |v: f32| AttrValue::Float(v.into()),
                Float64Type => AttrValue::Float);
            if let DataType::Float16 = a.data_type() {
                let p = a.as_primitive::<arrow_array::types::Float16Type>();
                return AttrValue::Float(p.value(i).to_f64());
            }
            AttrValue::Null
        }
        Reader::Bool => AttrValue::Int(i64::from(a.as_boolean().value(i))),
        Reader::Text => match a.data_type() {
            DataType::Utf8 => AttrValue::String(a.as_string::<i32>().value(i).to_string()),
            DataType::LargeUtf8 => AttrValue::String(a.as_string::<i64>().value(i).to_string()),
            _ => AttrValue::String(a.as_string_view().value(i).to_string()),
        },
        Reader::Timestamp(u) => {
            use arrow_array::types::{
                TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
                TimestampSecondType,
            };
            AttrValue::Int(match u {
                TimeUnit::Second => a
                    .as_primitive::<TimestampSecondType>()
                    .value(i)
                    .saturating_mul(1000),
                TimeUnit::Millisecond => a.as_primitive::<TimestampMillisecondType>().value(i),
                TimeUnit::Microsecond => a
                    .as_primitive::<TimestampMicrosecondType>()
                    .value(i)
                    .div_euclid(1000),
                TimeUnit::Nanosecond => a
                    .as_primitive::<TimestampNanosecondType>()
                    .value(i)
                    .div_euclid(1_000_000),
            })
        }
        Reader::Date32 => {
            let p = a.as_primitive::<arrow_array::types::Date32Type>();
            AttrValue::Int(i64::from(p.value(i)) * 86_400_000)
        }
        Reader::Date64 => {
            AttrValue::Int(a.as_primitive::<arrow_array::types::Date64Type>().value(i))
        }
    }
}

/// The geometry column of a schema: the `geoarrow.wkb` extension column, else a
/// binary column named `geometry`, `geom` or `wkb_geometry`.
fn geometry_column(schema: &Schema) -> std::result::Result<Option<usize>, Error> {
    let binary = |f: &ArrowField| {
        matches!(
            f.data_type(),
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView
        )
    };
    for (i, f) in schema.fields().iter().enumerate() {
        match f.metadata().get("ARROW:extension:name").map(String::as_str) {
            Some("geoarrow.wkb" | "ogc.wkb") if binary(f) => return Ok(Some(i)),
            Some(ext) if ext.starts_with("geoarrow.") => {
                return Err(arrow_err(
                    f.name(),
                    format!(
                        "is in the {ext} encoding; gp reads geometries as WKB (geoarrow.wkb): in GeoPandas use to_arrow(geometry_encoding=\"WKB\")"
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(schema.fields().iter().position(|f| {
        binary(f) && ["geometry", "geom", "wkb_geometry"].contains(&f.name().as_str())
    }))
}

fn wkb_at(a: &dyn Array, i: usize) -> Option<&[u8]> {
    if a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        DataType::Binary => a.as_binary::<i32>().value(i),
        DataType::LargeBinary => a.as_binary::<i64>().value(i),
        _ => a.as_binary_view().value(i),
    })
}

/// An Arrow table as a feature set: attribute columns become fields (their Esri
/// type from `esri:type` metadata where the values fit it, else from the Arrow
/// type), the WKB geometry column the geometries, its CRS metadata the spatial
/// reference. A column of a type that has no Esri equivalent (lists, structs) or a
/// geometry that is not valid WKB is an error naming the column and the row.
pub fn from_arrow<I>(schema: &Schema, batches: I) -> Result<FeatureSet>
where
    I: IntoIterator<Item = std::result::Result<RecordBatch, ArrowError>>,
{
    let geom = geometry_column(schema)?;
    let mut cols = Vec::new();
    let mut fields = Vec::new();
    for (i, f) in schema.fields().iter().enumerate() {
        if Some(i) == geom {
            continue;
        }
        let (t, r) = reader_of(f).map_err(|m| arrow_err(f.name(), m))?;
        let mut field = Field::new(f.name(), t);
        field.nullable = Some(f.is_nullable());
        fields.push(field);
        cols.push((i, r));
    }
    let mut fs = FeatureSet {
        object_id_field_name: fields
            .iter()
            .find(|f| f.field_type == FieldType::Oid)
            .map(|f| f.name.clone()),
        ..FeatureSet::default()
    };
    if let Some(g) = geom {
        let meta = schema.field(g).metadata();
        let crs = meta
            .get("ARROW:extension:metadata")
            .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
            .and_then(|m| m.get("crs").and_then(crs_of));
        fs.spatial_reference = crs;
    }
    let mut row = 0usize;
    for batch in batches {
        let batch = batch.map_err(|e| arrow_err("(stream)", e.to_string()))?;
        let same = batch.num_columns() == schema.fields().len()
            && batch
                .schema()
                .fields()
                .iter()
                .zip(schema.fields())
                .all(|(a, b)| a.data_type() == b.data_type());
        if !same {
            return Err(arrow_err(
                "(stream)",
                format!(
                    "a batch at row {row} has columns {:?}, not the schema's {:?}",
                    batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>(),
                    schema.fields().iter().map(|f| f.name()).collect::<Vec<_>>()
                ),
            ));
        }
        let arrays: Vec<&ArrayRef> = cols.iter().map(|(i, _)| batch.column(*i)).collect();
        let garray = geom.map(|g| batch.column(g));
        for i in 0..batch.num_rows() {
            let mut attributes = gp_model::Attributes::default();
            for ((k, (_, r)), a) in cols.iter().enumerate().zip(&arrays) {
                attributes.insert(fields[k].name.clone(), value_at(a.as_ref(), *r, i));
            }
            let geometry = match garray.and_then(|a| wkb_at(a.as_ref(), i)) {
                Some(bytes) => {
                    let g = gp_model::esrijson::geometry_from_geozero(&geozero::wkb::Wkb(bytes))
                        .map_err(|e| {
                            arrow_err(
                                schema.field(geom.unwrap_or_default()).name(),
                                format!("row {}: not a WKB geometry: {e}", row + i),
                            )
                        })?;
                    Some(g)
                }
                None => None,
            };
            fs.features.push(Feature {
                attributes,
                geometry,
            });
        }
        row += batch.num_rows();
    }
    let first = fs.features.iter().find_map(|f| f.geometry.as_ref());
    if let Some(g) = first {
        fs.geometry_type = Some(match g.geometry_type() {
            GeometryType::Envelope => GeometryType::Polygon,
            t => t,
        });
        let d = g.dims();
        fs.has_z = d.has_z;
        fs.has_m = d.has_m;
    } else if geom.is_some() {
        fs.geometry_type = None;
    }
    fs.fields = Some(fields);
    Ok(fs)
}

//! Reading FlatGeobuf through the `flatgeobuf` crate, after [`crate::fgb_check`].
//! Writing is in [`crate::fgb_sink`].

use std::io::BufReader;
use std::path::Path;

use flatgeobuf::{ColumnType, FallibleStreamingIterator, FgbReader, GeometryType as FgbType};
use gp_model::esrijson::FeatureSetBuilder;
use gp_model::{FeatureSet, FieldType, GeometryType, SpatialReference};

use crate::error::{Result, fmt_err, io};

/// Loads a whole FlatGeobuf file.
pub(crate) fn read(path: &Path) -> Result<FeatureSet> {
    let mut all = crate::sink::Collect::default();
    read_each(path, &mut all)?;
    Ok(all.0)
}

/// The field type of a FlatGeobuf column type.
fn field_type(t: ColumnType) -> FieldType {
    match t {
        ColumnType::Byte
        | ColumnType::UByte
        | ColumnType::Bool
        | ColumnType::Short
        | ColumnType::UShort => FieldType::SmallInteger,
        ColumnType::Int | ColumnType::UInt => FieldType::Integer,
        ColumnType::Long | ColumnType::ULong => FieldType::BigInteger,
        ColumnType::Float => FieldType::Single,
        ColumnType::Double => FieldType::Double,
        ColumnType::DateTime => FieldType::Date,
        ColumnType::Binary => FieldType::Blob,
        _ => FieldType::String,
    }
}

/// Features read per batch by [`read_each`].
const READ_BATCH: usize = 4096;

/// Reads a FlatGeobuf file feature by feature into `to`: its schema (columns, geometry
/// type, dimensions and CRS from the header; a generic geometry type from the first
/// feature), then every feature in file order, in batches. Memory does not grow with
/// the file.
pub(crate) fn read_each(path: &Path, to: &mut dyn crate::sink::Consumer) -> Result<()> {
    let err = fmt_err(path, "FlatGeobuf");
    // Sizes first: the crate allocates what the file declares before it reads.
    crate::fgb_check::check_layout(path).map_err(&err)?;
    let f = BufReader::new(std::fs::File::open(path).map_err(io("opening", path))?);
    let reader = FgbReader::open(f).map_err(|e| err(e.to_string()))?;
    let header = reader.header();
    let column_types: Vec<ColumnType> = header
        .columns()
        .map(|cols| cols.iter().map(|c| c.type_()).collect())
        .unwrap_or_default();
    let fields: Vec<gp_model::Field> = header
        .columns()
        .map(|cols| {
            cols.iter()
                .map(|c| gp_model::Field::new(c.name().to_string(), field_type(c.type_())))
                .collect()
        })
        .unwrap_or_default();
    let header_type = header.geometry_type();
    let declared = match header.geometry_type() {
        FgbType::Point => Some(GeometryType::Point),
        FgbType::MultiPoint => Some(GeometryType::Multipoint),
        FgbType::LineString | FgbType::MultiLineString => Some(GeometryType::Polyline),
        FgbType::Polygon | FgbType::MultiPolygon => Some(GeometryType::Polygon),
        _ => None,
    };
    let (has_z, has_m) = (header.has_z(), header.has_m());
    let sr = header
        .crs()
        .map(|c| c.code())
        .filter(|c| *c > 0)
        .map(SpatialReference::from_wkid);
    let mut iter = reader.select_all_seq().map_err(|e| err(e.to_string()))?;
    // One batch through gp-model's geozero builder. The flatgeobuf reader indexes its
    // buffers without checking them, so a malformed file can panic inside it: contain
    // that and report it as the error it is.
    let mut index = 0u64;
    let mut next_batch = || -> Result<FeatureSet> {
        let mut b = FeatureSetBuilder::new();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            use geozero::FeatureAccess;
            for _ in 0..READ_BATCH {
                let Some(f) = iter
                    .next()
                    .map_err(|e| geozero::error::GeozeroError::Feature(e.to_string()))?
                else {
                    break;
                };
                crate::fgb_check::check_feature(&f.fbs_feature(), &column_types, header_type)
                    .map_err(|m| {
                        geozero::error::GeozeroError::Feature(format!("feature {index}: {m}"))
                    })?;
                if f.geometry().is_some() {
                    f.process(&mut b, index)?;
                } else {
                    // No geometry (the crate's `process` refuses that): the properties.
                    use geozero::{FeatureProcessor, FeatureProperties};
                    b.feature_begin(index)?;
                    b.properties_begin()?;
                    f.process_properties(&mut b)?;
                    b.properties_end()?;
                    b.feature_end(index)?;
                }
                index += 1;
            }
            Ok::<(), geozero::error::GeozeroError>(())
        }));
        match outcome {
            Ok(r) => r.map_err(|e| err(e.to_string()))?,
            Err(_) => {
                return Err(err(
                    "the file is malformed (the FlatGeobuf reader failed on it)".into(),
                ));
            }
        }
        Ok(b.finish()?)
    };
    let mut batch = next_batch()?;
    to.schema(&FeatureSet {
        geometry_type: declared.or_else(|| batch.geometry_type.clone()),
        spatial_reference: sr,
        has_z,
        has_m,
        fields: Some(fields.clone()),
        ..Default::default()
    })?;
    loop {
        let n = batch.features.len();
        for mut f in batch.features {
            // Every column, in column order (absent values null).
            let mut attrs = gp_model::Attributes::with_capacity(fields.len());
            for field in &fields {
                let v = f
                    .attributes
                    .swap_remove(&field.name)
                    .unwrap_or(gp_model::AttrValue::Null);
                attrs.insert(field.name.clone(), v);
            }
            f.attributes = attrs;
            to.feature(f)?;
        }
        if n < READ_BATCH {
            return Ok(());
        }
        batch = next_batch()?;
    }
}

//! FlatGeobuf, with its packed R-tree index, through the `flatgeobuf` crate.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use flatgeobuf::{
    ColumnType, FallibleStreamingIterator, FgbCrs, FgbReader, FgbWriter, FgbWriterOptions,
    GeometryType as FgbType,
};
use geozero::error::Result as GzResult;
use geozero::{GeomProcessor, GeozeroGeometry, PropertyProcessor};
use gp_model::esrijson::{FeatureSetBuilder, column_value};
use gp_model::{FeatureSet, FieldType, GeometryType, SpatialReference};

use crate::error::{Result, fmt_err, io};

pub(crate) fn read(path: &Path) -> Result<FeatureSet> {
    let err = fmt_err(path, "FlatGeobuf");
    let f = BufReader::new(std::fs::File::open(path).map_err(io("opening", path))?);
    let reader = FgbReader::open(f).map_err(|e| err(e.to_string()))?;
    let code = reader.header().crs().map(|c| c.code()).filter(|c| *c > 0);
    let mut iter = reader.select_all_seq().map_err(|e| err(e.to_string()))?;
    let mut b = FeatureSetBuilder::new();
    // The flatgeobuf reader indexes its buffers without checking them, so a malformed
    // file can panic inside it: contain that and report it as the error it is.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        iter.process_features(&mut b).map(|_| iter.get().is_some())
    }));
    match outcome {
        Ok(r) => {
            r.map_err(|e| err(e.to_string()))?;
        }
        Err(_) => {
            return Err(err(
                "the file is malformed (the FlatGeobuf reader failed on it)".into(),
            ));
        }
    }
    let mut fs = b.finish()?;
    if let Some(code) = code {
        fs.spatial_reference = Some(SpatialReference::from_wkid(code));
    }
    Ok(fs)
}

fn column_type(t: &FieldType) -> ColumnType {
    match t {
        FieldType::SmallInteger => ColumnType::Short,
        FieldType::Integer => ColumnType::Int,
        FieldType::Oid | FieldType::BigInteger => ColumnType::Long,
        FieldType::Single => ColumnType::Float,
        FieldType::Double => ColumnType::Double,
        FieldType::Date => ColumnType::DateTime,
        _ => ColumnType::String,
    }
}

/// A borrowed geometry as a geozero source.
struct GeomRef<'a>(&'a gp_model::Geometry);

impl GeozeroGeometry for GeomRef<'_> {
    fn process_geom<P: GeomProcessor>(&self, p: &mut P) -> GzResult<()> {
        gp_model::esrijson::process_geometry(self.0, 0, p)
    }
}

/// Writes a feature's values with their column index; returns the first error.
fn set_props<P: PropertyProcessor>(
    fw: &mut P,
    fields: &[&gp_model::Field],
    feature: &gp_model::Feature,
) -> Option<String> {
    for (ci, field) in fields.iter().enumerate() {
        let Some(v) = feature.attributes.get(&field.name) else {
            continue;
        };
        let mut text = String::new();
        if let Some(cv) = column_value(v, Some(&field.field_type), &mut text)
            && let Err(e) = fw.property(ci, &field.name, &cv)
        {
            return Some(e.to_string());
        }
    }
    None
}

pub(crate) fn write(fs: &FeatureSet, path: &Path, name: &str) -> Result<()> {
    let err = fmt_err(path, "FlatGeobuf");
    let gt = match &fs.geometry_type {
        Some(GeometryType::Point) => FgbType::Point,
        Some(GeometryType::Multipoint) => FgbType::MultiPoint,
        Some(GeometryType::Polyline) => FgbType::MultiLineString,
        Some(GeometryType::Polygon | GeometryType::Envelope) => FgbType::MultiPolygon,
        _ => FgbType::Unknown,
    };
    let code = fs
        .spatial_reference
        .as_ref()
        .and_then(SpatialReference::epsg)
        .unwrap_or(0);
    let opts = FgbWriterOptions {
        write_index: true,
        // Single polylines and polygons are written as multi so the type is uniform.
        promote_to_multi: true,
        crs: FgbCrs {
            code,
            ..Default::default()
        },
        has_z: fs.has_z,
        has_m: fs.has_m,
        ..Default::default()
    };
    let mut w = FgbWriter::create_with_options(name, gt, opts).map_err(|e| err(e.to_string()))?;
    let fields: Vec<_> = fs
        .fields
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|f| f.field_type != FieldType::Geometry)
        .collect();
    for f in &fields {
        w.add_column(&f.name, column_type(&f.field_type), |_, c| {
            c.nullable = true;
        });
    }
    for (i, feature) in fs.features.iter().enumerate() {
        let mut failed = None;
        let res = match &feature.geometry {
            Some(g) if !g.is_empty() => {
                w.add_feature_geom(GeomRef(g), |fw| failed = set_props(fw, &fields, feature))
            }
            _ => {
                return Err(err(format!(
                    "feature {i} has no geometry, which the flatgeobuf writer cannot store; \
                     use GeoPackage, GeoJSON or Esri JSON for such data"
                )));
            }
        };
        res.map_err(|e| err(format!("feature {i}: {e}")))?;
        if let Some(e) = failed {
            return Err(err(format!("feature {i}: {e}")));
        }
    }
    let f = std::fs::File::create(path).map_err(io("creating", path))?;
    let mut out = BufWriter::new(f);
    w.write(&mut out).map_err(|e| err(e.to_string()))?;
    out.flush().map_err(io("writing", path))
}

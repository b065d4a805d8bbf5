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

/// FlatGeobuf written feature by feature (the flatgeobuf writer spools features to a
/// temporary file, then sorts them along a Hilbert curve for the packed R-tree).
pub(crate) struct FgbSink {
    path: std::path::PathBuf,
    name: String,
    w: Option<FgbWriter<'static>>,
    fields: Vec<gp_model::Field>,
    count: usize,
}

impl FgbSink {
    pub(crate) fn create(path: &Path, name: &str) -> Self {
        FgbSink {
            path: path.to_path_buf(),
            name: name.to_string(),
            w: None,
            fields: Vec::new(),
            count: 0,
        }
    }
}

impl crate::sink::FeatureSink for FgbSink {
    fn start(&mut self, fs: &FeatureSet) -> Result<()> {
        let err = fmt_err(&self.path, "FlatGeobuf");
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
        let mut w =
            FgbWriter::create_with_options(&self.name, gt, opts).map_err(|e| err(e.to_string()))?;
        self.fields = fs
            .fields
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|f| f.field_type != FieldType::Geometry)
            .cloned()
            .collect();
        for f in &self.fields {
            w.add_column(&f.name, column_type(&f.field_type), |_, c| {
                c.nullable = true;
            });
        }
        self.w = Some(w);
        Ok(())
    }

    fn feature(&mut self, feature: &gp_model::Feature) -> Result<()> {
        let err = fmt_err(&self.path, "FlatGeobuf");
        let i = self.count;
        let Some(w) = self.w.as_mut() else {
            return Err(err("features before the schema".into()));
        };
        let fields: Vec<&gp_model::Field> = self.fields.iter().collect();
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
        self.count += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        let err = fmt_err(&self.path, "FlatGeobuf");
        let Some(w) = self.w.take() else {
            return Err(err("no schema was given".into()));
        };
        let f = std::fs::File::create(&self.path).map_err(io("creating", &self.path))?;
        let mut out = BufWriter::with_capacity(1 << 20, f);
        w.write(&mut out).map_err(|e| err(e.to_string()))?;
        out.flush().map_err(io("writing", &self.path))
    }
}

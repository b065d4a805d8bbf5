//! Writing a feature set that arrives in parts: the pages of a layer query, read one
//! after the other. Each part goes straight into the output (memory holds one part),
//! under a temporary name that becomes the file only when [`PartsWriter::finish`]
//! is called; dropped before that, nothing is left behind.

use std::path::Path;

use gp_model::FeatureSet;

use crate::error::{Error, Result};
use crate::output::{Output, finish_streamed, output_error, output_for};
use crate::sink::{Consumer, Feed, Paused};
use crate::target::Target;
use crate::{SaveOptions, SaveReport};

/// Writes the parts of one feature set into a file (format from the extension, as
/// [`save_with`](crate::save_with)).
///
/// ```
/// use gp_model::{Feature, FeatureSet, Field, FieldType, GeometryType, Geometry, Point};
/// let dir = tempfile::tempdir()?;
/// let schema = FeatureSet::with_schema(
///     Some(GeometryType::Point),
///     None,
///     vec![Field::new("OBJECTID", FieldType::Oid)],
/// );
/// let path = dir.path().join("pages.geojson");
/// let mut w = gp_features::PartsWriter::create(&path, &schema, &Default::default())?;
/// for page in 0..3 {
///     let mut part = schema.schema_only();
///     part.features.push(Feature {
///         attributes: [("OBJECTID".to_string(), gp_model::AttrValue::Int(page + 1))].into_iter().collect(),
///         geometry: Some(Geometry::Point(Point::new(page as f64, 0.0))),
///     });
///     w.append(&part)?;
/// }
/// assert_eq!(w.finish()?.features, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PartsWriter {
    target: Target,
    schema: FeatureSet,
    /// The output, written as parts come, and its feed between parts.
    out: Box<Output>,
    paused: Paused,
}

impl std::fmt::Debug for PartsWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartsWriter")
            .field("path", &self.target.path)
            .finish_non_exhaustive()
    }
}

fn same_fields(a: &FeatureSet, b: &FeatureSet) -> bool {
    let names = |fs: &FeatureSet| -> Vec<String> {
        fs.fields
            .iter()
            .flatten()
            .map(|f| f.name.to_ascii_lowercase())
            .collect()
    };
    b.fields.is_none() || names(a) == names(b)
}

impl PartsWriter {
    /// Starts the output at `path` with `schema`'s fields, geometry type and spatial
    /// reference (its features are not written). Refuses an existing file unless
    /// `opts.overwrite`.
    pub fn create(path: impl AsRef<Path>, schema: &FeatureSet, opts: &SaveOptions) -> Result<Self> {
        let target = Target::parse(path.as_ref(), false)?;
        let schema = schema.schema_only();
        let mut out = output_for(&target, opts)?;
        let layer = out.layer.clone();
        let mut feed = Feed::new(&mut out.sink, &out.fixes);
        feed.schema(&schema)
            .map_err(|e| output_error(e, &target, layer.as_deref()))?;
        let paused = feed.pause()?;
        Ok(PartsWriter {
            target,
            schema,
            out: Box::new(out),
            paused,
        })
    }

    /// Writes the features of one part. A part whose fields differ from the
    /// schema's is refused (the pages of one layer all have the same fields).
    pub fn append(&mut self, part: &FeatureSet) -> Result<()> {
        if !same_fields(&self.schema, part) {
            return Err(Error::Schema {
                message: format!(
                    "a part of the feature set has other fields than the first ({})",
                    self.target.path.display()
                ),
            });
        }
        let p = std::mem::replace(&mut self.paused, Paused::empty());
        let layer = self.out.layer.clone();
        let out = &mut *self.out;
        let mut feed = Feed::resume(&mut out.sink, &out.fixes, p);
        for f in &part.features {
            feed.feature_ref(f)
                .map_err(|e| output_error(e, &self.target, layer.as_deref()))?;
        }
        self.paused = feed.pause()?;
        Ok(())
    }

    /// Completes the output and renames it into place.
    pub fn finish(mut self) -> Result<SaveReport> {
        let out = &mut *self.out;
        let (n, schema) = Feed::resume(&mut out.sink, &out.fixes, self.paused).end()?;
        finish_streamed(*self.out, &self.target, n, &schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gp_model::{AttrValue, Feature, Field, FieldType, Geometry, GeometryType, Point};

    fn page(schema: &FeatureSet, from: i64, n: i64) -> FeatureSet {
        let mut p = schema.schema_only();
        p.features = (from..from + n)
            .map(|i| Feature {
                attributes: [
                    ("OBJECTID".to_string(), AttrValue::Int(i)),
                    ("NAME".to_string(), AttrValue::String(format!("n{i}"))),
                ]
                .into_iter()
                .collect(),
                geometry: Some(Geometry::Point(Point::new(i as f64, -(i as f64)))),
            })
            .collect();
        p
    }

    #[test]
    fn parts_make_the_same_file_as_the_whole() {
        let dir = tempfile::tempdir().expect("dir");
        let schema = FeatureSet::with_schema(
            Some(GeometryType::Point),
            Some(gp_model::SpatialReference::from_wkid(4326)),
            vec![
                Field::new("OBJECTID", FieldType::Oid),
                Field::new("NAME", FieldType::String).with_length(20),
            ],
        );
        for ext in ["gpkg", "shp", "fgb", "geojson", "geojsonl", "csv", "json"] {
            let path = dir.path().join(format!("parts.{ext}"));
            let mut w = PartsWriter::create(&path, &schema, &SaveOptions::default())
                .unwrap_or_else(|e| panic!("{ext}: {e}"));
            // Parts of several sizes, one larger than a write batch.
            for (from, n) in [(1, 3), (4, 5000), (5004, 0), (5004, 7)] {
                w.append(&page(&schema, from, n)).expect("append");
            }
            assert!(!path.exists(), "{ext}: nothing in place before finish");
            let r = w.finish().unwrap_or_else(|e| panic!("{ext}: {e}"));
            assert_eq!(r.features, 5010, "{ext}");
            let back = crate::load(&path).unwrap_or_else(|e| panic!("{ext}: {e}"));
            assert_eq!(back.features.len(), 5010, "{ext}");
            // FlatGeobuf orders features along its spatial index: look them up.
            let mut names: Vec<&str> = back
                .features
                .iter()
                .filter_map(|f| f.attributes["NAME"].as_str())
                .collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), 5010, "{ext}: every feature once");
        }
    }

    #[test]
    fn a_part_with_other_fields_or_an_existing_file_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let schema = FeatureSet::with_schema(None, None, vec![Field::new("A", FieldType::Integer)]);
        let path = dir.path().join("t.csv");
        let mut w = PartsWriter::create(&path, &schema, &SaveOptions::default()).expect("create");
        let other = FeatureSet::with_schema(None, None, vec![Field::new("B", FieldType::Integer)]);
        assert!(w.append(&other).is_err());
        drop(w);
        assert!(!path.exists(), "a dropped writer leaves nothing");
        std::fs::write(&path, "x\n").expect("write");
        assert!(matches!(
            PartsWriter::create(&path, &schema, &SaveOptions::default()),
            Err(Error::Exists { .. })
        ));
    }
}

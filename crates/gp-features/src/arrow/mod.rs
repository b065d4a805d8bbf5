//! Feature sets as Apache Arrow record batches (arrow-rs), the geometry in the
//! GeoArrow `geoarrow.wkb` encoding, so GeoPandas, pyarrow, polars and DuckDB take
//! them without a copy per feature; and any Arrow table with a WKB geometry column
//! back into a [`FeatureSet`].
//!
//! Columns: one per attribute field, in order, typed from the Esri field type (OID
//! and big integers `Int64`, integers `Int32`, small integers `Int16`, doubles
//! `Float64`, singles `Float32`, dates `Timestamp(ms, UTC)`, everything else
//! `Utf8`), each carrying its Esri type as the field metadata `esri:type`; then the
//! geometry column `geometry` (`Binary`, ISO WKB, polygons as MultiPolygon with OGC
//! ring order), whose extension metadata names the CRS (`EPSG:<code>` or
//! `ESRI:<code>`, else the WKT). Geometries are flattened and encoded in parallel
//! batches (rayon), as the GeoPackage writer does.

mod read;
mod write;

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use gp_model::{FeatureSet, FieldType};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::flat::{FlatBatch, FlatSchema};
use crate::repair::Fixes;
use crate::sink::{Encoded, Encoder, Sink};

pub use read::from_arrow;
use write::{ArrowSink, Collected, Layout, WkbEncoder};

/// The name of the geometry column written by [`to_arrow`].
pub const GEOMETRY_COLUMN: &str = "geometry";
/// The field metadata key holding a column's Esri field type.
pub const ESRI_TYPE_KEY: &str = "esri:type";
/// Features per record batch written by [`to_arrow`].
const BATCH: usize = 8192;

/// A feature set as Arrow: the schema and its record batches.
#[derive(Debug, Clone)]
pub struct ArrowFeatures {
    /// The columns (attributes, then `geometry` when the set has geometries).
    pub schema: SchemaRef,
    /// The rows, in order.
    pub batches: Vec<RecordBatch>,
}

impl ArrowFeatures {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

pub(crate) fn arrow_err(column: &str, message: impl Into<String>) -> Error {
    Error::Arrow {
        column: column.to_string(),
        message: message.into(),
    }
}

/// The Arrow column type of an Esri field type.
pub(crate) fn data_type(t: &FieldType) -> DataType {
    match t {
        FieldType::Oid | FieldType::BigInteger => DataType::Int64,
        FieldType::Integer => DataType::Int32,
        FieldType::SmallInteger => DataType::Int16,
        FieldType::Double => DataType::Float64,
        FieldType::Single => DataType::Float32,
        FieldType::Date => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        _ => DataType::Utf8,
    }
}

/// The Arrow schema [`to_arrow`] gives `fs`, without converting its features.
pub fn schema(fs: &FeatureSet) -> SchemaRef {
    Layout::of(fs, true).schema
}

/// A feature set as Arrow record batches (see the module docs), encoded in
/// parallel batches. Attribute values that do not fit their column's type (text in
/// a number field, a fraction in an integer field) are an error naming the column
/// and the feature.
pub fn to_arrow(fs: &FeatureSet) -> Result<ArrowFeatures> {
    let layout = Layout::of(fs, true);
    let header = FeatureSet {
        fields: Some(layout.fields.clone()),
        ..FeatureSet::default()
    };
    let flat = FlatSchema::new(&header);
    let enc = WkbEncoder {
        z: fs.has_z,
        m: fs.has_m,
    };
    let batches = fs
        .features
        .par_chunks(BATCH)
        .enumerate()
        .map(|(n, chunk)| {
            let fixes = Fixes::default();
            let mut b = FlatBatch::new(&flat, n * BATCH);
            for f in chunk {
                b.push(&flat, f, &fixes);
            }
            let mut wkb = Encoded::default();
            enc.encode(&b, &mut wkb)?;
            layout.record_batch(&b, &wkb)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ArrowFeatures {
        schema: layout.schema,
        batches,
    })
}

/// An Esri JSON feature set (or a GP result parameter whose value is one) read
/// once from `reader` (an HTTP body as it arrives) into Arrow record batches:
/// parsed and encoded in parallel batches as it comes, never held whole as a
/// [`FeatureSet`]. Returns the feature set's schema (no features; with
/// `exceeded_transfer_limit` when the server cut it) and the batches. `source`
/// names the input in errors.
///
/// `Ok(None)` when the stream cannot be read in one pass: it is not a feature set,
/// its `fields` or `geometryType` come after the features, or it has no `fields`
/// (the columns would not be known before the rows). Read it whole and use
/// [`to_arrow`] then.
pub fn esri_json_to_arrow<R: Read + Send>(
    reader: R,
    source: &str,
) -> Result<Option<(FeatureSet, ArrowFeatures)>> {
    let collected = Arc::new(Mutex::new(Collected::default()));
    let mut sink = Sink::Batches(Box::new(ArrowSink::new(collected.clone())));
    let fixes = Fixes::default();
    let Some((_, header)) =
        crate::stream::read_esri_json_reader(reader, Path::new(source), &mut sink, &fixes)?
    else {
        return Ok(None);
    };
    sink.finish()?;
    let mut c = collected
        .lock()
        .map_err(|_| arrow_err(GEOMETRY_COLUMN, "a writing thread failed"))?;
    let Some(layout) = c.layout.take() else {
        return Ok(None);
    };
    Ok(Some((
        header,
        ArrowFeatures {
            schema: layout.schema,
            batches: std::mem::take(&mut c.batches),
        },
    )))
}

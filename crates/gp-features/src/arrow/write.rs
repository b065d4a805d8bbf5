//! Writing: the Arrow schema of a feature set, its flat batches as record batches,
//! and the sink that collects a stream's batches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow_array::builder::{
    BinaryBuilder, Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field as ArrowField, Schema, SchemaRef};
use gp_model::{AttrValue, FeatureSet, Field, FieldType, SpatialReference};

use super::{ESRI_TYPE_KEY, GEOMETRY_COLUMN, arrow_err, data_type};
use crate::error::Result;
use crate::flat::FlatBatch;
use crate::sink::{BatchWriter, Encoded, Encoder, FeatureSink};

/// The attribute fields: the declared ones (without the geometry field), else
/// inferred from the values (integers `BigInteger`, other numbers `Double`, the rest
/// `String`).
pub(super) fn attribute_fields(fs: &FeatureSet) -> Vec<Field> {
    if fs.fields.is_some() {
        return crate::schema::attribute_fields(fs);
    }
    let mut kinds: indexmap::IndexMap<&str, FieldType> = indexmap::IndexMap::new();
    for f in &fs.features {
        for (name, v) in &f.attributes {
            let seen = match v {
                AttrValue::Int(_) | AttrValue::UInt(_) => Some(FieldType::BigInteger),
                AttrValue::Float(_) => Some(FieldType::Double),
                AttrValue::Null => None,
                _ => Some(FieldType::String),
            };
            let slot = kinds
                .entry(name.as_str())
                .or_insert(FieldType::SmallInteger);
            *slot = match (slot.clone(), seen) {
                (t, None) => t,
                (FieldType::SmallInteger, Some(s)) => s,
                (FieldType::BigInteger, Some(FieldType::Double)) => FieldType::Double,
                (FieldType::String, _) | (_, Some(FieldType::String)) => FieldType::String,
                (t, Some(_)) => t,
            };
        }
    }
    kinds
        .into_iter()
        .map(|(name, t)| Field::new(name, t))
        .collect()
}

/// The CRS text of a spatial reference, as GeoArrow metadata carries it.
fn crs_text(sr: &SpatialReference) -> Option<String> {
    match sr.latest_wkid.or(sr.wkid) {
        Some(code) if code >= 100_000 || (53_000..60_000).contains(&code) => {
            Some(format!("ESRI:{code}"))
        }
        Some(code) if code > 0 => Some(format!("EPSG:{code}")),
        _ => sr.wkt2.clone().or_else(|| sr.wkt.clone()),
    }
}

/// The Arrow schema of a feature set.
fn schema_of(fs: &FeatureSet, fields: &[Field], geometry: bool) -> SchemaRef {
    let mut cols: Vec<ArrowField> = fields
        .iter()
        .map(|f| {
            ArrowField::new(&f.name, data_type(&f.field_type), true).with_metadata(HashMap::from([
                (ESRI_TYPE_KEY.to_string(), f.field_type.to_string()),
            ]))
        })
        .collect();
    if geometry {
        let mut meta = serde_json::Map::new();
        if let Some(crs) = fs.spatial_reference.as_ref().and_then(crs_text) {
            meta.insert("crs".into(), crs.into());
        }
        cols.push(
            ArrowField::new(GEOMETRY_COLUMN, DataType::Binary, true).with_metadata(HashMap::from(
                [
                    (
                        "ARROW:extension:name".to_string(),
                        "geoarrow.wkb".to_string(),
                    ),
                    (
                        "ARROW:extension:metadata".to_string(),
                        serde_json::Value::Object(meta).to_string(),
                    ),
                ],
            )),
        );
    }
    Arc::new(Schema::new(cols))
}

/// The columns of a feature set and where each attribute sits in its flat batches.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub(super) schema: SchemaRef,
    pub(super) fields: Vec<Field>,
    /// The flat batch slot of each attribute field.
    slots: Vec<usize>,
    geometry: bool,
}

impl Layout {
    /// The layout of `fs`, whose flat batches have a slot per entry of its `fields`
    /// (or, with `inferred`, per attribute field, inferred when `fields` is absent).
    pub(super) fn of(fs: &FeatureSet, inferred: bool) -> Layout {
        let fields = attribute_fields(fs);
        let slots = if inferred {
            (0..fields.len()).collect()
        } else {
            let all = fs.fields.as_deref().unwrap_or_default();
            fields
                .iter()
                .map(|f| all.iter().position(|a| a.name == f.name).unwrap_or(0))
                .collect()
        };
        let geometry =
            fs.geometry_type.is_some() || fs.features.iter().any(|f| f.geometry.is_some());
        Layout {
            schema: schema_of(fs, &fields, geometry),
            fields,
            slots,
            geometry,
        }
    }

    /// The record batch of a flat batch whose geometries `wkb` holds (an empty item
    /// is a null geometry).
    pub(super) fn record_batch(&self, b: &FlatBatch, wkb: &Encoded) -> Result<RecordBatch> {
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.fields.len() + 1);
        for (f, k) in self.fields.iter().zip(&self.slots) {
            cols.push(column(b, *k, f)?);
        }
        if self.geometry {
            let mut out = BinaryBuilder::with_capacity(b.len(), wkb.bytes.len());
            for i in 0..b.len() {
                match wkb.item(i) {
                    [] => out.append_null(),
                    item => out.append_value(item),
                }
            }
            cols.push(Arc::new(out.finish()));
        }
        RecordBatch::try_new(self.schema.clone(), cols)
            .map_err(|e| arrow_err(GEOMETRY_COLUMN, e.to_string()))
    }
}

/// Each feature's geometry as WKB (nothing for a null geometry), on any thread.
#[derive(Debug, Clone, Copy)]
pub(super) struct WkbEncoder {
    pub(super) z: bool,
    pub(super) m: bool,
}

impl Encoder for WkbEncoder {
    fn encode(&self, b: &FlatBatch, out: &mut Encoded) -> Result<()> {
        for i in 0..b.len() {
            match b.get(i).geometry {
                Some(g) => {
                    crate::wkb::put_wkb(&mut out.bytes, &g, self.z, self.m);
                    out.close(g.bbox());
                }
                None => out.close([f64::INFINITY; 4]),
            }
        }
        Ok(())
    }
}

/// What an [`ArrowSink`] collected: the layout (`None` until started, or when the
/// stream has no `fields`) and the batches.
#[derive(Debug, Default)]
pub(super) struct Collected {
    pub(super) layout: Option<Layout>,
    pub(super) batches: Vec<RecordBatch>,
}

/// A sink that turns a stream's flat batches into record batches.
pub(super) struct ArrowSink {
    out: Arc<Mutex<Collected>>,
    layout: Option<Layout>,
    enc: Option<Arc<dyn Encoder>>,
    batches: Vec<RecordBatch>,
}

impl ArrowSink {
    pub(super) fn new(out: Arc<Mutex<Collected>>) -> Self {
        ArrowSink {
            out,
            layout: None,
            enc: None,
            batches: Vec::new(),
        }
    }
}

impl FeatureSink for ArrowSink {
    fn start(&mut self, schema: &FeatureSet) -> Result<()> {
        if schema.fields.is_some() {
            self.layout = Some(Layout::of(schema, false));
        }
        self.enc = Some(Arc::new(WkbEncoder {
            z: schema.has_z,
            m: schema.has_m,
        }));
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let mut c = self
            .out
            .lock()
            .map_err(|_| arrow_err(GEOMETRY_COLUMN, "a writing thread failed"))?;
        c.layout = self.layout;
        c.batches = self.batches;
        Ok(())
    }
}

impl BatchWriter for ArrowSink {
    fn encoder(&self) -> Option<Arc<dyn Encoder>> {
        self.enc.clone()
    }

    fn encoded(&mut self, batch: &FlatBatch, enc: Encoded) -> Result<()> {
        if let Some(layout) = &self.layout {
            self.batches.push(layout.record_batch(batch, &enc)?);
        }
        Ok(())
    }
}

/// An integer from a number that is one.
fn int_of(v: &AttrValue) -> Option<i64> {
    match v {
        AttrValue::Int(i) => Some(*i),
        AttrValue::UInt(u) => i64::try_from(*u).ok(),
        AttrValue::Float(x) if x.fract() == 0.0 && x.abs() < 9.007_199_254_740_992e15 => {
            Some(*x as i64)
        }
        AttrValue::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn float_of(v: &AttrValue) -> Option<f64> {
    match v {
        AttrValue::Int(i) => Some(*i as f64),
        AttrValue::UInt(u) => Some(*u as f64),
        AttrValue::Float(x) => Some(*x),
        _ => None,
    }
}

/// Attribute slot `k` of a batch as a column of `f`'s type.
fn column(b: &FlatBatch, k: usize, f: &Field) -> Result<ArrayRef> {
    let mut scratch = AttrValue::Null;
    let bad = |i: usize, v: &AttrValue| {
        arrow_err(
            &f.name,
            format!(
                "feature {} has {} where the field is {}",
                b.first + i,
                serde_json::to_string(v).unwrap_or_default(),
                f.field_type
            ),
        )
    };
    macro_rules! typed {
        ($builder:expr, $conv:expr) => {{
            let mut out = $builder;
            for i in 0..b.len() {
                match b.get(i).attr(k, &mut scratch) {
                    None | Some(AttrValue::Null) => out.append_null(),
                    Some(v) => match $conv(v) {
                        Some(x) => out.append_value(x),
                        None => return Err(bad(i, v)),
                    },
                }
            }
            Arc::new(out.finish()) as ArrayRef
        }};
    }
    let n = b.len();
    Ok(match data_type(&f.field_type) {
        DataType::Int64 => typed!(Int64Builder::with_capacity(n), int_of),
        DataType::Int32 => typed!(Int32Builder::with_capacity(n), |v| int_of(v)
            .and_then(|x| i32::try_from(x).ok())),
        DataType::Int16 => typed!(Int16Builder::with_capacity(n), |v| int_of(v)
            .and_then(|x| i16::try_from(x).ok())),
        DataType::Float64 => typed!(Float64Builder::with_capacity(n), float_of),
        DataType::Float32 => typed!(Float32Builder::with_capacity(n), |v| float_of(v)
            .map(|x| x as f32)),
        DataType::Timestamp(..) => typed!(
            TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC"),
            int_of
        ),
        _ => {
            let mut out = StringBuilder::with_capacity(n, n * 8);
            for i in 0..n {
                match b.get(i).attr(k, &mut scratch) {
                    None | Some(AttrValue::Null) => out.append_null(),
                    Some(AttrValue::String(s)) => out.append_value(s),
                    Some(AttrValue::Json(j)) => out.append_value(j.to_string()),
                    Some(v) => out.append_value(serde_json::to_string(v).unwrap_or_default()),
                }
            }
            Arc::new(out.finish())
        }
    })
}

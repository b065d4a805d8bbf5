//! Typed GP values: encoding to form fields and decoding by `dataType`.

use crate::scalars::{date_from_millis, parse_bool, parse_date_text};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::datatype::DataType;
use crate::decode::from_json_str;
use crate::error::{Error, Result};
use crate::featureset::{FeatureCollection, FeatureSet};
use crate::fields::Field;
use crate::geometry::Envelope;
use crate::geometry::sr::SpatialReference;
use crate::ids::ItemId;
use crate::text::value_err;
use crate::units::{ArealUnit, LinearUnit, TimeUnit};

/// A reference to data by URL or uploaded item: `{"url": ...}`, `{"itemID": ...}`,
/// `{"portalItemID": ...}`, with the optional extras servers and clients use
/// (`format` for rasters, `filter`/`time` for layer URLs, `token` for secured inputs).
///
/// `Debug` never prints the token.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataRef {
    /// URL of a file, layer or image service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Uploaded item id.
    #[serde(rename = "itemID", default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<ItemId>,
    /// Portal item id (10.8+, federated).
    #[serde(
        rename = "portalItemID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub portal_item_id: Option<String>,
    /// Raster format (`tif`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Where clause for layer URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Time filter for layer URLs (number or `"t1,t2"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<serde_json::Value>,
    /// `type` (`ImageService` for 11.4+ image service outputs).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub ref_type: Option<String>,
    /// Token for a secured input on another server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl DataRef {
    /// A reference by URL.
    pub fn url(url: impl Into<String>) -> Self {
        DataRef {
            url: Some(url.into()),
            ..Default::default()
        }
    }

    /// A reference to an uploaded item.
    pub fn item(item_id: impl Into<ItemId>) -> Self {
        DataRef {
            item_id: Some(item_id.into()),
            ..Default::default()
        }
    }
}

impl fmt::Debug for DataRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataRef")
            .field("url", &self.url)
            .field("item_id", &self.item_id)
            .field("portal_item_id", &self.portal_item_id)
            .field("format", &self.format)
            .field("filter", &self.filter)
            .field("time", &self.time)
            .field("ref_type", &self.ref_type)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A map image of a result (`{"mapImage": {...}}`), from a service with a result map service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapImage {
    /// URL of the image.
    pub href: String,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Extent drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extent: Option<Envelope>,
    /// Map scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
}

/// A string whose value is not shown by `Debug` (`GPStringHidden`).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HiddenString(pub String);

impl fmt::Debug for HiddenString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HiddenString(<redacted>)")
    }
}

/// A `GPValueTable`: rows of cells, with column names when the rows were objects.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValueTable {
    /// Column names, when known (rows written as objects, or from `parameterInfos`).
    pub columns: Option<Vec<String>>,
    /// The rows.
    pub rows: Vec<Vec<GpValue>>,
}

/// A typed GP value.
///
/// [`GpValue::to_form_text`] gives the exact text of the form field the server expects;
/// [`GpValue::decode`] reads a result `value` by its `dataType`.
///
/// ```
/// use gp_model::{DataType, GpValue};
/// let v = GpValue::parse_text(&DataType::LinearUnit, "5 feet").unwrap();
/// assert_eq!(v.to_form_text(), r#"{"distance":5.0,"units":"esriFeet"}"#);
/// let d = GpValue::parse_text(&DataType::Date, "2024-05-01").unwrap();
/// assert_eq!(d.to_form_text(), "1714521600000");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum GpValue {
    /// No value (sent as an empty field).
    Null,
    /// `GPString`, `GPSQLExpression`.
    String(String),
    /// `GPLong`.
    Long(i64),
    /// `GPDouble`.
    Double(f64),
    /// `GPBoolean`.
    Boolean(bool),
    /// `GPDate`, millisecond precision, UTC.
    Date(DateTime<Utc>),
    /// `GPLinearUnit`.
    LinearUnit(LinearUnit),
    /// `GPArealUnit`.
    ArealUnit(ArealUnit),
    /// `GPTimeUnit`.
    TimeUnit(TimeUnit),
    /// `GPFeatureRecordSetLayer` given inline.
    FeatureSet(FeatureSet),
    /// `GPRecordSet` given inline.
    RecordSet(FeatureSet),
    /// A feature collection (`layerDefinition` + `featureSet`).
    FeatureCollection(Box<FeatureCollection>),
    /// Data by URL or item: layer URLs, rasters (`GPRasterDataLayer`), files (`GPDataFile`).
    DataRef(DataRef),
    /// A map image of a result.
    MapImage(MapImage),
    /// `Field`.
    Field(Field),
    /// `GPMultiValue:<T>`.
    MultiValue(Vec<GpValue>),
    /// `GPValueTable`.
    ValueTable(ValueTable),
    /// `GPSpatialReference`.
    SpatialReference(SpatialReference),
    /// `GPExtent`.
    Extent(Envelope),
    /// `GPStringHidden`.
    HiddenString(HiddenString),
    /// A `GPComposite` input: a value of one of the member types, sent with its type.
    Composite(Box<Composite>),
    /// Any other JSON (unknown data types).
    Json(serde_json::Value),
}

/// A value of a `GPComposite` parameter, as one of its member types; sent as
/// `{"dataType": "GPLinearUnit", "value": {...}}`, the form servers take first.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite {
    /// The member type.
    pub data_type: DataType,
    /// The value.
    pub value: GpValue,
}

impl Serialize for GpValue {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            GpValue::Null => s.serialize_unit(),
            GpValue::String(v) => s.serialize_str(v),
            GpValue::HiddenString(v) => s.serialize_str(&v.0),
            GpValue::Long(v) => s.serialize_i64(*v),
            GpValue::Double(v) => s.serialize_f64(*v),
            GpValue::Boolean(v) => s.serialize_bool(*v),
            GpValue::Date(d) => s.serialize_i64(d.timestamp_millis()),
            GpValue::LinearUnit(v) => v.serialize(s),
            GpValue::ArealUnit(v) => v.serialize(s),
            GpValue::TimeUnit(v) => v.serialize(s),
            GpValue::FeatureSet(v) | GpValue::RecordSet(v) => v.serialize(s),
            GpValue::FeatureCollection(v) => v.serialize(s),
            GpValue::DataRef(v) => v.serialize(s),
            GpValue::MapImage(v) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("mapImage", v)?;
                m.end()
            }
            GpValue::Field(v) => v.serialize(s),
            GpValue::MultiValue(v) => s.collect_seq(v),
            GpValue::ValueTable(t) => match &t.columns {
                Some(cols) if t.rows.iter().all(|r| r.len() == cols.len()) => {
                    s.collect_seq(t.rows.iter().map(|r| {
                        cols.iter()
                            .zip(r)
                            .collect::<indexmap::IndexMap<&String, &GpValue>>()
                    }))
                }
                _ => s.collect_seq(&t.rows),
            },
            GpValue::SpatialReference(v) => v.serialize(s),
            GpValue::Extent(v) => v.serialize(s),
            GpValue::Composite(c) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("dataType", &c.data_type.to_string())?;
                m.serialize_entry("value", &c.value)?;
                m.end()
            }
            GpValue::Json(v) => v.serialize(s),
        }
    }
}

/// The shape of a feature, raster or file value, found by scanning its keys.
#[derive(Deserialize)]
struct Shape {
    #[serde(rename = "mapImage", default)]
    map_image: Option<IgnoredAny>,
    #[serde(rename = "layerDefinition", default)]
    layer_definition: Option<IgnoredAny>,
    #[serde(rename = "featureSet", default)]
    feature_set: Option<IgnoredAny>,
    #[serde(default)]
    features: Option<IgnoredAny>,
    #[serde(default)]
    url: Option<IgnoredAny>,
    #[serde(rename = "itemID", default)]
    item_id: Option<IgnoredAny>,
    #[serde(rename = "portalItemID", default)]
    portal_item_id: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct MapImageWrap {
    #[serde(rename = "mapImage")]
    map_image: MapImage,
}

impl GpValue {
    /// Removes the tokens data references carry (`{"url", "token"}`), in lists too:
    /// what a server records of a job's inputs must not hold credentials.
    pub fn strip_tokens(&mut self) {
        match self {
            GpValue::DataRef(d) => d.token = None,
            GpValue::MultiValue(items) => items.iter_mut().for_each(GpValue::strip_tokens),
            _ => {}
        }
    }

    /// Decodes a JSON `value` (as text) by its data type, streaming: large feature sets
    /// are parsed straight into their types, without a `serde_json::Value` tree.
    pub fn decode(dt: &DataType, json: &str) -> Result<GpValue> {
        let trimmed = json.trim_start();
        if trimmed.starts_with("null") && json.trim() == "null" {
            return Ok(GpValue::Null);
        }
        match dt {
            DataType::FeatureRecordSetLayer
            | DataType::RecordSet
            | DataType::RasterDataLayer
            | DataType::RasterData
            | DataType::DataFile => Self::decode_data(dt, json),
            DataType::MultiValue(inner) => {
                let items: Vec<Box<serde_json::value::RawValue>> =
                    from_json_str("multivalue", json).map_err(|e| {
                        value_err(dt, format!("expected a JSON array of values: {e}"))
                    })?;
                items
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        Self::decode(inner, r.get())
                            .map_err(|e| value_err(dt, format!("item [{i}]: {e}")))
                    })
                    .collect::<Result<Vec<_>>>()
                    .map(GpValue::MultiValue)
            }
            _ => {
                let v: serde_json::Value = from_json_str("GP value", json)?;
                Self::from_json(dt, &v)
            }
        }
    }

    fn decode_data(dt: &DataType, json: &str) -> Result<GpValue> {
        if !json.trim_start().starts_with('{') {
            return Err(value_err(dt, "expected a JSON object"));
        }
        // The common case first, in one pass: a feature set with features. Other
        // shapes (references, map images, feature collections, empty sets) are told
        // apart below, by their keys.
        if matches!(dt, DataType::FeatureRecordSetLayer | DataType::RecordSet)
            && let Ok(fs) = from_json_str::<FeatureSet>("feature set", json)
            && !fs.features.is_empty()
        {
            return Ok(if *dt == DataType::RecordSet {
                GpValue::RecordSet(fs)
            } else {
                GpValue::FeatureSet(fs)
            });
        }
        let shape: Shape = from_json_str("GP value", json)
            .map_err(|e| value_err(dt, format!("expected a JSON object: {e}")))?;
        if shape.map_image.is_some() {
            let w: MapImageWrap = from_json_str("map image", json)?;
            return Ok(GpValue::MapImage(w.map_image));
        }
        if shape.layer_definition.is_some() && shape.feature_set.is_some() {
            let c: FeatureCollection = from_json_str("feature collection", json)?;
            return Ok(GpValue::FeatureCollection(Box::new(c)));
        }
        let is_ref =
            shape.url.is_some() || shape.item_id.is_some() || shape.portal_item_id.is_some();
        match dt {
            DataType::FeatureRecordSetLayer | DataType::RecordSet
                if shape.features.is_some() || !is_ref =>
            {
                let fs: FeatureSet = from_json_str("feature set", json)?;
                Ok(if *dt == DataType::RecordSet {
                    GpValue::RecordSet(fs)
                } else {
                    GpValue::FeatureSet(fs)
                })
            }
            _ if is_ref => Ok(GpValue::DataRef(from_json_str("data reference", json)?)),
            _ => Err(value_err(
                dt,
                "expected {\"url\": ...}, {\"itemID\": ...} or {\"portalItemID\": ...}",
            )),
        }
    }

    /// Decodes an already parsed JSON value by data type (used for `defaultValue`).
    pub fn from_json(dt: &DataType, v: &serde_json::Value) -> Result<GpValue> {
        use serde_json::Value as J;
        if v.is_null() {
            return Ok(GpValue::Null);
        }
        let bad = |what: &str| value_err(dt, format!("expected {what}, got `{v}`"));
        Ok(match dt {
            DataType::String | DataType::SqlExpression => match v {
                J::String(s) => GpValue::String(s.clone()),
                J::Number(_) | J::Bool(_) => GpValue::String(v.to_string()),
                _ => return Err(bad("a string")),
            },
            DataType::StringHidden => match v {
                J::String(s) => GpValue::HiddenString(HiddenString(s.clone())),
                _ => return Err(bad("a string")),
            },
            DataType::Long => match v {
                J::Number(n) => match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) => GpValue::Long(i),
                    (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                        GpValue::Long(f as i64)
                    }
                    _ => return Err(bad("a 64-bit integer")),
                },
                J::String(s) => GpValue::Long(s.trim().parse().map_err(|_| bad("an integer"))?),
                _ => return Err(bad("an integer")),
            },
            DataType::Double => match v {
                J::Number(n) => GpValue::Double(n.as_f64().ok_or_else(|| bad("a number"))?),
                J::String(s) => match s.trim().parse::<f64>() {
                    Ok(f) if f.is_finite() => GpValue::Double(f),
                    _ => return Err(bad("a finite number")),
                },
                _ => return Err(bad("a number")),
            },
            DataType::Boolean => match v {
                J::Bool(b) => GpValue::Boolean(*b),
                J::String(s) => {
                    GpValue::Boolean(parse_bool(s).ok_or_else(|| bad("true or false"))?)
                }
                _ => return Err(bad("true or false")),
            },
            DataType::Date => match v {
                J::Number(n) => match n.as_i64() {
                    Some(ms) => GpValue::Date(date_from_millis(dt, ms)?),
                    None => return Err(bad("epoch milliseconds")),
                },
                J::String(s) => GpValue::Date(parse_date_text(dt, s)?),
                J::Object(o) => match o.get("date") {
                    Some(J::String(s)) => GpValue::Date(parse_date_text(dt, s)?),
                    _ => return Err(bad("epoch milliseconds")),
                },
                _ => return Err(bad("epoch milliseconds")),
            },
            DataType::LinearUnit => GpValue::LinearUnit(typed(dt, v)?),
            DataType::ArealUnit => GpValue::ArealUnit(typed(dt, v)?),
            DataType::TimeUnit => GpValue::TimeUnit(typed(dt, v)?),
            DataType::Field => GpValue::Field(typed(dt, v)?),
            DataType::SpatialReference => GpValue::SpatialReference(typed(dt, v)?),
            DataType::Extent => match crate::geometry::Geometry::deserialize(v) {
                Ok(crate::geometry::Geometry::Envelope(e)) => GpValue::Extent(e),
                Ok(_) => return Err(bad("an envelope {xmin, ymin, xmax, ymax}")),
                Err(e) => return Err(value_err(dt, e.to_string())),
            },
            DataType::FeatureRecordSetLayer
            | DataType::RecordSet
            | DataType::RasterDataLayer
            | DataType::RasterData
            | DataType::DataFile
            | DataType::MultiValue(_) => Self::decode(dt, &v.to_string())?,
            DataType::ValueTable => GpValue::ValueTable(value_table(dt, v, None)?),
            DataType::Composite => match v {
                J::Object(o) if o.contains_key("dataType") && o.contains_key("value") => {
                    let inner =
                        DataType::parse(o.get("dataType").and_then(J::as_str).unwrap_or(""));
                    Self::from_json(&inner, o.get("value").unwrap_or(&J::Null))?
                }
                other => untyped(other),
            },
            DataType::Unknown(_) => GpValue::Json(v.clone()),
        })
    }

    /// Decodes a value table using column types (from `parameterInfos`).
    pub fn value_table_with_columns(
        v: &serde_json::Value,
        columns: &[crate::task::ParameterMember],
    ) -> Result<GpValue> {
        value_table(&DataType::ValueTable, v, Some(columns)).map(GpValue::ValueTable)
    }

    /// The exact text of the form field: scalars as plain text (`5`, `true`, epoch
    /// milliseconds for dates, the raw string), structured values as compact JSON,
    /// [`GpValue::Null`] as the empty string.
    pub fn to_form_text(&self) -> String {
        match self {
            GpValue::Null => String::new(),
            GpValue::String(s) => s.clone(),
            GpValue::HiddenString(s) => s.0.clone(),
            GpValue::Long(i) => i.to_string(),
            GpValue::Double(f) => serde_json::to_string(f).unwrap_or_default(),
            GpValue::Boolean(b) => b.to_string(),
            GpValue::Date(d) => d.timestamp_millis().to_string(),
            other => serde_json::to_string(other).unwrap_or_default(),
        }
    }

    /// The JSON form (what a result's `value` holds).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Checks what the type system cannot: finite doubles and coordinates, units
    /// with finite amounts.
    pub fn validate(&self) -> Result<()> {
        match self {
            GpValue::Double(f) if !f.is_finite() => {
                Err(value_err(&DataType::Double, format!("{f} is not finite")))
            }
            GpValue::LinearUnit(u) if !u.distance.is_finite() => Err(value_err(
                &DataType::LinearUnit,
                "the distance is not finite",
            )),
            GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) => {
                for (i, f) in fs.features.iter().enumerate() {
                    if let Some(g) = &f.geometry {
                        g.validate().map_err(|e| Error::Geometry {
                            path: format!("features[{i}].geometry"),
                            reason: e.to_string(),
                        })?;
                    }
                }
                Ok(())
            }
            GpValue::MultiValue(items) => items.iter().try_for_each(GpValue::validate),
            _ => Ok(()),
        }
    }
}

fn typed<T: serde::de::DeserializeOwned>(dt: &DataType, v: &serde_json::Value) -> Result<T> {
    crate::decode::from_json_value("GP value", v).map_err(|e| value_err(dt, e.to_string()))
}

fn untyped(v: &serde_json::Value) -> GpValue {
    use serde_json::Value as J;
    match v {
        J::Null => GpValue::Null,
        J::Bool(b) => GpValue::Boolean(*b),
        J::Number(n) => n
            .as_i64()
            .map(GpValue::Long)
            .unwrap_or_else(|| GpValue::Double(n.as_f64().unwrap_or(f64::NAN))),
        J::String(s) => GpValue::String(s.clone()),
        other => GpValue::Json(other.clone()),
    }
}

fn value_table(
    dt: &DataType,
    v: &serde_json::Value,
    members: Option<&[crate::task::ParameterMember]>,
) -> Result<ValueTable> {
    use serde_json::Value as J;
    let J::Array(rows) = v else {
        return Err(value_err(dt, "expected an array of rows"));
    };
    let mut table = ValueTable {
        columns: members.map(|m| m.iter().map(|c| c.name.clone()).collect()),
        rows: Vec::with_capacity(rows.len()),
    };
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<&J> = match row {
            J::Array(cells) => cells.iter().collect(),
            J::Object(o) => {
                let cols = table
                    .columns
                    .get_or_insert_with(|| o.keys().cloned().collect());
                cols.iter().map(|c| o.get(c).unwrap_or(&J::Null)).collect()
            }
            _ => {
                return Err(value_err(
                    dt,
                    format!("row [{i}] is neither an array nor an object"),
                ));
            }
        };
        let mut out = Vec::with_capacity(cells.len());
        for (j, c) in cells.into_iter().enumerate() {
            let cell = match members.and_then(|m| m.get(j)) {
                Some(m) => GpValue::from_json(&m.data_type, c)
                    .map_err(|e| value_err(dt, format!("row [{i}] column [{j}]: {e}")))?,
                None => untyped(c),
            };
            out.push(cell);
        }
        table.rows.push(out);
    }
    Ok(table)
}

//! Fields and attribute values.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

crate::vocab::vocab! {
    /// `esriFieldType*`.
    pub enum FieldType {
        /// Object id.
        Oid = "esriFieldTypeOID",
        /// Global id (`{XXXXXXXX-...}`).
        GlobalId = "esriFieldTypeGlobalID",
        /// GUID.
        Guid = "esriFieldTypeGUID",
        /// Text.
        String = "esriFieldTypeString",
        /// 16-bit integer.
        SmallInteger = "esriFieldTypeSmallInteger",
        /// 32-bit integer.
        Integer = "esriFieldTypeInteger",
        /// 64-bit integer (11.2+).
        BigInteger = "esriFieldTypeBigInteger",
        /// 32-bit float.
        Single = "esriFieldTypeSingle",
        /// 64-bit float.
        Double = "esriFieldTypeDouble",
        /// Date and time, epoch milliseconds UTC.
        Date = "esriFieldTypeDate",
        /// Date only (11.2+).
        DateOnly = "esriFieldTypeDateOnly",
        /// Time only (11.2+).
        TimeOnly = "esriFieldTypeTimeOnly",
        /// Timestamp with offset (11.2+).
        TimestampOffset = "esriFieldTypeTimestampOffset",
        /// The geometry column.
        Geometry = "esriFieldTypeGeometry",
        /// Binary.
        Blob = "esriFieldTypeBlob",
        /// Raster.
        Raster = "esriFieldTypeRaster",
        /// XML.
        Xml = "esriFieldTypeXML",
    }
}

impl FieldType {
    /// True for integer types (OID, SmallInteger, Integer, BigInteger).
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            FieldType::Oid | FieldType::SmallInteger | FieldType::Integer | FieldType::BigInteger
        )
    }
}

/// A field definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Field type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Alias shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Maximum length (strings; 8 for 64-bit OIDs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Attribute domain, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<serde_json::Value>,
    /// Editable flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editable: Option<bool>,
    /// Nullable flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
    /// Default value, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<serde_json::Value>,
    /// SQL type name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_type: Option<String>,
}

impl Field {
    /// A field with a name and type and nothing else.
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Self {
        Field {
            name: name.into(),
            field_type,
            alias: None,
            length: None,
            domain: None,
            editable: None,
            nullable: None,
            default_value: None,
            sql_type: None,
        }
    }

    /// Sets the alias.
    pub fn with_alias(mut self, alias: impl Into<String>) -> Self {
        self.alias = Some(alias.into());
        self
    }

    /// Sets the length.
    pub fn with_length(mut self, length: u32) -> Self {
        self.length = Some(length);
        self
    }
}

/// One attribute value. Integers stay integers (64-bit exact); values beyond
/// `i64::MAX` are kept as `UInt`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AttrValue {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer (also dates as epoch milliseconds).
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// Text.
    String(String),
    /// An array or object (not standard Esri JSON, kept as written).
    Json(serde_json::Value),
}

impl AttrValue {
    /// The value as `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            AttrValue::UInt(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// The value as `f64` (integers converted).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Int(i) => Some(*i as f64),
            AttrValue::UInt(u) => Some(*u as f64),
            AttrValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value as text, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, AttrValue::Null)
    }
}

impl From<i64> for AttrValue {
    fn from(v: i64) -> Self {
        AttrValue::Int(v)
    }
}
impl From<i32> for AttrValue {
    fn from(v: i32) -> Self {
        AttrValue::Int(v.into())
    }
}
impl From<f64> for AttrValue {
    fn from(v: f64) -> Self {
        AttrValue::Float(v)
    }
}
impl From<bool> for AttrValue {
    fn from(v: bool) -> Self {
        AttrValue::Bool(v)
    }
}
impl From<&str> for AttrValue {
    fn from(v: &str) -> Self {
        AttrValue::String(v.to_string())
    }
}
impl From<String> for AttrValue {
    fn from(v: String) -> Self {
        AttrValue::String(v)
    }
}

impl Serialize for AttrValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AttrValue::Null => s.serialize_unit(),
            AttrValue::Bool(b) => s.serialize_bool(*b),
            AttrValue::Int(i) => s.serialize_i64(*i),
            AttrValue::UInt(u) => s.serialize_u64(*u),
            AttrValue::Float(f) if f.is_finite() => s.serialize_f64(*f),
            AttrValue::Float(_) => s.serialize_unit(),
            AttrValue::String(t) => s.serialize_str(t),
            AttrValue::Json(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for AttrValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AttrValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an attribute value")
            }
            fn visit_unit<E>(self) -> Result<AttrValue, E> {
                Ok(AttrValue::Null)
            }
            fn visit_none<E>(self) -> Result<AttrValue, E> {
                Ok(AttrValue::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<AttrValue, E> {
                Ok(AttrValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<AttrValue, E> {
                Ok(AttrValue::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<AttrValue, E> {
                Ok(i64::try_from(v).map_or(AttrValue::UInt(v), AttrValue::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<AttrValue, E> {
                Ok(AttrValue::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<AttrValue, E> {
                Ok(AttrValue::String(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<AttrValue, E> {
                Ok(AttrValue::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<AttrValue, A::Error> {
                serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(AttrValue::Json)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AttrValue, A::Error> {
                serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(AttrValue::Json)
            }
        }
        d.deserialize_any(V)
    }
}

/// A feature's attributes, in the order the server wrote them.
pub type Attributes = IndexMap<String, AttrValue>;

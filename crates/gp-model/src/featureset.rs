//! Feature sets and record sets.

use std::io::Read;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::Result;
use crate::fields::{Attributes, Field};
use crate::geometry::sr::SpatialReference;
use crate::geometry::{Dims, Geometry, GeometryType, RawGeometry};

/// One feature: attributes and an optional geometry (record sets have none).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Feature {
    /// Attribute values by field name.
    pub attributes: Attributes,
    /// The geometry; `None` for a table row or a null geometry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geometry: Option<Geometry>,
}

/// An Esri JSON feature set (`GPFeatureRecordSetLayer`) or record set (`GPRecordSet`,
/// which simply has no `geometryType` and no geometries).
///
/// Reading from a [`Read`] streams with serde: no `serde_json::Value` tree is built.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureSet {
    /// `displayFieldName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_field_name: Option<String>,
    /// `objectIdFieldName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id_field_name: Option<String>,
    /// `globalIdFieldName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_id_field_name: Option<String>,
    /// `fieldAliases`: field name to alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_aliases: Option<IndexMap<String, String>>,
    /// `geometryType`; `None` for a record set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geometry_type: Option<GeometryType>,
    /// The set's spatial reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spatial_reference: Option<SpatialReference>,
    /// `hasZ` at set level.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub has_z: bool,
    /// `hasM` at set level.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub has_m: bool,
    /// The schema; `None` when the server sent no `fields` array.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<Field>>,
    /// The features.
    pub features: Vec<Feature>,
    /// `exceededTransferLimit`: true when the server cut the result at `maximumRecords`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exceeded_transfer_limit: Option<bool>,
}

impl FeatureSet {
    /// An empty feature set with a schema, like a tool's default value.
    pub fn with_schema(
        geometry_type: Option<GeometryType>,
        spatial_reference: Option<SpatialReference>,
        fields: Vec<Field>,
    ) -> Self {
        FeatureSet {
            geometry_type,
            spatial_reference,
            fields: Some(fields),
            ..Default::default()
        }
    }

    /// Parses Esri JSON text.
    pub fn from_json(s: &str) -> Result<Self> {
        crate::decode::from_json_str("feature set", s)
    }

    /// Parses Esri JSON from a reader, streaming (wrap files in a `BufReader`).
    pub fn from_reader<R: Read>(r: R) -> Result<Self> {
        crate::decode::from_json_reader("feature set", r)
    }

    /// Writes compact Esri JSON.
    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The set-level dims.
    pub fn dims(&self) -> Dims {
        Dims {
            has_z: self.has_z,
            has_m: self.has_m,
        }
    }

    /// The field definition of `name`, compared case-insensitively.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// True when this is a record set (no geometry type).
    pub fn is_record_set(&self) -> bool {
        self.geometry_type.is_none()
    }
}

fn lenient_sr<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<SpatialReference>, D::Error> {
    // Some mocks write `"spatialReference": []`; treat anything but an object as absent.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Sr(Box<SpatialReference>),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Option::<Either>::deserialize(d)? {
        Some(Either::Sr(sr)) => Some(*sr),
        _ => None,
    })
}

#[derive(Deserialize)]
struct RawFeature {
    #[serde(default)]
    attributes: Option<Attributes>,
    #[serde(default)]
    geometry: Option<RawGeometry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFeatureSet {
    #[serde(default)]
    display_field_name: Option<String>,
    #[serde(default)]
    object_id_field_name: Option<String>,
    #[serde(default)]
    global_id_field_name: Option<String>,
    #[serde(default)]
    field_aliases: Option<IndexMap<String, String>>,
    #[serde(default)]
    geometry_type: Option<GeometryType>,
    #[serde(default, deserialize_with = "lenient_sr")]
    spatial_reference: Option<SpatialReference>,
    #[serde(default)]
    has_z: Option<bool>,
    #[serde(default)]
    has_m: Option<bool>,
    #[serde(default)]
    fields: Option<Vec<Field>>,
    #[serde(default)]
    features: Vec<RawFeature>,
    #[serde(default)]
    exceeded_transfer_limit: Option<bool>,
}

impl RawFeatureSet {
    fn resolve(self) -> Result<FeatureSet> {
        let dims = Dims {
            has_z: self.has_z.unwrap_or(false),
            has_m: self.has_m.unwrap_or(false),
        };
        let mut features = Vec::with_capacity(self.features.len());
        for (i, f) in self.features.into_iter().enumerate() {
            let geometry = match f.geometry {
                Some(g) if g.is_blank() => None,
                Some(g) => Some(g.resolve(dims, &|| format!("features[{i}].geometry"))?),
                None => None,
            };
            features.push(Feature {
                attributes: f.attributes.unwrap_or_default(),
                geometry,
            });
        }
        Ok(FeatureSet {
            display_field_name: self.display_field_name,
            object_id_field_name: self.object_id_field_name,
            global_id_field_name: self.global_id_field_name,
            field_aliases: self.field_aliases,
            geometry_type: self.geometry_type,
            spatial_reference: self.spatial_reference,
            has_z: dims.has_z,
            has_m: dims.has_m,
            fields: self.fields,
            features,
            exceeded_transfer_limit: self.exceeded_transfer_limit,
        })
    }
}

impl<'de> Deserialize<'de> for FeatureSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        RawFeatureSet::deserialize(d)?
            .resolve()
            .map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Feature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = RawFeature::deserialize(d)?;
        let geometry = match raw.geometry {
            Some(g) if g.is_blank() => None,
            Some(g) => Some(
                g.resolve(Dims::default(), &|| "geometry".into())
                    .map_err(serde::de::Error::custom)?,
            ),
            None => None,
        };
        Ok(Feature {
            attributes: raw.attributes.unwrap_or_default(),
            geometry,
        })
    }
}

/// Parses one feature of a feature set whose set-level `hasZ`/`hasM` are `dims`
/// (for streaming readers that meet the features one at a time). `index` names the
/// feature in errors (`features[12].geometry.rings[0][3]`).
pub fn feature_from_slice(bytes: &[u8], dims: Dims, index: usize) -> Result<Feature> {
    let raw: RawFeature = serde_json::from_slice(bytes).map_err(|e| crate::Error::Json {
        what: "feature",
        path: format!("features[{index}]"),
        message: e.to_string(),
    })?;
    let geometry = match raw.geometry {
        Some(g) if g.is_blank() => None,
        Some(g) => Some(g.resolve(dims, &|| format!("features[{index}].geometry"))?),
        None => None,
    };
    Ok(Feature {
        attributes: raw.attributes.unwrap_or_default(),
        geometry,
    })
}

/// A feature collection (`returnFeatureCollection=true`): a layer definition and its features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureCollection {
    /// The layer definition (drawing info, fields, ...), kept as JSON.
    pub layer_definition: serde_json::Value,
    /// The features.
    pub feature_set: FeatureSet,
}

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
    /// A copy of everything but the features (the features are not copied).
    pub fn schema_only(&self) -> FeatureSet {
        FeatureSet {
            display_field_name: self.display_field_name.clone(),
            object_id_field_name: self.object_id_field_name.clone(),
            global_id_field_name: self.global_id_field_name.clone(),
            field_aliases: self.field_aliases.clone(),
            geometry_type: self.geometry_type.clone(),
            spatial_reference: self.spatial_reference.clone(),
            has_z: self.has_z,
            has_m: self.has_m,
            fields: self.fields.clone(),
            features: Vec::new(),
            exceeded_transfer_limit: self.exceeded_transfer_limit,
        }
    }

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

/// One feature as parsed: resolved already when the set's dims were known (or did not
/// matter), else kept raw until the end of the document.
enum Slot {
    Done(Feature, (bool, bool)),
    Raw(RawFeature),
}

/// Parses the features array, resolving each feature as soon as it can, so a large
/// feature set is never held twice (raw and resolved).
struct FeaturesSeed {
    dims: Dims,
}

impl<'de> serde::de::DeserializeSeed<'de> for FeaturesSeed {
    type Value = Vec<Slot>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Vec<Slot>, D::Error> {
        struct V(Dims);
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec<Slot>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of features")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Vec<Slot>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(raw) = seq.next_element::<RawFeature>()? {
                    let i = out.len();
                    let slot = match raw.geometry {
                        Some(ref g) if g.needs_dims() => Slot::Raw(raw),
                        _ => {
                            let inherited = raw
                                .geometry
                                .as_ref()
                                .map_or((false, false), RawGeometry::inherits_dims);
                            let f = resolve_feature(raw, self.0, i)
                                .map_err(serde::de::Error::custom)?;
                            Slot::Done(f, inherited)
                        }
                    };
                    out.push(slot);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V(self.dims))
    }
}

fn resolve_feature(f: RawFeature, dims: Dims, i: usize) -> Result<Feature> {
    let geometry = match f.geometry {
        Some(g) if g.is_blank() => None,
        Some(g) => Some(g.resolve(dims, &|| format!("features[{i}].geometry"))?),
        None => None,
    };
    Ok(Feature {
        attributes: f.attributes.unwrap_or_default(),
        geometry,
    })
}

/// The set-level flags apply to the flags a geometry did not set itself.
fn apply_set_dims(g: &mut Geometry, dims: Dims, (z, m): (bool, bool)) {
    let (add_z, add_m) = (z && dims.has_z, m && dims.has_m);
    match g {
        Geometry::Multipoint(g) => {
            g.has_z |= add_z;
            g.has_m |= add_m;
        }
        Geometry::Polyline(g) => {
            g.has_z |= add_z;
            g.has_m |= add_m;
        }
        Geometry::Polygon(g) => {
            g.has_z |= add_z;
            g.has_m |= add_m;
        }
        _ => {}
    }
}

impl<'de> Deserialize<'de> for FeatureSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FeatureSet;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an Esri JSON feature set object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<FeatureSet, A::Error> {
                use serde::de::Error as _;
                let mut fs = FeatureSet::default();
                let (mut has_z, mut has_m) = (None::<bool>, None::<bool>);
                let mut slots: Vec<Slot> = Vec::new();
                let mut seen_features = false;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "displayFieldName" => fs.display_field_name = map.next_value()?,
                        "objectIdFieldName" => fs.object_id_field_name = map.next_value()?,
                        "globalIdFieldName" => fs.global_id_field_name = map.next_value()?,
                        "fieldAliases" => fs.field_aliases = map.next_value()?,
                        "geometryType" => fs.geometry_type = map.next_value()?,
                        "spatialReference" => {
                            fs.spatial_reference = map.next_value::<LenientSr>()?.0
                        }
                        "hasZ" => has_z = map.next_value()?,
                        "hasM" => has_m = map.next_value()?,
                        "fields" => fs.fields = map.next_value()?,
                        "exceededTransferLimit" => fs.exceeded_transfer_limit = map.next_value()?,
                        "features" => {
                            if seen_features {
                                return Err(A::Error::duplicate_field("features"));
                            }
                            seen_features = true;
                            let dims = Dims {
                                has_z: has_z.unwrap_or(false),
                                has_m: has_m.unwrap_or(false),
                            };
                            slots = map.next_value_seed(FeaturesSeed { dims })?;
                        }
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                let dims = Dims {
                    has_z: has_z.unwrap_or(false),
                    has_m: has_m.unwrap_or(false),
                };
                fs.has_z = dims.has_z;
                fs.has_m = dims.has_m;
                fs.features = Vec::with_capacity(slots.len());
                for (i, slot) in slots.into_iter().enumerate() {
                    let f = match slot {
                        Slot::Done(mut f, inherited) => {
                            if let Some(g) = f.geometry.as_mut() {
                                apply_set_dims(g, dims, inherited);
                            }
                            f
                        }
                        Slot::Raw(raw) => {
                            resolve_feature(raw, dims, i).map_err(A::Error::custom)?
                        }
                    };
                    fs.features.push(f);
                }
                Ok(fs)
            }
        }
        d.deserialize_map(V)
    }
}

/// A spatial reference where some mocks write `[]`: anything but an object is absent.
struct LenientSr(Option<SpatialReference>);

impl<'de> Deserialize<'de> for LenientSr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        lenient_sr(d).map(LenientSr)
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

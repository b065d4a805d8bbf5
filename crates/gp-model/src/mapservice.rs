//! Map service metadata: the result map service of a GP service
//! (`…/MapServer/jobs/<jobId>`), its layers, and layers given as inputs.

use serde::{Deserialize, Serialize};

use crate::geometry::sr::SpatialReference;
use crate::geometry::{Envelope, GeometryType};

/// One entry of `layers` in [`MapServiceInfo`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MapLayerEntry {
    /// Layer id.
    pub id: i64,
    /// Layer name.
    pub name: String,
    /// Parent layer id, -1 for none.
    #[serde(default = "no_parent")]
    pub parent_layer_id: i64,
    /// Drawn by default.
    #[serde(default)]
    pub default_visibility: bool,
    /// Sub-layer ids of a group layer.
    #[serde(default)]
    pub sub_layer_ids: Option<Vec<i64>>,
    /// Minimum scale (0: none).
    #[serde(default)]
    pub min_scale: f64,
    /// Maximum scale (0: none).
    #[serde(default)]
    pub max_scale: f64,
    /// `Feature Layer`, `Raster Layer`, ...
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub layer_type: Option<String>,
    /// Geometry type of a feature layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry_type: Option<GeometryType>,
}

fn no_parent() -> i64 {
    -1
}

/// `…/MapServer?f=json` (and `…/MapServer/jobs/<jobId>?f=json`): the parts a GP
/// client and a map viewer read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MapServiceInfo {
    /// Server version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<f64>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_description: Option<String>,
    /// Map name (`Layers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_name: Option<String>,
    /// The layers.
    #[serde(default)]
    pub layers: Vec<MapLayerEntry>,
    /// Tables (none here).
    #[serde(default)]
    pub tables: Vec<serde_json::Value>,
    /// Spatial reference of the map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spatial_reference: Option<SpatialReference>,
    /// Extent shown first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_extent: Option<Envelope>,
    /// Extent of all layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_extent: Option<Envelope>,
    /// `esriMeters`, `esriDecimalDegrees`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    /// `PNG32,PNG24,PNG,JPG`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_image_format_types: Option<String>,
    /// `Map`, `Map,Query,Data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<String>,
    /// Largest export height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_image_height: Option<u32>,
    /// Largest export width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_image_width: Option<u32>,
    /// Most records per query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_record_count: Option<u64>,
    /// Keys this crate does not model, kept as written.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A MapServer layer's metadata (result map service layers, layer inputs): the parts
/// a GP client needs; drawing info is kept as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerInfo {
    /// Server version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<f64>,
    /// Layer id.
    #[serde(default)]
    pub id: i64,
    /// Layer name.
    #[serde(default)]
    pub name: String,
    /// `Feature Layer`, `Raster Layer`, ...
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub layer_type: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Geometry type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry_type: Option<GeometryType>,
    /// Extent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extent: Option<Envelope>,
    /// Display field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_field: Option<String>,
    /// Fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<crate::fields::Field>>,
    /// Drawing info (renderer, labels), kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawing_info: Option<serde_json::Value>,
    /// Minimum scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_scale: Option<f64>,
    /// Maximum scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_scale: Option<f64>,
    /// The object id field (feature layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id_field: Option<String>,
    /// Most features one query answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_record_count: Option<u64>,
    /// `Query`, `Query,Create,...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<String>,
    /// `JSON, geoJSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_query_formats: Option<String>,
    /// True when the query takes `orderByFields`, paging and counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_advanced_queries: Option<bool>,
    /// What the query can do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_query_capabilities: Option<crate::query::AdvancedQueryCapabilities>,
}

impl LayerInfo {
    /// The object id field: `objectIdField`, else the field of type OID.
    pub fn oid_field(&self) -> Option<&str> {
        self.object_id_field.as_deref().or_else(|| {
            self.fields.as_ref().and_then(|f| {
                f.iter()
                    .find(|f| f.field_type == crate::FieldType::Oid)
                    .map(|f| f.name.as_str())
            })
        })
    }

    /// Features per query page: the layer's `maxRecordCount`, 1000 when it does not
    /// say (ArcGIS Server's default), at least 1.
    pub fn page_size(&self) -> u64 {
        self.max_record_count.unwrap_or(1000).max(1)
    }

    /// True when queries page with `resultOffset`/`resultRecordCount`.
    pub fn supports_pagination(&self) -> bool {
        self.advanced_query_capabilities
            .as_ref()
            .is_some_and(|a| a.supports_pagination)
    }
}

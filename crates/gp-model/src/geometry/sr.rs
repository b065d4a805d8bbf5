//! Esri JSON spatial references.

use serde::{Deserialize, Serialize};

/// An Esri JSON spatial reference: `{"wkid": 102100, "latestWkid": 3857}` or `{"wkt": "..."}`.
///
/// The precision fields that some servers add (`xyTolerance`, `falseX`, ...) are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpatialReference {
    /// The well-known id as originally assigned (may be an Esri id such as 102100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wkid: Option<i32>,
    /// The current EPSG id for the same system (3857 for 102100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_wkid: Option<i32>,
    /// Vertical coordinate system id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcs_wkid: Option<i32>,
    /// Current id of the vertical coordinate system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_vcs_wkid: Option<i32>,
    /// Well-known text (WKT1, Esri flavour) for custom systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wkt: Option<String>,
    /// Well-known text 2 (ISO 19162), accepted by 11.4+ servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wkt2: Option<String>,
    /// XY tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xy_tolerance: Option<f64>,
    /// Z tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z_tolerance: Option<f64>,
    /// M tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m_tolerance: Option<f64>,
    /// False easting of the storage grid.
    #[serde(rename = "falseX", default, skip_serializing_if = "Option::is_none")]
    pub false_x: Option<f64>,
    /// False northing of the storage grid.
    #[serde(rename = "falseY", default, skip_serializing_if = "Option::is_none")]
    pub false_y: Option<f64>,
    /// XY units per storage unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xy_units: Option<f64>,
    /// False Z origin.
    #[serde(rename = "falseZ", default, skip_serializing_if = "Option::is_none")]
    pub false_z: Option<f64>,
    /// Z units per storage unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z_units: Option<f64>,
    /// False M origin.
    #[serde(rename = "falseM", default, skip_serializing_if = "Option::is_none")]
    pub false_m: Option<f64>,
    /// M units per storage unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m_units: Option<f64>,
}

impl SpatialReference {
    /// A spatial reference from a well-known id; Web Mercator's Esri id 102100 gets
    /// `latestWkid` 3857 as servers write it.
    pub fn from_wkid(wkid: i32) -> Self {
        let latest = match wkid {
            102100 | 102113 => Some(3857),
            _ => None,
        };
        SpatialReference {
            wkid: Some(wkid),
            latest_wkid: latest,
            ..Default::default()
        }
    }

    /// A custom spatial reference from WKT.
    pub fn from_wkt(wkt: impl Into<String>) -> Self {
        SpatialReference {
            wkt: Some(wkt.into()),
            ..Default::default()
        }
    }

    /// The best EPSG-style code: `latestWkid`, else `wkid`.
    pub fn epsg(&self) -> Option<i32> {
        self.latest_wkid.or(self.wkid)
    }

    /// True when this is WGS 84 geographic (4326).
    pub fn is_wgs84(&self) -> bool {
        self.epsg() == Some(4326)
    }
}

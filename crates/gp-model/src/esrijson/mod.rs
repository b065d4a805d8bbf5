//! Esri JSON on geozero, shaped like geozero's own GeoJSON module.
//!
//! - Source side ([`esrijson_reader`](self)): [`FeatureSet`](crate::FeatureSet) and
//!   [`Geometry`](crate::Geometry) are geozero sources, and [`EsriJson`] /
//!   [`EsriJsonReader`] parse text or a reader (streaming, no JSON tree) and process it.
//!   So an Esri JSON feature set converts to GeoJSON, WKT, WKB, FlatGeobuf, ... with
//!   any geozero sink.
//! - Sink side: [`FeatureSetBuilder`] is a geozero `FeatureProcessor` that builds a
//!   [`FeatureSet`](crate::FeatureSet) from any geozero source (GeoJSON, WKT, shapefile,
//!   FlatGeobuf, ...). [`ToFeatureSet`] does it in one call.

pub(crate) mod esrijson_reader;
pub(crate) mod esrijson_writer;

pub use esrijson_reader::*;
pub use esrijson_writer::*;

impl crate::FeatureSet {
    /// The feature set as a GeoJSON FeatureCollection (geozero's GeoJSON writer;
    /// coordinates as they are, attributes as properties).
    pub fn to_geojson(&self) -> crate::Result<String> {
        let mut fs = self.clone();
        Ok(geozero::ProcessToJson::to_json(&mut fs)?)
    }

    /// A feature set from GeoJSON text (a FeatureCollection, a Feature or a
    /// geometry), in WGS 84 as GeoJSON is.
    pub fn from_geojson(text: &str) -> crate::Result<crate::FeatureSet> {
        let mut fs = geozero::geojson::GeoJson(text).to_feature_set()?;
        if fs.spatial_reference.is_none() {
            fs.spatial_reference = Some(crate::SpatialReference::from_wkid(4326));
        }
        Ok(fs)
    }
}

//! Geometry type names.

crate::vocab::vocab! {
    /// `geometryType` of a feature set or filter, parsed case-insensitively
    /// (GDAL writes `esriGeometryMultiPoint`).
    pub enum GeometryType {
        /// `esriGeometryPoint`.
        Point = "esriGeometryPoint",
        /// `esriGeometryMultipoint`.
        Multipoint = "esriGeometryMultipoint",
        /// `esriGeometryPolyline`.
        Polyline = "esriGeometryPolyline",
        /// `esriGeometryPolygon`.
        Polygon = "esriGeometryPolygon",
        /// `esriGeometryEnvelope`.
        Envelope = "esriGeometryEnvelope",
        /// `esriGeometryMultiPatch` (filters only).
        MultiPatch = "esriGeometryMultiPatch",
    }
}

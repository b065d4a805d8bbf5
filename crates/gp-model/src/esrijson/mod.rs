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

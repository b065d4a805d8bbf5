//! # gp-model
//!
//! The pure data model of ArcGIS geoprocessing (GP) services: service and task
//! metadata, every GP data type and its value, job states and messages, the error
//! envelope, and Esri JSON geometry and feature sets with [geozero] bridges.
//!
//! No I/O, no async, no HTTP: everything here is serde types and conversions, so
//! the client, the local server and the file-format crates share one truth.
//!
//! ```
//! use gp_model::{DataType, FeatureSet, GpValue, JobInfo, JobStatus, TaskInfo};
//!
//! // Task metadata, as `…/GPServer/BufferPoints?f=json` returns it.
//! let task: TaskInfo = gp_model::from_json_str("task", r#"{
//!   "name": "BufferPoints", "executionType": "esriExecutionTypeAsynchronous",
//!   "parameters": [
//!     {"name": "Input_Features", "dataType": "GPFeatureRecordSetLayer",
//!      "direction": "esriGPParameterDirectionInput",
//!      "parameterType": "esriGPParameterTypeRequired",
//!      "defaultValue": {"geometryType": "esriGeometryPoint",
//!                       "spatialReference": {"wkid": 4326},
//!                       "fields": [{"name": "Name", "type": "esriFieldTypeString"}],
//!                       "features": []}},
//!     {"name": "Distance", "dataType": "GPLinearUnit",
//!      "direction": "esriGPParameterDirectionInput",
//!      "defaultValue": {"distance": 5, "units": "esriFeet"}}]}"#)?;
//! assert_eq!(task.is_synchronous(), Some(false));
//!
//! // arcpy's GetParameterValue: the empty FeatureSet that carries the schema.
//! let Some(GpValue::FeatureSet(schema)) = task.parameters[0].default_gp_value()? else {
//!     panic!("expected a feature set");
//! };
//! assert_eq!(schema.field("name").map(|f| f.name.as_str()), Some("Name"));
//!
//! // Values the way arcpy users write them, encoded as the server expects.
//! let d = GpValue::parse_text(&DataType::LinearUnit, "5 feet")?;
//! assert_eq!(d.to_form_text(), r#"{"distance":5.0,"units":"esriFeet"}"#);
//!
//! // Job status with the arcpy integer code.
//! let job: JobInfo = gp_model::from_json_str("job", r#"{"jobId": "j1", "jobStatus": "esriJobSucceeded"}"#)?;
//! assert_eq!(job.job_status, JobStatus::Succeeded);
//! assert_eq!(job.job_status.code(), Some(4));
//! # let _ = FeatureSet::default();
//! # Ok::<(), gp_model::Error>(())
//! ```
//!
//! ## Which crate does what
//! - [serde] / [serde_json]: every JSON shape; [serde_path_to_error] names the JSON path
//!   of a decoding failure ([`from_json_str`] and friends).
//! - [geozero]: the geometry/feature processing bridge ([`esrijson`]), so Esri JSON
//!   converts to and from GeoJSON, WKT, WKB, FlatGeobuf, ...
//! - [chrono]: `GPDate` values (epoch milliseconds, UTC).
//! - [indexmap]: attribute and result maps in server order.
//! - [thiserror]: the [`Error`] type.

#![deny(rustdoc::broken_intra_doc_links)]

mod context;
mod datatype;
mod decode;
mod envelope;
mod error;
pub mod esrijson;
mod featureset;
mod fields;
pub mod geometry;
mod ids;
mod job;
mod mapservice;
pub mod ogc;
mod query;
mod results;
mod rules;
mod scalars;
mod service;
mod task;
mod text;
mod units;
mod value;
mod vocab;
mod where_clause;

pub use context::{ContextError, RunContext, parse_sr_text};
pub use datatype::DataType;
pub use decode::{from_json_reader, from_json_slice, from_json_str, from_json_value};
pub use envelope::{ErrorEnvelope, ServerError};
pub use error::{Error, Result};
pub use featureset::{Feature, FeatureCollection, FeatureSet, feature_from_slice};
pub use fields::{AttrValue, Attributes, Field, FieldType};
pub use geometry::sr::SpatialReference;
pub use geometry::{
    Coord, CurveElement, Dims, Envelope, Geometry, GeometryType, Multipoint, Point, Polygon,
    Polyline,
};
pub use ids::{ItemId, JobId, ParamName, TaskName};
pub use job::{
    JobInfo, JobMessage, JobStatus, MessageType, ParamUrl, Progress, Severity, SubmitJobResponse,
    max_severity,
};
pub use mapservice::{LayerInfo, MapLayerEntry, MapServiceInfo};
pub use query::{
    AdvancedQueryCapabilities, CountResponse, IdsResponse, LayerQuery, MAX_OBJECT_IDS, OrderBy,
    QueryError, QueryFormat,
};
pub use results::{
    ExecuteResponse, OperationResult, ResultParameter, UploadItem, UploadParts, UploadResponse,
    UploadsInfo,
};
pub use rules::{choice, did_you_mean};
pub use service::{
    AuthInfo, ExecutionType, GP_SERVICE_ITEM, GpServiceInfo, HOSTED_OUTPUT_PARAM, PortalInfo,
    PortalItem, RestInfo, STATUS_WAIT_PARAM, ServiceDirectory, ServiceEntry, ServiceSchema,
    SharingInfo, TokenResponse, TokensInfo, UrlRef,
};
pub use task::{
    CodedValue, Direction, Filter, ParameterInfo, ParameterMember, ParameterType, TaskInfo,
};
pub use units::{ArealUnit, ArealUnitKind, LinearUnit, LinearUnitKind, TimeUnit, TimeUnitKind};
pub use value::{Composite, DataRef, GpValue, HiddenString, MapImage, ValueTable};
pub use where_clause::{MAX_WHERE_LEN, Where, WhereError};

#[cfg(test)]
mod tests {
    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn public_types_are_send_sync() {
        assert_send_sync::<crate::Error>();
        assert_send_sync::<crate::GpValue>();
        assert_send_sync::<crate::FeatureSet>();
        assert_send_sync::<crate::TaskInfo>();
    }
}

//! A typed ArcGIS geoprocessing client: what arcpy does with `ImportToolbox`,
//! `GetParameterValue`, `IsSynchronous` and the `Result` object, as an async Rust API.
//!
//! ```no_run
//! use gp_client::{Client, MapImageOptions, Params};
//! # async fn demo() -> Result<(), gp_client::Error> {
//! let client = Client::http()?;
//! let tb = client.import("http://127.0.0.1:8080/arcgis/rest/services/GP/BufferByVal/GPServer").await?;
//! let tool = tb.tool("buffer_points")?;
//! assert!(!tool.is_synchronous());
//! // GetParameterValue: the empty FeatureSet with the input schema.
//! let schema = tool.parameter_value(0)?;
//! let result = tool
//!     .run(Params::new().set("Input_Features", "towers.shp").set("Distance", "5 feet"))
//!     .await?;
//! result.wait().await?;
//! let polygons = result.output("Output_Polygons").await?;
//! let png = result.map_image(0, &MapImageOptions::default()).await?;
//! # let _ = (schema, polygons, png);
//! # Ok(()) }
//! ```
//!
//! Which crate does what: gp-transport sends requests (reqwest, retries, tokens);
//! gp-model decodes every answer; gp-features loads local feature files into a
//! parameter's schema; gp-raster writes downloads into the scratch workspace and
//! reads map images; [futures] bounds the concurrent metadata fetches.

#[cfg(feature = "arrow")]
mod arrow;
pub mod blocking;
mod client;
mod download;
mod error;
mod layer;
mod lookup;
mod ogc;
mod params;
mod poll;
mod portal;
mod reopen;
mod result;
mod save;
mod stream;
mod target;
mod toolbox;
mod whole;
mod wire;

pub use client::{Client, ClientBuilder, Credentials};
pub use error::Error;
pub use layer::FeatureLayer;
pub use params::{Env, Input, Params};
pub use poll::{PollPolicy, ProgressEvent};
pub use reopen::JobFile;
pub use result::{GpResult, MapImageOptions};
pub use save::{DownloadProgress, SaveOptions, Saved, SavedOutput, feature_path};
pub use target::{Location, Target};
pub use toolbox::{ParamRef, Tool, Toolbox, snake_case};

/// The workspace README's Rust examples, compiled and run as doctests (gp-client
/// depends on every crate they use).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

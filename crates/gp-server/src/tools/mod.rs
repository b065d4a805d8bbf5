//! The geoprocessing tools: what runs inside a job.
//!
//! A tool is prepared on the request (inputs checked, files resolved, so a bad
//! value is a 400 envelope naming the parameter) and then run on a worker thread
//! with a [`ToolCtx`]: cooperative cancel points, progress and messages.

pub(crate) mod buffer;
pub(crate) mod circles;
pub(crate) mod echo;
pub(crate) mod slope;
pub(crate) mod utilities;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use gp_model::{FeatureSet, GpValue, RunContext};
use indexmap::IndexMap;

use crate::joblog::JobLog;

/// Inputs by parameter name, decoded by data type, defaults filled in.
pub(crate) type Inputs = IndexMap<String, GpValue>;

/// A bad input found before the tool runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BadParam {
    /// The parameter.
    pub(crate) param: String,
    /// What is wrong.
    pub(crate) reason: String,
}

impl BadParam {
    pub(crate) fn new(param: &str, reason: impl Into<String>) -> Self {
        BadParam {
            param: param.to_string(),
            reason: reason.into(),
        }
    }
}

/// Why a running tool stopped without results.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ToolError {
    /// The job was cancelled.
    Cancelled,
    /// The task's execution timeout passed.
    TimedOut,
    /// The tool failed; the text becomes an error message.
    Failed(String),
}

/// One output of a tool run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    /// A value returned as JSON.
    Value(Box<GpValue>),
    /// A file written into the job's scratch folder, returned as `{"url", "format"}`.
    File {
        /// File name inside the scratch folder.
        name: String,
        /// `format` (extension) reported with the URL.
        format: String,
    },
    /// A hosted feature layer the tool published, returned as its layer URL.
    Hosted {
        /// The hosted service's name.
        service: String,
    },
}

/// Where a tool publishes a feature output asked for as a hosted layer
/// (`esri_out_feature_service_name`).
#[derive(Debug, Clone)]
pub(crate) struct HostedTarget {
    /// The store.
    pub(crate) store: Arc<crate::hosted::Hosted>,
    /// The new service's name (checked free when the job was made).
    pub(crate) name: String,
    /// Its owner: the caller.
    pub(crate) owner: Option<String>,
}

pub(crate) use gp_model::HOSTED_OUTPUT_PARAM;

/// A layer-URL input as a tool gets it.
#[derive(Debug, Clone)]
pub(crate) enum LayerInput {
    /// A layer this server hosts, already filtered.
    Features(Box<FeatureSet>),
    /// Another server's layer, read when the job runs.
    Remote(crate::remote_layer::RemoteLayer),
}

/// What a running tool can see and do.
#[derive(Debug, Clone)]
pub(crate) struct ToolCtx {
    pub(crate) cancel: Arc<AtomicBool>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) scratch: PathBuf,
    pub(crate) env: RunContext,
    pub(crate) log: Arc<JobLog>,
}

impl ToolCtx {
    /// A cancel point: stops the tool when the job was cancelled or timed out.
    pub(crate) fn check(&self) -> Result<(), ToolError> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(ToolError::Cancelled);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(ToolError::TimedOut);
        }
        Ok(())
    }

    /// Reports step progress (0–100) with a message.
    pub(crate) fn progress(&self, percent: Option<f64>, message: impl Into<String>) {
        self.log.set_progress(percent, message.into());
    }

    /// Adds an informative message.
    pub(crate) fn info(&self, message: impl Into<String>) {
        self.log.info(message.into());
    }

    /// Adds a warning message.
    pub(crate) fn warn(&self, message: impl Into<String>) {
        self.log.warn(message.into());
    }

    /// Path of a new file in the scratch folder.
    pub(crate) fn scratch_path(&self, name: &str) -> PathBuf {
        self.scratch.join(name)
    }
}

/// Finds local files for data references (uploaded items, this server's own URLs,
/// built-in samples).
pub(crate) trait Resolver: Send + Sync {
    /// The local file behind `value` (a `DataRef` or a sample name) for `param`.
    fn resolve(&self, param: &str, value: &GpValue) -> Result<PathBuf, BadParam>;
    /// A layer URL input (`{"url", "filter"}`): the features of a layer this server
    /// hosts, filtered, or how to read another server's; `None` when the URL is not
    /// a layer.
    fn layer(&self, param: &str, r: &gp_model::DataRef) -> Result<Option<LayerInput>, BadParam>;
    /// Where a hosted output called `name` goes.
    fn hosted(&self, name: &str) -> Result<HostedTarget, BadParam>;
}

/// The tools the server publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToolKind {
    /// Buffer points (geodesic or planar), optional dissolve.
    Buffer,
    /// Slope of a DEM by Horn's method.
    Slope,
    /// Wait N seconds with progress.
    Wait,
    /// Always fails.
    Fail,
    /// Echo every input to the matching output.
    Echo,
}

/// A tool ready to run: its inputs checked and resolved.
#[derive(Debug)]
pub(crate) enum Prepared {
    Buffer(Box<buffer::BufferJob>),
    Slope(slope::SlopeJob),
    Wait(f64),
    Fail,
    Echo(Inputs),
}

/// Limits applied while preparing inputs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PrepareLimits {
    /// Most vertices accepted in one feature input.
    pub(crate) max_vertices: usize,
}

impl ToolKind {
    /// True when the tool can publish its feature output as a hosted layer.
    pub(crate) fn writes_hosted(self) -> bool {
        self == ToolKind::Buffer
    }

    /// Checks inputs and resolves files, before any job exists.
    pub(crate) fn prepare(
        self,
        inputs: &Inputs,
        resolver: &dyn Resolver,
        limits: PrepareLimits,
    ) -> Result<Prepared, BadParam> {
        Ok(match self {
            ToolKind::Buffer => {
                Prepared::Buffer(Box::new(buffer::prepare(inputs, resolver, limits)?))
            }
            ToolKind::Slope => Prepared::Slope(slope::prepare(inputs, resolver)?),
            ToolKind::Wait => Prepared::Wait(utilities::prepare_wait(inputs)?),
            ToolKind::Fail => Prepared::Fail,
            ToolKind::Echo => Prepared::Echo(inputs.clone()),
        })
    }
}

impl Prepared {
    /// The display name used in messages ("Executing (Buffer): ...").
    pub(crate) fn run(self, ctx: &ToolCtx) -> Result<Vec<(String, Output)>, ToolError> {
        match self {
            Prepared::Buffer(job) => buffer::run(*job, ctx),
            Prepared::Slope(job) => slope::run(job, ctx),
            Prepared::Wait(seconds) => utilities::run_wait(seconds, ctx),
            Prepared::Fail => utilities::run_fail(ctx),
            Prepared::Echo(inputs) => echo::run(inputs, ctx),
        }
    }
}

/// The value of `name`, or `BadParam` when it is missing (defaults are already filled).
pub(crate) fn required<'a>(inputs: &'a Inputs, name: &str) -> Result<&'a GpValue, BadParam> {
    match inputs.get(name) {
        Some(GpValue::Null) | None => Err(BadParam::new(name, "a value is required")),
        Some(v) => Ok(v),
    }
}

/// Extension of a path, lower case.
pub(crate) fn extension(p: &Path) -> String {
    p.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

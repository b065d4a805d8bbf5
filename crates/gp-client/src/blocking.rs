//! A blocking facade over the async API, for scripts and programs without an async
//! runtime. Each [`Client`] owns a small tokio runtime; do not call it from inside
//! an async runtime (use the async API there).
//!
//! ```no_run
//! use gp_client::{Params, blocking::Client};
//! let tb = Client::http()?.import("http://127.0.0.1:8080/arcgis/rest/services/GP/BufferSync/GPServer")?;
//! let r = tb.tool("BufferPoints")?.run(Params::new().set("Input_Features", "towers.shp").set("Distance", "5 feet"))?;
//! let polygons = r.output(0)?;
//! # let _ = polygons;
//! # Ok::<(), gp_client::Error>(())
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use gp_fs::ScratchWorkspace;
use gp_model::{GpValue, JobMessage, JobStatus, ParameterInfo, Severity};
use gp_transport::Transport;

use crate::{Error, MapImageOptions, ParamRef, Params, PollPolicy};

fn runtime() -> Result<Arc<tokio::runtime::Runtime>, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(Arc::new)
        .map_err(|e| Error::Protocol {
            url: String::new(),
            status: 0,
            message: format!("cannot start the I/O runtime: {e}"),
        })
}

/// A blocking client.
#[derive(Debug, Clone)]
pub struct Client {
    inner: crate::Client,
    rt: Arc<tokio::runtime::Runtime>,
}

impl Client {
    /// Over `transport`.
    pub fn new(transport: Arc<dyn Transport>) -> Result<Self, Error> {
        Ok(Client {
            inner: crate::Client::new(transport),
            rt: runtime()?,
        })
    }

    /// Over HTTP with the settings of `builder` (credentials, certificates, timeouts).
    pub fn with(builder: crate::ClientBuilder) -> Result<Self, Error> {
        let rt = runtime()?;
        let inner = {
            let _guard = rt.enter();
            builder.build()?
        };
        Ok(Client { inner, rt })
    }

    /// Reopens a job by URL or job file (see [`crate::Client::open_job`]).
    pub fn open_job(&self, job: &str) -> Result<GpResult, Error> {
        let inner = self.rt.block_on(self.inner.open_job(job))?;
        Ok(GpResult {
            inner,
            rt: self.rt.clone(),
        })
    }

    /// Over HTTP with default settings.
    pub fn http() -> Result<Self, Error> {
        let rt = runtime()?;
        let inner = {
            let _guard = rt.enter();
            crate::Client::http()?
        };
        Ok(Client { inner, rt })
    }

    /// Imports a toolbox (see [`crate::Toolbox::import`]).
    pub fn import(&self, url: &str) -> Result<Toolbox, Error> {
        let inner = self.rt.block_on(self.inner.import(url))?;
        Ok(Toolbox {
            inner,
            rt: self.rt.clone(),
        })
    }
}

/// A blocking toolbox.
#[derive(Debug, Clone)]
pub struct Toolbox {
    inner: crate::Toolbox,
    rt: Arc<tokio::runtime::Runtime>,
}

impl Toolbox {
    /// The async toolbox.
    pub fn as_async(&self) -> &crate::Toolbox {
        &self.inner
    }

    /// True for a synchronous service.
    pub fn is_synchronous(&self) -> bool {
        self.inner.is_synchronous()
    }

    /// The tool `name` (or its snake_case alias).
    pub fn tool(&self, name: &str) -> Result<Tool, Error> {
        Ok(Tool {
            inner: self.inner.tool(name)?.clone(),
            rt: self.rt.clone(),
        })
    }

    /// The tool names.
    pub fn tool_names(&self) -> Vec<String> {
        self.inner
            .tools()
            .iter()
            .map(|t| t.name().to_string())
            .collect()
    }
}

/// A blocking tool.
#[derive(Debug, Clone)]
pub struct Tool {
    inner: crate::Tool,
    rt: Arc<tokio::runtime::Runtime>,
}

impl Tool {
    /// The async tool.
    pub fn as_async(&self) -> &crate::Tool {
        &self.inner
    }

    /// arcpy `IsSynchronous`.
    pub fn is_synchronous(&self) -> bool {
        self.inner.is_synchronous()
    }

    /// A parameter.
    pub fn parameter(&self, p: impl Into<ParamRef>) -> Result<&ParameterInfo, Error> {
        self.inner.parameter(p)
    }

    /// arcpy `GetParameterValue`.
    pub fn parameter_value(&self, p: impl Into<ParamRef>) -> Result<Option<GpValue>, Error> {
        self.inner.parameter_value(p)
    }

    /// Every input with its default.
    pub fn default_parameters(&self) -> Params {
        self.inner.default_parameters()
    }

    /// Runs the tool; for a synchronous tool the result is complete, otherwise call
    /// [`GpResult::wait`].
    pub fn run(&self, params: Params) -> Result<GpResult, Error> {
        let inner = self.rt.block_on(self.inner.run(params))?;
        Ok(GpResult {
            inner,
            rt: self.rt.clone(),
        })
    }
}

/// A blocking result (arcpy `Result`).
#[derive(Debug)]
pub struct GpResult {
    inner: crate::GpResult,
    rt: Arc<tokio::runtime::Runtime>,
}

impl GpResult {
    /// The async result.
    pub fn as_async(&self) -> &crate::GpResult {
        &self.inner
    }

    /// Last known status.
    pub fn status(&self) -> JobStatus {
        self.inner.status()
    }

    /// Asks the server for the status.
    pub fn refresh(&self) -> Result<JobStatus, Error> {
        self.rt.block_on(self.inner.refresh())
    }

    /// Waits until the job ends (an error unless it succeeded).
    pub fn wait(&self) -> Result<JobStatus, Error> {
        self.rt.block_on(self.inner.wait())
    }

    /// Waits with a policy.
    pub fn wait_with(&self, policy: PollPolicy) -> Result<JobStatus, Error> {
        self.rt.block_on(self.inner.wait_with(policy))
    }

    /// The job id.
    pub fn result_id(&self) -> Option<&str> {
        self.inner.result_id()
    }

    /// Messages.
    pub fn messages(&self) -> Vec<JobMessage> {
        self.inner.messages()
    }

    /// Messages of at least `severity`.
    pub fn messages_with(&self, severity: Severity) -> Vec<JobMessage> {
        self.inner.messages_with(severity)
    }

    /// Highest severity.
    pub fn max_severity(&self) -> Severity {
        self.inner.max_severity()
    }

    /// Number of outputs.
    pub fn output_count(&self) -> usize {
        self.inner.output_count()
    }

    /// An output (arcpy `getOutput`).
    pub fn output(&self, p: impl Into<ParamRef>) -> Result<GpValue, Error> {
        self.rt.block_on(self.inner.output(p))
    }

    /// An input (arcpy `getInput`).
    pub fn input(&self, p: impl Into<ParamRef>) -> Result<GpValue, Error> {
        self.rt.block_on(self.inner.input(p))
    }

    /// Cancels the job.
    pub fn cancel(&self) -> Result<JobStatus, Error> {
        self.rt.block_on(self.inner.cancel())
    }

    /// Downloads a raster or file output into `scratch`.
    pub fn download(
        &self,
        p: impl Into<ParamRef>,
        scratch: &ScratchWorkspace,
    ) -> Result<PathBuf, Error> {
        self.rt.block_on(self.inner.download(p, scratch))
    }

    /// Saves every output into `dir` (see [`crate::GpResult::save_outputs`]).
    pub fn save_outputs(
        &self,
        dir: impl AsRef<std::path::Path>,
        opts: &crate::SaveOptions,
    ) -> Result<Vec<crate::SavedOutput>, Error> {
        self.rt.block_on(self.inner.save_outputs(dir, opts))
    }

    /// The map image URL of an output (arcpy `getMapImageURL`).
    pub fn map_image_url(
        &self,
        p: impl Into<ParamRef>,
        opts: &MapImageOptions,
    ) -> Result<String, Error> {
        self.rt.block_on(self.inner.map_image_url(p, opts))
    }

    /// The map image of an output.
    pub fn map_image(
        &self,
        p: impl Into<ParamRef>,
        opts: &MapImageOptions,
    ) -> Result<gp_raster::MapImage, Error> {
        self.rt.block_on(self.inner.map_image(p, opts))
    }
}

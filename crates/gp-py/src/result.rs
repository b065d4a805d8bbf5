//! `Result`: a run of a task, as arcpy's `Result` object: status, messages,
//! outputs, downloads and map images; `wait` follows the job.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gp_client::{MapImageOptions, PollPolicy};
use gp_model::{JobMessage, JobStatus};
use pyo3::prelude::*;

use crate::runtime::{block, rt};

/// One message of a job: `severity` 0 informative, 1 warning, 2 error (arcpy's
/// codes), `type` the server's message type, `description` the text.
#[pyclass(module = "gp_rs", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct Message {
    /// 0 informative, 1 warning, 2 error.
    severity: u8,
    /// The server's type (`esriJobMessageTypeWarning`...).
    r#type: String,
    /// The text.
    description: String,
}

impl From<&JobMessage> for Message {
    fn from(m: &JobMessage) -> Self {
        Message {
            severity: m.severity().code(),
            r#type: m.message_type.to_string(),
            description: m.description.clone(),
        }
    }
}

#[pymethods]
impl Message {
    fn __repr__(&self) -> String {
        format!("<Message {} {:?}>", self.severity, self.description)
    }

    fn __str__(&self) -> String {
        self.description.clone()
    }
}

/// Cancels the job when dropped before [`CancelGuard::disarm`]: a wait given up
/// (Ctrl-C, a cancelled asyncio task) stops the job on the server too.
struct CancelGuard(Option<Arc<gp_client::GpResult>>);

impl CancelGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(r) = self.0.take() {
            rt().spawn(async move {
                let _ = r.cancel().await;
            });
        }
    }
}

/// Follows the job to its end (the error of a job that did not succeed); the job
/// is cancelled if this future is dropped first.
pub(crate) async fn wait_cancelling(
    r: Arc<gp_client::GpResult>,
    timeout: Option<Duration>,
) -> Result<JobStatus, gp_client::Error> {
    let guard = CancelGuard(r.job_url().map(|_| r.clone()));
    let policy = PollPolicy {
        timeout,
        ..PollPolicy::default()
    };
    let out = r.wait_with(policy).await;
    guard.disarm();
    out
}

/// A run of a task (arcpy's `Result`).
#[pyclass(module = "gp_rs", name = "Result", frozen)]
#[derive(Debug)]
pub(crate) struct GpResult {
    inner: Arc<gp_client::GpResult>,
}

impl GpResult {
    pub(crate) fn new(r: gp_client::GpResult) -> Self {
        GpResult { inner: Arc::new(r) }
    }

    pub(crate) fn from_arc(r: Arc<gp_client::GpResult>) -> Self {
        GpResult { inner: r }
    }
}

/// An output by position (among outputs) or name.
fn output_ref(p: &Bound<'_, PyAny>) -> PyResult<gp_client::ParamRef> {
    Ok(match p.extract::<usize>() {
        Ok(i) => gp_client::ParamRef::from(i),
        Err(_) => gp_client::ParamRef::from(p.extract::<String>()?),
    })
}

/// Reopens a job from its URL (`…/GPServer/<task>/jobs/<id>`) or a job file, to
/// follow it or read its outputs from another process (credentials as
/// `import_toolbox`).
#[pyfunction]
#[pyo3(signature = (job, *, token=None, username=None, password=None, ca_cert=None, timeout=None))]
pub(crate) fn open_job(
    py: Python<'_>,
    job: String,
    token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    ca_cert: Option<PathBuf>,
    timeout: Option<f64>,
) -> PyResult<GpResult> {
    let c = crate::toolbox::client_of(token, username, password, ca_cert, timeout)?;
    let r = block(py, async move { c.open_job(&job).await })?;
    Ok(GpResult::new(r))
}

/// `open_job` as a coroutine.
#[pyfunction]
#[pyo3(signature = (job, *, token=None, username=None, password=None, ca_cert=None, timeout=None))]
pub(crate) fn open_job_async(
    py: Python<'_>,
    job: String,
    token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    ca_cert: Option<PathBuf>,
    timeout: Option<f64>,
) -> PyResult<Bound<'_, PyAny>> {
    let c = crate::toolbox::client_of(token, username, password, ca_cert, timeout)?;
    crate::runtime::awaitable(py, async move {
        let r = c.open_job(&job).await.map_err(crate::errors::to_py)?;
        Ok(GpResult::new(r))
    })
}

/// An output as fetched: a feature set as Arrow batches, or any other value.
enum Fetched {
    Table(gp_model::FeatureSet, gp_features::arrow::ArrowFeatures),
    Value(gp_model::GpValue),
}

impl Fetched {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Fetched::Table(h, t) => {
                Ok(Py::new(py, crate::features::FeatureSet::from_table(h, t))?.into_any())
            }
            Fetched::Value(v) => crate::values::output(py, v),
        }
    }
}

/// True when output `p` is a feature or record set.
fn is_feature_output(r: &gp_client::GpResult, p: &gp_client::ParamRef) -> bool {
    use gp_model::{DataType, Direction};
    let outputs = r
        .tool()
        .parameters()
        .iter()
        .filter(|x| x.direction == Direction::Output);
    let param = match p {
        gp_client::ParamRef::Index(i) => outputs.clone().nth(*i),
        gp_client::ParamRef::Name(n) => outputs
            .clone()
            .find(|x| x.name.as_str().eq_ignore_ascii_case(n)),
    };
    param.is_some_and(|x| {
        matches!(
            x.data_type,
            DataType::FeatureRecordSetLayer | DataType::RecordSet
        )
    })
}

/// Output `p`: a feature output as Arrow batches, anything else decoded.
async fn fetch(
    r: Arc<gp_client::GpResult>,
    p: gp_client::ParamRef,
) -> Result<Fetched, gp_client::Error> {
    if is_feature_output(&r, &p) {
        let (h, t) = r.output_arrow(p).await?;
        return Ok(Fetched::Table(h, t));
    }
    Ok(Fetched::Value(r.output(p).await?))
}

fn map_options(
    size: (u32, u32),
    format: String,
    dpi: u32,
    transparent: bool,
    bbox: Option<[f64; 4]>,
) -> MapImageOptions {
    MapImageOptions {
        size,
        format,
        dpi,
        transparent,
        bbox,
        ..Default::default()
    }
}

#[pymethods]
impl GpResult {
    /// The job status as arcpy's code: 0 new, 1 submitted, 2 waiting, 3 executing,
    /// 4 succeeded, 5 failed, 6 timed out, 7 cancelling, 8 cancelled, 9 deleting,
    /// 10 deleted. As last seen: `refresh()` or `wait()` ask again.
    #[getter]
    fn status(&self) -> Option<u8> {
        self.inner.status().code()
    }

    /// The job status's name (`esriJobSucceeded`...).
    #[getter]
    fn status_name(&self) -> String {
        self.inner.status().to_string()
    }

    /// The job id (`None` for a synchronous run).
    #[getter]
    fn job_id(&self) -> Option<String> {
        self.inner.result_id().map(str::to_string)
    }

    /// The job URL, to reopen the job with `open_job` (`None` for a synchronous run).
    #[getter]
    fn job_url(&self) -> Option<String> {
        self.inner.job_url().map(str::to_string)
    }

    /// The job's messages so far.
    #[getter]
    fn messages(&self) -> Vec<Message> {
        self.inner.messages().iter().map(Message::from).collect()
    }

    /// The highest message severity: 0 informative, 1 warning, 2 error (arcpy
    /// `maxSeverity`).
    #[getter]
    fn max_severity(&self) -> u8 {
        self.inner.max_severity().code()
    }

    /// Number of outputs.
    #[getter]
    fn output_count(&self) -> usize {
        self.inner.output_count()
    }

    /// The output names.
    #[getter]
    fn output_names(&self) -> Vec<String> {
        self.inner.output_names()
    }

    /// Asks the server for the status now; returns its code.
    fn refresh(&self, py: Python<'_>) -> PyResult<Option<u8>> {
        let r = self.inner.clone();
        block(py, async move { r.refresh().await }).map(|s| s.code())
    }

    /// Follows the job to its end and returns this result. Raises
    /// `ToolFailedError` when it ends without success, `WaitTimeoutError` after
    /// `timeout` seconds (the job goes on). Ctrl-C cancels the job on the server,
    /// then raises `KeyboardInterrupt`.
    #[pyo3(signature = (timeout=None))]
    fn wait<'py>(slf: &Bound<'py, Self>, timeout: Option<f64>) -> PyResult<Bound<'py, Self>> {
        let py = slf.py();
        let timeout = crate::runtime::seconds(timeout, "timeout")?;
        let r = slf.get().inner.clone();
        let waited = block(py, wait_cancelling(r.clone(), timeout));
        if let Err(e) = &waited
            && e.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py)
            && r.job_url().is_some()
        {
            // The guard's cancel was spawned; make sure it lands before the script
            // goes on (or exits).
            let c = r.clone();
            let _ = py.detach(|| {
                rt().block_on(async {
                    tokio::time::timeout(Duration::from_secs(10), c.cancel()).await
                })
            });
        }
        waited.map(|_| slf.clone())
    }

    /// `wait` as a coroutine; cancelling the awaiting task cancels the job.
    #[pyo3(signature = (timeout=None))]
    fn wait_async<'py>(
        slf: &Bound<'py, Self>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let timeout = crate::runtime::seconds(timeout, "timeout")?;
        let r = slf.get().inner.clone();
        crate::runtime::awaitable(slf.py(), async move {
            let a = r.clone();
            wait_cancelling(r, timeout)
                .await
                .map_err(crate::errors::to_py)?;
            Ok(GpResult::from_arc(a))
        })
    }

    /// Asks the server to cancel the job; returns the status code it answers.
    fn cancel(&self, py: Python<'_>) -> PyResult<Option<u8>> {
        let r = self.inner.clone();
        block(py, async move { r.cancel().await }).map(|s| s.code())
    }

    /// An output by position (among outputs, arcpy `getOutput`) or name: a
    /// `FeatureSet` for feature and record sets (streamed from the job's result
    /// into Arrow batches; read whole, in pages, when the server cut it), else the
    /// value as Python data.
    fn output(&self, py: Python<'_>, p: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let p = output_ref(p)?;
        let r = self.inner.clone();
        block(py, fetch(r, p))?.into_py(py)
    }

    /// `output` as a coroutine.
    fn output_async<'py>(
        &self,
        py: Python<'py>,
        p: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = output_ref(p)?;
        let r = self.inner.clone();
        crate::runtime::awaitable(py, async move {
            let v = fetch(r, p).await.map_err(crate::errors::to_py)?;
            Python::attach(|py| v.into_py(py))
        })
    }

    fn __getitem__(&self, py: Python<'_>, p: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.output(py, p)
    }

    fn __len__(&self) -> usize {
        self.inner.output_count()
    }

    /// Downloads a raster or file output into `scratch_workspace` (else
    /// `gp_rs.env.scratch_workspace`, else `GP_SCRATCH_WORKSPACE`, else the system
    /// temp folder) and returns the file's path. A name already taken gets the next
    /// free one (`Output_1.tif`), as arcpy's scratch names do, unless
    /// `overwrite=True` replaces it.
    #[pyo3(signature = (p, scratch_workspace=None, overwrite=false))]
    fn download(
        &self,
        py: Python<'_>,
        p: &Bound<'_, PyAny>,
        scratch_workspace: Option<PathBuf>,
        overwrite: bool,
    ) -> PyResult<PathBuf> {
        let p = output_ref(p)?;
        let ws = crate::env::scratch(scratch_workspace);
        let r = self.inner.clone();
        block(py, async move {
            r.download_with(p, &ws, overwrite, &mut |_, _| {}).await
        })
    }

    /// The URL of a map image of an output from the service's result map service
    /// (arcpy `getMapImageURL`).
    #[pyo3(signature = (p, size=(800, 600), format="png".to_string(), dpi=96, transparent=false, bbox=None))]
    // Python keyword arguments, one each.
    #[allow(clippy::too_many_arguments)]
    fn map_image_url(
        &self,
        py: Python<'_>,
        p: &Bound<'_, PyAny>,
        size: (u32, u32),
        format: String,
        dpi: u32,
        transparent: bool,
        bbox: Option<[f64; 4]>,
    ) -> PyResult<String> {
        let p = output_ref(p)?;
        let opts = map_options(size, format, dpi, transparent, bbox);
        let r = self.inner.clone();
        block(py, async move { r.map_image_url(p, &opts).await })
    }

    /// The map image of an output, downloaded: `result.map_image(0).save("map.jpg")`.
    #[pyo3(signature = (p, size=(800, 600), format="png".to_string(), dpi=96, transparent=false, bbox=None))]
    // Python keyword arguments, one each.
    #[allow(clippy::too_many_arguments)]
    fn map_image(
        &self,
        py: Python<'_>,
        p: &Bound<'_, PyAny>,
        size: (u32, u32),
        format: String,
        dpi: u32,
        transparent: bool,
        bbox: Option<[f64; 4]>,
    ) -> PyResult<crate::mapimage::MapImage> {
        let p = output_ref(p)?;
        let opts = map_options(size, format, dpi, transparent, bbox);
        let r = self.inner.clone();
        let img = block(py, async move { r.map_image(p, &opts).await })?;
        Ok(crate::mapimage::MapImage { inner: img })
    }

    fn __repr__(&self) -> String {
        format!(
            "<Result {} {}{}>",
            self.inner.tool().name(),
            self.inner.status(),
            self.inner
                .result_id()
                .map(|j| format!(" job {j}"))
                .unwrap_or_default()
        )
    }
}

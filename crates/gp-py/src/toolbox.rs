//! `import_toolbox`, `Toolbox` and `Tool`: a GP service's tasks as callable
//! attributes, each with a docstring and an `inspect.Signature` made from the task
//! metadata (no Python code is generated).

use std::path::PathBuf;
use std::sync::Arc;

use gp_client::{Client, Params};
use gp_model::{Direction, ParameterInfo, ParameterType};
use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::result::GpResult;
use crate::runtime::block;

/// The client of a call's keyword arguments. A user name and password get a
/// token and a new one whenever it expires; a token is used as given.
pub(crate) fn client_of(
    token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    ca_cert: Option<PathBuf>,
    timeout: Option<f64>,
) -> PyResult<Client> {
    let mut b =
        Client::builder().user_agent(concat!("gp-rs/", env!("CARGO_PKG_VERSION"), " (Python)"));
    match (username, password, token) {
        (Some(u), Some(p), _) => b = b.user_password(u, p),
        (None, None, Some(t)) => b = b.token(t),
        (None, None, None) => {}
        _ => {
            return Err(crate::errors::ValidationError::new_err(
                "give both username and password (or a token), or neither",
            ));
        }
    }
    if let Some(ca) = ca_cert {
        b = b.ca_cert_file(ca).map_err(crate::errors::to_py)?;
    }
    if let Some(t) = crate::runtime::seconds(timeout, "timeout")? {
        b = b.timeout(t);
    }
    b.build().map_err(crate::errors::to_py)
}

/// Imports a geoprocessing service as a toolbox (arcpy `ImportToolbox`): a service
/// or task URL, arcpy's `"https://host/arcgis/services;Folder/Service"`, or an OGC
/// API – Processes server or process.
///
/// `username` and `password` get a token from the server's token service and a new
/// one when it expires; `token` is used as given. Credentials go only to the server
/// of the URL. `ca_cert` trusts a PEM certificate; `timeout` bounds each request
/// (seconds).
#[pyfunction]
#[pyo3(signature = (url, *, token=None, username=None, password=None, ca_cert=None, timeout=None))]
pub(crate) fn import_toolbox(
    py: Python<'_>,
    url: String,
    token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    ca_cert: Option<PathBuf>,
    timeout: Option<f64>,
) -> PyResult<Toolbox> {
    let c = client_of(token, username, password, ca_cert, timeout)?;
    let tb = block(py, async move { c.import(&url).await })?;
    Ok(Toolbox {
        inner: Arc::new(tb),
    })
}

/// `import_toolbox` as a coroutine.
#[pyfunction]
#[pyo3(signature = (url, *, token=None, username=None, password=None, ca_cert=None, timeout=None))]
pub(crate) fn import_toolbox_async(
    py: Python<'_>,
    url: String,
    token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    ca_cert: Option<PathBuf>,
    timeout: Option<f64>,
) -> PyResult<Bound<'_, PyAny>> {
    let c = client_of(token, username, password, ca_cert, timeout)?;
    crate::runtime::awaitable(py, async move {
        let tb = c.import(&url).await.map_err(crate::errors::to_py)?;
        Ok(Toolbox {
            inner: Arc::new(tb),
        })
    })
}

/// A geoprocessing service: its tasks are attributes (`tb.BufferPoints`).
#[pyclass(module = "gp_rs", frozen)]
#[derive(Debug)]
pub(crate) struct Toolbox {
    inner: Arc<gp_client::Toolbox>,
}

#[pymethods]
impl Toolbox {
    /// The service URL.
    #[getter]
    fn url(&self) -> &str {
        self.inner.url()
    }

    /// True when the service runs its tasks synchronously (`execute`).
    #[getter]
    fn is_synchronous(&self) -> bool {
        self.inner.is_synchronous()
    }

    /// The task names.
    #[getter]
    fn tools(&self) -> Vec<String> {
        self.inner
            .tools()
            .iter()
            .map(|t| t.name().to_string())
            .collect()
    }

    /// The task `name` (the same as the attribute).
    fn tool(&self, py: Python<'_>, name: &str) -> PyResult<Py<Tool>> {
        let t = self.inner.tool(name).map_err(crate::errors::to_py)?;
        Tool::make(py, t.clone())
    }

    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<Tool>> {
        match self.inner.tools().iter().find(|t| t.name() == name) {
            Some(t) => Tool::make(py, t.clone()),
            None => Err(PyAttributeError::new_err(format!(
                "{} has no tool `{name}`; its tools: {}",
                self.inner.url(),
                self.tools().join(", ")
            ))),
        }
    }

    fn __dir__(&self) -> Vec<String> {
        let mut names = self.tools();
        names.extend(["url", "is_synchronous", "tools", "tool"].map(String::from));
        names
    }

    fn __repr__(&self) -> String {
        format!(
            "<Toolbox {} [{}]>",
            self.inner.url(),
            self.tools().join(", ")
        )
    }
}

/// One task of a service. Call it with its inputs (positional in the task's order,
/// or by name) to run it: `tool(fs, "5 feet")`.
#[pyclass(module = "gp_rs", frozen, dict)]
#[derive(Debug)]
pub(crate) struct Tool {
    inner: Arc<gp_client::Tool>,
}

fn is_input(p: &ParameterInfo) -> bool {
    p.direction == Direction::Input
}

/// The Python annotation text of a parameter's data type.
fn annotation(p: &ParameterInfo) -> &'static str {
    use gp_model::DataType as D;
    match &p.data_type {
        D::FeatureRecordSetLayer | D::RecordSet => "FeatureSet | os.PathLike | str",
        D::Boolean => "bool",
        D::Long => "int",
        D::Double => "float",
        D::RasterDataLayer | D::RasterData | D::DataFile => "os.PathLike | str",
        _ => "str",
    }
}

impl Tool {
    /// The Python object of a task, with its docstring and signature.
    fn make(py: Python<'_>, t: gp_client::Tool) -> PyResult<Py<Tool>> {
        let tool = Py::new(py, Tool { inner: Arc::new(t) })?;
        let b = tool.bind(py);
        let inner = &b.get().inner;
        b.setattr("__doc__", doc(inner))?;
        b.setattr("__signature__", signature(py, inner)?)?;
        b.setattr("__name__", inner.name())?;
        Ok(tool)
    }

    /// The parameters of one run from Python arguments.
    fn params(
        &self,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Params> {
        let inputs: Vec<&ParameterInfo> = self
            .inner
            .parameters()
            .iter()
            .filter(|p| is_input(p))
            .collect();
        if args.len() > inputs.len() {
            return Err(crate::errors::ValidationError::new_err(format!(
                "{} takes {} inputs, {} were given",
                self.inner.name(),
                inputs.len(),
                args.len()
            )));
        }
        let mut params = Params::new();
        for (p, a) in inputs.iter().zip(args.iter()) {
            if let Some(v) = crate::values::input(&a)? {
                params = params.input(p.name.to_string(), v);
            }
        }
        if let Some(kw) = kwargs {
            for (k, v) in kw.iter() {
                let name: String = k.extract()?;
                if let Some(v) = crate::values::input(&v)? {
                    params = params.input(name, v);
                }
            }
        }
        Ok(params)
    }
}

/// The docstring of a task: its description, then each parameter.
fn doc(t: &gp_client::Tool) -> String {
    let info = t.info();
    let mut s = String::new();
    s.push_str(info.display_name.as_deref().unwrap_or(t.name()));
    s.push_str(if t.is_synchronous() {
        " (synchronous)"
    } else {
        " (asynchronous: returns at once; wait() follows the job)"
    });
    if let Some(d) = info.description.as_deref().filter(|d| !d.is_empty()) {
        s.push_str("\n\n");
        s.push_str(d);
    }
    for (title, dir) in [("Inputs", Direction::Input), ("Outputs", Direction::Output)] {
        let ps: Vec<&ParameterInfo> = t
            .parameters()
            .iter()
            .filter(|p| p.direction == dir)
            .collect();
        if ps.is_empty() {
            continue;
        }
        s.push_str(&format!("\n\n{title}:"));
        for p in ps {
            let req = match p.parameter_type {
                Some(ParameterType::Required) => ", required",
                _ => "",
            };
            s.push_str(&format!("\n  {} ({}{req})", p.name, p.data_type));
            if let Some(d) = p
                .description
                .as_deref()
                .or(p.display_name.as_deref())
                .filter(|d| !d.is_empty())
            {
                s.push_str(&format!(": {d}"));
            }
        }
    }
    s
}

/// `inspect.Signature` of a task: its inputs, positional or by keyword, each
/// defaulting to `None` (the server's default).
fn signature<'py>(py: Python<'py>, t: &gp_client::Tool) -> PyResult<Bound<'py, PyAny>> {
    let inspect = py.import("inspect")?;
    let param = inspect.getattr("Parameter")?;
    let kind = param.getattr("POSITIONAL_OR_KEYWORD")?;
    let mut list = Vec::new();
    for p in t.parameters().iter().filter(|p| is_input(p)) {
        let kw = PyDict::new(py);
        kw.set_item("default", py.None())?;
        kw.set_item("annotation", annotation(p))?;
        list.push(param.call((p.name.as_str(), &kind), Some(&kw))?);
    }
    let kw = PyDict::new(py);
    kw.set_item("return_annotation", "Result")?;
    inspect.getattr("Signature")?.call((list,), Some(&kw))
}

#[pymethods]
impl Tool {
    /// The task name.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The task URL.
    #[getter]
    fn url(&self) -> &str {
        self.inner.url()
    }

    /// True when the task runs synchronously (arcpy `IsSynchronous`).
    #[getter]
    fn is_synchronous(&self) -> bool {
        self.inner.is_synchronous()
    }

    /// The parameters as dicts: name, data_type, direction, required, default.
    #[getter]
    fn parameters(&self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        self.inner
            .parameters()
            .iter()
            .map(|p| {
                let d = PyDict::new(py);
                d.set_item("name", p.name.as_str())?;
                d.set_item("data_type", p.data_type.to_string())?;
                d.set_item("direction", if is_input(p) { "input" } else { "output" })?;
                d.set_item(
                    "required",
                    p.parameter_type == Some(ParameterType::Required),
                )?;
                d.set_item("display_name", p.display_name.as_deref())?;
                Ok(d.into_any().unbind())
            })
            .collect()
    }

    /// The default value of a parameter, by position (among all parameters, as
    /// arcpy `GetParameterValue`) or name. A feature input's default is the empty
    /// FeatureSet carrying the input schema.
    fn parameter_value(&self, py: Python<'_>, p: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let v = match p.extract::<usize>() {
            Ok(i) => self.inner.parameter_value(i),
            Err(_) => self.inner.parameter_value(p.extract::<String>()?),
        }
        .map_err(crate::errors::to_py)?;
        match v {
            Some(v) => crate::values::output(py, v),
            None => Ok(py.None()),
        }
    }

    /// Runs the task: an asynchronous task is submitted and the result returned at
    /// once (`wait()` follows it); a synchronous one returns when done.
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<GpResult> {
        let params = self.params(args, kwargs)?;
        let tool = self.inner.clone();
        let r = block(py, async move { tool.run(params).await })?;
        Ok(GpResult::new(r))
    }

    /// Runs the task and waits for its end, as a coroutine: `await tool.run_async(...)`.
    /// A failed job raises `ToolFailedError`; cancelling the awaiting task (Ctrl-C in
    /// `asyncio.run`) cancels the job on the server.
    #[pyo3(signature = (*args, **kwargs))]
    fn run_async<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let params = self.params(args, kwargs)?;
        let tool = self.inner.clone();
        crate::runtime::awaitable(py, async move {
            let r = Arc::new(tool.run(params).await.map_err(crate::errors::to_py)?);
            crate::result::wait_cancelling(r.clone(), None)
                .await
                .map_err(crate::errors::to_py)?;
            Ok(GpResult::from_arc(r))
        })
    }

    fn __repr__(&self) -> String {
        format!("<Tool {} ({})>", self.inner.name(), self.inner.url())
    }
}

//! Python bindings of gp, the module `gp_rs` (`import gp_rs as gp`): arcpy's
//! server-tool workflow (`import_toolbox`, tools as attributes, `Result` with
//! `wait`, `messages`, outputs, downloads and map images) on gp-client's engine,
//! with async variants and feature sets that cross into the Python data world as
//! Arrow streams.
//!
//! Which crate does what: PyO3 makes the Python classes and exceptions;
//! pyo3-async-runtimes runs gp-client's futures on one tokio runtime and turns them
//! into Python awaitables; pyo3-arrow exchanges Arrow C streams through PyCapsules
//! (the Arrow PyCapsule interface); gp-features converts feature sets to and from
//! Arrow record batches (GeoArrow WKB geometry) and local files; gp-client talks to
//! the service. The pure-Python part of the package (`python/gp_rs`) only
//! re-exports these names and carries the type stubs.

mod env;
mod errors;
mod features;
mod mapimage;
mod result;
mod runtime;
mod toolbox;
mod values;

use pyo3::prelude::*;

/// The extension module `gp_rs._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<toolbox::Toolbox>()?;
    m.add_class::<toolbox::Tool>()?;
    m.add_class::<result::GpResult>()?;
    m.add_class::<result::Message>()?;
    m.add_class::<features::FeatureSet>()?;
    m.add_class::<mapimage::MapImage>()?;
    m.add_class::<env::Env>()?;
    m.add("env", Py::new(py, env::Env::default())?)?;
    m.add_function(wrap_pyfunction!(toolbox::import_toolbox, m)?)?;
    m.add_function(wrap_pyfunction!(toolbox::import_toolbox_async, m)?)?;
    m.add_function(wrap_pyfunction!(result::open_job, m)?)?;
    m.add_function(wrap_pyfunction!(result::open_job_async, m)?)?;
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(runtime::_quiesce, m)?)?;
    py.import("atexit")?
        .call_method1("register", (m.getattr("_quiesce")?,))?;
    Ok(())
}

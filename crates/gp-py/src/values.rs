//! Values across the boundary: Python arguments into gp-client inputs, output
//! values into Python objects.

use std::path::PathBuf;

use gp_client::Input;
use gp_model::GpValue;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::features::FeatureSet;

/// A Python argument as a tool input, or `None` for Python's `None` (the server's
/// default applies):
/// - a [`FeatureSet`], a GeoDataFrame or any Arrow stream with a WKB geometry
///   column: sent as a feature set;
/// - an `os.PathLike`: a local file (feature files are loaded into the
///   parameter's schema, rasters and other files uploaded);
/// - `str`: text as arcpy takes it (`"5 feet"`, a date, JSON, a layer URL);
/// - `bool`, `int`, `float`: their text;
/// - `dict`, `list`, `tuple`: JSON.
pub(crate) fn input(v: &Bound<'_, PyAny>) -> PyResult<Option<Input>> {
    let py = v.py();
    if v.is_none() {
        return Ok(None);
    }
    if let Ok(fs) = v.cast::<FeatureSet>() {
        let fs = fs.borrow().model(py)?;
        return Ok(Some(Input::Value(Box::new(GpValue::FeatureSet(fs)))));
    }
    if v.is_instance_of::<PyBool>() {
        let b: bool = v.extract()?;
        return Ok(Some(Input::Text(b.to_string())));
    }
    if v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>() {
        return Ok(Some(Input::Text(v.str()?.to_string())));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Some(Input::Text(s.to_string())));
    }
    if v.is_instance_of::<PyDict>() || v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>()
    {
        let text = py.import("json")?.call_method1("dumps", (v,))?;
        return Ok(Some(Input::Text(text.extract()?)));
    }
    if v.hasattr("__fspath__")? {
        let p: PathBuf = v.extract()?;
        return Ok(Some(Input::File(p)));
    }
    if FeatureSet::is_geodataframe(v)? || v.hasattr("__arrow_c_stream__")? {
        let fs = FeatureSet::from_any(v)?;
        return Ok(Some(Input::Value(Box::new(GpValue::FeatureSet(
            fs.model(py)?,
        )))));
    }
    Err(crate::errors::ValidationError::new_err(format!(
        "cannot send a {} as a tool input: give a FeatureSet, a GeoDataFrame, an Arrow table, a path, text, a number or JSON",
        v.get_type().name()?
    )))
}

/// An output value as a Python object: feature and record sets as [`FeatureSet`],
/// everything else as its JSON value (`str`, numbers, `dict` with `url` for files
/// and rasters, `{"distance", "units"}` for linear units...).
pub(crate) fn output(py: Python<'_>, v: GpValue) -> PyResult<Py<PyAny>> {
    match v {
        GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) => {
            Ok(Py::new(py, FeatureSet::from_model(fs))?.into_any())
        }
        other => json_to_py(
            py,
            &serde_json::to_value(&other).map_err(|e| {
                crate::errors::DataError::new_err(format!("an output value cannot be encoded: {e}"))
            })?,
        ),
    }
}

/// A JSON value as Python objects (through the standard `json` module).
pub(crate) fn json_to_py(py: Python<'_>, v: &serde_json::Value) -> PyResult<Py<PyAny>> {
    Ok(py
        .import("json")?
        .call_method1("loads", (v.to_string(),))?
        .unbind())
}

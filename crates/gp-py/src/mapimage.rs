//! `MapImage`: a map image of a job's result, downloaded.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A map image of an output (PNG, JPEG or GIF), as the result map service drew it.
#[pyclass(module = "gp_rs", frozen)]
#[derive(Debug)]
pub(crate) struct MapImage {
    pub(crate) inner: gp_raster::MapImage,
}

#[pymethods]
impl MapImage {
    /// Width in pixels.
    #[getter]
    fn width(&self) -> u32 {
        self.inner.width()
    }

    /// Height in pixels.
    #[getter]
    fn height(&self) -> u32 {
        self.inner.height()
    }

    /// The image format (`png`, `jpg`, `gif`).
    #[getter]
    fn format(&self) -> &'static str {
        self.inner.kind().extension()
    }

    /// The encoded bytes.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.bytes())
    }

    /// Saves the image; the extension picks the format (re-encoded when it differs).
    /// Returns the path. An existing file is replaced only with `overwrite=True`.
    #[pyo3(signature = (path, overwrite=false))]
    fn save(&self, py: Python<'_>, path: PathBuf, overwrite: bool) -> PyResult<PathBuf> {
        let img = &self.inner;
        py.detach(|| img.save(&path, overwrite))
            .map_err(|e| crate::errors::DataError::new_err(e.to_string()))
    }

    fn __repr__(&self) -> String {
        format!(
            "<MapImage {} {}x{}>",
            self.inner.kind().extension(),
            self.inner.width(),
            self.inner.height()
        )
    }
}

//! `gp_rs.env`: settings shared by every call, as arcpy's `arcpy.env`.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;

static SCRATCH: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Settings shared by every call (arcpy's `arcpy.env`).
///
/// `scratch_workspace`: the folder raster and file outputs are downloaded into when
/// a call names none; `None` means `GP_SCRATCH_WORKSPACE`, else a folder in the
/// system temp folder.
#[pyclass(module = "gp_rs", name = "Env")]
#[derive(Debug, Default)]
pub(crate) struct Env {}

/// The scratch workspace for a call: `explicit`, else `env.scratch_workspace`, else
/// the default.
pub(crate) fn scratch(explicit: Option<PathBuf>) -> gp_fs::ScratchWorkspace {
    let set = SCRATCH.lock().map(|g| g.clone()).unwrap_or_default();
    gp_fs::ScratchWorkspace::resolve(explicit.or(set).as_deref())
}

#[pymethods]
impl Env {
    /// The folder downloads go into when a call names none (`None`: the default).
    #[getter]
    fn get_scratch_workspace(&self) -> Option<PathBuf> {
        SCRATCH.lock().map(|g| g.clone()).unwrap_or_default()
    }

    #[setter]
    fn set_scratch_workspace(&self, dir: Option<PathBuf>) {
        if let Ok(mut g) = SCRATCH.lock() {
            *g = dir;
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "gp_rs.env(scratch_workspace={})",
            self.get_scratch_workspace()
                .map(|p| format!("{:?}", p.display().to_string()))
                .unwrap_or_else(|| "None".into())
        )
    }
}

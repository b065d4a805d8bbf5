//! Writing files under a temporary name, renamed into place when complete.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result, io};

/// A temporary path in the folder of `target`, removed on drop unless committed.
pub(crate) struct TempPath {
    tmp: Option<tempfile::TempPath>,
    target: PathBuf,
    overwrite: bool,
}

impl TempPath {
    /// A new empty temporary file next to `target` (its extension kept, so libraries
    /// that look at it are satisfied). Fails early when `target` exists and
    /// `overwrite` is off.
    pub(crate) fn new(target: &Path, overwrite: bool) -> Result<TempPath> {
        if !overwrite && target.exists() {
            return Err(Error::Exists {
                path: target.to_path_buf(),
            });
        }
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
        let suffix = target
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let f = tempfile::Builder::new()
            .prefix(".gp-part-")
            .suffix(&suffix)
            .tempfile_in(dir)
            .map_err(io("creating a temporary file in", dir))?;
        Ok(TempPath {
            tmp: Some(f.into_temp_path()),
            target: target.to_path_buf(),
            overwrite,
        })
    }

    /// The temporary file's path.
    pub(crate) fn path(&self) -> &Path {
        self.tmp.as_deref().unwrap_or(&self.target)
    }

    /// Renames the temporary file into place.
    pub(crate) fn commit(mut self) -> Result<PathBuf> {
        let Some(tmp) = self.tmp.take() else {
            return Ok(self.target.clone());
        };
        if let Ok(f) = std::fs::File::open(&*tmp) {
            let _ = f.sync_all();
        }
        let res = if self.overwrite {
            tmp.persist(&self.target)
        } else {
            tmp.persist_noclobber(&self.target)
        };
        res.map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Exists {
                    path: self.target.clone(),
                }
            } else {
                io("renaming into", &self.target)(e.error)
            }
        })?;
        Ok(self.target.clone())
    }
}

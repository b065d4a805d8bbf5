//! The scratch workspace (arcpy's `env.scratchWorkspace`): where raster and file
//! outputs land, atomically, under safe names.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::atomic::{AtomicFile, Flush, Options};
use crate::error::{Error, Result, io};
use crate::names::sanitize_file_name;

/// The environment variable that names the default scratch folder.
pub const SCRATCH_ENV: &str = "GP_SCRATCH_WORKSPACE";

/// The folder outputs are written to: an explicit folder, else `GP_SCRATCH_WORKSPACE`,
/// else a per-process folder in the system temp folder (arcpy's
/// `env.scratchWorkspace` and its TEMP default). Created on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScratchWorkspace {
    dir: PathBuf,
}

impl ScratchWorkspace {
    /// Resolves the folder (not created yet): `explicit`, else the environment
    /// variable, else `<temp>/gp-scratch-<pid>`.
    pub fn resolve(explicit: Option<&Path>) -> Self {
        let dir = match explicit {
            Some(p) => p.to_path_buf(),
            None => match std::env::var_os(SCRATCH_ENV).filter(|v| !v.is_empty()) {
                Some(v) => PathBuf::from(v),
                None => std::env::temp_dir().join(format!("gp-scratch-{}", std::process::id())),
            },
        };
        ScratchWorkspace { dir }
    }

    /// Resolves the folder the way arcpy does for a run that has an output folder:
    /// `explicit`, else `GP_SCRATCH_WORKSPACE`, else `default` (the output folder),
    /// else `<temp>/gp-scratch-<pid>`.
    ///
    /// ```
    /// use gp_fs::ScratchWorkspace;
    /// let ws = ScratchWorkspace::resolve_or(Some("ws".as_ref()), Some("out".as_ref()));
    /// assert_eq!(ws.dir(), std::path::Path::new("ws"));
    /// ```
    pub fn resolve_or(explicit: Option<&Path>, default: Option<&Path>) -> Self {
        let from_env = std::env::var_os(SCRATCH_ENV).is_some_and(|v| !v.is_empty());
        match (explicit, default) {
            (None, Some(d)) if !from_env => ScratchWorkspace::at(d),
            _ => ScratchWorkspace::resolve(explicit),
        }
    }

    /// A workspace at `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        ScratchWorkspace { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the folder if needed and returns it.
    pub fn ensure(&self) -> Result<&Path> {
        std::fs::create_dir_all(&self.dir).map_err(io("creating", &self.dir))?;
        Ok(&self.dir)
    }

    /// The path a file called `name` (sanitised) would get: `name`, or `name_1.ext`,
    /// `name_2.ext`, ... when taken, unless `overwrite`.
    pub fn target_path(&self, name: &str, overwrite: bool) -> Result<PathBuf> {
        let name = sanitize_file_name(name)?;
        let first = self.dir.join(&name);
        if overwrite || !first.exists() {
            return Ok(first);
        }
        let (stem, ext) = match name.rfind('.') {
            Some(i) if i > 0 => (&name[..i], &name[i..]),
            _ => (name.as_str(), ""),
        };
        for n in 1..10_000 {
            let p = self.dir.join(format!("{stem}_{n}{ext}"));
            if !p.exists() {
                return Ok(p);
            }
        }
        Err(Error::Exists { path: first })
    }

    /// Starts writing a file called `name` into the workspace: bytes go to a
    /// temporary file in the same folder, and [`AtomicFile::finish`] checks the size,
    /// flushes it and the folder ([`Flush::Durable`]: a download is there after a
    /// power loss once saved) and renames it into place. Dropping it unfinished
    /// removes the temporary.
    pub fn create(&self, name: &str, overwrite: bool) -> Result<AtomicFile> {
        self.ensure()?;
        let target = self.target_path(name, overwrite)?;
        AtomicFile::new(target, Options::new(overwrite, Flush::Durable))
    }

    /// Streams `reader` into a file called `name`; `expected_len` (Content-Length or
    /// the server's size) is checked. Returns the final path.
    pub fn save_reader<R: Read>(
        &self,
        name: &str,
        mut reader: R,
        expected_len: Option<u64>,
        overwrite: bool,
    ) -> Result<PathBuf> {
        let mut f = self.create(name, overwrite)?;
        let target = f.target().to_path_buf();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io("downloading", target)(e)),
            };
            f.write_chunk(&buf[..n])?;
        }
        f.finish(expected_len)
    }
}

//! The scratch workspace: where raster and file outputs land, atomically.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, io};

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
    /// use gp_raster::ScratchWorkspace;
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
    /// syncs and renames it into place. Dropping it unfinished removes the temporary.
    pub fn create(&self, name: &str, overwrite: bool) -> Result<AtomicFile> {
        self.ensure()?;
        let target = self.target_path(name, overwrite)?;
        AtomicFile::new(target, overwrite)
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

/// A file being written under a temporary name, renamed into place by
/// [`AtomicFile::finish`]. A crash or an error never leaves a partial file under the
/// final name.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    written: u64,
    overwrite: bool,
}

impl AtomicFile {
    /// Starts a file that will become `target`.
    pub fn new(target: PathBuf, overwrite: bool) -> Result<Self> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let tmp = temp_in(&dir)?;
        Ok(AtomicFile {
            tmp,
            target,
            written: 0,
            overwrite,
        })
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Appends bytes.
    pub fn write_chunk(&mut self, bytes: &[u8]) -> Result<()> {
        self.tmp
            .as_file_mut()
            .write_all(bytes)
            .map_err(io("writing", self.tmp.path()))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Checks the size against `expected_len`, syncs, and renames into place.
    pub fn finish(self, expected_len: Option<u64>) -> Result<PathBuf> {
        if let Some(expected) = expected_len.filter(|e| *e != self.written) {
            return Err(Error::SizeMismatch {
                path: self.target,
                expected,
                received: self.written,
            });
        }
        self.tmp
            .as_file()
            .sync_all()
            .map_err(io("syncing", self.tmp.path()))?;
        let target = self.target;
        if self.overwrite {
            self.tmp.persist(&target).map_err(|e| Error::Io {
                action: "renaming into",
                path: target.clone(),
                source: e.error,
            })?;
        } else {
            self.tmp.persist_noclobber(&target).map_err(|e| {
                if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::Exists {
                        path: target.clone(),
                    }
                } else {
                    Error::Io {
                        action: "renaming into",
                        path: target.clone(),
                        source: e.error,
                    }
                }
            })?;
        }
        // Make the rename durable too.
        if let Some(d) = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .and_then(|dir| File::open(dir).ok())
        {
            // Best effort: not every platform can sync a folder.
            let _ = d.sync_all();
        }
        Ok(target)
    }
}

/// A temporary file in `dir`, readable by others like an ordinary new file (tempfile's
/// default 0600 would make outputs private).
pub(crate) fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(".gp-part-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o644));
    }
    b.tempfile_in(dir)
        .map_err(io("creating a temporary file in", dir))
}

const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Checks a file name from a URL or a server: one plain name, not hidden (no leading
/// dot), no `..`, no separators,
/// no absolute path, no control characters, no reserved Windows name, at most 255 bytes.
///
/// ```
/// use gp_raster::sanitize_file_name;
/// assert_eq!(sanitize_file_name("slope.tif").unwrap(), "slope.tif");
/// assert!(sanitize_file_name("../etc/passwd").is_err());
/// assert!(sanitize_file_name("CON.tif").is_err());
/// assert!(sanitize_file_name(".bashrc").is_err());
/// ```
pub fn sanitize_file_name(name: &str) -> Result<String> {
    let bad = |reason: &str| Error::FileName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(bad("it is empty or a relative folder name"));
    }
    if name.starts_with('.') {
        return Err(bad(
            "it starts with a dot (a hidden file such as `.bashrc`), so it could shadow a user's settings",
        ));
    }
    if name.contains(['/', '\\']) {
        return Err(bad(
            "it contains a path separator, so it would leave the scratch folder",
        ));
    }
    if name.contains("..") {
        return Err(bad("it contains `..`"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(bad("it contains a control character"));
    }
    if name.contains([':', '*', '?', '"', '<', '>', '|']) {
        return Err(bad(
            "it contains a character that is not allowed in Windows file names",
        ));
    }
    if name.len() > 255 {
        return Err(bad("it is longer than 255 bytes"));
    }
    let stem = name.split('.').next().unwrap_or("").trim_end();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return Err(bad("it is a reserved Windows device name"));
    }
    if name.ends_with(['.', ' ']) {
        return Err(bad("it ends with a dot or a space"));
    }
    Ok(name.to_string())
}

/// The file name of an output URL: its last path segment, percent-decoded, without
/// query or fragment, then checked by [`sanitize_file_name`].
///
/// ```
/// let n = gp_raster::file_name_from_url(
///     "https://h/arcgis/rest/directories/arcgisjobs/x_gpserver/j1/scratch/slope%20out.tif?token=t");
/// assert_eq!(n.unwrap(), "slope out.tif");
/// ```
pub fn file_name_from_url(url: &str) -> Result<String> {
    let no_frag = url.split('#').next().unwrap_or("");
    let no_query = no_frag.split('?').next().unwrap_or("");
    // The path part only: never take the host for a file name.
    let path = match no_query.find("://") {
        Some(i) => no_query[i + 3..]
            .find('/')
            .map_or("", |j| &no_query[i + 3 + j..]),
        None => no_query,
    };
    let last = path.rsplit('/').next().unwrap_or("");
    let decoded = percent_decode(last).ok_or_else(|| Error::FileName {
        name: last.to_string(),
        reason: "its percent-encoding is not valid UTF-8".into(),
    })?;
    sanitize_file_name(&decoded)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let hi = (b[i + 1] as char).to_digit(16).unwrap_or(0);
            let lo = (b[i + 2] as char).to_digit(16).unwrap_or(0);
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

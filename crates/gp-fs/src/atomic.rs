//! Files written under a temporary name in their folder and renamed into place when
//! complete, with an explicit [`Flush`] policy: a crash or an error never leaves a
//! partial file under the final name, and an existing file is replaced only when
//! asked.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, io};

/// How much of a committed file must be on disk when [`AtomicPath::commit`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flush {
    /// Nothing is forced to disk: the rename is atomic for other readers, but after
    /// a power loss the file may be missing or empty. For caches and files that are
    /// written again anyway.
    #[default]
    Never,
    /// The file's data is flushed before the rename, so the final name never holds a
    /// partial file, even after a power loss (the rename itself may be lost).
    Data,
    /// The data, then the rename (the folder is flushed too): once `commit` returns,
    /// the file is there after a power loss. For downloads and saved outputs a user
    /// asked for.
    Durable,
}

/// What to do when the final name is taken, and how to flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Replace an existing file (else [`Error::Exists`], checked at start and again at
    /// the rename, which never replaces a file that appeared meanwhile).
    pub overwrite: bool,
    /// The flush policy.
    pub flush: Flush,
}

impl Options {
    /// `overwrite` with `flush`.
    pub fn new(overwrite: bool, flush: Flush) -> Options {
        Options { overwrite, flush }
    }
}

fn folder_of(target: &Path) -> &Path {
    target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A new temporary file in `dir`, named `.gp-part-XXXX<suffix>`, with the permissions
/// of any new file (0666 less the umask), not tempfile's owner-only 0600: it becomes
/// an output.
fn temp_file(dir: &Path, suffix: &str) -> Result<tempfile::NamedTempFile> {
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    let mut b = tempfile::Builder::new();
    b.prefix(".gp-part-").suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir)
        .map_err(io("creating a temporary file in", dir))
}

/// Flushes per `flush`, renames `tmp` to `target` (never over an existing file unless
/// `overwrite`) and, for [`Flush::Durable`], flushes the folder.
fn persist(tmp: tempfile::TempPath, target: &Path, opts: Options) -> Result<()> {
    if opts.flush != Flush::Never {
        // Opened for writing: some systems flush only through a writable handle.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&*tmp)
            .and_then(|f| f.sync_all())
            .map_err(io("flushing to disk", &*tmp))?;
    }
    let res = if opts.overwrite {
        tmp.persist(target)
    } else {
        tmp.persist_noclobber(target)
    };
    res.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Exists {
                path: target.to_path_buf(),
            }
        } else {
            io("renaming into", target)(e.error)
        }
    })?;
    if opts.flush == Flush::Durable
        && let Ok(d) = File::open(folder_of(target))
    {
        // Best effort: not every platform can flush a folder.
        let _ = d.sync_all();
    }
    Ok(())
}

/// A temporary path next to a target, for writers that open files by path (SQLite,
/// Shapefile's three files): removed when dropped unless [committed](Self::commit).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use gp_fs::{AtomicPath, Flush, Options};
/// let target = dir.path().join("out.gpkg");
/// let t = AtomicPath::new(&target, Options::new(false, Flush::Data))?;
/// std::fs::write(t.path(), b"written by any library")?;
/// assert!(!target.exists());
/// t.commit()?;
/// assert_eq!(std::fs::read(&target)?, b"written by any library");
/// // The name is taken now: without overwrite, refused before any work is done.
/// assert!(matches!(AtomicPath::new(&target, Options::default()), Err(gp_fs::Error::Exists { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AtomicPath {
    tmp: tempfile::TempPath,
    target: PathBuf,
    opts: Options,
}

impl AtomicPath {
    /// A new empty temporary file in `target`'s folder (created if missing), with
    /// `target`'s extension, so libraries that look at it are satisfied. Fails early
    /// when `target` exists and overwriting is off.
    pub fn new(target: &Path, opts: Options) -> Result<AtomicPath> {
        if !opts.overwrite && target.exists() {
            return Err(Error::Exists {
                path: target.to_path_buf(),
            });
        }
        let suffix = target
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let tmp = temp_file(folder_of(target), &suffix)?;
        Ok(AtomicPath {
            tmp: tmp.into_temp_path(),
            target: target.to_path_buf(),
            opts,
        })
    }

    /// The temporary file's path, to write to.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes per the policy and renames the file into place.
    pub fn commit(self) -> Result<PathBuf> {
        persist(self.tmp, &self.target, self.opts)?;
        Ok(self.target)
    }
}

/// A file being written under a temporary name, renamed into place by
/// [`AtomicFile::finish`], which can check the size a server announced. Dropping it
/// unfinished removes the temporary file.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use gp_fs::{AtomicFile, Flush, Options};
/// let mut f = AtomicFile::new(dir.path().join("slope.tif"), Options::new(false, Flush::Durable))?;
/// f.write_chunk(b"II*\0")?;
/// // Announced 10 bytes, got 4: refused, and nothing is left under the final name.
/// assert!(matches!(f.finish(Some(10)), Err(gp_fs::Error::SizeMismatch { .. })));
/// assert!(!dir.path().join("slope.tif").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    written: u64,
    opts: Options,
}

impl AtomicFile {
    /// Starts a file that will become `target`.
    pub fn new(target: PathBuf, opts: Options) -> Result<Self> {
        if !opts.overwrite && target.exists() {
            return Err(Error::Exists { path: target });
        }
        let tmp = temp_file(folder_of(&target), ".tmp")?;
        Ok(AtomicFile {
            tmp,
            target,
            written: 0,
            opts,
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

    /// The open temporary file, for writers that take a `File` (its bytes are not
    /// counted by [`AtomicFile::written`]).
    pub fn file_mut(&mut self) -> &mut File {
        self.tmp.as_file_mut()
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

    /// Checks the size against `expected_len` (bytes given to
    /// [`AtomicFile::write_chunk`]), flushes per the policy and renames into place.
    pub fn finish(self, expected_len: Option<u64>) -> Result<PathBuf> {
        if let Some(expected) = expected_len.filter(|e| *e != self.written) {
            return Err(Error::SizeMismatch {
                path: self.target,
                expected,
                received: self.written,
            });
        }
        let (file, tmp) = self.tmp.into_parts();
        drop(file);
        persist(tmp, &self.target, self.opts)?;
        Ok(self.target)
    }
}

/// Writes `bytes` to `target` through a temporary file in its folder.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let p = dir.path().join("job.json");
/// gp_fs::write_atomic(&p, b"{}", gp_fs::Options::new(true, gp_fs::Flush::Data))?;
/// gp_fs::write_atomic(&p, b"{\"a\":1}", gp_fs::Options::new(true, gp_fs::Flush::Data))?;
/// assert_eq!(std::fs::read(&p)?, b"{\"a\":1}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_atomic(target: &Path, bytes: &[u8], opts: Options) -> Result<PathBuf> {
    let mut f = AtomicFile::new(target.to_path_buf(), opts)?;
    f.write_chunk(bytes)?;
    f.finish(None)
}

/// Opens `path` for writing, creating it when missing, and empties it only when it
/// is not empty already. The temporary files of [`AtomicPath`] are new and empty:
/// opening them with `O_TRUNC` would mark them, on ext4, for a write-back of all
/// their data when closed (its guard for files rewritten in place), so the writing
/// thread would wait for the disk even when no flush was asked for.
pub fn create_file(path: &Path) -> std::io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    if f.metadata()?.len() > 0 {
        f.set_len(0)?;
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn outputs_get_the_permissions_of_any_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
        for flush in [Flush::Never, Flush::Data, Flush::Durable] {
            let target = dir.path().join(format!("out-{flush:?}.geojson"));
            let t = AtomicPath::new(&target, Options::new(false, flush)).unwrap();
            std::fs::write(t.path(), b"{}").unwrap();
            assert_eq!(mode(&t.commit().unwrap()), mode(&plain));
            let f = AtomicFile::new(
                dir.path().join(format!("f-{flush:?}")),
                Options::new(false, flush),
            )
            .unwrap();
            assert_eq!(mode(&f.finish(None).unwrap()), mode(&plain));
        }
    }

    #[test]
    fn a_file_that_appears_meanwhile_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        let t = AtomicPath::new(&target, Options::default()).unwrap();
        std::fs::write(t.path(), b"ours").unwrap();
        std::fs::write(&target, b"theirs").unwrap();
        assert!(matches!(t.commit(), Err(Error::Exists { .. })));
        assert_eq!(std::fs::read(&target).unwrap(), b"theirs");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // With overwrite, it is.
        write_atomic(&target, b"ours", Options::new(true, Flush::Never)).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"ours");
    }

    #[test]
    fn dropped_unfinished_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::new(dir.path().join("x"), Options::default()).unwrap();
        f.write_chunk(b"half").unwrap();
        drop(f);
        let t = AtomicPath::new(&dir.path().join("y"), Options::default()).unwrap();
        drop(t);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn create_file_empties_only_what_has_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        create_file(&p).unwrap().write_all(b"first").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        create_file(&p).unwrap().write_all(b"2nd").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"2nd");
    }
}

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
        let mut b = tempfile::Builder::new();
        b.prefix(".gp-part-").suffix(&suffix);
        // The permissions of any new file (0666 less the umask), not tempfile's
        // owner-only 0600: the file is renamed into place as the output.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            b.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let f = b
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

    /// Renames the temporary file into place, after flushing it to disk when `sync`.
    pub(crate) fn commit(mut self, sync: bool) -> Result<PathBuf> {
        let Some(tmp) = self.tmp.take() else {
            return Ok(self.target.clone());
        };
        if sync {
            // Opened for writing: some systems flush only through a writable handle.
            std::fs::OpenOptions::new()
                .write(true)
                .open(&*tmp)
                .and_then(|f| f.sync_all())
                .map_err(io("flushing to disk", &tmp))?;
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

/// Opens `path` for writing, creating it when missing, and empties it only when it
/// is not empty already. The temporary files of [`TempPath`] are new and empty:
/// opening them with `O_TRUNC` would mark them, on ext4, for a write-back of all
/// their data when closed (its guard for files rewritten in place), so the writing
/// thread would wait for the disk even when no flush was asked for (see
/// `SaveOptions::sync`).
pub(crate) fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
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

/// A thread that, while an output is being written, flushes its temporary files to
/// disk every [`Flusher::EVERY`], so that the disk works while the conversion
/// computes and the flush before each rename ([`TempPath::commit`]) finds little
/// left to write. Stopped when dropped. Its flush errors are left to that last
/// flush.
pub(crate) struct Flusher {
    stop: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    /// Time between two flushes.
    const EVERY: std::time::Duration = std::time::Duration::from_millis(25);

    /// Starts flushing `paths` (each once it exists).
    pub(crate) fn start(paths: Vec<PathBuf>) -> Flusher {
        let stop = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("gp-flush".into())
            .spawn(move || {
                let mut files: Vec<Option<std::fs::File>> = paths.iter().map(|_| None).collect();
                let (lock, cv) = &*flag;
                loop {
                    {
                        let Ok(stopped) = lock.lock() else { return };
                        let Ok((stopped, _)) = cv.wait_timeout_while(stopped, Self::EVERY, |s| !*s)
                        else {
                            return;
                        };
                        if *stopped {
                            return;
                        }
                    }
                    for (p, f) in paths.iter().zip(&mut files) {
                        if f.is_none() {
                            *f = std::fs::File::open(p).ok();
                        }
                        if let Some(f) = f {
                            let _ = f.sync_data();
                        }
                    }
                }
            })
            .ok();
        Flusher { stop, thread }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        let (lock, cv) = &*self.stop;
        if let Ok(mut s) = lock.lock() {
            *s = true;
        }
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    #[cfg(unix)]
    #[test]
    fn outputs_get_the_permissions_of_any_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let t = super::TempPath::new(&dir.path().join("out.geojson"), false).unwrap();
        std::fs::write(t.path(), b"{}").unwrap();
        let out = t.commit(true).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&out), mode(&plain));
    }

    #[test]
    fn create_file_empties_only_what_has_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        // Missing: created.
        super::create_file(&p).unwrap().write_all(b"first").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        // With content: emptied before writing, no stale tail left.
        super::create_file(&p).unwrap().write_all(b"2nd").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"2nd");
    }

    #[test]
    fn the_flusher_stops_when_dropped_and_leaves_files_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let (a, missing) = (dir.path().join("a"), dir.path().join("never"));
        let flusher = super::Flusher::start(vec![a.clone(), missing.clone()]);
        let mut f = super::create_file(&a).unwrap();
        for k in 0..50u32 {
            f.write_all(&k.to_le_bytes().repeat(1000)).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(flusher);
        let got = std::fs::read(&a).unwrap();
        assert_eq!(got.len(), 50 * 4000);
        assert_eq!(&got[4000 * 49..4000 * 49 + 4], &49u32.to_le_bytes());
        assert!(!missing.exists());
    }
}

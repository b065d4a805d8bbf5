//! Flushing files to disk while they are written.

use std::path::PathBuf;

/// A thread that, while an output is being written, flushes its temporary files to
/// disk every [`Flusher::EVERY`], so that the disk works while the conversion
/// computes and the flush before each rename ([`crate::AtomicPath::commit`]) finds little
/// left to write. Stopped when dropped. Its flush errors are left to that last
/// flush.
#[derive(Debug)]
pub struct Flusher {
    stop: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    /// Time between two flushes.
    pub const EVERY: std::time::Duration = std::time::Duration::from_millis(25);

    /// Starts flushing `paths` (each once it exists).
    pub fn start(paths: Vec<PathBuf>) -> Flusher {
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

    #[test]
    fn the_flusher_stops_when_dropped_and_leaves_files_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let (a, missing) = (dir.path().join("a"), dir.path().join("never"));
        let flusher = super::Flusher::start(vec![a.clone(), missing.clone()]);
        let mut f = crate::create_file(&a).unwrap();
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

//! The crate's one error type.

use std::path::PathBuf;

/// What can go wrong writing a file into place or naming it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read, written, flushed or renamed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`writing`, `renaming into`, `flushing to disk`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The destination exists and overwriting was not asked for.
    #[error("{path} already exists")]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// A download ended with a different size than announced.
    #[error(
        "{path}: expected {expected} bytes but received {received}; the partial file was removed"
    )]
    SizeMismatch {
        /// The final path the file would have had.
        path: PathBuf,
        /// Announced size.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
    /// A file name from a URL or a user could not be used safely.
    #[error("unsafe file name `{name}`: {reason}")]
    FileName {
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maps an `io::Error` to [`Error::Io`] with what was done and to which file.
pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

//! The crate's one public error type.

use std::path::PathBuf;

/// Everything that can go wrong reading, writing or saving rasters and images.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, `renaming`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a TIFF this crate can decode, or is malformed.
    #[error("invalid TIFF {path}: {message}")]
    Tiff {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The TIFF uses a feature this crate does not decode.
    #[error("unsupported TIFF {path}: {message}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is not supported.
        message: String,
    },
    /// Decoding would exceed a configured limit (a TIFF bomb, or simply too large).
    #[error("{path}: {what} is {value}, over the limit of {limit}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What was measured (`decoded size in bytes`, `chunk count`).
        what: &'static str,
        /// The measured value.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// A file could not be written into place (it exists, a download was cut short,
    /// an unsafe name).
    #[error(transparent)]
    File(#[from] gp_fs::Error),
    /// A map image could not be decoded or converted.
    #[error("image {path}: {message}")]
    Image {
        /// The file or URL name.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The raster value itself is inconsistent (buffer size, band count, ...).
    #[error("invalid raster: {message}")]
    Raster {
        /// What is wrong.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

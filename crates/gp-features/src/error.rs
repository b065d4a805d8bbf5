//! The crate's one public error type.

use std::path::PathBuf;

/// Everything that can go wrong loading or saving feature files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file's format could not be recognised from its extension or content.
    #[error(
        "{path}: unknown feature format ({hint}); use .shp, .geojson, .geojsonl, .gpkg, .fgb, .csv or .json"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// What was seen.
        hint: String,
    },
    /// The file is malformed for its format.
    #[error("{path}: invalid {format}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The format (`Shapefile`, `GeoPackage`, ...).
        format: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A GeoPackage has several layers and none was named, or the named one is missing.
    #[error("{path}: {message}; layers: {}", layers.join(", "))]
    Layer {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
        /// The layers the file has.
        layers: Vec<String>,
    },
    /// Features do not fit the target schema (geometry type, field type).
    #[error("{message}")]
    Schema {
        /// What does not fit, naming both sides.
        message: String,
    },
    /// A feature set from gp-model was refused.
    #[error(transparent)]
    Model(#[from] gp_model::Error),
    /// The destination exists and overwriting was not asked for.
    #[error("{path} already exists (pass overwrite to replace it)")]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// An Arrow column cannot be read or written as a feature set's attribute or
    /// geometry.
    #[error("Arrow column `{column}`: {message}")]
    Arrow {
        /// The column.
        column: String,
        /// What is wrong, with the row where there is one.
        message: String,
    },
    /// The format needs a cargo feature that is off.
    #[error("{path}: {format} needs the `{feature}` cargo feature of gp-features")]
    FeatureDisabled {
        /// The file.
        path: PathBuf,
        /// The format.
        format: &'static str,
        /// The cargo feature to turn on.
        feature: &'static str,
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

pub(crate) fn fmt_err<'a>(
    path: &'a std::path::Path,
    format: &'static str,
) -> impl Fn(String) -> Error + 'a {
    move |message| Error::Format {
        path: path.to_path_buf(),
        format,
        message,
    }
}

impl From<gp_fs::Error> for Error {
    fn from(e: gp_fs::Error) -> Error {
        match e {
            gp_fs::Error::Exists { path } => Error::Exists { path },
            gp_fs::Error::Io {
                action,
                path,
                source,
            } => Error::Io {
                action,
                path,
                source,
            },
            // Not made while writing features (download sizes, names from URLs),
            // kept with the file they name all the same.
            other => {
                let path = match &other {
                    gp_fs::Error::SizeMismatch { path, .. } => path.clone(),
                    gp_fs::Error::FileName { name, .. } => PathBuf::from(name),
                    _ => PathBuf::new(),
                };
                Error::Io {
                    action: "writing",
                    path,
                    source: std::io::Error::other(other.to_string()),
                }
            }
        }
    }
}

impl Error {
    /// Names `path` (the user's destination) instead of a temporary file; errors about
    /// other files (the input of a conversion) are kept as they are.
    pub(crate) fn at(self, path: &std::path::Path) -> Error {
        let is_temp = |p: &std::path::Path| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".gp-part-"))
        };
        match self {
            Error::Io {
                action,
                source,
                path: p,
            } if is_temp(&p) => Error::Io {
                action,
                path: path.to_path_buf(),
                source,
            },
            Error::Format {
                format,
                message,
                path: p,
            } if is_temp(&p) => Error::Format {
                path: path.to_path_buf(),
                format,
                message,
            },
            other => other,
        }
    }
}

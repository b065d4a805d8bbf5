//! # gp-fs
//!
//! How gp writes files, in one place: every output, download, job record and upload
//! is written under a temporary name in its folder and renamed into place when
//! complete ([`AtomicPath`] for writers that open files by path, [`AtomicFile`] for
//! bytes as they arrive, [`write_atomic`] for small files), with an explicit
//! [`Flush`] policy; file names from URLs and servers are checked
//! ([`sanitize_file_name`], [`file_name_from_url`]); and the scratch workspace
//! ([`ScratchWorkspace`], arcpy's `env.scratchWorkspace`) is resolved here.
//!
//! ```
//! use gp_fs::{Flush, Options, ScratchWorkspace};
//! # let tmp = tempfile::tempdir()?;
//! let ws = ScratchWorkspace::resolve(Some(&tmp.path().join("rasteroutput")));
//! let name = gp_fs::file_name_from_url("https://h/arcgis/rest/directories/arcgisjobs/j1/scratch/slope.tif?token=t")?;
//! let mut f = ws.create(&name, false)?;
//! f.write_chunk(b"II*\0")?;
//! let path = f.finish(Some(4))?;
//! assert_eq!(path, ws.dir().join("slope.tif"));
//! // Taken names get a suffix instead of being replaced.
//! assert_eq!(ws.target_path("slope.tif", false)?, ws.dir().join("slope_1.tif"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Which crate does what
//! - [tempfile]: the temporary files, their names and their removal when dropped;
//!   renames that never replace a file (`persist_noclobber`).
//! - [thiserror]: the error type.

#![deny(rustdoc::broken_intra_doc_links)]

mod atomic;
mod error;
mod flusher;
mod names;
mod scratch;

pub use atomic::{AtomicFile, AtomicPath, Flush, Options, create_file, write_atomic};
pub use error::{Error, Result, io};
pub use flusher::Flusher;
pub use names::{file_name_from_url, sanitize_file_name};
pub use scratch::{SCRATCH_ENV, ScratchWorkspace};

//! # gp-raster
//!
//! Raster outputs of geoprocessing services: TIFF/GeoTIFF decoding (parallel) and
//! encoding, the scratch workspace where downloads land atomically, and map images.
//!
//! ## Which crate does what
//! - [tiff]: TIFF structure, decompression (LZW, Deflate, PackBits, JPEG, ZSTD behind
//!   the `zstd` feature) and predictors; this crate adds the GeoTIFF tags, the
//!   parallel chunk scheduling and the limits checked before allocation.
//! - [rayon]: chunks decoded and encoded in parallel.
//! - [flate2] (zlib-rs backend): Deflate when writing GeoTIFFs.
//! - [image]: PNG, JPEG and GIF map images.
//! - [tempfile]: temporary files renamed into place.
//! - [bytemuck]: typed sample buffers viewed as bytes, without `unsafe` here.

#![deny(rustdoc::broken_intra_doc_links)]

mod decode;
mod encode;
mod error;
mod info;
mod mapimage;
mod raster;
mod scratch;

pub use decode::{DecodeLimits, Layout, TiffInfo, read_tiff, read_tiff_info};
pub use encode::{WriteOptions, write_geotiff};
pub use error::{Error, Result};
pub use info::RasterInfo;
pub use mapimage::{ImageKind, MapImage};
pub use raster::{BandStats, GeoReference, ModelType, Raster, RasterData, RasterType, SampleType};
pub use scratch::{
    AtomicFile, SCRATCH_ENV, ScratchWorkspace, file_name_from_url, sanitize_file_name,
};

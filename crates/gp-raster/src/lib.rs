//! # gp-raster
//!
//! Raster outputs of geoprocessing services: TIFF/GeoTIFF decoding (parallel) and
//! encoding, and map images. Files are written through gp-fs (atomically, into the
//! scratch workspace).
//!
//! ```
//! use gp_raster::*;
//!
//! // arcpy's env.scratchWorkspace: an explicit folder, else GP_SCRATCH_WORKSPACE, else TEMP.
//! # let tmp = tempfile::tempdir()?;
//! let ws = gp_fs::ScratchWorkspace::resolve(Some(&tmp.path().join("rasteroutput")));
//! ws.ensure()?;
//!
//! // A float32 GeoTIFF with georeferencing and nodata, written atomically...
//! let mut slope = Raster::new(3, 2, 1, RasterData::F32(vec![0.0, 1.5, 3.0, 4.5, 6.0, -9999.0]))?;
//! slope.georef = GeoReference::north_up(500_000.0, 4_000_000.0, 30.0, 32611);
//! slope.nodata = Some(-9999.0);
//! let path = ws.dir().join("slope.tif");
//! write_geotiff(&path, &slope, &WriteOptions::default())?;
//!
//! // ...read back (chunks decoded in parallel) with statistics that skip nodata.
//! let back = read_tiff(&path, &DecodeLimits::default())?;
//! assert_eq!(back.georef.epsg, Some(32611));
//! let s = back.stats(0).unwrap();
//! assert_eq!((s.min, s.max, s.valid_count), (0.0, 6.0, 5));
//! println!("{}", RasterInfo::read(&path, true, &DecodeLimits::default())?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Which crate does what
//! - [tiff]: the TIFF structure (IFDs and tag values). Strips and tiles are read and
//!   decoded here, so each is checked against the file before anything is allocated.
//! - [weezl]: LZW; [flate2] (zlib-rs backend): Deflate, reading and writing;
//!   [zune_jpeg]: JPEG-in-TIFF, YCbCr turned to RGB as GDAL reads it; [ruzstd]: ZSTD
//!   (pure Rust). PackBits and the predictors are a few lines here.
//! - [rayon]: chunks decoded and encoded in parallel.
//! - [image]: PNG, JPEG and GIF map images.
//! - [gp_fs]: files written under a temporary name and renamed into place.
//! - [bytemuck]: typed sample buffers viewed as bytes, without `unsafe` here.

#![deny(rustdoc::broken_intra_doc_links)]

mod chunk;
mod codec;
mod decode;
mod encode;
mod error;
mod info;
mod mapimage;
mod predictor;
mod raster;
mod stats;
mod tags;

pub use decode::{DecodeLimits, read_tiff, read_tiff_info};
pub use encode::{WriteOptions, write_geotiff};
pub use error::{Error, Result};
pub use info::RasterInfo;
pub use mapimage::{ImageKind, MapImage};
pub use raster::{BandStats, GeoReference, ModelType, Raster, RasterData, RasterType, SampleType};
pub use stats::tiff_stats;
pub use tags::{ColorTable, Layout, TiffInfo, nodata_text};

//! What `gp raster info FILE [--stats] [--json]` shows: georeferencing, bands, statistics.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::decode::{DecodeLimits, read_tiff_info};
use crate::error::Result;
use crate::raster::{BandStats, ModelType};
use crate::stats::stats_and_info;
use crate::tags::{Layout, TiffInfo};

/// A TIFF's description, with band statistics when asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RasterInfo {
    /// The file.
    pub path: String,
    /// Header and tags.
    #[serde(flatten)]
    pub tiff: TiffInfo,
    /// Per band (in order), when computed; `None` for a band with no valid sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<Option<BandStats>>>,
}

impl RasterInfo {
    /// Reads the header; with `stats`, computes band statistics streamed over the
    /// chunks as they are decoded ([`crate::tiff_stats`]).
    pub fn read(path: impl AsRef<Path>, stats: bool, limits: &DecodeLimits) -> Result<RasterInfo> {
        let path = path.as_ref();
        let (tiff, stats) = if stats {
            let (s, info) = stats_and_info(path, limits)?;
            (info, Some(s))
        } else {
            (read_tiff_info(path)?, None)
        };
        Ok(RasterInfo {
            path: path.display().to_string(),
            tiff,
            stats,
        })
    }
}

impl fmt::Display for RasterInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.tiff;
        writeln!(f, "File: {}", self.path)?;
        writeln!(
            f,
            "Size: {} x {}, {} band(s) of {:?}",
            t.width, t.height, t.bands, t.sample_type
        )?;
        let layout = match t.layout {
            Layout::Tiles => "tiles",
            Layout::Strips => "strips",
        };
        writeln!(
            f,
            "Storage: {layout} of {} x {}, {} compression, predictor {}, {}{}",
            t.block_size.0,
            t.block_size.1,
            t.compression,
            t.predictor,
            if t.planar {
                "band-separate"
            } else {
                "pixel-interleaved"
            },
            if t.bigtiff { ", BigTIFF" } else { "" }
        )?;
        match &t.color_table {
            Some(c) => writeln!(
                f,
                "Photometric: {}, colour table of {} entries",
                t.photometric,
                c.entries.len()
            )?,
            None => writeln!(f, "Photometric: {}", t.photometric)?,
        }
        match (t.georef.epsg, t.georef.model_type) {
            (Some(e), Some(ModelType::Geographic)) => {
                writeln!(f, "Coordinate system: EPSG:{e} (geographic)")?
            }
            (Some(e), _) => writeln!(f, "Coordinate system: EPSG:{e}")?,
            (None, _) => writeln!(f, "Coordinate system: none")?,
        }
        if let Some(gt) = t.georef.geotransform {
            writeln!(f, "Origin: ({}, {})", gt[0], gt[3])?;
            writeln!(f, "Pixel size: ({}, {})", gt[1], gt[5])?;
            let (w, h) = (f64::from(t.width), f64::from(t.height));
            writeln!(f, "Upper left: ({}, {})", gt[0], gt[3])?;
            writeln!(
                f,
                "Lower right: ({}, {})",
                gt[0] + w * gt[1] + h * gt[2],
                gt[3] + w * gt[4] + h * gt[5]
            )?;
            writeln!(f, "Pixel is: {:?}", t.georef.raster_type)?;
        }
        if let Some(nd) = t.nodata {
            writeln!(f, "NoData: {}", crate::nodata_text(nd))?;
        }
        if let Some(stats) = &self.stats {
            for (i, s) in stats.iter().enumerate() {
                match s {
                    Some(s) => writeln!(
                        f,
                        "Band {}: min={} max={} mean={} stddev={} valid={}",
                        i + 1,
                        s.min,
                        s.max,
                        s.mean,
                        s.stddev,
                        s.valid_count
                    )?,
                    None => writeln!(f, "Band {}: no valid pixels", i + 1)?,
                }
            }
        }
        Ok(())
    }
}

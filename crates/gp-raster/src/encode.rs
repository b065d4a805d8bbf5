//! Writing tiled, Deflate-compressed GeoTIFFs (tiles compressed in parallel).
//!
//! The writer is small and specific (the `tiff` crate's encoder writes strips only):
//! classic little-endian TIFF, tiles, Deflate with the horizontal predictor for
//! integers and the floating-point predictor for floats, GeoKeys, `GDAL_NODATA`.

use std::io::{BufWriter, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use rayon::prelude::*;

use crate::error::{Error, Result, io};
use crate::raster::{ModelType, Raster, RasterType, SampleType, guess_model, with_data};

/// Options of [`write_geotiff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Tile width and height in pixels (a multiple of 16; default 256).
    pub tile_size: u32,
    /// Deflate level 0–9 (default 6).
    pub deflate_level: u32,
    /// Use the predictor (horizontal for integers, floating point for floats).
    pub predictor: bool,
    /// Replace an existing file.
    pub overwrite: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            tile_size: 256,
            deflate_level: 6,
            predictor: true,
            overwrite: true,
        }
    }
}

/// Tag types.
const SHORT: u16 = 3;
const LONG: u16 = 4;
const DOUBLE: u16 = 12;
const ASCII: u16 = 2;

enum TagValue {
    Shorts(Vec<u16>),
    Longs(Vec<u32>),
    Doubles(Vec<f64>),
    Ascii(String),
}

impl TagValue {
    fn kind_count_bytes(&self) -> (u16, u32, Vec<u8>) {
        match self {
            TagValue::Shorts(v) => (
                SHORT,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            TagValue::Longs(v) => (
                LONG,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            TagValue::Doubles(v) => (
                DOUBLE,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            TagValue::Ascii(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                (ASCII, b.len() as u32, b)
            }
        }
    }
}

fn sample_format(t: SampleType) -> u16 {
    if t.is_float() {
        3
    } else if t.is_signed_int() {
        2
    } else {
        1
    }
}

/// Applies the predictor to one tile row of little-endian samples, in place.
fn predict_row(row: &mut [u8], s: usize, float: bool) {
    if float {
        // TIFF Technical Note 3: bytes reordered most significant first (big-endian
        // byte planes), then byte-wise horizontal differencing.
        let n = row.len() / s;
        let mut shuffled = vec![0u8; row.len()];
        for i in 0..n {
            for k in 0..s {
                // Little-endian source: byte s-1-k is the k-th most significant.
                shuffled[k * n + i] = row[i * s + (s - 1 - k)];
            }
        }
        for i in (1..shuffled.len()).rev() {
            shuffled[i] = shuffled[i].wrapping_sub(shuffled[i - 1]);
        }
        row.copy_from_slice(&shuffled);
    } else {
        // Horizontal differencing of whole samples, little-endian, wrapping.
        let n = row.len() / s;
        for i in (1..n).rev() {
            match s {
                1 => row[i] = row[i].wrapping_sub(row[i - 1]),
                2 => {
                    let a = u16::from_le_bytes([row[2 * i], row[2 * i + 1]]);
                    let b = u16::from_le_bytes([row[2 * i - 2], row[2 * i - 1]]);
                    row[2 * i..2 * i + 2].copy_from_slice(&a.wrapping_sub(b).to_le_bytes());
                }
                4 => {
                    let mut a = [0u8; 4];
                    let mut b = [0u8; 4];
                    a.copy_from_slice(&row[4 * i..4 * i + 4]);
                    b.copy_from_slice(&row[4 * i - 4..4 * i]);
                    let d = u32::from_le_bytes(a).wrapping_sub(u32::from_le_bytes(b));
                    row[4 * i..4 * i + 4].copy_from_slice(&d.to_le_bytes());
                }
                _ => {
                    let mut a = [0u8; 8];
                    let mut b = [0u8; 8];
                    a.copy_from_slice(&row[8 * i..8 * i + 8]);
                    b.copy_from_slice(&row[8 * i - 8..8 * i]);
                    let d = u64::from_le_bytes(a).wrapping_sub(u64::from_le_bytes(b));
                    row[8 * i..8 * i + 8].copy_from_slice(&d.to_le_bytes());
                }
            }
        }
    }
}

/// Writes `raster` as a tiled, Deflate-compressed GeoTIFF (planar for several bands),
/// with its georeferencing and nodata. The file is written to a temporary name in the
/// same folder and renamed into place: an error leaves nothing behind.
pub fn write_geotiff(path: impl AsRef<Path>, raster: &Raster, opts: &WriteOptions) -> Result<()> {
    let path = path.as_ref();
    if opts.tile_size == 0 || !opts.tile_size.is_multiple_of(16) {
        return Err(Error::Raster {
            message: format!(
                "tile size {} is not a positive multiple of 16",
                opts.tile_size
            ),
        });
    }
    if raster.data.len() != raster.band_len() * raster.bands as usize || raster.bands == 0 {
        return Err(Error::Raster {
            message: "the sample buffer does not match width x height x bands".into(),
        });
    }
    if path.exists() && !opts.overwrite {
        // Before compressing anything (the rename checks again).
        return Err(gp_fs::Error::Exists {
            path: path.to_path_buf(),
        }
        .into());
    }
    let t = raster.sample_type();
    let s = t.size();
    let (w, h, ts) = (
        raster.width as usize,
        raster.height as usize,
        opts.tile_size as usize,
    );
    let across = w.div_ceil(ts);
    let down = h.div_ceil(ts);
    let bytes: &[u8] = with_data!(&raster.data, v => bytemuck::cast_slice(v.as_slice()));
    let le_bytes = to_little_endian(bytes, s);
    let band_bytes = w * h * s;
    let level = Compression::new(opts.deflate_level.min(9));
    let tiles: Vec<(usize, usize, usize)> = (0..raster.bands as usize)
        .flat_map(|b| (0..down).flat_map(move |r| (0..across).map(move |c| (b, r, c))))
        .collect();
    let compressed: Vec<Vec<u8>> = tiles
        .par_iter()
        .map(|&(b, r, c)| {
            let mut tile = vec![0u8; ts * ts * s];
            let band = &le_bytes[b * band_bytes..(b + 1) * band_bytes];
            let x0 = c * ts;
            let cols = ts.min(w - x0);
            for y in 0..ts.min(h - r * ts) {
                let src = ((r * ts + y) * w + x0) * s;
                tile[y * ts * s..(y * ts + cols) * s].copy_from_slice(&band[src..src + cols * s]);
            }
            if opts.predictor {
                for row in tile.chunks_mut(ts * s) {
                    predict_row(row, s, t.is_float());
                }
            }
            let mut enc = ZlibEncoder::new(Vec::with_capacity(tile.len() / 2), level);
            enc.write_all(&tile).and_then(|()| enc.finish())
        })
        .collect::<std::io::Result<_>>()
        .map_err(io("compressing", path))?;

    let total: u64 = compressed.iter().map(|c| c.len() as u64).sum();
    if total > u64::from(u32::MAX) - (1 << 20) {
        return Err(Error::Raster {
            message: format!(
                "{total} compressed bytes do not fit a classic TIFF (BigTIFF writing is not supported)"
            ),
        });
    }
    let mut offsets = Vec::with_capacity(compressed.len());
    let mut pos = 8u32;
    for c in &compressed {
        offsets.push(pos);
        pos += c.len() as u32;
    }
    let spp = raster.bands as u16;
    let mut tags: Vec<(u16, TagValue)> = vec![
        (256, TagValue::Longs(vec![raster.width])),
        (257, TagValue::Longs(vec![raster.height])),
        (258, TagValue::Shorts(vec![(s * 8) as u16; spp as usize])),
        (259, TagValue::Shorts(vec![8])),
        (262, TagValue::Shorts(vec![1])),
        (277, TagValue::Shorts(vec![spp])),
        (284, TagValue::Shorts(vec![if spp > 1 { 2 } else { 1 }])),
        (
            317,
            TagValue::Shorts(vec![match (opts.predictor, t.is_float()) {
                (false, _) => 1,
                (true, false) => 2,
                (true, true) => 3,
            }]),
        ),
        (322, TagValue::Longs(vec![opts.tile_size])),
        (323, TagValue::Longs(vec![opts.tile_size])),
        (324, TagValue::Longs(offsets)),
        (
            325,
            TagValue::Longs(compressed.iter().map(|c| c.len() as u32).collect()),
        ),
        (339, TagValue::Shorts(vec![sample_format(t); spp as usize])),
    ];
    if spp > 1 {
        // Grey plus unspecified extra samples: every band is data, none is colour.
        tags.push((338, TagValue::Shorts(vec![0; spp as usize - 1])));
    }
    let g = &raster.georef;
    if let Some(gt) = g.geotransform {
        let point = g.raster_type == RasterType::Point;
        // Back from GDAL's corner convention to the tie point of the raster type.
        let (x0, y0) = if point {
            (
                gt[0] + 0.5 * gt[1] + 0.5 * gt[2],
                gt[3] + 0.5 * gt[4] + 0.5 * gt[5],
            )
        } else {
            (gt[0], gt[3])
        };
        if gt[2] == 0.0 && gt[4] == 0.0 {
            tags.push((33550, TagValue::Doubles(vec![gt[1], -gt[5], 0.0])));
            tags.push((33922, TagValue::Doubles(vec![0.0, 0.0, 0.0, x0, y0, 0.0])));
        } else {
            tags.push((
                34264,
                TagValue::Doubles(vec![
                    gt[1], gt[2], 0.0, x0, gt[4], gt[5], 0.0, y0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                    0.0, 1.0,
                ]),
            ));
        }
    }
    if g.epsg.is_some() || g.geotransform.is_some() {
        let mut keys: Vec<u16> = vec![1, 1, 0, 0];
        let model = g.model_type.or(g.epsg.map(guess_model));
        if let Some(m) = model {
            keys.extend([
                1024,
                0,
                1,
                match m {
                    ModelType::Projected => 1,
                    ModelType::Geographic => 2,
                    ModelType::Geocentric => 3,
                },
            ]);
        }
        keys.extend([
            1025,
            0,
            1,
            if g.raster_type == RasterType::Point {
                2
            } else {
                1
            },
        ]);
        if let (Some(epsg), Some(m)) = (g.epsg.and_then(|e| u16::try_from(e).ok()), model) {
            let key = if m == ModelType::Geographic {
                2048
            } else {
                3072
            };
            keys.extend([key, 0, 1, epsg]);
        }
        keys[3] = ((keys.len() - 4) / 4) as u16;
        tags.push((34735, TagValue::Shorts(keys)));
    }
    if let Some(md) = &raster.metadata {
        tags.push((42112, TagValue::Ascii(md.clone())));
    }
    if let Some(nd) = raster.nodata {
        let text = if nd.is_nan() {
            "nan".to_string()
        } else {
            format!("{nd}")
        };
        tags.push((42113, TagValue::Ascii(text)));
    }
    tags.sort_by_key(|(t, _)| *t);

    let mut tmp = gp_fs::AtomicFile::new(
        path.to_path_buf(),
        gp_fs::Options::new(opts.overwrite, gp_fs::Flush::Data),
    )?;
    {
        let mut out = BufWriter::new(tmp.file_mut());
        let wr = |e| Error::Io {
            action: "writing",
            path: path.to_path_buf(),
            source: e,
        };
        out.write_all(b"II*\0").map_err(wr)?;
        // IFD offset after the tile data, word aligned.
        let ifd_at = pos + (pos & 1);
        out.write_all(&ifd_at.to_le_bytes()).map_err(wr)?;
        for c in &compressed {
            out.write_all(c).map_err(wr)?;
        }
        if pos & 1 == 1 {
            out.write_all(&[0]).map_err(wr)?;
        }
        let n = tags.len() as u32;
        let mut extra_at = ifd_at + 2 + n * 12 + 4;
        let mut extra: Vec<u8> = Vec::new();
        out.write_all(&(n as u16).to_le_bytes()).map_err(wr)?;
        for (tag, value) in &tags {
            let (kind, count, mut data) = value.kind_count_bytes();
            out.write_all(&tag.to_le_bytes()).map_err(wr)?;
            out.write_all(&kind.to_le_bytes()).map_err(wr)?;
            out.write_all(&count.to_le_bytes()).map_err(wr)?;
            if data.len() <= 4 {
                data.resize(4, 0);
                out.write_all(&data).map_err(wr)?;
            } else {
                out.write_all(&extra_at.to_le_bytes()).map_err(wr)?;
                if data.len() % 2 == 1 {
                    data.push(0);
                }
                extra_at += data.len() as u32;
                extra.extend(data);
            }
        }
        out.write_all(&0u32.to_le_bytes()).map_err(wr)?;
        out.write_all(&extra).map_err(wr)?;
        out.flush().map_err(wr)?;
    }
    tmp.finish(None)?;
    Ok(())
}

fn to_little_endian(bytes: &[u8], s: usize) -> std::borrow::Cow<'_, [u8]> {
    if cfg!(target_endian = "little") || s == 1 {
        std::borrow::Cow::Borrowed(bytes)
    } else {
        let mut v = bytes.to_vec();
        for c in v.chunks_mut(s) {
            c.reverse();
        }
        std::borrow::Cow::Owned(v)
    }
}

//! TIFF / GeoTIFF decoding with the `tiff` crate, chunks decoded in parallel (rayon).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use tiff::decoder::{ChunkType, Decoder};
use tiff::tags::Tag;

use crate::error::{Error, Result};
use crate::raster::{
    GeoReference, ModelType, Raster, RasterData, RasterType, SampleType, with_data,
};

/// Limits checked before any pixel buffer is allocated, so a TIFF bomb (a small file
/// that claims a huge image) is refused with a clear error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Maximum decoded size, width × height × bands × bytes per sample (default 4 GiB).
    pub max_decoded_bytes: u64,
    /// Maximum number of strips or tiles (default 4 Mi).
    pub max_chunks: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_decoded_bytes: 4 << 30,
            max_chunks: 4 << 20,
        }
    }
}

/// Strips or tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Rows of strips.
    Strips,
    /// Rectangular tiles.
    Tiles,
}

/// What a TIFF holds, read from its header and tags without decoding pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TiffInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Samples per pixel.
    pub bands: u32,
    /// Sample type.
    pub sample_type: SampleType,
    /// Compression name (`none`, `lzw`, `deflate`, `packbits`, `jpeg`, `zstd`, or the code).
    pub compression: String,
    /// Predictor: 1 none, 2 horizontal, 3 floating point.
    pub predictor: u16,
    /// True for planar (band-separate) storage.
    pub planar: bool,
    /// Strips or tiles.
    pub layout: Layout,
    /// Strip or tile size in pixels (width, height).
    pub block_size: (u32, u32),
    /// True for BigTIFF.
    pub bigtiff: bool,
    /// Georeferencing.
    pub georef: GeoReference,
    /// `GDAL_NODATA` (NaN and ±infinity kept; in JSON written as GDAL writes them:
    /// `"NaN"`, `"Infinity"`, `"-Infinity"`, other values as numbers).
    #[serde(serialize_with = "nodata_json")]
    pub nodata: Option<f64>,
    /// `GDAL_METADATA` XML.
    pub metadata: Option<String>,
}

fn tiff_err(path: &Path) -> impl Fn(tiff::TiffError) -> Error + '_ {
    move |e| match e {
        tiff::TiffError::UnsupportedError(u) => Error::Unsupported {
            path: path.to_path_buf(),
            message: u.to_string(),
        },
        tiff::TiffError::IoError(io) => Error::Io {
            action: "reading",
            path: path.to_path_buf(),
            source: io,
        },
        other => Error::Tiff {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    }
}

type Dec = Decoder<BufReader<File>>;

fn open(path: &Path, limits: &DecodeLimits) -> Result<Dec> {
    let f = File::open(path).map_err(crate::error::io("opening", path))?;
    let mut tl = tiff::decoder::Limits::default();
    tl.decoding_buffer_size = usize::try_from(limits.max_decoded_bytes).unwrap_or(usize::MAX);
    tl.intermediate_buffer_size = tl.decoding_buffer_size;
    tl.ifd_value_size = 256 << 20;
    Ok(Decoder::new(BufReader::new(f))
        .map_err(tiff_err(path))?
        .with_limits(tl))
}

fn tag_u16(d: &mut Dec, tag: Tag, path: &Path) -> Result<Option<u16>> {
    d.find_tag_unsigned::<u16>(tag).map_err(tiff_err(path))
}

fn tag_f64s(d: &mut Dec, tag: u16, path: &Path) -> Result<Option<Vec<f64>>> {
    match d.find_tag(Tag::Unknown(tag)).map_err(tiff_err(path))? {
        Some(v) => v.into_f64_vec().map(Some).map_err(tiff_err(path)),
        None => Ok(None),
    }
}

fn tag_string(d: &mut Dec, tag: u16, path: &Path) -> Result<Option<String>> {
    match d.find_tag(Tag::Unknown(tag)).map_err(tiff_err(path))? {
        Some(v) => Ok(v
            .into_string()
            .ok()
            .map(|s| s.trim_end_matches('\0').to_string())),
        None => Ok(None),
    }
}

fn compression_name(code: u16) -> String {
    match code {
        1 => "none".into(),
        5 => "lzw".into(),
        6 | 7 => "jpeg".into(),
        8 | 32946 => "deflate".into(),
        32773 => "packbits".into(),
        50000 => "zstd".into(),
        34887 => "lerc".into(),
        other => other.to_string(),
    }
}

fn sample_type(bits: u16, format: u16, path: &Path) -> Result<SampleType> {
    Ok(match (bits, format) {
        (8, 1) => SampleType::U8,
        (16, 1) => SampleType::U16,
        (32, 1) => SampleType::U32,
        (64, 1) => SampleType::U64,
        (8, 2) => SampleType::I8,
        (16, 2) => SampleType::I16,
        (32, 2) => SampleType::I32,
        (64, 2) => SampleType::I64,
        (32, 3) => SampleType::F32,
        (64, 3) => SampleType::F64,
        _ => {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                message: format!("{bits}-bit samples of sample format {format}"),
            });
        }
    })
}

/// Parses the GeoKey directory and the model tags into a [`GeoReference`].
fn georef(d: &mut Dec, path: &Path) -> Result<GeoReference> {
    let mut g = GeoReference::default();
    let keys: Vec<u32> = match d.find_tag(Tag::Unknown(34735)).map_err(tiff_err(path))? {
        Some(v) => v.into_u32_vec().map_err(tiff_err(path))?,
        None => Vec::new(),
    };
    let (mut geographic, mut projected) = (None, None);
    if keys.len() >= 4 {
        let n = keys[3] as usize;
        for e in keys[4..].chunks_exact(4).take(n) {
            // Only keys stored inline (location 0) are short values we need.
            if e[1] != 0 {
                continue;
            }
            let v = e[3];
            match e[0] {
                1024 => {
                    g.model_type = match v {
                        1 => Some(ModelType::Projected),
                        2 => Some(ModelType::Geographic),
                        3 => Some(ModelType::Geocentric),
                        _ => None,
                    }
                }
                1025 if v == 2 => g.raster_type = RasterType::Point,
                2048 if v != 32767 && v != 0 => geographic = Some(v),
                3072 if v != 32767 && v != 0 => projected = Some(v),
                _ => {}
            }
        }
    }
    g.epsg = projected.or(geographic);
    let scale = tag_f64s(d, 33550, path)?;
    let tie = tag_f64s(d, 33922, path)?;
    let matrix = tag_f64s(d, 34264, path)?;
    let mut gt = match (scale, tie, matrix) {
        (_, _, Some(m)) if m.len() >= 16 => Some([m[3], m[0], m[1], m[7], m[4], m[5]]),
        (Some(s), Some(t), _) if s.len() >= 2 && t.len() >= 6 => Some([
            t[3] - t[0] * s[0],
            s[0],
            0.0,
            t[4] + t[1] * s[1],
            0.0,
            -s[1],
        ]),
        _ => None,
    };
    if let (Some(gt), RasterType::Point) = (gt.as_mut(), g.raster_type) {
        // GDAL's convention: report the corner of the pixel, not its centre.
        gt[0] -= 0.5 * gt[1] + 0.5 * gt[2];
        gt[3] -= 0.5 * gt[4] + 0.5 * gt[5];
    }
    g.geotransform = gt;
    Ok(g)
}

struct Header {
    info: TiffInfo,
    chunks_across: u32,
    chunks_per_plane: u32,
}

fn header(d: &mut Dec, path: &Path, limits: &DecodeLimits) -> Result<Header> {
    let (width, height) = d.dimensions().map_err(tiff_err(path))?;
    let spp = u32::from(tag_u16(d, Tag::SamplesPerPixel, path)?.unwrap_or(1));
    let bits = d
        .find_tag_unsigned_vec::<u16>(Tag::BitsPerSample)
        .map_err(tiff_err(path))?
        .unwrap_or_else(|| vec![1]);
    let formats = d
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)
        .map_err(tiff_err(path))?
        .unwrap_or_else(|| vec![1]);
    if bits.iter().any(|b| *b != bits[0]) || formats.iter().any(|f| *f != formats[0]) {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            message: "bands with different sample types".into(),
        });
    }
    let st = sample_type(bits[0], formats[0], path)?;
    let planar = tag_u16(d, Tag::PlanarConfiguration, path)?.unwrap_or(1) == 2;
    let compression = tag_u16(d, Tag::Compression, path)?.unwrap_or(1);
    let predictor = tag_u16(d, Tag::Predictor, path)?.unwrap_or(1);
    let layout = match d.get_chunk_type() {
        ChunkType::Strip => Layout::Strips,
        ChunkType::Tile => Layout::Tiles,
    };
    let (cw, ch) = d.chunk_dimensions();
    if cw == 0 || ch == 0 || width == 0 || height == 0 || spp == 0 {
        return Err(Error::Tiff {
            path: path.to_path_buf(),
            message: format!(
                "empty image or block ({width}x{height}, block {cw}x{ch}, {spp} bands)"
            ),
        });
    }
    let decoded = u64::from(width) * u64::from(height) * u64::from(spp) * st.size() as u64;
    if decoded > limits.max_decoded_bytes {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            what: "decoded size in bytes",
            value: decoded,
            limit: limits.max_decoded_bytes,
        });
    }
    let across = width.div_ceil(cw);
    let down = height.div_ceil(ch);
    let per_plane = u64::from(across) * u64::from(down);
    let total = per_plane * if planar { u64::from(spp) } else { 1 };
    if total > limits.max_chunks {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            what: "chunk count",
            value: total,
            limit: limits.max_chunks,
        });
    }
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(crate::error::io("reading", path))?;
    let bigtiff = magic[2] == 43 || magic[3] == 43;
    let georef = georef(d, path)?;
    let nodata = tag_string(d, 42113, path)?.and_then(|s| parse_nodata(&s));
    let metadata = tag_string(d, 42112, path)?;
    Ok(Header {
        info: TiffInfo {
            width,
            height,
            bands: spp,
            sample_type: st,
            compression: compression_name(compression),
            predictor,
            planar,
            layout,
            block_size: (cw, ch),
            bigtiff,
            georef,
            nodata,
            metadata,
        },
        chunks_across: across,
        chunks_per_plane: u32::try_from(per_plane).unwrap_or(u32::MAX),
    })
}

fn parse_nodata(s: &str) -> Option<f64> {
    // Rust reads `nan`, `inf`, `-inf` and `infinity` in any case, as GDAL writes them.
    s.trim().trim_end_matches('\0').parse().ok()
}

/// A nodata value as text, as GDAL prints it: `nan`, `inf`, `-inf`, or the number.
///
/// ```
/// assert_eq!(gp_raster::nodata_text(f64::NAN), "nan");
/// assert_eq!(gp_raster::nodata_text(f64::NEG_INFINITY), "-inf");
/// assert_eq!(gp_raster::nodata_text(-9999.0), "-9999");
/// ```
pub fn nodata_text(nd: f64) -> String {
    if nd.is_nan() {
        "nan".into()
    } else {
        nd.to_string()
    }
}

fn nodata_json<S: serde::Serializer>(
    v: &Option<f64>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(x) if x.is_nan() => s.serialize_str("NaN"),
        Some(x) if *x == f64::INFINITY => s.serialize_str("Infinity"),
        Some(x) if *x == f64::NEG_INFINITY => s.serialize_str("-Infinity"),
        Some(x) => s.serialize_f64(*x),
    }
}

/// Reads a TIFF's header and tags (no pixels).
pub fn read_tiff_info(path: impl AsRef<Path>) -> Result<TiffInfo> {
    let path = path.as_ref();
    let limits = DecodeLimits {
        max_decoded_bytes: u64::MAX,
        max_chunks: u64::MAX,
    };
    let mut d = open(path, &limits)?;
    Ok(header(&mut d, path, &limits)?.info)
}

/// One unit of parallel work: a row of chunks (a strip, or a row of tiles) of one
/// plane (planar) or of all bands (chunky), and the output rows it fills per band.
struct Job<'a> {
    plane: u32,
    row: u32,
    outs: Vec<&'a mut [u8]>,
}

/// Decodes a whole TIFF (first image) into a [`Raster`], chunks in parallel.
///
/// ```no_run
/// let r = gp_raster::read_tiff("slope.tif", &gp_raster::DecodeLimits::default())?;
/// println!("{}x{} {:?}", r.width, r.height, r.stats(0));
/// # Ok::<(), gp_raster::Error>(())
/// ```
pub fn read_tiff(path: impl AsRef<Path>, limits: &DecodeLimits) -> Result<Raster> {
    let path = path.as_ref();
    let mut d = open(path, limits)?;
    let h = header(&mut d, path, limits)?;
    drop(d);
    let info = &h.info;
    let s = info.sample_type.size();
    let (w, ht, bands) = (
        info.width as usize,
        info.height as usize,
        info.bands as usize,
    );
    let mut data = RasterData::zeroed(info.sample_type, w * ht * bands)?;
    let rows_per_job = info.block_size.1 as usize;
    {
        let bytes: &mut [u8] =
            with_data!(&mut data, v => bytemuck::cast_slice_mut(v.as_mut_slice()));
        let band_bytes = w * ht * s;
        let mut per_band: Vec<std::slice::ChunksMut<'_, u8>> = bytes
            .chunks_mut(band_bytes)
            .map(|b| b.chunks_mut(rows_per_job * w * s))
            .collect();
        let mut jobs = Vec::new();
        let rows = ht.div_ceil(rows_per_job);
        if info.planar {
            for (b, it) in per_band.iter_mut().enumerate() {
                for (r, out) in it.enumerate() {
                    jobs.push(Job {
                        plane: b as u32,
                        row: r as u32,
                        outs: vec![out],
                    });
                }
            }
        } else {
            for r in 0..rows {
                let outs: Vec<&mut [u8]> = per_band.iter_mut().filter_map(Iterator::next).collect();
                jobs.push(Job {
                    plane: 0,
                    row: r as u32,
                    outs,
                });
            }
        }
        let path_buf: PathBuf = path.to_path_buf();
        jobs.into_par_iter()
            .map_init(
                || (open(&path_buf, limits), Vec::<u8>::new()),
                |(dec, scratch), job| match dec {
                    Ok(dec) => decode_job(dec, scratch, job, &h, path),
                    Err(e) => Err(Error::Tiff {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    }),
                },
            )
            .collect::<Result<Vec<()>>>()?;
    }
    Ok(Raster {
        width: info.width,
        height: info.height,
        bands: info.bands,
        data,
        georef: info.georef.clone(),
        nodata: info.nodata,
        metadata: info.metadata.clone(),
    })
}

fn decode_job(
    dec: &mut Dec,
    scratch: &mut Vec<u8>,
    mut job: Job<'_>,
    h: &Header,
    path: &Path,
) -> Result<()> {
    let info = &h.info;
    let s = info.sample_type.size();
    let w = info.width as usize;
    let (bw, _) = info.block_size;
    let spp_chunk = if info.planar { 1 } else { info.bands as usize };
    let out_rows = job.outs.first().map_or(0, |o| o.len() / (w * s));
    for c in 0..h.chunks_across {
        let idx = job.plane * h.chunks_per_plane + job.row * h.chunks_across + c;
        let layout = dec.image_chunk_buffer_layout(idx).map_err(tiff_err(path))?;
        let (cw, ch) = dec.chunk_data_dimensions(idx);
        scratch.clear();
        scratch.resize(layout.len, 0);
        dec.read_chunk_bytes(idx, scratch).map_err(tiff_err(path))?;
        let stride = layout
            .row_stride
            .map_or(cw as usize * spp_chunk * s, |n| n.get());
        let x0 = c as usize * bw as usize;
        let cols = (cw as usize).min(w.saturating_sub(x0));
        let rows = (ch as usize).min(out_rows);
        for y in 0..rows {
            let src = &scratch[y * stride..];
            let dst_off = (y * w + x0) * s;
            if spp_chunk == 1 {
                job.outs[0][dst_off..dst_off + cols * s].copy_from_slice(&src[..cols * s]);
            } else {
                for (b, out) in job.outs.iter_mut().enumerate() {
                    let dst = &mut out[dst_off..dst_off + cols * s];
                    for x in 0..cols {
                        let from = (x * spp_chunk + b) * s;
                        dst[x * s..(x + 1) * s].copy_from_slice(&src[from..from + s]);
                    }
                }
            }
        }
    }
    Ok(())
}

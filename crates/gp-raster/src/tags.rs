//! A TIFF's header and tags, read with the `tiff` crate: the public [`TiffInfo`] and
//! what decoding needs (chunk arrays, byte order, codec), checked against the file.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::Serialize;
use tiff::decoder::{ChunkType, Decoder};
use tiff::tags::Tag;

use crate::codec::{Codec, JpegColour};
use crate::decode::DecodeLimits;
use crate::error::{Error, Result};
use crate::raster::{GeoReference, ModelType, RasterType, SampleType};

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
    /// How samples are to be seen: `minisblack`, `miniswhite`, `rgb`, `palette`,
    /// `ycbcr` (JPEG, decoded to RGB as GDAL does), or the code.
    pub photometric: String,
    /// The colour table of a palette image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_table: Option<ColorTable>,
}

/// The colour table of a palette (colour-mapped) image: the file's 16-bit entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColorTable {
    /// Red, green and blue of each index, 0–65535 as the TIFF stores them.
    pub entries: Vec<[u16; 3]>,
}

impl ColorTable {
    /// The entries as 8-bit RGBA, as GDAL gives them: divided by 257, or kept as they
    /// are when every value is already below 256 (files written that way).
    ///
    /// ```
    /// let t = gp_raster::ColorTable { entries: vec![[65535, 0, 32896]] };
    /// assert_eq!(t.rgba8(), vec![[255, 0, 128, 255]]);
    /// ```
    pub fn rgba8(&self) -> Vec<[u8; 4]> {
        let small = self.entries.iter().flatten().all(|v| *v < 256);
        let eight = |v: u16| if small { v as u8 } else { (v / 257) as u8 };
        self.entries
            .iter()
            .map(|[r, g, b]| [eight(*r), eight(*g), eight(*b), 255])
            .collect()
    }
}

pub(crate) fn tiff_err(path: &Path) -> impl Fn(tiff::TiffError) -> Error + '_ {
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

/// Opens the TIFF for its tags: no tag value may be larger than the file itself.
fn open(path: &Path) -> Result<(Dec, u64)> {
    let f = File::open(path).map_err(crate::error::io("opening", path))?;
    let len = f
        .metadata()
        .map_err(crate::error::io("reading", path))?
        .len();
    let mut tl = tiff::decoder::Limits::default();
    tl.ifd_value_size = usize::try_from(len.min(256 << 20)).unwrap_or(256 << 20);
    Ok((
        Decoder::new(BufReader::new(f))
            .map_err(tiff_err(path))?
            .with_limits(tl),
        len,
    ))
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

/// The header and everything decoding needs: the public description and the chunk
/// arrays, byte order and codec.
#[derive(Debug)]
pub(crate) struct Header {
    pub info: TiffInfo,
    pub file_len: u64,
    pub big_endian: bool,
    pub codec: Codec,
    pub jpeg_colour: JpegColour,
    pub jpeg_tables: Vec<u8>,
    /// Strip or tile offsets and byte counts, plane after plane.
    pub offsets: Vec<u64>,
    pub counts: Vec<u64>,
    pub chunks_across: u32,
    pub chunks_per_plane: u32,
}

fn photometric_name(code: u16) -> String {
    match code {
        0 => "miniswhite".into(),
        1 => "minisblack".into(),
        2 => "rgb".into(),
        3 => "palette".into(),
        4 => "mask".into(),
        5 => "separated".into(),
        6 => "ycbcr".into(),
        8 => "cielab".into(),
        other => other.to_string(),
    }
}

fn unsupported(path: &Path, message: impl Into<String>) -> Error {
    Error::Unsupported {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn invalid(path: &Path, message: impl Into<String>) -> Error {
    Error::Tiff {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads the first image's header. `limits` are checked before anything the size of
/// the image is allocated.
pub(crate) fn header(path: &Path, limits: &DecodeLimits) -> Result<Header> {
    let (mut d, file_len) = open(path)?;
    let (width, height) = d.dimensions().map_err(tiff_err(path))?;
    let spp = u32::from(tag_u16(&mut d, Tag::SamplesPerPixel, path)?.unwrap_or(1));
    let bits = d
        .find_tag_unsigned_vec::<u16>(Tag::BitsPerSample)
        .map_err(tiff_err(path))?
        .unwrap_or_else(|| vec![1]);
    let formats = d
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)
        .map_err(tiff_err(path))?
        .unwrap_or_else(|| vec![1]);
    if bits.is_empty()
        || formats.is_empty()
        || bits.iter().any(|b| *b != bits[0])
        || formats.iter().any(|f| *f != formats[0])
    {
        return Err(unsupported(path, "bands with different sample types"));
    }
    let st = sample_type(bits[0], formats[0], path)?;
    let planar = tag_u16(&mut d, Tag::PlanarConfiguration, path)?.unwrap_or(1) == 2;
    let compression = tag_u16(&mut d, Tag::Compression, path)?.unwrap_or(1);
    let codec = Codec::from_tag(compression).map_err(|m| unsupported(path, m))?;
    let predictor = tag_u16(&mut d, Tag::Predictor, path)?.unwrap_or(1);
    if !matches!(predictor, 1..=3)
        || (predictor == 3 && !st.is_float())
        || (predictor == 2 && st.is_float())
    {
        return Err(unsupported(
            path,
            format!("predictor {predictor} on {st:?} samples"),
        ));
    }
    if tag_u16(&mut d, Tag::FillOrder, path)?.unwrap_or(1) != 1 {
        return Err(unsupported(path, "bit-reversed fill order (FillOrder 2)"));
    }
    let photometric = tag_u16(&mut d, Tag::PhotometricInterpretation, path)?.unwrap_or(1);
    let jpeg_colour = match (photometric, codec) {
        (6, Codec::Jpeg) if spp == 3 && !planar => JpegColour::Rgb,
        (6, _) => {
            return Err(unsupported(
                path,
                "YCbCr other than pixel-interleaved 3-band JPEG",
            ));
        }
        _ => JpegColour::AsStored,
    };
    if codec == Codec::Jpeg && st != SampleType::U8 {
        return Err(unsupported(path, format!("JPEG of {st:?} samples")));
    }
    let color_table = if photometric == 3 {
        let map = d
            .find_tag_unsigned_vec::<u16>(Tag::ColorMap)
            .map_err(tiff_err(path))?
            .ok_or_else(|| invalid(path, "a palette image without a ColorMap tag"))?;
        let n = 1usize << bits[0].min(16);
        if map.len() != 3 * n {
            return Err(invalid(
                path,
                format!(
                    "ColorMap has {} values; {}-bit indices need {}",
                    map.len(),
                    bits[0],
                    3 * n
                ),
            ));
        }
        Some(ColorTable {
            entries: (0..n)
                .map(|i| [map[i], map[n + i], map[2 * n + i]])
                .collect(),
        })
    } else {
        None
    };
    let layout = match d.get_chunk_type() {
        ChunkType::Strip => Layout::Strips,
        ChunkType::Tile => Layout::Tiles,
    };
    let (cw, ch) = d.chunk_dimensions();
    if cw == 0 || ch == 0 || width == 0 || height == 0 || spp == 0 {
        return Err(invalid(
            path,
            format!("empty image or block ({width}x{height}, block {cw}x{ch}, {spp} bands)"),
        ));
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
    // A tile larger than the image (and than any tile a writer uses for small
    // images) only serves to make a reader allocate.
    let tile_area = u64::from(cw) * u64::from(ch);
    let image_area = u64::from(width) * u64::from(height);
    if layout == Layout::Tiles && tile_area > image_area.max(1024 * 1024) {
        return Err(invalid(
            path,
            format!("tiles of {cw}x{ch} pixels for an image of {width}x{height}"),
        ));
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
    let (off_tag, count_tag) = match layout {
        Layout::Strips => (Tag::StripOffsets, Tag::StripByteCounts),
        Layout::Tiles => (Tag::TileOffsets, Tag::TileByteCounts),
    };
    let what = if layout == Layout::Tiles {
        "tile"
    } else {
        "strip"
    };
    let mut arrays = [off_tag, count_tag].map(|t| d.find_tag_unsigned_vec::<u64>(t));
    let offsets = std::mem::replace(&mut arrays[0], Ok(None))
        .map_err(tiff_err(path))?
        .unwrap_or_default();
    let counts = std::mem::replace(&mut arrays[1], Ok(None))
        .map_err(tiff_err(path))?
        .unwrap_or_default();
    if (offsets.len() as u64) < total || (counts.len() as u64) < total {
        return Err(invalid(
            path,
            format!(
                "{} {what} offsets and {} byte counts for {total} {what}s",
                offsets.len(),
                counts.len()
            ),
        ));
    }
    let jpeg_tables = if codec == Codec::Jpeg {
        match d.find_tag(Tag::JPEGTables).map_err(tiff_err(path))? {
            Some(v) => v.into_u8_vec().map_err(tiff_err(path))?,
            None => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let big_endian = matches!(d.byte_order(), tiff::tags::ByteOrder::BigEndian);
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(crate::error::io("reading", path))?;
    let bigtiff = magic[2] == 43 || magic[3] == 43;
    let georef = georef(&mut d, path)?;
    let nodata = tag_string(&mut d, 42113, path)?.and_then(|s| parse_nodata(&s));
    let metadata = tag_string(&mut d, 42112, path)?;
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
            photometric: photometric_name(photometric),
            color_table,
        },
        file_len,
        big_endian,
        codec,
        jpeg_colour,
        jpeg_tables,
        offsets,
        counts,
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

//! Decoding a whole TIFF (first image) into a [`Raster`], rows of chunks in parallel
//! (rayon), each chunk through [`crate::chunk`].

use std::path::Path;

use rayon::prelude::*;

use crate::chunk::{Chunks, Place};
use crate::error::{Error, Result};
use crate::raster::{Raster, RasterData, SampleType, with_data};
use crate::tags::{TiffInfo, header};

/// Limits checked before any pixel buffer is allocated, so a TIFF bomb (a small file
/// that claims a huge image) is refused with a clear error. Every strip or tile is
/// also checked against the file: its bytes must lie inside it, and its decoded size
/// must be one its compressed bytes can hold at the codec's greatest ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Maximum decoded size, width × height × bands × bytes per sample (default 4 GiB).
    pub max_decoded_bytes: u64,
    /// Maximum number of strips or tiles (default 4 Mi).
    pub max_chunks: u64,
    /// Maximum decoded size of the chunks a sparse file leaves out (offset and byte
    /// count 0, read as nodata): they cost memory the file does not back (default
    /// 256 MiB; statistics stream and need none).
    pub max_sparse_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_decoded_bytes: 4 << 30,
            max_chunks: 4 << 20,
            max_sparse_bytes: 256 << 20,
        }
    }
}

impl DecodeLimits {
    /// No limit (for reading tags only).
    pub(crate) fn none() -> DecodeLimits {
        DecodeLimits {
            max_decoded_bytes: u64::MAX,
            max_chunks: u64::MAX,
            max_sparse_bytes: u64::MAX,
        }
    }
}

/// Reads a TIFF's header and tags (no pixels).
pub fn read_tiff_info(path: impl AsRef<Path>) -> Result<TiffInfo> {
    Ok(header(path.as_ref(), &DecodeLimits::none())?.info)
}

/// A nodata value as the bytes of one native sample of type `st`, when the type can
/// hold it (else absent chunks stay 0, as in GDAL).
pub(crate) fn nodata_sample(st: SampleType, nd: f64) -> Option<Vec<u8>> {
    macro_rules! int {
        ($t:ty) => {{
            let v = nd as $t;
            (v as f64 == nd).then(|| v.to_ne_bytes().to_vec())
        }};
    }
    match st {
        SampleType::U8 => int!(u8),
        SampleType::U16 => int!(u16),
        SampleType::U32 => int!(u32),
        SampleType::U64 => int!(u64),
        SampleType::I8 => int!(i8),
        SampleType::I16 => int!(i16),
        SampleType::I32 => int!(i32),
        SampleType::I64 => int!(i64),
        SampleType::F32 => Some((nd as f32).to_ne_bytes().to_vec()),
        SampleType::F64 => Some(nd.to_ne_bytes().to_vec()),
    }
}

/// One unit of parallel work: a row of chunks (a strip, or a row of tiles) of one
/// plane (planar) or of all bands (chunky), and the output rows it fills per band.
struct Job<'a> {
    first_chunk: u32,
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
    let chunks = Chunks::open(path, header(path, limits)?)?;
    chunks.check_all()?;
    let info = &chunks.h.info;
    let sparse: u64 = (0..chunks.count())
        .filter(|i| chunks.h.counts[*i as usize] == 0)
        .map(|i| {
            let p = chunks.place(i);
            (p.cols * p.rows * p.shape.samples * info.sample_type.size()) as u64
        })
        .sum();
    if sparse > limits.max_sparse_bytes {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            what: "decoded size of the chunks absent from the file (sparse)",
            value: sparse,
            limit: limits.max_sparse_bytes,
        });
    }
    let s = info.sample_type.size();
    let (w, ht, bands) = (
        info.width as usize,
        info.height as usize,
        info.bands as usize,
    );
    let fill = info
        .nodata
        .and_then(|nd| nodata_sample(info.sample_type, nd));
    let mut data = RasterData::zeroed(info.sample_type, w * ht * bands)?;
    let rows_per_job = info.block_size.1 as usize;
    {
        let bytes: &mut [u8] =
            with_data!(&mut data, v => bytemuck::cast_slice_mut(v.as_mut_slice()));
        let mut per_band: Vec<std::slice::ChunksMut<'_, u8>> = bytes
            .chunks_mut(w * ht * s)
            .map(|b| b.chunks_mut(rows_per_job * w * s))
            .collect();
        let across = chunks.h.chunks_across;
        let mut jobs = Vec::new();
        if info.planar {
            for (b, it) in per_band.iter_mut().enumerate() {
                for (r, out) in it.enumerate() {
                    jobs.push(Job {
                        first_chunk: b as u32 * chunks.h.chunks_per_plane + r as u32 * across,
                        outs: vec![out],
                    });
                }
            }
        } else {
            for r in 0..ht.div_ceil(rows_per_job) {
                let outs: Vec<&mut [u8]> = per_band.iter_mut().filter_map(Iterator::next).collect();
                jobs.push(Job {
                    first_chunk: r as u32 * across,
                    outs,
                });
            }
        }
        jobs.into_par_iter()
            .map_init(
                || (Vec::new(), Vec::new(), Vec::new()),
                |(raw, out, scratch), mut job: Job<'_>| {
                    for c in 0..across {
                        let idx = job.first_chunk + c;
                        match chunks.decode(idx, raw, out, scratch)? {
                            Some(p) => copy_chunk(out, &p, w, s, &mut job.outs),
                            None => {
                                fill_chunk(&chunks.place(idx), fill.as_deref(), w, s, &mut job.outs)
                            }
                        }
                    }
                    Ok(())
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

/// Copies a decoded chunk's pixels inside the image into each band's output rows.
fn copy_chunk(src: &[u8], p: &Place, w: usize, s: usize, outs: &mut [&mut [u8]]) {
    let spp = p.shape.samples;
    let stride = p.shape.width * spp * s;
    for y in 0..p.rows {
        let row = &src[y * stride..];
        let dst_off = (y * w + p.x0) * s;
        if spp == 1 {
            outs[0][dst_off..dst_off + p.cols * s].copy_from_slice(&row[..p.cols * s]);
        } else {
            for (b, out) in outs.iter_mut().enumerate() {
                let dst = &mut out[dst_off..dst_off + p.cols * s];
                for x in 0..p.cols {
                    let from = (x * spp + b) * s;
                    dst[x * s..(x + 1) * s].copy_from_slice(&row[from..from + s]);
                }
            }
        }
    }
}

/// An absent chunk of a sparse file: nodata where the type holds it, else left 0.
fn fill_chunk(p: &Place, fill: Option<&[u8]>, w: usize, s: usize, outs: &mut [&mut [u8]]) {
    let Some(fill) = fill else { return };
    for out in outs.iter_mut() {
        for y in 0..p.rows {
            let off = (y * w + p.x0) * s;
            for px in out[off..off + p.cols * s].chunks_exact_mut(s) {
                px.copy_from_slice(fill);
            }
        }
    }
}

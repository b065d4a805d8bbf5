//! Band statistics: one accumulator (Welford's, merged with Chan's formula) used both
//! for a decoded [`crate::Raster`] and streamed over a TIFF's chunks in parallel as they
//! are decoded, so statistics of a file never hold the whole raster in memory.

use std::path::Path;

use rayon::prelude::*;

use crate::chunk::{Chunks, Place};
use crate::decode::{DecodeLimits, nodata_sample};
use crate::error::Result;
use crate::raster::{BandStats, SampleType};
use crate::tags::{TiffInfo, header};

/// Running statistics of one band.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Acc {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            n: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Acc {
    #[inline]
    pub(crate) fn push(&mut self, x: f64) {
        self.n += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// `n` samples all equal to `x`.
    fn push_many(&mut self, x: f64, n: u64) {
        if n > 0 {
            self.merge(&Acc {
                n,
                mean: x,
                m2: 0.0,
                min: x,
                max: x,
            });
        }
    }

    pub(crate) fn merge(&mut self, o: &Acc) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        self.mean += d * o.n as f64 / n as f64;
        self.m2 += o.m2 + d * d * self.n as f64 * o.n as f64 / n as f64;
        self.n = n;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }

    pub(crate) fn finish(&self) -> Option<BandStats> {
        (self.n > 0).then(|| BandStats {
            min: self.min,
            max: self.max,
            mean: self.mean,
            stddev: (self.m2 / self.n as f64).sqrt(),
            valid_count: self.n,
        })
    }
}

/// The nodata value as a band of type `st` compares it: a float32 band's nodata written
/// in decimal (`0.1`) is the float32 nearest to it, as GDAL compares.
pub(crate) fn band_nodata(st: SampleType, nodata: Option<f64>) -> Option<f64> {
    match (st, nodata) {
        (SampleType::F32, Some(nd)) => Some(f64::from(nd as f32)),
        (_, nd) => nd,
    }
}

/// Adds the samples of band `b` of a chunk's data inside the image. Within a chunk,
/// sums of the samples' differences from the first one (and of their squares) are
/// taken, which is cheaper than Welford's division per sample and as exact for the
/// few thousand samples of a chunk; chunks are then merged with Chan's formula.
fn add_chunk(acc: &mut Acc, data: &[u8], p: &Place, b: usize, st: SampleType, nd: Option<f64>) {
    let mut part = Shifted::default();
    macro_rules! each {
        ($t:ty) => {{
            const S: usize = std::mem::size_of::<$t>();
            let spp = p.shape.samples;
            let stride = p.shape.width * spp * S;
            for y in 0..p.rows {
                let row = &data[y * stride..y * stride + p.cols * spp * S];
                for px in row.chunks_exact(spp * S) {
                    let mut a = [0u8; S];
                    a.copy_from_slice(&px[b * S..(b + 1) * S]);
                    let x = <$t>::from_ne_bytes(a) as f64;
                    if x.is_nan() || nd == Some(x) {
                        continue;
                    }
                    part.push(x);
                }
            }
        }};
    }
    match st {
        SampleType::U8 => each!(u8),
        SampleType::U16 => each!(u16),
        SampleType::U32 => each!(u32),
        SampleType::U64 => each!(u64),
        SampleType::I8 => each!(i8),
        SampleType::I16 => each!(i16),
        SampleType::I32 => each!(i32),
        SampleType::I64 => each!(i64),
        SampleType::F32 => each!(f32),
        SampleType::F64 => each!(f64),
    }
    acc.merge(&part.finish());
}

/// Sums of differences from a shift (the first sample).
#[derive(Default)]
struct Shifted {
    n: u64,
    shift: f64,
    sum: f64,
    sq: f64,
    min: f64,
    max: f64,
}

impl Shifted {
    #[inline]
    fn push(&mut self, x: f64) {
        if self.n == 0 {
            (self.shift, self.min, self.max) = (x, x, x);
        }
        self.n += 1;
        let d = x - self.shift;
        self.sum += d;
        self.sq += d * d;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    fn finish(&self) -> Acc {
        if self.n == 0 {
            return Acc::default();
        }
        let n = self.n as f64;
        let mean_d = self.sum / n;
        Acc {
            n: self.n,
            mean: self.shift + mean_d,
            m2: (self.sq - self.sum * mean_d).max(0.0),
            min: self.min,
            max: self.max,
        }
    }
}

/// Statistics of every band of a TIFF, computed chunk by chunk in parallel as chunks
/// are decoded: memory is a few chunks per thread, whatever the image's size. Cells
/// equal to nodata (at the band's precision) and NaN are left out, as GDAL does.
///
/// ```no_run
/// let stats = gp_raster::tiff_stats("slope.tif", &gp_raster::DecodeLimits::default())?;
/// if let Some(s) = &stats[0] {
///     println!("min {} max {} mean {}", s.min, s.max, s.mean);
/// }
/// # Ok::<(), gp_raster::Error>(())
/// ```
pub fn tiff_stats(path: impl AsRef<Path>, limits: &DecodeLimits) -> Result<Vec<Option<BandStats>>> {
    stats_and_info(path.as_ref(), limits).map(|(s, _)| s)
}

/// [`tiff_stats`] and the header it read (so a caller needing both reads it once).
pub(crate) fn stats_and_info(
    path: &Path,
    limits: &DecodeLimits,
) -> Result<(Vec<Option<BandStats>>, TiffInfo)> {
    let limits = DecodeLimits {
        // Nothing the size of the image is allocated here.
        max_decoded_bytes: u64::MAX,
        ..*limits
    };
    let chunks = Chunks::open(path, header(path, &limits)?)?;
    chunks.check_all()?;
    let info = &chunks.h.info;
    let st = info.sample_type;
    let bands = info.bands as usize;
    let nd = band_nodata(st, info.nodata);
    // An absent chunk (sparse file) is nodata, or 0 when the type cannot hold it.
    let absent = match info.nodata.and_then(|n| nodata_sample(st, n)) {
        Some(_) => None,
        None => Some(0.0),
    };
    let accs = (0..chunks.count())
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new(), Vec::new()),
            |(raw, out, scratch), idx| -> Result<Vec<Acc>> {
                let mut accs = vec![Acc::default(); bands];
                match chunks.decode(idx, raw, out, scratch)? {
                    Some(p) if info.planar => {
                        add_chunk(&mut accs[p.plane as usize], out, &p, 0, st, nd)
                    }
                    Some(p) => {
                        for (b, acc) in accs.iter_mut().enumerate() {
                            add_chunk(acc, out, &p, b, st, nd);
                        }
                    }
                    None => {
                        let p = chunks.place(idx);
                        if let Some(x) = absent.filter(|x| nd != Some(*x)) {
                            let n = (p.cols * p.rows) as u64;
                            if info.planar {
                                accs[p.plane as usize].push_many(x, n);
                            } else {
                                accs.iter_mut().for_each(|a| a.push_many(x, n));
                            }
                        }
                    }
                }
                Ok(accs)
            },
        )
        .try_reduce(
            || vec![Acc::default(); bands],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| x.merge(y));
                Ok(a)
            },
        )?;
    Ok((
        accs.iter().map(Acc::finish).collect(),
        chunks.h.info.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_accumulators_agree_with_one_pass() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1013) as f64 * 0.37)
            .collect();
        let mut one = Acc::default();
        xs.iter().for_each(|x| one.push(*x));
        let mut merged = Acc::default();
        for part in xs.chunks(77) {
            let mut a = Acc::default();
            part.iter().for_each(|x| a.push(*x));
            merged.merge(&a);
        }
        let (a, b) = (one.finish().unwrap(), merged.finish().unwrap());
        assert_eq!((a.min, a.max, a.valid_count), (b.min, b.max, b.valid_count));
        assert!((a.mean - b.mean).abs() < 1e-9 && (a.stddev - b.stddev).abs() < 1e-9);
        let mut runs = Acc::default();
        runs.push_many(2.0, 3);
        runs.push(4.0);
        let r = runs.finish().unwrap();
        assert_eq!((r.mean, r.valid_count, r.min, r.max), (2.5, 4, 2.0, 4.0));
    }
}

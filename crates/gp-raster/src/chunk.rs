//! One strip or tile at a time: its bytes read at their offset (checked against the
//! file), decompressed to exactly the size the layout gives, turned to native byte
//! order and the predictor undone. Readers on several threads share one file handle
//! (positioned reads).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::codec::{ChunkShape, Codec, decompress};
use crate::error::{Error, Result};
use crate::predictor;
use crate::tags::Header;
use crate::tags::Layout;

/// Where a chunk sits and how much data it holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    /// The band of a planar file (0 for pixel-interleaved).
    pub plane: u32,
    /// First image column.
    pub x0: usize,
    /// Pixels across and rows of the chunk's data (a tile's are the full tile).
    pub shape: ChunkShape,
    /// Columns and rows of it inside the image.
    pub cols: usize,
    pub rows: usize,
}

/// The chunks of one TIFF, ready to decode from any thread.
#[derive(Debug)]
pub(crate) struct Chunks {
    pub h: Header,
    file: File,
    path: PathBuf,
}

impl Chunks {
    pub(crate) fn open(path: &Path, h: Header) -> Result<Chunks> {
        let file = File::open(path).map_err(crate::error::io("opening", path))?;
        Ok(Chunks {
            h,
            file,
            path: path.to_path_buf(),
        })
    }

    /// All chunk indices, plane after plane.
    pub(crate) fn count(&self) -> u32 {
        let planes = if self.h.info.planar {
            self.h.info.bands
        } else {
            1
        };
        self.h.chunks_per_plane.saturating_mul(planes)
    }

    fn what(&self) -> &'static str {
        match self.h.info.layout {
            Layout::Tiles => "tile",
            Layout::Strips => "strip",
        }
    }

    pub(crate) fn place(&self, idx: u32) -> Place {
        let info = &self.h.info;
        let (bw, bh) = (info.block_size.0 as usize, info.block_size.1 as usize);
        let per_plane = self.h.chunks_per_plane.max(1);
        let plane = idx / per_plane;
        let i = idx % per_plane;
        let across = self.h.chunks_across.max(1);
        let (x0, y0) = ((i % across) as usize * bw, (i / across) as usize * bh);
        let (w, ht) = (info.width as usize, info.height as usize);
        let rows = bh.min(ht - y0.min(ht));
        let cols = bw.min(w - x0.min(w));
        let samples = if info.planar { 1 } else { info.bands as usize };
        let shape = match info.layout {
            Layout::Tiles => ChunkShape {
                width: bw,
                rows: bh,
                samples,
            },
            // A strip holds only the image's rows, the last one fewer.
            Layout::Strips => ChunkShape {
                width: w,
                rows,
                samples,
            },
        };
        Place {
            plane,
            x0,
            shape,
            cols,
            rows,
        }
    }

    fn fail(&self, idx: u32, message: String) -> Error {
        Error::Tiff {
            path: self.path.clone(),
            message: format!("{} {idx}: {message}", self.what()),
        }
    }

    /// Checks every chunk against the file before anything the size of the image is
    /// allocated: each lies inside the file, claims no more than its bytes can decode
    /// to at the codec's greatest ratio, and together they use no byte of the file
    /// twice (so the whole image is bounded by the file's length times that ratio).
    pub(crate) fn check_all(&self) -> Result<()> {
        let mut total = 0u64;
        for idx in 0..self.count() {
            let (offset, count) = (self.h.offsets[idx as usize], self.h.counts[idx as usize]);
            self.check(idx, offset, count)?;
            total = total.saturating_add(count);
        }
        if total > self.h.file_len {
            return Err(Error::Tiff {
                path: self.path.clone(),
                message: format!(
                    "the {}s' byte counts add up to {total}, more than the file's {} bytes: they overlap",
                    self.what(),
                    self.h.file_len
                ),
            });
        }
        Ok(())
    }

    fn check(&self, idx: u32, offset: u64, count: u64) -> Result<()> {
        if count == 0 {
            return if offset == 0 {
                Ok(())
            } else {
                Err(self.fail(idx, "has no bytes".into()))
            };
        }
        if offset
            .checked_add(count)
            .is_none_or(|end| end > self.h.file_len)
        {
            return Err(self.fail(
                idx,
                format!(
                    "its {count} bytes at offset {offset} run past the end of the file ({} bytes)",
                    self.h.file_len
                ),
            ));
        }
        let p = self.place(idx);
        let need = (p.shape.width * p.shape.rows * p.shape.samples * self.h.info.sample_type.size())
            as u64;
        if need
            > count
                .saturating_mul(self.h.codec.max_ratio())
                .saturating_add(1024)
        {
            return Err(self.fail(
                idx,
                format!(
                    "{count} {} bytes cannot hold the {need} bytes the layout gives it",
                    self.h.info.compression
                ),
            ));
        }
        Ok(())
    }

    /// Decodes chunk `idx` into `out` (native samples, rows of `shape.width` pixels of
    /// `shape.samples` samples). `None` for a chunk absent from a sparse file (offset
    /// and byte count 0), whose pixels are nodata (or 0), as GDAL reads them.
    pub(crate) fn decode(
        &self,
        idx: u32,
        raw: &mut Vec<u8>,
        out: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
    ) -> Result<Option<Place>> {
        use std::os::unix::fs::FileExt;
        let place = self.place(idx);
        let s = self.h.info.sample_type.size();
        let shape = place.shape;
        let need = shape.width * shape.rows * shape.samples * s;
        let (offset, count) = (self.h.offsets[idx as usize], self.h.counts[idx as usize]);
        self.check(idx, offset, count)?;
        if count == 0 {
            return Ok(None);
        }
        let codec = self.h.codec;
        raw.clear();
        raw.resize(count as usize, 0);
        self.file
            .read_exact_at(raw, offset)
            .map_err(crate::error::io("reading", &self.path))?;
        out.clear();
        out.resize(need, 0);
        let got = decompress(
            codec,
            raw,
            out,
            shape,
            (&self.h.jpeg_tables, self.h.jpeg_colour),
        )
        .map_err(|m| self.fail(idx, m))?;
        if got < need {
            return Err(self.fail(
                idx,
                format!("decodes to {got} bytes where the layout gives {need}"),
            ));
        }
        if codec == Codec::Jpeg {
            return Ok(Some(place));
        }
        let row_bytes = shape.width * shape.samples * s;
        match self.h.info.predictor {
            3 => predictor::floating(out, row_bytes, s, shape.samples, scratch),
            2 => {
                predictor::to_native(out, s, self.h.big_endian);
                predictor::horizontal(out, row_bytes, s, shape.samples);
            }
            _ => predictor::to_native(out, s, self.h.big_endian),
        }
        Ok(Some(place))
    }
}

//! Decompressing one strip or tile into a buffer of exactly the size the layout gives,
//! never more: a stream that would produce more is cut at that size, one that produces
//! less leaves the rest zero (as libtiff and GDAL do for a short LZW or Deflate chunk).
//! Before anything is allocated, the chunk's size is checked against what its
//! compressed bytes can hold at the codec's greatest ratio, so a few bytes cannot
//! claim gigabytes.

use std::io::Read;

/// The compression of a TIFF, by its tag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    None,
    Lzw,
    Deflate,
    PackBits,
    Jpeg,
    Zstd,
}

impl Codec {
    /// The codec for a `Compression` tag value, or what to say about it.
    pub(crate) fn from_tag(code: u16) -> Result<Codec, String> {
        Ok(match code {
            1 => Codec::None,
            5 => Codec::Lzw,
            8 | 32946 => Codec::Deflate,
            32773 => Codec::PackBits,
            7 => Codec::Jpeg,
            50000 => Codec::Zstd,
            6 => return Err("old-style JPEG compression (6) is not supported".into()),
            2..=4 | 32771 => return Err("CCITT fax compression is not supported".into()),
            34887 => return Err("LERC compression is not supported".into()),
            34925 => return Err("LZMA compression is not supported".into()),
            50001 => return Err("WebP compression is not supported".into()),
            other => return Err(format!("compression {other} is not supported")),
        })
    }

    /// The most bytes one compressed byte can decode to, with room for headers: a
    /// chunk that claims more than `compressed × ratio + 1024` is refused.
    pub(crate) fn max_ratio(self) -> u64 {
        match self {
            Codec::None => 1,
            // 128 bytes from a 2-byte run.
            Codec::PackBits => 64,
            // Deflate's longest match is 258 bytes for at least 2 bits: 1032.
            Codec::Deflate => 1032,
            // A code of at least 9 bits emits at most 4096 bytes.
            Codec::Lzw => 3641,
            // A block of 64 samples in as few as 2 bits, chroma subsampled 2×2: 512.
            Codec::Jpeg => 1024,
            // RLE blocks: a 4-byte block header for up to 128 KiB.
            Codec::Zstd => 32768,
        }
    }
}

/// How a JPEG chunk's colours come out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JpegColour {
    /// As stored (grey, or RGB written as RGB).
    AsStored,
    /// YCbCr converted to RGB, as GDAL reads it.
    Rgb,
}

/// What decompressing a chunk needs beyond its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkShape {
    /// Pixels across the data of the chunk.
    pub width: usize,
    /// Rows of data in the chunk.
    pub rows: usize,
    /// Samples per pixel in the chunk (1 for planar).
    pub samples: usize,
}

/// Decompresses `raw` into `out` (already sized); `jpeg` is the `JPEGTables` tag and
/// how colours come out, used by JPEG only. Returns how many bytes the stream
/// produced (the rest of `out` is zero).
pub(crate) fn decompress(
    codec: Codec,
    raw: &[u8],
    out: &mut [u8],
    shape: ChunkShape,
    jpeg: (&[u8], JpegColour),
) -> Result<usize, String> {
    match codec {
        Codec::None => {
            let n = raw.len().min(out.len());
            out[..n].copy_from_slice(&raw[..n]);
            Ok(n)
        }
        Codec::PackBits => Ok(packbits(raw, out)),
        Codec::Lzw => lzw(raw, out),
        Codec::Deflate => inflate(raw, out),
        Codec::Zstd => fill(
            ruzstd::decoding::StreamingDecoder::new(raw).map_err(|e| format!("ZSTD: {e}"))?,
            out,
        ),
        Codec::Jpeg => jpeg_chunk(raw, jpeg.0, jpeg.1, shape, out),
    }
}

/// Reads until `out` is full or the stream ends.
fn fill(mut r: impl Read, out: &mut [u8]) -> Result<usize, String> {
    let mut n = 0;
    while n < out.len() {
        match r.read(&mut out[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A stream cut short after some data: keep what came, as libtiff does.
            Err(_) if n > 0 => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(n)
}

/// zlib-wrapped Deflate straight into `out` (no intermediate buffer).
fn inflate(raw: &[u8], out: &mut [u8]) -> Result<usize, String> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut d = Decompress::new(true);
    loop {
        let (i, o) = (d.total_in() as usize, d.total_out() as usize);
        if o >= out.len() {
            return Ok(o);
        }
        match d.decompress(&raw[i..], &mut out[o..], FlushDecompress::Finish) {
            Ok(Status::StreamEnd) => return Ok(d.total_out() as usize),
            Ok(_) if d.total_in() as usize == i && d.total_out() as usize == o => {
                // No progress: the stream is cut short; keep what came.
                return Ok(o);
            }
            Ok(_) => {}
            Err(_) if o > 0 => return Ok(o),
            Err(e) => return Err(format!("Deflate: {e}")),
        }
    }
}

/// PackBits (Apple's run-length encoding), as TIFF uses it.
fn packbits(mut raw: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    while n < out.len() {
        let Some((&h, rest)) = raw.split_first() else {
            break;
        };
        raw = rest;
        let h = h as i8;
        if h >= 0 {
            let len = (h as usize + 1).min(raw.len()).min(out.len() - n);
            out[n..n + len].copy_from_slice(&raw[..len]);
            n += len;
            raw = &raw[(h as usize + 1).min(raw.len())..];
        } else if h != -128 {
            let Some((&b, rest)) = raw.split_first() else {
                break;
            };
            raw = rest;
            let len = ((1 - h as isize) as usize).min(out.len() - n);
            out[n..n + len].fill(b);
            n += len;
        }
    }
    n
}

/// LZW as TIFF writes it (MSB first, the early change of code size), or the old
/// LSB-first variant some early writers used (its first byte is 0, then bit 0 set).
fn lzw(raw: &[u8], out: &mut [u8]) -> Result<usize, String> {
    use weezl::{BitOrder, LzwStatus, decode::Decoder};
    let old_style = raw.len() >= 2 && raw[0] == 0 && raw[1] & 1 == 1;
    let mut d = if old_style {
        Decoder::new(BitOrder::Lsb, 8)
    } else {
        Decoder::with_tiff_size_switch(BitOrder::Msb, 8)
    };
    let (mut inp, mut n) = (raw, 0);
    while n < out.len() {
        let r = d.decode_bytes(inp, &mut out[n..]);
        inp = &inp[r.consumed_in..];
        n += r.consumed_out;
        match r.status {
            Ok(LzwStatus::Ok) => {}
            // The end code, or the bytes ran out (GDAL writes no end code when the
            // chunk is full): either way the chunk has what it has.
            Ok(LzwStatus::Done | LzwStatus::NoProgress) => break,
            Err(_) if n > 0 => break,
            Err(e) => return Err(format!("LZW: {e}")),
        }
    }
    Ok(n)
}

/// One JPEG chunk: the shared tables (`JPEGTables`) and the chunk's own stream are one
/// JPEG image; the colours come out as stored or, for YCbCr, as RGB.
fn jpeg_chunk(
    raw: &[u8],
    tables: &[u8],
    colour: JpegColour,
    shape: ChunkShape,
    out: &mut [u8],
) -> Result<usize, String> {
    use zune_jpeg::zune_core::{
        bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions,
    };
    let mut stream;
    let data: &[u8] = if tables.len() >= 4 && raw.len() >= 2 {
        // Tables end with EOI and the chunk starts with SOI: drop both.
        stream = Vec::with_capacity(tables.len() + raw.len());
        stream.extend_from_slice(&tables[..tables.len() - 2]);
        stream.extend_from_slice(&raw[2..]);
        &stream
    } else {
        raw
    };
    let mut d = zune_jpeg::JpegDecoder::new(ZCursor::new(data));
    d.decode_headers().map_err(|e| format!("JPEG: {e}"))?;
    let (w, h) = d.dimensions().ok_or("JPEG: no dimensions")?;
    if w != shape.width || h < shape.rows {
        return Err(format!(
            "JPEG of {w}x{h} pixels where the layout gives {}x{}",
            shape.width, shape.rows
        ));
    }
    let input = d.input_colorspace().ok_or("JPEG: no colour space")?;
    let want = match (colour, shape.samples) {
        (_, 1) => ColorSpace::Luma,
        (JpegColour::Rgb, 3) => ColorSpace::RGB,
        (JpegColour::AsStored, _) => input,
        (JpegColour::Rgb, n) => return Err(format!("YCbCr JPEG with {n} samples per pixel")),
    };
    if want.num_components() != shape.samples {
        return Err(format!(
            "JPEG has {} components where the TIFF says {}",
            want.num_components(),
            shape.samples
        ));
    }
    d.set_options(
        DecoderOptions::default()
            .set_max_width(w)
            .set_max_height(h)
            .jpeg_set_out_colorspace(want),
    );
    let need = w * h * shape.samples;
    if need <= out.len() {
        d.decode_into(&mut out[..need])
            .map_err(|e| format!("JPEG: {e}"))?;
        Ok(need)
    } else {
        let v = d.decode().map_err(|e| format!("JPEG: {e}"))?;
        let n = out.len().min(v.len());
        out[..n].copy_from_slice(&v[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_decodes_literals_and_runs_and_stops_at_the_buffer() {
        // The example of Apple's technical note.
        let raw = [
            0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7,
            0xAA,
        ];
        let mut out = [0u8; 24];
        assert_eq!(packbits(&raw, &mut out), 24);
        assert_eq!(
            out,
            [
                0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0x22,
                0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA
            ]
        );
        let mut short = [0u8; 5];
        assert_eq!(packbits(&raw, &mut short), 5);
        // A literal that claims more bytes than there are.
        let mut out = [0u8; 8];
        assert_eq!(packbits(&[0x7F, 1, 2], &mut out), 2);
    }

    #[test]
    fn lzw_without_an_end_code_keeps_what_it_has() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let mut enc = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
        let packed = enc.encode(&data).unwrap();
        let mut out = vec![0u8; data.len()];
        assert_eq!(lzw(&packed, &mut out).unwrap(), data.len());
        assert_eq!(out, data);
        // Cut before the end code: what was decoded is kept.
        let mut out = vec![0u8; data.len()];
        let n = lzw(&packed[..packed.len() - 3], &mut out).unwrap();
        assert!(n > 4000 && out[..n] == data[..n], "{n}");
        // Garbage is an error, not a panic.
        assert!(lzw(&[0xFF; 16], &mut [0u8; 16]).is_err());
    }
}

//! Checks a Shapefile's `.shp` before the `shapefile` crate reads it: every record's
//! content length against the bytes the file has, and the part and point counts a
//! record declares against its content length, and its parts' first points against
//! its points, in order and wherever the `.shx`
//! points (the crate seeks there). The crate reserves memory for the counts it reads
//! before it reads the points, so a record claiming 2^30 points in a file of a few
//! hundred bytes would reserve gigabytes; here it is a clear error.

use std::io::Read;
use std::path::Path;

/// Bytes per point of each shape type's coordinate arrays (x, y; plus z range and
/// values; plus m range and values are optional and not counted), and the bytes
/// before the counts. `None` for types whose counts are not checked here.
fn layout(shape_type: i32) -> Option<(u64, bool)> {
    // (bytes per point counted as a minimum, has a parts array)
    match shape_type {
        3 | 5 | 13 | 15 | 23 | 25 => Some((16, true)), // polylines and polygons
        8 | 18 | 28 => Some((16, false)),              // multipoints
        31 => Some((16, true)),                        // multipatch
        _ => None,
    }
}

fn i32_le(b: &[u8]) -> i32 {
    i32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Appends the next `k` bytes of a record's content to the buffer.
type More<'a> = dyn FnMut(&mut Vec<u8>, usize) -> Result<(), String> + 'a;

/// Reads the counts and the parts array of record `n` at byte `at`, whose content is
/// `size` bytes, through `more` (which appends that many next bytes of the content to
/// the buffer), and checks them: the counts against the content length, and each
/// part's first point inside the points and in order (the crate sizes each part's
/// points from them). Returns how many bytes of the content were read.
fn check_record(
    n: u64,
    at: u64,
    size: u64,
    body: &mut Vec<u8>,
    more: &mut More<'_>,
) -> Result<u64, String> {
    body.clear();
    let look = size.min(44) as usize;
    more(body, look)?;
    if look < 4 {
        return Ok(look as u64);
    }
    let Some((per_point, parts)) = layout(i32_le(&body[0..4])) else {
        return Ok(look as u64);
    };
    let counts_at = 36;
    let (num_parts, num_points) = if parts {
        if look < counts_at + 8 {
            return Err(format!(
                "record {n} at byte {at} is too short for its counts"
            ));
        }
        (i32_le(&body[36..40]), i32_le(&body[40..44]))
    } else {
        if look < counts_at + 4 {
            return Err(format!(
                "record {n} at byte {at} is too short for its counts"
            ));
        }
        (0, i32_le(&body[36..40]))
    };
    if num_parts < 0 || num_points < 0 {
        return Err(format!(
            "record {n} at byte {at} declares {num_parts} parts and {num_points} points"
        ));
    }
    let header = if parts { 44 } else { 40 };
    let need = header
        + 4 * u64::from(num_parts.unsigned_abs())
        + per_point * u64::from(num_points.unsigned_abs());
    if need > size {
        return Err(format!(
            "record {n} at byte {at} declares {num_parts} parts and {num_points} points, {need} bytes; its content is {size} bytes"
        ));
    }
    if !parts || num_parts == 0 {
        return Ok(look as u64);
    }
    // Within the content: checked just above.
    let array = 4 * num_parts as usize;
    more(body, array)?;
    let mut last = 0;
    for (k, b) in body[44..44 + array].chunks_exact(4).enumerate() {
        let first = i32_le(b);
        if first < last || first > num_points || (k == 0 && first != 0) {
            return Err(format!(
                "record {n} at byte {at}: part {k} starts at point {first}, outside its {num_points} points or before part {}",
                k.saturating_sub(1)
            ));
        }
        last = first;
    }
    Ok((look + array) as u64)
}

/// The content length of the record whose header is `rec`, checked against the
/// `len - at - 8` bytes the file has after that header.
fn content_size(n: u64, at: u64, len: u64, rec: &[u8; 8]) -> Result<u64, String> {
    // Content length in 16-bit words, big-endian.
    let size = u64::from(u32::from_be_bytes([rec[4], rec[5], rec[6], rec[7]])) * 2;
    if size > len - at - 8 {
        return Err(format!(
            "record {n} at byte {at} claims {size} bytes; the file has {} left",
            len - at - 8
        ));
    }
    Ok(size)
}

/// Checks record `n` where the `.shx` says it is (positioned reads).
fn check_at(shp: &std::fs::File, at: u64, len: u64, n: u64) -> Result<(), String> {
    use std::os::unix::fs::FileExt;
    if at < 100 || at.checked_add(8).is_none_or(|e| e > len) {
        return Err(format!(
            "the .shx puts record {n} at byte {at}, outside the .shp's {len} bytes"
        ));
    }
    let mut rec = [0u8; 8];
    shp.read_exact_at(&mut rec, at)
        .map_err(|e| format!("record {n} at byte {at}: {e}"))?;
    let size = content_size(n, at, len, &rec)?;
    let mut pos = at + 8;
    let mut more = |buf: &mut Vec<u8>, k: usize| {
        let from = buf.len();
        buf.resize(from + k, 0);
        shp.read_exact_at(&mut buf[from..], pos)
            .map_err(|e| format!("record {n} at byte {at}: {e}"))?;
        pos += k as u64;
        Ok(())
    };
    check_record(n, at, size, &mut Vec::new(), &mut more).map(|_| ())
}

/// The `.shx` beside a `.shp`, read entry by entry: each record's offset in bytes.
struct Index(Option<std::io::BufReader<std::fs::File>>);

impl Index {
    fn open(shp: &Path) -> Result<Index, String> {
        let Ok(f) = std::fs::File::open(shp.with_extension("shx")) else {
            return Ok(Index(None));
        };
        let mut r = std::io::BufReader::with_capacity(64 << 10, f);
        let mut head = [0u8; 100];
        // A .shx too short for its header: the crate refuses it itself.
        if r.read_exact(&mut head).is_err() {
            return Ok(Index(None));
        }
        Ok(Index(Some(r)))
    }

    fn next(&mut self) -> Option<u64> {
        let r = self.0.as_mut()?;
        let mut e = [0u8; 8];
        r.read_exact(&mut e).ok()?;
        Some(u64::from(u32::from_be_bytes([e[0], e[1], e[2], e[3]])) * 2)
    }
}

/// Walks the records in order, and every record the `.shx` points to where it is not
/// the next one in order (the crate seeks to the `.shx` offsets): `Err` says which
/// record does not fit and why.
pub(crate) fn check_layout(path: &Path) -> Result<(), String> {
    let (mut r, len) = crate::layout::open_sized(path)?;
    let mut index = Index::open(path)?;
    let shp = r
        .get_ref()
        .try_clone()
        .map_err(|e| format!("opening: {e}"))?;
    let mut head = [0u8; 100];
    r.read_exact(&mut head)
        .map_err(|_| format!("the file is {len} bytes, shorter than a .shp header (100)"))?;
    let mut at: u64 = 100;
    let mut n: u64 = 0;
    let mut rec = [0u8; 8];
    let mut body = Vec::new();
    while at < len {
        if len - at < 8 {
            return Err(format!("{} stray bytes at the end of the file", len - at));
        }
        if let Some(off) = index.next()
            && off != at
        {
            check_at(&shp, off, len, n)?;
        }
        r.read_exact(&mut rec)
            .map_err(|e| format!("record {n} at byte {at}: {e}"))?;
        let size = content_size(n, at, len, &rec)?;
        let mut more = |buf: &mut Vec<u8>, k: usize| {
            let from = buf.len();
            buf.resize(from + k, 0);
            r.read_exact(&mut buf[from..])
                .map_err(|e| format!("record {n} at byte {at}: {e}"))
        };
        let read = check_record(n, at, size, &mut body, &mut more)?;
        std::io::copy(&mut (&mut r).take(size - read), &mut std::io::sink())
            .map_err(|e| format!("record {n} at byte {at}: {e}"))?;
        at += 8 + size;
        n += 1;
    }
    // Index entries past the last record in order.
    while let Some(off) = index.next() {
        check_at(&shp, off, len, n)?;
        n += 1;
    }
    Ok(())
}

//! Checks a Shapefile's `.shp` before the `shapefile` crate reads it: every record's
//! content length against the bytes the file has, and the part and point counts a
//! record declares against its content length. The crate reserves memory for the
//! counts it reads before it reads the points, so a record claiming 2^30 points in a
//! file of a few hundred bytes would reserve gigabytes; here it is a clear error.

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

/// Walks the records: `Err` says which record does not fit and why.
pub(crate) fn check_layout(path: &Path) -> Result<(), String> {
    let (mut r, len) = crate::layout::open_sized(path)?;
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
        r.read_exact(&mut rec)
            .map_err(|e| format!("record {n} at byte {at}: {e}"))?;
        // Content length in 16-bit words, big-endian.
        let words = u32::from_be_bytes([rec[4], rec[5], rec[6], rec[7]]);
        let size = u64::from(words) * 2;
        if size > len - at - 8 {
            return Err(format!(
                "record {n} at byte {at} claims {size} bytes; the file has {} left",
                len - at - 8
            ));
        }
        // The counts are in the first 44 bytes of the content.
        let look = size.min(44) as usize;
        body.resize(look, 0);
        r.read_exact(&mut body)
            .map_err(|e| format!("record {n} at byte {at}: {e}"))?;
        if look >= 4
            && let Some((per_point, parts)) = layout(i32_le(&body[0..4]))
        {
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
        }
        std::io::copy(&mut (&mut r).take(size - look as u64), &mut std::io::sink())
            .map_err(|e| format!("record {n} at byte {at}: {e}"))?;
        at += 8 + size;
        n += 1;
    }
    Ok(())
}

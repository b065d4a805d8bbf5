//! Checks a FlatGeobuf file before the `flatgeobuf` crate reads it, so a bad file is a
//! clear error in bounded memory, never an allocation sized by a header the file cannot
//! back and never a panic inside the crate:
//!
//! - [`check_layout`] walks the file once: the magic bytes, the header size, the
//!   index size (computed with checked arithmetic from the feature count and node size
//!   the header declares), and every feature's size prefix, each against the bytes the
//!   file really has. The crate allocates each of these sizes before it reads.
//! - [`check_feature`] checks one feature (the crate has run the flatbuffers verifier
//!   on it) for what the verifier cannot see and the crate's readers index without
//!   bounds: coordinate arrays of matching lengths, part ends inside them and in order,
//!   nested parts not too deep, and properties whose values fit their buffer.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use flatgeobuf::{ColumnType, Geometry};

/// The longest header accepted (real headers are a few kilobytes; the crate reads the
/// whole header into memory).
const MAX_HEADER: u64 = 64 << 20;
/// The deepest nesting of geometry parts accepted.
const MAX_DEPTH: usize = 32;

/// The size in bytes of the packed R-tree of `items` features with `node_size`, or
/// `None` when it cannot be represented (the crate's own computation asserts and
/// overflows on such values).
fn index_size(items: u64, node_size: u16) -> Option<u64> {
    if node_size < 2 || items == 0 {
        return None;
    }
    let node = u64::from(node_size);
    let mut n = items;
    let mut nodes = items;
    // As the crate (and the format) count: the levels above the leaves, the root
    // included even when there is one feature.
    loop {
        n = n.div_ceil(node);
        nodes = nodes.checked_add(n)?;
        if n == 1 {
            break;
        }
    }
    nodes.checked_mul(40)
}

/// Walks the file's structure: `Err` says what does not fit and where.
pub(crate) fn check_layout(path: &Path) -> Result<(), String> {
    let (mut r, len) = crate::layout::open_sized(path)?;
    let mut head = [0u8; 12];
    r.read_exact(&mut head)
        .map_err(|_| format!("the file is {len} bytes, too short for a FlatGeobuf header"))?;
    if &head[..3] != b"fgb" || &head[4..7] != b"fgb" {
        return Err("not a FlatGeobuf file (no `fgb` magic bytes)".into());
    }
    let header_size = u64::from(u32::from_le_bytes([head[8], head[9], head[10], head[11]]));
    if header_size > MAX_HEADER || 12 + header_size > len {
        return Err(format!(
            "the header claims {header_size} bytes; the file has {} after its start",
            len.saturating_sub(12)
        ));
    }
    let mut header_buf = vec![0u8; header_size as usize + 4];
    header_buf[..4].copy_from_slice(&head[8..12]);
    r.read_exact(&mut header_buf[4..])
        .map_err(|e| format!("reading the header: {e}"))?;
    let header = flatgeobuf::size_prefixed_root_as_header(&header_buf)
        .map_err(|e| format!("the header is malformed: {e}"))?;
    let mut at = 12 + header_size;
    let count = header.features_count();
    let node_size = header.index_node_size();
    if node_size == 1 {
        return Err("the header's index node size is 1 (it must be 0 or at least 2)".into());
    }
    if node_size >= 2 && count > 0 {
        let size = index_size(count, node_size)
            .filter(|s| at.checked_add(*s).is_some_and(|end| end <= len))
            .ok_or_else(|| {
                format!(
                    "the header declares {count} features with an index of node size {node_size}, more than the file's {len} bytes can hold"
                )
            })?;
        r.seek(SeekFrom::Current(size as i64))
            .map_err(|e| format!("skipping the index: {e}"))?;
        at += size;
    }
    let mut n: u64 = 0;
    while at < len {
        let mut prefix = [0u8; 4];
        if len - at < 4 {
            return Err(format!(
                "feature {n} at byte {at}: {} stray bytes at the end of the file",
                len - at
            ));
        }
        r.read_exact(&mut prefix)
            .map_err(|e| format!("feature {n} at byte {at}: {e}"))?;
        let size = u64::from(u32::from_le_bytes(prefix));
        if size > len - at - 4 {
            return Err(format!(
                "feature {n} at byte {at} claims {size} bytes; the file has {} left",
                len - at - 4
            ));
        }
        r.seek_relative(size as i64)
            .map_err(|e| format!("feature {n} at byte {at}: {e}"))?;
        at += 4 + size;
        n += 1;
    }
    if count > 0 && n != count {
        return Err(format!(
            "the header declares {count} features; the file holds {n}"
        ));
    }
    Ok(())
}

/// `kind` is the type the reader will use: the header's, or the geometry's own when
/// the header says Unknown (and always for the parts of a collection).
fn check_geometry(
    g: &Geometry<'_>,
    kind: flatgeobuf::GeometryType,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("geometry parts nested deeper than {MAX_DEPTH}"));
    }
    let coords = match g.xy() {
        Some(xy) => {
            if xy.len() % 2 != 0 {
                return Err(format!("{} xy values (an odd number)", xy.len()));
            }
            xy.len() / 2
        }
        None => 0,
    };
    for (name, len) in [
        ("z", g.z().map(|v| v.len())),
        ("m", g.m().map(|v| v.len())),
        ("t", g.t().map(|v| v.len())),
        ("tm", g.tm().map(|v| v.len())),
    ] {
        if let Some(l) = len
            && l != coords
        {
            return Err(format!("{l} {name} values for {coords} coordinates"));
        }
    }
    if kind == flatgeobuf::GeometryType::Point && g.xy().is_some() && coords == 0 {
        return Err("a point without coordinates".into());
    }
    if let Some(ends) = g.ends() {
        let mut last = 0u32;
        for e in ends.iter() {
            if e < last || e as usize > coords {
                return Err(format!(
                    "part end {e} outside the {coords} coordinates or before the part end {last}"
                ));
            }
            last = e;
        }
    }
    if let Some(parts) = g.parts() {
        for p in parts.iter() {
            check_geometry(&p, p.type_(), depth + 1)?;
        }
    }
    Ok(())
}

/// How a property value of type `t` is laid out after its column index.
enum Layout {
    /// A fixed number of bytes.
    Fixed(usize),
    /// A 4-byte length, then that many bytes.
    Sized,
    /// A type this reader does not know (the crate reads nothing for it and then takes
    /// the value's bytes for the next column index).
    Unknown,
}

fn layout(t: ColumnType) -> Layout {
    match t {
        ColumnType::Byte | ColumnType::UByte | ColumnType::Bool => Layout::Fixed(1),
        ColumnType::Short | ColumnType::UShort => Layout::Fixed(2),
        ColumnType::Int | ColumnType::UInt | ColumnType::Float => Layout::Fixed(4),
        ColumnType::Long | ColumnType::ULong | ColumnType::Double => Layout::Fixed(8),
        ColumnType::String | ColumnType::Json | ColumnType::DateTime | ColumnType::Binary => {
            Layout::Sized
        }
        _ => Layout::Unknown,
    }
}

fn check_properties(bytes: &[u8], columns: &[ColumnType]) -> Result<(), String> {
    let mut at = 0usize;
    // The crate reads while two bytes (a column index) remain; so does this.
    while at + 1 < bytes.len() {
        let col = usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
        at += 2;
        let Some(t) = columns.get(col) else {
            return Err(format!(
                "a property of column {col}; the header has {} columns",
                columns.len()
            ));
        };
        let size = match layout(*t) {
            Layout::Fixed(s) => s,
            Layout::Unknown => {
                return Err(format!(
                    "column {col} has a type this reader does not know ({})",
                    t.0
                ));
            }
            Layout::Sized => {
                let Some(len) = bytes.get(at..at + 4) else {
                    return Err(format!("the length of column {col}'s value is cut off"));
                };
                at += 4;
                u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize
            }
        };
        if at.checked_add(size).is_none_or(|end| end > bytes.len()) {
            return Err(format!(
                "column {col}'s value of {size} bytes passes the end of the properties"
            ));
        }
        at += size;
    }
    Ok(())
}

/// Checks one (verified) feature against what the crate's readers assume.
pub(crate) fn check_feature(
    f: &flatgeobuf::Feature<'_>,
    columns: &[ColumnType],
    header_type: flatgeobuf::GeometryType,
) -> Result<(), String> {
    if let Some(g) = f.geometry() {
        let kind = if header_type == flatgeobuf::GeometryType::Unknown {
            g.type_()
        } else {
            header_type
        };
        check_geometry(&g, kind, 0)?;
    }
    if let Some(p) = f.properties() {
        check_properties(p.bytes(), columns)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_sizes_match_the_crate_and_never_overflow() {
        for (items, node) in [(1u64, 16u16), (17, 16), (1000, 16), (1_000_000, 16), (5, 2)] {
            let ours = index_size(items, node);
            let theirs = flatgeobuf::packed_r_tree::PackedRTree::index_size(items as usize, node);
            assert_eq!(ours, Some(theirs as u64), "{items} items, node size {node}");
        }
        assert_eq!(index_size(u64::MAX, 2), None);
        assert_eq!(index_size(10, 1), None);
        assert_eq!(index_size(0, 16), None);
    }

    #[test]
    fn properties_must_fit_their_buffer() {
        let cols = [ColumnType::Int, ColumnType::String];
        let mut ok = vec![0u8, 0, 1, 0, 0, 0];
        ok.extend_from_slice(&[1, 0, 2, 0, 0, 0, b'h', b'i']);
        assert_eq!(check_properties(&ok, &cols), Ok(()));
        assert!(
            check_properties(&ok[..4], &cols)
                .unwrap_err()
                .contains("column 0")
        );
        assert!(
            check_properties(&ok[..9], &cols)
                .unwrap_err()
                .contains("cut off")
        );
        assert!(
            check_properties(&ok[..13], &cols)
                .unwrap_err()
                .contains("passes the end")
        );
        assert!(
            check_properties(&[5, 0, 0], &cols)
                .unwrap_err()
                .contains("column 5")
        );
    }
}

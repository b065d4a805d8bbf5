//! A table's header and field descriptions (`.gdbtable`), and its row offsets
//! (`.gdbtablx`): parsed with every size checked against the file, and written.

use super::bytes::{Bad, Reader, put_utf16_name, put_varuint};
use super::geom::Grid;

/// Field type codes.
pub(crate) mod ft {
    pub(crate) const I16: u8 = 0;
    pub(crate) const I32: u8 = 1;
    pub(crate) const F32: u8 = 2;
    pub(crate) const F64: u8 = 3;
    pub(crate) const STR: u8 = 4;
    pub(crate) const DATE: u8 = 5;
    pub(crate) const OID: u8 = 6;
    pub(crate) const GEOM: u8 = 7;
    pub(crate) const BIN: u8 = 8;
    pub(crate) const RASTER: u8 = 9;
    pub(crate) const GUID: u8 = 10;
    pub(crate) const GLOBALID: u8 = 11;
    pub(crate) const XML: u8 = 12;
    pub(crate) const I64: u8 = 13;
    pub(crate) const DATEONLY: u8 = 14;
    pub(crate) const TIMEONLY: u8 = 15;
    pub(crate) const TSOFFSET: u8 = 16;
}

/// The geometry field's spatial reference, grid, tolerances and extent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GeomDef {
    /// WKT, or empty for an unknown system.
    pub(crate) wkt: String,
    pub(crate) grid: Grid,
    /// XY, Z and M tolerances.
    pub(crate) tol: [f64; 3],
    /// `[xmin, ymin, xmax, ymax]`, NaN when empty.
    pub(crate) extent: [f64; 4],
    /// Spatial index grid sizes (one to three).
    pub(crate) grids: Vec<f64>,
}

/// The placeholder ArcGIS writes for an unknown spatial reference.
const UNKNOWN_SR: &str = "{B286C06B-0879-11D2-AACA-00C04FA33C20}";

/// One field description.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldDef {
    pub(crate) name: String,
    pub(crate) alias: String,
    pub(crate) ftype: u8,
    /// Width in bytes (text: in characters).
    pub(crate) width: u32,
    /// Bit 0: nullable; bit 1: required; bit 2: editable.
    pub(crate) flag: u8,
    /// A default value, as stored.
    pub(crate) default: Vec<u8>,
    pub(crate) geom: Option<GeomDef>,
    /// Written only: a double that holds integers, refusing those it cannot hold
    /// exactly (beyond 2^53).
    pub(crate) exact: bool,
}

impl FieldDef {
    pub(crate) fn new(name: &str, ftype: u8, width: u32, nullable: bool) -> FieldDef {
        FieldDef {
            name: name.to_string(),
            alias: String::new(),
            ftype,
            width,
            flag: if ftype == ft::OID {
                2
            } else if nullable {
                5
            } else {
                4
            },
            default: Vec::new(),
            geom: None,
            exact: false,
        }
    }

    pub(crate) fn nullable(&self) -> bool {
        self.ftype != ft::OID && self.flag & 1 != 0
    }
}

/// Geometry type codes of a layer (low byte of its flags).
pub(crate) mod gt {
    pub(crate) const NONE: u32 = 0;
    pub(crate) const POINT: u32 = 1;
    pub(crate) const MULTIPOINT: u32 = 2;
    pub(crate) const POLYLINE: u32 = 3;
    pub(crate) const POLYGON: u32 = 4;
    pub(crate) const MULTIPATCH: u32 = 9;
    /// Layer flag: coordinates have Z.
    pub(crate) const HAS_Z: u32 = 0x8000_0000;
    /// Layer flag: coordinates have M.
    pub(crate) const HAS_M: u32 = 0x4000_0000;
}

/// A table's description.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableDef {
    /// Geometry type (low byte), [`gt::HAS_Z`], [`gt::HAS_M`] and other flags.
    pub(crate) flags: u32,
    pub(crate) fields: Vec<FieldDef>,
}

impl TableDef {
    pub(crate) fn geometry_type(&self) -> u32 {
        self.flags & 0xff
    }
    pub(crate) fn has_z(&self) -> bool {
        self.flags & gt::HAS_Z != 0
    }
    pub(crate) fn has_m(&self) -> bool {
        self.flags & gt::HAS_M != 0
    }
    /// The geometry field, if any.
    pub(crate) fn geom(&self) -> Option<&GeomDef> {
        self.fields.iter().find_map(|f| f.geom.as_ref())
    }
    /// Bytes of null flags at the start of each row.
    pub(crate) fn flag_bytes(&self) -> usize {
        self.fields
            .iter()
            .filter(|f| f.nullable())
            .count()
            .div_ceil(8)
    }
}

/// The 40-byte header of a `.gdbtable` (version 3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Header {
    pub(crate) valid_rows: u32,
    pub(crate) max_row: u32,
    pub(crate) file_size: u64,
    pub(crate) fields_at: u64,
}

pub(crate) const HEADER_LEN: usize = 40;

/// Parses the header, checked against the file's length.
pub(crate) fn parse_header(b: &[u8], file_len: u64) -> Result<Header, Bad> {
    let mut r = Reader::new(b, 0);
    let version = r.i32("table version")?;
    if version == 4 {
        return Err(
            "a table with 64-bit object ids (ArcGIS Pro 3.2 and later) is not supported yet".into(),
        );
    }
    if version != 3 {
        return Err(format!(
            "not a File Geodatabase table (version {version}, expected 3)"
        ));
    }
    let valid_rows = r.u32("row count")?;
    let max_row = r.u32("largest row size")?;
    r.take(12, "header")?;
    let file_size = r.i64("file size")?;
    let fields_at = r.i64("field description offset")?;
    if fields_at < HEADER_LEN as i64 || fields_at as u64 >= file_len {
        return Err(format!(
            "field descriptions at byte {fields_at}, beyond the file's {file_len} bytes"
        ));
    }
    Ok(Header {
        valid_rows,
        max_row,
        file_size: file_size.max(0) as u64,
        fields_at: fields_at as u64,
    })
}

/// Writes the header.
pub(crate) fn put_header(out: &mut Vec<u8>, h: &Header) {
    for v in [3u32, h.valid_rows, h.max_row, 5, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&h.file_size.to_le_bytes());
    out.extend_from_slice(&h.fields_at.to_le_bytes());
}

/// Parses the field descriptions (`b` starts at their size field, at file offset
/// `base`); returns the description and its length in bytes, size field included.
pub(crate) fn parse_fields(b: &[u8], base: u64) -> Result<(TableDef, usize), Bad> {
    let mut r = Reader::new(b, base);
    let size = r.u32("field description size")? as usize;
    if size > r.left() {
        return r.bad(&format!(
            "field descriptions of {size} bytes in a file with {} left",
            r.left()
        ));
    }
    let mut r = Reader::new(&b[4..4 + size], base + 4);
    let version = r.i32("field description version")?;
    if version != 3 && version != 4 {
        return r.bad(&format!("field description version {version}"));
    }
    let flags = r.u32("layer flags")?;
    let n = r.u16("field count")?;
    let mut fields = Vec::with_capacity(usize::from(n).min(r.left() / 4));
    for _ in 0..n {
        fields.push(parse_field(&mut r)?);
    }
    Ok((TableDef { flags, fields }, 4 + size))
}

fn parse_field(r: &mut Reader<'_>) -> Result<FieldDef, Bad> {
    let len = usize::from(r.u8("field name length")?);
    let name = r.utf16(len, "field name")?;
    let alen = usize::from(r.u8("field alias length")?);
    let alias = r.utf16(alen, "field alias")?;
    let ftype = r.u8("field type")?;
    let mut f = FieldDef {
        name,
        alias,
        ftype,
        width: 0,
        flag: 0,
        default: Vec::new(),
        geom: None,
        exact: false,
    };
    match ftype {
        ft::OID | ft::BIN | ft::GUID | ft::GLOBALID | ft::XML => {
            f.width = u32::from(r.u8("field width")?);
            f.flag = r.u8("field flags")?;
        }
        ft::STR => {
            f.width = r.u32("text width")?;
            f.flag = r.u8("field flags")?;
            let d = r.varuint("default length")?;
            f.default = r
                .take(usize::try_from(d).unwrap_or(usize::MAX), "default value")?
                .to_vec();
        }
        ft::GEOM => {
            r.u8("geometry field")?;
            f.flag = r.u8("geometry field flags")?;
            f.geom = Some(parse_geom(r)?);
        }
        ft::RASTER => {
            return r.bad(&format!("raster field {:?} is not supported", f.name));
        }
        ft::I16
        | ft::I32
        | ft::F32
        | ft::F64
        | ft::DATE
        | ft::I64
        | ft::DATEONLY
        | ft::TIMEONLY
        | ft::TSOFFSET => {
            f.width = u32::from(r.u8("field width")?);
            f.flag = r.u8("field flags")?;
            let d = usize::from(r.u8("default length")?);
            f.default = r.take(d, "default value")?.to_vec();
        }
        other => return r.bad(&format!("unknown field type {other} for {:?}", f.name)),
    }
    Ok(f)
}

fn parse_geom(r: &mut Reader<'_>) -> Result<GeomDef, Bad> {
    let wlen = usize::from(r.u16("spatial reference length")?);
    if wlen % 2 != 0 {
        return r.bad("odd spatial reference length");
    }
    let mut wkt = r.utf16(wlen / 2, "spatial reference")?;
    if wkt == UNKNOWN_SR {
        wkt.clear();
    }
    let which = r.u8("spatial reference parts")?;
    let (has_m, has_z) = (which & 2 != 0, which & 4 != 0);
    let mut grid = Grid::default_for(false);
    grid.x0 = r.f64("x origin")?;
    grid.y0 = r.f64("y origin")?;
    grid.xy = r.f64("xy scale")?;
    if has_m {
        grid.m0 = r.f64("m origin")?;
        grid.m = r.f64("m scale")?;
    }
    if has_z {
        grid.z0 = r.f64("z origin")?;
        grid.z = r.f64("z scale")?;
    }
    let mut tol = [r.f64("xy tolerance")?, 0.001, 0.001];
    if has_m {
        tol[2] = r.f64("m tolerance")?;
    }
    if has_z {
        tol[1] = r.f64("z tolerance")?;
    }
    for (what, s) in [("xy", grid.xy), ("z", grid.z), ("m", grid.m)] {
        if !(s.is_finite() && s > 0.0) {
            return r.bad(&format!("{what} scale {s}"));
        }
    }
    let extent = [
        r.f64("xmin")?,
        r.f64("ymin")?,
        r.f64("xmax")?,
        r.f64("ymax")?,
    ];
    // Then optional Z/M extents (pairs of doubles), then a zero byte and the number
    // (1 to 3) of spatial index grid sizes, then those.
    let mut grids = Vec::new();
    loop {
        let Some(next) = r.peek_bytes(5) else {
            return r.bad("no spatial index grid sizes");
        };
        let n = i32::from_le_bytes([next[1], next[2], next[3], next[4]]);
        if next[0] == 0 && (1..=3).contains(&n) {
            r.take(5, "grid count")?;
            for _ in 0..n {
                grids.push(r.f64("spatial index grid size")?);
            }
            break;
        }
        r.f64("z or m extent")?;
    }
    Ok(GeomDef {
        wkt,
        grid,
        tol,
        extent,
        grids,
    })
}

/// Writes the field descriptions (size field included); `None` when a name or the
/// spatial reference is too long for the format.
pub(crate) fn put_fields(out: &mut Vec<u8>, def: &TableDef) -> Result<(), Bad> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&4i32.to_le_bytes());
    out.extend_from_slice(&def.flags.to_le_bytes());
    let n = u16::try_from(def.fields.len()).map_err(|_| "more than 65535 fields".to_string())?;
    out.extend_from_slice(&n.to_le_bytes());
    for f in &def.fields {
        put_utf16_name(out, &f.name)
            .ok_or_else(|| format!("field name {:?} is too long", f.name))?;
        put_utf16_name(out, &f.alias).ok_or_else(|| format!("alias {:?} is too long", f.alias))?;
        out.push(f.ftype);
        let short = |w: u32| u8::try_from(w).unwrap_or(0);
        match f.ftype {
            ft::OID | ft::BIN | ft::GUID | ft::GLOBALID | ft::XML => {
                out.extend_from_slice(&[short(f.width), f.flag]);
            }
            ft::STR => {
                out.extend_from_slice(&f.width.to_le_bytes());
                out.push(f.flag);
                put_varuint(out, f.default.len() as u64);
                out.extend_from_slice(&f.default);
            }
            ft::GEOM => {
                let g = f
                    .geom
                    .as_ref()
                    .ok_or("a geometry field without its spatial reference")?;
                out.extend_from_slice(&[0, f.flag]);
                let wkt = if g.wkt.is_empty() {
                    UNKNOWN_SR
                } else {
                    g.wkt.as_str()
                };
                let units: Vec<u16> = wkt.encode_utf16().collect();
                let bytes = u16::try_from(units.len() * 2).map_err(|_| {
                    "a spatial reference WKT longer than 32767 characters".to_string()
                })?;
                out.extend_from_slice(&bytes.to_le_bytes());
                for u in units {
                    out.extend_from_slice(&u.to_le_bytes());
                }
                out.push(7);
                let gr = &g.grid;
                for v in [
                    gr.x0, gr.y0, gr.xy, gr.m0, gr.m, gr.z0, gr.z, g.tol[0], g.tol[2], g.tol[1],
                ] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
                for v in g.extent {
                    out.extend_from_slice(&v.to_le_bytes());
                }
                // The Z and M ranges, when the layer has them (readers require
                // them there; not kept up to date, as ArcGIS recomputes them).
                let extra = 2 * (usize::from(def.has_z()) + usize::from(def.has_m()));
                for _ in 0..extra {
                    out.extend_from_slice(&f64::NAN.to_le_bytes());
                }
                out.push(0);
                out.extend_from_slice(&(g.grids.len() as u32).to_le_bytes());
                for v in &g.grids {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            _ => {
                out.extend_from_slice(&[short(f.width), f.flag]);
                out.push(u8::try_from(f.default.len()).map_err(|_| "default value too long")?);
                out.extend_from_slice(&f.default);
            }
        }
    }
    let size = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&size.to_le_bytes());
    Ok(())
}

/// The row offsets of a `.gdbtablx`: the file offset of row `i` (object id `i + 1`)
/// in the `.gdbtable`, 0 when deleted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Offsets {
    pub(crate) rows: u64,
    pub(crate) size: usize,
    /// Index of each 1024-row block's offsets in `raw`, `None` when absent (sparse).
    blocks: Vec<Option<usize>>,
    raw: Vec<u8>,
}

impl Offsets {
    /// Parses a `.gdbtablx` file.
    pub(crate) fn parse(b: &[u8]) -> Result<Offsets, Bad> {
        let mut r = Reader::new(b, 0);
        if r.i32("index version")? != 3 {
            return Err("not a version 3 row index".into());
        }
        let present = r.u32("index block count")? as usize;
        let rows = u64::from(r.u32("index row count")?);
        let size = r.u32("offset size")? as usize;
        if !(4..=6).contains(&size) {
            return Err(format!("offsets of {size} bytes (expected 4 to 6)"));
        }
        let need = present
            .checked_mul(1024 * size)
            .filter(|n| *n <= r.left())
            .ok_or_else(|| format!("{present} blocks of offsets in a file of {} bytes", b.len()))?;
        let raw = r.take(need, "offsets")?.to_vec();
        let total = rows.div_ceil(1024) as usize;
        let blocks = if present >= total {
            (0..total).map(Some).collect()
        } else {
            // Sparse: a bitmap says which blocks are present.
            let words = r.u32("bitmap size")? as usize;
            let _total_blocks = r.u32("block count")?;
            let _present_again = r.u32("block count")?;
            let _useful = r.u32("bitmap size")?;
            let bits = r.take(words.checked_mul(4).ok_or("bitmap size")?, "bitmap")?;
            if bits.len() * 8 < total {
                return Err(format!(
                    "{rows} rows in {total} blocks, but a bitmap of {} blocks",
                    bits.len() * 8
                ));
            }
            let mut k = 0usize;
            let mut v = Vec::with_capacity(total.min(bits.len() * 8));
            for i in 0..total {
                let on = bits
                    .get(i / 8)
                    .is_some_and(|byte| byte & (1 << (i % 8)) != 0);
                if on && k < present {
                    v.push(Some(k));
                    k += 1;
                } else {
                    v.push(None);
                }
            }
            v
        };
        Ok(Offsets {
            rows,
            size,
            blocks,
            raw,
        })
    }

    /// True when the 1024 rows of block `b` have offsets (a sparse index leaves
    /// out blocks of deleted rows).
    pub(crate) fn has_block(&self, b: u64) -> bool {
        matches!(self.blocks.get(b as usize), Some(Some(_)))
    }

    /// The offset of row `i` (0 when deleted).
    pub(crate) fn get(&self, i: u64) -> u64 {
        let Some(Some(block)) = self.blocks.get((i / 1024) as usize) else {
            return 0;
        };
        let at = (block * 1024 + (i % 1024) as usize) * self.size;
        let mut v = [0u8; 8];
        v[..self.size].copy_from_slice(&self.raw[at..at + self.size]);
        u64::from_le_bytes(v)
    }
}

/// A `.gdbtablx` for `offsets` (every block present).
pub(crate) fn put_offsets(out: &mut Vec<u8>, offsets: &[u64], size: usize) {
    let blocks = offsets.len().div_ceil(1024);
    put_offsets_header(out, blocks as u32, offsets.len() as u32, size as u32);
    for o in offsets {
        out.extend_from_slice(&o.to_le_bytes()[..size]);
    }
    out.resize(16 + blocks * 1024 * size, 0);
    put_offsets_trailer(out, blocks as u32);
}

pub(crate) fn put_offsets_header(out: &mut Vec<u8>, blocks: u32, rows: u32, size: u32) {
    for v in [3, blocks, rows, size] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

pub(crate) fn put_offsets_trailer(out: &mut Vec<u8>, blocks: u32) {
    for v in [0, blocks, blocks, 0u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

//! ESRI Shapefile. Reading: the `shapefile` crate for shapes and `dbase` for the
//! table (code page from `.cpg`). Writing: `.shp`/`.shx` written here (null shapes,
//! Z and M included), the table with `dbase`, plus `.prj` and `.cpg`. `dbase` takes
//! every number through `f64` both ways: the cells where that loses digits (integers
//! beyond 2^53, reals too long for their field) are read and written exactly here.

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use dbase::{FieldName, FieldValue, TableWriterBuilder};
use gp_model::esrijson::group_rings;
use gp_model::geometry::DEFAULT_DENSIFY_ANGLE;
use gp_model::{
    AttrValue, Coord, Feature, FeatureSet, Field, FieldType, Geometry, GeometryType, Multipoint,
    Point, Polygon, Polyline,
};
use shapefile::{PolygonRing, Shape};

use crate::error::{Result, fmt_err, io};
use crate::srs;

/// Shapefile M values below this are "no data".
const NO_DATA: f64 = -1e38;

fn sibling(path: &Path, ext: &str) -> PathBuf {
    // Keep the case style of the .shp extension.
    let upper = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e == "SHP");
    path.with_extension(if upper {
        ext.to_ascii_uppercase()
    } else {
        ext.to_string()
    })
}

fn m_of(m: f64) -> Option<f64> {
    (m > NO_DATA).then_some(m)
}

fn c2(p: &shapefile::Point) -> Coord {
    Coord::xy(p.x, p.y)
}

fn cm(p: &shapefile::PointM) -> Coord {
    Coord {
        x: p.x,
        y: p.y,
        z: None,
        m: m_of(p.m),
    }
}

fn cz(p: &shapefile::PointZ) -> Coord {
    Coord {
        x: p.x,
        y: p.y,
        z: Some(p.z),
        m: m_of(p.m),
    }
}

fn paths_of<P>(parts: &[Vec<P>], f: fn(&P) -> Coord) -> Vec<Vec<Coord>> {
    parts.iter().map(|p| p.iter().map(f).collect()).collect()
}

fn rings_of<P>(rings: &[PolygonRing<P>], f: fn(&P) -> Coord) -> Vec<Vec<Coord>> {
    rings
        .iter()
        .map(|r| ring_points(r).iter().map(f).collect())
        .collect()
}

fn any_m(parts: &[Vec<Coord>]) -> bool {
    parts.iter().flatten().any(|c| c.m.is_some())
}

fn shape_to_geometry(s: Shape) -> Result<Option<Geometry>, String> {
    let point = |c: Coord| {
        Geometry::Point(Point {
            coord: Some(c),
            spatial_reference: None,
        })
    };
    let multi = |has_z: bool, points: Vec<Coord>| {
        let has_m = points.iter().any(|c| c.m.is_some());
        Geometry::Multipoint(Multipoint {
            has_z,
            has_m,
            points,
            spatial_reference: None,
        })
    };
    let line = |has_z: bool, paths: Vec<Vec<Coord>>| {
        Geometry::Polyline(Polyline {
            has_z,
            has_m: any_m(&paths),
            paths,
            ..Default::default()
        })
    };
    let poly = |has_z: bool, rings: Vec<Vec<Coord>>| {
        Geometry::Polygon(Polygon {
            has_z,
            has_m: any_m(&rings),
            rings,
            ..Default::default()
        })
    };
    Ok(Some(match s {
        Shape::NullShape => return Ok(None),
        Shape::Point(p) => point(c2(&p)),
        Shape::PointM(p) => point(cm(&p)),
        Shape::PointZ(p) => point(cz(&p)),
        Shape::Multipoint(mp) => multi(false, mp.points().iter().map(c2).collect()),
        Shape::MultipointM(mp) => multi(false, mp.points().iter().map(cm).collect()),
        Shape::MultipointZ(mp) => multi(true, mp.points().iter().map(cz).collect()),
        Shape::Polyline(l) => line(false, paths_of(l.parts(), c2)),
        Shape::PolylineM(l) => line(false, paths_of(l.parts(), cm)),
        Shape::PolylineZ(l) => line(true, paths_of(l.parts(), cz)),
        Shape::Polygon(p) => poly(false, rings_of(p.rings(), c2)),
        Shape::PolygonM(p) => poly(false, rings_of(p.rings(), cm)),
        Shape::PolygonZ(p) => poly(true, rings_of(p.rings(), cz)),
        Shape::Multipatch(_) => {
            return Err("multipatch shapes cannot be stored in an Esri JSON feature set".into());
        }
    }))
}

fn ring_points<P>(r: &PolygonRing<P>) -> &[P] {
    r.points()
}

fn encoding_for(path: &Path) -> dbase::encoding::EncodingRs {
    let cpg = std::fs::read_to_string(sibling(path, "cpg")).unwrap_or_default();
    let label = cpg.trim();
    let label = match label {
        "" => "utf-8",
        "65001" => "utf-8",
        l if l.chars().all(|c| c.is_ascii_digit()) => match l {
            "1252" => "windows-1252",
            "1251" => "windows-1251",
            "1250" => "windows-1250",
            "437" | "850" => "ibm866",
            "936" => "gbk",
            "932" => "shift_jis",
            _ => "utf-8",
        },
        l if l.to_ascii_uppercase().starts_with("ANSI ") => match &l[5..] {
            "1252" => "windows-1252",
            "1251" => "windows-1251",
            "1250" => "windows-1250",
            _ => "windows-1252",
        },
        l => l,
    };
    let enc = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    dbase::encoding::EncodingRs::from(enc)
}

/// Loads a whole Shapefile.
pub(crate) fn read(path: &Path) -> Result<FeatureSet> {
    let mut all = crate::sink::Collect::default();
    read_each(path, &mut all)?;
    Ok(all.0)
}

/// The layout of a `.dbf` file from its header: where the records start, the record
/// size, and each field's length and decimal count (the field descriptors after the
/// 32-byte file header, 32 bytes each, up to the 0x0D terminator).
struct DbfLayout {
    header_len: u64,
    record_len: usize,
    /// (length, decimals) of each field, in order.
    fields: Vec<(usize, u8)>,
}

fn dbf_layout(dbf: &Path) -> std::io::Result<DbfLayout> {
    use std::io::Read;
    let mut f = std::fs::File::open(dbf)?;
    let mut head = [0u8; 32];
    f.read_exact(&mut head)?;
    let len = usize::from(u16::from_le_bytes([head[8], head[9]]));
    let mut rest = Vec::new();
    f.take(len.saturating_sub(32) as u64)
        .read_to_end(&mut rest)?;
    Ok(DbfLayout {
        header_len: len as u64,
        record_len: usize::from(u16::from_le_bytes([head[10], head[11]])),
        fields: rest
            .chunks_exact(32)
            .take_while(|d| d[0] != 0x0D)
            .map(|d| (usize::from(d[16]), d[17]))
            .collect(),
    })
}

/// Integer `.dbf` fields wider than 15 digits, read exactly. The `dbase` crate reads
/// every number through `f64`, which holds integers exactly only up to 2^53 (16
/// digits): those fields' cells are read again here, from the raw records, alongside.
struct ExactInts {
    records: std::io::BufReader<std::fs::File>,
    record: Vec<u8>,
    /// (field index, offset in the record, length).
    cells: Vec<(usize, usize, usize)>,
}

impl ExactInts {
    /// `None` when the table has no such field.
    fn open(dbf: &Path, layout: &DbfLayout, integer: &[bool]) -> std::io::Result<Option<Self>> {
        use std::io::{Seek, SeekFrom};
        let mut cells = Vec::new();
        let mut at = 1;
        for (k, &(len, _)) in layout.fields.iter().enumerate() {
            if integer.get(k).copied().unwrap_or(false) && len > 15 {
                cells.push((k, at, len));
            }
            at += len;
        }
        if cells.is_empty() || at > layout.record_len {
            return Ok(None);
        }
        let mut f = std::fs::File::open(dbf)?;
        f.seek(SeekFrom::Start(layout.header_len))?;
        Ok(Some(ExactInts {
            records: std::io::BufReader::with_capacity(1 << 16, f),
            record: vec![0; layout.record_len],
            cells,
        }))
    }

    /// The next record that is not deleted (as the `dbase` reader skips them): the
    /// exact value of each wide integer cell that holds a plain integer.
    fn next(&mut self) -> std::io::Result<Vec<(usize, i64)>> {
        use std::io::Read;
        loop {
            self.records.read_exact(&mut self.record)?;
            if self.record[0] != b'*' {
                break;
            }
        }
        Ok(self
            .cells
            .iter()
            .filter_map(|&(k, at, len)| {
                let text = std::str::from_utf8(&self.record[at..at + len]).ok()?;
                Some((k, text.trim().parse::<i64>().ok()?))
            })
            .collect())
    }
}

/// The `.dbf` destination of the writer: passes the `dbase` crate's bytes through,
/// replacing the cells queued in `fix` (file offset, text of the cell's full width) as
/// they go by. `dbase` formats every number through `f64` and crops what is wider than
/// its field; the cells where that would change the value are queued by
/// [`exact_cell`] just before their record is written.
struct DbfOut {
    inner: BufWriter<std::fs::File>,
    pos: u64,
    fix: std::sync::Arc<Fixes>,
}

/// Cells to replace (see [`DbfOut`]).
#[derive(Default)]
struct Fixes {
    any: std::sync::atomic::AtomicBool,
    cells: std::sync::Mutex<Vec<(u64, Vec<u8>)>>,
}

impl Fixes {
    fn push(&self, at: u64, text: Vec<u8>) -> std::io::Result<()> {
        self.cells
            .lock()
            .map_err(|_| std::io::Error::other("a writer thread failed"))?
            .push((at, text));
        self.any.store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }
}

impl Write for DbfOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let end = self.pos + buf.len() as u64;
        if !self.fix.any.load(std::sync::atomic::Ordering::Acquire) {
            self.inner.write_all(buf)?;
            self.pos = end;
            return Ok(buf.len());
        }
        let mut cells = self
            .fix
            .cells
            .lock()
            .map_err(|_| std::io::Error::other("a writer thread failed"))?;
        let mut out = buf.to_vec();
        for (at, text) in cells.iter() {
            let (lo, hi) = ((*at).max(self.pos), (at + text.len() as u64).min(end));
            if lo < hi {
                out[(lo - self.pos) as usize..(hi - self.pos) as usize]
                    .copy_from_slice(&text[(lo - at) as usize..(hi - at) as usize]);
            }
        }
        cells.retain(|(at, text)| at + text.len() as u64 > end);
        if cells.is_empty() {
            self.fix
                .any
                .store(false, std::sync::atomic::Ordering::Release);
        }
        drop(cells);
        self.inner.write_all(&out)?;
        self.pos = end;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl std::io::Seek for DbfOut {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

/// The text a numeric cell of `width` bytes (`decimals` after the point) must hold
/// when the `dbase` crate's own (`format!("{:.decimals$}", value as f64)`, cropped to
/// the width) would not hold the value: `Ok(None)` when its text is right, `Ok(Some)`
/// the exact text right-aligned to the width, `Err` when no text of that width holds
/// the value.
fn exact_cell(
    v: &AttrValue,
    width: usize,
    decimals: usize,
) -> std::result::Result<Option<Vec<u8>>, String> {
    let pad = |t: String| {
        let mut cell = vec![b' '; width - t.len()];
        cell.extend_from_slice(t.as_bytes());
        cell
    };
    let too_wide = |t: &str| format!("{t} does not fit the {width} characters of the DBF field");
    let exact = match v {
        AttrValue::Int(i) => Some((i.to_string(), *i as f64 as i128 == i128::from(*i))),
        AttrValue::UInt(u) => Some((u.to_string(), *u as f64 as u128 == u128::from(*u))),
        _ => None,
    };
    if let Some((text, f64_exact)) = exact {
        if text.len() > width {
            return Err(too_wide(&text));
        }
        if decimals == 0 {
            return Ok((!f64_exact).then(|| pad(text)));
        }
    }
    let Some(x) = v.as_f64() else {
        return Ok(None);
    };
    if !x.is_finite() || format!("{x:.decimals$}").len() <= width {
        return Ok(None);
    }
    // Fewer decimals, else (in a field with decimals) the exponent form.
    (0..decimals)
        .rev()
        .map(|d| format!("{x:.d$}"))
        .chain((decimals > 0).then(|| format!("{x:e}")))
        .find(|t| t.len() <= width)
        .map(|t| Some(pad(t)))
        .ok_or_else(|| too_wide(&x.to_string()))
}

/// Reads a Shapefile record by record into `to`: its schema (fields from the `.dbf`
/// header, numeric fields with no decimals as integers; the geometry type and Z from
/// the `.shp` header; M from the header, or for Z shapes, whose M values are optional,
/// from a first pass over the shapes), then every feature in order. Memory does not
/// grow with the file.
pub(crate) fn read_each(path: &Path, to: &mut dyn crate::sink::Consumer) -> Result<()> {
    use shapefile::ShapeType as S;
    let err = fmt_err(path, "Shapefile");
    // Counts first: the crate reserves what each record declares before it reads.
    crate::shp_check::check_layout(path).map_err(&err)?;
    let mut shapes = shapefile::ShapeReader::from_path(path).map_err(|e| err(e.to_string()))?;
    let dbf_path = sibling(path, "dbf");
    let mut table = dbase::ReaderBuilder::new()
        .with_encoding(encoding_for(path))
        .build(std::io::BufReader::new(
            std::fs::File::open(&dbf_path).map_err(io("opening", &dbf_path))?,
        ))
        .map_err(|e| err(format!("{}: {e}", dbf_path.display())))?;
    let layout = dbf_layout(&dbf_path).map_err(io("reading", &dbf_path))?;
    let decimals: Vec<u8> = layout.fields.iter().map(|f| f.1).collect();
    let mut fields = Vec::new();
    for (k, f) in table.fields().iter().enumerate() {
        let len = f.length();
        let t = match f.field_type() {
            dbase::FieldType::Character | dbase::FieldType::Memo => FieldType::String,
            dbase::FieldType::Numeric if decimals.get(k).copied().unwrap_or(0) == 0 => match len {
                0..=4 => FieldType::SmallInteger,
                5..=11 => FieldType::Integer,
                _ => FieldType::BigInteger,
            },
            dbase::FieldType::Integer => FieldType::Integer,
            dbase::FieldType::Logical => FieldType::SmallInteger,
            dbase::FieldType::Date | dbase::FieldType::DateTime => FieldType::Date,
            _ => FieldType::Double,
        };
        let mut field = Field::new(f.name().to_string(), t.clone());
        if t == FieldType::String {
            field.length = Some(u32::from(len));
        }
        fields.push(field);
    }
    let st = shapes.header().shape_type;
    let geometry_type = match st {
        S::Point | S::PointM | S::PointZ => Some(GeometryType::Point),
        S::Multipoint | S::MultipointM | S::MultipointZ => Some(GeometryType::Multipoint),
        S::Polyline | S::PolylineM | S::PolylineZ => Some(GeometryType::Polyline),
        S::Polygon | S::PolygonM | S::PolygonZ => Some(GeometryType::Polygon),
        S::NullShape | S::Multipatch => None,
    };
    let has_z = st.has_z();
    let has_m = if !st.has_m() {
        false
    } else if !has_z {
        true
    } else {
        // Z shapes may carry M values or not: look.
        let mut any = false;
        let mut first = shapefile::ShapeReader::from_path(path).map_err(|e| err(e.to_string()))?;
        for (i, shape) in first.iter_shapes().enumerate() {
            let shape = shape.map_err(|e| err(format!("record {i}: {e}")))?;
            let g = shape_to_geometry(shape).map_err(|e| err(format!("record {i}: {e}")))?;
            if g.is_some_and(|g| g.dims().has_m) {
                any = true;
                break;
            }
        }
        any
    };
    let integer: Vec<bool> = fields.iter().map(|f| f.field_type.is_integer()).collect();
    let mut exact =
        ExactInts::open(&dbf_path, &layout, &integer).map_err(io("reading", &dbf_path))?;
    let sr = std::fs::read_to_string(sibling(path, "prj"))
        .ok()
        .map(|w| srs::sr_from_wkt(&w));
    to.schema(&FeatureSet {
        geometry_type,
        spatial_reference: sr,
        has_z,
        has_m,
        fields: Some(fields.clone()),
        ..Default::default()
    })?;
    let mut records = table.iter_records();
    let mut n = 0usize;
    for shape in shapes.iter_shapes() {
        let shape = shape.map_err(|e| err(format!("record {n}: {e}")))?;
        let rec = match records.next() {
            Some(r) => r.map_err(|e| err(format!("{}: record {n}: {e}", dbf_path.display())))?,
            None => {
                return Err(err(format!(
                    "more shapes than the {n} records of {}",
                    dbf_path.display()
                )));
            }
        };
        let geometry = shape_to_geometry(shape).map_err(|e| err(format!("record {n}: {e}")))?;
        let mut attributes = gp_model::Attributes::new();
        for f in &fields {
            let v = match rec.get(&f.name) {
                None => AttrValue::Null,
                Some(v) => dbf_to_attr(v, &f.field_type),
            };
            attributes.insert(f.name.clone(), v);
        }
        if let Some(x) = exact.as_mut() {
            let cells = x
                .next()
                .map_err(|e| err(format!("{}: record {n}: {e}", dbf_path.display())))?;
            for (k, v) in cells {
                attributes.insert(fields[k].name.clone(), AttrValue::Int(v));
            }
        }
        to.feature(Feature {
            attributes,
            geometry,
        })?;
        n += 1;
    }
    if records.next().is_some() {
        return Err(err(format!(
            "{} has more records than the {n} shapes",
            dbf_path.display()
        )));
    }
    Ok(())
}

fn dbf_to_attr(v: &FieldValue, t: &FieldType) -> AttrValue {
    match v {
        FieldValue::Character(Some(s)) | FieldValue::Memo(s) => AttrValue::String(s.clone()),
        FieldValue::Numeric(Some(n)) if t.is_integer() && n.fract() == 0.0 => {
            AttrValue::Int(*n as i64)
        }
        FieldValue::Numeric(Some(n)) | FieldValue::Double(n) | FieldValue::Currency(n) => {
            AttrValue::Float(*n)
        }
        FieldValue::Float(Some(f)) => AttrValue::Float(f64::from(*f)),
        FieldValue::Integer(i) => AttrValue::Int(i64::from(*i)),
        FieldValue::Logical(Some(b)) => AttrValue::Int(i64::from(*b)),
        FieldValue::Date(Some(d)) => AttrValue::Int(i64::from(d.to_unix_days()) * 86_400_000),
        FieldValue::DateTime(dt) => AttrValue::Int(
            i64::from(dt.date().to_unix_days()) * 86_400_000 + {
                let t = dt.time();
                i64::from(t.hours() * 3600 + t.minutes() * 60 + t.seconds()) * 1000
            },
        ),
        _ => AttrValue::Null,
    }
}

/// The DBF field names: at most 10 bytes, unique (case-insensitively); returns the
/// renames made.
pub(crate) fn dbf_names(fields: &[&Field]) -> (Vec<String>, Vec<(String, String)>) {
    let mut used = HashSet::new();
    let mut names = Vec::new();
    let mut renamed = Vec::new();
    for f in fields {
        let base: String = f
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let base = if base.is_empty() {
            "FIELD".to_string()
        } else {
            base
        };
        let mut cand: String = base.chars().take(10).collect();
        let mut n = 1;
        while !used.insert(cand.to_ascii_uppercase()) {
            let suffix = format!("_{n}");
            cand = format!(
                "{}{suffix}",
                base.chars().take(10 - suffix.len()).collect::<String>()
            );
            n += 1;
        }
        if cand != f.name {
            renamed.push((f.name.clone(), cand.clone()));
        }
        names.push(cand);
    }
    (names, renamed)
}

// ---- writing ----

/// The bounding box of everything written (x, y, z and m ranges).
struct ShpOut {
    bbox: [f64; 8],
    any: bool,
}

impl ShpOut {
    fn extend_bbox(&mut self, c: &Coord) {
        let b = &mut self.bbox;
        if !self.any {
            *b = [
                c.x,
                c.y,
                c.x,
                c.y,
                c.z.unwrap_or(0.0),
                c.z.unwrap_or(0.0),
                c.m.unwrap_or(0.0),
                c.m.unwrap_or(0.0),
            ];
            self.any = true;
        }
        b[0] = b[0].min(c.x);
        b[1] = b[1].min(c.y);
        b[2] = b[2].max(c.x);
        b[3] = b[3].max(c.y);
        if let Some(z) = c.z {
            b[4] = b[4].min(z);
            b[5] = b[5].max(z);
        }
        if let Some(m) = c.m {
            b[6] = b[6].min(m);
            b[7] = b[7].max(m);
        }
    }
}

fn le_f64(v: &mut Vec<u8>, x: f64) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn le_i32(v: &mut Vec<u8>, x: i32) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    })
}

/// Writes the record content of a multi-part or multi-point shape.
fn parts_content(
    rec: &mut Vec<u8>,
    shape_type: i32,
    parts: &[&[Coord]],
    multipoint: bool,
    z: bool,
    m: bool,
) {
    let pts: Vec<&Coord> = parts.iter().flat_map(|p| p.iter()).collect();
    le_i32(rec, shape_type);
    let (x0, x1) = range(pts.iter().map(|c| c.x));
    let (y0, y1) = range(pts.iter().map(|c| c.y));
    for v in [x0, y0, x1, y1] {
        le_f64(rec, v);
    }
    if !multipoint {
        le_i32(rec, parts.len() as i32);
    }
    le_i32(rec, pts.len() as i32);
    if !multipoint {
        let mut start = 0i32;
        for p in parts {
            le_i32(rec, start);
            start += p.len() as i32;
        }
    }
    for c in &pts {
        le_f64(rec, c.x);
        le_f64(rec, c.y);
    }
    if z {
        let (a, b) = range(pts.iter().map(|c| c.z.unwrap_or(0.0)));
        le_f64(rec, a);
        le_f64(rec, b);
        for c in &pts {
            le_f64(rec, c.z.unwrap_or(0.0));
        }
    }
    if m {
        let (a, b) = range(pts.iter().filter_map(|c| c.m));
        le_f64(rec, if a.is_finite() { a } else { -1e39 });
        le_f64(rec, if b.is_finite() { b } else { -1e39 });
        for c in &pts {
            le_f64(rec, c.m.unwrap_or(-1e39));
        }
    }
}

fn shape_type(g: &GeometryType, z: bool, m: bool) -> i32 {
    let base = match g {
        GeometryType::Point => 1,
        GeometryType::Multipoint => 8,
        GeometryType::Polyline => 3,
        _ => 5,
    };
    base + if z {
        10
    } else if m {
        20
    } else {
        0
    }
}

fn header(buf: &mut Vec<u8>, file_len_bytes: usize, shape_type: i32, bbox: &[f64; 8]) {
    buf.extend_from_slice(&9994i32.to_be_bytes());
    buf.extend_from_slice(&[0u8; 20]);
    buf.extend_from_slice(&((file_len_bytes / 2) as i32).to_be_bytes());
    le_i32(buf, 1000);
    le_i32(buf, shape_type);
    for v in bbox {
        le_f64(buf, *v);
    }
}

/// Writes `.shp`, `.shx`, `.dbf`, `.cpg` and `.prj` next to `shp` (all temporary
/// paths chosen by the caller). Returns the field renames.
/// The fields a DBF can hold, in order.
fn dbf_fields(fs: &FeatureSet) -> Vec<Field> {
    fs.fields
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|f| {
            !matches!(
                f.field_type,
                FieldType::Geometry | FieldType::Blob | FieldType::Raster
            )
        })
        .cloned()
        .collect()
}

/// The field renames a Shapefile of `fs` needs, `(from, to)`.
pub(crate) fn renames(fs: &FeatureSet) -> Vec<(String, String)> {
    let fields = dbf_fields(fs);
    dbf_names(&fields.iter().collect::<Vec<_>>()).1
}

/// A Shapefile written feature by feature: `.shp` and `.shx` records as they come
/// (headers completed at the end), the `.dbf` through `dbase`, `.cpg` and `.prj`.
pub(crate) struct ShpSink {
    shp_path: PathBuf,
    paths: [PathBuf; 4],
    shp: Option<std::fs::File>,
    shp_out: Option<BufWriter<std::fs::File>>,
    shx_out: Option<BufWriter<std::fs::File>>,
    table: Option<dbase::TableWriter<DbfOut>>,
    /// Cells the `.dbf` writer replaces (see [`DbfOut`]).
    fixes: std::sync::Arc<Fixes>,
    /// Each field's (offset in the record, width, decimals) when it is numeric.
    numeric: Vec<Option<(u64, usize, usize)>>,
    /// Where the `.dbf` records start, and their size.
    dbf_records: (u64, u64),
    gt: GeometryType,
    st: i32,
    z: bool,
    m: bool,
    fields: Vec<Field>,
    names: Vec<String>,
    lens: Vec<usize>,
    bbox: ShpOut,
    len: usize,
    count: usize,
}

impl ShpSink {
    /// Writes to the five given paths (temporary names chosen by the caller); the
    /// `.prj` is left empty when the feature set has no known spatial reference.
    pub(crate) fn create(shp: &Path, shx: &Path, dbf: &Path, cpg: &Path, prj: &Path) -> Self {
        ShpSink {
            shp_path: shp.to_path_buf(),
            paths: [
                shx.to_path_buf(),
                dbf.to_path_buf(),
                cpg.to_path_buf(),
                prj.to_path_buf(),
            ],
            shp: None,
            shp_out: None,
            shx_out: None,
            table: None,
            fixes: std::sync::Arc::default(),
            numeric: Vec::new(),
            dbf_records: (0, 0),
            gt: GeometryType::Point,
            st: 0,
            z: false,
            m: false,
            fields: Vec::new(),
            names: Vec::new(),
            lens: Vec::new(),
            bbox: ShpOut {
                bbox: [0.0; 8],
                any: false,
            },
            len: 100,
            count: 0,
        }
    }
}

impl crate::sink::FeatureSink for ShpSink {
    fn start(&mut self, fs: &FeatureSet) -> Result<()> {
        let err = fmt_err(&self.shp_path, "Shapefile");
        self.gt = fs
            .geometry_type
            .clone()
            .or_else(|| {
                fs.features
                    .iter()
                    .find_map(|f| f.geometry.as_ref().map(Geometry::geometry_type))
            })
            .ok_or_else(|| {
                err("a shapefile needs a geometry type; this is a table without geometry".into())
            })?;
        (self.z, self.m) = (fs.has_z, fs.has_m);
        self.st = shape_type(&self.gt, self.z, self.m);
        let [shx, dbf, cpg, prj] = &self.paths;
        let shp_file =
            crate::atomic::create_file(&self.shp_path).map_err(io("creating", &self.shp_path))?;
        let mut shp_out = BufWriter::with_capacity(
            1 << 20,
            shp_file
                .try_clone()
                .map_err(io("opening", &self.shp_path))?,
        );
        let mut shx_out = BufWriter::with_capacity(
            1 << 20,
            crate::atomic::create_file(shx).map_err(io("creating", shx))?,
        );
        // Headers are completed in finish(); reserve their 100 bytes now.
        shp_out
            .write_all(&[0u8; 100])
            .map_err(io("writing", &self.shp_path))?;
        shx_out.write_all(&[0u8; 100]).map_err(io("writing", shx))?;
        self.fields = dbf_fields(fs);
        let refs: Vec<&Field> = self.fields.iter().collect();
        self.names = dbf_names(&refs).0;
        let mut b = TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(
            encoding_rs::UTF_8,
        ));
        self.lens = vec![0; self.fields.len()];
        self.numeric = vec![None; self.fields.len()];
        // Record offset of the next field (after the deletion flag).
        let mut at = 1u64;
        for (k, (f, n)) in self.fields.iter().zip(&self.names).enumerate() {
            let name =
                FieldName::try_from(n.as_str()).map_err(|e| err(format!("field {n}: {e:?}")))?;
            // 64-bit integers take 18 characters, the widest GDAL reads as Integer64
            // (it reads wider integer fields as reals), unless a value needs more (up
            // to 20). Streamed (no features at hand), an object ID gets 18 and another
            // 64-bit integer field 20.
            let fits = |width: usize| {
                fs.features.iter().all(|ft| {
                    ft.attributes
                        .get(&f.name)
                        .and_then(dbf_text)
                        .is_none_or(|t| t.len() <= width)
                })
            };
            let wide = if (f.field_type == FieldType::Oid || !fs.features.is_empty()) && fits(18) {
                18
            } else {
                20
            };
            let numeric = match f.field_type {
                FieldType::SmallInteger => Some((6, 0)),
                FieldType::Integer => Some((11, 0)),
                FieldType::Oid | FieldType::BigInteger => Some((wide, 0)),
                FieldType::Single | FieldType::Double => Some((24, 15)),
                _ => None,
            };
            if let Some((width, decimals)) = numeric {
                self.numeric[k] = Some((at, width, decimals));
                at += width as u64;
                b = b.add_numeric_field(name, width as u8, decimals as u8);
                continue;
            }
            b = match f.field_type {
                FieldType::Date | FieldType::DateOnly => {
                    at += 8;
                    b.add_date_field(name)
                }
                _ => {
                    // The longest value (in bytes) when the features are at hand, else
                    // room for the schema's length in characters (up to 4 bytes each in
                    // UTF-8), else the DBF maximum.
                    let longest = fs
                        .features
                        .iter()
                        .filter_map(|ft| ft.attributes.get(&f.name))
                        .map(|v| dbf_text(v).map_or(0, |t| t.len()))
                        .max();
                    let len = match (longest, f.length) {
                        (Some(l), Some(s)) => l.max(s as usize),
                        (Some(l), None) => l,
                        (None, Some(s)) => (s as usize).saturating_mul(4),
                        (None, None) => 254,
                    };
                    let len = len.clamp(1, 254);
                    self.lens[k] = len;
                    at += len as u64;
                    b.add_character_field(name, len as u8)
                }
            };
        }
        let dbf_file = crate::atomic::create_file(dbf).map_err(io("creating", dbf))?;
        // The dBase III layout the `dbase` crate writes: a 32-byte header, 32 bytes per
        // field, a terminator byte, then the records.
        self.dbf_records = (32 + 32 * self.fields.len() as u64 + 1, at);
        self.table = Some(b.build_with_dest(DbfOut {
            inner: BufWriter::new(dbf_file),
            pos: 0,
            fix: self.fixes.clone(),
        }));
        std::fs::write(cpg, "UTF-8").map_err(io("writing", cpg))?;
        if let Some(w) = fs.spatial_reference.as_ref().and_then(srs::wkt_for) {
            std::fs::write(prj, w).map_err(io("writing", prj))?;
        }
        self.shp = Some(shp_file);
        self.shp_out = Some(shp_out);
        self.shx_out = Some(shx_out);
        Ok(())
    }

    fn feature(&mut self, f: &Feature) -> Result<()> {
        let err = fmt_err(&self.shp_path, "Shapefile");
        let i = self.count;
        let (gt, st, z, m) = (self.gt.clone(), self.st, self.z, self.m);
        let mut rec = Vec::new();
        match &f.geometry {
            None => le_i32(&mut rec, 0),
            Some(g) if g.is_empty() => le_i32(&mut rec, 0),
            Some(g) => {
                if g.geometry_type() != gt
                    && !(gt == GeometryType::Polygon && g.geometry_type() == GeometryType::Envelope)
                {
                    return Err(err(format!(
                        "feature {i} is a {} in a {gt} layer",
                        g.geometry_type()
                    )));
                }
                g.for_each_coord_pub(&mut |c| self.bbox.extend_bbox(c));
                match g {
                    Geometry::Point(p) => {
                        let c = p.coord.unwrap_or_default();
                        le_i32(&mut rec, st);
                        le_f64(&mut rec, c.x);
                        le_f64(&mut rec, c.y);
                        if z {
                            le_f64(&mut rec, c.z.unwrap_or(0.0));
                        }
                        if z || m {
                            le_f64(&mut rec, c.m.unwrap_or(-1e39));
                        }
                    }
                    Geometry::Multipoint(mp) => {
                        parts_content(&mut rec, st, &[&mp.points], true, z, z || m)
                    }
                    Geometry::Polyline(pl) => {
                        let paths = pl.linear_paths(DEFAULT_DENSIFY_ANGLE);
                        let parts: Vec<&[Coord]> = paths.iter().map(Vec::as_slice).collect();
                        parts_content(&mut rec, st, &parts, false, z, z || m);
                    }
                    Geometry::Polygon(pg) => {
                        let rings = pg.linear_rings(DEFAULT_DENSIFY_ANGLE);
                        let parts: Vec<&[Coord]> = group_rings(&rings)
                            .into_iter()
                            .flatten()
                            .map(Vec::as_slice)
                            .collect();
                        parts_content(&mut rec, st, &parts, false, z, z || m);
                    }
                    Geometry::Envelope(e) => {
                        let [x0, y0, x1, y1] = e.bounds().unwrap_or_default();
                        let ring = [
                            Coord::xy(x0, y0),
                            Coord::xy(x0, y1),
                            Coord::xy(x1, y1),
                            Coord::xy(x1, y0),
                            Coord::xy(x0, y0),
                        ];
                        parts_content(&mut rec, st, &[&ring], false, z, z || m);
                    }
                    _ => return Err(err(format!("feature {i}: unsupported geometry"))),
                }
            }
        }
        // Offsets and lengths are counted in 16-bit words in a signed 32-bit integer.
        if (self.len + 8 + rec.len()) / 2 > i32::MAX as usize {
            return Err(err(format!(
                "feature {i} would take the .shp file past its 2 GiB limit; use GeoPackage or FlatGeobuf"
            )));
        }
        let (Some(shp), Some(shx), Some(table)) = (
            self.shp_out.as_mut(),
            self.shx_out.as_mut(),
            self.table.as_mut(),
        ) else {
            return Err(err("features before the schema".into()));
        };
        let w = |e: std::io::Error| io("writing", &self.shp_path)(e);
        shx.write_all(&((self.len / 2) as u32).to_be_bytes())
            .map_err(w)?;
        shx.write_all(&((rec.len() / 2) as u32).to_be_bytes())
            .map_err(w)?;
        shp.write_all(&((i + 1) as i32).to_be_bytes()).map_err(w)?;
        shp.write_all(&((rec.len() / 2) as i32).to_be_bytes())
            .map_err(w)?;
        shp.write_all(&rec).map_err(w)?;
        self.len += 8 + rec.len();
        let mut row = dbase::Record::default();
        for (k, (fd, n)) in self.fields.iter().zip(&self.names).enumerate() {
            let v = f.attributes.get(&fd.name).unwrap_or(&AttrValue::Null);
            if self.lens[k] > 0 && dbf_text(v).is_some_and(|t| t.len() > self.lens[k]) {
                return Err(err(format!(
                    "feature {i}, field {}: the value is longer than the {} bytes of the DBF field",
                    fd.name, self.lens[k]
                )));
            }
            let fv = attr_to_dbf(v, &fd.field_type)
                .map_err(|e| err(format!("feature {i}, field {}: {e}", fd.name)))?;
            if let Some((at, width, decimals)) = self.numeric[k] {
                let cell = exact_cell(v, width, decimals)
                    .map_err(|e| err(format!("feature {i}, field {}: {e}", fd.name)))?;
                if let Some(cell) = cell {
                    let (first, size) = self.dbf_records;
                    self.fixes
                        .push(first + i as u64 * size + at, cell)
                        .map_err(|e| err(format!("feature {i}: {e}")))?;
                }
            }
            row.insert(n.clone(), fv);
        }
        table
            .write_record(&row)
            .map_err(|e| err(format!("feature {i}: {e}")))?;
        self.count += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        use std::io::{Seek, SeekFrom};
        let err = fmt_err(&self.shp_path, "Shapefile");
        let (Some(mut shp), Some(mut shx), Some(mut table), Some(mut file)) = (
            self.shp_out.take(),
            self.shx_out.take(),
            self.table.take(),
            self.shp.take(),
        ) else {
            return Err(err("no schema was given".into()));
        };
        table.finalize().map_err(|e| err(e.to_string()))?;
        drop(table);
        let w = |e: std::io::Error| io("writing", &self.shp_path)(e);
        shp.flush().map_err(w)?;
        drop(shp);
        let mut head = Vec::with_capacity(100);
        header(&mut head, self.len, self.st, &self.bbox.bbox);
        file.seek(SeekFrom::Start(0)).map_err(w)?;
        file.write_all(&head).map_err(w)?;
        shx.flush().map_err(w)?;
        let mut shx_file = shx.into_inner().map_err(|e| w(e.into_error()))?;
        head.clear();
        header(&mut head, 100 + self.count * 8, self.st, &self.bbox.bbox);
        shx_file.seek(SeekFrom::Start(0)).map_err(w)?;
        shx_file.write_all(&head).map_err(w)
    }
}

/// The text a value takes in a DBF character field.
fn dbf_text(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::Null => None,
        AttrValue::String(s) => Some(s.clone()),
        AttrValue::Int(i) => Some(i.to_string()),
        AttrValue::UInt(u) => Some(u.to_string()),
        AttrValue::Float(f) => Some(f.to_string()),
        AttrValue::Bool(b) => Some(b.to_string()),
        AttrValue::Json(j) => Some(j.to_string()),
        _ => None,
    }
}

fn attr_to_dbf(v: &AttrValue, t: &FieldType) -> Result<FieldValue, String> {
    Ok(match t {
        FieldType::Date | FieldType::DateOnly => FieldValue::Date(match v {
            AttrValue::Int(ms) => {
                let d = chrono::DateTime::from_timestamp_millis(*ms).ok_or("date out of range")?;
                use chrono::Datelike;
                Some(
                    dbase::Date::new(d.day(), d.month(), d.year() as u32)
                        .map_err(|e| format!("{e:?}"))?,
                )
            }
            _ => None,
        }),
        FieldType::SmallInteger
        | FieldType::Integer
        | FieldType::Oid
        | FieldType::BigInteger
        | FieldType::Single
        | FieldType::Double => FieldValue::Numeric(v.as_f64()),
        _ => FieldValue::Character(dbf_text(v)),
    })
}

#[cfg(test)]
mod tests {
    use super::exact_cell;
    use gp_model::AttrValue;

    fn cell(v: AttrValue, width: usize, decimals: usize) -> Option<String> {
        exact_cell(&v, width, decimals)
            .unwrap()
            .map(|c| String::from_utf8(c).unwrap())
    }

    #[test]
    fn cells_the_dbase_crate_would_get_wrong_are_written_exactly() {
        // What f64 holds exactly is left to dbase.
        assert_eq!(cell(AttrValue::Int(9_007_199_254_740_992), 20, 0), None);
        assert_eq!(cell(AttrValue::Int(-42), 6, 0), None);
        assert_eq!(cell(AttrValue::Float(1.5), 24, 15), None);
        // Integers beyond 2^53, right-aligned.
        assert_eq!(
            cell(AttrValue::Int(9_007_199_254_740_993), 20, 0).as_deref(),
            Some("    9007199254740993")
        );
        assert_eq!(
            cell(AttrValue::Int(i64::MAX), 20, 0).as_deref(),
            Some(" 9223372036854775807")
        );
        // -2^63 is an f64.
        assert_eq!(cell(AttrValue::Int(i64::MIN), 20, 0), None);
        assert_eq!(
            cell(AttrValue::UInt(u64::MAX), 20, 0).as_deref(),
            Some("18446744073709551615")
        );
        // Reals too long for 15 decimals: fewer decimals, else the exponent form.
        assert_eq!(
            cell(AttrValue::Float(123_456_789_012.5), 24, 15).as_deref(),
            Some("123456789012.50000000000")
        );
        assert_eq!(
            cell(AttrValue::Float(-1e30), 24, 15).as_deref(),
            Some(format!("{:>24}", "-1e30").as_str())
        );
        // What no cell of the width holds is an error naming the value.
        let e = exact_cell(&AttrValue::Int(123_456_789_012), 11, 0).unwrap_err();
        assert!(
            e.contains("123456789012") && e.contains("11 characters"),
            "{e}"
        );
        assert!(exact_cell(&AttrValue::Float(1e30), 20, 0).is_err());
    }
}

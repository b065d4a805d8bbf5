//! Reading ESRI Shapefiles: the `shapefile` crate for shapes (after
//! [`crate::shp_check`]) and `dbase` for the table (code page from `.cpg`). `dbase`
//! takes every number through `f64`: integer cells where that loses digits (beyond
//! 2^53) are read exactly here. Writing is in [`crate::shp_write`].

use std::path::{Path, PathBuf};

use dbase::FieldValue;
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

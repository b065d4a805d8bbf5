//! Writing ESRI Shapefiles ([`ShpSink`]): `.shp`/`.shx` written here (null shapes, Z
//! and M included), the table with `dbase` (its numbers corrected where `f64` would lose
//! digits, see [`exact_cell`]), plus `.prj` and `.cpg`. Reading is in [`crate::shp`].

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use dbase::{FieldName, TableWriterBuilder};
use gp_model::esrijson::group_rings;
use gp_model::geometry::DEFAULT_DENSIFY_ANGLE;
use gp_model::{AttrValue, Coord, Feature, FeatureSet, Field, FieldType, Geometry, GeometryType};

use crate::dbf_write::{DbfOut, Fixes, attr_to_dbf, dbf_fields, dbf_names, dbf_text, exact_cell};
use crate::error::{Result, fmt_err, io};
use crate::srs;

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
            gp_fs::create_file(&self.shp_path).map_err(io("creating", &self.shp_path))?;
        let mut shp_out = BufWriter::with_capacity(
            1 << 20,
            shp_file
                .try_clone()
                .map_err(io("opening", &self.shp_path))?,
        );
        let mut shx_out = BufWriter::with_capacity(
            1 << 20,
            gp_fs::create_file(shx).map_err(io("creating", shx))?,
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
        let dbf_file = gp_fs::create_file(dbf).map_err(io("creating", dbf))?;
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

impl crate::sink::FeatureWriter for ShpSink {
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
}

//! A layer written through the batch protocol: rows are encoded (values and
//! geometry blob) on the parse threads, and only appended here, in order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gp_model::{AttrValue, FeatureSet, Field, FieldType, GeometryType};

use super::bytes::put_varuint;
use super::gdb;
use super::geom::{self, Grid};
use super::layer::LayerTarget;
use super::rows::{put_row, put_value};
use super::table::{FieldDef, GeomDef, TableDef, ft, gt};
use super::write::TableWriter;
use crate::error::{Error, Result};
use crate::flat::{FlatBatch, Kind};
use crate::sink::{BatchWriter, Encoded, Encoder, FeatureSink, not_started};

/// The table type and width of a model field; `None` for the geometry field (the
/// layer's own SHAPE stands for it).
fn gdb_type(f: &Field) -> Result<Option<(u8, u32)>> {
    Ok(Some(match f.field_type {
        FieldType::Oid => (ft::OID, 4),
        FieldType::SmallInteger => (ft::I16, 2),
        FieldType::Integer => (ft::I32, 4),
        // The 64-bit integer type (13) came with ArcGIS Pro 3.2, and GDAL reads it
        // from 3.8 on: written as a double (as GDAL writes Int64 by default), exact
        // up to 2^53, and a larger value is refused rather than rounded.
        FieldType::BigInteger => (ft::F64, 8),
        FieldType::Single => (ft::F32, 4),
        FieldType::Double => (ft::F64, 8),
        FieldType::Date => (ft::DATE, 8),
        FieldType::Guid => (ft::GUID, 38),
        FieldType::GlobalId => (ft::GLOBALID, 38),
        FieldType::Blob => (ft::BIN, 0),
        FieldType::Xml => (ft::XML, 0),
        FieldType::Geometry => return Ok(None),
        FieldType::Raster => {
            return Err(Error::Schema {
                message: format!(
                    "field {}: raster fields cannot be written to a File Geodatabase",
                    f.name
                ),
            });
        }
        // Text, and the ArcGIS Pro 3.2 date-only, time-only and offset timestamp
        // types, which GDAL before 3.8 cannot read: kept as their text.
        _ => (ft::STR, f.length.filter(|l| *l > 0).unwrap_or(65_536)),
    }))
}

/// The table's fields for a feature set: the object id (the set's own, or
/// `OBJECTID`), SHAPE, then the attributes under names ArcGIS accepts. Returns the
/// definition and, per definition field, the name of the feature set's field.
fn table_def(fs: &FeatureSet) -> Result<(TableDef, Vec<Option<String>>)> {
    let fields = fs.fields.as_deref().unwrap_or_default();
    let oid = fields.iter().find(|f| f.field_type == FieldType::Oid);
    let oid_name = oid.map_or_else(|| "OBJECTID".to_string(), |f| gdb::field_name(&f.name));
    let mut def = TableDef {
        flags: 0x100,
        fields: vec![FieldDef::new(&oid_name, ft::OID, 4, false)],
    };
    let mut sources = vec![oid.map(|f| f.name.clone())];
    if let Some(t) = &fs.geometry_type {
        let kind = match t {
            GeometryType::Point => gt::POINT,
            GeometryType::Multipoint => gt::MULTIPOINT,
            GeometryType::Polyline => gt::POLYLINE,
            _ => gt::POLYGON,
        };
        def.flags = 0x300 | kind;
        if fs.has_z {
            def.flags |= gt::HAS_Z;
        }
        if fs.has_m {
            def.flags |= gt::HAS_M;
        }
        let sr = fs.spatial_reference.as_ref();
        let wkt = sr.and_then(crate::srs::wkt_for).unwrap_or_default();
        let geographic =
            wkt.trim_start().starts_with("GEOG") || sr.and_then(|s| s.epsg()) == Some(4326);
        let mut shape = FieldDef::new("SHAPE", ft::GEOM, 0, true);
        shape.flag = 7;
        shape.geom = Some(GeomDef {
            wkt,
            grid: Grid::default_for(geographic),
            tol: [Grid::default_tolerance(geographic), 0.001, 0.001],
            extent: [f64::NAN; 4],
            grids: vec![1.0],
        });
        def.fields.push(shape);
        sources.push(None);
    }
    for f in fields {
        if f.field_type == FieldType::Oid {
            continue;
        }
        let Some((t, width)) = gdb_type(f)? else {
            continue;
        };
        let base = gdb::field_name(&f.name);
        let mut name = base.clone();
        let mut k = 1;
        while def
            .fields
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(&name))
        {
            let suffix = format!("_{k}");
            name = format!(
                "{}{suffix}",
                base.chars().take(64 - suffix.len()).collect::<String>()
            );
            k += 1;
        }
        let mut d = FieldDef::new(&name, t, width, true);
        d.exact = f.field_type == FieldType::BigInteger;
        if let Some(a) = f.alias.as_ref().filter(|a| *a != &f.name) {
            d.alias = a.clone();
        }
        def.fields.push(d);
        sources.push(Some(f.name.clone()));
    }
    Ok((def, sources))
}

/// The fields renamed to fit the format: (from, to).
pub(crate) fn renames(fs: &FeatureSet) -> Vec<(String, String)> {
    let Ok((def, sources)) = table_def(fs) else {
        return Vec::new();
    };
    def.fields
        .iter()
        .zip(sources)
        .filter_map(|(d, s)| s.filter(|s| *s != d.name).map(|s| (s, d.name.clone())))
        .collect()
}

struct GdbEncoder {
    def: TableDef,
    /// Per definition field: the flat schema slot of its value.
    slots: Vec<Option<usize>>,
    kind: Option<Kind>,
    grid: Grid,
}

impl Encoder for GdbEncoder {
    fn encode(&self, batch: &FlatBatch, out: &mut Encoded) -> Result<()> {
        let (z, m) = (self.def.has_z(), self.def.has_m());
        let mut scratch = AttrValue::Null;
        let mut blob = Vec::new();
        for k in 0..batch.len() {
            let f = batch.get(k);
            let mut bbox = None;
            put_row(&mut out.bytes, &self.def, |i, d, buf| {
                if d.ftype == ft::GEOM {
                    let Some(g) = f.geometry.as_ref() else {
                        return Ok(false);
                    };
                    let g = match (self.kind, g.kind) {
                        (Some(want), got) if want == got => *g,
                        (Some(Kind::Multipoint), Kind::Point) => g.as_kind(Kind::Multipoint),
                        (want, got) => {
                            return Err(format!(
                                "a {} in a {} layer",
                                got.name(),
                                want.map_or("table", Kind::name)
                            ));
                        }
                    };
                    blob.clear();
                    bbox = geom::encode(&mut blob, &g, &self.grid, z, m)?;
                    if bbox.is_none() {
                        return Ok(false);
                    }
                    put_varuint(buf, blob.len() as u64);
                    buf.extend_from_slice(&blob);
                    return Ok(true);
                }
                match self.slots[i].and_then(|s| f.attr(s, &mut scratch)) {
                    Some(v) => put_value(buf, d, v),
                    None => Ok(false),
                }
            })
            .map_err(|message| Error::Schema {
                message: format!("feature {}: {message}", batch.first + k),
            })?;
            out.close(bbox.unwrap_or([
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ]));
        }
        Ok(())
    }
}

/// A layer of a File Geodatabase, written through the batch protocol.
pub(crate) struct GdbSink {
    gdb: PathBuf,
    target: Option<LayerTarget>,
    writer: Option<TableWriter>,
    encoder: Option<Arc<GdbEncoder>>,
    wkid: Option<i32>,
    sync: bool,
}

impl GdbSink {
    /// A sink for layer `layer` of the geodatabase `gdb` (created when missing).
    pub(crate) fn create(gdb: &Path, layer: &str, overwrite: bool, sync: bool) -> Result<Self> {
        let target = LayerTarget::prepare(gdb, layer, overwrite, sync)?;
        Ok(GdbSink {
            gdb: gdb.to_path_buf(),
            target: Some(target),
            writer: None,
            encoder: None,
            wkid: None,
            sync,
        })
    }
}

impl FeatureSink for GdbSink {
    fn start(&mut self, fs: &FeatureSet) -> Result<()> {
        let target = self.target.as_ref().ok_or_else(not_started)?;
        let (def, sources) = table_def(fs)?;
        let schema = crate::flat::FlatSchema::new(fs);
        let slots = sources
            .iter()
            .map(|s| s.as_deref().and_then(|n| schema.slot(n)))
            .collect();
        let kind = match def.geometry_type() {
            gt::POINT => Some(Kind::Point),
            gt::MULTIPOINT => Some(Kind::Multipoint),
            gt::POLYLINE => Some(Kind::Polyline),
            gt::POLYGON => Some(Kind::Polygon),
            _ => None,
        };
        let grid = def.geom().map_or(Grid::default_for(false), |g| g.grid);
        self.wkid = fs
            .spatial_reference
            .as_ref()
            .and_then(|s| s.wkid.or(s.latest_wkid));
        let (t, x) = target.paths();
        self.writer = Some(TableWriter::create(t, x, def.clone())?);
        self.encoder = Some(Arc::new(GdbEncoder {
            def,
            slots,
            kind,
            grid,
        }));
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        let (Some(w), Some(target)) = (self.writer.take(), self.target.take()) else {
            return Err(not_started());
        };
        let def = w.finish(self.sync)?;
        target.commit(&def, self.wkid).map_err(|e| e.at(&self.gdb))
    }
}

impl BatchWriter for GdbSink {
    fn encoder(&self) -> Option<Arc<dyn Encoder>> {
        self.encoder.clone().map(|e| e as Arc<dyn Encoder>)
    }

    fn reads_batches(&self) -> bool {
        false
    }

    fn encoded(&mut self, _batch: &FlatBatch, enc: Encoded) -> Result<()> {
        let w = self.writer.as_mut().ok_or_else(not_started)?;
        for i in 0..enc.ends.len() {
            let b = enc.boxes[i];
            w.push(enc.item(i), (b[0] <= b[2]).then_some(b))?;
        }
        Ok(())
    }
}

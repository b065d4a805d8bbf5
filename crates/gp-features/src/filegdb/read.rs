//! Reading a table: its header and field descriptions, then the rows its index
//! points to, each read with its length checked against the file first.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use gp_model::{Feature, FeatureSet, Field, FieldType, GeometryType};

use super::rows::{self, Row};
use super::table::{self, FieldDef, HEADER_LEN, Offsets, TableDef, ft, gt};
use crate::error::{Error, Result, io};

fn bad(path: &Path, message: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        format: "File Geodatabase",
        message,
    }
}

/// An open table.
pub(crate) struct Table {
    pub(crate) path: PathBuf,
    pub(crate) def: TableDef,
    file: BufReader<File>,
    len: u64,
    pos: u64,
    offsets: Offsets,
}

impl Table {
    /// Opens `aXXXXXXXX.gdbtable` and its `.gdbtablx`.
    pub(crate) fn open(path: &Path) -> Result<Table> {
        let f = File::open(path).map_err(io("opening", path))?;
        let len = f.metadata().map_err(io("reading", path))?.len();
        let mut file = BufReader::with_capacity(1 << 16, f);
        let mut head = [0u8; HEADER_LEN];
        file.read_exact(&mut head)
            .map_err(|_| bad(path, format!("{len} bytes: too short for a table header")))?;
        let h = table::parse_header(&head, len).map_err(|m| bad(path, m))?;
        file.seek(SeekFrom::Start(h.fields_at))
            .map_err(io("reading", path))?;
        let mut size = [0u8; 4];
        file.read_exact(&mut size)
            .map_err(|_| bad(path, "the field descriptions are cut short".into()))?;
        let n = u64::from(u32::from_le_bytes(size));
        if n > len.saturating_sub(h.fields_at + 4) {
            return Err(bad(
                path,
                format!("field descriptions of {n} bytes in a file of {len} bytes"),
            ));
        }
        let mut desc = size.to_vec();
        desc.resize(4 + n as usize, 0);
        file.read_exact(&mut desc[4..])
            .map_err(io("reading", path))?;
        let (def, used) = table::parse_fields(&desc, h.fields_at).map_err(|m| bad(path, m))?;
        let xp = path.with_extension("gdbtablx");
        let xb = std::fs::read(&xp).map_err(io("reading", &xp))?;
        let offsets = Offsets::parse(&xb).map_err(|m| bad(&xp, m))?;
        Ok(Table {
            path: path.to_path_buf(),
            def,
            file,
            len,
            pos: h.fields_at + used as u64,
            offsets,
        })
    }

    /// Calls `each` with every row that is not deleted, in object id order.
    pub(crate) fn rows(&mut self, mut each: impl FnMut(u64, Row) -> Result<()>) -> Result<()> {
        let mut buf = Vec::new();
        let mut i = 0;
        while i < self.offsets.rows {
            if i % 1024 == 0 && !self.offsets.has_block(i / 1024) {
                // A block of deleted rows left out of a sparse index.
                i += 1024;
                continue;
            }
            i += 1;
            let i = i - 1;
            let at = self.offsets.get(i);
            if at == 0 {
                continue;
            }
            if at.checked_add(4).is_none_or(|e| e > self.len) {
                return Err(bad(
                    &self.path,
                    format!("row {} at byte {at}, beyond the file", i + 1),
                ));
            }
            if at != self.pos {
                self.file
                    .seek(SeekFrom::Start(at))
                    .map_err(io("reading", &self.path))?;
            }
            let mut l = [0u8; 4];
            self.file
                .read_exact(&mut l)
                .map_err(io("reading", &self.path))?;
            let n = i32::from_le_bytes(l);
            if n < 0 {
                // A deleted row's space.
                self.pos = at + 4;
                continue;
            }
            let n = n as u64;
            if n > self.len - at - 4 {
                return Err(bad(
                    &self.path,
                    format!("row {} at byte {at}: {n} bytes, beyond the file", i + 1),
                ));
            }
            buf.resize(n as usize, 0);
            self.file
                .read_exact(&mut buf)
                .map_err(io("reading", &self.path))?;
            self.pos = at + 4 + n;
            let row = rows::decode(&self.def, &buf, at + 4, i + 1)
                .map_err(|m| bad(&self.path, format!("row {}: {m}", i + 1)))?;
            each(i + 1, row)?;
        }
        Ok(())
    }
}

/// The model's type for a field.
fn field_type(f: &FieldDef) -> Option<FieldType> {
    rows::model_type(f.ftype)
}

/// The feature set schema (no features) of a table; `wkid` from the layer's
/// definition when known.
pub(crate) fn schema(path: &Path, def: &TableDef, wkid: Option<i32>) -> Result<FeatureSet> {
    let geometry_type = match def.geometry_type() {
        gt::NONE => None,
        gt::POINT => Some(GeometryType::Point),
        gt::MULTIPOINT => Some(GeometryType::Multipoint),
        gt::POLYLINE => Some(GeometryType::Polyline),
        gt::POLYGON => Some(GeometryType::Polygon),
        gt::MULTIPATCH => return Err(bad(path, "multipatch layers are not supported".into())),
        other => return Err(bad(path, format!("unknown geometry type {other}"))),
    };
    let mut fs = FeatureSet {
        geometry_type,
        has_z: def.geometry_type() != gt::NONE && def.has_z(),
        has_m: def.geometry_type() != gt::NONE && def.has_m(),
        ..FeatureSet::default()
    };
    let mut fields = Vec::new();
    for f in &def.fields {
        let Some(t) = field_type(f) else { continue };
        let mut field = Field::new(&f.name, t.clone());
        if !f.alias.is_empty() && f.alias != f.name {
            field.alias = Some(f.alias.clone());
        }
        if t == FieldType::String && f.width > 0 {
            field.length = Some(f.width);
        }
        field.nullable = Some(f.nullable());
        match t {
            FieldType::Oid => fs.object_id_field_name = Some(f.name.clone()),
            FieldType::GlobalId => fs.global_id_field_name = Some(f.name.clone()),
            _ => {}
        }
        fields.push(field);
    }
    fs.fields = Some(fields);
    if let Some(g) = def.geom() {
        fs.spatial_reference = match wkid {
            Some(w) => Some(gp_model::SpatialReference::from_wkid(w)),
            None if !g.wkt.is_empty() => Some(crate::srs::sr_from_wkt(&g.wkt)),
            None => None,
        };
    }
    Ok(fs)
}

/// A row as a feature of `fs`'s schema.
pub(crate) fn feature(def: &TableDef, row: Row) -> Feature {
    let mut attributes = gp_model::Attributes::with_capacity(def.fields.len());
    for (f, v) in def.fields.iter().zip(row.values) {
        if f.ftype != ft::GEOM && field_type(f).is_some() {
            attributes.insert(f.name.clone(), v);
        }
    }
    Feature {
        attributes,
        geometry: row.geometry,
    }
}

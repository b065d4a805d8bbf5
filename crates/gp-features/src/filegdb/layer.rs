//! Where a new layer goes: its table number and temporary files, then the system
//! tables' rows that make it visible (catalog, `GDB_Items` definition, spatial
//! reference, folder relationship), renamed into place with the catalog last. A new
//! geodatabase is built whole in a temporary folder renamed into place at the end.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gp_fs::{AtomicPath, Flush, Options};
use gp_model::AttrValue;

use super::gdb::{self, table_file};
use super::rows::{guid_text, put_row, put_value};
use super::system;
use super::table::{TableDef, ft, gt};
use super::write::{TableWriter, with_rows};
use crate::error::{Error, Result, io};

fn bad(path: &Path, message: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        format: "File Geodatabase",
        message,
    }
}

/// A random (version 4) UUID, `{...}`.
pub(crate) fn new_uuid() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No system randomness: the clock's nanoseconds and the process id still give
        // distinct ids for the items of one geodatabase.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b.copy_from_slice(&(t ^ (u128::from(std::process::id()) << 64)).to_le_bytes());
    }
    b[7] = (b[7] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    guid_text(&b)
}

/// A row of `def` from values in field order.
fn record_at(def: &TableDef, values: &[AttrValue], path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    put_row(&mut out, def, |i, f, out| match values.get(i) {
        Some(v) => put_value(out, f, v),
        None => Ok(false),
    })
    .map_err(|m| bad(path, m))?;
    Ok(out)
}

/// A row of `def` from values by field name (others null).
fn record(def: &TableDef, values: &HashMap<&str, AttrValue>, path: &Path) -> Result<Vec<u8>> {
    record_at(def, &in_order(def, values), path)
}

fn text(s: &str) -> AttrValue {
    AttrValue::String(s.to_string())
}

/// Writes system table `n` of a new geodatabase in `dir`, rows in field order.
fn create_system_table(dir: &Path, n: usize, rows: &[Vec<AttrValue>]) -> Result<()> {
    let def = system::def(n);
    let path = table_file(dir, n as u64, "gdbtable");
    let mut w = TableWriter::create(&path, &table_file(dir, n as u64, "gdbtablx"), def.clone())?;
    for r in rows {
        w.push(&record_at(&def, r, &path)?, None)?;
    }
    w.finish(false)?;
    Ok(())
}

/// Values by field name in the field order of `def` (others null).
fn in_order(def: &TableDef, values: &HashMap<&str, AttrValue>) -> Vec<AttrValue> {
    def.fields
        .iter()
        .map(|f| {
            values
                .get(f.name.as_str())
                .cloned()
                .unwrap_or(AttrValue::Null)
        })
        .collect()
}

/// The system tables of a new, empty geodatabase in `dir`.
fn create_gdb(dir: &Path) -> Result<()> {
    let cat = system::def(1);
    let catalog: Vec<Vec<AttrValue>> = system::CATALOG
        .iter()
        .map(|(name, format)| {
            in_order(
                &cat,
                &HashMap::from([
                    ("Name", text(name)),
                    ("FileFormat", AttrValue::Int(*format)),
                ]),
            )
        })
        .collect();
    create_system_table(dir, 1, &catalog)?;
    for n in [2, 5, 7] {
        create_system_table(dir, n, &system::fixed_rows(n))?;
    }
    create_system_table(dir, 3, &[])?;
    create_system_table(dir, 6, &[])?;
    let root = HashMap::from([
        ("UUID", text(&new_uuid())),
        ("Type", text(system::FOLDER)),
        ("Name", text("")),
        ("PhysicalName", text("")),
        ("Path", text("\\")),
        ("URL", text("")),
        ("Properties", AttrValue::Int(1)),
    ]);
    let workspace = HashMap::from([
        ("UUID", text(&new_uuid())),
        ("Type", text(system::WORKSPACE)),
        ("Name", text("Workspace")),
        ("PhysicalName", text("WORKSPACE")),
        ("Path", text("")),
        ("URL", text("")),
        ("Definition", text(&system::workspace_xml())),
        ("Properties", AttrValue::Int(0)),
    ]);
    let items = system::def(4);
    create_system_table(
        dir,
        4,
        &[in_order(&items, &root), in_order(&items, &workspace)],
    )?;
    let gdb = dir.join("gdb");
    std::fs::write(&gdb, [5, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]).map_err(io("writing", &gdb))?;
    let ts = dir.join("timestamps");
    std::fs::write(&ts, [0xffu8; 400]).map_err(io("writing", &ts))?;
    Ok(())
}

/// A layer being written into a geodatabase.
pub(crate) struct LayerTarget {
    gdb: PathBuf,
    name: String,
    /// The temporary folder of a new geodatabase.
    fresh: Option<tempfile::TempDir>,
    number: u64,
    replaces: bool,
    table: AtomicPath,
    tablx: AtomicPath,
    sync: bool,
    /// An exclusive lock on an existing geodatabase's folder, held until the layer
    /// is committed or dropped, so two gp writers do not pick the same table.
    _lock: Option<std::fs::File>,
}

/// Locks the folder (an advisory lock, where the platform opens folders as files).
fn lock_folder(gdb: &Path) -> Result<Option<std::fs::File>> {
    let Ok(f) = std::fs::File::open(gdb) else {
        return Ok(None);
    };
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => Err(bad(
            gdb,
            "another gp process is writing a layer into it; try again when it is done".into(),
        )),
        Err(std::fs::TryLockError::Error(_)) => Ok(None),
    }
}

impl LayerTarget {
    /// Chooses the table for layer `name` of `gdb` (created when missing); refuses
    /// an existing layer unless `overwrite`, and a geodatabase whose system tables
    /// have attribute indexes gp cannot update.
    pub(crate) fn prepare(gdb: &Path, name: &str, overwrite: bool, sync: bool) -> Result<Self> {
        if let Some(why) = gdb::layer_name_problem(name) {
            return Err(Error::Schema { message: why });
        }
        let flush = if sync { Flush::Durable } else { Flush::Never };
        let mut lock = None;
        let (fresh, number, replaces) = if gdb.exists() {
            if !gdb.is_dir() {
                return Err(bad(gdb, "not a folder".into()));
            }
            lock = lock_folder(gdb)?;
            let entries = gdb::catalog(gdb)?;
            let existing = entries.iter().find(|e| e.name.eq_ignore_ascii_case(name));
            if let Some(e) = existing {
                if gdb::layers(gdb)?.iter().all(|l| l != &e.name) {
                    return Err(bad(gdb, format!("{name:?} names a system table")));
                }
                if !overwrite {
                    return Err(Error::Exists {
                        path: gdb.join(&e.name),
                    });
                }
            }
            refuse_indexed(gdb)?;
            let number = existing.map_or_else(
                || entries.iter().map(|e| e.number).max().unwrap_or(8).max(8) + 1,
                |e| e.number,
            );
            (None, number, existing.is_some())
        } else {
            let parent = gdb
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            std::fs::create_dir_all(parent).map_err(io("creating", parent))?;
            let stem = gdb
                .file_name()
                .map_or_else(|| "new.gdb".into(), |s| s.to_string_lossy().into_owned());
            let dir = tempfile::Builder::new()
                .prefix(&format!(".{stem}."))
                .tempdir_in(parent)
                .map_err(io("creating a temporary folder in", parent))?;
            create_gdb(dir.path())?;
            (Some(dir), 9, false)
        };
        let work = fresh.as_ref().map_or(gdb, |d| d.path()).to_path_buf();
        let opts = Options::new(true, flush);
        let table = AtomicPath::new(&table_file(&work, number, "gdbtable"), opts)?;
        let tablx = AtomicPath::new(&table_file(&work, number, "gdbtablx"), opts)?;
        Ok(LayerTarget {
            gdb: gdb.to_path_buf(),
            name: name.to_string(),
            fresh,
            number,
            replaces,
            table,
            tablx,
            sync,
            _lock: lock,
        })
    }

    /// The temporary files to write the layer's table and index to.
    pub(crate) fn paths(&self) -> (&Path, &Path) {
        (self.table.path(), self.tablx.path())
    }

    fn work(&self) -> PathBuf {
        self.fresh
            .as_ref()
            .map_or(self.gdb.clone(), |d| d.path().to_path_buf())
    }

    /// Makes the written layer part of the geodatabase: its files renamed into
    /// place, then the system tables' new rows, the catalog last; a new geodatabase's
    /// folder is renamed into place at the end.
    pub(crate) fn commit(self, def: &TableDef, wkid: Option<i32>) -> Result<()> {
        let work = self.work();
        let mut staged: Vec<AtomicPath> = Vec::new();
        let flush = if self.sync {
            Flush::Durable
        } else {
            Flush::Never
        };
        let mut stage = |n: u64, records: Vec<(Option<u64>, Vec<u8>)>| -> Result<()> {
            if records.is_empty() {
                return Ok(());
            }
            let opts = Options::new(true, flush);
            let t = AtomicPath::new(&table_file(&work, n, "gdbtable"), opts)?;
            let x = AtomicPath::new(&table_file(&work, n, "gdbtablx"), opts)?;
            with_rows(
                &table_file(&work, n, "gdbtable"),
                &records,
                t.path(),
                x.path(),
                self.sync,
            )?;
            staged.push(x);
            staged.push(t);
            Ok(())
        };
        let entries = gdb::catalog(&work)?;
        let has = |n: u64, name: &str| entries.iter().any(|e| e.number == n && e.name == name);
        // GDB_Items: the layer's definition, in the root folder.
        let mut new_item: Option<(String, String)> = None;
        if has(4, "GDB_Items")
            && let Some((t, rows)) = gdb::items(&work)?
        {
            let find = |pred: &dyn Fn(&[AttrValue]) -> bool| rows.iter().find(|(_, r)| pred(r));
            let str_of = |r: &[AttrValue], k: &str| {
                gdb::item_field(&t, r, k)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let root = find(&|r| {
                str_of(r, "Type").as_deref() == Some(system::FOLDER)
                    && str_of(r, "Path").as_deref() == Some("\\")
            })
            .and_then(|(_, r)| str_of(r, "UUID"));
            let old = find(&|r| {
                str_of(r, "Name").is_some_and(|n| n.eq_ignore_ascii_case(&self.name))
                    && str_of(r, "Type").as_deref() != Some(system::FOLDER)
            });
            let uuid = old
                .and_then(|(_, r)| str_of(r, "UUID"))
                .unwrap_or_else(new_uuid);
            let feature = def.geometry_type() != gt::NONE;
            let mut v: HashMap<&str, AttrValue> = HashMap::from([
                ("UUID", text(&uuid)),
                (
                    "Type",
                    text(if feature {
                        system::FEATURE_CLASS
                    } else {
                        system::TABLE
                    }),
                ),
                ("Name", text(&self.name)),
                ("PhysicalName", text(&self.name.to_uppercase())),
                ("Path", text(&format!("\\{}", self.name))),
                ("URL", text("")),
                (
                    "Definition",
                    text(&system::layer_xml(&self.name, self.number, def, wkid)),
                ),
                ("Properties", AttrValue::Int(1)),
            ]);
            if feature {
                v.insert("DatasetSubtype1", AttrValue::Int(1));
                v.insert(
                    "DatasetSubtype2",
                    AttrValue::Int(i64::from(def.geometry_type())),
                );
                v.insert("DatasetInfo1", text("SHAPE"));
            }
            let rec = record(&t.def, &v, &t.path)?;
            stage(4, vec![(old.map(|(oid, _)| *oid), rec)])?;
            if old.is_none() {
                new_item = root.map(|r| (r, uuid));
            }
        }
        // GDB_SpatialRefs: the layer's spatial reference and grid, once.
        if has(3, "GDB_SpatialRefs")
            && let Some(g) = def.geom()
        {
            let path = table_file(&work, 3, "gdbtable");
            let mut t = super::read::Table::open(&path)?;
            let srtext = if g.wkt.is_empty() {
                "{B286C06B-0879-11D2-AACA-00C04FA33C20}"
            } else {
                g.wkt.as_str()
            };
            let text_at = t.def.fields.iter().position(|f| f.name == "SRTEXT");
            let mut known = false;
            t.rows(|_, r| {
                known |= text_at.and_then(|i| r.values[i].as_str()) == Some(srtext);
                Ok(())
            })?;
            if !known {
                let gr = &g.grid;
                let f = AttrValue::Float;
                let v = HashMap::from([
                    ("SRTEXT", text(srtext)),
                    ("FalseX", f(gr.x0)),
                    ("FalseY", f(gr.y0)),
                    ("XYUnits", f(gr.xy)),
                    ("FalseZ", f(gr.z0)),
                    ("ZUnits", f(gr.z)),
                    ("FalseM", f(gr.m0)),
                    ("MUnits", f(gr.m)),
                    ("XYTolerance", f(g.tol[0])),
                    ("ZTolerance", f(g.tol[1])),
                    ("MTolerance", f(g.tol[2])),
                ]);
                stage(3, vec![(None, record(&t.def, &v, &path)?)])?;
            }
        }
        // GDB_ItemRelationships: the root folder holds the new layer.
        if has(6, "GDB_ItemRelationships")
            && let Some((root, item)) = new_item
        {
            let path = table_file(&work, 6, "gdbtable");
            let t = super::read::Table::open(&path)?;
            let v = HashMap::from([
                ("UUID", text(&new_uuid())),
                ("OriginID", text(&root)),
                ("DestID", text(&item)),
                ("Type", text(system::DATASET_IN_FOLDER)),
                ("Properties", AttrValue::Int(1)),
            ]);
            stage(6, vec![(None, record(&t.def, &v, &path)?)])?;
        }
        if !self.replaces {
            let path = table_file(&work, 1, "gdbtable");
            let t = super::read::Table::open(&path)?;
            let v = HashMap::from([
                ("Name", text(&self.name)),
                ("FileFormat", AttrValue::Int(0)),
            ]);
            let rec = record(&t.def, &v, &path)?;
            // The catalog's next row must be the layer's number.
            if t.def.fields.iter().all(|f| f.ftype != ft::OID) {
                return Err(bad(&path, "a system catalog without object ids".into()));
            }
            stage(1, vec![(Some(self.number), rec)])?;
        }
        self.tablx.commit()?;
        self.table.commit()?;
        for s in staged {
            s.commit()?;
        }
        if self.replaces {
            remove_indexes(&work, self.number);
        }
        if let Some(dir) = self.fresh {
            let tmp = dir.keep();
            if self.gdb.exists() {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(Error::Exists { path: self.gdb });
            }
            std::fs::rename(&tmp, &self.gdb).map_err(io("renaming into place", &self.gdb))?;
        }
        Ok(())
    }
}

/// Refuses a geodatabase whose catalog or item tables have attribute indexes
/// (`.atx`, as ArcGIS writes): gp appends rows without updating them.
fn refuse_indexed(gdb: &Path) -> Result<()> {
    let dir = std::fs::read_dir(gdb).map_err(io("listing", gdb))?;
    for e in dir.flatten() {
        let n = e.file_name().to_string_lossy().to_ascii_lowercase();
        if ["a00000001.", "a00000003.", "a00000004.", "a00000006."]
            .iter()
            .any(|p| n.starts_with(p))
            && n.ends_with(".atx")
        {
            return Err(bad(
                gdb,
                format!(
                    "its system tables have attribute indexes ({n}) that gp cannot update yet; add the layer with ArcGIS or GDAL, or write a new .gdb"
                ),
            ));
        }
    }
    Ok(())
}

/// Removes the spatial and attribute indexes of a replaced table.
fn remove_indexes(dir: &Path, number: u64) {
    let prefix = format!("a{number:08x}.");
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().to_ascii_lowercase();
            if n.starts_with(&prefix)
                && (n.ends_with(".atx")
                    || n.ends_with(".spx")
                    || n.ends_with(".gdbindexes")
                    || n.ends_with(".freelist"))
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_writers_of_one_geodatabase_are_kept_apart() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let gdb = dir.path().join("base.gdb");
        let fs = gp_model::FeatureSet {
            fields: Some(vec![gp_model::Field::new(
                "n",
                gp_model::FieldType::Integer,
            )]),
            ..Default::default()
        };
        crate::save(&fs, gdb.join("first")).unwrap_or_else(|e| panic!("{e}"));
        let one =
            LayerTarget::prepare(&gdb, "second", false, false).unwrap_or_else(|e| panic!("{e}"));
        let Err(e) = LayerTarget::prepare(&gdb, "third", false, false) else {
            panic!("a second writer was let in");
        };
        assert!(e.to_string().contains("another gp process"), "{e}");
        drop(one);
        assert!(LayerTarget::prepare(&gdb, "third", false, false).is_ok());
    }
}

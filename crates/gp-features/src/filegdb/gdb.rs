//! A geodatabase folder: its catalog (`a00000001.gdbtable`: table names by number),
//! its layers, and the names ArcGIS accepts.

use std::path::{Path, PathBuf};

use gp_model::{AttrValue, FeatureSet};

use super::read::{self, Table};
use super::system;
use crate::error::{Error, Result};
use crate::sink::Consumer;

/// One catalog row: table `number` is in `aXXXXXXXX.gdbtable` (hexadecimal).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) number: u64,
    pub(crate) name: String,
    pub(crate) format: i64,
}

/// The file of table `number`, with extension `ext`.
pub(crate) fn table_file(dir: &Path, number: u64, ext: &str) -> PathBuf {
    dir.join(format!("a{number:08x}.{ext}"))
}

/// The catalog's rows.
pub(crate) fn catalog(dir: &Path) -> Result<Vec<Entry>> {
    let path = table_file(dir, 1, "gdbtable");
    if !path.exists() {
        return Err(Error::Format {
            path: dir.to_path_buf(),
            format: "File Geodatabase",
            message: "no system catalog (a00000001.gdbtable): not a File Geodatabase".into(),
        });
    }
    let mut t = Table::open(&path)?;
    let name = t
        .def
        .fields
        .iter()
        .position(|f| f.name.eq_ignore_ascii_case("Name"));
    let format = t
        .def
        .fields
        .iter()
        .position(|f| f.name.eq_ignore_ascii_case("FileFormat"));
    let mut out = Vec::new();
    t.rows(|number, row| {
        let n = name
            .and_then(|i| row.values.get(i))
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let f = format
            .and_then(|i| row.values.get(i))
            .and_then(AttrValue::as_i64)
            .unwrap_or(0);
        out.push(Entry {
            number,
            name: n.to_string(),
            format: f,
        });
        Ok(())
    })?;
    Ok(out)
}

fn is_system(name: &str) -> bool {
    name.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("GDB_"))
}

/// The user tables and feature classes, in catalog order.
pub(crate) fn layers(dir: &Path) -> Result<Vec<String>> {
    Ok(catalog(dir)?
        .into_iter()
        .filter(|e| !is_system(&e.name) && e.format == 0)
        .filter(|e| table_file(dir, e.number, "gdbtable").exists())
        .map(|e| e.name)
        .collect())
}

/// The table of `layer` (the only layer when `None`), with its name.
fn find(dir: &Path, layer: Option<&str>) -> Result<(u64, String)> {
    let entries = catalog(dir)?;
    let user: Vec<&Entry> = entries
        .iter()
        .filter(|e| !is_system(&e.name) && e.format == 0)
        .filter(|e| table_file(dir, e.number, "gdbtable").exists())
        .collect();
    let names = || user.iter().map(|e| e.name.clone()).collect();
    match layer {
        Some(l) => entries
            .iter()
            .find(|e| {
                e.name.eq_ignore_ascii_case(l) && table_file(dir, e.number, "gdbtable").exists()
            })
            .map(|e| (e.number, e.name.clone()))
            .ok_or_else(|| Error::Layer {
                path: dir.to_path_buf(),
                message: format!("no layer {l:?}"),
                layers: names(),
            }),
        None => match user.as_slice() {
            [one] => Ok((one.number, one.name.clone())),
            [] => Err(Error::Layer {
                path: dir.to_path_buf(),
                message: "the geodatabase has no layers".into(),
                layers: Vec::new(),
            }),
            _ => Err(Error::Layer {
                path: dir.to_path_buf(),
                message: "several layers; name one as file.gdb/layer".into(),
                layers: names(),
            }),
        },
    }
}

/// Rows by object id, each a value per field.
pub(crate) type Rows = Vec<(u64, Vec<AttrValue>)>;

/// The rows of `GDB_Items`, when there is one.
pub(crate) fn items(dir: &Path) -> Result<Option<(Table, Rows)>> {
    let path = table_file(dir, 4, "gdbtable");
    let is_items = catalog(dir)?
        .iter()
        .any(|e| e.number == 4 && e.name == "GDB_Items");
    if !is_items || !path.exists() {
        return Ok(None);
    }
    let mut t = Table::open(&path)?;
    let mut rows = Vec::new();
    t.rows(|oid, r| {
        rows.push((oid, r.values));
        Ok(())
    })?;
    Ok(Some((t, rows)))
}

/// A value of an item row by field name.
pub(crate) fn item_field<'a>(t: &Table, row: &'a [AttrValue], name: &str) -> Option<&'a AttrValue> {
    let i = t
        .def
        .fields
        .iter()
        .position(|f| f.name.eq_ignore_ascii_case(name))?;
    row.get(i)
}

/// The WKID in a layer's `GDB_Items` definition.
fn wkid(dir: &Path, layer: &str) -> Result<Option<i32>> {
    let Some((t, rows)) = items(dir)? else {
        return Ok(None);
    };
    Ok(rows.iter().find_map(|(_, r)| {
        let name = item_field(&t, r, "Name")?.as_str()?;
        if !name.eq_ignore_ascii_case(layer) {
            return None;
        }
        system::wkid_of(item_field(&t, r, "Definition")?.as_str()?)
    }))
}

/// Streams `layer` of the geodatabase at `dir` into `to`.
pub(crate) fn read_each(dir: &Path, layer: Option<&str>, to: &mut dyn Consumer) -> Result<()> {
    let (number, name) = find(dir, layer)?;
    let mut t = Table::open(&table_file(dir, number, "gdbtable"))?;
    let wkid = wkid(dir, &name).unwrap_or(None);
    let fs = read::schema(&t.path, &t.def, wkid)?;
    to.schema(&fs)?;
    let def = t.def.clone();
    t.rows(|_, row| to.feature(read::feature(&def, row)))
}

/// Reads `layer` whole.
pub(crate) fn read(dir: &Path, layer: Option<&str>) -> Result<FeatureSet> {
    let mut c = crate::sink::Collect::default();
    read_each(dir, layer, &mut c)?;
    Ok(c.0)
}

/// SQL words ArcGIS refuses as table or field names.
const RESERVED: &[&str] = &[
    "ADD", "ALTER", "AND", "AS", "ASC", "BETWEEN", "BY", "COLUMN", "CREATE", "DATE", "DELETE",
    "DESC", "DROP", "EXISTS", "FOR", "FROM", "GROUP", "HAVING", "IN", "INSERT", "INTO", "IS",
    "LIKE", "NOT", "NULL", "OR", "ORDER", "SELECT", "SET", "TABLE", "UPDATE", "VALUES", "WHERE",
];

/// Why ArcGIS would refuse `name` for a feature class or table, if it would.
pub(crate) fn layer_name_problem(name: &str) -> Option<String> {
    let first = name.chars().next()?;
    let why = if name.chars().count() > 160 {
        "is longer than 160 characters"
    } else if !first.is_alphabetic() {
        "must start with a letter"
    } else if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        "may hold only letters, digits and underscores"
    } else if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        "is a reserved word"
    } else if is_system(name) {
        "starts with GDB_, which is kept for system tables"
    } else {
        return None;
    };
    Some(format!(
        "layer name {name:?} {why} (File Geodatabase rules)"
    ))
}

/// A layer name ArcGIS accepts made from a file name (`points-1000.gdb` gives
/// `points_1000`), for a geodatabase given without a layer.
pub(crate) fn layer_name_from(stem: &str) -> String {
    let mut s = field_name(stem);
    if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("GDB_")) {
        s.insert_str(0, "L_");
    }
    s
}

/// A field name ArcGIS accepts for `name`: letters, digits and underscores,
/// starting with a letter, at most 64 characters, not a reserved word.
pub(crate) fn field_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !s.chars().next().is_some_and(char::is_alphabetic) {
        s.insert_str(0, "F_");
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&s)) {
        s.push('_');
    }
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_arcgis_rules() {
        assert_eq!(layer_name_problem("towers_buffer"), None);
        assert_eq!(layer_name_problem("Straßen2"), None);
        assert_eq!(layer_name_problem("日本の道"), None);
        for bad in ["2towers", "my layer", "select", "GDB_Items", "a-b"] {
            assert!(layer_name_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(field_name("my field"), "my_field");
        assert_eq!(layer_name_from("points-1000"), "points_1000");
        assert_eq!(layer_name_problem(&layer_name_from("1 gdb_x")), None);
        assert_eq!(field_name("1st"), "F_1st");
        assert_eq!(field_name("Order"), "Order_");
        assert_eq!(field_name(&"x".repeat(70)).len(), 64);
    }
}

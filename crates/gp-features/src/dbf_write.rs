//! The `.dbf` table of a written Shapefile: field names cut to 10 bytes and made
//! unique, values as the `dbase` crate takes them, and the cells it would get wrong
//! (numbers through `f64`, cropped to the field) written exactly through [`DbfOut`].

use std::collections::HashSet;
use std::io::{BufWriter, Write};

use dbase::FieldValue;
use gp_model::{AttrValue, FeatureSet, Field, FieldType};

/// The `.dbf` destination of the writer: passes the `dbase` crate's bytes through,
/// replacing the cells queued in `fix` (file offset, text of the cell's full width) as
/// they go by. `dbase` formats every number through `f64` and crops what is wider than
/// its field; the cells where that would change the value are queued by
/// [`exact_cell`] just before their record is written.
pub(crate) struct DbfOut {
    pub(crate) inner: BufWriter<std::fs::File>,
    pub(crate) pos: u64,
    pub(crate) fix: std::sync::Arc<Fixes>,
}

/// Cells to replace (see [`DbfOut`]).
#[derive(Default)]
pub(crate) struct Fixes {
    any: std::sync::atomic::AtomicBool,
    cells: std::sync::Mutex<Vec<(u64, Vec<u8>)>>,
}

impl Fixes {
    pub(crate) fn push(&self, at: u64, text: Vec<u8>) -> std::io::Result<()> {
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
pub(crate) fn exact_cell(
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

/// Writes `.shp`, `.shx`, `.dbf`, `.cpg` and `.prj` next to `shp` (all temporary
/// paths chosen by the caller). Returns the field renames.
/// The fields a DBF can hold, in order.
pub(crate) fn dbf_fields(fs: &FeatureSet) -> Vec<Field> {
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

/// The text a value takes in a DBF character field.
pub(crate) fn dbf_text(v: &AttrValue) -> Option<String> {
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

pub(crate) fn attr_to_dbf(v: &AttrValue, t: &FieldType) -> Result<FieldValue, String> {
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

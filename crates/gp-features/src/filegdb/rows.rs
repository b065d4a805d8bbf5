//! Rows: null flags, then each present value in field order (the object id is the
//! row's number and is not stored), decoded into and encoded from the model's
//! attribute values.

use base64::Engine as _;
use gp_model::{AttrValue, Field, FieldType, Geometry};

use super::bytes::{Bad, Reader, put_varuint};
use super::geom::{self, Grid};
use super::table::{FieldDef, TableDef, ft};

/// Days from 1899-12-30 (the format's epoch) to 1970-01-01.
const EPOCH_DAYS: f64 = 25_569.0;
const DAY_MS: f64 = 86_400_000.0;

/// A decoded row: a value for each field (the object id's is the row number, the
/// geometry field's is null) and the geometry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) values: Vec<AttrValue>,
    pub(crate) geometry: Option<Geometry>,
}

/// GUID bytes (the first three groups little-endian, as Windows stores them) as
/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`.
pub(crate) fn guid_text(b: &[u8]) -> String {
    let h = |r: &[usize]| {
        r.iter()
            .map(|&i| format!("{:02X}", b[i]))
            .collect::<String>()
    };
    format!(
        "{{{}-{}-{}-{}-{}}}",
        h(&[3, 2, 1, 0]),
        h(&[5, 4]),
        h(&[7, 6]),
        h(&[8, 9]),
        h(&[10, 11, 12, 13, 14, 15])
    )
}

/// The bytes of a GUID written `{...}` or bare, with or without dashes.
pub(crate) fn guid_bytes(s: &str) -> Option<[u8; 16]> {
    let hex: String = s
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .chars()
        .filter(|c| *c != '-')
        .collect();
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    let mut v = [0u8; 16];
    for (i, b) in v.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    // Text order to storage order.
    v[..4].reverse();
    v[4..6].reverse();
    v[6..8].reverse();
    Some(v)
}

fn days_text(d: f64, fmt: &str) -> Option<String> {
    let ms = ((d - EPOCH_DAYS) * DAY_MS).round();
    if !ms.is_finite() || ms.abs() > 8.0e15 {
        return None;
    }
    chrono::DateTime::from_timestamp_millis(ms as i64).map(|t| t.format(fmt).to_string())
}

/// Decodes a row (without its length) of `def`, object id `oid`.
pub(crate) fn decode(def: &TableDef, blob: &[u8], base: u64, oid: u64) -> Result<Row, Bad> {
    let mut r = Reader::new(blob, base);
    let flags = r.take(def.flag_bytes(), "null flags")?;
    let mut k = 0usize;
    let mut values = Vec::with_capacity(def.fields.len());
    let mut geometry = None;
    for f in &def.fields {
        if f.ftype == ft::OID {
            values.push(AttrValue::Int(oid as i64));
            continue;
        }
        if f.nullable() {
            let null = flags[k / 8] & (1 << (k % 8)) != 0;
            k += 1;
            if null {
                values.push(AttrValue::Null);
                continue;
            }
        }
        let what = f.name.as_str();
        let v = match f.ftype {
            ft::I16 => AttrValue::Int(i64::from(r.i16(what)?)),
            ft::I32 => AttrValue::Int(i64::from(r.i32(what)?)),
            ft::I64 => AttrValue::Int(r.i64(what)?),
            ft::F32 => AttrValue::Float(f64::from(r.f32(what)?)),
            ft::F64 => AttrValue::Float(r.f64(what)?),
            ft::STR | ft::XML => {
                let n = r.varuint(what)?;
                let b = r.take(usize::try_from(n).unwrap_or(usize::MAX), what)?;
                match std::str::from_utf8(b) {
                    Ok(s) => AttrValue::String(s.to_string()),
                    Err(_) => return r.bad(&format!("{what}: text that is not UTF-8")),
                }
            }
            ft::DATE => {
                let d = r.f64(what)?;
                let ms = ((d - EPOCH_DAYS) * DAY_MS).round();
                if ms.is_finite() && ms.abs() < 9.0e18 {
                    AttrValue::Int(ms as i64)
                } else {
                    AttrValue::Null
                }
            }
            ft::DATEONLY => {
                days_text(r.f64(what)?, "%Y-%m-%d").map_or(AttrValue::Null, AttrValue::String)
            }
            ft::TIMEONLY => days_text(r.f64(what)? + EPOCH_DAYS, "%H:%M:%S")
                .map_or(AttrValue::Null, AttrValue::String),
            ft::TSOFFSET => {
                let d = r.f64(what)?;
                let off = r.i16(what)?;
                let ms = ((d - EPOCH_DAYS) * DAY_MS).round();
                let tz = chrono::FixedOffset::east_opt(i32::from(off) * 60);
                match (ms.is_finite() && ms.abs() < 8.0e15, tz) {
                    (true, Some(tz)) => chrono::DateTime::from_timestamp_millis(ms as i64)
                        .map_or(AttrValue::Null, |t| {
                            AttrValue::String(t.with_timezone(&tz).to_rfc3339())
                        }),
                    _ => AttrValue::Null,
                }
            }
            ft::GUID | ft::GLOBALID => AttrValue::String(guid_text(r.take(16, what)?)),
            ft::BIN => {
                let n = r.varuint(what)?;
                let b = r.take(usize::try_from(n).unwrap_or(usize::MAX), what)?;
                AttrValue::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
            ft::GEOM => {
                let n = r.varuint(what)?;
                let at = r.offset();
                let b = r.take(usize::try_from(n).unwrap_or(usize::MAX), what)?;
                let grid = f.geom.as_ref().map_or(Grid::default_for(false), |g| g.grid);
                geometry = geom::decode(b, at, &grid)?;
                AttrValue::Null
            }
            other => return r.bad(&format!("{what}: field type {other} cannot be read")),
        };
        values.push(v);
    }
    Ok(Row { values, geometry })
}

/// Writes a whole row record (length, null flags, values) to `out`. `value` writes
/// field `i`'s value and answers whether there was one (false for null).
pub(crate) fn put_row(
    out: &mut Vec<u8>,
    def: &TableDef,
    mut value: impl FnMut(usize, &FieldDef, &mut Vec<u8>) -> Result<bool, Bad>,
) -> Result<(), Bad> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let flags_at = out.len();
    out.resize(flags_at + def.flag_bytes(), 0xff);
    let mut k = 0usize;
    for (i, f) in def.fields.iter().enumerate() {
        if f.ftype == ft::OID {
            continue;
        }
        let present = value(i, f, out)?;
        if f.nullable() {
            if present {
                out[flags_at + k / 8] &= !(1 << (k % 8));
            }
            k += 1;
        } else if !present {
            return Err(format!(
                "{}: null in a field that does not take nulls",
                f.name
            ));
        }
    }
    let len =
        u32::try_from(out.len() - start - 4).map_err(|_| "a row larger than 4 GB".to_string())?;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// The model's type for a field type (`None` for the geometry and raster).
pub(crate) fn model_type(ftype: u8) -> Option<FieldType> {
    Some(match ftype {
        ft::I16 => FieldType::SmallInteger,
        ft::I32 => FieldType::Integer,
        ft::I64 => FieldType::BigInteger,
        ft::F32 => FieldType::Single,
        ft::F64 => FieldType::Double,
        ft::STR => FieldType::String,
        ft::DATE => FieldType::Date,
        ft::OID => FieldType::Oid,
        ft::BIN => FieldType::Blob,
        ft::GUID => FieldType::Guid,
        ft::GLOBALID => FieldType::GlobalId,
        ft::XML => FieldType::Xml,
        ft::DATEONLY => FieldType::DateOnly,
        ft::TIMEONLY => FieldType::TimeOnly,
        ft::TSOFFSET => FieldType::TimestampOffset,
        _ => return None,
    })
}

/// Writes a value of field `f` (not the geometry); false for null. The value is
/// first converted to the field's type as loading into a schema does (lossless, or
/// an error that says why).
pub(crate) fn put_value(out: &mut Vec<u8>, f: &FieldDef, v: &AttrValue) -> Result<bool, Bad> {
    if v.is_null() {
        return Ok(false);
    }
    let model = if f.exact {
        Some(FieldType::BigInteger)
    } else {
        model_type(f.ftype)
    };
    let convert = |v: &AttrValue| match &model {
        Some(t) => crate::schema::convert(v, &Field::new(&f.name, t.clone()))
            .map_err(|m| format!("field {}: {m}", f.name)),
        None => Ok(v.clone()),
    };
    // Values of the field's own kind go as they are (no copy); others are converted.
    let own = matches!(
        (f.ftype, v),
        (ft::I16 | ft::I32 | ft::I64 | ft::DATE, AttrValue::Int(_))
            | (ft::F32 | ft::F64, AttrValue::Float(_))
            | (ft::F64, AttrValue::Int(_))
            | (
                ft::STR | ft::XML | ft::GUID | ft::GLOBALID | ft::BIN,
                AttrValue::String(_)
            )
    ) && !f.exact;
    let converted;
    let v = if own {
        v
    } else {
        converted = convert(v)?;
        &converted
    };
    let fits = |ok: bool, want: &str| {
        if ok {
            Ok(())
        } else {
            // The conversion's own words where it has them.
            Err(convert(v)
                .err()
                .unwrap_or_else(|| format!("field {}: {v:?} is not {want}", f.name)))
        }
    };
    match (f.ftype, v) {
        (_, AttrValue::Null) => return Ok(false),
        (ft::I16, AttrValue::Int(i)) => match i16::try_from(*i) {
            Ok(i) => out.extend_from_slice(&i.to_le_bytes()),
            Err(_) => fits(false, "a 16-bit integer")?,
        },
        (ft::I32, AttrValue::Int(i)) => match i32::try_from(*i) {
            Ok(i) => out.extend_from_slice(&i.to_le_bytes()),
            Err(_) => fits(false, "a 32-bit integer")?,
        },
        (ft::I64, AttrValue::Int(i)) => out.extend_from_slice(&i.to_le_bytes()),
        (ft::F64, AttrValue::Int(i)) if f.exact => {
            // Big integers are written as doubles, which every reader takes.
            fits(
                i.unsigned_abs() <= 1 << 53,
                "an integer a double holds exactly (|n| <= 2^53)",
            )?;
            out.extend_from_slice(&(*i as f64).to_le_bytes());
        }
        // An integer in a double field (JSON's `5` for `5.0`): as converting does,
        // exact up to 2^53 (the conversion words the refusal).
        (ft::F64, AttrValue::Int(i)) => {
            fits(
                i.unsigned_abs() <= 1 << 53,
                "a number a double holds exactly",
            )?;
            out.extend_from_slice(&(*i as f64).to_le_bytes());
        }
        (ft::F32, AttrValue::Float(x)) => out.extend_from_slice(&(*x as f32).to_le_bytes()),
        (ft::F64, AttrValue::Float(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (ft::STR | ft::XML, AttrValue::String(t)) => {
            put_varuint(out, t.len() as u64);
            out.extend_from_slice(t.as_bytes());
        }
        (ft::DATE, AttrValue::Int(ms)) => {
            out.extend_from_slice(&(*ms as f64 / DAY_MS + EPOCH_DAYS).to_le_bytes());
        }
        (ft::GUID | ft::GLOBALID, AttrValue::String(t)) => match guid_bytes(t) {
            Some(b) => out.extend_from_slice(&b),
            None => fits(false, "a GUID")?,
        },
        (ft::BIN, AttrValue::String(t)) => {
            match base64::engine::general_purpose::STANDARD.decode(t.as_bytes()) {
                Ok(b) => {
                    put_varuint(out, b.len() as u64);
                    out.extend_from_slice(&b);
                }
                Err(_) => fits(false, "base64 binary")?,
            }
        }
        (t, _) => fits(
            false,
            &format!(
                "a value for {}",
                model
                    .as_ref()
                    .map_or_else(|| format!("field type {t}"), |m| m.as_str().to_string())
            ),
        )?,
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_in_double_fields_are_kept_exact_or_refused() {
        let f = FieldDef::new("d", ft::F64, 8, true);
        let mut out = Vec::new();
        assert_eq!(put_value(&mut out, &f, &AttrValue::Int(5)), Ok(true));
        assert_eq!(out, 5.0f64.to_le_bytes());
        let e = put_value(&mut out, &f, &AttrValue::Int(1 << 60)).unwrap_err();
        assert!(
            e.contains("field d") && e.contains(&(1i64 << 60).to_string()),
            "{e}"
        );
    }

    #[test]
    fn guids_round_trip_in_windows_order() {
        let s = "{535DFE13-1AA4-4BAE-9B92-539B2DE9B35E}";
        let b = guid_bytes(s).unwrap();
        assert_eq!(b[0], 0x13);
        assert_eq!(guid_text(&b), s);
        assert_eq!(guid_bytes("535dfe131aa44bae9b92539b2de9b35e"), Some(b));
        assert_eq!(guid_bytes("{nope}"), None);
    }
}

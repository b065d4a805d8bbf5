//! Loading features into a tool's schema (arcpy's `FeatureSet.load` into the
//! parameter's default value).

use gp_model::{AttrValue, FeatureSet, Field, FieldType, Geometry, GeometryType, Multipoint};

use crate::error::{Error, Result};

/// Converts one value to a field type, refusing anything that would lose information.
pub(crate) fn convert(v: &AttrValue, f: &Field) -> std::result::Result<AttrValue, String> {
    use FieldType as T;
    let t = &f.field_type;
    Ok(match (v, t) {
        (AttrValue::Null, _) => AttrValue::Null,
        (AttrValue::Bool(b), T::SmallInteger | T::Integer | T::BigInteger) => {
            AttrValue::Int(i64::from(*b))
        }
        (AttrValue::Int(i), T::SmallInteger) if i16::try_from(*i).is_err() => {
            return Err(format!("{i} does not fit a SmallInteger"));
        }
        (AttrValue::Int(i), T::Integer) if i32::try_from(*i).is_err() => {
            return Err(format!("{i} does not fit an Integer"));
        }
        (AttrValue::Int(i), T::SmallInteger | T::Integer | T::BigInteger | T::Oid | T::Date) => {
            AttrValue::Int(*i)
        }
        (AttrValue::Float(x), T::SmallInteger | T::Integer | T::BigInteger | T::Oid) => {
            if x.fract() != 0.0 || x.abs() > 9.0e15 {
                return Err(format!("{x} is not a whole number"));
            }
            return convert(&AttrValue::Int(*x as i64), f);
        }
        (AttrValue::String(s), T::SmallInteger | T::Integer | T::BigInteger | T::Oid) => {
            match s.trim().parse::<i64>() {
                Ok(i) => return convert(&AttrValue::Int(i), f),
                Err(_) => return Err(format!("`{s}` is not a whole number")),
            }
        }
        (AttrValue::Int(i), T::Single | T::Double) => {
            if i.unsigned_abs() > (1u64 << 53) {
                return Err(format!(
                    "{i} cannot be held exactly by a floating-point field"
                ));
            }
            AttrValue::Float(*i as f64)
        }
        (AttrValue::Float(x), T::Single | T::Double) => AttrValue::Float(*x),
        (AttrValue::String(s), T::Single | T::Double) => match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => AttrValue::Float(x),
            _ => return Err(format!("`{s}` is not a number")),
        },
        (AttrValue::String(s), T::Date) => match chrono::DateTime::parse_from_rfc3339(s.trim()) {
            Ok(d) => AttrValue::Int(d.timestamp_millis()),
            Err(_) => match chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
                Ok(d) => AttrValue::Int(
                    d.and_hms_opt(0, 0, 0)
                        .map_or(0, |d| d.and_utc().timestamp_millis()),
                ),
                Err(_) => return Err(format!("`{s}` is not a date")),
            },
        },
        (v, T::String | T::Guid | T::GlobalId | T::Xml) => {
            let s = match v {
                AttrValue::String(s) => s.clone(),
                AttrValue::Int(i) => i.to_string(),
                AttrValue::UInt(u) => u.to_string(),
                AttrValue::Float(x) => x.to_string(),
                AttrValue::Bool(b) => b.to_string(),
                AttrValue::Json(j) => j.to_string(),
                _ => String::new(),
            };
            if let Some(len) = f
                .length
                .filter(|l| *l > 0 && s.chars().count() > *l as usize)
            {
                return Err(format!("`{s}` is longer than the field's {len} characters"));
            }
            AttrValue::String(s)
        }
        (other, _) => other.clone(),
    })
}

/// Fits loaded features into `schema`: fields matched by name case-insensitively and
/// converted where no information is lost, missing fields left null, extra fields
/// dropped, object ids numbered when the file has none; a geometry type that does
/// not fit is an error naming both types. The spatial reference of the file is kept
/// (the server projects inputs), else the schema's is used.
pub fn conform(loaded: FeatureSet, schema: &FeatureSet) -> Result<FeatureSet> {
    let target_type = schema.geometry_type.clone();
    let mut features = loaded.features;
    if let (Some(st), Some(lt)) = (&target_type, &loaded.geometry_type) {
        let fits = st == lt
            || (*st == GeometryType::Polygon && *lt == GeometryType::Envelope)
            || (*st == GeometryType::Multipoint && *lt == GeometryType::Point);
        if !fits {
            return Err(Error::Schema {
                message: format!(
                    "cannot load {lt} features into a {st} schema: the tool expects {st} input"
                ),
            });
        }
        if *st == GeometryType::Multipoint && *lt == GeometryType::Point {
            for f in &mut features {
                if let Some(Geometry::Point(p)) = &f.geometry {
                    f.geometry = Some(Geometry::Multipoint(Multipoint {
                        points: p.coord.into_iter().collect(),
                        ..Default::default()
                    }));
                }
            }
        }
    }
    let schema_fields: Vec<Field> = schema
        .fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f.field_type != FieldType::Geometry)
        .collect();
    let source_names: Vec<String> = loaded
        .fields
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|f| f.name.clone())
        .chain(features.iter().flat_map(|f| f.attributes.keys().cloned()))
        .collect();
    let find = |name: &str| {
        source_names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .cloned()
    };
    let mapping: Vec<(Field, Option<String>)> = schema_fields
        .iter()
        .map(|f| (f.clone(), find(&f.name)))
        .collect();
    for (i, feat) in features.iter_mut().enumerate() {
        let mut attrs = gp_model::Attributes::new();
        for (f, src) in &mapping {
            let v = match src.as_ref().and_then(|s| feat.attributes.get(s)) {
                Some(v) => convert(v, f).map_err(|e| Error::Schema {
                    message: format!(
                        "feature {i}, field {}: {e} (field type {})",
                        f.name, f.field_type
                    ),
                })?,
                None if f.field_type == FieldType::Oid => AttrValue::Int(i as i64 + 1),
                None => AttrValue::Null,
            };
            attrs.insert(f.name.clone(), v);
        }
        feat.attributes = attrs;
    }
    Ok(FeatureSet {
        display_field_name: schema.display_field_name.clone(),
        object_id_field_name: schema.object_id_field_name.clone(),
        global_id_field_name: schema.global_id_field_name.clone(),
        field_aliases: schema.field_aliases.clone(),
        geometry_type: target_type.or(loaded.geometry_type),
        spatial_reference: loaded
            .spatial_reference
            .or_else(|| schema.spatial_reference.clone()),
        has_z: loaded.has_z,
        has_m: loaded.has_m,
        fields: Some(schema_fields),
        features,
        exceeded_transfer_limit: None,
    })
}

/// Text columns whose every value is an RFC 3339 date-time (`2024-05-01T00:00:00Z`)
/// become Date fields, as GDAL's GeoJSON and CSV drivers do: those formats have no
/// date type of their own.
pub(crate) fn promote_dates(fs: &mut FeatureSet) {
    let Some(fields) = fs.fields.as_mut() else {
        return;
    };
    for f in fields
        .iter_mut()
        .filter(|f| f.field_type == FieldType::String)
    {
        let mut look = DateLook::default();
        for feat in &fs.features {
            look.see(feat.attributes.get(&f.name));
        }
        if !look.dates() {
            continue;
        }
        f.field_type = FieldType::Date;
        f.length = None;
        for feat in &mut fs.features {
            if let Some(v) = feat.attributes.get_mut(&f.name) {
                to_date(v);
            }
        }
    }
}

/// Whether a text column holds dates: every value seen is null or RFC 3339 date-time
/// text, and at least one is not null.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DateLook {
    all: bool,
    seen: bool,
}

impl Default for DateLook {
    fn default() -> Self {
        DateLook {
            all: true,
            seen: false,
        }
    }
}

impl DateLook {
    /// Takes one value into account.
    pub(crate) fn see(&mut self, v: Option<&AttrValue>) {
        match v {
            None | Some(AttrValue::Null) => {}
            Some(AttrValue::String(s)) => {
                self.seen = true;
                self.all &= s.len() >= 20
                    && s.as_bytes().get(10) == Some(&b'T')
                    && chrono::DateTime::parse_from_rfc3339(s).is_ok();
            }
            Some(_) => self.all = false,
        }
    }

    /// Takes in what another look saw (over other values of the column).
    pub(crate) fn absorb(&mut self, other: DateLook) {
        self.all &= other.all;
        self.seen |= other.seen;
    }

    /// True when the column is a date column.
    pub(crate) fn dates(&self) -> bool {
        self.all && self.seen
    }
}

/// A date-time text value as epoch milliseconds (other values are left alone).
pub(crate) fn to_date(v: &mut AttrValue) {
    if let AttrValue::String(s) = v
        && let Ok(d) = chrono::DateTime::parse_from_rfc3339(s)
    {
        *v = AttrValue::Int(d.timestamp_millis());
    }
}

/// The attribute fields of a feature set: its fields without the geometry column.
pub(crate) fn attribute_fields(fs: &FeatureSet) -> Vec<Field> {
    fs.fields
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|f| f.field_type != FieldType::Geometry)
        .cloned()
        .collect()
}

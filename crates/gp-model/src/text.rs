//! Values from text, the way arcpy takes them: `"5 feet"`, `"true"`, `"2024-05-01"`,
//! `"a;b;c"` for multivalues, `"xmin ymin xmax ymax"` for extents, `"a 1;b 2"` for
//! value tables, a field by name, a spatial reference by wkid, EPSG code or name,
//! a composite value as the first member type that takes it, or JSON for any
//! structured type.

use crate::datatype::DataType;
use crate::error::{Error, Result};
use crate::fields::{Field, FieldType};
use crate::geometry::Envelope;
use crate::geometry::sr::SpatialReference;
use crate::task::{Filter, ParameterInfo, ParameterMember};
use crate::value::{DataRef, GpValue, HiddenString, ValueTable};

pub(crate) fn value_err(dt: &DataType, reason: impl Into<String>) -> Error {
    Error::Value {
        data_type: dt.to_string(),
        reason: reason.into(),
    }
}

/// Spatial references by the names ArcGIS and EPSG give them, for the most used
/// ones (names compare case-insensitively, `_` as a space).
const SR_NAMES: &[(&str, i32)] = &[
    ("wgs 1984", 4326),
    ("gcs wgs 1984", 4326),
    ("wgs 84", 4326),
    ("wgs84", 4326),
    ("wgs 1984 web mercator (auxiliary sphere)", 3857),
    ("wgs 1984 web mercator auxiliary sphere", 3857),
    ("wgs 84 / pseudo-mercator", 3857),
    ("web mercator", 3857),
    ("nad 1983", 4269),
    ("gcs north american 1983", 4269),
    ("nad83", 4269),
    ("nad 1927", 4267),
    ("gcs north american 1927", 4267),
    ("nad27", 4267),
    ("etrs 1989", 4258),
    ("gcs etrs 1989", 4258),
    ("etrs89", 4258),
    ("gda 1994", 4283),
    ("gda 2020", 7844),
    ("etrs 1989 laea", 3035),
    ("etrs 1989 lambert azimuthal equal area", 3035),
    ("british national grid", 27700),
    ("osgb 1936 british national grid", 27700),
];

/// A spatial reference from text: a wkid (`4326`), `EPSG:4326`, a name (`WGS 1984`,
/// `WGS 1984 UTM Zone 33N`, `NAD 1983 UTM Zone 10N`), or WKT.
pub(crate) fn spatial_reference(t: &str) -> Result<SpatialReference> {
    let dt = DataType::SpatialReference;
    let t = t.trim();
    let code = t
        .strip_prefix("EPSG:")
        .or_else(|| t.strip_prefix("epsg:"))
        .unwrap_or(t);
    if let Ok(wkid) = code.trim().parse::<i32>() {
        if wkid <= 0 {
            return Err(value_err(&dt, format!("`{t}` is not a wkid")));
        }
        return Ok(SpatialReference::from_wkid(wkid));
    }
    let upper = t.to_ascii_uppercase();
    if [
        "PROJCS[",
        "GEOGCS[",
        "GEOCCS[",
        "COMPD_CS[",
        "PROJCRS[",
        "GEOGCRS[",
        "GEODCRS[",
    ]
    .iter()
    .any(|k| upper.starts_with(k))
    {
        return Ok(SpatialReference::from_wkt(t));
    }
    let name = t.to_ascii_lowercase().replace('_', " ");
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((_, wkid)) = SR_NAMES.iter().find(|(n, _)| *n == name) {
        return Ok(SpatialReference::from_wkid(*wkid));
    }
    if let Some(wkid) = utm(&name) {
        return Ok(SpatialReference::from_wkid(wkid));
    }
    Err(value_err(
        &dt,
        format!(
            "`{t}` is not a spatial reference this client knows: give a wkid (4326), EPSG:code, WKT, or a name such as `WGS 1984`, `WGS 1984 Web Mercator (auxiliary sphere)` or `WGS 1984 UTM Zone 33N`"
        ),
    ))
}

/// `wgs 1984 utm zone 33n` → 32633; `nad 1983 utm zone 10n` → 26910.
fn utm(name: &str) -> Option<i32> {
    let (datum, zone) = name.split_once(" utm zone ")?;
    let zone = zone.trim();
    // The last character is the hemisphere (split on a character, not a byte).
    let hemi_at = zone.char_indices().last()?.0;
    let (num, hemi) = zone.split_at(hemi_at);
    let n: i32 = num.trim().parse().ok().filter(|n| (1..=60).contains(n))?;
    match (datum, hemi) {
        ("wgs 1984" | "wgs 84", "n") => Some(32600 + n),
        ("wgs 1984" | "wgs 84", "s") => Some(32700 + n),
        ("nad 1983" | "nad83", "n") if (1..=23).contains(&n) => Some(26900 + n),
        ("nad 1927" | "nad27", "n") if (1..=22).contains(&n) => Some(26700 + n),
        ("etrs 1989" | "etrs89", "n") if (28..=38).contains(&n) => Some(25800 + n),
        _ => None,
    }
}

/// `xmin ymin xmax ymax` (spaces or commas), optionally followed by a spatial
/// reference (`4326`, `EPSG:3857`) or by arcpy's `NaN NaN NaN NaN` for Z and M.
fn extent(t: &str) -> Result<Envelope> {
    let dt = DataType::Extent;
    let parts: Vec<&str> = t
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() < 4 {
        return Err(value_err(
            &dt,
            format!("`{t}` is not an extent: give \"xmin ymin xmax ymax\" or JSON"),
        ));
    }
    let mut c = [0f64; 4];
    for (i, p) in parts[..4].iter().enumerate() {
        c[i] = p
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or_else(|| value_err(&dt, format!("`{p}` in `{t}` is not a finite number")))?;
    }
    if c[0] > c[2] || c[1] > c[3] {
        return Err(value_err(
            &dt,
            format!("`{t}`: xmin must not exceed xmax, nor ymin ymax"),
        ));
    }
    let mut e = Envelope::new(c[0], c[1], c[2], c[3]);
    let rest = &parts[4..];
    if rest.iter().all(|p| p.eq_ignore_ascii_case("nan")) {
        return Ok(e);
    }
    if rest.len() == 1 {
        e.spatial_reference = Some(Box::new(spatial_reference(rest[0])?));
        return Ok(e);
    }
    Err(value_err(
        &dt,
        format!("`{t}`: after the four corners give one spatial reference (a wkid)"),
    ))
}

/// Splits `s` at `sep` outside single or double quotes.
fn split_quoted(s: &str, sep: impl Fn(char) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for ch in s.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => cur.push(ch),
            None if ch == '\'' || ch == '"' => quote = Some(ch),
            None if sep(ch) => {
                out.push(std::mem::take(&mut cur));
            }
            None => cur.push(ch),
        }
    }
    out.push(cur);
    out
}

/// `a 1;b 2`: rows split at `;`, cells at spaces (quote a cell with spaces), each
/// cell read as its column's type (`#` for no value).
fn value_table(t: &str, members: Option<&[ParameterMember]>) -> Result<ValueTable> {
    let dt = DataType::ValueTable;
    let mut rows = Vec::new();
    for (r, row) in split_quoted_rows(t).iter().enumerate() {
        let cells: Vec<String> = split_quoted(row, char::is_whitespace)
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect();
        if let Some(m) = members
            && cells.len() != m.len()
        {
            return Err(value_err(
                &dt,
                format!(
                    "row {r} (`{}`) has {} value(s), the table has {} column(s) ({})",
                    row.trim(),
                    cells.len(),
                    m.len(),
                    m.iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let mut out = Vec::with_capacity(cells.len());
        for (i, cell) in cells.iter().enumerate() {
            let v = if cell == "#" {
                GpValue::Null
            } else {
                match members.and_then(|m| m.get(i)) {
                    Some(col) => GpValue::parse_text(&col.data_type, cell).map_err(|e| {
                        value_err(&dt, format!("row {r}, column {}: {e}", col.name))
                    })?,
                    None => GpValue::String(cell.clone()),
                }
            };
            out.push(v);
        }
        rows.push(out);
    }
    Ok(ValueTable {
        columns: members.map(|m| m.iter().map(|c| c.name.clone()).collect()),
        rows,
    })
}

/// Rows of a value table's text: split at `;` outside quotes, quotes kept for the
/// cells.
fn split_quoted_rows(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for ch in t.chars() {
        match quote {
            Some(q) if ch == q => {
                quote = None;
                cur.push(ch);
            }
            Some(_) => cur.push(ch),
            None if ch == '\'' || ch == '"' => {
                quote = Some(ch);
                cur.push(ch);
            }
            None if ch == ';' => out.push(std::mem::take(&mut cur)),
            None => cur.push(ch),
        }
    }
    out.push(cur);
    out.into_iter().filter(|r| !r.trim().is_empty()).collect()
}

/// A field by name; its type from the parameter's field filter when it allows one
/// type, else text.
fn field(t: &str, filter: Option<&Filter>) -> Result<Field> {
    let name = t.trim().trim_matches(|c| c == '\'' || c == '"');
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(value_err(
            &DataType::Field,
            format!("`{t}` is not a field name (give the name, or JSON with name and type)"),
        ));
    }
    let ty = match filter {
        Some(Filter::Field { list }) if list.len() == 1 => list[0].clone(),
        _ => FieldType::String,
    };
    Ok(Field::new(name, ty))
}

/// The data types a composite value may be, as the task lists them.
fn composite(t: &str, members: &[ParameterMember]) -> Result<GpValue> {
    let dt = DataType::Composite;
    let mut why = Vec::new();
    for m in members {
        match GpValue::parse_text(&m.data_type, t) {
            Ok(v) => {
                return Ok(GpValue::Composite(Box::new(crate::value::Composite {
                    data_type: m.data_type.clone(),
                    value: v,
                })));
            }
            Err(e) => why.push(format!("{}: {e}", m.data_type)),
        }
    }
    Err(value_err(
        &dt,
        format!("`{t}` is none of the member types ({})", why.join("; ")),
    ))
}

impl GpValue {
    /// Parses text the way arcpy takes it: `"5 feet"`, `"true"`, `"2024-05-01"`,
    /// `"a;b;c"` for multivalues, `"xmin ymin xmax ymax"` for an extent, a wkid or
    /// name for a spatial reference, a name for a field, `"a 1;b 2"` for a value
    /// table (cells as text), or a JSON literal for structured types. An empty
    /// string is [`GpValue::Null`]. [`ParameterInfo::parse_text`] also knows value
    /// table columns and composite members.
    ///
    /// ```
    /// use gp_model::{DataType, GpValue};
    /// let e = GpValue::parse_text(&DataType::Extent, "-10, 40, 5, 52").unwrap();
    /// assert_eq!(e.to_form_text(), r#"{"xmin":-10.0,"ymin":40.0,"xmax":5.0,"ymax":52.0}"#);
    /// let sr = GpValue::parse_text(&DataType::SpatialReference, "WGS 1984").unwrap();
    /// assert_eq!(sr.to_form_text(), r#"{"wkid":4326}"#);
    /// assert!(GpValue::parse_text(&DataType::SpatialReference, "Middle Earth").is_err());
    /// ```
    pub fn parse_text(dt: &DataType, text: &str) -> Result<GpValue> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(GpValue::Null);
        }
        let looks_json = t.starts_with('{') || t.starts_with('[');
        Ok(match dt {
            DataType::String | DataType::SqlExpression => GpValue::String(text.to_string()),
            DataType::StringHidden => GpValue::HiddenString(HiddenString(text.to_string())),
            DataType::Long => GpValue::Long(
                t.parse()
                    .map_err(|_| value_err(dt, format!("`{t}` is not a whole number")))?,
            ),
            DataType::Double => match t.parse::<f64>() {
                Ok(f) if f.is_finite() => GpValue::Double(f),
                _ => return Err(value_err(dt, format!("`{t}` is not a finite number"))),
            },
            DataType::Boolean => {
                GpValue::Boolean(crate::scalars::parse_bool(t).ok_or_else(|| {
                    value_err(
                        dt,
                        format!("`{t}` is not a boolean (true/false, yes/no, 1/0)"),
                    )
                })?)
            }
            DataType::Date => GpValue::Date(crate::scalars::parse_date_text(dt, t)?),
            DataType::LinearUnit if !looks_json => GpValue::LinearUnit(t.parse()?),
            DataType::ArealUnit if !looks_json => GpValue::ArealUnit(t.parse()?),
            DataType::TimeUnit if !looks_json => GpValue::TimeUnit(t.parse()?),
            DataType::MultiValue(inner) if !looks_json => GpValue::MultiValue(
                t.split(';')
                    .enumerate()
                    .map(|(i, p)| {
                        let p = p.trim().trim_matches(|c| c == '\'' || c == '"');
                        Self::parse_text(inner, p)
                            .map_err(|e| value_err(dt, format!("item {i} (`{p}`): {e}")))
                    })
                    .collect::<Result<_>>()?,
            ),
            DataType::SpatialReference if !looks_json => {
                GpValue::SpatialReference(spatial_reference(t)?)
            }
            DataType::Extent if !looks_json => GpValue::Extent(extent(t)?),
            DataType::ValueTable if !looks_json => GpValue::ValueTable(value_table(t, None)?),
            DataType::Field if !looks_json => GpValue::Field(field(t, None)?),
            DataType::RasterDataLayer | DataType::RasterData | DataType::DataFile
                if !looks_json =>
            {
                GpValue::DataRef(DataRef::url(t))
            }
            DataType::FeatureRecordSetLayer | DataType::RecordSet
                if !looks_json && t.contains("://") =>
            {
                layer_url(dt, t)?
            }
            _ if looks_json => Self::decode(dt, t)?,
            _ => {
                return Err(value_err(
                    dt,
                    format!("`{t}` is not valid here: give a JSON value for this type"),
                ));
            }
        })
    }
}

/// A layer-URL input as text: `URL [where clause]` (a URL has no spaces, so what
/// follows the first one is the filter, checked here).
fn layer_url(dt: &DataType, t: &str) -> Result<GpValue> {
    let (url, filter) = match t.split_once(char::is_whitespace) {
        Some((u, f)) => (u, Some(f.trim()).filter(|f| !f.is_empty())),
        None => (t, None),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(value_err(
            dt,
            format!("`{url}` is not a layer URL (http:// or https://)"),
        ));
    }
    if let Some(f) = filter {
        crate::Where::parse(f).map_err(|e| value_err(dt, format!("the filter: {e}")))?;
    }
    Ok(GpValue::DataRef(DataRef {
        url: Some(url.to_string()),
        filter: filter.map(str::to_string),
        ..Default::default()
    }))
}

impl ParameterInfo {
    /// Parses text for this parameter, as [`GpValue::parse_text`] does, with what the
    /// parameter adds: value table cells read as their columns' types and checked in
    /// number, composite values tried against each member type in order (sent
    /// wrapped as `{"dataType", "value"}`), a field typed by its filter.
    pub fn parse_text(&self, text: &str) -> Result<GpValue> {
        let t = text.trim();
        let looks_json = t.starts_with('{') || t.starts_with('[');
        if t.is_empty() || looks_json {
            return GpValue::parse_text(&self.data_type, text);
        }
        let members = self.parameter_infos.as_deref().filter(|m| !m.is_empty());
        match (&self.data_type, members) {
            (DataType::ValueTable, m) => value_table(t, m).map(GpValue::ValueTable),
            (DataType::Composite, Some(m)) => composite(t, m),
            (DataType::Field, _) => field(t, self.filter.as_ref()).map(GpValue::Field),
            _ => GpValue::parse_text(&self.data_type, text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(dt: &DataType, text: &str, form: Option<&str>) {
        let got = GpValue::parse_text(dt, text).map(|v| v.to_form_text());
        match form {
            Some(f) => assert_eq!(got.as_deref().map_err(|e| e.to_string()), Ok(f), "{text}"),
            None => assert!(got.is_err(), "{text}: {got:?}"),
        }
    }

    #[test]
    fn arcpy_text_forms() {
        let ext = DataType::Extent;
        check(
            &ext,
            "1 2 3 4",
            Some(r#"{"xmin":1.0,"ymin":2.0,"xmax":3.0,"ymax":4.0}"#),
        );
        check(
            &ext,
            "1 2 3 4 NaN NaN NaN NaN",
            Some(r#"{"xmin":1.0,"ymin":2.0,"xmax":3.0,"ymax":4.0}"#),
        );
        check(
            &ext,
            "1,2,3,4,3857",
            Some(
                r#"{"xmin":1.0,"ymin":2.0,"xmax":3.0,"ymax":4.0,"spatialReference":{"wkid":3857}}"#,
            ),
        );
        check(&ext, "1 2 3", None);
        let fl = DataType::FeatureRecordSetLayer;
        check(
            &fl,
            "https://h/arcgis/rest/services/Hosted/c/FeatureServer/0",
            Some(r#"{"url":"https://h/arcgis/rest/services/Hosted/c/FeatureServer/0"}"#),
        );
        check(
            &fl,
            "https://h/x/FeatureServer/0 name LIKE 'S%'",
            Some(r#"{"url":"https://h/x/FeatureServer/0","filter":"name LIKE 'S%'"}"#),
        );
        check(&fl, "https://h/x/FeatureServer/0 name LIKE", None);
        check(&fl, "ftp://h/x/FeatureServer/0", None);
        check(&ext, "3 2 1 4", None);
        check(&ext, "1 2 inf 4", None);
        let sr = DataType::SpatialReference;
        check(&sr, "4326", Some(r#"{"wkid":4326}"#));
        check(&sr, "EPSG:3857", Some(r#"{"wkid":3857}"#));
        check(
            &sr,
            "WGS_1984_Web_Mercator_Auxiliary_Sphere",
            Some(r#"{"wkid":3857}"#),
        );
        check(&sr, "WGS 1984 UTM Zone 33N", Some(r#"{"wkid":32633}"#));
        check(&sr, "NAD 1983 UTM Zone 10N", Some(r#"{"wkid":26910}"#));
        check(&sr, "WGS 1984 UTM Zone 61N", None);
        check(&sr, "WGS 1984 UTM Zone 3é", None);
        check(&sr, "WGS 1984 UTM Zone é", None);
        check(&sr, "WGS 1984 UTM Zone ", None);
        check(&sr, "WGS 1985", None);
        check(&sr, "-4", None);
        assert!(
            GpValue::parse_text(&sr, r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984"]]"#)
                .unwrap()
                .to_form_text()
                .contains("wkt")
        );
        check(
            &DataType::ValueTable,
            "a 1;'b c' 2",
            Some(r#"[["a","1"],["b c","2"]]"#),
        );
        check(
            &DataType::Field,
            "NAME",
            Some(r#"{"name":"NAME","type":"esriFieldTypeString"}"#),
        );
        check(&DataType::Field, "two words", None);
    }

    fn param(json: &str) -> ParameterInfo {
        crate::from_json_str("parameter", json).unwrap()
    }

    #[test]
    fn parameters_type_table_cells_and_composites() {
        let vt = param(
            r#"{"name": "T", "dataType": "GPValueTable", "direction": "esriGPParameterDirectionInput",
                "parameterInfos": [{"name": "Field", "dataType": "GPString"}, {"name": "Weight", "dataType": "GPLong"}]}"#,
        );
        assert_eq!(
            vt.parse_text("a 1;b 2").unwrap().to_form_text(),
            r#"[{"Field":"a","Weight":1},{"Field":"b","Weight":2}]"#
        );
        let e = vt.parse_text("a 1;b").unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("2 column(s)"), "{e}");
        let e = vt.parse_text("a x").unwrap_err().to_string();
        assert!(e.contains("Weight"), "{e}");
        let c = param(
            r#"{"name": "C", "dataType": "GPComposite", "direction": "esriGPParameterDirectionInput",
                "parameterInfos": [{"name": "d", "dataType": "GPLinearUnit"}, {"name": "n", "dataType": "GPDouble"}]}"#,
        );
        assert_eq!(
            c.parse_text("5 feet").unwrap().to_form_text(),
            r#"{"dataType":"GPLinearUnit","value":{"distance":5.0,"units":"esriFeet"}}"#
        );
        assert_eq!(
            c.parse_text("2.5").unwrap().to_form_text(),
            r#"{"dataType":"GPDouble","value":2.5}"#
        );
        assert!(c.parse_text("soon").is_err());
        let f = param(
            r#"{"name": "F", "dataType": "Field", "direction": "esriGPParameterDirectionInput",
                "filter": {"type": "field", "list": ["esriFieldTypeDouble"]}}"#,
        );
        assert_eq!(
            f.parse_text("Height").unwrap().to_form_text(),
            r#"{"name":"Height","type":"esriFieldTypeDouble"}"#
        );
    }
}

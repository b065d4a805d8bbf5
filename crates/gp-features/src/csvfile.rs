//! CSV with a WKT column or x/y columns (the `csv` crate; WKT through geozero).

use std::path::Path;

use geozero::ToWkt;
use geozero::wkt::Wkt;
use gp_model::esrijson::geometry_from_geozero;
use gp_model::{
    AttrValue, Feature, FeatureSet, Field, FieldType, Geometry, GeometryType, Point,
    SpatialReference,
};

use crate::error::{Result, fmt_err};
use crate::schema::{DateLook, to_date};

const WKT_NAMES: [&str; 6] = ["wkt", "geometry", "geom", "the_geom", "shape", "wkt_geom"];
const X_NAMES: [&str; 6] = ["x", "lon", "lng", "long", "longitude", "easting"];
const Y_NAMES: [&str; 4] = ["y", "lat", "latitude", "northing"];

fn find(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

/// Loads a whole CSV file.
pub(crate) fn read(path: &Path) -> Result<FeatureSet> {
    let mut all = crate::sink::Collect::default();
    read_each(path, &mut all)?;
    Ok(all.0)
}

/// What the first pass learns of one attribute column.
struct ColumnLook {
    int: bool,
    real: bool,
    big: bool,
    max_len: usize,
    dates: DateLook,
}

/// Reads a CSV file into `to` in two passes over the file, so memory does not grow
/// with it: the first settles each column's type from every value (integer, then
/// real, else text; date-time text as dates) and the geometry type from the first
/// geometry; the second reads the rows again and hands them over as features.
pub(crate) fn read_each(path: &Path, to: &mut dyn crate::sink::Consumer) -> Result<()> {
    let err = fmt_err(path, "CSV");
    let open = || {
        csv::ReaderBuilder::new()
            .flexible(false)
            .from_path(path)
            .map_err(|e| err(e.to_string()))
    };
    let mut r = open()?;
    let headers = r.headers().map_err(|e| err(e.to_string()))?.clone();
    let wkt_col = find(&headers, &WKT_NAMES);
    let xy = match wkt_col {
        Some(_) => None,
        None => find(&headers, &X_NAMES).zip(find(&headers, &Y_NAMES)),
    };
    let attr_cols: Vec<usize> = (0..headers.len())
        .filter(|i| Some(*i) != wkt_col && xy.is_none_or(|(x, y)| *i != x && *i != y))
        .collect();
    let geometry_of = |row: &csv::StringRecord, line: usize| -> Result<Option<Geometry>> {
        if let Some(c) = wkt_col {
            let text = row.get(c).unwrap_or("").trim();
            if text.is_empty() {
                return Ok(None);
            }
            return geometry_from_geozero(&Wkt(text))
                .map(Some)
                .map_err(|e| err(format!("line {line}: {e}")));
        }
        let Some((x, y)) = xy else {
            return Ok(None);
        };
        let num = |i: usize, what: &str| -> Result<Option<f64>> {
            let t = row.get(i).unwrap_or("").trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| err(format!("line {line}: {what} `{t}` is not a number")))
        };
        Ok(match (num(x, "x")?, num(y, "y")?) {
            (Some(x), Some(y)) => Some(Geometry::Point(Point::new(x, y))),
            _ => None,
        })
    };
    // First pass: column types from every value, the geometry type from the first.
    let mut looks: Vec<ColumnLook> = attr_cols
        .iter()
        .map(|_| ColumnLook {
            int: true,
            real: true,
            big: false,
            max_len: 1,
            dates: DateLook::default(),
        })
        .collect();
    let mut gtype: Option<GeometryType> = None;
    for (n, row) in r.records().enumerate() {
        let row = row.map_err(|e| err(e.to_string()))?;
        for (look, &c) in looks.iter_mut().zip(&attr_cols) {
            let raw = row.get(c).unwrap_or("");
            let v = raw.trim();
            if v.is_empty() {
                continue;
            }
            look.max_len = look.max_len.max(v.chars().count());
            match v.parse::<i64>() {
                Ok(i) => look.big |= i32::try_from(i).is_err(),
                Err(_) => {
                    look.int = false;
                    look.real &= v.parse::<f64>().is_ok_and(f64::is_finite);
                }
            }
            look.dates.see(Some(&AttrValue::String(raw.to_string())));
        }
        if gtype.is_none() {
            gtype = geometry_of(&row, n + 2)?.map(|g| g.geometry_type());
        }
    }
    let mut fields = Vec::new();
    let mut dates = Vec::new();
    for (look, &c) in looks.iter().zip(&attr_cols) {
        let t = match (look.int, look.real, look.big) {
            (true, _, false) => FieldType::Integer,
            (true, _, true) => FieldType::BigInteger,
            (false, true, _) => FieldType::Double,
            _ if look.dates.dates() => FieldType::Date,
            _ => FieldType::String,
        };
        dates.push(t == FieldType::Date);
        let mut f = Field::new(headers.get(c).unwrap_or("").trim(), t.clone());
        if t == FieldType::String {
            f.length = Some(look.max_len as u32);
        }
        fields.push(f);
    }
    let lonlat = xy.is_some_and(|(x, _)| {
        matches!(
            headers
                .get(x)
                .map(|h| h.trim().to_ascii_lowercase())
                .as_deref(),
            Some("lon" | "lng" | "long" | "longitude")
        )
    });
    to.schema(&FeatureSet {
        geometry_type: gtype.clone().or_else(|| xy.map(|_| GeometryType::Point)),
        spatial_reference: lonlat.then(|| SpatialReference::from_wkid(4326)),
        fields: Some(fields.clone()),
        ..Default::default()
    })?;
    // Second pass: the features.
    let mut r = open()?;
    for (n, row) in r.records().enumerate() {
        let row = row.map_err(|e| err(e.to_string()))?;
        let line = n + 2;
        let geometry = geometry_of(&row, line)?;
        if let (Some(g), Some(old)) = (&geometry, &gtype) {
            let t = g.geometry_type();
            if t != *old {
                return Err(err(format!("line {line}: a {t} among {old} geometries")));
            }
        }
        let mut attributes = gp_model::Attributes::new();
        for ((f, &c), date) in fields.iter().zip(&attr_cols).zip(&dates) {
            let raw = row.get(c).unwrap_or("");
            let t = raw.trim();
            let v = if t.is_empty() {
                AttrValue::Null
            } else {
                match f.field_type {
                    FieldType::Integer | FieldType::BigInteger => {
                        t.parse().map_or(AttrValue::Null, AttrValue::Int)
                    }
                    FieldType::Double => t.parse().map_or(AttrValue::Null, AttrValue::Float),
                    _ => {
                        let mut v = AttrValue::String(raw.to_string());
                        if *date {
                            to_date(&mut v);
                        }
                        v
                    }
                }
            };
            attributes.insert(f.name.clone(), v);
        }
        to.feature(Feature {
            attributes,
            geometry,
        })?;
    }
    Ok(())
}

/// geozero writes `POINT(1 2 3)`; WKT readers (geozero's among them) want the
/// dimension tag: `POINT Z(1 2 3)`.
fn tag_dims(wkt: String, dims: geozero::CoordDimensions) -> String {
    let tag = match (dims.z, dims.m) {
        (true, true) => " ZM",
        (true, false) => " Z",
        (false, true) => " M",
        (false, false) => return wkt,
    };
    match wkt.find('(') {
        Some(i) => format!("{}{tag}{}", wkt[..i].trim_end(), &wkt[i..]),
        None => wkt,
    }
}

fn text_of(v: &AttrValue, t: Option<&FieldType>) -> String {
    match (v, t) {
        (AttrValue::Null, _) => String::new(),
        (AttrValue::Int(ms), Some(FieldType::Date)) => chrono::DateTime::from_timestamp_millis(*ms)
            .map_or_else(
                || ms.to_string(),
                |d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ),
        (AttrValue::Int(i), _) => i.to_string(),
        (AttrValue::UInt(u), _) => u.to_string(),
        (AttrValue::Float(f), _) => f.to_string(),
        (AttrValue::Bool(b), _) => b.to_string(),
        (AttrValue::String(s), _) => s.clone(),
        (AttrValue::Json(j), _) => j.to_string(),
        _ => String::new(),
    }
}

/// CSV written row by row: a `WKT` column, then the fields.
pub(crate) struct CsvSink {
    path: std::path::PathBuf,
    w: csv::Writer<std::fs::File>,
    fields: Vec<Field>,
    has_geom: bool,
    dims: geozero::CoordDimensions,
    count: usize,
}

impl CsvSink {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let w = csv::Writer::from_writer(
            gp_fs::create_file(path).map_err(crate::error::io("creating", path))?,
        );
        Ok(CsvSink {
            path: path.to_path_buf(),
            w,
            fields: Vec::new(),
            has_geom: true,
            dims: geozero::CoordDimensions::xy(),
            count: 0,
        })
    }
}

impl crate::sink::FeatureSink for CsvSink {
    fn start(&mut self, fs: &FeatureSet) -> Result<()> {
        self.fields = crate::schema::attribute_fields(fs);
        self.has_geom =
            fs.geometry_type.is_some() || fs.features.iter().any(|f| f.geometry.is_some());
        self.dims = geozero::CoordDimensions {
            z: fs.has_z,
            m: fs.has_m,
            t: false,
            tm: false,
        };
        let mut header: Vec<&str> = Vec::new();
        if self.has_geom {
            header.push("WKT");
        }
        header.extend(self.fields.iter().map(|f| f.name.as_str()));
        self.w
            .write_record(&header)
            .map_err(|e| fmt_err(&self.path, "CSV")(e.to_string()))
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.w
            .flush()
            .map_err(|e| fmt_err(&self.path, "CSV")(e.to_string()))
    }
}

impl crate::sink::FeatureWriter for CsvSink {
    fn feature(&mut self, feat: &Feature) -> Result<()> {
        let err = fmt_err(&self.path, "CSV");
        let i = self.count;
        let mut rec: Vec<String> = Vec::with_capacity(self.fields.len() + 1);
        if self.has_geom {
            rec.push(match &feat.geometry {
                Some(g) if !g.is_empty() => tag_dims(
                    g.to_wkt_ndim(self.dims)
                        .map_err(|e| err(format!("feature {i}: {e}")))?,
                    self.dims,
                ),
                _ => String::new(),
            });
        }
        for f in &self.fields {
            rec.push(
                feat.attributes
                    .get(&f.name)
                    .map_or_else(String::new, |v| text_of(v, Some(&f.field_type))),
            );
        }
        self.w.write_record(&rec).map_err(|e| err(e.to_string()))?;
        self.count += 1;
        Ok(())
    }
}

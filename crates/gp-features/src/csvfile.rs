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

const WKT_NAMES: [&str; 6] = ["wkt", "geometry", "geom", "the_geom", "shape", "wkt_geom"];
const X_NAMES: [&str; 6] = ["x", "lon", "lng", "long", "longitude", "easting"];
const Y_NAMES: [&str; 4] = ["y", "lat", "latitude", "northing"];

fn find(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

pub(crate) fn read(path: &Path) -> Result<FeatureSet> {
    let err = fmt_err(path, "CSV");
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| err(e.to_string()))?;
    let headers = r.headers().map_err(|e| err(e.to_string()))?.clone();
    let wkt_col = find(&headers, &WKT_NAMES);
    let xy = match wkt_col {
        Some(_) => None,
        None => find(&headers, &X_NAMES).zip(find(&headers, &Y_NAMES)),
    };
    let rows: Vec<csv::StringRecord> = r
        .records()
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    let attr_cols: Vec<usize> = (0..headers.len())
        .filter(|i| Some(*i) != wkt_col && xy.is_none_or(|(x, y)| *i != x && *i != y))
        .collect();
    // Column types from every value: integer, then real, else text.
    let mut fields = Vec::new();
    for &c in &attr_cols {
        let vals = rows
            .iter()
            .map(|r| r.get(c).unwrap_or("").trim())
            .filter(|v| !v.is_empty());
        let (mut int, mut real, mut max_len, mut big) = (true, true, 1usize, false);
        for v in vals {
            max_len = max_len.max(v.chars().count());
            match v.parse::<i64>() {
                Ok(i) => big |= i32::try_from(i).is_err(),
                Err(_) => {
                    int = false;
                    real &= v.parse::<f64>().is_ok_and(f64::is_finite);
                }
            }
        }
        let t = match (int, real, big) {
            (true, _, false) => FieldType::Integer,
            (true, _, true) => FieldType::BigInteger,
            (false, true, _) => FieldType::Double,
            _ => FieldType::String,
        };
        let mut f = Field::new(headers.get(c).unwrap_or("").trim(), t.clone());
        if t == FieldType::String {
            f.length = Some(max_len as u32);
        }
        fields.push(f);
    }
    let mut features = Vec::with_capacity(rows.len());
    let mut gtype: Option<GeometryType> = None;
    for (n, row) in rows.iter().enumerate() {
        let line = n + 2;
        let geometry = if let Some(c) = wkt_col {
            let text = row.get(c).unwrap_or("").trim();
            if text.is_empty() {
                None
            } else {
                Some(
                    geometry_from_geozero(&Wkt(text))
                        .map_err(|e| err(format!("line {line}: {e}")))?,
                )
            }
        } else if let Some((x, y)) = xy {
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
            match (num(x, "x")?, num(y, "y")?) {
                (Some(x), Some(y)) => Some(Geometry::Point(Point::new(x, y))),
                _ => None,
            }
        } else {
            None
        };
        if let Some(g) = &geometry {
            let t = g.geometry_type();
            match &gtype {
                None => gtype = Some(t),
                Some(old) if *old == t => {}
                Some(old) => {
                    return Err(err(format!("line {line}: a {t} among {old} geometries")));
                }
            }
        }
        let mut attributes = gp_model::Attributes::new();
        for (f, &c) in fields.iter().zip(&attr_cols) {
            let t = row.get(c).unwrap_or("").trim();
            let v = if t.is_empty() {
                AttrValue::Null
            } else {
                match f.field_type {
                    FieldType::Integer | FieldType::BigInteger => {
                        t.parse().map_or(AttrValue::Null, AttrValue::Int)
                    }
                    FieldType::Double => t.parse().map_or(AttrValue::Null, AttrValue::Float),
                    _ => AttrValue::String(row.get(c).unwrap_or("").to_string()),
                }
            };
            attributes.insert(f.name.clone(), v);
        }
        features.push(Feature {
            attributes,
            geometry,
        });
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
    let mut fs = FeatureSet {
        geometry_type: gtype.or_else(|| xy.map(|_| GeometryType::Point)),
        spatial_reference: lonlat.then(|| SpatialReference::from_wkid(4326)),
        fields: Some(fields),
        features,
        ..Default::default()
    };
    crate::schema::promote_dates(&mut fs);
    Ok(fs)
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
        let w = csv::Writer::from_path(path).map_err(|e| fmt_err(path, "CSV")(e.to_string()))?;
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

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.w
            .flush()
            .map_err(|e| fmt_err(&self.path, "CSV")(e.to_string()))
    }
}

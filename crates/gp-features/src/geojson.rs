//! GeoJSON and newline-delimited GeoJSON, through geozero.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use geozero::GeozeroDatasource;
use geozero::geojson::{GeoJsonLineReader, GeoJsonReader};
use std::collections::HashMap;

use gp_model::esrijson::{FeatureSetBuilder, group_rings};
use gp_model::geometry::DEFAULT_DENSIFY_ANGLE;
use gp_model::{AttrValue, Coord, Feature, FeatureSet, FieldType, Geometry, SpatialReference};

use crate::error::{Result, fmt_err, io};

/// The legacy `crs` member (`"name": "EPSG:3857"` or `urn:ogc:def:crs:EPSG::3857`),
/// else WGS 84 as RFC 7946 says.
fn crs_of(head: &str) -> SpatialReference {
    if let Some(i) = head.find("\"crs\"") {
        let rest = &head[i..head.len().min(i + 300)];
        if let Some(j) = rest.find("EPSG:") {
            let digits: String = rest[j + 5..]
                .trim_start_matches(':')
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(code) = digits.parse() {
                return SpatialReference::from_wkid(code);
            }
        }
    }
    SpatialReference::from_wkid(4326)
}

pub(crate) fn read(path: &Path, lines: bool) -> Result<FeatureSet> {
    let mut head = vec![0u8; 8192];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(io("reading", path))?;
    head.truncate(n);
    let sr = crs_of(&String::from_utf8_lossy(&head));
    let f = BufReader::new(std::fs::File::open(path).map_err(io("opening", path))?);
    let mut b = FeatureSetBuilder::new();
    let res = if lines {
        GeoJsonLineReader::new(f).process(&mut b)
    } else {
        GeoJsonReader(f).process(&mut b)
    };
    res.map_err(|e| fmt_err(path, "GeoJSON")(e.to_string()))?;
    let mut fs = b.finish()?;
    fs.spatial_reference = Some(sr);
    crate::schema::promote_dates(&mut fs);
    Ok(fs)
}

fn num(out: &mut Vec<u8>, v: f64, buf: &mut ryu::Buffer) {
    if v.is_finite() {
        out.extend_from_slice(buf.format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

fn position(out: &mut Vec<u8>, c: &Coord, z: bool, buf: &mut ryu::Buffer) {
    out.push(b'[');
    num(out, c.x, buf);
    out.push(b',');
    num(out, c.y, buf);
    if z {
        out.push(b',');
        num(out, c.z.unwrap_or(0.0), buf);
    }
    out.push(b']');
}

fn positions<'a>(
    out: &mut Vec<u8>,
    cs: impl Iterator<Item = &'a Coord>,
    z: bool,
    buf: &mut ryu::Buffer,
) {
    out.push(b'[');
    for (i, c) in cs.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        position(out, c, z, buf);
    }
    out.push(b']');
}

/// A polygon's rings in RFC 7946 orientation: exterior counter-clockwise, holes clockwise.
fn polygon(out: &mut Vec<u8>, rings: &[&Vec<Coord>], z: bool, buf: &mut ryu::Buffer) {
    out.push(b'[');
    for (i, r) in rings.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let ccw = gp_model::geometry::ring_signed_area(r) > 0.0;
        if (i == 0) == ccw {
            positions(out, r.iter(), z, buf);
        } else {
            positions(out, r.iter().rev(), z, buf);
        }
    }
    out.push(b']');
}

/// A geometry as GeoJSON, written straight into `out` (curves densified, Esri rings
/// grouped into polygons; M is not part of GeoJSON).
fn geometry_json(out: &mut Vec<u8>, g: &Geometry) {
    let mut buf = ryu::Buffer::new();
    let z = g.dims().has_z;
    match g {
        Geometry::Point(p) => {
            out.extend_from_slice(b"{\"type\":\"Point\",\"coordinates\":");
            position(
                out,
                p.coord.as_ref().unwrap_or(&Coord::default()),
                z,
                &mut buf,
            );
        }
        Geometry::Multipoint(mp) => {
            out.extend_from_slice(b"{\"type\":\"MultiPoint\",\"coordinates\":");
            positions(out, mp.points.iter(), z, &mut buf);
        }
        Geometry::Polyline(pl) => {
            let paths = pl.linear_paths(DEFAULT_DENSIFY_ANGLE);
            if paths.len() == 1 {
                out.extend_from_slice(b"{\"type\":\"LineString\",\"coordinates\":");
                positions(out, paths[0].iter(), z, &mut buf);
            } else {
                out.extend_from_slice(b"{\"type\":\"MultiLineString\",\"coordinates\":[");
                for (i, p) in paths.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    positions(out, p.iter(), z, &mut buf);
                }
                out.push(b']');
            }
        }
        Geometry::Polygon(pg) => {
            let rings = pg.linear_rings(DEFAULT_DENSIFY_ANGLE);
            let polys = group_rings(&rings);
            if polys.len() == 1 {
                out.extend_from_slice(b"{\"type\":\"Polygon\",\"coordinates\":");
                polygon(out, &polys[0], z, &mut buf);
            } else {
                out.extend_from_slice(b"{\"type\":\"MultiPolygon\",\"coordinates\":[");
                for (i, p) in polys.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    polygon(out, p, z, &mut buf);
                }
                out.push(b']');
            }
        }
        Geometry::Envelope(e) => {
            let [x0, y0, x1, y1] = e.bounds().unwrap_or_default();
            let ring = vec![
                Coord::xy(x0, y0),
                Coord::xy(x1, y0),
                Coord::xy(x1, y1),
                Coord::xy(x0, y1),
                Coord::xy(x0, y0),
            ];
            out.extend_from_slice(b"{\"type\":\"Polygon\",\"coordinates\":");
            polygon(out, &[&ring], false, &mut buf);
        }
        _ => {
            out.extend_from_slice(b"null");
            return;
        }
    }
    out.push(b'}');
}

/// Writes one feature as a GeoJSON object: properties (nulls kept, dates as RFC 3339
/// text) and the geometry (`null` when absent or empty).
fn write_feature<W: Write>(
    out: &mut W,
    f: &Feature,
    types: &HashMap<String, FieldType>,
    geom: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    let e = |x: std::io::Error| x.to_string();
    out.write_all(b"{\"type\":\"Feature\",\"properties\":{")
        .map_err(e)?;
    for (i, (k, v)) in f.attributes.iter().enumerate() {
        if i > 0 {
            out.write_all(b",").map_err(e)?;
        }
        serde_json::to_writer(&mut *out, k).map_err(|x| x.to_string())?;
        out.write_all(b":").map_err(e)?;
        match (types.get(k.as_str()), v) {
            (Some(FieldType::Date), AttrValue::Int(ms)) => {
                match chrono::DateTime::from_timestamp_millis(*ms) {
                    Some(d) => serde_json::to_writer(
                        &mut *out,
                        &d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    ),
                    None => serde_json::to_writer(&mut *out, ms),
                }
            }
            _ => serde_json::to_writer(&mut *out, v),
        }
        .map_err(|x| x.to_string())?;
    }
    out.write_all(b"},\"geometry\":").map_err(e)?;
    match &f.geometry {
        Some(g) if !g.is_empty() => {
            geom.clear();
            geometry_json(geom, g);
            out.write_all(geom).map_err(e)?;
        }
        _ => out.write_all(b"null").map_err(e)?,
    }
    out.write_all(b"}").map_err(e)
}

/// GeoJSON (or GeoJSON sequence) written feature by feature.
pub(crate) struct GeoJsonSink {
    path: std::path::PathBuf,
    out: BufWriter<std::fs::File>,
    lines: bool,
    types: HashMap<String, FieldType>,
    count: usize,
    geom: Vec<u8>,
}

impl GeoJsonSink {
    pub(crate) fn create(path: &Path, lines: bool) -> Result<Self> {
        let f = std::fs::File::create(path).map_err(io("creating", path))?;
        Ok(GeoJsonSink {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, f),
            lines,
            types: HashMap::new(),
            count: 0,
            geom: Vec::new(),
        })
    }
}

impl crate::sink::FeatureSink for GeoJsonSink {
    fn start(&mut self, fs: &FeatureSet) -> Result<()> {
        self.types = fs
            .fields
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|f| (f.name.clone(), f.field_type.clone()))
            .collect();
        if !self.lines {
            let w = |x: std::io::Error| io("writing", &self.path)(x);
            let mut head = String::from("{\"type\":\"FeatureCollection\",");
            // RFC 7946 GeoJSON is WGS 84; other systems get the legacy `crs` member that
            // GDAL and this crate read.
            if let Some(code) = fs
                .spatial_reference
                .as_ref()
                .and_then(SpatialReference::epsg)
                .filter(|c| *c != 4326)
            {
                head.push_str(&format!(
                    "\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{code}\"}}}},"
                ));
            }
            head.push_str("\"features\":[\n");
            self.out.write_all(head.as_bytes()).map_err(w)?;
        }
        Ok(())
    }

    fn feature(&mut self, f: &Feature) -> Result<()> {
        let path = self.path.clone();
        let w = |x: std::io::Error| io("writing", &path)(x);
        if self.count > 0 && !self.lines {
            self.out.write_all(b",\n").map_err(w)?;
        }
        write_feature(&mut self.out, f, &self.types, &mut self.geom)
            .map_err(|x| fmt_err(&path, "GeoJSON")(format!("feature {}: {x}", self.count)))?;
        if self.lines {
            self.out.write_all(b"\n").map_err(w)?;
        }
        self.count += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        let w = |x: std::io::Error| io("writing", &self.path)(x);
        if !self.lines {
            self.out.write_all(b"\n]}\n").map_err(w)?;
        }
        self.out.flush().map_err(|x| io("writing", &self.path)(x))
    }
}

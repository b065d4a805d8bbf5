//! GeoJSON and newline-delimited GeoJSON, through geozero.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use geozero::GeozeroDatasource;
use geozero::geojson::GeoJsonReader;
use std::collections::HashMap;

use std::sync::Arc;

use rayon::iter::{IndexedParallelIterator, ParallelIterator};
use rayon::slice::ParallelSlice;

use gp_model::esrijson::FeatureSetBuilder;
use gp_model::{AttrValue, Coord, FeatureSet, FieldType, SpatialReference};

use crate::error::{Result, fmt_err, io};
use crate::flat::{FlatBatch, FlatGeom, Kind};
use crate::schema::{DateLook, to_date};
use crate::sink::{Encoded, Encoder};

/// The legacy `crs` member (`"name": "EPSG:3857"` or `urn:ogc:def:crs:EPSG::3857`),
/// else WGS 84 as RFC 7946 says.
fn crs_of(head: &str) -> SpatialReference {
    if let Some(i) = head.find("\"crs\"") {
        // 300 bytes, cut back to a character boundary (the head is any text).
        let mut end = head.len().min(i + 300);
        while !head.is_char_boundary(end) {
            end -= 1;
        }
        let rest = &head[i..end];
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

/// The first 8 KiB of a file, as text.
fn head_of(path: &Path) -> Result<String> {
    let mut head = vec![0u8; 8192];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(io("reading", path))?;
    head.truncate(n);
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// True when the file starts as a FeatureCollection, which [`read_each`] streams
/// (a single feature or a bare geometry is read whole).
pub(crate) fn streamable(path: &Path) -> Result<bool> {
    let head = head_of(path)?;
    Ok(head.contains("\"FeatureCollection\"") && head.contains("\"features\""))
}

/// Reads a GeoJSON FeatureCollection into `to` in two passes over the file, so memory
/// does not grow with it: the first settles the schema (each property's type widened
/// over every value, date-time text columns as dates, as [`read`] does), the second
/// reads the features again and hands them over shaped to it. Features are cut from
/// the `features` array by the Esri JSON cutter and each is read by geozero.
///
/// With `lines`, the file is a GeoJSON sequence: each non-blank line (RFC 8142 record
/// separators allowed) is a feature.
pub(crate) fn read_each(
    path: &Path,
    lines: bool,
    to: &mut dyn crate::sink::Consumer,
) -> Result<()> {
    let batches = |each: &mut BatchFn<'_>| {
        if lines {
            line_batches(path, each)
        } else {
            crate::stream::for_each_batch(path, each)
        }
    };
    let err = fmt_err(path, "GeoJSON");
    let sr = crs_of(&head_of(path)?);
    let feed = |b: &mut FeatureSetBuilder, data: &[u8], ranges: &[(usize, usize)], first| {
        for (k, &(s, e)) in ranges.iter().enumerate() {
            let n = first + k;
            let text = std::str::from_utf8(&data[s..e])
                .map_err(|_| err(format!("feature {n} is not UTF-8 text")))?;
            geozero::geojson::GeoJson(text).process(b).map_err(|e| {
                // The builder names the feature as the first of the text it was given
                // (inside geozero's "processing geometry `…`" when it is about the
                // geometry): name it by its place in the file instead.
                let e = e.to_string();
                let why = match e.find("feature 0: ") {
                    Some(at) => e[at + "feature 0: ".len()..].trim_end_matches('`'),
                    None => &e,
                };
                err(format!("feature {n}: {why}"))
            })?;
        }
        Ok::<(), crate::Error>(())
    };
    let see = |looks: &mut HashMap<String, DateLook>, b: &mut FeatureSetBuilder| {
        for f in b.take_features() {
            for (k, v) in &f.attributes {
                looks.entry(k.clone()).or_default().see(Some(v));
            }
        }
    };
    // First pass: the schema, and which text columns hold dates. Each batch is parsed
    // in parallel slices, one builder each, absorbed in order (which gives what one
    // builder gives); on any failure the pass is run again on one builder, whose
    // error names the feature where it happens.
    let parallel = || -> Result<(FeatureSetBuilder, HashMap<String, DateLook>)> {
        let (mut b, mut looks) = (FeatureSetBuilder::new(), HashMap::new());
        batches(&mut |data, ranges, first| {
            let parts: Vec<Result<_>> = ranges
                .par_chunks(TASK)
                .enumerate()
                .map(|(c, slice)| {
                    let mut part = FeatureSetBuilder::new();
                    feed(&mut part, data, slice, first + c * TASK)?;
                    let mut part_looks = HashMap::new();
                    see(&mut part_looks, &mut part);
                    Ok((part, part_looks))
                })
                .collect();
            for part in parts {
                let (part, part_looks) = part?;
                b.absorb(part)?;
                for (k, l) in part_looks {
                    looks.entry(k).or_insert_with(DateLook::default).absorb(l);
                }
            }
            Ok(())
        })?;
        Ok((b, looks))
    };
    let (b, looks) = match parallel() {
        Ok(done) => done,
        Err(_) => {
            let (mut b, mut looks) = (FeatureSetBuilder::new(), HashMap::new());
            batches(&mut |data, ranges, first| {
                feed(&mut b, data, ranges, first)?;
                see(&mut looks, &mut b);
                Ok(())
            })?;
            (b, looks)
        }
    };
    let mut schema = b.schema();
    schema.spatial_reference = Some(sr);
    let mut dates = Vec::new();
    for f in schema.fields.iter_mut().flatten() {
        if f.field_type == FieldType::String && looks.get(&f.name).is_some_and(DateLook::dates) {
            f.field_type = FieldType::Date;
            f.length = None;
            dates.push(f.name.clone());
        }
    }
    to.schema(&schema)?;
    // Second pass: the features, shaped to the schema by copies of the first pass's
    // builder, in parallel slices.
    batches(&mut |data, ranges, first| {
        let parts: Vec<Result<_>> = ranges
            .par_chunks(TASK)
            .enumerate()
            .map(|(c, slice)| {
                let mut part = b.clone();
                feed(&mut part, data, slice, first + c * TASK)?;
                Ok(part.take_features())
            })
            .collect();
        for part in parts {
            for mut f in part? {
                for name in &dates {
                    if let Some(v) = f.attributes.get_mut(name) {
                        to_date(v);
                    }
                }
                to.feature(f)?;
            }
        }
        Ok(())
    })
}

/// Features per parallel task of [`read_each`].
const TASK: usize = 256;

/// Takes a batch of feature texts: `data[ranges[k]]` is feature `first + k`.
type BatchFn<'a> = dyn FnMut(&[u8], &[(usize, usize)], usize) -> Result<()> + 'a;

/// Features per batch of a GeoJSON sequence.
const LINES: usize = 4096;

/// Calls `each(data, ranges, first)` for batches of the non-blank lines of `path`
/// (leading RFC 8142 record separators removed): `data[ranges[k]]` is feature
/// `first + k`.
fn line_batches(path: &Path, each: &mut BatchFn<'_>) -> Result<()> {
    use std::io::BufRead;
    let mut r = BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(path).map_err(io("opening", path))?,
    );
    let (mut data, mut ranges, mut first) = (Vec::new(), Vec::new(), 0);
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)
            .map_err(io("reading", path))?
            == 0
        {
            break;
        }
        let t = line.trim_ascii();
        let t = t.strip_prefix(&[0x1e]).unwrap_or(t).trim_ascii();
        if t.is_empty() {
            continue;
        }
        let at = data.len();
        data.extend_from_slice(t);
        ranges.push((at, data.len()));
        if ranges.len() >= LINES {
            each(&data, &ranges, first)?;
            first += ranges.len();
            data.clear();
            ranges.clear();
        }
    }
    if !ranges.is_empty() {
        each(&data, &ranges, first)?;
    }
    Ok(())
}

pub(crate) fn read(path: &Path, lines: bool) -> Result<FeatureSet> {
    if lines || streamable(path)? {
        let mut all = crate::sink::Collect::default();
        read_each(path, lines, &mut all)?;
        return Ok(all.0);
    }
    // A single feature or a bare geometry.
    let sr = crs_of(&head_of(path)?);
    let f = BufReader::new(std::fs::File::open(path).map_err(io("opening", path))?);
    let mut b = FeatureSetBuilder::new();
    GeoJsonReader(f)
        .process(&mut b)
        .map_err(|e| fmt_err(path, "GeoJSON")(e.to_string()))?;
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
fn polygon(out: &mut Vec<u8>, rings: &[&[Coord]], z: bool, buf: &mut ryu::Buffer) {
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

/// A geometry as GeoJSON, written straight into `out` (Esri rings grouped into
/// polygons; M is not part of GeoJSON; empty geometries are `null`).
fn geometry_json(out: &mut Vec<u8>, g: &FlatGeom<'_>, buf: &mut ryu::Buffer) {
    if g.is_empty() {
        out.extend_from_slice(b"null");
        return;
    }
    let z = g.has_z;
    match g.kind {
        Kind::Point => {
            out.extend_from_slice(b"{\"type\":\"Point\",\"coordinates\":");
            position(out, &g.coords()[0], z, buf);
        }
        Kind::Multipoint => {
            out.extend_from_slice(b"{\"type\":\"MultiPoint\",\"coordinates\":");
            positions(out, g.coords().iter(), z, buf);
        }
        Kind::Polyline => {
            if g.parts().len() == 1 {
                out.extend_from_slice(b"{\"type\":\"LineString\",\"coordinates\":");
                positions(out, g.coords().iter(), z, buf);
            } else {
                out.extend_from_slice(b"{\"type\":\"MultiLineString\",\"coordinates\":[");
                for (i, p) in g.parts().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    positions(out, p.iter(), z, buf);
                }
                out.push(b']');
            }
        }
        Kind::Polygon => {
            let polys = g.polygons();
            if polys.len() == 1 {
                out.extend_from_slice(b"{\"type\":\"Polygon\",\"coordinates\":");
                polygon(out, &polys[0], z, buf);
            } else {
                out.extend_from_slice(b"{\"type\":\"MultiPolygon\",\"coordinates\":[");
                for (i, p) in polys.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    polygon(out, p, z, buf);
                }
                out.push(b']');
            }
        }
    }
    out.push(b'}');
}

/// One property value: dates (epoch milliseconds in a date field) as RFC 3339 text.
fn property(out: &mut Vec<u8>, v: &AttrValue, date: bool, buf: &mut ryu::Buffer) {
    match v {
        AttrValue::Int(ms) if date => match chrono::DateTime::from_timestamp_millis(*ms) {
            Some(d) => {
                out.push(b'"');
                out.extend_from_slice(
                    d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                        .as_bytes(),
                );
                out.push(b'"');
            }
            None => out.extend_from_slice(ms.to_string().as_bytes()),
        },
        AttrValue::Null => out.extend_from_slice(b"null"),
        AttrValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        AttrValue::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        AttrValue::Float(f) => num(out, *f, buf),
        AttrValue::String(s) => {
            // Text only needs escaping when it has quotes, backslashes or controls.
            if s.bytes().any(|c| c < 0x20 || c == b'"' || c == b'\\') {
                serde_json::to_writer(&mut *out, s).unwrap_or_default();
            } else {
                out.push(b'"');
                out.extend_from_slice(s.as_bytes());
                out.push(b'"');
            }
        }
        // Writing JSON values into memory cannot fail.
        other => serde_json::to_writer(&mut *out, other).unwrap_or_default(),
    }
}

/// The per-feature half of the GeoJSON writer.
struct GeoJsonEncoder {
    /// Each field's `"name":`, already escaped.
    keys: Vec<Vec<u8>>,
    dates: Vec<bool>,
    lines: bool,
}

impl Encoder for GeoJsonEncoder {
    fn encode(&self, batch: &FlatBatch, enc: &mut Encoded) -> Result<()> {
        let mut buf = ryu::Buffer::new();
        let mut scratch = AttrValue::Null;
        let Encoded {
            bytes: out, ends, ..
        } = enc;
        for i in 0..batch.len() {
            let f = batch.get(i);
            if !self.lines && batch.first + i > 0 {
                out.extend_from_slice(b",\n");
            }
            out.extend_from_slice(b"{\"type\":\"Feature\",\"properties\":{");
            let mut sep = false;
            for k in 0..f.width() {
                if let Some(v) = f.attr(k, &mut scratch) {
                    if sep {
                        out.push(b',');
                    }
                    sep = true;
                    out.extend_from_slice(&self.keys[k]);
                    property(out, v, self.dates[k], &mut buf);
                }
            }
            for (k, v) in batch.extras(i) {
                if sep {
                    out.push(b',');
                }
                sep = true;
                serde_json::to_writer(&mut *out, k).unwrap_or_default();
                out.push(b':');
                property(out, v, false, &mut buf);
            }
            out.extend_from_slice(b"},\"geometry\":");
            match &f.geometry {
                Some(g) => geometry_json(out, g, &mut buf),
                None => out.extend_from_slice(b"null"),
            }
            out.push(b'}');
            if self.lines {
                out.push(b'\n');
            }
            ends.push(out.len());
        }
        Ok(())
    }
}

/// GeoJSON (or GeoJSON sequence) written feature by feature.
pub(crate) struct GeoJsonSink {
    path: std::path::PathBuf,
    out: BufWriter<std::fs::File>,
    lines: bool,
    encoder: Option<Arc<GeoJsonEncoder>>,
    count: usize,
}

impl GeoJsonSink {
    pub(crate) fn create(path: &Path, lines: bool) -> Result<Self> {
        let f = gp_fs::create_file(path).map_err(io("creating", path))?;
        Ok(GeoJsonSink {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, f),
            lines,
            encoder: None,
            count: 0,
        })
    }
}

impl crate::sink::FeatureSink for GeoJsonSink {
    fn start(&mut self, fs: &FeatureSet) -> Result<()> {
        let fields = fs.fields.as_deref().unwrap_or_default();
        self.encoder = Some(Arc::new(GeoJsonEncoder {
            keys: fields
                .iter()
                .map(|f| {
                    let mut k = serde_json::to_vec(&f.name).unwrap_or_default();
                    k.push(b':');
                    k
                })
                .collect(),
            dates: fields
                .iter()
                .map(|f| f.field_type == FieldType::Date)
                .collect(),
            lines: self.lines,
        }));
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

    fn finish(mut self: Box<Self>) -> Result<()> {
        let w = |x: std::io::Error| io("writing", &self.path)(x);
        if !self.lines {
            self.out.write_all(b"\n]}\n").map_err(w)?;
        }
        self.out.flush().map_err(|x| io("writing", &self.path)(x))
    }
}

impl crate::sink::BatchWriter for GeoJsonSink {
    fn encoder(&self) -> Option<Arc<dyn Encoder>> {
        self.encoder.clone().map(|e| e as Arc<dyn Encoder>)
    }

    fn reads_batches(&self) -> bool {
        false
    }

    fn encoded(&mut self, _batch: &FlatBatch, enc: Encoded) -> Result<()> {
        self.out
            .write_all(&enc.bytes)
            .map_err(|x| io("writing", &self.path)(x))?;
        self.count += enc.ends.len();
        Ok(())
    }
}

//! FlatGeobuf, with its packed R-tree index, through the `flatgeobuf` crate.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use flatgeobuf::packed_r_tree::NodeItem;
use flatgeobuf::{ColumnType, FallibleStreamingIterator, FgbReader, GeometryType as FgbType};
use gp_model::esrijson::{FeatureSetBuilder, column_value};
use gp_model::{FeatureSet, FieldType, GeometryType, SpatialReference};
use rayon::iter::{
    IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator, ParallelIterator,
};
use rayon::slice::ParallelSliceMut;

use std::sync::Arc;

use crate::error::{Result, fmt_err, io};
use crate::flat::{FlatBatch, FlatGeom, FlatSchema, Kind};
use crate::sink::{Encoded, Encoder};

/// Loads a whole FlatGeobuf file.
pub(crate) fn read(path: &Path) -> Result<FeatureSet> {
    let mut all = crate::sink::Collect::default();
    read_each(path, &mut all)?;
    Ok(all.0)
}

/// The field type of a FlatGeobuf column type.
fn field_type(t: ColumnType) -> FieldType {
    match t {
        ColumnType::Byte
        | ColumnType::UByte
        | ColumnType::Bool
        | ColumnType::Short
        | ColumnType::UShort => FieldType::SmallInteger,
        ColumnType::Int | ColumnType::UInt => FieldType::Integer,
        ColumnType::Long | ColumnType::ULong => FieldType::BigInteger,
        ColumnType::Float => FieldType::Single,
        ColumnType::Double => FieldType::Double,
        ColumnType::DateTime => FieldType::Date,
        ColumnType::Binary => FieldType::Blob,
        _ => FieldType::String,
    }
}

/// Features read per batch by [`read_each`].
const READ_BATCH: usize = 4096;

/// Reads a FlatGeobuf file feature by feature into `to`: its schema (columns, geometry
/// type, dimensions and CRS from the header; a generic geometry type from the first
/// feature), then every feature in file order, in batches. Memory does not grow with
/// the file.
pub(crate) fn read_each(path: &Path, to: &mut dyn crate::sink::Consumer) -> Result<()> {
    let err = fmt_err(path, "FlatGeobuf");
    // Sizes first: the crate allocates what the file declares before it reads.
    crate::fgb_check::check_layout(path).map_err(&err)?;
    let f = BufReader::new(std::fs::File::open(path).map_err(io("opening", path))?);
    let reader = FgbReader::open(f).map_err(|e| err(e.to_string()))?;
    let header = reader.header();
    let column_types: Vec<ColumnType> = header
        .columns()
        .map(|cols| cols.iter().map(|c| c.type_()).collect())
        .unwrap_or_default();
    let fields: Vec<gp_model::Field> = header
        .columns()
        .map(|cols| {
            cols.iter()
                .map(|c| gp_model::Field::new(c.name().to_string(), field_type(c.type_())))
                .collect()
        })
        .unwrap_or_default();
    let declared = match header.geometry_type() {
        FgbType::Point => Some(GeometryType::Point),
        FgbType::MultiPoint => Some(GeometryType::Multipoint),
        FgbType::LineString | FgbType::MultiLineString => Some(GeometryType::Polyline),
        FgbType::Polygon | FgbType::MultiPolygon => Some(GeometryType::Polygon),
        _ => None,
    };
    let (has_z, has_m) = (header.has_z(), header.has_m());
    let sr = header
        .crs()
        .map(|c| c.code())
        .filter(|c| *c > 0)
        .map(SpatialReference::from_wkid);
    let mut iter = reader.select_all_seq().map_err(|e| err(e.to_string()))?;
    // One batch through gp-model's geozero builder. The flatgeobuf reader indexes its
    // buffers without checking them, so a malformed file can panic inside it: contain
    // that and report it as the error it is.
    let mut index = 0u64;
    let mut next_batch = || -> Result<FeatureSet> {
        let mut b = FeatureSetBuilder::new();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            use geozero::FeatureAccess;
            for _ in 0..READ_BATCH {
                let Some(f) = iter
                    .next()
                    .map_err(|e| geozero::error::GeozeroError::Feature(e.to_string()))?
                else {
                    break;
                };
                crate::fgb_check::check_feature(&f.fbs_feature(), &column_types).map_err(|m| {
                    geozero::error::GeozeroError::Feature(format!("feature {index}: {m}"))
                })?;
                if f.geometry().is_some() {
                    f.process(&mut b, index)?;
                } else {
                    // No geometry (the crate's `process` refuses that): the properties.
                    use geozero::{FeatureProcessor, FeatureProperties};
                    b.feature_begin(index)?;
                    b.properties_begin()?;
                    f.process_properties(&mut b)?;
                    b.properties_end()?;
                    b.feature_end(index)?;
                }
                index += 1;
            }
            Ok::<(), geozero::error::GeozeroError>(())
        }));
        match outcome {
            Ok(r) => r.map_err(|e| err(e.to_string()))?,
            Err(_) => {
                return Err(err(
                    "the file is malformed (the FlatGeobuf reader failed on it)".into(),
                ));
            }
        }
        Ok(b.finish()?)
    };
    let mut batch = next_batch()?;
    to.schema(&FeatureSet {
        geometry_type: declared.or_else(|| batch.geometry_type.clone()),
        spatial_reference: sr,
        has_z,
        has_m,
        fields: Some(fields.clone()),
        ..Default::default()
    })?;
    loop {
        let n = batch.features.len();
        for mut f in batch.features {
            // Every column, in column order (absent values null).
            let mut attrs = gp_model::Attributes::with_capacity(fields.len());
            for field in &fields {
                let v = f
                    .attributes
                    .swap_remove(&field.name)
                    .unwrap_or(gp_model::AttrValue::Null);
                attrs.insert(field.name.clone(), v);
            }
            f.attributes = attrs;
            to.feature(f)?;
        }
        if n < READ_BATCH {
            return Ok(());
        }
        batch = next_batch()?;
    }
}

fn column_type(t: &FieldType) -> ColumnType {
    match t {
        FieldType::SmallInteger => ColumnType::Short,
        FieldType::Integer => ColumnType::Int,
        FieldType::Oid | FieldType::BigInteger => ColumnType::Long,
        FieldType::Single => ColumnType::Float,
        FieldType::Double => ColumnType::Double,
        FieldType::Date => ColumnType::DateTime,
        _ => ColumnType::String,
    }
}

/// The FlatGeobuf magic bytes, version 3.
const MAGIC: [u8; 8] = [b'f', b'g', b'b', 3, b'f', b'g', b'b', 0];

/// FlatGeobuf written feature by feature. Features are encoded (in parallel, see
/// [`FgbEncoder`]) with the `flatgeobuf` crate's flatbuffers types and kept in memory
/// while small, the rest spilled to a temporary file; at the end they are sorted along
/// a Hilbert curve, the packed R-tree is written (in the crate's layout, see
/// [`write_index`]), and the features are copied in that order: from memory in
/// parallel (see [`gather_sorted`]) when they fit, else from the temporary file (see
/// [`copy_sorted`]). (The crate's own `FgbWriter` re-reads each feature through a
/// `BufReader` that it seeks, which throws its 8 KiB buffer away every time: for a
/// million small features that costs more than everything else together.)
pub(crate) struct FgbSink {
    path: std::path::PathBuf,
    name: String,
    fields: Vec<gp_model::Field>,
    gt: FgbType,
    has_z: bool,
    has_m: bool,
    code: i32,
    encoder: Option<Arc<FgbEncoder>>,
    started: bool,
    /// The first encoded features, in arrival order. One buffer owned here (not the
    /// encoders' buffers, which come from the parsing threads' allocator arenas and
    /// would keep their neighbours' freed memory resident).
    mem: Vec<u8>,
    /// The features past the memory limit: a temporary file holding the data from
    /// offset `mem.len()` on, at their own offsets (the room before is filled with
    /// `mem` only if the end copies from the file).
    spill: Option<tempfile::NamedTempFile>,
    /// Feature `i` is bytes `starts[i]..starts[i + 1]` of the data in arrival order.
    starts: Vec<u64>,
    /// Each feature's bounds: min x, min y, max x, max y (NaN for no geometry).
    boxes: Vec<[f64; 4]>,
    extent: [f64; 4],
    /// A feature has no geometry (null or empty). A spatial index cannot hold it, so
    /// the file is written without one, features in input order (as GDAL requires:
    /// it refuses such features in an indexed file, and reads files without index).
    unindexed: bool,
    /// Encoded features are kept in memory while they and the per-feature entries
    /// ([`PER_FEATURE`]) take at most this many bytes; the rest is spilled.
    mem_limit: usize,
    /// At the end, spilled features are read back for an in-memory copy when all the
    /// data and [`END_PER_FEATURE`] per feature take at most this many bytes.
    end_limit: usize,
}

impl FgbSink {
    pub(crate) fn create(path: &Path, name: &str) -> Self {
        FgbSink {
            path: path.to_path_buf(),
            name: name.to_string(),
            fields: Vec::new(),
            gt: FgbType::Unknown,
            has_z: false,
            has_m: false,
            code: 0,
            encoder: None,
            started: false,
            mem: Vec::new(),
            spill: None,
            starts: vec![0],
            boxes: Vec::new(),
            unindexed: false,
            extent: [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ],
            mem_limit: MEM_LIMIT,
            end_limit: END_LIMIT,
        }
    }
}

/// See [`FgbSink::mem_limit`].
const MEM_LIMIT: usize = 80 << 20;
/// Memory per feature while reading: its bounds and start.
const PER_FEATURE: usize = 40;
/// See [`FgbSink::end_limit`].
const END_LIMIT: usize = 128 << 20;
/// Memory per feature in the in-memory copy: its start and place in the order.
const END_PER_FEATURE: usize = 12;

/// Coordinates of one geometry (or part) as FlatGeobuf arrays.
#[derive(Default)]
struct Arrays {
    xy: Vec<f64>,
    z: Vec<f64>,
    m: Vec<f64>,
    ends: Vec<u32>,
}

impl Arrays {
    /// Empties the arrays, keeping their room (one `Arrays` serves every feature of a
    /// batch).
    fn clear(&mut self) {
        self.xy.clear();
        self.z.clear();
        self.m.clear();
        self.ends.clear();
    }

    /// Appends coordinates in the order given, widening `bbox` to them.
    fn extend<'c>(
        &mut self,
        cs: impl ExactSizeIterator<Item = &'c gp_model::Coord>,
        z: bool,
        m: bool,
        bbox: &mut [f64; 4],
    ) {
        self.xy.reserve(2 * cs.len());
        let [mut x0, mut y0, mut x1, mut y1] = *bbox;
        for c in cs {
            self.xy.extend_from_slice(&[c.x, c.y]);
            if z {
                self.z.push(c.z.unwrap_or(0.0));
            }
            if m {
                self.m.push(c.m.unwrap_or(f64::NAN));
            }
            x0 = x0.min(c.x);
            y0 = y0.min(c.y);
            x1 = x1.max(c.x);
            y1 = y1.max(c.y);
        }
        *bbox = [x0, y0, x1, y1];
    }

    fn end(&mut self) {
        self.ends.push((self.xy.len() / 2) as u32);
    }

    fn build<'a>(
        &self,
        fbb: &mut flatbuffers::FlatBufferBuilder<'a>,
        type_: FgbType,
        keep_ends: bool,
    ) -> flatbuffers::WIPOffset<flatgeobuf::Geometry<'a>> {
        let xy = Some(fbb.create_vector(&self.xy));
        let z = (!self.z.is_empty()).then(|| fbb.create_vector(&self.z));
        let m = (!self.m.is_empty()).then(|| fbb.create_vector(&self.m));
        let ends = (keep_ends && self.ends.len() > 1).then(|| fbb.create_vector(&self.ends));
        flatgeobuf::Geometry::create(
            fbb,
            &flatgeobuf::GeometryArgs {
                xy,
                z,
                m,
                ends,
                type_,
                ..Default::default()
            },
        )
    }
}

fn put_props(
    out: &mut Vec<u8>,
    fields: &[(usize, gp_model::Field)],
    f: &crate::flat::FlatFeature<'_>,
    scratch: &mut gp_model::AttrValue,
) {
    use geozero::ColumnValue as C;
    out.clear();
    let mut text = String::new();
    for (ci, (slot, field)) in fields.iter().enumerate() {
        let Some(v) = f.attr(*slot, scratch) else {
            continue;
        };
        let Some(cv) = column_value(v, Some(&field.field_type), &mut text) else {
            continue;
        };
        // The value must have the column's declared type.
        let cv = match (column_type(&field.field_type), cv) {
            (ColumnType::Long, C::Short(x)) => C::Long(x.into()),
            (ColumnType::Long, C::Int(x)) => C::Long(x.into()),
            (ColumnType::Double, C::Float(x)) => C::Double(x.into()),
            (_, other) => other,
        };
        out.extend_from_slice(&(ci as u16).to_le_bytes());
        match cv {
            C::Bool(x) => out.push(u8::from(x)),
            C::Byte(x) => out.push(x as u8),
            C::UByte(x) => out.push(x),
            C::Short(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::UShort(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::Int(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::UInt(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::Long(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::ULong(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::Float(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::Double(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::String(x) | C::Json(x) | C::DateTime(x) => {
                out.extend_from_slice(&(x.len() as u32).to_le_bytes());
                out.extend_from_slice(x.as_bytes());
            }
            C::Binary(x) => {
                out.extend_from_slice(&(x.len() as u32).to_le_bytes());
                out.extend_from_slice(x);
            }
        }
    }
}

/// The per-feature half of the FlatGeobuf writer: one size-prefixed flatbuffer per
/// feature.
struct FgbEncoder {
    path: std::path::PathBuf,
    /// Each column's slot in the batch and field.
    fields: Vec<(usize, gp_model::Field)>,
    gt: FgbType,
    has_z: bool,
    has_m: bool,
}

impl FgbEncoder {
    fn geometry<'b>(
        &self,
        fbb: &mut flatbuffers::FlatBufferBuilder<'b>,
        g: &FlatGeom<'_>,
        a: &mut Arrays,
        bbox: &mut [f64; 4],
    ) -> Option<flatbuffers::WIPOffset<flatgeobuf::Geometry<'b>>> {
        let (z, m) = (self.has_z, self.has_m);
        a.clear();
        Some(match (g.kind, self.gt) {
            (Kind::Point, FgbType::Point) | (Kind::Multipoint, FgbType::MultiPoint) => {
                a.extend(g.coords().iter(), z, m, bbox);
                a.build(fbb, FgbType::Unknown, false)
            }
            (Kind::Polyline, FgbType::MultiLineString) => {
                for path in g.parts() {
                    a.extend(path.iter(), z, m, bbox);
                    a.end();
                }
                a.build(fbb, FgbType::Unknown, true)
            }
            (Kind::Polygon, FgbType::MultiPolygon) => {
                // Ring `k` of a polygon into `a`, in OGC orientation: exterior
                // counter-clockwise, holes clockwise.
                let ring =
                    |a: &mut Arrays, bbox: &mut [f64; 4], k: usize, r: &[gp_model::Coord]| {
                        let ccw = gp_model::geometry::ring_signed_area(r) > 0.0;
                        if (k == 0) == ccw {
                            a.extend(r.iter(), z, m, bbox);
                        } else {
                            a.extend(r.iter().rev(), z, m, bbox);
                        }
                        a.end();
                    };
                let mut parts = Vec::new();
                let mut rings = g.parts();
                if let (Some(r), None) = (rings.next(), rings.next()) {
                    // One ring (the common case): no grouping of rings into polygons.
                    ring(a, bbox, 0, r);
                    parts.push(a.build(fbb, FgbType::Polygon, true));
                } else {
                    for poly in g.polygons() {
                        a.clear();
                        for (k, r) in poly.iter().enumerate() {
                            ring(a, bbox, k, r);
                        }
                        parts.push(a.build(fbb, FgbType::Polygon, true));
                    }
                }
                let parts = Some(fbb.create_vector(&parts));
                flatgeobuf::Geometry::create(
                    fbb,
                    &flatgeobuf::GeometryArgs {
                        parts,
                        ..Default::default()
                    },
                )
            }
            _ => return None,
        })
    }
}

impl Encoder for FgbEncoder {
    fn encode(&self, batch: &FlatBatch, out: &mut Encoded) -> Result<()> {
        let mut fbb = flatbuffers::FlatBufferBuilder::with_capacity(4096);
        let mut props = Vec::new();
        let mut scratch = gp_model::AttrValue::Null;
        let mut arrays = Arrays::default();
        for i in 0..batch.len() {
            let f = batch.get(i);
            let n = batch.first + i;
            let mut bbox = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            // A null or empty geometry is stored as none, its box marked NaN (see
            // `FgbSink::unindexed`).
            let geometry = match f.geometry.filter(|g| !g.is_empty()) {
                None => {
                    bbox = [f64::NAN; 4];
                    None
                }
                Some(g) => Some(
                    self.geometry(&mut fbb, &g, &mut arrays, &mut bbox)
                        .ok_or_else(|| {
                            fmt_err(&self.path, "FlatGeobuf")(format!(
                                "feature {n} is a {} in a layer of another geometry type",
                                g.kind.name()
                            ))
                        })?,
                ),
            };
            put_props(&mut props, &self.fields, &f, &mut scratch);
            let properties = Some(fbb.create_vector(&props));
            let feature = flatgeobuf::Feature::create(
                &mut fbb,
                &flatgeobuf::FeatureArgs {
                    geometry,
                    properties,
                    columns: None,
                },
            );
            fbb.finish_size_prefixed(feature, None);
            out.bytes.extend_from_slice(fbb.finished_data());
            out.close(bbox);
            fbb.reset();
        }
        Ok(())
    }
}

/// Bytes of the output's data section assembled per pass.
const WINDOW: u64 = 16 << 20;
/// At most this many windows (bucket files): larger outputs get larger windows.
const MAX_WINDOWS: u64 = 256;
/// Bytes read from the spool at a time.
const BLOCK: usize = 4 << 20;
/// Bytes of the data section each task of [`gather_sorted`] assembles and writes.
const SEGMENT: usize = 1 << 20;

/// An error for a temporary file that holds fewer bytes than were written to it.
fn short_spool() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "a temporary file is shorter than written",
    )
}

/// Writes all of `buf` at byte `at` of `file`, without moving a shared cursor, so
/// threads can write their own parts of one file.
#[cfg(unix)]
fn write_at(file: &std::fs::File, buf: &[u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, at)
}

/// Writes all of `buf` at byte `at` of `file` (see the Unix version).
#[cfg(windows)]
fn write_at(file: &std::fs::File, mut buf: &[u8], mut at: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_write(buf, at)? {
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            n => {
                buf = &buf[n..];
                at += n as u64;
            }
        }
    }
    Ok(())
}

/// Reads the spooled features (feature `i` = spool bytes `starts[i]..starts[i + 1]`,
/// in spool order) in large sequential blocks and calls `each(i, bytes)` for those
/// where `want(i)`, in spool order.
fn scan_spool(
    spool: &mut std::fs::File,
    starts: &[u64],
    block_size: usize,
    want: impl Fn(usize) -> bool,
    mut each: impl FnMut(usize, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut block = vec![0u8; block_size.max(1)];
    // The spool bytes currently in `block`: [block_start, block_end).
    let (mut block_start, mut block_end) = (0u64, 0u64);
    for (i, w) in starts.windows(2).enumerate() {
        if !want(i) {
            continue;
        }
        let (off, end) = (w[0], w[1]);
        if off < block_start || end > block_end {
            // Refill from this feature's start (features are in spool order).
            spool.seek(SeekFrom::Start(off))?;
            let n = block_size.max((end - off) as usize);
            block.resize(n, 0);
            let mut got = 0;
            while got < n {
                match spool.read(&mut block[got..n])? {
                    0 => break,
                    k => got += k,
                }
            }
            (block_start, block_end) = (off, off + got as u64);
            if end > block_end {
                return Err(short_spool());
            }
        }
        each(
            i,
            &block[(off - block_start) as usize..(end - block_start) as usize],
        )?;
    }
    Ok(())
}

/// A temporary file for the features that do not fit in memory, in the folder of the
/// output (`path`), where the output's own room is, rather than in the system's
/// temporary folder, which may be small or held in memory. Named, so the copy at the
/// end can open its own handles; hidden, and removed when dropped.
fn spill_file(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".gp-spill-")
        .tempfile_in(dir)
}

/// Windows up to which [`copy_sorted`] reads the spool once per window (in
/// parallel); beyond, it deals features into bucket files in one pass.
const DIRECT_WINDOWS: usize = 8;

/// Copies the spooled features (see [`scan_spool`] for `starts`) into the file at
/// `out` from byte `start`, in the sorted order given by `final_at[i]` (the byte offset
/// of feature `i` in the data section). The data section is assembled in windows
/// ending at `window_ends` (on feature boundaries; see [`window_ends`]), so memory is
/// bounded by a window per thread. With few windows, each thread reads the spool once
/// per window (reads from the page cache are cheap) and writes its window at its place;
/// with many, one pass deals each feature into its window's bucket file and each bucket
/// is read back once, so the work stays linear in the size of the data.
fn copy_sorted(
    spool: &tempfile::NamedTempFile,
    starts: &[u64],
    final_at: &[u64],
    window_ends: &[u64],
    out: &std::fs::File,
    start: u64,
    block_size: usize,
) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let window_of = |i: usize| window_ends.partition_point(|&e| e <= final_at[i]);
    if window_ends.len() <= DIRECT_WINDOWS {
        return window_ends.par_iter().enumerate().try_for_each(|(w, &we)| {
            let ws = if w == 0 { 0 } else { window_ends[w - 1] };
            let mut window = vec![0u8; (we - ws) as usize];
            let mut spool = spool.reopen()?;
            scan_spool(
                &mut spool,
                starts,
                block_size,
                |i| window_of(i) == w,
                |i, src| {
                    let dst = (final_at[i] - ws) as usize;
                    window[dst..dst + src.len()].copy_from_slice(src);
                    Ok(())
                },
            )?;
            write_at(out, &window, start + ws)
        });
    }
    let n = starts.len().saturating_sub(1);
    // The features of each window, in spool order (a counting sort by window).
    let mut first = vec![0usize; window_ends.len() + 1];
    for i in 0..n {
        first[window_of(i) + 1] += 1;
    }
    for w in 0..window_ends.len() {
        first[w + 1] += first[w];
    }
    let mut members = vec![0u32; n];
    let mut fill = first.clone();
    for i in 0..n {
        let w = window_of(i);
        members[fill[w]] = i as u32;
        fill[w] += 1;
    }
    drop(fill);
    let mut buckets = window_ends
        .iter()
        .map(|_| {
            // Beside the spool (see `spill_file`).
            let dir = spool.path().parent().unwrap_or(Path::new("."));
            tempfile::tempfile_in(dir).map(|f| BufWriter::with_capacity(256 << 10, f))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    scan_spool(
        &mut spool.reopen()?,
        starts,
        block_size,
        |_| true,
        |i, src| buckets[window_of(i)].write_all(src),
    )?;
    let (mut bytes, mut window) = (Vec::new(), Vec::new());
    let mut ws = 0u64;
    for (w, bucket) in buckets.into_iter().enumerate() {
        let we = window_ends[w];
        let mut f = bucket.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        bytes.clear();
        f.read_to_end(&mut bytes)?;
        drop(f);
        window.clear();
        window.resize((we - ws) as usize, 0);
        let mut at = 0usize;
        for &i in &members[first[w]..first[w + 1]] {
            let i = i as usize;
            let len = (starts[i + 1] - starts[i]) as usize;
            let src = bytes.get(at..at + len).ok_or_else(short_spool)?;
            let dst = (final_at[i] - ws) as usize;
            window[dst..dst + len].copy_from_slice(src);
            at += len;
        }
        write_at(out, &window, start + ws)?;
        ws = we;
    }
    Ok(())
}

/// Copies the features, all in memory (feature `i` being bytes
/// `data[starts[i]..starts[i + 1]]`), into `out` from byte `start` in `order`, in
/// parallel tasks of `chunk` features each (the first of task `c` going to data offset
/// `chunk_at[c]`, see [`write_index`]), each writing its bytes at their place in pieces
/// of about `segment` bytes.
#[allow(clippy::too_many_arguments)] // reason: one call site and a test; a struct would only rename them
fn gather_sorted(
    data: &[u8],
    starts: &[u64],
    order: &[u32],
    chunk: usize,
    chunk_at: &[u64],
    out: &std::fs::File,
    start: u64,
    segment: usize,
) -> std::io::Result<()> {
    let chunk = chunk.max(1);
    chunk_at
        .par_iter()
        .enumerate()
        .try_for_each_init(Vec::new, |buf: &mut Vec<u8>, (c, &c_at)| {
            buf.clear();
            let mut at = start + c_at;
            let end = ((c + 1) * chunk).min(order.len());
            for &i in order.get(c * chunk..end).unwrap_or_default() {
                let (s, e) = (starts[i as usize], starts[i as usize + 1]);
                let bytes = data.get(s as usize..e as usize).ok_or_else(short_spool)?;
                if !buf.is_empty() && buf.len() + bytes.len() > segment {
                    write_at(out, buf, at)?;
                    at += buf.len() as u64;
                    buf.clear();
                }
                buf.extend_from_slice(bytes);
            }
            write_at(out, buf, at)
        })
}

/// Where the windows of [`copy_sorted`] end: after whole features (sizes in output
/// order), each window at most `window` bytes unless one feature is larger.
fn window_ends(sizes_in_order: impl Iterator<Item = u64>, window: u64) -> Vec<u64> {
    let mut ends = Vec::new();
    let (mut start, mut at) = (0u64, 0u64);
    for n in sizes_in_order {
        if at > start && at + n - start > window {
            ends.push(at);
            start = at;
        }
        at += n;
    }
    if at > start {
        ends.push(at);
    }
    ends
}

/// Leaves per task of [`write_index`] and features per task of [`gather_sorted`] (a
/// multiple of the index node size).
const CHUNK_LEAVES: usize = 16 * 512;

/// Appends one index node: 4 little-endian f64 bounds and a u64 offset.
fn put_node(out: &mut Vec<u8>, b: [f64; 4], offset: u64) {
    for v in b {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&offset.to_le_bytes());
}

/// Writes the packed R-tree over `n` leaves into `out` at byte `at`, exactly as the
/// `flatgeobuf` crate's `PackedRTree` builds and writes it: levels of `node_size`
/// children, root first, each node 4 little-endian f64 bounds and a u64 offset (the
/// first child's node index, or for a leaf the feature's byte offset in the data
/// section). Leaf `k` (in data order) has bounds `bounds(k)` and a feature of `size(k)`
/// bytes. The leaves and their parents are made in parallel tasks of `chunk` leaves
/// (rounded to a multiple of `node_size`), each writing its leaves at their place;
/// only the levels above the leaves (a fifteenth of the nodes) are held. Returns the
/// data offset of each task's first feature and the index size in bytes.
fn write_index(
    n: usize,
    bounds: impl Fn(usize) -> [f64; 4] + Sync,
    size: impl Fn(usize) -> u64 + Sync,
    node_size: usize,
    chunk: usize,
    out: &std::fs::File,
    at: u64,
) -> std::io::Result<(Vec<u64>, u64)> {
    let node_size = node_size.max(2);
    let chunk = (chunk / node_size).max(1) * node_size;
    // Nodes per level, leaves first; a tree always has a level above its leaves.
    let mut sizes = vec![n];
    let mut m = n;
    loop {
        m = m.div_ceil(node_size);
        sizes.push(m);
        if m <= 1 {
            break;
        }
    }
    // Where each level starts in the stored node array (the root is node 0).
    let total: usize = sizes.iter().sum();
    let mut starts = Vec::with_capacity(sizes.len());
    let mut from = total;
    for s in &sizes {
        from -= s;
        starts.push(from);
    }
    let chunks = n.div_ceil(chunk);
    let task = |c: usize| c * chunk..((c + 1) * chunk).min(n);
    let sums: Vec<u64> = (0..chunks)
        .into_par_iter()
        .map(|c| task(c).map(&size).sum())
        .collect();
    let mut chunk_at = Vec::with_capacity(chunks);
    let mut data_at = 0u64;
    for s in sums {
        chunk_at.push(data_at);
        data_at += s;
    }
    let leaves_at = at + starts[0] as u64 * 40;
    let level1: Vec<Vec<NodeItem>> = (0..chunks)
        .into_par_iter()
        .map_init(Vec::new, |buf: &mut Vec<u8>, c| {
            buf.clear();
            let leaves = task(c);
            let mut parents = Vec::with_capacity(leaves.len().div_ceil(node_size));
            let mut offset = chunk_at[c];
            for k in leaves.clone() {
                if (k - leaves.start) % node_size == 0 {
                    parents.push(NodeItem::create((starts[0] + k) as u64));
                }
                let b = bounds(k);
                if let Some(p) = parents.last_mut() {
                    p.expand(&NodeItem::bounds(b[0], b[1], b[2], b[3]));
                }
                put_node(buf, b, offset);
                offset += size(k);
            }
            write_at(out, buf, leaves_at + leaves.start as u64 * 40)?;
            Ok(parents)
        })
        .collect::<std::io::Result<_>>()?;
    let mut upper: Vec<Vec<NodeItem>> = vec![level1.concat()];
    for level in 1..sizes.len() - 1 {
        let parents: Vec<NodeItem> = upper[level - 1]
            .chunks(node_size)
            .enumerate()
            .map(|(j, children)| {
                let mut p = NodeItem::create((starts[level] + j * node_size) as u64);
                children.iter().for_each(|c| p.expand(c));
                p
            })
            .collect();
        upper.push(parents);
    }
    let mut head = Vec::with_capacity(starts[0] * 40);
    for level in upper.iter().rev() {
        for nd in level {
            put_node(
                &mut head,
                [nd.min_x, nd.min_y, nd.max_x, nd.max_y],
                nd.offset,
            );
        }
    }
    write_at(out, &head, at)?;
    Ok((chunk_at, total as u64 * 40))
}

/// The features' order along a Hilbert curve of their boxes' centres over `extent`:
/// the order of the `flatgeobuf` crate's `hilbert_sort` (and GDAL's), highest index
/// first, ties in arrival order (any order gives a correct index, this one a compact
/// one). The key (inverted, for the descending order) and the arrival index are one
/// integer, so the parallel unstable sort gives that order.
fn hilbert_order(boxes: &[[f64; 4]], extent: &[f64; 4]) -> Vec<u32> {
    let (w, h) = (extent[2] - extent[0], extent[3] - extent[1]);
    // As the crate computes it (a zero width gives NaN, which becomes 0).
    let cell = |lo: f64, hi: f64, min: f64, size: f64| {
        (65535.0 * ((lo + hi) / 2.0 - min) / size).floor() as u32
    };
    let mut keyed: Vec<u64> = boxes
        .par_iter()
        .enumerate()
        .map(|(i, b)| {
            let key = crate::rtree::hilbert(
                cell(b[0], b[2], extent[0], w),
                cell(b[1], b[3], extent[1], h),
            );
            (u64::from(!key) << 32) | i as u64
        })
        .collect();
    keyed.par_sort_unstable();
    keyed.par_iter().map(|&k| k as u32).collect()
}

impl FgbSink {
    /// Writes the data section into `out` from byte `start`, features in input order
    /// (for a file without spatial index).
    fn write_in_input_order(&mut self, out: &std::fs::File, start: u64) -> Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.path.clone();
        let tmp = |e: std::io::Error| io("reading back a temporary file for", &path)(e);
        let w = |e: std::io::Error| io("writing", &path)(e);
        write_at(out, &self.mem, start).map_err(w)?;
        let Some(spill) = self.spill.take() else {
            return Ok(());
        };
        let mut f = spill.reopen().map_err(tmp)?;
        let total = self.starts.last().copied().unwrap_or(0);
        let mut at = self.mem.len() as u64;
        f.seek(SeekFrom::Start(at)).map_err(tmp)?;
        let mut block = vec![0u8; BLOCK];
        while at < total {
            let k = BLOCK.min((total - at) as usize);
            f.read_exact(&mut block[..k]).map_err(|e| {
                tmp(match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => short_spool(),
                    _ => e,
                })
            })?;
            write_at(out, &block[..k], start + at).map_err(w)?;
            at += k as u64;
        }
        Ok(())
    }

    /// Writes the data section into `out` from byte `start`, features in `order`
    /// (`chunk_at` from [`write_index`]).
    fn write_data(
        &mut self,
        out: &std::fs::File,
        start: u64,
        order: &[u32],
        chunk_at: &[u64],
    ) -> Result<()> {
        let path = self.path.clone();
        let tmp = |e: std::io::Error| io("reading back a temporary file for", &path)(e);
        let w = |e: std::io::Error| io("writing", &path)(e);
        let total = self.starts.last().copied().unwrap_or(0);
        if let Some(spill) = self.spill.take() {
            let fits = (total as usize).saturating_add(order.len().saturating_mul(END_PER_FEATURE))
                <= self.end_limit;
            if !fits {
                // The whole spool on disk: the features kept in memory go into the room
                // left for them, then the file is copied in order.
                write_at(spill.as_file(), &self.mem, 0).map_err(tmp)?;
                self.mem = Vec::new();
                let size = |i: u32| self.starts[i as usize + 1] - self.starts[i as usize];
                let ends = window_ends(
                    order.iter().map(|&i| size(i)),
                    WINDOW.max(total / MAX_WINDOWS),
                );
                let mut final_at = vec![0u64; order.len()];
                let mut at = 0u64;
                for &i in order {
                    final_at[i as usize] = at;
                    at += size(i);
                }
                return copy_sorted(&spill, &self.starts, &final_at, &ends, out, start, BLOCK)
                    .map_err(w);
            }
            // Read the spilled features back, after those in memory.
            use std::io::{Read, Seek, SeekFrom};
            let kept = self.mem.len() as u64;
            let mut f = spill.reopen().map_err(tmp)?;
            f.seek(SeekFrom::Start(kept)).map_err(tmp)?;
            self.mem.reserve_exact((total - kept) as usize);
            f.take(total - kept)
                .read_to_end(&mut self.mem)
                .map_err(tmp)?;
            if self.mem.len() as u64 != total {
                return Err(tmp(short_spool()));
            }
        }
        gather_sorted(
            &self.mem,
            &self.starts,
            order,
            CHUNK_LEAVES,
            chunk_at,
            out,
            start,
            SEGMENT,
        )
        .map_err(w)
    }
}

impl crate::sink::FeatureSink for FgbSink {
    fn start(&mut self, fs: &FeatureSet) -> Result<()> {
        self.gt = match &fs.geometry_type {
            Some(GeometryType::Point) => FgbType::Point,
            Some(GeometryType::Multipoint) => FgbType::MultiPoint,
            Some(GeometryType::Polyline) => FgbType::MultiLineString,
            Some(GeometryType::Polygon | GeometryType::Envelope) => FgbType::MultiPolygon,
            _ => FgbType::Unknown,
        };
        self.has_z = fs.has_z;
        self.has_m = fs.has_m;
        self.code = fs
            .spatial_reference
            .as_ref()
            .and_then(SpatialReference::epsg)
            .unwrap_or(0);
        self.fields = crate::schema::attribute_fields(fs);
        let schema = FlatSchema::new(fs);
        self.encoder = Some(Arc::new(FgbEncoder {
            path: self.path.clone(),
            fields: self
                .fields
                .iter()
                .filter_map(|f| Some((schema.slot(&f.name)?, f.clone())))
                .collect(),
            gt: self.gt,
            has_z: self.has_z,
            has_m: self.has_m,
        }));
        self.started = true;
        Ok(())
    }

    fn encoder(&self) -> Option<Arc<dyn Encoder>> {
        self.encoder.clone().map(|e| e as Arc<dyn Encoder>)
    }

    fn reads_batches(&self) -> bool {
        false
    }

    fn encoded(&mut self, _batch: &FlatBatch, enc: Encoded) -> Result<()> {
        if !self.started {
            return Err(fmt_err(&self.path, "FlatGeobuf")(
                "features before the schema".into(),
            ));
        }
        let first_at = self.starts.last().copied().unwrap_or(0);
        for (b, &end) in enc.boxes.iter().zip(&enc.ends) {
            self.starts.push(first_at + end as u64);
            self.boxes.push(*b);
            // (`min`/`max` pass over the NaN of a feature without geometry.)
            self.unindexed |= b[0].is_nan();
            self.extent[0] = self.extent[0].min(b[0]);
            self.extent[1] = self.extent[1].min(b[1]);
            self.extent[2] = self.extent[2].max(b[2]);
            self.extent[3] = self.extent[3].max(b[3]);
        }
        let bytes = enc.bytes;
        let kept = self
            .mem
            .len()
            .saturating_add(bytes.len())
            .saturating_add(self.boxes.len().saturating_mul(PER_FEATURE));
        if self.spill.is_none() && kept <= self.mem_limit {
            self.mem.extend_from_slice(&bytes);
            return Ok(());
        }
        let path = self.path.clone();
        let tmp = |e: std::io::Error| io("writing a temporary file for", &path)(e);
        let spill = match &mut self.spill {
            Some(s) => s,
            None => {
                use std::io::Seek;
                let mut f = spill_file(&self.path)
                    .map_err(io("creating a temporary file for", &self.path))?;
                f.seek(std::io::SeekFrom::Start(self.mem.len() as u64))
                    .map_err(&tmp)?;
                // Unbuffered: the encoded slices come in blocks of many features.
                self.spill.insert(f)
            }
        };
        spill.write_all(&bytes).map_err(tmp)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        let path = self.path.clone();
        let err = fmt_err(&path, "FlatGeobuf");
        if !self.started {
            return Err(err("no schema was given".into()));
        }
        let n = self.boxes.len();
        if u32::try_from(n).is_err() {
            return Err(err(format!(
                "{n} features are more than this writer indexes ({})",
                u32::MAX
            )));
        }
        let indexed = n > 0 && !self.unindexed;
        let index_node_size: u16 = if indexed { 16 } else { 0 };
        let known = self.extent[0] <= self.extent[2];
        let extent = if known { self.extent } else { [0.0; 4] };
        // The header.
        let mut fbb = flatbuffers::FlatBufferBuilder::new();
        let columns: Vec<_> = self
            .fields
            .iter()
            .map(|f| {
                let name = Some(fbb.create_string(&f.name));
                flatgeobuf::Column::create(
                    &mut fbb,
                    &flatgeobuf::ColumnArgs {
                        name,
                        type_: column_type(&f.field_type),
                        nullable: true,
                        ..Default::default()
                    },
                )
            })
            .collect();
        let columns = Some(fbb.create_vector(&columns));
        let name = Some(fbb.create_string(&self.name));
        let envelope = known.then(|| fbb.create_vector(&extent));
        let crs = (self.code > 0).then(|| {
            flatgeobuf::Crs::create(
                &mut fbb,
                &flatgeobuf::CrsArgs {
                    code: self.code,
                    ..Default::default()
                },
            )
        });
        let header = flatgeobuf::Header::create(
            &mut fbb,
            &flatgeobuf::HeaderArgs {
                name,
                envelope,
                geometry_type: self.gt,
                has_z: self.has_z,
                has_m: self.has_m,
                columns,
                features_count: n as u64,
                index_node_size,
                crs,
                ..Default::default()
            },
        );
        fbb.finish_size_prefixed(header, None);
        let file = crate::atomic::create_file(&path).map_err(io("creating", &path))?;
        let w = |e: std::io::Error| io("writing", &path)(e);
        write_at(&file, &MAGIC, 0).map_err(w)?;
        let head = fbb.finished_data();
        write_at(&file, head, MAGIC.len() as u64).map_err(w)?;
        let at = (MAGIC.len() + head.len()) as u64;
        if n > 0 && !indexed {
            self.boxes = Vec::new();
            self.write_in_input_order(&file, at)?;
        } else if n > 0 {
            let order = hilbert_order(&self.boxes, &extent);
            let boxes = std::mem::take(&mut self.boxes);
            let starts = &self.starts;
            let (chunk_at, index_len) = write_index(
                n,
                |k| boxes[order[k] as usize],
                |k| starts[order[k] as usize + 1] - starts[order[k] as usize],
                usize::from(index_node_size),
                CHUNK_LEAVES,
                &file,
                at,
            )
            .map_err(w)?;
            drop(boxes);
            self.write_data(&file, at + index_len, &order, &chunk_at)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    #[test]
    fn spooled_and_in_memory_writes_give_the_same_file() {
        // Without and with null geometries (every seventh feature; written without
        // index, in input order).
        for nulls in [false, true] {
            same_file_whatever_the_memory(nulls);
        }
    }

    fn same_file_whatever_the_memory(nulls: bool) {
        let features: Vec<String> = (0..3000)
            .map(|i| {
                let (x, y) = ((i * 37 % 1000) as f64 / 10.0, (i * 91 % 1000) as f64 / 10.0);
                let geometry = if nulls && i % 7 == 3 {
                    "null".to_string()
                } else {
                    format!(
                        r#"{{"rings":[[[{x},{y}],[{x},{y1}],[{x1},{y1}],[{x1},{y}],[{x},{y}]]]}}"#,
                        x1 = x + 0.5,
                        y1 = y + 0.5
                    )
                };
                format!(
                    r#"{{"attributes":{{"OBJECTID":{},"name":"f{i}"}},"geometry":{geometry}}}"#,
                    i + 1,
                )
            })
            .collect();
        let fs = gp_model::FeatureSet::from_json(&format!(
            r#"{{"geometryType":"esriGeometryPolygon","spatialReference":{{"wkid":4326}},"fields":[{{"name":"OBJECTID","type":"esriFieldTypeOID"}},{{"name":"name","type":"esriFieldTypeString"}}],"features":[{}]}}"#,
            features.join(",")
        ))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        // (memory limit while reading, limit for reading the spill back at the end)
        let limits = [
            (super::MEM_LIMIT, super::END_LIMIT),
            (0, super::END_LIMIT),
            (0, 0),
            (100_000, super::END_LIMIT),
            (100_000, 0),
        ];
        for (mem, end) in limits {
            let path = dir.path().join(format!("t{mem}-{end}.fgb"));
            let mut sink = super::FgbSink::create(&path, "t");
            sink.mem_limit = mem;
            sink.end_limit = end;
            crate::sink::write_all(Box::new(sink), &fs).unwrap();
            files.push(std::fs::read(&path).unwrap());
        }
        assert!(files[0].len() > 3000 * 40);
        // The spill files (beside the outputs) are gone.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".fgb"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        for (k, what) in [
            "spilled from the start, read back",
            "spilled from the start, copied from the file",
            "spilled half way, read back",
            "spilled half way, copied from the file",
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(files[0], files[k + 1], "{what}, nulls {nulls}");
        }
        // The reference is a valid file: the flatgeobuf crate reads every feature.
        let reader = flatgeobuf::FgbReader::open(std::io::Cursor::new(&files[0])).unwrap();
        assert_eq!(
            reader.header().index_node_size(),
            if nulls { 0 } else { 16 }
        );
        let mut r = reader.select_all().unwrap();
        let mut count = 0;
        while let Some(f) = flatgeobuf::FallibleStreamingIterator::next(&mut r).unwrap() {
            if nulls {
                // Input order.
                let id: i64 = geozero::FeatureProperties::property(f, "OBJECTID").unwrap();
                assert_eq!(id, count + 1);
                assert_eq!(f.geometry().is_none(), count % 7 == 3, "feature {count}");
            }
            count += 1;
        }
        assert_eq!(count, 3000);
    }

    #[test]
    fn packed_rtree_is_written_as_the_flatgeobuf_crate_writes_it() {
        use flatgeobuf::packed_r_tree::{NodeItem, PackedRTree, calc_extent};
        for n in [1usize, 2, 15, 16, 17, 255, 256, 257, 1000, 4097] {
            let leaves: Vec<NodeItem> = (0..n)
                .map(|i| {
                    let x = ((i * 7919) % 1000) as f64;
                    let y = ((i * 104_729) % 997) as f64;
                    let mut nd = NodeItem::bounds(x, y, x + (i % 5) as f64, y + 1.0);
                    nd.offset = (i * 100) as u64;
                    nd
                })
                .collect();
            let mut want = Vec::new();
            PackedRTree::build(&leaves, &calc_extent(&leaves), 16)
                .unwrap()
                .stream_write(&mut want)
                .unwrap();
            // In tasks of one node, three nodes and one task for all.
            for chunk in [16, 48, 8192] {
                let out = tempfile::NamedTempFile::new().unwrap();
                let (chunk_at, len) = super::write_index(
                    n,
                    |k| {
                        let l = &leaves[k];
                        [l.min_x, l.min_y, l.max_x, l.max_y]
                    },
                    |_| 100,
                    16,
                    chunk,
                    out.as_file(),
                    3,
                )
                .unwrap();
                let got = std::fs::read(out.path()).unwrap();
                assert_eq!(got.len() as u64, 3 + len, "{n} leaves");
                assert_eq!(&got[3..], &want[..], "{n} leaves, tasks of {chunk}");
                let firsts: Vec<u64> = (0..n).step_by(chunk).map(|k| k as u64 * 100).collect();
                assert_eq!(chunk_at, firsts);
            }
        }
    }

    #[test]
    fn features_go_in_the_order_of_the_crates_hilbert_sort() {
        use flatgeobuf::packed_r_tree::{NodeItem, calc_extent, hilbert_sort};
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for (n, spread) in [(1usize, 1.0), (500, 1.0), (5000, 360.0), (3000, 1e-9)] {
            // Some duplicates, so that ties are ordered too.
            let boxes: Vec<[f64; 4]> = (0..n)
                .map(|i| {
                    if i % 10 == 9 {
                        return [0.25 * spread, 0.5 * spread, 0.25 * spread, 0.5 * spread];
                    }
                    let (x, y) = (next() * spread - spread / 2.0, next() * spread);
                    [x, y, x + next() * spread / 50.0, y + next() * spread / 50.0]
                })
                .collect();
            let mut items: Vec<NodeItem> = boxes
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let mut nd = NodeItem::bounds(b[0], b[1], b[2], b[3]);
                    nd.offset = i as u64;
                    nd
                })
                .collect();
            let extent = calc_extent(&items);
            hilbert_sort(&mut items, &extent);
            let want: Vec<u32> = items.iter().map(|nd| nd.offset as u32).collect();
            let ext = [extent.min_x, extent.min_y, extent.max_x, extent.max_y];
            assert_eq!(super::hilbert_order(&boxes, &ext), want, "{n} boxes");
        }
    }

    /// A temporary file holding `head`, and a handle to write into it.
    fn headed() -> (tempfile::NamedTempFile, std::fs::File) {
        let out = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(out.path(), b"head").unwrap();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(out.path())
            .unwrap();
        (out, file)
    }

    #[test]
    fn sorted_copy_in_small_windows_and_blocks() {
        // Features of varied sizes, spooled in order, wanted in a shuffled order.
        let sizes: Vec<u32> = (0..500u32).map(|i| 1 + (i * 37) % 50).collect();
        let mut spool = tempfile::NamedTempFile::new().unwrap();
        let mut starts = vec![0u64];
        for (i, &n) in sizes.iter().enumerate() {
            spool.write_all(&vec![(i % 251) as u8; n as usize]).unwrap();
            starts.push(starts[i] + u64::from(n));
        }
        spool.flush().unwrap();
        let order: Vec<usize> = (0..sizes.len()).map(|k| (k * 211) % sizes.len()).collect();
        let mut final_at = vec![0u64; sizes.len()];
        let mut want = Vec::new();
        let mut at = 0u64;
        for &i in &order {
            final_at[i] = at;
            at += u64::from(sizes[i]);
            want.extend(vec![(i % 251) as u8; sizes[i] as usize]);
        }
        for (window, block) in [(1, 1), (7, 3), (100, 64), (1 << 20, 1 << 20)] {
            let ends = super::window_ends(order.iter().map(|&i| u64::from(sizes[i])), window);
            assert_eq!(ends.last().copied(), Some(at));
            let (out, file) = headed();
            super::copy_sorted(&spool, &starts, &final_at, &ends, &file, 4, block).unwrap();
            let got = std::fs::read(out.path()).unwrap();
            assert_eq!(&got[..4], b"head");
            assert_eq!(&got[4..], &want[..], "window {window}, block {block}");
        }
        // The same from memory.
        let data = std::fs::read(spool.path()).unwrap();
        let order: Vec<u32> = order.iter().map(|&i| i as u32).collect();
        for (chunk, segment) in [(1, 1), (7, 7), (16, 100), (1000, 100), (1000, 1 << 20)] {
            let chunk_at: Vec<u64> = (0..order.len())
                .step_by(chunk)
                .map(|k| {
                    order[..k]
                        .iter()
                        .map(|&i| u64::from(sizes[i as usize]))
                        .sum()
                })
                .collect();
            let (out, file) = headed();
            super::gather_sorted(&data, &starts, &order, chunk, &chunk_at, &file, 4, segment)
                .unwrap();
            let got = std::fs::read(out.path()).unwrap();
            assert_eq!(&got[..4], b"head");
            assert_eq!(
                &got[4..],
                &want[..],
                "tasks of {chunk}, pieces of {segment}"
            );
        }
    }
}

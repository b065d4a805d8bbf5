//! FlatGeobuf, with its packed R-tree index, through the `flatgeobuf` crate.

use std::io::{BufReader, BufWriter, Seek, Write};
use std::path::Path;

use flatgeobuf::packed_r_tree::{NodeItem, calc_extent};
use flatgeobuf::{ColumnType, FallibleStreamingIterator, FgbReader, GeometryType as FgbType};
use gp_model::esrijson::{FeatureSetBuilder, column_value};
use gp_model::{FeatureSet, FieldType, GeometryType, SpatialReference};
use rayon::iter::{IndexedParallelIterator, IntoParallelRefIterator, ParallelIterator};
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
    let f = BufReader::new(std::fs::File::open(path).map_err(io("opening", path))?);
    let reader = FgbReader::open(f).map_err(|e| err(e.to_string()))?;
    let header = reader.header();
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
                f.process(&mut b, index)?;
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
/// while small, else spooled to a temporary file; at the end they are sorted along a
/// Hilbert curve, the packed R-tree is written (in the crate's layout, see
/// [`write_packed_rtree`]), and the features are copied in that order (see
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
    store: Option<Store>,
    /// Encoded features are kept in memory while they and the index entries take
    /// less than this many bytes, then spooled to a temporary file.
    mem_limit: usize,
    spool_len: u64,
    nodes: Vec<NodeItem>,
    chunks: Vec<(u64, u32)>,
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
            store: None,
            mem_limit: MEM_LIMIT,
            spool_len: 0,
            nodes: Vec::new(),
            chunks: Vec::new(),
        }
    }
}

/// Where encoded features wait for the end: memory, or a temporary file.
enum Store {
    Mem(Vec<u8>),
    File(BufWriter<tempfile::NamedTempFile>),
}

/// See [`FgbSink::mem_limit`].
const MEM_LIMIT: usize = 80 << 20;
/// Memory per feature besides its bytes (index node, chunk, final offset, order).
const PER_FEATURE: usize = 160;

/// Coordinates of one geometry (or part) as FlatGeobuf arrays.
#[derive(Default)]
struct Arrays {
    xy: Vec<f64>,
    z: Vec<f64>,
    m: Vec<f64>,
    ends: Vec<u32>,
}

impl Arrays {
    fn push(&mut self, c: &gp_model::Coord, z: bool, m: bool, bbox: &mut [f64; 4]) {
        self.xy.push(c.x);
        self.xy.push(c.y);
        if z {
            self.z.push(c.z.unwrap_or(0.0));
        }
        if m {
            self.m.push(c.m.unwrap_or(f64::NAN));
        }
        bbox[0] = bbox[0].min(c.x);
        bbox[1] = bbox[1].min(c.y);
        bbox[2] = bbox[2].max(c.x);
        bbox[3] = bbox[3].max(c.y);
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
    attrs: &[Option<gp_model::AttrValue>],
) {
    use geozero::ColumnValue as C;
    out.clear();
    let mut text = String::new();
    for (ci, (slot, field)) in fields.iter().enumerate() {
        let Some(v) = attrs[*slot].as_ref() else {
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
        bbox: &mut [f64; 4],
    ) -> Option<flatbuffers::WIPOffset<flatgeobuf::Geometry<'b>>> {
        let (z, m) = (self.has_z, self.has_m);
        Some(match (g.kind, self.gt) {
            (Kind::Point, FgbType::Point) | (Kind::Multipoint, FgbType::MultiPoint) => {
                let mut a = Arrays::default();
                for c in g.coords() {
                    a.push(c, z, m, bbox);
                }
                a.build(fbb, FgbType::Unknown, false)
            }
            (Kind::Polyline, FgbType::MultiLineString) => {
                let mut a = Arrays::default();
                for path in g.parts() {
                    for c in path {
                        a.push(c, z, m, bbox);
                    }
                    a.end();
                }
                a.build(fbb, FgbType::Unknown, true)
            }
            (Kind::Polygon, FgbType::MultiPolygon) => {
                let mut parts = Vec::new();
                for poly in g.polygons() {
                    let mut a = Arrays::default();
                    for (k, r) in poly.iter().enumerate() {
                        // OGC orientation: exterior counter-clockwise, holes clockwise.
                        let ccw = gp_model::geometry::ring_signed_area(r) > 0.0;
                        if (k == 0) == ccw {
                            r.iter().for_each(|c| a.push(c, z, m, bbox));
                        } else {
                            r.iter().rev().for_each(|c| a.push(c, z, m, bbox));
                        }
                        a.end();
                    }
                    parts.push(a.build(fbb, FgbType::Polygon, true));
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
        for i in 0..batch.len() {
            let f = batch.get(i);
            let n = batch.first + i;
            let Some(g) = f.geometry.filter(|g| !g.is_empty()) else {
                return Err(fmt_err(&self.path, "FlatGeobuf")(format!(
                    "feature {n} has no geometry, which this FlatGeobuf writer does not \
                     store; use GeoPackage, GeoJSON or Esri JSON for such data"
                )));
            };
            let mut bbox = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            let Some(geometry) = self.geometry(&mut fbb, &g, &mut bbox) else {
                return Err(fmt_err(&self.path, "FlatGeobuf")(format!(
                    "feature {n} is a {} in a layer of another geometry type",
                    g.kind.name()
                )));
            };
            put_props(&mut props, &self.fields, f.attrs);
            let properties = Some(fbb.create_vector(&props));
            let feature = flatgeobuf::Feature::create(
                &mut fbb,
                &flatgeobuf::FeatureArgs {
                    geometry: Some(geometry),
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

/// Reads the spooled features (`chunks[i]` = spool offset and size of feature `i`, in
/// spool order) in large sequential blocks and calls `each(i, bytes)` for those where
/// `want(i)`, in spool order.
fn scan_spool(
    spool: &mut std::fs::File,
    chunks: &[(u64, u32)],
    block_size: usize,
    want: impl Fn(usize) -> bool,
    mut each: impl FnMut(usize, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut block = vec![0u8; block_size.max(1)];
    // The spool bytes currently in `block`: [block_start, block_end).
    let (mut block_start, mut block_end) = (0u64, 0u64);
    for (i, &(off, len)) in chunks.iter().enumerate() {
        if !want(i) {
            continue;
        }
        let end = off + u64::from(len);
        if off < block_start || end > block_end {
            // Refill from this feature's start (features are in spool order).
            spool.seek(SeekFrom::Start(off))?;
            let n = block_size.max(len as usize);
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
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "a temporary file is shorter than written",
                ));
            }
        }
        each(
            i,
            &block[(off - block_start) as usize..(end - block_start) as usize],
        )?;
    }
    Ok(())
}

/// Windows up to which [`copy_sorted`] reads the spool once per window (in
/// parallel); beyond, it deals features into bucket files in one pass.
const DIRECT_WINDOWS: usize = 8;

/// Copies the spooled features into the file at `out` from byte `start`, in the sorted
/// order given by `final_at[i]` (the byte offset of feature `i` in the data section).
/// The data section is assembled in windows ending at `window_ends` (on feature
/// boundaries; see [`window_ends`]), so memory is bounded by a window per thread. With
/// few windows, each thread reads the spool once per window (reads from the page cache
/// are cheap) and writes its window at its place through its own file handles; with
/// many, one pass deals each feature into its window's bucket file and each bucket is
/// read back once, so the work stays linear in the size of the data.
fn copy_sorted(
    spool: &tempfile::NamedTempFile,
    chunks: &[(u64, u32)],
    final_at: &[u64],
    window_ends: &[u64],
    out: &Path,
    start: u64,
    block_size: usize,
) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let window_of = |i: usize| window_ends.partition_point(|&e| e <= final_at[i]);
    let open_out = |at: u64| -> std::io::Result<std::fs::File> {
        let mut f = std::fs::OpenOptions::new().write(true).open(out)?;
        f.seek(SeekFrom::Start(at))?;
        Ok(f)
    };
    if window_ends.len() <= DIRECT_WINDOWS {
        return window_ends.par_iter().enumerate().try_for_each(|(w, &we)| {
            let ws = if w == 0 { 0 } else { window_ends[w - 1] };
            let mut window = vec![0u8; (we - ws) as usize];
            let mut spool = spool.reopen()?;
            scan_spool(
                &mut spool,
                chunks,
                block_size,
                |i| window_of(i) == w,
                |i, src| {
                    let dst = (final_at[i] - ws) as usize;
                    window[dst..dst + src.len()].copy_from_slice(src);
                    Ok(())
                },
            )?;
            open_out(start + ws)?.write_all(&window)
        });
    }
    // The features of each window, in spool order (a counting sort by window).
    let mut starts = vec![0usize; window_ends.len() + 1];
    for i in 0..chunks.len() {
        starts[window_of(i) + 1] += 1;
    }
    for w in 0..window_ends.len() {
        starts[w + 1] += starts[w];
    }
    let mut members = vec![0u32; chunks.len()];
    let mut fill = starts.clone();
    for i in 0..chunks.len() {
        let w = window_of(i);
        members[fill[w]] = i as u32;
        fill[w] += 1;
    }
    drop(fill);
    let mut buckets = window_ends
        .iter()
        .map(|_| tempfile::tempfile().map(|f| BufWriter::with_capacity(256 << 10, f)))
        .collect::<std::io::Result<Vec<_>>>()?;
    scan_spool(
        &mut spool.reopen()?,
        chunks,
        block_size,
        |_| true,
        |i, src| buckets[window_of(i)].write_all(src),
    )?;
    let mut dest = BufWriter::with_capacity(1 << 20, open_out(start)?);
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
        for &i in &members[starts[w]..starts[w + 1]] {
            let i = i as usize;
            let len = chunks[i].1 as usize;
            let src = bytes.get(at..at + len).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "a temporary file is shorter than written",
                )
            })?;
            let dst = (final_at[i] - ws) as usize;
            window[dst..dst + len].copy_from_slice(src);
            at += len;
        }
        dest.write_all(&window)?;
        ws = we;
    }
    dest.flush()
}

/// Where the windows of [`copy_sorted`] end: after whole features (sizes in output
/// order), each window at most `window` bytes unless one feature is larger.
fn window_ends(sizes_in_order: impl Iterator<Item = u32>, window: u64) -> Vec<u64> {
    let mut ends = Vec::new();
    let (mut start, mut at) = (0u64, 0u64);
    for n in sizes_in_order {
        let n = u64::from(n);
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

/// Writes the packed R-tree over `leaves` (in data order, offsets set) exactly as the
/// `flatgeobuf` crate's `PackedRTree` builds and writes it (levels of `node_size`
/// children, root first, each node 4 little-endian f64 bounds and a u64 offset: the
/// first child's node index, or the feature's byte offset for a leaf), without its copy
/// of every leaf: only the levels above the leaves (a fifteenth of the nodes) are
/// held.
fn write_packed_rtree(
    leaves: &[NodeItem],
    node_size: usize,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let node_size = node_size.max(2);
    // Nodes per level, leaves first; a tree always has a level above its leaves.
    let mut sizes = vec![leaves.len()];
    let mut n = leaves.len();
    loop {
        n = n.div_ceil(node_size);
        sizes.push(n);
        if n <= 1 {
            break;
        }
    }
    // Where each level starts in the stored node array (the root is node 0).
    let mut starts = Vec::with_capacity(sizes.len());
    let mut at: usize = sizes.iter().sum();
    for s in &sizes {
        at -= s;
        starts.push(at);
    }
    let mut upper: Vec<Vec<NodeItem>> = Vec::new();
    for level in 0..sizes.len() - 1 {
        let parents: Vec<NodeItem> = {
            let children: &[NodeItem] = match level {
                0 => leaves,
                _ => &upper[level - 1],
            };
            children
                .chunks(node_size)
                .enumerate()
                .map(|(j, ch)| {
                    let mut p = NodeItem::create((starts[level] + j * node_size) as u64);
                    ch.iter().for_each(|c| p.expand(c));
                    p
                })
                .collect()
        };
        upper.push(parents);
    }
    let mut put = |nd: &NodeItem| {
        let mut b = [0u8; 40];
        for (k, v) in [nd.min_x, nd.min_y, nd.max_x, nd.max_y]
            .into_iter()
            .enumerate()
        {
            b[k * 8..k * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        b[32..].copy_from_slice(&nd.offset.to_le_bytes());
        out.write_all(&b)
    };
    for level in upper.iter().rev() {
        level.iter().try_for_each(&mut put)?;
    }
    leaves.iter().try_for_each(put)
}

/// Sorts index nodes along a Hilbert curve of their centres (the key computed once per
/// node; any order gives a correct index, this one a compact one).
fn sort_nodes(nodes: &mut [NodeItem], extent: &NodeItem) {
    let (w, h) = (
        (extent.max_x - extent.min_x).max(f64::MIN_POSITIVE),
        (extent.max_y - extent.min_y).max(f64::MIN_POSITIVE),
    );
    nodes.par_sort_by_cached_key(|n| {
        let x = (((n.min_x + n.max_x) / 2.0 - extent.min_x) / w * 65535.0) as u32;
        let y = (((n.min_y + n.max_y) / 2.0 - extent.min_y) / h * 65535.0) as u32;
        crate::rtree::hilbert(x, y)
    });
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
        self.store = Some(Store::Mem(Vec::new()));
        Ok(())
    }

    fn encoder(&self) -> Option<Arc<dyn Encoder>> {
        self.encoder.clone().map(|e| e as Arc<dyn Encoder>)
    }

    fn encoded(&mut self, _batch: &FlatBatch, enc: Encoded) -> Result<()> {
        let full = self.nodes.len() * PER_FEATURE + enc.bytes.len();
        let path = self.path.clone();
        let tmp = |e: std::io::Error| io("writing a temporary file for", &path)(e);
        match self.store.as_mut() {
            Some(Store::Mem(m)) if m.len() + full > self.mem_limit => {
                // Named, so each thread of the sorted copy can open its own handle.
                let f = tempfile::NamedTempFile::new()
                    .map_err(io("creating a temporary file for", &self.path))?;
                let mut f = BufWriter::with_capacity(1 << 20, f);
                f.write_all(m).map_err(&tmp)?;
                f.write_all(&enc.bytes).map_err(&tmp)?;
                self.store = Some(Store::File(f));
            }
            Some(Store::Mem(m)) => m.extend_from_slice(&enc.bytes),
            Some(Store::File(f)) => f.write_all(&enc.bytes).map_err(&tmp)?,
            None => {
                return Err(fmt_err(&self.path, "FlatGeobuf")(
                    "features before the schema".into(),
                ));
            }
        }
        for (i, b) in enc.boxes.iter().enumerate() {
            let len = enc.item(i).len() as u32;
            self.chunks.push((self.spool_len, len));
            self.spool_len += u64::from(len);
            let mut node = NodeItem::bounds(b[0], b[1], b[2], b[3]);
            node.offset = self.nodes.len() as u64;
            self.nodes.push(node);
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        let err = fmt_err(&self.path, "FlatGeobuf");
        let store = self
            .store
            .take()
            .ok_or_else(|| err("no schema was given".into()))?;
        let n = self.nodes.len();
        let index_node_size: u16 = if n > 0 { 16 } else { 0 };
        let extent = if n > 0 {
            calc_extent(&self.nodes)
        } else {
            NodeItem::bounds(0.0, 0.0, 0.0, 0.0)
        };
        if n > 0 {
            sort_nodes(&mut self.nodes, &extent);
        }
        // Node offsets become the features' byte offsets in the sorted data section.
        // Windows of the sorted copy, cut on feature boundaries (node offsets are still
        // the features' original indexes here).
        let ends = window_ends(
            self.nodes
                .iter()
                .map(|nd| self.chunks[nd.offset as usize].1),
            WINDOW.max(self.spool_len / MAX_WINDOWS),
        );
        let mut final_at = vec![0u64; n];
        let mut order = Vec::with_capacity(n);
        let mut at = 0u64;
        for nd in &mut self.nodes {
            let idx = nd.offset as usize;
            order.push(idx as u32);
            final_at[idx] = at;
            nd.offset = at;
            at += u64::from(self.chunks[idx].1);
        }
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
        let envelope = (n > 0)
            .then(|| fbb.create_vector(&[extent.min_x, extent.min_y, extent.max_x, extent.max_y]));
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
        let f = std::fs::File::create(&self.path).map_err(io("creating", &self.path))?;
        let mut out = BufWriter::with_capacity(1 << 20, f);
        let w = |e: std::io::Error| io("writing", &self.path)(e);
        out.write_all(&MAGIC).map_err(w)?;
        out.write_all(fbb.finished_data()).map_err(w)?;
        if n > 0 {
            write_packed_rtree(&self.nodes, usize::from(index_node_size), &mut out).map_err(w)?;
            // The index is written: the nodes are not needed for the copy.
            self.nodes = Vec::new();
            match store {
                Store::Mem(m) => {
                    for i in order {
                        let (off, len) = self.chunks[i as usize];
                        out.write_all(&m[off as usize..off as usize + len as usize])
                            .map_err(w)?;
                    }
                }
                Store::File(f) => {
                    let spool = f.into_inner().map_err(|e| {
                        io("writing a temporary file for", &self.path)(e.into_error())
                    })?;
                    drop(order);
                    out.flush().map_err(w)?;
                    let start = out.get_mut().stream_position().map_err(w)?;
                    copy_sorted(
                        &spool,
                        &self.chunks,
                        &final_at,
                        &ends,
                        &self.path,
                        start,
                        BLOCK,
                    )
                    .map_err(w)?;
                }
            }
        }
        out.flush().map_err(w)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    #[test]
    fn spooled_and_in_memory_writes_give_the_same_file() {
        let features: Vec<String> = (0..3000)
            .map(|i| {
                let (x, y) = ((i * 37 % 1000) as f64 / 10.0, (i * 91 % 1000) as f64 / 10.0);
                format!(
                    r#"{{"attributes":{{"OBJECTID":{},"name":"f{i}"}},"geometry":{{"rings":[[[{x},{y}],[{x},{y1}],[{x1},{y1}],[{x1},{y}],[{x},{y}]]]}}}}"#,
                    i + 1,
                    x1 = x + 0.5,
                    y1 = y + 0.5
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
        for limit in [super::MEM_LIMIT, 0, 100_000] {
            let path = dir.path().join(format!("t{limit}.fgb"));
            let mut sink = super::FgbSink::create(&path, "t");
            sink.mem_limit = limit;
            crate::sink::write_all(Box::new(sink), &fs).unwrap();
            files.push(std::fs::read(&path).unwrap());
        }
        assert!(files[0].len() > 3000 * 40);
        assert_eq!(files[0], files[1], "spooled from the start");
        assert_eq!(files[0], files[2], "spooled half way");
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
            let mut got = Vec::new();
            super::write_packed_rtree(&leaves, 16, &mut got).unwrap();
            assert_eq!(got, want, "{n} leaves");
        }
    }

    #[test]
    fn sorted_copy_in_small_windows_and_blocks() {
        // Features of varied sizes, spooled in order, wanted in a shuffled order.
        let sizes: Vec<u32> = (0..500u32).map(|i| 1 + (i * 37) % 50).collect();
        let mut spool = tempfile::NamedTempFile::new().unwrap();
        let mut chunks = Vec::new();
        let mut off = 0u64;
        for (i, &n) in sizes.iter().enumerate() {
            spool.write_all(&vec![(i % 251) as u8; n as usize]).unwrap();
            chunks.push((off, n));
            off += u64::from(n);
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
            let ends = super::window_ends(order.iter().map(|&i| sizes[i]), window);
            assert_eq!(ends.last().copied(), Some(at));
            let out = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(out.path(), b"head").unwrap();
            super::copy_sorted(&spool, &chunks, &final_at, &ends, out.path(), 4, block).unwrap();
            let got = std::fs::read(out.path()).unwrap();
            assert_eq!(&got[..4], b"head");
            assert_eq!(&got[4..], &want[..], "window {window}, block {block}");
        }
    }
}

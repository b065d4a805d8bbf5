//! Writing FlatGeobuf ([`FgbSink`]): the header, the encoded features kept in memory
//! or spooled ([`crate::fgb_spool`]), sorted along a Hilbert curve and written after
//! the packed R-tree ([`crate::fgb_index`]).

use std::io::Write;
use std::path::Path;

use flatgeobuf::GeometryType as FgbType;
use gp_model::{FeatureSet, GeometryType, SpatialReference};

use std::sync::Arc;

use crate::error::{Result, fmt_err, io};
use crate::fgb_encode::{FgbEncoder, column_type};
use crate::fgb_index::{CHUNK_LEAVES, hilbert_order, write_index};
use crate::fgb_spool::{
    BLOCK, MAX_WINDOWS, SEGMENT, WINDOW, copy_sorted, gather_sorted, short_spool, spill_file,
    window_ends, write_at,
};
use crate::flat::{FlatBatch, FlatSchema};
use crate::sink::{Encoded, Encoder};

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
        let file = gp_fs::create_file(&path).map_err(io("creating", &path))?;
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

impl crate::sink::BatchWriter for FgbSink {
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
}

#[cfg(test)]
mod tests {
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
            crate::sink::write_all(
                crate::sink::Sink::Batches(Box::new(sink)),
                &fs,
                &crate::repair::Fixes::default(),
            )
            .unwrap();
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
}

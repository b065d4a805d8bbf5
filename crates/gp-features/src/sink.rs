//! Feature sinks: writers that take a schema, then features one at a time, so a
//! conversion never holds the whole data set.
//!
//! Two protocols, two traits: a [`FeatureWriter`] takes features one at a time; a
//! [`BatchWriter`] (GeoJSON, FlatGeobuf, GeoPackage, whose per-feature work can run in
//! parallel) offers an [`Encoder`] that turns a [`FlatBatch`] into output bytes on any
//! thread, and only appends the encoded batches in order. A [`Sink`] is one or the
//! other.

use std::sync::Arc;

use gp_model::{Feature, FeatureSet};

use crate::error::Result;
use crate::flat::{FlatBatch, FlatSchema};
use crate::repair::{Fixes, repaired};

/// A batch encoded by an [`Encoder`]: feature `i` is `bytes[ends[i-1]..ends[i]]`
/// (`ends[-1]` being 0) with bounding box `boxes[i]` (`[minx, miny, maxx, maxy]`,
/// infinite when the geometry is null or empty).
#[derive(Debug, Default)]
pub(crate) struct Encoded {
    pub(crate) bytes: Vec<u8>,
    pub(crate) ends: Vec<usize>,
    pub(crate) boxes: Vec<[f64; 4]>,
}

impl Encoded {
    /// The bytes of feature `i`.
    pub(crate) fn item(&self, i: usize) -> &[u8] {
        let s = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[s..self.ends[i]]
    }

    /// Ends the current feature, with its box.
    pub(crate) fn close(&mut self, bbox: [f64; 4]) {
        self.ends.push(self.bytes.len());
        self.boxes.push(bbox);
    }
}

/// The per-feature half of a writer, safe to run on many threads at once.
pub(crate) trait Encoder: Send + Sync {
    /// Encodes every feature of `batch` into `out` (which starts empty).
    fn encode(&self, batch: &FlatBatch, out: &mut Encoded) -> Result<()>;
}

/// What every writer of one output does: take the schema, then (by one of the two
/// protocols below) the features, then finish.
pub(crate) trait FeatureSink {
    /// Called once with the feature set's schema (its features are ignored).
    fn start(&mut self, schema: &FeatureSet) -> Result<()>;
    /// Completes the output.
    fn finish(self: Box<Self>) -> Result<()>;
    /// True when the sink writes the feature set's keys that may follow the features
    /// array (`exceededTransferLimit`...), so they must be read before it starts.
    fn needs_trailing_keys(&self) -> bool {
        false
    }
}

/// A writer fed one feature at a time, in order (Shapefile, CSV, Esri JSON).
pub(crate) trait FeatureWriter: FeatureSink {
    /// Writes one feature.
    fn feature(&mut self, f: &Feature) -> Result<()>;
    /// True when geometries are written as they came (Esri JSON); else they are
    /// repaired first as simple features need (see [`crate::repair`]).
    fn keeps_geometry(&self) -> bool {
        false
    }
}

/// A writer fed batches that its [`Encoder`] encoded on any thread (GeoJSON,
/// FlatGeobuf, GeoPackage); it only appends them, in input order.
pub(crate) trait BatchWriter: FeatureSink {
    /// The parallel encoder, made by `start` from the schema (`None` before).
    fn encoder(&self) -> Option<Arc<dyn Encoder>>;
    /// True when [`BatchWriter::encoded`] reads the flat batch beside its encoding.
    /// When false, the streaming reader frees each batch on the thread that parsed it
    /// and hands over an empty one: freeing a batch's many small allocations on
    /// another thread costs more than parsing them.
    fn reads_batches(&self) -> bool {
        true
    }
    /// Appends a batch made by the encoder (an empty batch when the writer does not
    /// [read them](BatchWriter::reads_batches)).
    fn encoded(&mut self, batch: &FlatBatch, enc: Encoded) -> Result<()>;
}

/// An output's writer, by the protocol it takes: feeding it the other way cannot
/// compile.
pub(crate) enum Sink {
    /// One feature at a time.
    Features(Box<dyn FeatureWriter>),
    /// Encoded batches.
    Batches(Box<dyn BatchWriter>),
}

impl Sink {
    fn as_sink(&mut self) -> &mut dyn FeatureSink {
        match self {
            Sink::Features(w) => w.as_mut(),
            Sink::Batches(w) => w.as_mut(),
        }
    }

    /// See [`FeatureSink::start`].
    pub(crate) fn start(&mut self, schema: &FeatureSet) -> Result<()> {
        self.as_sink().start(schema)
    }

    /// See [`FeatureSink::needs_trailing_keys`].
    pub(crate) fn needs_trailing_keys(&self) -> bool {
        match self {
            Sink::Features(w) => w.needs_trailing_keys(),
            Sink::Batches(w) => w.needs_trailing_keys(),
        }
    }

    /// See [`FeatureSink::finish`].
    pub(crate) fn finish(self) -> Result<()> {
        match self {
            Sink::Features(w) => w.finish(),
            Sink::Batches(w) => w.finish(),
        }
    }
}

/// Features per batch when features are written through an encoder.
const BATCH: usize = 4096;

/// What a streaming reader feeds: the schema once, then the features in order.
pub(crate) trait Consumer {
    /// The input's schema (no features).
    fn schema(&mut self, fs: &FeatureSet) -> Result<()>;
    /// One feature.
    fn feature(&mut self, f: Feature) -> Result<()>;
}

/// A consumer that keeps everything: a whole feature set.
#[derive(Debug, Default)]
pub(crate) struct Collect(pub(crate) FeatureSet);

impl Consumer for Collect {
    fn schema(&mut self, fs: &FeatureSet) -> Result<()> {
        self.0 = fs.clone();
        Ok(())
    }

    fn feature(&mut self, f: Feature) -> Result<()> {
        self.0.features.push(f);
        Ok(())
    }
}

/// A consumer that writes through a sink as features come: in flat batches through
/// the sink's encoder when it takes batches, else one by one (repaired as simple
/// features need, see [`crate::repair`]). Returns the count on `end`.
pub(crate) struct Feed<'a> {
    sink: &'a mut Sink,
    fixes: &'a Fixes,
    fs: FeatureSet,
    schema: FlatSchema,
    enc: Option<Arc<dyn Encoder>>,
    batch: Option<FlatBatch>,
    count: usize,
}

impl<'a> Feed<'a> {
    pub(crate) fn new(sink: &'a mut Sink, fixes: &'a Fixes) -> Self {
        Feed {
            sink,
            fixes,
            fs: FeatureSet::default(),
            schema: FlatSchema::default(),
            enc: None,
            batch: None,
            count: 0,
        }
    }

    fn flush(&mut self) -> Result<()> {
        if let (Some(enc), Some(b), Sink::Batches(w)) =
            (&self.enc, self.batch.take(), &mut *self.sink)
        {
            let mut e = Encoded::default();
            enc.encode(&b, &mut e)?;
            w.encoded(&b, e)?;
        }
        Ok(())
    }

    /// Writes what is pending; returns the number of features written and the schema.
    pub(crate) fn end(mut self) -> Result<(usize, FeatureSet)> {
        self.flush()?;
        Ok((self.count, self.fs))
    }

    /// Writes what is pending and lets go of the sink, keeping the rest for
    /// [`Feed::resume`] (input that arrives in parts).
    pub(crate) fn pause(mut self) -> Result<Paused> {
        self.flush()?;
        Ok(Paused {
            fs: self.fs,
            schema: self.schema,
            enc: self.enc,
            count: self.count,
        })
    }

    /// A feed that goes on where [`Feed::pause`] stopped.
    pub(crate) fn resume(sink: &'a mut Sink, fixes: &'a Fixes, p: Paused) -> Self {
        Feed {
            sink,
            fixes,
            fs: p.fs,
            schema: p.schema,
            enc: p.enc,
            batch: None,
            count: p.count,
        }
    }
}

/// A [`Feed`] between two parts of its input.
pub(crate) struct Paused {
    fs: FeatureSet,
    schema: FlatSchema,
    enc: Option<Arc<dyn Encoder>>,
    count: usize,
}

impl Paused {
    /// A placeholder while the real one is in a feed.
    pub(crate) fn empty() -> Paused {
        Paused {
            fs: FeatureSet::default(),
            schema: FlatSchema::default(),
            enc: None,
            count: 0,
        }
    }
}

impl Feed<'_> {
    /// One feature, borrowed.
    pub(crate) fn feature_ref(&mut self, f: &Feature) -> Result<()> {
        self.count += 1;
        let index = self.count - 1;
        if let Sink::Features(w) = &mut *self.sink {
            return write_feature(w.as_mut(), f, index, self.fixes);
        }
        let b = self
            .batch
            .get_or_insert_with(|| FlatBatch::new(&self.schema, index));
        b.push(&self.schema, f, self.fixes);
        if b.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }
}

/// The error of a batch writer asked for its encoder before `start` (a bug).
pub(crate) fn not_started() -> crate::error::Error {
    crate::error::Error::Schema {
        message: "internal error: a batch writer's encoder was asked for before start".into(),
    }
}

/// Feature `index` through a feature writer, repaired unless it keeps geometries.
pub(crate) fn write_feature(
    w: &mut dyn FeatureWriter,
    f: &Feature,
    index: usize,
    fixes: &Fixes,
) -> Result<()> {
    if w.keeps_geometry() {
        w.feature(f)
    } else {
        w.feature(&repaired(f, index, fixes))
    }
}

impl Consumer for Feed<'_> {
    fn schema(&mut self, fs: &FeatureSet) -> Result<()> {
        self.sink.start(fs)?;
        self.fs = FeatureSet {
            features: Vec::new(),
            ..fs.clone()
        };
        self.schema = FlatSchema::new(fs);
        if let Sink::Batches(w) = &*self.sink {
            self.enc = Some(w.encoder().ok_or_else(not_started)?);
        }
        Ok(())
    }

    fn feature(&mut self, f: Feature) -> Result<()> {
        self.feature_ref(&f)
    }
}

/// Writes a whole feature set through a sink.
pub(crate) fn write_all(mut sink: Sink, fs: &FeatureSet, fixes: &Fixes) -> Result<()> {
    let mut feed = Feed::new(&mut sink, fixes);
    feed.schema(fs)?;
    for f in &fs.features {
        feed.feature_ref(f)?;
    }
    feed.end()?;
    sink.finish()
}

//! Feature sinks: writers that take a schema, then features one at a time, so a
//! conversion never holds the whole data set.
//!
//! Writers whose per-feature work can run in parallel (GeoJSON, FlatGeobuf,
//! GeoPackage) also offer an [`Encoder`]: it turns a [`FlatBatch`] into output bytes
//! on any thread, and the sink only appends the encoded batches in order.

use std::sync::Arc;

use gp_model::{Feature, FeatureSet};

use crate::error::Result;
use crate::flat::{FlatBatch, FlatSchema};

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

/// A writer of one output, fed feature by feature.
pub(crate) trait FeatureSink {
    /// Called once with the feature set's schema (its features are ignored).
    fn start(&mut self, schema: &FeatureSet) -> Result<()>;
    /// Called for each feature, in order, when the sink has no [`Encoder`].
    fn feature(&mut self, _f: &Feature) -> Result<()> {
        Err(crate::error::Error::Schema {
            message: "internal error: this writer takes encoded batches".into(),
        })
    }
    /// Completes the output.
    fn finish(self: Box<Self>) -> Result<()>;
    /// True when the sink writes the feature set's keys that may follow the features
    /// array (`exceededTransferLimit`...), so they must be read before it starts.
    fn needs_trailing_keys(&self) -> bool {
        false
    }
    /// The sink's parallel encoder, if it has one (asked after `start`). A sink that
    /// returns one is fed through [`FeatureSink::encoded`] only.
    fn encoder(&self) -> Option<Arc<dyn Encoder>> {
        None
    }
    /// True when [`FeatureSink::encoded`] reads the flat batch beside its encoding.
    /// When false, the streaming reader frees each batch on the thread that parsed it
    /// and hands over an empty one: freeing a batch's many small allocations on
    /// another thread costs more than parsing them.
    fn reads_batches(&self) -> bool {
        true
    }
    /// Appends a batch made by the sink's encoder, batches in input order (an empty
    /// batch when the sink does not [read them](FeatureSink::reads_batches)).
    fn encoded(&mut self, _batch: &FlatBatch, _enc: Encoded) -> Result<()> {
        Err(crate::error::Error::Schema {
            message: "internal error: this writer takes features one at a time".into(),
        })
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
/// the sink's encoder when it has one, else one by one. Returns the count on `end`.
pub(crate) struct Feed<'a> {
    sink: &'a mut dyn FeatureSink,
    fs: FeatureSet,
    schema: FlatSchema,
    enc: Option<Arc<dyn Encoder>>,
    batch: Option<FlatBatch>,
    count: usize,
}

impl<'a> Feed<'a> {
    pub(crate) fn new(sink: &'a mut dyn FeatureSink) -> Self {
        Feed {
            sink,
            fs: FeatureSet::default(),
            schema: FlatSchema::default(),
            enc: None,
            batch: None,
            count: 0,
        }
    }

    fn flush(&mut self) -> Result<()> {
        if let (Some(enc), Some(b)) = (&self.enc, self.batch.take()) {
            let mut e = Encoded::default();
            enc.encode(&b, &mut e)?;
            self.sink.encoded(&b, e)?;
        }
        Ok(())
    }

    /// Writes what is pending; returns the number of features written and the schema.
    pub(crate) fn end(mut self) -> Result<(usize, FeatureSet)> {
        self.flush()?;
        Ok((self.count, self.fs))
    }
}

impl Feed<'_> {
    /// One feature, borrowed.
    pub(crate) fn feature_ref(&mut self, f: &Feature) -> Result<()> {
        self.count += 1;
        if self.enc.is_none() {
            return self.sink.feature(f);
        }
        let first = self.count - 1;
        let b = self
            .batch
            .get_or_insert_with(|| FlatBatch::new(&self.schema, first));
        b.push(&self.schema, f);
        if b.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
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
        self.enc = self.sink.encoder();
        Ok(())
    }

    fn feature(&mut self, f: Feature) -> Result<()> {
        self.feature_ref(&f)
    }
}

/// Writes a whole feature set through a sink.
pub(crate) fn write_all(mut sink: Box<dyn FeatureSink>, fs: &FeatureSet) -> Result<()> {
    let mut feed = Feed::new(sink.as_mut());
    feed.schema(fs)?;
    for f in &fs.features {
        feed.feature_ref(f)?;
    }
    feed.end()?;
    sink.finish()
}

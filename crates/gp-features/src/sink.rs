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
    /// Called for each feature, in order (when the sink has no [`Encoder`]).
    fn feature(&mut self, f: &Feature) -> Result<()>;
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
    /// Appends a batch made by the sink's encoder, batches in input order.
    fn encoded(&mut self, _batch: &FlatBatch, _enc: Encoded) -> Result<()> {
        Err(crate::error::Error::Schema {
            message: "internal error: this writer takes features one at a time".into(),
        })
    }
}

/// Features per batch when a whole feature set is written through an encoder.
const BATCH: usize = 4096;

/// Writes a whole feature set through a sink.
pub(crate) fn write_all(mut sink: Box<dyn FeatureSink>, fs: &FeatureSet) -> Result<()> {
    sink.start(fs)?;
    match sink.encoder() {
        Some(enc) => {
            let schema = FlatSchema::new(fs);
            for (k, chunk) in fs.features.chunks(BATCH).enumerate() {
                let mut b = FlatBatch::new(&schema, k * BATCH);
                for f in chunk {
                    b.push(&schema, f);
                }
                let mut e = Encoded::default();
                enc.encode(&b, &mut e)?;
                sink.encoded(&b, e)?;
            }
        }
        None => {
            for f in &fs.features {
                sink.feature(f)?;
            }
        }
    }
    sink.finish()
}

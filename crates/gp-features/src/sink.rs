//! Feature sinks: writers that take a schema, then features one at a time, so a
//! conversion never holds the whole data set.

use gp_model::{Feature, FeatureSet};

use crate::error::Result;

/// A writer of one output, fed feature by feature.
pub(crate) trait FeatureSink {
    /// Called once with the feature set's schema (its features are ignored).
    fn start(&mut self, schema: &FeatureSet) -> Result<()>;
    /// Called for each feature, in order.
    fn feature(&mut self, f: &Feature) -> Result<()>;
    /// Completes the output.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// Writes a whole feature set through a sink.
pub(crate) fn write_all(mut sink: Box<dyn FeatureSink>, fs: &FeatureSet) -> Result<()> {
    sink.start(fs)?;
    for f in &fs.features {
        sink.feature(f)?;
    }
    sink.finish()
}

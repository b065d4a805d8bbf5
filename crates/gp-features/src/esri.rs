//! Esri JSON: a bare FeatureSet, or a GP result `{paramName, dataType, value}`.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use gp_model::{FeatureSet, GpValue, ResultParameter};

use crate::error::{Result, fmt_err, io};

pub(crate) fn read(path: &Path) -> Result<FeatureSet> {
    let mut f = std::fs::File::open(path).map_err(io("opening", path))?;
    let mut head = vec![0u8; 4096];
    let n = f.read(&mut head).map_err(io("reading", path))?;
    head.truncate(n);
    let f = std::fs::File::open(path).map_err(io("opening", path))?;
    let reader = BufReader::new(f);
    if String::from_utf8_lossy(&head).contains("\"paramName\"") {
        let r: ResultParameter = gp_model::from_json_reader("GP result", reader)?;
        return match r.value {
            GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) => Ok(fs),
            GpValue::FeatureCollection(c) => Ok(c.feature_set),
            other => Err(fmt_err(path, "Esri JSON")(format!(
                "the result `{}` holds a {} value, not features",
                r.param_name,
                match other {
                    GpValue::DataRef(_) => "data reference",
                    GpValue::MapImage(_) => "map image",
                    _ => "non-feature",
                }
            ))),
        };
    }
    Ok(gp_model::from_json_reader("Esri JSON feature set", reader)?)
}

/// Esri JSON written feature by feature: the schema keys, then the features array.
pub(crate) struct EsriSink {
    path: std::path::PathBuf,
    out: BufWriter<std::fs::File>,
    count: usize,
    tail: String,
}

impl EsriSink {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let f = crate::atomic::create_file(path).map_err(io("creating", path))?;
        Ok(EsriSink {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, f),
            count: 0,
            tail: String::new(),
        })
    }
}

impl crate::sink::FeatureSink for EsriSink {
    fn needs_trailing_keys(&self) -> bool {
        true
    }

    fn start(&mut self, fs: &FeatureSet) -> Result<()> {
        let schema = FeatureSet {
            features: Vec::new(),
            ..fs.clone()
        };
        let text =
            serde_json::to_string(&schema).map_err(|e| io("writing", &self.path)(e.into()))?;
        // `{..., "features": [], "exceededTransferLimit": ...}`: split around the array.
        let at = text.find("\"features\":[]").unwrap_or(text.len() - 1);
        let (head, rest) = text.split_at(at);
        self.tail = rest.trim_start_matches("\"features\":[]").to_string();
        self.out
            .write_all(head.as_bytes())
            .map_err(io("writing", &self.path))?;
        self.out
            .write_all(b"\"features\":[")
            .map_err(io("writing", &self.path))
    }

    fn feature(&mut self, f: &gp_model::Feature) -> Result<()> {
        if self.count > 0 {
            self.out
                .write_all(b",")
                .map_err(io("writing", &self.path))?;
        }
        serde_json::to_writer(&mut self.out, f).map_err(|e| io("writing", &self.path)(e.into()))?;
        self.count += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        let tail = std::mem::take(&mut self.tail);
        self.out
            .write_all(b"]")
            .map_err(io("writing", &self.path))?;
        self.out
            .write_all(tail.as_bytes())
            .map_err(io("writing", &self.path))?;
        self.out.flush().map_err(io("writing", &self.path))
    }
}

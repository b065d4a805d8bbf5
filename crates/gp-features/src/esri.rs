//! Esri JSON: a bare FeatureSet, a GP result `{paramName, dataType, value}`, or an
//! execute response `{results: [...]}`.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use gp_model::{ExecuteResponse, FeatureSet, GpValue, ResultParameter};

use crate::error::{Result, fmt_err, io};

/// What an Esri JSON file holds at its top level, judged from its first 4 KB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A feature set (`{"features": [...]}`).
    FeatureSet,
    /// A GP result parameter as `results/<param>?f=json` gives it.
    ResultParameter,
    /// A synchronous execute response (`{"results": [...]}`).
    ExecuteResponse,
}

pub(crate) fn shape(path: &Path) -> Result<Shape> {
    let mut f = std::fs::File::open(path).map_err(io("opening", path))?;
    let mut head = vec![0u8; 4096];
    let n = f.read(&mut head).map_err(io("reading", path))?;
    head.truncate(n);
    let text = String::from_utf8_lossy(&head);
    let at = |k: &str| text.find(k).unwrap_or(usize::MAX);
    let (results, param, features) = (at("\"results\""), at("\"paramName\""), at("\"features\""));
    Ok(if results < param.min(features) {
        Shape::ExecuteResponse
    } else if param < features || (param != usize::MAX && features == usize::MAX) {
        Shape::ResultParameter
    } else {
        Shape::FeatureSet
    })
}

/// The features of a result's value, or what the value is instead.
fn features_of(r: ResultParameter, path: &Path) -> Result<FeatureSet> {
    match r.value {
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
    }
}

/// Reads an Esri JSON feature set, a GP result parameter whose value is one, or an
/// execute response: its one feature result, or the one named `layer`.
pub(crate) fn read(path: &Path, layer: Option<&str>) -> Result<FeatureSet> {
    let shape = shape(path)?;
    let reader = BufReader::new(std::fs::File::open(path).map_err(io("opening", path))?);
    match shape {
        Shape::FeatureSet => Ok(gp_model::from_json_reader("Esri JSON feature set", reader)?),
        Shape::ResultParameter => {
            let r: ResultParameter = gp_model::from_json_reader("GP result", reader)?;
            features_of(r, path)
        }
        Shape::ExecuteResponse => {
            let resp: ExecuteResponse = gp_model::from_json_reader("execute response", reader)?;
            let is_features = |r: &ResultParameter| {
                matches!(
                    r.value,
                    GpValue::FeatureSet(_) | GpValue::RecordSet(_) | GpValue::FeatureCollection(_)
                )
            };
            let names: Vec<String> = resp
                .results
                .iter()
                .filter(|r| is_features(r))
                .map(|r| r.param_name.to_string())
                .collect();
            let chosen = match layer {
                Some(l) => resp
                    .results
                    .into_iter()
                    .find(|r| r.param_name.as_str().eq_ignore_ascii_case(l)),
                None if names.len() == 1 => resp.results.into_iter().find(is_features),
                None => None,
            };
            chosen.map_or_else(
                || {
                    Err(fmt_err(path, "Esri JSON")(match (layer, names.len()) {
                        (Some(l), _) => format!("the execute response has no result `{l}`; its feature results: {}", names.join(", ")),
                        (None, 0) => "the execute response has no feature result".into(),
                        (None, _) => format!(
                            "the execute response has {} feature results ({}); name one as `file.json/NAME`",
                            names.len(),
                            names.join(", ")
                        ),
                    }))
                },
                |r| features_of(r, path),
            )
        }
    }
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
        let f = gp_fs::create_file(path).map_err(io("creating", path))?;
        Ok(EsriSink {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, f),
            count: 0,
            tail: String::new(),
        })
    }
}

impl crate::sink::FeatureSink for EsriSink {
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

    fn needs_trailing_keys(&self) -> bool {
        true
    }
}

impl crate::sink::FeatureWriter for EsriSink {
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

    fn keeps_geometry(&self) -> bool {
        true
    }
}

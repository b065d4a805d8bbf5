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

pub(crate) fn write(fs: &FeatureSet, path: &Path) -> Result<()> {
    let f = std::fs::File::create(path).map_err(io("creating", path))?;
    let mut w = BufWriter::new(f);
    serde_json::to_writer(&mut w, fs).map_err(|e| io("writing", path)(e.into()))?;
    w.flush().map_err(io("writing", path))
}

//! One decoding helper for every JSON document, reporting the JSON path of a failure.

use std::io::Read;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

fn map_err<E: std::fmt::Display>(what: &'static str, e: serde_path_to_error::Error<E>) -> Error {
    let path = e.path().to_string();
    Error::Json {
        what,
        path,
        message: e.inner().to_string(),
    }
}

/// Decodes `T` from a JSON string; a failure names `what` and the JSON path.
///
/// ```
/// let err = gp_model::from_json_str::<gp_model::JobInfo>("job status", r#"{"jobId": 5}"#)
///     .unwrap_err();
/// assert!(err.to_string().contains("jobId"), "{err}");
/// ```
pub fn from_json_str<T: DeserializeOwned>(what: &'static str, s: &str) -> Result<T> {
    from_json_slice(what, s.as_bytes())
}

/// Decodes `T` from JSON bytes; a failure names `what` and the JSON path.
///
/// Decoded once without tracking the path (tracking it costs on every value of a
/// large feature set); only a document that fails is decoded again, with the path,
/// for the message.
pub fn from_json_slice<T: DeserializeOwned>(what: &'static str, s: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(s);
    if let Ok(v) = T::deserialize(&mut de)
        && de.end().is_ok()
    {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_slice(s);
    let v = serde_path_to_error::deserialize(&mut de).map_err(|e| map_err(what, e))?;
    finish(what, &mut de)?;
    Ok(v)
}

/// Decodes `T` from a reader, streaming: no `serde_json::Value` tree of the whole
/// document is built. Wrap a file in a `BufReader` first.
pub fn from_json_reader<T: DeserializeOwned, R: Read>(what: &'static str, r: R) -> Result<T> {
    let mut de = serde_json::Deserializer::from_reader(r);
    let v = serde_path_to_error::deserialize(&mut de).map_err(|e| map_err(what, e))?;
    finish(what, &mut de)?;
    Ok(v)
}

fn finish<'de, R: serde_json::de::Read<'de>>(
    what: &'static str,
    de: &mut serde_json::Deserializer<R>,
) -> Result<()> {
    de.end().map_err(|e| Error::Json {
        what,
        path: ".".into(),
        message: e.to_string(),
    })
}

/// Decodes `T` from an already parsed JSON value, naming the JSON path of a failure.
pub fn from_json_value<T: DeserializeOwned>(
    what: &'static str,
    v: &serde_json::Value,
) -> Result<T> {
    serde_path_to_error::deserialize(v).map_err(|e| map_err(what, e))
}

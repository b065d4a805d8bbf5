//! Recorded sessions: [`RecordingTransport`] writes every exchange of a real session
//! as one JSON line; [`ReplayTransport`] answers from such a file, offline.
//!
//! Requests are matched by method, URL path and parameters (query and form body,
//! sorted, `token` and `password` left out). Several answers to the same request (polling a job)
//! are replayed in order; the last one repeats. Tokens and passwords are never
//! written.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::Transport;
use crate::error::Error;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Exchange {
    method: String,
    url: String,
    params: BTreeMap<String, String>,
    status: u16,
    content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_hex: Option<String>,
}

fn key_of(req: &http::Request<Bytes>) -> (String, String, BTreeMap<String, String>) {
    let uri = req.uri();
    let url = format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("http"),
        uri.authority().map(|a| a.as_str()).unwrap_or_default(),
        uri.path()
    );
    let mut params = BTreeMap::new();
    let mut add = |bytes: &[u8]| {
        for (k, v) in url::form_urlencoded::parse(bytes) {
            // Credentials are never written (nor matched on).
            if !k.eq_ignore_ascii_case("token") && !k.eq_ignore_ascii_case("password") {
                params.insert(k.into_owned(), v.into_owned());
            }
        }
    };
    if let Some(q) = uri.query() {
        add(q.as_bytes());
    }
    let is_form = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        add(req.body());
    }
    (req.method().to_string(), url, params)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

type Key = (String, String, BTreeMap<String, String>);

/// Answers requests from a recording.
#[derive(Debug)]
pub struct ReplayTransport {
    answers: Mutex<HashMap<Key, (Vec<Exchange>, usize)>>,
}

impl ReplayTransport {
    /// Loads a recording written by [`RecordingTransport`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Recording {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut answers: HashMap<Key, (Vec<Exchange>, usize)> = HashMap::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let ex: Exchange = serde_json::from_str(line).map_err(|e| Error::Recording {
                path: path.to_path_buf(),
                message: format!("line {}: {e}", i + 1),
            })?;
            let key = (ex.method.clone(), ex.url.clone(), ex.params.clone());
            answers.entry(key).or_default().0.push(ex);
        }
        Ok(ReplayTransport {
            answers: Mutex::new(answers),
        })
    }
}

#[async_trait]
impl Transport for ReplayTransport {
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, Error> {
        let key = key_of(&request);
        let mut map = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        let Some((list, next)) = map.get_mut(&key) else {
            return Err(Error::NotRecorded {
                method: key.0,
                url: key.1,
            });
        };
        let i = (*next).min(list.len().saturating_sub(1));
        *next += 1;
        let ex = &list[i];
        let body = match (&ex.body, &ex.body_hex) {
            (Some(s), _) => Bytes::from(s.clone().into_bytes()),
            (None, Some(h)) => Bytes::from(unhex(h).unwrap_or_default()),
            _ => Bytes::new(),
        };
        let mut b = http::Response::builder().status(ex.status);
        if let Some(ct) = &ex.content_type {
            b = b.header(http::header::CONTENT_TYPE, ct);
        }
        b.body(body).map_err(|e| Error::NotRecorded {
            method: key.0.clone(),
            url: format!("{} ({e})", key.1),
        })
    }
}

/// A JSON answer with a top-level `token` (a `generateToken` answer) has it replaced
/// by `<redacted>`: a recording never holds a credential. Other bodies are kept as
/// they are.
fn without_token(body: &str) -> String {
    if body.len() > 64 * 1024 || !body.contains("\"token\"") {
        return body.to_string();
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut o)) if o.get("token").is_some_and(|t| t.is_string()) => {
            o.insert(
                "token".into(),
                serde_json::Value::String("<redacted>".into()),
            );
            serde_json::Value::Object(o).to_string()
        }
        _ => body.to_string(),
    }
}

/// Records every exchange of an inner transport to a JSON-lines file.
#[derive(Debug)]
pub struct RecordingTransport<T> {
    inner: T,
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl<T: Transport> RecordingTransport<T> {
    /// Records into `path` (appending).
    pub fn new(inner: T, path: impl Into<PathBuf>) -> Result<Self, Error> {
        let path = path.into();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::Recording {
                path: path.clone(),
                message: e.to_string(),
            })?;
        Ok(RecordingTransport {
            inner,
            path,
            file: Mutex::new(file),
        })
    }
}

#[async_trait]
impl<T: Transport> Transport for RecordingTransport<T> {
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, Error> {
        let (method, url, params) = key_of(&request);
        let r = self.inner.send(request).await?;
        let content_type = r
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (body, body_hex) = match std::str::from_utf8(r.body()) {
            Ok(s) => (Some(without_token(s)), None),
            Err(_) => (None, Some(hex(r.body()))),
        };
        let ex = Exchange {
            method,
            url,
            params,
            status: r.status().as_u16(),
            content_type,
            body,
            body_hex,
        };
        let line = serde_json::to_string(&ex).map_err(|e| Error::Recording {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        {
            use std::io::Write;
            let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
            writeln!(f, "{line}").map_err(|e| Error::Recording {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(r)
    }
}

//! The error envelope `{"error": {"code", "message", "details", "messageCode"}}`.

use std::fmt;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};

/// The server's error envelope body. Servers send it with HTTP 200, so every
/// response must be checked with [`ServerError::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerError {
    /// 400, 403, 404, 498 (invalid token), 499 (token required), 500 ...
    #[serde(default)]
    pub code: i64,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// Details lines.
    #[serde(default, deserialize_with = "lenient_details")]
    pub details: Vec<String>,
    /// `messageCode` such as `GWM_0003`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_code: Option<String>,
}

/// `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ServerError,
}

fn lenient_details<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(a)) => a
            .into_iter()
            .map(|i| match i {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Some(serde_json::Value::String(s)) => vec![s],
        Some(other) => vec![other.to_string()],
    })
}

impl ServerError {
    /// True when `body` may be an error envelope: a JSON object whose first key is
    /// `error` or `status` (as every server writes it). A cheap look at a few bytes,
    /// so a large answer is not parsed twice; [`ServerError::check`] decides.
    ///
    /// ```
    /// use gp_model::ServerError;
    /// assert!(ServerError::may_be_envelope(br#" {"error": {"code": 400}}"#));
    /// assert!(!ServerError::may_be_envelope(br#"{"results": [], "error": 1}"#));
    /// ```
    pub fn may_be_envelope(body: &[u8]) -> bool {
        let mut it = body.iter().copied().skip_while(u8::is_ascii_whitespace);
        if it.next() != Some(b'{') {
            return false;
        }
        let mut it = it.skip_while(u8::is_ascii_whitespace);
        if it.next() != Some(b'"') {
            return false;
        }
        let key: Vec<u8> = it.take(7).take_while(|&b| b != b'"').collect();
        key == b"error" || key == b"status"
    }

    /// Decodes an answer in one pass: the envelope when [`ServerError::may_be_envelope`]
    /// says it may be one (or when `T` does not decode and the body is an envelope
    /// after all), else `T` through [`crate::from_json_slice`], which names the JSON
    /// path of a failure.
    pub fn decode_answer<T: serde::de::DeserializeOwned>(
        what: &'static str,
        body: &[u8],
    ) -> crate::Result<Result<T, ServerError>> {
        if ServerError::may_be_envelope(body)
            && let Some(e) = ServerError::check(body)
        {
            return Ok(Err(e));
        }
        match crate::from_json_slice(what, body) {
            Ok(v) => Ok(Ok(v)),
            Err(decode) => match ServerError::check(body) {
                Some(e) => Ok(Err(e)),
                None => Err(decode),
            },
        }
    }

    /// Looks for an error envelope in a response body. Returns `None` for any body
    /// that is not a JSON object with an `error` object (including non-JSON bodies).
    /// Also recognises the Admin API shape `{"status": "error", "messages", "code"}`.
    ///
    /// ```
    /// use gp_model::ServerError;
    /// let e = ServerError::check(br#"{"error":{"code":499,"message":"Token Required","details":[]}}"#).unwrap();
    /// assert!(e.is_auth());
    /// assert!(ServerError::check(br#"{"jobId":"j1","jobStatus":"esriJobNew"}"#).is_none());
    /// ```
    pub fn check(body: &[u8]) -> Option<ServerError> {
        let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
        if *first != b'{' {
            return None;
        }
        #[derive(Deserialize)]
        struct Probe {
            #[serde(default)]
            error: Option<ServerError>,
            #[serde(default)]
            status: Option<String>,
            #[serde(default)]
            messages: Option<IgnoredAny>,
            #[serde(default)]
            code: Option<i64>,
        }
        let p: Probe = serde_json::from_slice(body).ok()?;
        if let Some(e) = p.error {
            return Some(e);
        }
        if p.status.as_deref() == Some("error") {
            let v: serde_json::Value = serde_json::from_slice(body).ok()?;
            let details: Vec<String> = v
                .get("messages")
                .and_then(|m| m.as_array())
                .map(|a| {
                    a.iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let _ = p.messages;
            return Some(ServerError {
                code: p.code.unwrap_or(500),
                message: details.first().cloned().unwrap_or_else(|| "error".into()),
                details,
                message_code: None,
            });
        }
        None
    }

    /// True for 498 (invalid or expired token) and 499 (token required).
    pub fn is_auth(&self) -> bool {
        matches!(self.code, 498 | 499)
    }

    /// True for 404.
    pub fn is_not_found(&self) -> bool {
        self.code == 404
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server error {}: {}", self.code, self.message)?;
        if let Some(c) = &self.message_code {
            write!(f, " [{c}]")?;
        }
        for d in self.details.iter().filter(|d| !d.is_empty()) {
            write!(f, "; {d}")?;
        }
        Ok(())
    }
}

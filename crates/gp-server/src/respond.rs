//! Responses: JSON (`f=json`/`pjson`), the error envelope, and small HTML pages.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use gp_model::{ErrorEnvelope, ServerError};
use serde::Serialize;

use crate::request::F;

/// An error answered with the ArcGIS envelope `{"error": {"code", "message", "details"}}`,
/// with HTTP 200 as real servers answer REST resources, or with a real HTTP status
/// where ArcGIS uses one (missing files, refused hosts, timeouts).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) message: String,
    pub(crate) details: Vec<String>,
    pub(crate) message_code: Option<&'static str>,
    /// The HTTP status of the answer.
    pub(crate) status: StatusCode,
}

impl ApiError {
    pub(crate) fn new(code: u16, message: impl Into<String>, details: Vec<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details,
            message_code: None,
            status: StatusCode::OK,
        }
    }

    /// The same error with HTTP status `status` (and `code` to match).
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self.code = status.as_u16();
        self
    }

    /// A file that does not exist: HTTP 404.
    pub(crate) fn file_not_found(what: &str) -> Self {
        ApiError::new(404, format!("File {what} not found"), vec![])
            .with_status(StatusCode::NOT_FOUND)
    }

    /// A Host this server does not serve: HTTP 421.
    pub(crate) fn misdirected(detail: String) -> Self {
        ApiError::new(421, "Unknown host.", vec![detail])
            .with_status(StatusCode::MISDIRECTED_REQUEST)
    }

    /// A request whose body stopped coming: HTTP 408.
    pub(crate) fn body_timeout(detail: String) -> Self {
        ApiError::new(408, "Request timeout.", vec![detail])
            .with_status(StatusCode::REQUEST_TIMEOUT)
    }

    /// Too many failed attempts: HTTP 429.
    pub(crate) fn too_many(detail: String) -> Self {
        ApiError::new(429, "Too many requests.", vec![detail])
            .with_status(StatusCode::TOO_MANY_REQUESTS)
    }

    /// 400 with details.
    pub(crate) fn bad_request(details: impl Into<String>) -> Self {
        ApiError::new(400, "Unable to complete operation.", vec![details.into()])
    }

    /// A bad parameter value.
    pub(crate) fn bad_param(param: &str, reason: &str) -> Self {
        ApiError::new(
            400,
            "Invalid or missing input parameters.",
            vec![format!("Invalid value for parameter '{param}': {reason}")],
        )
    }

    /// 404.
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(404, what, vec![])
    }

    /// 403.
    pub(crate) fn forbidden() -> Self {
        ApiError::new(
            403,
            "You do not have permissions to access this resource or perform this operation.",
            vec![],
        )
    }

    /// 499.
    pub(crate) fn token_required() -> Self {
        ApiError {
            message_code: Some("GWM_0003"),
            ..ApiError::new(499, "Token Required", vec![])
        }
    }

    /// 498.
    pub(crate) fn invalid_token() -> Self {
        ApiError {
            message_code: Some("GWM_0002"),
            ..ApiError::new(498, "Invalid token.", vec![])
        }
    }

    /// 500.
    pub(crate) fn internal(detail: impl Into<String>) -> Self {
        ApiError::new(500, "Error performing the operation.", vec![detail.into()])
    }

    fn envelope(&self) -> ErrorEnvelope {
        ErrorEnvelope {
            error: ServerError {
                code: i64::from(self.code),
                message: self.message.clone(),
                details: self.details.clone(),
                message_code: self.message_code.map(str::to_string),
            },
        }
    }

    /// The envelope as a response in format `f`.
    pub(crate) fn respond(&self, f: F) -> Response {
        tracing::debug!(code = self.code, message = %self.message, details = ?self.details, "error envelope");
        let e = self.envelope();
        let mut r = match f {
            F::Html => html_page(&format!("Error: {}", self.message), &[], &[], &e),
            F::Pjson => json_response(&e, true),
            _ => json_response(&e, false),
        };
        *r.status_mut() = self.status;
        r
    }
}

/// A JSON response.
pub(crate) fn json_response<T: Serialize + ?Sized>(v: &T, pretty: bool) -> Response {
    let body = if pretty {
        serde_json::to_vec_pretty(v)
    } else {
        serde_json::to_vec(v)
    }
    .unwrap_or_else(|_| b"{}".to_vec());
    bytes_response(body, "application/json; charset=utf-8")
}

/// Bytes with a content type.
pub(crate) fn bytes_response(body: Vec<u8>, content_type: &str) -> Response {
    let mut r = Response::new(Body::from(body));
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A value in format `f`: JSON, pretty JSON, or an HTML page of it.
pub(crate) fn value_response<T: Serialize + ?Sized>(
    f: F,
    title: &str,
    crumbs: &[(String, String)],
    links: &[(String, String)],
    v: &T,
) -> Response {
    match f {
        F::Json | F::Image => json_response(v, false),
        F::Pjson => json_response(v, true),
        F::Html => html_page(title, crumbs, links, v),
    }
}

/// Escapes text for HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A small services-directory page: breadcrumbs, child links, the JSON.
pub(crate) fn html_page<T: Serialize + ?Sized>(
    title: &str,
    crumbs: &[(String, String)],
    links: &[(String, String)],
    v: &T,
) -> Response {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>");
    h.push_str(&esc(title));
    h.push_str("</title><style>body{font-family:sans-serif;margin:1.5em;max-width:70em}pre{background:#f4f4f4;padding:1em;overflow:auto}nav a{margin-right:.4em}</style></head><body>");
    h.push_str("<p><b>gp-server</b> &mdash; ArcGIS REST Services Directory</p><nav>");
    for (i, (label, href)) in crumbs.iter().enumerate() {
        if i > 0 {
            h.push_str(" &gt; ");
        }
        h.push_str(&format!("<a href=\"{}\">{}</a>", esc(href), esc(label)));
    }
    h.push_str("</nav><h2>");
    h.push_str(&esc(title));
    h.push_str("</h2>");
    if !links.is_empty() {
        h.push_str("<ul>");
        for (label, href) in links {
            h.push_str(&format!(
                "<li><a href=\"{}\">{}</a></li>",
                esc(href),
                esc(label)
            ));
        }
        h.push_str("</ul>");
    }
    h.push_str(
        "<p>Formats: <a href=\"?f=json\">JSON</a> | <a href=\"?f=pjson\">pretty JSON</a></p><pre>",
    );
    h.push_str(&esc(&serde_json::to_string_pretty(v).unwrap_or_default()));
    h.push_str("</pre></body></html>");
    bytes_response(h.into_bytes(), "text/html; charset=utf-8")
}

/// A response with a non-200 status (for files that are missing).
pub(crate) fn status_response(status: StatusCode, text: &str) -> Response {
    let mut r = bytes_response(text.as_bytes().to_vec(), "text/plain; charset=utf-8");
    *r.status_mut() = status;
    r
}

//! The crate's error.

/// Why a request got no usable response. Tokens never appear in these messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL could not be parsed or used.
    #[error("invalid URL {url}: {message}")]
    InvalidUrl {
        /// The URL (without query).
        url: String,
        /// Why.
        message: String,
    },
    /// No connection (DNS, refused, TLS, reset), after any retries.
    #[error("cannot reach {url}: {message}")]
    Connect {
        /// The URL (without query).
        url: String,
        /// What failed.
        message: String,
    },
    /// The connection failed after the request may have been sent (reset, closed):
    /// a request that is not idempotent may have taken effect on the server.
    #[error("no answer from {url}: {message}")]
    NoAnswer {
        /// The URL (without query).
        url: String,
        /// What failed.
        message: String,
    },
    /// The request timed out, after any retries.
    #[error("request to {url} timed out")]
    Timeout {
        /// The URL (without query).
        url: String,
    },
    /// The response could not be read.
    #[error("reading the response of {url}: {message}")]
    Body {
        /// The URL (without query).
        url: String,
        /// What failed.
        message: String,
    },
    /// A token would go over plain HTTP to a host that is not this machine.
    #[error(
        "refusing to send a token over plain HTTP to {host}; use https, or allow it explicitly"
    )]
    InsecureToken {
        /// The host.
        host: String,
    },
    /// Getting a token failed.
    #[error("authentication with {url} failed: {message}")]
    Auth {
        /// The token service URL.
        url: String,
        /// What failed (never the password or token).
        message: String,
    },
    /// The replay backend has no recorded response for a request.
    #[error("no recorded response for {method} {url}")]
    NotRecorded {
        /// Method.
        method: String,
        /// URL.
        url: String,
    },
    /// Reading or writing a recording failed.
    #[error("recording {path}: {message}")]
    Recording {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        message: String,
    },
}

/// The URL without its query string (which may carry a token).
pub(crate) fn redact(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_string()
}

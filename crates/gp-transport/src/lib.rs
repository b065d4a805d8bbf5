//! HTTP transport for ArcGIS geoprocessing clients.
//!
//! The seam is one object-safe async trait, [`Transport`]: an `http::Request<Bytes>` in,
//! an `http::Response<Bytes>` out. A non-2xx status is a response, not an error;
//! errors are for requests that got no response (connection, timeout, TLS). On top:
//!
//! - [`HttpTransport`]: reqwest with rustls (no OpenSSL), connect and request
//!   timeouts, redirects, gzip/deflate, a per-host connection pool, a User-Agent
//!   naming this crate, and retries with exponential backoff and jitter **only** for
//!   idempotent requests (see [`Idempotency`]), a body cut short included: never a
//!   retry of `submitJob`, `execute` or `uploads/upload` once it may have been
//!   processed (they are sent again only on 429 and 503, which say they were not).
//! - [`AuthTransport`] with a [`TokenProvider`] ([`FixedToken`], [`UserPassword`]
//!   with `generateToken`): the token goes in `X-Esri-Authorization: Bearer` (or the
//!   form body), is refreshed before expiry and on a 498/499 envelope (streamed
//!   answers too; up to three times a request), and is
//!   never printed by `Debug`, `Display` or errors. Tokens are not sent over plain
//!   HTTP to a non-loopback host unless allowed.
//! - [`ReplayTransport`] and [`RecordingTransport`]: serve recorded request/response
//!   pairs from files, and record them from a real session.
//! - With the `test-util` feature, `MockTransport` (mockall) and `testing::ScriptedServer`,
//!   a loopback HTTP server that answers by script and injects network faults.
//!
//! Which crate does what: [reqwest] (hyper, rustls) does HTTP; [http] and [bytes]
//! are the request/response types; [async-trait](mod@async_trait) makes the trait object safe;
//! [mockall] generates the mock; gp-model recognises the ArcGIS error envelope.
//!
//! ```no_run
//! use gp_transport::{HttpTransport, Transport, TransportExt};
//! # async fn demo() -> Result<(), gp_transport::Error> {
//! let t = HttpTransport::new(Default::default())?;
//! let r = t.get("http://127.0.0.1:8080/arcgis/rest/services", &[("f", "json")]).await?;
//! assert!(r.status().is_success());
//! # Ok(()) }
//! ```

mod auth;
mod error;
mod ext;
mod http_backend;
mod replay;
mod retry;
#[cfg(feature = "test-util")]
pub mod testing;

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

pub use auth::{
    AuthTransport, FixedToken, Token, TokenPlacement, TokenProvider, UserPassword, origin_of,
};
pub use error::Error;
pub use ext::{Idempotency, TransportExt, form_body, multipart_body};
pub use http_backend::{HttpConfig, HttpTransport};
pub use replay::{RecordingTransport, ReplayTransport};
pub use retry::RetryPolicy;

/// A stream of body chunks, for large downloads.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>;

/// One request in, one response out.
#[cfg_attr(feature = "test-util", mockall::automock)]
#[async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// Sends `request` and returns the whole response. Any HTTP status is `Ok`.
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, Error>;

    /// Sends `request` and returns the body as a stream of chunks. The default
    /// implementation buffers the whole body through [`Transport::send`].
    async fn send_streaming(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<BodyStream>, Error> {
        let r = self.send(request).await?;
        let (parts, body) = r.into_parts();
        let s: BodyStream = Box::pin(futures::stream::once(async move { Ok(body) }));
        Ok(http::Response::from_parts(parts, s))
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, Error> {
        (**self).send(request).await
    }

    async fn send_streaming(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<BodyStream>, Error> {
        (**self).send_streaming(request).await
    }
}

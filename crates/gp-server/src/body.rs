//! Request bodies that must keep coming: a body with no data for the body timeout
//! fails, and the failure is answered 408 wherever it is read (form, multipart, upload).

use std::time::Duration;

use axum::body::Body;
use futures::StreamExt;

use crate::respond::ApiError;

/// The request body as a stream that fails when no data comes for `timeout`.
pub(crate) fn timed_body(body: Body, timeout: Duration) -> Body {
    let stream = body.into_data_stream();
    let timed = futures::stream::unfold(Some(stream), move |state| async move {
        let mut s = state?;
        match tokio::time::timeout(timeout, s.next()).await {
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(s))),
            Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e)), None)),
            Ok(None) => None,
            Err(_) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    BodyStalled(timeout),
                )),
                None,
            )),
        }
    });
    Body::from_stream(timed)
}

/// The error of a body that stopped coming.
#[derive(Debug)]
struct BodyStalled(Duration);

impl std::fmt::Display for BodyStalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body stopped coming: no data for {} s",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for BodyStalled {}

/// The message of a stalled body, when the error (at any depth) is one.
pub(crate) fn stalled(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(e);
    while let Some(x) = cur {
        if let Some(b) = x.downcast_ref::<BodyStalled>() {
            return Some(b.to_string());
        }
        if let Some(io) = x.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(b) = inner.downcast_ref::<BodyStalled>()
        {
            return Some(b.to_string());
        }
        cur = x.source();
    }
    None
}

/// The error of a body that could not be read: 408 when it stalled.
pub(crate) fn body_error(e: &(dyn std::error::Error + 'static), what: &str) -> ApiError {
    match stalled(e) {
        Some(m) => ApiError::body_timeout(m),
        None => ApiError::bad_request(format!("{what}: {e}")),
    }
}

//! Requests and answers: every JSON answer is checked for its HTTP status and the
//! error envelope and decoded in one pass ([`gp_model::ServerError::decode_answer`]).

use std::sync::Arc;

use bytes::Bytes;
use gp_transport::{Idempotency, Transport, TransportExt};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A URL without its query and fragment (which may carry a token).
pub(crate) fn redact(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_string()
}

fn server(url: &str, e: gp_model::ServerError) -> Error {
    Error::Server {
        url: redact(url),
        code: e.code,
        message: e.message,
        details: e.details,
    }
}

/// The first bytes of a body, as text, for an error message.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks the status and the envelope of a non-JSON answer (an image); returns the body.
pub(crate) fn check(url: &str, r: http::Response<Bytes>) -> Result<Bytes, Error> {
    let status = r.status().as_u16();
    let body = r.into_body();
    if body.len() < 1 << 20
        && gp_model::ServerError::may_be_envelope(&body)
        && let Some(e) = gp_model::ServerError::check(&body)
    {
        return Err(server(url, e));
    }
    if !(200..300).contains(&status) {
        return Err(Error::Protocol {
            url: redact(url),
            status,
            message: excerpt(&body),
        });
    }
    Ok(body)
}

/// Decodes a JSON answer: the envelope (whatever the HTTP status), a non-2xx status,
/// or `T`, in one pass over the body.
pub(crate) fn answer<T: DeserializeOwned>(
    what: &'static str,
    url: &str,
    r: http::Response<Bytes>,
) -> Result<T, Error> {
    let status = r.status().as_u16();
    let body = r.into_body();
    if !(200..300).contains(&status) {
        if let Some(e) = gp_model::ServerError::check(&body) {
            return Err(server(url, e));
        }
        return Err(Error::Protocol {
            url: redact(url),
            status,
            message: excerpt(&body),
        });
    }
    match gp_model::ServerError::decode_answer(what, &body) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(server(url, e)),
        Err(e) => Err(Error::Protocol {
            url: redact(url),
            status,
            message: if body.first().is_some_and(|b| *b == b'<') {
                format!("{e} (the answer is HTML, not JSON: {})", excerpt(&body))
            } else {
                e.to_string()
            },
        }),
    }
}

/// Times an idempotent read is asked again after an answer that was cut, corrupt
/// or a passing server error (see [`is_passing`]).
pub(crate) const READ_RETRIES: u32 = 3;

/// True for a failed read whose answer, not the request, was at fault: an answer
/// cut short, a body that is not the JSON asked for under a 2xx status (corrupted
/// on the way, an HTML page from a proxy), or an error envelope of a passing server
/// failure (500, 502, 503, 504, often sent with HTTP 200). The transport has
/// already retried what got no answer at all.
pub(crate) fn is_passing(e: &Error) -> bool {
    match e {
        Error::Transport(gp_transport::Error::Body { .. }) => true,
        Error::Protocol { status, .. } => (200..300).contains(status),
        Error::Server { code, .. } => matches!(code, 500 | 502 | 503 | 504),
        _ => false,
    }
}

/// Runs the read `attempt` once and again up to [`READ_RETRIES`] times while it
/// fails in passing, waiting 200 ms, 400 ms, 800 ms (less up to a quarter, at random).
pub(crate) async fn retry_read<T, F, Fut>(url: &str, mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let mut n = 0u32;
    loop {
        match attempt().await {
            Err(e) if n < READ_RETRIES && is_passing(&e) => {
                n += 1;
                pause_before_retry(url, &e, n).await;
            }
            r => return r,
        }
    }
}

/// The wait before retry `n` (from 1) of a read that failed in passing: 200 ms,
/// 400 ms, 800 ms, less up to a quarter at random; logged with the error.
pub(crate) async fn pause_before_retry(url: &str, e: &Error, n: u32) {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    let wait = std::time::Duration::from_millis(200 << n.clamp(1, 8).saturating_sub(1))
        .mul_f64(1.0 - f64::from(b[0]) / 1024.0);
    tracing::warn!(url = %redact(url), error = %e, attempt = n, "read failed in passing; asking again");
    tokio::time::sleep(wait).await;
}

/// GET `url?f=json&…` decoded as `T`. Reads are idempotent: the transport retries
/// what got no answer, and an answer that was cut, corrupt or a passing server
/// error is asked for again ([`retry_read`]).
pub(crate) async fn get_json<T: DeserializeOwned>(
    t: &Arc<dyn Transport>,
    url: &str,
    query: &[(&str, &str)],
    what: &'static str,
) -> Result<T, Error> {
    let mut q = vec![("f", "json")];
    q.extend_from_slice(query);
    retry_read(url, || async {
        let r = t.get(url, &q).await?;
        answer(what, url, r)
    })
    .await
}

/// A new request id: 32 hex digits from the OS's random source.
pub(crate) fn new_request_id() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// POST a `submitJob` or `execute` form with `f=json` and `X-Request-Id`, never
/// repeated once it may have reached the server, decoded as `T`.
pub(crate) async fn submit_json<T: DeserializeOwned>(
    t: &Arc<dyn Transport>,
    url: &str,
    form: &[(&str, &str)],
    request_id: &str,
    what: &'static str,
) -> Result<T, Error> {
    let mut f = vec![("f", "json")];
    f.extend_from_slice(form);
    let r = t
        .post_form_with_headers(
            url,
            &f,
            Idempotency::NotIdempotent,
            &[("x-request-id", request_id)],
        )
        .await?;
    answer(what, url, r)
}

/// Decodes JSON with the path of any failure.
pub(crate) fn decode<T: DeserializeOwned>(
    what: &'static str,
    url: &str,
    body: &[u8],
) -> Result<T, Error> {
    gp_model::from_json_slice(what, body).map_err(|e| Error::Protocol {
        url: redact(url),
        status: 200,
        message: e.to_string(),
    })
}

//! Requests and envelope checks shared by the client.

use std::sync::Arc;

use bytes::Bytes;
use gp_transport::{Idempotency, Transport, TransportExt};
use serde::de::DeserializeOwned;

use crate::error::Error;

fn redact(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_string()
}

/// Checks status and envelope; returns the body.
pub(crate) fn check(url: &str, r: http::Response<Bytes>) -> Result<Bytes, Error> {
    let status = r.status().as_u16();
    let body = r.into_body();
    if body.len() < 1 << 20
        && let Some(e) = gp_model::ServerError::check(&body)
    {
        return Err(Error::Server {
            url: redact(url),
            code: e.code,
            message: e.message,
            details: e.details,
        });
    }
    if !(200..300).contains(&status) {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(Error::Protocol {
            url: redact(url),
            status,
            message: text,
        });
    }
    Ok(body)
}

/// GET `url?f=json&…` (retried when it fails: reads are idempotent).
pub(crate) async fn get(
    t: &Arc<dyn Transport>,
    url: &str,
    query: &[(&str, &str)],
) -> Result<Bytes, Error> {
    let mut q = vec![("f", "json")];
    q.extend_from_slice(query);
    let r = t.get(url, &q).await?;
    check(url, r)
}

/// POST a form with `f=json`.
pub(crate) async fn post(
    t: &Arc<dyn Transport>,
    url: &str,
    form: &[(&str, &str)],
    idem: Idempotency,
) -> Result<Bytes, Error> {
    let mut f = vec![("f", "json")];
    f.extend_from_slice(form);
    let r = t.post_form(url, &f, idem).await?;
    check(url, r)
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

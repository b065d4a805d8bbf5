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

/// GET `url?f=json&…` decoded as `T` (retried by the transport: reads are idempotent).
pub(crate) async fn get_json<T: DeserializeOwned>(
    t: &Arc<dyn Transport>,
    url: &str,
    query: &[(&str, &str)],
    what: &'static str,
) -> Result<T, Error> {
    let mut q = vec![("f", "json")];
    q.extend_from_slice(query);
    let r = t.get(url, &q).await?;
    answer(what, url, r)
}

/// POST a form with `f=json`, decoded as `T`.
pub(crate) async fn post_json<T: DeserializeOwned>(
    t: &Arc<dyn Transport>,
    url: &str,
    form: &[(&str, &str)],
    idem: Idempotency,
    what: &'static str,
) -> Result<T, Error> {
    let mut f = vec![("f", "json")];
    f.extend_from_slice(form);
    let r = t.post_form(url, &f, idem).await?;
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

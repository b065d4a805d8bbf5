//! Conveniences over [`Transport`]: GET with a query, form and multipart POSTs,
//! and the idempotency marker that decides retries.

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, Request, Response, header};

use crate::error::{Error, redact};
use crate::{BodyStream, Transport};

/// Whether a request may be sent twice. Stored as a request extension; without it,
/// GET and HEAD are idempotent and everything else is not. Mark a POST that only
/// reads (metadata, job status, results) [`Idempotency::Idempotent`] so it can be
/// retried; never mark `submitJob`, `execute` or `uploads/upload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Safe to repeat.
    Idempotent,
    /// Must not be repeated once it may have reached the server.
    NotIdempotent,
}

impl Idempotency {
    /// The idempotency of `req`: its extension, else by method.
    pub fn of<B>(req: &Request<B>) -> Idempotency {
        match req.extensions().get::<Idempotency>() {
            Some(i) => *i,
            None if matches!(*req.method(), Method::GET | Method::HEAD) => Idempotency::Idempotent,
            None => Idempotency::NotIdempotent,
        }
    }
}

/// `application/x-www-form-urlencoded` text of `pairs`.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A `multipart/form-data` body: text fields, then one file. Returns the content
/// type (with its boundary) and the body.
pub fn multipart_body(
    fields: &[(&str, &str)],
    file_field: &str,
    file_name: &str,
    file: &[u8],
) -> (String, Vec<u8>) {
    let mut rnd = [0u8; 12];
    let _ = getrandom::fill(&mut rnd);
    let boundary: String = std::iter::once("gp-".to_string())
        .chain(rnd.iter().map(|b| format!("{b:02x}")))
        .collect();
    let mut body = Vec::with_capacity(file.len() + 512);
    let clean = |s: &str| s.replace(['"', '\r', '\n'], "_");
    for (k, v) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{v}\r\n",
                clean(k)
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            clean(file_field),
            clean(file_name)
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn with_query(url: &str, query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", form_body(query))
}

fn build(
    method: Method,
    url: &str,
    content_type: Option<&str>,
    body: Bytes,
    idem: Idempotency,
) -> Result<Request<Bytes>, Error> {
    let mut b = Request::builder().method(method).uri(url);
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    let mut req = b.body(body).map_err(|e| Error::InvalidUrl {
        url: redact(url),
        message: e.to_string(),
    })?;
    req.extensions_mut().insert(idem);
    Ok(req)
}

/// Conveniences for every [`Transport`].
#[async_trait]
pub trait TransportExt: Transport {
    /// GET `url` with `query` appended.
    async fn get(&self, url: &str, query: &[(&str, &str)]) -> Result<Response<Bytes>, Error> {
        let req = build(
            Method::GET,
            &with_query(url, query),
            None,
            Bytes::new(),
            Idempotency::Idempotent,
        )?;
        self.send(req).await
    }

    /// GET `url` with `query`, the body as a stream (downloads).
    async fn get_streaming(
        &self,
        url: &str,
        query: &[(&str, &str)],
    ) -> Result<Response<BodyStream>, Error> {
        let req = build(
            Method::GET,
            &with_query(url, query),
            None,
            Bytes::new(),
            Idempotency::Idempotent,
        )?;
        self.send_streaming(req).await
    }

    /// POST a form to `url`, retried on failure only when `idempotency` says so.
    async fn post_form(
        &self,
        url: &str,
        pairs: &[(&str, &str)],
        idempotency: Idempotency,
    ) -> Result<Response<Bytes>, Error> {
        let body = Bytes::from(form_body(pairs));
        let req = build(
            Method::POST,
            url,
            Some("application/x-www-form-urlencoded"),
            body,
            idempotency,
        )?;
        self.send(req).await
    }

    /// POST a form to `url` with extra `headers` (an `X-Request-Id`), retried on
    /// failure only when `idempotency` says so; a retry carries the same headers.
    async fn post_form_with_headers(
        &self,
        url: &str,
        pairs: &[(&str, &str)],
        idempotency: Idempotency,
        headers: &[(&'static str, &str)],
    ) -> Result<Response<Bytes>, Error> {
        let body = Bytes::from(form_body(pairs));
        let mut req = build(
            Method::POST,
            url,
            Some("application/x-www-form-urlencoded"),
            body,
            idempotency,
        )?;
        for (k, v) in headers {
            let v = http::HeaderValue::from_str(v).map_err(|_| Error::InvalidUrl {
                url: redact(url),
                message: format!("the {k} header value is not valid header text"),
            })?;
            req.headers_mut().insert(*k, v);
        }
        self.send(req).await
    }

    /// POST a multipart body (uploads); never retried.
    async fn post_multipart(
        &self,
        url: &str,
        fields: &[(&str, &str)],
        file_field: &str,
        file_name: &str,
        file: &[u8],
    ) -> Result<Response<Bytes>, Error> {
        let (ct, body) = multipart_body(fields, file_field, file_name, file);
        let req = build(
            Method::POST,
            url,
            Some(&ct),
            Bytes::from(body),
            Idempotency::NotIdempotent,
        )?;
        self.send(req).await
    }
}

impl<T: Transport + ?Sized> TransportExt for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_by_method_and_marker() {
        let get = build(
            Method::GET,
            "http://h/x",
            None,
            Bytes::new(),
            Idempotency::Idempotent,
        )
        .unwrap();
        assert_eq!(Idempotency::of(&get), Idempotency::Idempotent);
        let post = Request::builder()
            .method(Method::POST)
            .uri("http://h/submitJob")
            .body(())
            .unwrap();
        assert_eq!(Idempotency::of(&post), Idempotency::NotIdempotent);
    }

    #[test]
    fn form_and_query_encoding() {
        assert_eq!(
            form_body(&[("f", "json"), ("Distance", "5 feet"), ("x", "{\"a\":1}")]),
            "f=json&Distance=5+feet&x=%7B%22a%22%3A1%7D"
        );
        assert_eq!(
            with_query("http://h/a?b=1", &[("f", "json")]),
            "http://h/a?b=1&f=json"
        );
        let (ct, body) = multipart_body(&[("f", "json")], "file", "a.tif", b"II*\0");
        assert!(ct.starts_with("multipart/form-data; boundary=gp-"));
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("name=\"file\"; filename=\"a.tif\""));
    }
}

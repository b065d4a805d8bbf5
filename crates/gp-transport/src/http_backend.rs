//! The reqwest backend.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;

use crate::error::{Error, redact};
use crate::ext::Idempotency;
use crate::retry::{RetryPolicy, retry_after, retryable_status};
use crate::{BodyStream, Transport};

/// Settings of [`HttpTransport`].
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Time to establish a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Whole-request time for [`Transport::send`]. Default 120 s.
    pub timeout: Duration,
    /// Longest silence while reading a streamed body. Default 60 s.
    pub read_timeout: Duration,
    /// Retries of idempotent requests.
    pub retry: RetryPolicy,
    /// Redirects followed. Default 10.
    pub max_redirects: usize,
    /// Extra trusted root certificates (PEM), e.g. a local server's self-signed one.
    pub root_certificates_pem: Vec<Vec<u8>>,
    /// User-Agent. Default `gp-transport/<version>`.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            max_redirects: 10,
            root_certificates_pem: Vec::new(),
            user_agent: concat!("gp-transport/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// HTTP over reqwest and rustls, with retries for idempotent requests.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    config: HttpConfig,
}

impl HttpTransport {
    /// A transport with `config`.
    pub fn new(config: HttpConfig) -> Result<Self, Error> {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .redirect(reqwest::redirect::Policy::limited(config.max_redirects))
            .gzip(true)
            .user_agent(config.user_agent.clone())
            .pool_max_idle_per_host(8);
        for pem in &config.root_certificates_pem {
            let cert = reqwest::Certificate::from_pem(pem).map_err(|e| Error::Connect {
                url: String::new(),
                message: format!("invalid root certificate: {e}"),
            })?;
            b = b.add_root_certificate(cert);
        }
        let client = b.build().map_err(|e| Error::Connect {
            url: String::new(),
            message: format!("cannot build the HTTP client: {e}"),
        })?;
        Ok(HttpTransport { client, config })
    }

    fn to_reqwest(
        &self,
        req: &http::Request<Bytes>,
        total_timeout: bool,
    ) -> Result<reqwest::Request, Error> {
        let url = req.uri().to_string();
        let parsed = reqwest::Url::parse(&url).map_err(|e| Error::InvalidUrl {
            url: redact(&url),
            message: e.to_string(),
        })?;
        let mut r = reqwest::Request::new(req.method().clone(), parsed);
        *r.headers_mut() = req.headers().clone();
        *r.body_mut() = Some(reqwest::Body::from(req.body().clone()));
        if total_timeout {
            *r.timeout_mut() = Some(self.config.timeout);
        }
        Ok(r)
    }

    /// Sends with retries; returns the reqwest response (body unread).
    async fn execute(
        &self,
        req: &http::Request<Bytes>,
        total_timeout: bool,
    ) -> Result<reqwest::Response, Error> {
        let idempotent = Idempotency::of(req) == Idempotency::Idempotent;
        let url = redact(&req.uri().to_string());
        let policy = self.config.retry;
        let mut attempt = 0u32;
        loop {
            let r = self.to_reqwest(req, total_timeout)?;
            match self.client.execute(r).await {
                Ok(resp) => {
                    // 429 and 503 say the request was refused, not processed: even a
                    // submitJob may be sent again. 502 and 504 may come after the
                    // server acted, so only idempotent requests are repeated on them.
                    let refused = matches!(resp.status().as_u16(), 429 | 503);
                    if (idempotent || refused)
                        && retryable_status(resp.status())
                        && attempt < policy.max_retries
                    {
                        let wait = policy.delay(attempt, retry_after(resp.headers()));
                        tracing::debug!(%url, status = %resp.status(), ?wait, "retrying");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    return Ok(resp);
                }
                Err(e) => {
                    // A failed connection never reached the server: safe to repeat
                    // whatever the method. Anything later only for idempotent requests.
                    let may_retry =
                        e.is_connect() || (idempotent && (e.is_timeout() || e.is_request()));
                    if may_retry && attempt < policy.max_retries {
                        let wait = policy.delay(attempt, None);
                        tracing::debug!(%url, error = %e, ?wait, "retrying");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(if e.is_timeout() {
                        Error::Timeout { url }
                    } else if e.is_connect() {
                        Error::Connect {
                            url,
                            message: error_chain(&e),
                        }
                    } else {
                        Error::NoAnswer {
                            url,
                            message: error_chain(&e),
                        }
                    });
                }
            }
        }
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    // reqwest errors name the URL, which may carry a token in its query.
    match (s.find("?"), s.find("token=")) {
        (Some(_), Some(i)) => {
            let end = s[i..]
                .find([' ', ')', '&'])
                .map(|j| i + j)
                .unwrap_or(s.len());
            s.replace_range(i..end, "token=<redacted>");
            s
        }
        _ => s,
    }
}

fn response_parts(resp: &reqwest::Response) -> http::response::Builder {
    let mut b = http::Response::builder()
        .status(resp.status())
        .version(resp.version());
    if let Some(h) = b.headers_mut() {
        *h = resp.headers().clone();
    }
    b
}

#[async_trait]
impl Transport for HttpTransport {
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, Error> {
        let url = redact(&request.uri().to_string());
        let idempotent = Idempotency::of(&request) == Idempotency::Idempotent;
        let policy = self.config.retry;
        let mut attempt = 0u32;
        loop {
            let resp = self.execute(&request, true).await?;
            let builder = response_parts(&resp);
            match resp.bytes().await {
                Ok(body) => {
                    return builder.body(body).map_err(|e| Error::Body {
                        url,
                        message: e.to_string(),
                    });
                }
                // An answer cut short: a read is asked again; anything else is
                // reported (the server acted on it).
                Err(e) if idempotent && attempt < policy.max_retries => {
                    let wait = policy.delay(attempt, None);
                    tracing::debug!(%url, error = %error_chain(&e), ?wait, "answer cut short; retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(Error::Body {
                        url,
                        message: error_chain(&e),
                    });
                }
            }
        }
    }

    async fn send_streaming(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<BodyStream>, Error> {
        let url = redact(&request.uri().to_string());
        let resp = self.execute(&request, false).await?;
        let builder = response_parts(&resp);
        let u = url.clone();
        let stream: BodyStream = Box::pin(resp.bytes_stream().map(move |r| {
            r.map_err(|e| Error::Body {
                url: u.clone(),
                message: error_chain(&e),
            })
        }));
        builder.body(stream).map_err(|e| Error::Body {
            url,
            message: e.to_string(),
        })
    }
}

//! Tokens: fixed or from `generateToken`, added to requests, refreshed before they
//! expire and when the server answers 498/499 (up to three times a request). Never printed.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, header};

use crate::error::{Error, redact};
use crate::ext::{Idempotency, TransportExt};
use crate::{BodyStream, Transport};

/// A token. `Debug` and `Display` never show it; [`Token::expose`] does, on purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    value: String,
    expires: Option<SystemTime>,
}

impl Token {
    /// A token without a known expiry.
    pub fn new(value: impl Into<String>) -> Self {
        Token {
            value: value.into(),
            expires: None,
        }
    }

    /// A token that expires at `expires`.
    pub fn with_expiry(value: impl Into<String>, expires: SystemTime) -> Self {
        Token {
            value: value.into(),
            expires: Some(expires),
        }
    }

    /// The secret text (to put on the wire).
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// When it expires, if known.
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires
    }

    /// True when it expires within `margin`.
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires
            .is_some_and(|e| e <= SystemTime::now() + margin)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted token>")
    }
}

/// Where the token goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenPlacement {
    /// `X-Esri-Authorization: Bearer <token>` (default).
    #[default]
    Header,
    /// `token=<token>` in the body of form POSTs (for servers behind web-tier
    /// authentication that strip the header); GETs still use the header.
    FormBody,
}

/// Supplies tokens.
#[async_trait]
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// A valid token; `refresh` asks for a new one (the server rejected the last).
    async fn token(&self, transport: &dyn Transport, refresh: bool) -> Result<Token, Error>;
}

/// The same token every time.
#[derive(Debug, Clone)]
pub struct FixedToken(pub Token);

#[async_trait]
impl TokenProvider for FixedToken {
    async fn token(&self, _: &dyn Transport, _: bool) -> Result<Token, Error> {
        Ok(self.0.clone())
    }
}

/// Username and password exchanged at `generateToken` (found through the server's
/// `/rest/info` `authInfo.tokenServicesUrl` unless given), refreshed a minute
/// before expiry.
pub struct UserPassword {
    username: String,
    password: String,
    server_root: String,
    token_url: Option<String>,
    expiration_minutes: u32,
    allow_insecure: bool,
    cache: tokio::sync::Mutex<Option<Token>>,
}

impl fmt::Debug for UserPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserPassword")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("server_root", &self.server_root)
            .field("token_url", &self.token_url)
            .finish()
    }
}

/// True for `localhost` and loopback addresses.
pub(crate) fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn check_secure(uri: &str, allow_insecure: bool) -> Result<(), Error> {
    let u = url::Url::parse(uri).map_err(|e| Error::InvalidUrl {
        url: redact(uri),
        message: e.to_string(),
    })?;
    let host = u.host_str().unwrap_or_default();
    if u.scheme() == "http" && !allow_insecure && !is_loopback(host) {
        return Err(Error::InsecureToken {
            host: host.to_string(),
        });
    }
    Ok(())
}

impl UserPassword {
    /// Credentials for the server whose REST root is `server_root`
    /// (`https://host/arcgis`).
    pub fn new(
        server_root: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        UserPassword {
            username: username.into(),
            password: password.into(),
            server_root: server_root.into().trim_end_matches('/').to_string(),
            token_url: None,
            expiration_minutes: 60,
            allow_insecure: false,
            cache: tokio::sync::Mutex::new(None),
        }
    }

    /// Uses this `generateToken` URL instead of discovering it.
    pub fn with_token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Asks for tokens valid this many minutes (default 60).
    pub fn with_expiration_minutes(mut self, minutes: u32) -> Self {
        self.expiration_minutes = minutes.max(1);
        self
    }

    /// Allows sending the password over plain HTTP to a non-loopback host.
    pub fn allow_insecure(mut self, allow: bool) -> Self {
        self.allow_insecure = allow;
        self
    }

    async fn discover(&self, t: &dyn Transport) -> Result<String, Error> {
        if let Some(u) = &self.token_url {
            return Ok(u.clone());
        }
        let info_url = format!("{}/rest/info", self.server_root);
        let auth = |m: String| Error::Auth {
            url: redact(&info_url),
            message: m,
        };
        let r = t.get(&info_url, &[("f", "json")]).await?;
        let v: serde_json::Value = serde_json::from_slice(r.body())
            .map_err(|e| auth(format!("rest/info is not JSON: {e}")))?;
        let base = v["authInfo"]["tokenServicesUrl"].as_str().ok_or_else(|| {
            auth("the server does not advertise a token service (authInfo.tokenServicesUrl)".into())
        })?;
        Ok(if base.trim_end_matches('/').ends_with("generateToken") {
            base.to_string()
        } else {
            format!("{}/generateToken", base.trim_end_matches('/'))
        })
    }
}

#[async_trait]
impl TokenProvider for UserPassword {
    async fn token(&self, t: &dyn Transport, refresh: bool) -> Result<Token, Error> {
        let mut cache = self.cache.lock().await;
        if let Some(tok) = cache.as_ref()
            && !refresh
            && !tok.expires_within(Duration::from_secs(60))
        {
            return Ok(tok.clone());
        }
        let url = self.discover(t).await?;
        check_secure(&url, self.allow_insecure)?;
        let minutes = self.expiration_minutes.to_string();
        let r = t
            .post_form(
                &url,
                &[
                    ("username", &self.username),
                    ("password", &self.password),
                    ("client", "requestip"),
                    ("expiration", &minutes),
                    ("f", "json"),
                ],
                Idempotency::Idempotent,
            )
            .await?;
        let fail = |m: String| Error::Auth {
            url: redact(&url),
            message: m,
        };
        if let Some(e) = gp_model::ServerError::check(r.body()) {
            let mut m = e.message.clone();
            if !e.details.is_empty() {
                m.push(' ');
                m.push_str(&e.details.join(" "));
            }
            return Err(fail(m));
        }
        let v: gp_model::TokenResponse = gp_model::from_json_slice("token answer", r.body())
            .map_err(|e| {
                fail(format!(
                    "the answer is not a token (HTTP {}): {e}",
                    r.status()
                ))
            })?;
        let tok = match v.expires {
            Some(ms) if ms > 0 => {
                Token::with_expiry(v.token, UNIX_EPOCH + Duration::from_millis(ms as u64))
            }
            _ => Token::new(v.token),
        };
        *cache = Some(tok.clone());
        Ok(tok)
    }
}

/// Adds tokens to the requests of an inner transport: to every request, or with
/// [`AuthTransport::scoped_to`] only to the origins the credentials were issued for
/// (a result URL on another host is fetched without them).
#[derive(Debug, Clone)]
pub struct AuthTransport<T> {
    inner: T,
    provider: Arc<dyn TokenProvider>,
    placement: TokenPlacement,
    allow_insecure: bool,
    scope: Option<Scope>,
}

/// Where a token may go: origins (scheme, host, port) and host names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Scope {
    origins: Vec<String>,
    hosts: Vec<String>,
}

/// The origin of `uri` as `scheme://host[:port]` (port only when not the default),
/// lower-case; `None` when it is not an absolute URL.
pub fn origin_of(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    match u.origin() {
        o @ url::Origin::Tuple(..) => Some(o.ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

impl<T: Transport> AuthTransport<T> {
    /// Tokens from `provider` on every request of `inner`, in the header.
    pub fn new(inner: T, provider: Arc<dyn TokenProvider>) -> Self {
        AuthTransport {
            inner,
            provider,
            placement: TokenPlacement::Header,
            allow_insecure: false,
            scope: None,
        }
    }

    /// Sends the token only to requests whose origin is one of `origins` (URLs or
    /// `scheme://host:port`; the server the credentials were issued by) or whose host
    /// is one of `hosts` (hosts the user trusts, any port). Other requests go out
    /// without it.
    pub fn scoped_to<I, J>(mut self, origins: I, hosts: J) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
        J: IntoIterator,
        J::Item: AsRef<str>,
    {
        self.scope = Some(Scope {
            origins: origins
                .into_iter()
                .filter_map(|o| origin_of(o.as_ref()))
                .collect(),
            hosts: hosts
                .into_iter()
                .map(|h| h.as_ref().trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        });
        self
    }

    /// True when the token may go with a request to `uri`.
    pub fn sends_token_to(&self, uri: &str) -> bool {
        let Some(scope) = &self.scope else {
            return true;
        };
        let Ok(u) = url::Url::parse(uri) else {
            return false;
        };
        let url::Origin::Tuple(..) = u.origin() else {
            return false;
        };
        scope.origins.contains(&u.origin().ascii_serialization())
            || u.host_str()
                .is_some_and(|h| scope.hosts.contains(&h.to_ascii_lowercase()))
    }

    /// Where the token goes.
    pub fn with_placement(mut self, placement: TokenPlacement) -> Self {
        self.placement = placement;
        self
    }

    /// Allows tokens over plain HTTP to non-loopback hosts.
    pub fn allow_insecure(mut self, allow: bool) -> Self {
        self.allow_insecure = allow;
        self
    }

    /// The inner transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    fn with_token(
        &self,
        req: &http::Request<Bytes>,
        token: &Token,
    ) -> Result<http::Request<Bytes>, Error> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let mut body = req.body().clone();
        let mut headers = req.headers().clone();
        if self.placement == TokenPlacement::FormBody && is_form {
            let mut b = body.to_vec();
            if !b.is_empty() {
                b.push(b'&');
            }
            b.extend_from_slice(crate::ext::form_body(&[("token", token.expose())]).as_bytes());
            body = Bytes::from(b);
        } else {
            let v = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                Error::Auth {
                    url: redact(&req.uri().to_string()),
                    message: "the token is not a valid header value".into(),
                }
            })?;
            let mut v = v;
            v.set_sensitive(true);
            headers.insert("x-esri-authorization", v);
        }
        let mut b = http::Request::builder()
            .method(req.method().clone())
            .uri(req.uri().clone())
            .version(req.version());
        if let Some(h) = b.headers_mut() {
            *h = headers;
        }
        let mut out = b.body(body).map_err(|e| Error::InvalidUrl {
            url: redact(&req.uri().to_string()),
            message: e.to_string(),
        })?;
        if let Some(i) = req.extensions().get::<Idempotency>() {
            out.extensions_mut().insert(*i);
        }
        Ok(out)
    }
}

/// True when `body` is a 498/499 envelope (only small bodies are looked at).
fn is_token_error(body: &[u8]) -> bool {
    body.len() < 64 * 1024
        && gp_model::ServerError::may_be_envelope(body)
        && gp_model::ServerError::check(body).is_some_and(|e| e.is_auth())
}

/// Token refreshes one request may make: a token can be refused again while another
/// request's refresh replaced it, or expired once more by the server.
const MAX_REFRESHES: u32 = 3;

impl<T: Transport> AuthTransport<T> {
    /// The token to try after `failed` was refused: the provider's current one when
    /// another request refreshed it meanwhile, else a new one.
    async fn next_token(&self, failed: &Token) -> Result<Token, Error> {
        let current = self.provider.token(&self.inner, false).await?;
        if current.expose() != failed.expose() {
            return Ok(current);
        }
        self.provider.token(&self.inner, true).await
    }
}

/// The first chunk of a streamed body and the stream again with it in front.
async fn peek(body: BodyStream) -> Result<(Bytes, BodyStream), Error> {
    let mut body = body;
    let first = body.next().await.transpose()?.unwrap_or_default();
    let again: BodyStream =
        Box::pin(futures::stream::once(std::future::ready(Ok(first.clone()))).chain(body));
    Ok((first, again))
}

#[async_trait]
impl<T: Transport> Transport for AuthTransport<T> {
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, Error> {
        if !self.sends_token_to(&request.uri().to_string()) {
            return self.inner.send(request).await;
        }
        check_secure(&request.uri().to_string(), self.allow_insecure)?;
        let mut token = self.provider.token(&self.inner, false).await?;
        let mut r = self.inner.send(self.with_token(&request, &token)?).await?;
        // The server refused the token before doing anything: get a new one and
        // send again (safe even for submitJob: no job was created).
        for _ in 0..MAX_REFRESHES {
            if !is_token_error(r.body()) {
                break;
            }
            tracing::debug!(url = %redact(&request.uri().to_string()), "token refused; refreshing");
            token = self.next_token(&token).await?;
            r = self.inner.send(self.with_token(&request, &token)?).await?;
        }
        Ok(r)
    }

    async fn send_streaming(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<BodyStream>, Error> {
        if !self.sends_token_to(&request.uri().to_string()) {
            return self.inner.send_streaming(request).await;
        }
        check_secure(&request.uri().to_string(), self.allow_insecure)?;
        let mut token = self.provider.token(&self.inner, false).await?;
        let mut refreshes = 0;
        loop {
            let r = self
                .inner
                .send_streaming(self.with_token(&request, &token)?)
                .await?;
            let (parts, body) = r.into_parts();
            // A refused token comes back as a small envelope in the first chunk.
            let (first, body) = peek(body).await?;
            if refreshes < MAX_REFRESHES && is_token_error(&first) {
                refreshes += 1;
                tracing::debug!(url = %redact(&request.uri().to_string()), "token refused; refreshing");
                token = self.next_token(&token).await?;
                continue;
            }
            return Ok(http::Response::from_parts(parts, body));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_never_printed() {
        let t = Token::new("s3cr3t-token");
        assert!(!format!("{t:?} {t}").contains("s3cr3t"));
        let up = UserPassword::new("https://h/arcgis", "alice", "pa55word");
        assert!(!format!("{up:?}").contains("pa55word"));
        let e = Error::InsecureToken {
            host: "example.com".into(),
        };
        assert!(!e.to_string().contains("s3cr3t"));
    }

    #[track_caller]
    fn check_scope(t: &AuthTransport<crate::HttpTransport>, uri: &str, sends: bool) {
        assert_eq!(t.sends_token_to(uri), sends, "{uri}");
    }

    #[test]
    fn tokens_go_only_to_their_origin() {
        let t = AuthTransport::new(
            crate::HttpTransport::new(Default::default()).unwrap(),
            Arc::new(FixedToken(Token::new("t"))),
        )
        .scoped_to(["https://gis.example.com/arcgis"], ["files.example.com"]);
        check_scope(&t, "https://gis.example.com/arcgis/rest/services", true);
        check_scope(&t, "https://GIS.example.com:443/x", true);
        check_scope(&t, "http://gis.example.com/x", false);
        check_scope(&t, "https://gis.example.com:8443/x", false);
        check_scope(&t, "https://gis.example.com.evil.net/x", false);
        check_scope(&t, "https://evil.net/?u=https://gis.example.com", false);
        check_scope(&t, "https://files.example.com:9000/out.tif", true);
        check_scope(&t, "not a url", false);
        let all = AuthTransport::new(
            crate::HttpTransport::new(Default::default()).unwrap(),
            Arc::new(FixedToken(Token::new("t"))),
        );
        check_scope(&all, "https://anywhere.example/x", true);
    }

    #[test]
    fn loopback_hosts() {
        for h in ["localhost", "127.0.0.1", "[::1]", "127.1.2.3"] {
            assert!(is_loopback(h), "{h}");
        }
        assert!(!is_loopback("example.com"));
        assert!(check_secure("http://example.com/arcgis", false).is_err());
        assert!(check_secure("http://example.com/arcgis", true).is_ok());
        assert!(check_secure("https://example.com/arcgis", false).is_ok());
        assert!(check_secure("http://127.0.0.1:8080/arcgis", false).is_ok());
    }
}

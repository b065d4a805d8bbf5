//! The tower layer that injects the HTTP faults of [`crate::faults`] around the
//! router; with faults off it passes every request straight on. A connection reset
//! is the service's error: hyper closes the connection without answering.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use futures::future::BoxFuture;
use tower::{Layer, Service, ServiceExt};

use crate::faults::{Decision, Fault, FaultState, Route};
use crate::request::F;
use crate::respond::{ApiError, status_response};
use crate::state::App;

/// A job fault decided for a `submitJob` or `execute` request, for the job manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InjectedJobFault(pub(crate) Fault);

/// Why the connection was closed without an answer.
#[derive(Debug)]
pub(crate) struct Reset(&'static str);

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "injected fault: {}", self.0)
    }
}

impl std::error::Error for Reset {}

/// Injects faults when `state` is set.
#[derive(Debug, Clone)]
pub(crate) struct FaultLayer {
    pub(crate) state: Option<Arc<FaultState>>,
    pub(crate) app: Arc<App>,
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> FaultService<S> {
        FaultService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`FaultLayer`].
#[derive(Debug, Clone)]
pub(crate) struct FaultService<S> {
    inner: S,
    layer: FaultLayer,
}

fn unwrap_infallible<T>(r: Result<T, Infallible>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => match e {},
    }
}

impl<S, B> Service<Request<B>> for FaultService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Reset;
    type Future = BoxFuture<'static, Result<Response, Reset>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Reset>> {
        self.inner.poll_ready(cx).map(unwrap_infallible).map(Ok)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // The clone was made ready by `poll_ready` on `self`; take that one.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let route = Route::of_path(req.uri().path());
        let decided = match (&self.layer.state, route) {
            (Some(state), Some(route)) => state.decide(route).map(|d| (state.clone(), route, d)),
            _ => None,
        };
        let Some((state, route, decision)) = decided else {
            return Box::pin(async move { Ok(unwrap_infallible(inner.oneshot(req).await)) });
        };
        let app = self.layer.app.clone();
        Box::pin(inject(inner, req, state, route, decision, app))
    }
}

fn refused(status: StatusCode, retry_after: bool) -> Response {
    let mut r = status_response(
        status,
        &format!("{status}: injected fault, the request was not passed on"),
    );
    if retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// The caller's token, from the query or the headers (as token security reads it;
/// a token in a form body is not seen here, the body being unread).
fn token_of<B>(req: &Request<B>) -> Option<String> {
    let query = form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    crate::auth::request_token(query.as_deref(), req.headers())
}

async fn inject<S, B>(
    inner: S,
    mut req: Request<B>,
    state: Arc<FaultState>,
    route: Route,
    d: Decision,
    app: Arc<App>,
) -> Result<Response, Reset>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    let pass = |req| async move { unwrap_infallible(inner.oneshot(req).await) };
    let fault = d.fault;
    let answer = match fault {
        Fault::Http502 => refused(StatusCode::BAD_GATEWAY, false),
        Fault::Http503 => refused(StatusCode::SERVICE_UNAVAILABLE, false),
        Fault::Http503RetryAfter => refused(StatusCode::SERVICE_UNAVAILABLE, true),
        Fault::Http429 => refused(StatusCode::TOO_MANY_REQUESTS, true),
        Fault::ResetBeforeBody => {
            drop(req);
            state.injected(route, fault);
            return Err(Reset("connection reset before the request body was read"));
        }
        Fault::ResetAfterBody => {
            let _ = pass(req).await;
            state.injected(route, fault);
            return Err(Reset("connection reset after the request was handled"));
        }
        Fault::Stall => {
            state.injected(route, fault);
            tokio::time::sleep(state.spec.stall).await;
            return Ok(pass(req).await);
        }
        Fault::Truncate => {
            let r = pass(req).await;
            return Ok(truncate(r, d.draw, || state.injected(route, fault)).await);
        }
        Fault::CorruptJson => {
            let r = pass(req).await;
            return Ok(corrupt(r, d.draw, || state.injected(route, fault)).await);
        }
        Fault::Error200 => ApiError::new(
            500,
            "Unable to complete operation.",
            vec!["injected fault: error-200".into()],
        )
        .respond(F::Json),
        Fault::TokenExpired => match token_of(&req) {
            Some(t) if app.auth.expire(&t) => ApiError::invalid_token().respond(F::Json),
            // No token to expire (security off, or none sent): nothing injected.
            _ => return Ok(pass(req).await),
        },
        Fault::JobFail | Fault::JobTimeout | Fault::JobCancel | Fault::JobDelete => {
            req.extensions_mut().insert(InjectedJobFault(fault));
            state.injected(route, fault);
            return Ok(pass(req).await);
        }
    };
    state.injected(route, fault);
    Ok(answer)
}

/// The answer with its whole length announced and only part of it sent. Answers
/// are buffered to be cut; one shorter than 2 bytes goes through whole.
async fn truncate(r: Response, draw: u64, injected: impl FnOnce()) -> Response {
    let (mut parts, body) = r.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if bytes.len() < 2 {
        return Response::from_parts(parts, Body::from(bytes));
    }
    injected();
    let cut = 1 + (draw % (bytes.len() as u64 - 1)) as usize;
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let head = bytes.slice(..cut);
    // The part is flushed before the connection breaks: hyper writes what it has
    // while the rest is pending.
    let stream = futures::stream::iter([Ok(head)]).chain(futures::stream::once(async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        Err(std::io::Error::other("injected fault: answer cut short"))
    }));
    Response::from_parts(parts, Body::from_stream(stream))
}

/// A JSON answer with one byte replaced by NUL (never valid JSON); other answers
/// go through unchanged.
async fn corrupt(r: Response, draw: u64, injected: impl FnOnce()) -> Response {
    let is_json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_json {
        return r;
    }
    let (parts, body) = r.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if bytes.is_empty() {
        return Response::from_parts(parts, Body::from(bytes));
    }
    injected();
    let mut v = bytes.to_vec();
    let at = (draw % v.len() as u64) as usize;
    if let Some(b) = v.get_mut(at) {
        *b = 0;
    }
    Response::from_parts(parts, Body::from(v))
}

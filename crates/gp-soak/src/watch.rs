//! What the client side counts: the `X-Request-Id` of every `submitJob`/`execute`
//! each logical job sent (a transport in front of HTTP, the job known from a task
//! local), the requests sent per route, the tokens the client was given (to look
//! for them afterwards), and panics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use gp_server::faults::Route;
use gp_transport::{BodyStream, Error, Token, TokenProvider, Transport};

tokio::task_local! {
    /// The logical job a request belongs to.
    pub(crate) static JOB: usize;
}

/// Counts of the client side.
#[derive(Debug, Default)]
pub(crate) struct ClientLedger {
    /// Request ids sent by each logical job's submits.
    submits: Mutex<BTreeMap<usize, Vec<String>>>,
    /// Requests sent per route (before the HTTP layer's own retries).
    requests: Mutex<BTreeMap<&'static str, u64>>,
}

impl ClientLedger {
    /// The request ids each logical job sent.
    pub(crate) fn submits(&self) -> BTreeMap<usize, Vec<String>> {
        self.submits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Requests sent per route.
    pub(crate) fn requests(&self) -> BTreeMap<&'static str, u64> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn saw(&self, req: &http::Request<Bytes>) {
        let route = Route::of_path(req.uri().path());
        let name = route.map_or("other", Route::name);
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name)
            .or_default() += 1;
        if route == Some(Route::Submit) {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("<none>")
                .to_string();
            let job = JOB.try_with(|j| *j).unwrap_or(usize::MAX);
            let mut s = self.submits.lock().unwrap_or_else(|p| p.into_inner());
            let ids = s.entry(job).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
}

/// A transport that notes every request in a [`ClientLedger`] and passes it on.
#[derive(Debug)]
pub(crate) struct Recorder<T> {
    /// The transport underneath.
    pub(crate) inner: T,
    /// Where requests are noted.
    pub(crate) ledger: Arc<ClientLedger>,
}

#[async_trait]
impl<T: Transport> Transport for Recorder<T> {
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, Error> {
        self.ledger.saw(&request);
        self.inner.send(request).await
    }

    async fn send_streaming(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<BodyStream>, Error> {
        self.ledger.saw(&request);
        self.inner.send_streaming(request).await
    }
}

/// A token provider that remembers every token it hands out, to look for them in
/// logs and files afterwards.
#[derive(Debug)]
pub(crate) struct RememberTokens {
    /// The real provider.
    pub(crate) inner: Arc<dyn TokenProvider>,
    /// Every token handed out.
    pub(crate) seen: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl TokenProvider for RememberTokens {
    async fn token(&self, transport: &dyn Transport, refresh: bool) -> Result<Token, Error> {
        let t = self.inner.token(transport, refresh).await?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if !seen.iter().any(|s| s == t.expose()) {
            seen.push(t.expose().to_string());
        }
        Ok(t)
    }
}

/// Panics seen anywhere in the process (server, client, soak), with their messages.
#[derive(Debug, Default)]
pub(crate) struct Panics {
    count: AtomicU64,
    messages: Mutex<Vec<String>>,
}

impl Panics {
    /// Installs a panic hook that counts into the returned value, then calls the
    /// previous hook.
    pub(crate) fn install() -> Arc<Panics> {
        let p = Arc::new(Panics::default());
        let seen = p.clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            seen.count.fetch_add(1, Ordering::SeqCst);
            seen.messages
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(info.to_string());
            previous(info);
        }));
        p
    }

    /// Panics so far.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Their messages.
    pub(crate) fn messages(&self) -> Vec<String> {
        self.messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

//! Connections, HTTP and HTTPS alike: a cap on open connections, a TLS handshake
//! timeout, a request-header timeout (slowloris), an idle timeout for keep-alive
//! connections and stalled writes, an accept loop that backs off (and logs once in a
//! while) when the process runs out of file descriptors, and a graceful stop. The
//! request body's progress timeout is in [`crate::route`].

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::fault_layer::FaultService;

/// Connection limits.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// The whole request head must arrive within this long.
    pub(crate) header_timeout: Duration,
    /// A connection with no request in flight and no bytes moving is closed after this long.
    pub(crate) idle_timeout: Duration,
    /// The TLS handshake must end within this long.
    pub(crate) tls_handshake_timeout: Duration,
    /// Most connections open at once; further ones wait in the listen backlog.
    pub(crate) max_connections: usize,
}

/// Anything a connection runs on.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Counts a request in flight on its connection while it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(n: Arc<AtomicUsize>) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        InFlight(n)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection's bytes with an idle timer: it fails (and so closes) when nothing was
/// read or written for `idle` while no request is in flight, or when a write has been
/// stuck that long (a peer that stopped reading).
struct IdleIo {
    inner: Box<dyn Io>,
    idle: Duration,
    active: Arc<AtomicUsize>,
    timer: Pin<Box<Sleep>>,
}

impl IdleIo {
    fn new(inner: Box<dyn Io>, idle: Duration, active: Arc<AtomicUsize>) -> Self {
        IdleIo {
            inner,
            idle,
            active,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn touch(&mut self) {
        let at = Instant::now() + self.idle;
        self.timer.as_mut().reset(at);
    }

    /// Pending until the idle time passes; then an error, unless `busy` says the
    /// silence is expected (a request is being worked on), when the timer restarts.
    fn poll_idle(&mut self, cx: &mut Context<'_>, busy: bool) -> Poll<io::Error> {
        loop {
            match self.timer.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if busy && self.active.load(Ordering::SeqCst) > 0 => self.touch(),
                Poll::Ready(()) => {
                    return Poll::Ready(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection idle too long",
                    ));
                }
            }
        }
    }
}

impl IdleIo {
    /// After a write: bytes moving restart the timer; a write stuck too long fails.
    fn wrote(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match r {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => self.poll_idle(cx, false).map(Err),
            other => other,
        }
    }
}

impl AsyncRead for IdleIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => self.poll_idle(cx, true).map(Err),
            other => other,
        }
    }
}

impl AsyncWrite for IdleIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        self.wrote(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Logs accept failures at most once per interval, counting the rest.
struct AcceptLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl AcceptLog {
    fn failed(&mut self, e: &io::Error, backoff: Duration) {
        let now = Instant::now();
        if self
            .last
            .is_none_or(|l| now.duration_since(l) >= Duration::from_secs(5))
        {
            tracing::warn!(
                "accepting a connection failed: {e} ({} more such failures not logged); waiting {} ms before the next accept",
                self.suppressed,
                backoff.as_millis()
            );
            self.last = Some(now);
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
    }
}

/// Serves `router` (behind the fault layer, which passes everything on unless
/// faults are on) on `listener` (through `tls` when given) until `stop` changes,
/// then lets open requests finish for up to `grace`.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: FaultService<Router>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut backoff = Duration::ZERO;
    let mut log = AcceptLog {
        last: None,
        suppressed: 0,
    };
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => {
                backoff = Duration::ZERO;
                x
            }
            Err(e) => {
                // Out of descriptors (or memory): accepting again at once fails again
                // and spins. Wait, longer each time, for connections to close.
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                log.failed(&e, backoff);
                drop(permit);
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => break,
                }
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        let limits = limits.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let io: Box<dyn Io> = match tls {
                None => Box::new(tcp),
                Some(acceptor) => {
                    match tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(tcp))
                        .await
                    {
                        Ok(Ok(s)) => Box::new(s),
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, "TLS handshake failed: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            let active = Arc::new(AtomicUsize::new(0));
            let io = IdleIo::new(io, limits.idle_timeout, active.clone());
            let service = hyper::service::service_fn(
                move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                    let guard = InFlight::new(active.clone());
                    let router = router.clone();
                    async move {
                        let r = router.oneshot(req).await;
                        drop(guard);
                        r
                    }
                },
            );
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            builder.http2().timer(TokioTimer::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::debug!("open connections did not finish within the grace period");
        }
    }
}

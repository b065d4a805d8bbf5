//! A local ArcGIS-compatible geoprocessing server with real tools.
//!
//! `gp-server` speaks the ArcGIS Server GP REST protocol (services directory,
//! GPServer and task metadata, `execute`, `submitJob`, jobs with messages and
//! progress, results and inputs, cancel, uploads, result map services with
//! `export`, tokens) and runs real tools: geodesic/planar point buffers with
//! dissolve, Horn slope of a DEM, and utilities for testing clients. It is the
//! embedded default behind `gp demo` and the client's integration tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gp_server::Error> {
//! let server = gp_server::Server::start(gp_server::ServerConfig::default()).await?;
//! println!("serving {}", server.url("/arcgis/rest/services"));
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Published services (names match case-insensitively):
//!
//! | URL | execution | tasks |
//! |---|---|---|
//! | `/arcgis/rest/services/GP/BufferByVal/GPServer` | async, result map service, uploads | `BufferPoints` |
//! | `/arcgis/rest/services/GP/BufferSync/GPServer` | sync | `BufferPoints` |
//! | `/arcgis/rest/services/SlopeByVal/GPServer` | async, result map service, uploads | `RunSlope` |
//! | `/arcgis/rest/services/GP/Utilities/GPServer` | async | `Wait`, `Fail`, `EchoTypes` |
//!
//! Which crate does what: [axum] on hyper 1 and [tokio] serve HTTP; [tower_http]
//! adds CORS; [geo] (with geographiclib and i_overlay inside) computes geodesic
//! circles and polygon unions; [proj4rs] with [crs_definitions] reprojects
//! (`outSR`, `imageSR`); [tiny_skia] draws map images and [image] encodes them;
//! gp-raster reads and writes GeoTIFFs; gp-features loads uploaded feature files;
//! gp-model holds every protocol type the server answers with.

mod app;
mod auth;
mod catalog;
mod gp;
mod jobs;
mod mapserver;
mod portal;
mod project;
mod render;
mod request;
mod respond;
mod samples;
mod tls;
mod tools;
mod uploads;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::cors::CorsLayer;

/// Errors of starting a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {message}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
    /// The data directory could not be prepared.
    #[error("data directory {path}: {message}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A configuration value is invalid.
    #[error("invalid configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free port). Default `127.0.0.1:0`.
    pub addr: SocketAddr,
    /// Where jobs, outputs and uploads live. `None`: a temporary directory removed
    /// at shutdown. With a directory, jobs survive a restart.
    pub data_dir: Option<PathBuf>,
    /// Jobs that run at the same time; further jobs wait (`esriJobWaiting`). Default 2.
    pub workers: usize,
    /// Users for token security (`USER`, `PASS`); empty: no security.
    pub users: Vec<(String, String)>,
    /// Longest token lifetime. Default 60 minutes.
    pub token_ttl: Duration,
    /// Finished jobs are removed after this long. Default 360 minutes.
    pub job_expiry: Duration,
    /// Caps every task's execution timeout (for tests of `esriJobTimedOut`).
    pub task_timeout: Option<Duration>,
    /// Largest request body accepted. Default 64 MiB.
    pub max_body_bytes: usize,
    /// Most vertices in one feature input. Default 1,000,000.
    pub max_vertices: usize,
    /// `maximumRecords` of every service. Default 1000.
    pub maximum_records: u64,
    /// Serve HTTPS with a self-signed certificate for localhost (written to
    /// `<data dir>/tls/cert.pem`). Default off.
    pub tls: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            workers: 2,
            users: Vec::new(),
            token_ttl: Duration::from_secs(3600),
            job_expiry: Duration::from_secs(360 * 60),
            task_timeout: None,
            max_body_bytes: 64 << 20,
            max_vertices: 1_000_000,
            maximum_records: 1000,
            tls: false,
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    app: Arc<app::App>,
    scheme: &'static str,
    cert_pem: Option<PathBuf>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    /// Binds, prepares the data directory and starts serving in the background.
    pub async fn start(config: ServerConfig) -> Result<Server, Error> {
        if config.workers == 0 {
            return Err(Error::Config {
                message: "workers must be at least 1".into(),
            });
        }
        let (tmp, data_dir) = match &config.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("gp-server-")
                    .tempdir()
                    .map_err(|e| Error::DataDir {
                        path: std::env::temp_dir(),
                        message: e.to_string(),
                    })?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        let dd_err = |e: String| Error::DataDir {
            path: data_dir.clone(),
            message: e,
        };
        std::fs::create_dir_all(&data_dir).map_err(|e| dd_err(e.to_string()))?;
        let samples_dir = data_dir.join("samples");
        samples::write_samples(&samples_dir).map_err(dd_err)?;
        let jobs = jobs::JobManager::new(&data_dir, config.workers, config.job_expiry)
            .map_err(|e| dd_err(e.to_string()))?;
        let mut catalog = catalog::Catalog::builtin();
        if let Some(t) = config.task_timeout {
            catalog.set_timeout(t);
        }
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| Error::Bind {
                addr: config.addr,
                message: e.to_string(),
            })?;
        let addr = listener.local_addr().map_err(|e| Error::Bind {
            addr: config.addr,
            message: e.to_string(),
        })?;
        let app = Arc::new(app::App {
            catalog,
            jobs,
            auth: auth::Auth::new(config.users.clone(), config.token_ttl),
            uploads_dir: data_dir.join("uploads"),
            samples_dir,
            maps_dir: data_dir.join("arcgisoutput").join("_ags_map"),
            max_body: config.max_body_bytes,
            max_vertices: config.max_vertices,
            maximum_records: config.maximum_records,
            tls: config.tls,
            addr,
        });
        let router = Router::new()
            .fallback(app::handle)
            .with_state(app.clone())
            .layer(DefaultBodyLimit::max(config.max_body_bytes))
            .layer(CorsLayer::very_permissive());
        let (tx, mut rx) = tokio::sync::watch::channel(false);
        let expiring = app.clone();
        let expiry = config.job_expiry;
        let mut rx2 = rx.clone();
        tokio::spawn(async move {
            let period = expiry_period(expiry);
            loop {
                tokio::select! {
                    () = tokio::time::sleep(period) => { expiring.jobs.expire(); }
                    _ = rx2.changed() => break,
                }
            }
        });
        let acceptor = if config.tls {
            Some(tls::self_signed_acceptor(&data_dir.join("tls")).map_err(dd_err)?)
        } else {
            None
        };
        let cert_pem = config.tls.then(|| data_dir.join("tls").join("cert.pem"));
        let task = match acceptor {
            Some(acceptor) => tokio::spawn(tls::serve_tls(listener, acceptor, router, rx)),
            None => tokio::spawn(async move {
                let stop = async move {
                    let _ = rx.changed().await;
                };
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(stop)
                    .await
                {
                    tracing::error!("server stopped: {e}");
                }
            }),
        };
        let scheme = if config.tls { "https" } else { "http" };
        tracing::info!("gp-server listening on {scheme}://{addr}/arcgis/rest/services");
        Ok(Server {
            addr,
            app,
            scheme,
            cert_pem,
            shutdown: tx,
            task,
            _tmp: tmp,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An absolute URL on this server, e.g. `url("/arcgis/rest/services")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// With TLS: the PEM file of the self-signed certificate, for clients to trust.
    pub fn cert_pem(&self) -> Option<&std::path::Path> {
        self.cert_pem.as_deref()
    }

    /// Stops accepting requests, stops running jobs (recorded as failed: "the
    /// server stopped"), and waits for open requests to finish.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.app.jobs.stop_all(Duration::from_secs(5)).await;
        let _ = self.task.await;
    }
}

/// How often expired jobs are looked for: a quarter of the expiry, between 50 ms and a minute.
fn expiry_period(expiry: Duration) -> Duration {
    (expiry / 4).clamp(Duration::from_millis(50), Duration::from_secs(60))
}

//! A local ArcGIS-compatible geoprocessing server with real tools.
//!
//! `gp-server` speaks the ArcGIS Server GP REST protocol (services directory,
//! GPServer and task metadata, `execute`, `submitJob`, jobs with messages and
//! progress, results and inputs, cancel, uploads, result map services with
//! `export`, tokens) and runs real tools: geodesic/planar point buffers with
//! dissolve, Horn slope of a DEM, and utilities for testing clients. It is the
//! embedded default behind `gp demo` and the client's integration tests. With
//! [`ServerConfig::faults`] (`gp serve --faults SPEC`) it misbehaves on purpose, at
//! chosen rates per route (see [`faults`]), for testing clients; [`Server::fault_report`]
//! then says what it received, injected and created.
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
//! | `/arcgis/rest/services/Hosted/<name>/FeatureServer` | hosted layers | `0/query` |
//!
//! Hosted feature layers (the sample cities and countries, and tool outputs asked
//! for with `esri_out_feature_service_name`) answer `query` with a safe `where`
//! subset (gp-model's `Where`, parsed and evaluated, never SQL), paging, counts,
//! ids, envelopes, `outSR` and GeoJSON; so do the result map services' job layers.
//! Every service has a portal item (`/arcgis/sharing/rest/content/items/<id>`,
//! [`portal_item_id`]).
//!
//! Which crate does what: [axum] on hyper 1 and [tokio] serve HTTP; [tower_http]
//! adds CORS; [geo] (with geographiclib and i_overlay inside) computes geodesic
//! circles and polygon unions; [proj4rs] with [crs_definitions] reprojects
//! (`outSR`, `imageSR`); [tiny_skia] draws map images and [image] encodes them;
//! gp-raster reads and writes GeoTIFFs; gp-features loads uploaded feature files;
//! gp-model holds every protocol type the server answers with, and the rules
//! of input values and `context` the client checks too; hyper-util's connection
//! builder with tokio timers enforces the header timeout, and [tower] runs the router
//! per connection; [clap] reads the options ([`options::ServerOptions`]); [reqwest]
//! (rustls) reads other servers' layers given as inputs, from the origins allowed with
//! [`ServerConfig::layer_sources`] only; [geozero] writes GeoJSON query answers.
//!
//! Layout, one concept a module, none importing back from its importer: `serve`
//! (connections and their limits), `fault_layer` (the faults of `faults`, off by
//! default), `route` (paths, Host, bodies, tokens) with `body`
//! (stalled bodies) and `host`; the resources `directory`, `gpserver` (routing a GP
//! service), `meta` (service and task metadata), `submit` (`execute`, `submitJob`),
//! `jobapi` (status, cancel, results, inputs), `results` (one result as answered),
//! `mapserver` (result maps and exports, drawn by `render`), `upload_api` over the
//! store `uploads`, `files` (directories and help pages), `tokens`, `portal`; the state
//! `state`, `catalog`, `jobs` with `joblog`, `auth`; helpers `names` (file resolution),
//! `paths` (URLs written), `scrub` (no server paths in answers), `shapes`, `project`.

mod auth;
mod body;
mod catalog;
mod directory;
mod fault_layer;
pub mod faults;
mod featureserver;
mod files;
mod gpserver;
mod host;
mod hosted;
mod ids;
mod jobapi;
mod joblayers;
mod joblog;
mod jobs;
mod layer_query;
mod mapserver;
mod meta;
mod names;
mod ogc;
mod ogc_api;
mod ogc_jobs;
pub mod options;
mod paths;
mod portal;
mod project;
mod record;
mod remote_layer;
mod render;
mod request;
mod respond;
mod results;
mod route;
mod samples;
mod scrub;
mod serve;
mod shapes;
mod state;
mod submit;
mod tls;
mod tokens;
mod tools;
mod upload_api;
mod upload_parts;
mod uploads;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

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
    /// `maximumRecords` of every service, and `maxRecordCount` of hosted layers.
    /// Default 1000.
    pub maximum_records: u64,
    /// `maximumRecords` of single services (`GP/BufferByVal`, N), over
    /// [`ServerConfig::maximum_records`].
    pub service_maximum_records: Vec<(String, u64)>,
    /// Origins (`https://host[:port]`) whose layers tools may read as layer-URL
    /// inputs. Empty, the default: only this server's hosted layers.
    pub layer_sources: Vec<String>,
    /// Serve HTTPS with a self-signed certificate for localhost (written to
    /// `<data dir>/tls/cert.pem`). Default off.
    pub tls: bool,
    /// Largest uploaded file. Default 2 GiB.
    pub max_upload_bytes: u64,
    /// File types uploads accept (extensions without the dot). Default: data formats
    /// only (no scripts, programs or pages).
    pub upload_types: Vec<String>,
    /// Origins allowed by CORS. Empty: any origin (`*`), without credentials. With a
    /// list, only those origins, with credentials.
    pub cors_origins: Vec<String>,
    /// The public base URL (`https://gis.example.org`): every URL the server writes
    /// starts with it, whatever the `Host` header says.
    pub public_url: Option<String>,
    /// Host names accepted in `Host` besides IP literals and `localhost`.
    pub allowed_hosts: Vec<String>,
    /// The request head must arrive within this long. Default 10 s.
    pub header_timeout: Duration,
    /// A request body must make progress (some bytes) within this long. Default 30 s.
    pub body_timeout: Duration,
    /// Idle keep-alive connections (and stuck writes) are closed after this long. Default 60 s.
    pub idle_timeout: Duration,
    /// The TLS handshake must end within this long. Default 10 s.
    pub tls_handshake_timeout: Duration,
    /// Most connections open at once. Default 1000.
    pub max_connections: usize,
    /// Map exports rendered at once (each on a blocking thread). Default: the number of CPUs.
    pub render_concurrency: usize,
    /// Faults to inject (see [`faults`]); `None`, the default, injects none.
    pub faults: Option<faults::FaultSpec>,
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
            service_maximum_records: Vec::new(),
            layer_sources: Vec::new(),
            tls: false,
            max_upload_bytes: 2 << 30,
            upload_types: uploads::DEFAULT_TYPES
                .split(',')
                .map(str::to_string)
                .collect(),
            cors_origins: Vec::new(),
            public_url: None,
            allowed_hosts: Vec::new(),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            tls_handshake_timeout: Duration::from_secs(10),
            max_connections: 1000,
            render_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            faults: None,
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    app: Arc<state::App>,
    scheme: &'static str,
    cert_pem: Option<PathBuf>,
    data_dir: PathBuf,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    faults: Option<Arc<faults::FaultState>>,
    _tmp: Option<tempfile::TempDir>,
}

/// The portal item id of a service (`kind` `GPServer` or `FeatureServer`, `name`
/// `GP/BufferByVal`): 32 hexadecimal digits, the same on every start, answered at
/// `/arcgis/sharing/rest/content/items/<id>`.
pub fn portal_item_id(kind: &str, name: &str) -> String {
    portal::item_id(kind, name)
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
        let jobs = jobs::JobManager::new(
            &data_dir,
            config.workers,
            config.job_expiry,
            config.faults.is_some(),
        )
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
        let public_url = match &config.public_url {
            None => None,
            Some(u) => {
                let u = u.trim().trim_end_matches('/');
                let ok = (u.starts_with("http://") || u.starts_with("https://"))
                    && !u.contains(['?', '#', ' '])
                    && u.split("://")
                        .nth(1)
                        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
                if !ok {
                    return Err(Error::Config {
                        message: format!(
                            "public URL `{u}` must be scheme://host[:port], without a path"
                        ),
                    });
                }
                Some(u.to_string())
            }
        };
        let data_root = data_dir.canonicalize().map_err(|e| dd_err(e.to_string()))?;
        let hosted = hosted::Hosted::open(&data_dir.join("hosted")).map_err(dd_err)?;
        samples::publish_samples(&samples_dir, &hosted);
        for (name, n) in &config.service_maximum_records {
            catalog
                .set_maximum_records(name, *n)
                .map_err(|m| Error::Config { message: m })?;
        }
        let base_layer = match samples::base_layer(&samples_dir) {
            Ok(fs) => Some(Arc::new(fs)),
            Err(e) => {
                tracing::warn!("map images are drawn without a base layer: {e}");
                None
            }
        };
        let app = Arc::new(state::App {
            catalog,
            jobs,
            auth: auth::Auth::new(config.users.clone(), config.token_ttl),
            uploads: uploads::Uploads {
                dir: data_dir.join("uploads"),
                max_bytes: config.max_upload_bytes,
                types: config
                    .upload_types
                    .iter()
                    .map(|t| t.trim().trim_start_matches('.').to_ascii_lowercase())
                    .filter(|t| !t.is_empty())
                    .collect(),
                expiry: config.job_expiry,
            },
            samples_dir,
            data_root,
            max_body: config.max_body_bytes,
            max_vertices: config.max_vertices,
            maximum_records: config.maximum_records,
            hosted: Arc::new(hosted),
            layer_sources: config
                .layer_sources
                .iter()
                .map(|o| {
                    remote_layer::origin(o).ok_or_else(|| Error::Config {
                        message: format!(
                            "layer source `{o}` is not an origin (http[s]://host[:port])"
                        ),
                    })
                })
                .collect::<Result<_, _>>()?,
            tls: config.tls,
            addr,
            hosts: host::Hosts {
                public_url,
                allowed: config
                    .allowed_hosts
                    .iter()
                    .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                    .collect(),
            },
            body_timeout: config.body_timeout,
            render_slots: Arc::new(tokio::sync::Semaphore::new(
                config.render_concurrency.max(1),
            )),
            base_layer,
            scrub: scrub::Scrub::new(&data_dir),
        });
        let router = Router::new()
            .fallback(route::handle)
            .with_state(app.clone())
            // Limits are applied while reading: form bodies in `route`, uploads in `uploads`.
            .layer(DefaultBodyLimit::disable())
            .layer(cors(&config.cors_origins)?)
            .layer(axum::middleware::map_response(no_stray_credentials));
        let fault_state = config
            .faults
            .clone()
            .map(|spec| Arc::new(faults::FaultState::new(spec)));
        if let Some(f) = &fault_state {
            tracing::warn!(
                seed = f.spec.seed,
                "fault injection is on: this server misbehaves on purpose"
            );
        }
        let router = tower::Layer::layer(
            &fault_layer::FaultLayer {
                state: fault_state.clone(),
                app: app.clone(),
            },
            router,
        );
        let (tx, rx) = tokio::sync::watch::channel(false);
        let expiring = app.clone();
        let expiry = config.job_expiry;
        let mut rx2 = rx.clone();
        tokio::spawn(async move {
            let period = expiry_period(expiry);
            loop {
                tokio::select! {
                    () = tokio::time::sleep(period) => {
                        expiring.jobs.expire();
                        expiring.uploads.expire();
                    }
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
        let limits = serve::Limits {
            header_timeout: config.header_timeout,
            idle_timeout: config.idle_timeout,
            tls_handshake_timeout: config.tls_handshake_timeout,
            max_connections: config.max_connections,
        };
        let task = tokio::spawn(serve::serve(
            listener,
            acceptor,
            router,
            limits,
            rx,
            Duration::from_secs(10),
        ));
        let scheme = if config.tls { "https" } else { "http" };
        tracing::info!("gp-server listening on {scheme}://{addr}/arcgis/rest/services");
        Ok(Server {
            addr,
            app,
            scheme,
            cert_pem,
            data_dir: data_dir.clone(),
            shutdown: tx,
            task,
            faults: fault_state,
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

    /// The data directory (a temporary one, removed at shutdown, unless configured).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// With TLS: the PEM file of the self-signed certificate, for clients to trust.
    pub fn cert_pem(&self) -> Option<&std::path::Path> {
        self.cert_pem.as_deref()
    }

    /// With faults on: the requests received per route, the faults injected, and
    /// every job created with the client's request id and its status now.
    pub fn fault_report(&self) -> Option<faults::FaultReport> {
        let state = self.faults.as_ref()?;
        let (requests, injected) = state.tallies();
        Some(faults::FaultReport {
            requests,
            injected,
            jobs: self.app.jobs.ledger(),
        })
    }

    /// Stops accepting requests, stops running jobs (recorded as failed: "the
    /// server stopped"), and waits for open requests to finish.
    pub async fn shutdown(self) {
        if let Some(r) = self.fault_report() {
            let line = |m: &std::collections::BTreeMap<String, u64>| {
                m.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            tracing::info!(
                "faults: requests {}; injected {}; {} jobs created",
                line(&r.requests),
                line(&r.injected),
                r.jobs.len()
            );
        }
        let _ = self.shutdown.send(true);
        self.app.jobs.stop_all(Duration::from_secs(5)).await;
        let _ = self.task.await;
    }
}

/// How often expired jobs are looked for: a quarter of the expiry, between 50 ms and a minute.
fn expiry_period(expiry: Duration) -> Duration {
    (expiry / 4).clamp(Duration::from_millis(50), Duration::from_secs(60))
}

/// CORS: any origin without credentials by default; with a list, those origins with
/// credentials. A reflected origin never comes with credentials.
fn cors(origins: &[String]) -> Result<CorsLayer, Error> {
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .max_age(Duration::from_secs(3600));
    if origins.is_empty() || origins.iter().any(|o| o.trim() == "*") {
        return Ok(base.allow_origin(Any).allow_headers(Any));
    }
    let list = origins
        .iter()
        .map(|o| {
            HeaderValue::from_str(o.trim().trim_end_matches('/')).map_err(|_| Error::Config {
                message: format!("CORS origin `{o}` is not a valid origin"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(base
        .allow_origin(AllowOrigin::list(list))
        .allow_credentials(true)
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-esri-authorization"),
        ]))
}

/// Drops `Access-Control-Allow-Credentials` from answers that allow no origin (an
/// origin not on the list), so no answer says "credentials" without naming who.
async fn no_stray_credentials(mut r: axum::response::Response) -> axum::response::Response {
    let h = r.headers_mut();
    if !h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        h.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    }
    r
}

/// Listens for Ctrl-C (SIGINT) and, on Unix, SIGTERM; the future ends at the first
/// (how the binaries know to call [`Server::shutdown`]). The handlers are in place when
/// this returns, so a signal that comes before the future is awaited is not lost.
pub fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

//! Shared server state and the parsed request every handler gets.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use tokio::sync::Semaphore;

use crate::auth::Auth;
use crate::catalog::Catalog;
use crate::host::Hosts;
use crate::jobs::JobManager;
use crate::request::{F, Params};
use crate::uploads::{Incoming, Uploads};

/// Version reported as `currentVersion`.
pub(crate) const CURRENT_VERSION: f64 = 11.3;

/// Shared server state.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) catalog: Catalog,
    pub(crate) jobs: JobManager,
    pub(crate) auth: Auth,
    pub(crate) uploads: Uploads,
    pub(crate) samples_dir: PathBuf,
    /// The data directory, resolved (files are served only from under it).
    pub(crate) data_root: PathBuf,
    pub(crate) max_body: usize,
    pub(crate) max_vertices: usize,
    pub(crate) maximum_records: u64,
    /// Origins whose layers may be read as layer-URL inputs (`scheme://host[:port]`).
    pub(crate) layer_sources: Vec<String>,
    /// Hosted feature layers.
    pub(crate) hosted: Arc<crate::hosted::Hosted>,
    pub(crate) tls: bool,
    pub(crate) addr: SocketAddr,
    pub(crate) hosts: Hosts,
    /// A request body must make progress within this long.
    pub(crate) body_timeout: Duration,
    /// Map exports running at once, off the async threads.
    pub(crate) render_slots: Arc<Semaphore>,
    /// The base layer of map images (Natural Earth countries).
    pub(crate) base_layer: Option<Arc<gp_model::FeatureSet>>,
    /// Hides the data directory in answers.
    pub(crate) scrub: crate::scrub::Scrub,
}

impl App {
    /// `maximumRecords` of a service.
    pub(crate) fn max_records(&self, svc: &crate::catalog::ServiceDef) -> u64 {
        svc.maximum_records.unwrap_or(self.maximum_records)
    }
}

/// One request, parsed.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) method: Method,
    pub(crate) params: Params,
    pub(crate) f: F,
    /// `http://host:port`: the public URL, or the checked Host header.
    pub(crate) base: String,
    /// The authenticated user, when token security is on.
    pub(crate) user: Option<String>,
    /// An uploaded file (`uploads/upload`), already on disk.
    pub(crate) upload: Option<Incoming>,
    /// The client's address.
    pub(crate) peer: Option<SocketAddr>,
    /// The client's `X-Request-Id` (letters, digits, `-` and `_`, at most 64),
    /// kept with the jobs the request creates.
    pub(crate) request_id: Option<String>,
    /// A job fault the fault layer decided for this request.
    pub(crate) job_fault: Option<crate::faults::Fault>,
    /// A JSON request body, kept whole (OGC execute requests).
    pub(crate) json_body: Option<axum::body::Bytes>,
    /// The request's headers (`Prefer`, `Accept`).
    pub(crate) headers: axum::http::HeaderMap,
}

impl Ctx {
    /// An absolute URL for a server path.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// Case-insensitive equality of path segments and names.
pub(crate) fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

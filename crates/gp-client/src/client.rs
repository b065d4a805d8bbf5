//! `Client` and `Client::builder()`: the transport, credentials bound to the server
//! they were issued by, certificates, timeouts, and the entry points that take any
//! form of URL a user gives.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gp_model::ServiceDirectory;
use gp_transport::{
    AuthTransport, FixedToken, HttpConfig, HttpTransport, Token, TokenProvider, Transport,
    UserPassword,
};

use crate::error::Error;
use crate::reopen::JobFile;
use crate::result::GpResult;
use crate::target::{Creds, Location, Target};
use crate::toolbox::Toolbox;
use crate::wire;

/// How to log in. Bound to the server of the URL it is used with: the token goes to
/// that origin (and hosts named with [`ClientBuilder::trust_host`]) and nowhere else.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// No credentials.
    #[default]
    None,
    /// A token (from a portal, `generateToken`, an app).
    Token(String),
    /// A user and password exchanged at the server's `generateToken`.
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// Tokens from a provider of your own.
    Provider(Arc<dyn TokenProvider>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::UserPassword { user, .. } => {
                write!(f, "UserPassword({user}, <redacted>)")
            }
            Credentials::Provider(p) => write!(f, "Provider({p:?})"),
        }
    }
}

/// A client: a transport and settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) transport: Arc<dyn Transport>,
    /// How many task metadata requests run at once during `import`.
    pub(crate) concurrency: usize,
    credentials: Credentials,
    trusted_hosts: Vec<String>,
    allow_insecure: bool,
}

/// Builds a [`Client`]: see [`Client::builder`].
#[derive(Debug, Default)]
pub struct ClientBuilder {
    http: HttpConfig,
    transport: Option<Arc<dyn Transport>>,
    credentials: Credentials,
    trusted_hosts: Vec<String>,
    allow_insecure: bool,
}

impl ClientBuilder {
    /// Logs in with a token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.credentials = Credentials::Token(token.into());
        self
    }

    /// Logs in with a user and password (exchanged at `generateToken`, refreshed).
    pub fn user_password(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Credentials::UserPassword {
            user: user.into(),
            password: password.into(),
        };
        self
    }

    /// Logs in with tokens from `provider`.
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.credentials = Credentials::Provider(provider);
        self
    }

    /// Sets the credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Also sends the credentials to `host` (any port): a host the server hands
    /// result files out from.
    pub fn trust_host(mut self, host: impl Into<String>) -> Self {
        self.trusted_hosts.push(host.into());
        self
    }

    /// Allows tokens and passwords over plain HTTP to hosts that are not loopback.
    pub fn allow_insecure(mut self, allow: bool) -> Self {
        self.allow_insecure = allow;
        self
    }

    /// Trusts this root certificate (PEM) too: a corporate CA, `gp serve --tls`.
    pub fn ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.http.root_certificates_pem.push(pem.into());
        self
    }

    /// Trusts the root certificate(s) in a PEM file too.
    pub fn ca_cert_file(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|e| Error::Config {
            message: format!("reading the CA certificate {}: {e}", path.display()),
        })?;
        if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
            return Err(Error::Config {
                message: format!("{} is not a PEM certificate", path.display()),
            });
        }
        Ok(self.ca_cert_pem(pem))
    }

    /// Time to establish a connection (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.http.connect_timeout = d;
        self
    }

    /// Longest silence while reading a body (default 60 s).
    pub fn read_timeout(mut self, d: Duration) -> Self {
        self.http.read_timeout = d;
        self
    }

    /// Whole-request time of a JSON request (default 120 s; downloads are bounded by
    /// the read timeout instead).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.http.timeout = d;
        self
    }

    /// The User-Agent header.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.http.user_agent = ua.into();
        self
    }

    /// Uses `transport` instead of HTTP (a mock, a replay); the HTTP settings are
    /// then unused, the credentials still apply.
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client, Error> {
        let transport = match self.transport {
            Some(t) => t,
            None => Arc::new(HttpTransport::new(self.http)?),
        };
        Ok(Client {
            transport,
            concurrency: 8,
            credentials: self.credentials,
            trusted_hosts: self.trusted_hosts,
            allow_insecure: self.allow_insecure,
        })
    }
}

impl Client {
    /// A client over `transport` (an `HttpTransport`, an `AuthTransport`, a mock, a replay).
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Client {
            transport,
            concurrency: 8,
            credentials: Credentials::None,
            trusted_hosts: Vec::new(),
            allow_insecure: false,
        }
    }

    /// A client over HTTP with default settings.
    pub fn http() -> Result<Self, Error> {
        Client::builder().build()
    }

    /// Settings for a client: credentials, certificates, timeouts, user agent.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), gp_client::Error> {
    /// let client = gp_client::Client::builder()
    ///     .user_password("alice", "secret")
    ///     .ca_cert_file("server.pem")?
    ///     .timeout(std::time::Duration::from_secs(30))
    ///     .build()?;
    /// let tb = client.import("https://gis.example.com/arcgis/rest/services/GP/BufferByVal/GPServer").await?;
    /// # let _ = tb; Ok(()) }
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The transport.
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// The client for `target`: with the target's own credentials (arcpy's
    /// `;user;password` or `;token=T`) or else this client's, bound to the target's
    /// server. Without credentials, this client.
    pub(crate) fn for_target(&self, target: &Target) -> Client {
        self.for_root(&target.creds, &target.server_root)
    }

    /// The client for the server at `server_root` (`https://host/arcgis`), with
    /// `creds` or else this client's.
    pub(crate) fn for_root(&self, creds: &Creds, server_root: &str) -> Client {
        let provider: Arc<dyn TokenProvider> = match (creds, &self.credentials) {
            (Creds::Token(t), _) => Arc::new(FixedToken(Token::new(t.clone()))),
            (Creds::UserPassword(u, p), _) => {
                Arc::new(UserPassword::new(server_root, u, p).allow_insecure(self.allow_insecure))
            }
            (Creds::None, Credentials::None) => return self.clone(),
            (Creds::None, Credentials::Token(t)) => Arc::new(FixedToken(Token::new(t.clone()))),
            (Creds::None, Credentials::UserPassword { user, password }) => Arc::new(
                UserPassword::new(server_root, user, password).allow_insecure(self.allow_insecure),
            ),
            (Creds::None, Credentials::Provider(p)) => p.clone(),
        };
        let auth = AuthTransport::new(self.transport.clone(), provider)
            .allow_insecure(self.allow_insecure)
            .scoped_to([server_root], &self.trusted_hosts);
        Client {
            transport: Arc::new(auth),
            credentials: Credentials::None,
            ..self.clone()
        }
    }

    /// Imports a toolbox (see [`Toolbox::import`]).
    pub async fn import(&self, url: &str) -> Result<Toolbox, Error> {
        Toolbox::import(self, url).await
    }

    /// The folders and services of a services directory (`…/rest/services` or a
    /// folder). Any other URL is an error that says what it names.
    pub async fn services(&self, url: &str) -> Result<ServiceDirectory, Error> {
        let target = Target::parse(url)?;
        let Location::Directory { url, .. } = &target.location else {
            return Err(Error::BadUrl {
                input: url.split(';').next().unwrap_or_default().to_string(),
                message: format!(
                    "it is {}, not a services directory (…/rest/services[/Folder])",
                    target.location
                ),
            });
        };
        let client = self.for_target(&target);
        wire::get_json(&client.transport, url, &[], "services directory").await
    }

    /// Reopens a job from what a user has of it: a job URL (`…/GPServer/<task>/jobs/<id>`),
    /// or the path of a job file written by [`JobFile::save`]. A bare job id needs its
    /// task: [`Client::open_job_in`].
    pub async fn open_job(&self, job: &str) -> Result<GpResult, Error> {
        let path = Path::new(job);
        if !job.contains("://") && path.is_file() {
            let jf = JobFile::load(path)?;
            return GpResult::reopen_file(self, &jf).await;
        }
        if !job.contains("://") {
            return Err(Error::BadUrl {
                input: job.to_string(),
                message: "it is neither a job URL (…/GPServer/<task>/jobs/<jobId>) nor an existing job file; for a bare job id give its task URL too".into(),
            });
        }
        GpResult::reopen(self, job).await
    }

    /// Reopens job `job_id` of a task: `url` is the task URL, or a service URL or
    /// arcpy's `"…/services;Folder/Service[;user;password]"` with `tool` naming the task.
    pub async fn open_job_in(
        &self,
        url: &str,
        tool: Option<&str>,
        job_id: &str,
    ) -> Result<GpResult, Error> {
        let target = Target::parse(url)?;
        let bad = |m: String| Error::BadUrl {
            input: url.split(';').next().unwrap_or_default().to_string(),
            message: m,
        };
        let task = match (&target.location, tool) {
            (Location::Task { task, .. }, None) => task.clone(),
            (Location::Task { task, .. }, Some(t)) if !task.eq_ignore_ascii_case(t) => {
                return Err(bad(format!("it names task {task}, not {t}")));
            }
            (Location::Task { .. } | Location::Service { .. }, Some(t)) => t.to_string(),
            (other, _) => {
                return Err(bad(format!(
                    "it is {other}; a job id needs its task (…/GPServer/<task>, or the service and the tool)"
                )));
            }
        };
        let Some(service) = target.location.service_url() else {
            return Err(bad("no GP service in it".into()));
        };
        let job_id = job_id.trim();
        if job_id.is_empty() || job_id.contains(['/', '?', '#', ';']) {
            return Err(Error::BadUrl {
                input: job_id.to_string(),
                message: "not a job id".into(),
            });
        }
        let tb = Toolbox::import_target(self, &target, service).await?;
        GpResult::reopen_in(&tb, &task, job_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_never_printed() {
        let c = Client::builder()
            .user_password("alice", "pa55word")
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains("pa55word"));
        let c = Client::builder().token("tok3n").build().unwrap();
        assert!(!format!("{c:?}").contains("tok3n"));
    }
}

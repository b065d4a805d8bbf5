//! The server's options as a command line takes them ([clap]), read into a
//! [`ServerConfig`]: one definition for the `gp-server` binary and `gp serve`. Users
//! for token security come from `--token-auth`, `--token-auth-file` or the
//! `GP_SERVER_TOKEN_AUTH` environment variable (the last two keep passwords out of `ps`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::ServerConfig;

/// The server's command-line options, shared by the `gp-server` binary and `gp serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerOptions {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Keep jobs, outputs and uploads here (they survive restarts); default: a temporary folder.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Jobs that run at the same time.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Turn on token security with this user (repeat for more users). The password is
    /// visible in `ps`: prefer --token-auth-file or GP_SERVER_TOKEN_AUTH.
    #[arg(long, value_name = "USER:PASS")]
    pub token_auth: Vec<String>,
    /// Read users for token security from FILE, one USER:PASS per line (blank lines
    /// and lines starting with # are skipped).
    #[arg(long, value_name = "FILE")]
    pub token_auth_file: Option<PathBuf>,
    /// Longest token lifetime in minutes.
    #[arg(long, default_value_t = 60.0)]
    pub token_minutes: f64,
    /// Remove finished jobs after this many minutes.
    #[arg(long, default_value_t = 360.0)]
    pub job_expiry_minutes: f64,
    /// Largest request body in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_body_mb: usize,
    /// Serve HTTPS with a self-signed certificate (written to `<data dir>/tls/cert.pem`).
    #[arg(long)]
    pub tls: bool,
    /// Cap every task's execution timeout, in seconds.
    #[arg(long)]
    pub task_timeout_secs: Option<f64>,
    /// `maximumRecords` of every service: feature outputs with more features come
    /// back empty with `exceededTransferLimit`, as on ArcGIS Server.
    #[arg(long, default_value_t = 1000)]
    pub maximum_records: u64,
    /// `maximumRecords` of one service, over --maximum-records: `GP/BufferByVal=1000`
    /// (repeat for more).
    #[arg(long, value_name = "SERVICE=N")]
    pub service_maximum_records: Vec<String>,
    /// Let tools read layer-URL inputs from this origin (`https://host[:port]`,
    /// repeatable); without it only this server's hosted layers are read.
    #[arg(long, value_name = "ORIGIN")]
    pub layer_source: Vec<String>,
    /// Largest uploaded file in MiB.
    #[arg(long, default_value_t = 2048)]
    pub max_upload_mb: u64,
    /// File types uploads accept, comma-separated extensions (default: data formats only).
    #[arg(long, value_name = "EXT,EXT")]
    pub upload_types: Option<String>,
    /// Allow this CORS origin (repeat for more); with origins listed, credentials are
    /// allowed for them. Default: any origin, without credentials.
    #[arg(long, value_name = "ORIGIN")]
    pub cors_origin: Vec<String>,
    /// The URL clients reach the server at (`scheme://host[:port]`); every URL the
    /// server writes starts with it.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Accept this host name in the Host header (repeat for more); IP addresses and
    /// localhost are always accepted.
    #[arg(long, value_name = "NAME")]
    pub allowed_host: Vec<String>,
    /// Seconds a client has to send a request's headers.
    #[arg(long, default_value_t = 10.0)]
    pub header_timeout_secs: f64,
    /// Seconds a request body may go without sending a byte.
    #[arg(long, default_value_t = 30.0)]
    pub body_timeout_secs: f64,
    /// Seconds an idle keep-alive connection is kept open.
    #[arg(long, default_value_t = 60.0)]
    pub idle_timeout_secs: f64,
    /// Seconds a TLS handshake may take.
    #[arg(long, default_value_t = 10.0)]
    pub tls_handshake_timeout_secs: f64,
    /// Most connections open at once.
    #[arg(long, default_value_t = 1000)]
    pub max_connections: usize,
    /// Misbehave on purpose, for testing clients: inject faults at these rates. SPEC
    /// is a comma-separated list of `[ROUTE:]KIND=RATE` rules and `stall=SECONDS`.
    /// ROUTE: meta, submit, status, results, files or * (default). KIND: http-502,
    /// http-503, http-503-retry-after, http-429, reset-before-body, reset-after-body,
    /// stall, truncate, corrupt-json, error-200, token-expired, and on submit
    /// job-fail, job-timeout, job-cancel, job-delete; or any (every kind the route
    /// allows, the rate shared). RATE: a probability from 0 to 1. Example:
    /// `any=0.1,stall=3` faults one request in ten.
    #[arg(long, value_name = "SPEC", verbatim_doc_comment)]
    pub faults: Option<String>,
    /// Seed of the fault decisions (the same seed gives the same sequence).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "faults")]
    pub fault_seed: u64,
}

fn minutes(m: f64, what: &str) -> anyhow::Result<Duration> {
    if !m.is_finite() || m <= 0.0 {
        bail!("{what} must be a positive number of minutes, got {m}");
    }
    Ok(Duration::from_secs_f64(m * 60.0))
}

fn seconds(s: f64, what: &str) -> anyhow::Result<Duration> {
    if !s.is_finite() || s <= 0.0 {
        bail!("{what} must be a positive number of seconds, got {s}");
    }
    Ok(Duration::from_secs_f64(s))
}

/// Users from `USER:PASS` entries; `source` names where they came from, never the
/// password.
fn parse_users(entries: &[String], source: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut users = Vec::new();
    for (i, u) in entries.iter().enumerate() {
        let Some((user, pass)) = u.split_once(':') else {
            bail!("{source} entry {}: expected USER:PASS", i + 1);
        };
        if user.trim().is_empty() || pass.is_empty() {
            bail!(
                "{source} entry {}: expected a non-empty user and password",
                i + 1
            );
        }
        users.push((user.trim().to_string(), pass.to_string()));
    }
    Ok(users)
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(str::to_string)
        .collect()
}

impl ServerOptions {
    /// The configuration these options describe; errors name the option.
    pub fn config(&self) -> anyhow::Result<ServerConfig> {
        let mut users = parse_users(&self.token_auth, "--token-auth")?;
        if let Some(f) = &self.token_auth_file {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("reading --token-auth-file {}", f.display()))?;
            users.extend(parse_users(&lines(&text), &format!("{}", f.display()))?);
        }
        if let Ok(v) = std::env::var("GP_SERVER_TOKEN_AUTH") {
            let entries: Vec<String> = lines(&v.replace(',', "\n"));
            users.extend(parse_users(&entries, "GP_SERVER_TOKEN_AUTH")?);
        }
        let config = ServerConfig {
            addr: self.addr,
            data_dir: self.data_dir.clone(),
            workers: self.workers,
            users,
            token_ttl: minutes(self.token_minutes, "--token-minutes")?,
            job_expiry: minutes(self.job_expiry_minutes, "--job-expiry-minutes")?,
            max_body_bytes: self.max_body_mb.saturating_mul(1 << 20),
            tls: self.tls,
            task_timeout: self
                .task_timeout_secs
                .map(|s| minutes(s / 60.0, "--task-timeout-secs"))
                .transpose()?,
            maximum_records: self.maximum_records,
            service_maximum_records: self
                .service_maximum_records
                .iter()
                .map(|s| {
                    let (name, n) = s.rsplit_once('=').ok_or_else(|| {
                        anyhow::anyhow!("--service-maximum-records: expected SERVICE=N, got `{s}`")
                    })?;
                    let n = n.trim().parse::<u64>().map_err(|_| {
                        anyhow::anyhow!("--service-maximum-records: `{n}` is not a whole number")
                    })?;
                    Ok((name.trim().to_string(), n))
                })
                .collect::<anyhow::Result<_>>()?,
            layer_sources: self.layer_source.clone(),
            max_upload_bytes: self.max_upload_mb.saturating_mul(1 << 20),
            upload_types: match &self.upload_types {
                Some(t) => t.split(',').map(str::to_string).collect(),
                None => ServerConfig::default().upload_types,
            },
            cors_origins: self.cors_origin.clone(),
            public_url: self.public_url.clone(),
            allowed_hosts: self.allowed_host.clone(),
            header_timeout: seconds(self.header_timeout_secs, "--header-timeout-secs")?,
            body_timeout: seconds(self.body_timeout_secs, "--body-timeout-secs")?,
            idle_timeout: seconds(self.idle_timeout_secs, "--idle-timeout-secs")?,
            tls_handshake_timeout: seconds(
                self.tls_handshake_timeout_secs,
                "--tls-handshake-timeout-secs",
            )?,
            max_connections: self.max_connections,
            faults: self
                .faults
                .as_deref()
                .map(|spec| crate::faults::FaultSpec::parse(spec, self.fault_seed))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--faults: {e}"))?,
            ..Default::default()
        };
        Ok(config)
    }
}

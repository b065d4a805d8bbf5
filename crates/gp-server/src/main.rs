//! `gp-server`: runs the local ArcGIS-compatible GP server until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;

/// A local ArcGIS-compatible geoprocessing server.
#[derive(Debug, Parser)]
#[command(name = "gp-server", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Keep jobs, outputs and uploads here (they survive restarts); default: a temporary folder.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Jobs that run at the same time.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Turn on token security with this user (repeat for more users). The password is
    /// visible in `ps`: prefer --token-auth-file or GP_SERVER_TOKEN_AUTH.
    #[arg(long, value_name = "USER:PASS")]
    token_auth: Vec<String>,
    /// Read users for token security from FILE, one USER:PASS per line (blank lines
    /// and lines starting with # are skipped).
    #[arg(long, value_name = "FILE")]
    token_auth_file: Option<PathBuf>,
    /// Longest token lifetime in minutes.
    #[arg(long, default_value_t = 60.0)]
    token_minutes: f64,
    /// Remove finished jobs after this many minutes.
    #[arg(long, default_value_t = 360.0)]
    job_expiry_minutes: f64,
    /// Largest request body in MiB.
    #[arg(long, default_value_t = 64)]
    max_body_mb: usize,
    /// Serve HTTPS with a self-signed certificate (written to `<data dir>/tls/cert.pem`).
    #[arg(long)]
    tls: bool,
    /// Cap every task's execution timeout, in seconds.
    #[arg(long)]
    task_timeout_secs: Option<f64>,
    /// `maximumRecords` of every service: feature outputs with more features come
    /// back empty with `exceededTransferLimit`, as on ArcGIS Server.
    #[arg(long, default_value_t = 1000)]
    maximum_records: u64,
    /// Largest uploaded file in MiB.
    #[arg(long, default_value_t = 2048)]
    max_upload_mb: u64,
    /// File types uploads accept, comma-separated extensions (default: data formats only).
    #[arg(long, value_name = "EXT,EXT")]
    upload_types: Option<String>,
    /// Allow this CORS origin (repeat for more); with origins listed, credentials are
    /// allowed for them. Default: any origin, without credentials.
    #[arg(long, value_name = "ORIGIN")]
    cors_origin: Vec<String>,
    /// The URL clients reach the server at (scheme://host[:port]); every URL the
    /// server writes starts with it.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Accept this host name in the Host header (repeat for more); IP addresses and
    /// localhost are always accepted.
    #[arg(long, value_name = "NAME")]
    allowed_host: Vec<String>,
    /// Seconds a client has to send a request's headers.
    #[arg(long, default_value_t = 10.0)]
    header_timeout_secs: f64,
    /// Seconds a request body may go without sending a byte.
    #[arg(long, default_value_t = 30.0)]
    body_timeout_secs: f64,
    /// Seconds an idle keep-alive connection is kept open.
    #[arg(long, default_value_t = 60.0)]
    idle_timeout_secs: f64,
    /// Seconds a TLS handshake may take.
    #[arg(long, default_value_t = 10.0)]
    tls_handshake_timeout_secs: f64,
    /// Most connections open at once.
    #[arg(long, default_value_t = 1000)]
    max_connections: usize,
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

/// Stops on Ctrl-C (SIGINT) or SIGTERM.
async fn stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}

fn minutes(m: f64, what: &str) -> anyhow::Result<Duration> {
    if !m.is_finite() || m <= 0.0 {
        bail!("{what} must be a positive number of minutes, got {m}");
    }
    Ok(Duration::from_secs_f64(m * 60.0))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut users = parse_users(&args.token_auth, "--token-auth")?;
    if let Some(f) = &args.token_auth_file {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading --token-auth-file {}", f.display()))?;
        users.extend(parse_users(&lines(&text), &format!("{}", f.display()))?);
    }
    if let Ok(v) = std::env::var("GP_SERVER_TOKEN_AUTH") {
        let entries: Vec<String> = lines(&v.replace(',', "\n"));
        users.extend(parse_users(&entries, "GP_SERVER_TOKEN_AUTH")?);
    }
    let config = gp_server::ServerConfig {
        addr: args.addr,
        data_dir: args.data_dir,
        workers: args.workers,
        users,
        token_ttl: minutes(args.token_minutes, "--token-minutes")?,
        job_expiry: minutes(args.job_expiry_minutes, "--job-expiry-minutes")?,
        max_body_bytes: args.max_body_mb.saturating_mul(1 << 20),
        tls: args.tls,
        task_timeout: args
            .task_timeout_secs
            .map(|s| minutes(s / 60.0, "--task-timeout-secs"))
            .transpose()?,
        maximum_records: args.maximum_records,
        max_upload_bytes: args.max_upload_mb.saturating_mul(1 << 20),
        upload_types: match &args.upload_types {
            Some(t) => t.split(',').map(str::to_string).collect(),
            None => gp_server::ServerConfig::default().upload_types,
        },
        cors_origins: args.cors_origin,
        public_url: args.public_url,
        allowed_hosts: args.allowed_host,
        header_timeout: seconds(args.header_timeout_secs, "--header-timeout-secs")?,
        body_timeout: seconds(args.body_timeout_secs, "--body-timeout-secs")?,
        idle_timeout: seconds(args.idle_timeout_secs, "--idle-timeout-secs")?,
        tls_handshake_timeout: seconds(
            args.tls_handshake_timeout_secs,
            "--tls-handshake-timeout-secs",
        )?,
        max_connections: args.max_connections,
        ..Default::default()
    };
    let server = gp_server::Server::start(config)
        .await
        .context("starting gp-server")?;
    // One machine-readable line on stdout, for scripts that start the server.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Started<'a> {
        url: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        cert: Option<&'a std::path::Path>,
        data_dir: &'a std::path::Path,
    }
    let line = serde_json::to_string(&Started {
        url: server.url("/arcgis/rest/services"),
        cert: server.cert_pem(),
        data_dir: server.data_dir(),
    })
    .context("writing the start line")?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").context("writing to stdout")?;
        out.flush().context("writing to stdout")?;
    }
    stop_signal().await?;
    tracing::info!("stopping");
    server.shutdown().await;
    Ok(())
}

//! `gp-server`: runs the local ArcGIS-compatible GP server until Ctrl-C.

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
    /// Turn on token security with this user (repeat for more users).
    #[arg(long, value_name = "USER:PASS")]
    token_auth: Vec<String>,
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
    let mut users = Vec::new();
    for u in &args.token_auth {
        let Some((user, pass)) = u.split_once(':') else {
            bail!("--token-auth expects USER:PASS, got `{u}`");
        };
        if user.is_empty() || pass.is_empty() {
            bail!("--token-auth expects a non-empty user and password");
        }
        users.push((user.to_string(), pass.to_string()));
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
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("stopping");
    server.shutdown().await;
    Ok(())
}

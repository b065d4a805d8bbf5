//! `gp-server`: runs the local ArcGIS-compatible GP server until Ctrl-C or SIGTERM.

use anyhow::Context;
use clap::Parser;
use gp_server::options::ServerOptions;

/// A local ArcGIS-compatible geoprocessing server.
#[derive(Debug, Parser)]
#[command(name = "gp-server", version)]
struct Args {
    #[command(flatten)]
    options: ServerOptions,
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
    let config = args.options.config()?;
    let stop = gp_server::stop_signal().context("listening for Ctrl-C and SIGTERM")?;
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
    stop.await;
    tracing::info!("stopping");
    server.shutdown().await;
    Ok(())
}

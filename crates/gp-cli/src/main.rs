//! `gp`: ArcGIS geoprocessing from the command line. Thin: every behaviour lives in
//! the library crates (gp-client, gp-server, gp-features, gp-raster).

#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: a command-line tool reports on the terminal

mod demo;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};

/// ArcGIS geoprocessing from the command line.
#[derive(Debug, Parser)]
#[command(name = "gp", version, about)]
pub(crate) struct Cli {
    /// More logs on stderr (-v info, -vv debug); tokens are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// No progress output.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Start the local ArcGIS-compatible GP server.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Keep jobs, outputs and uploads here (they survive restarts).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Jobs that run at the same time.
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Turn on token security with this user (repeat for more).
        #[arg(long, value_name = "USER:PASS")]
        token_auth: Vec<String>,
        /// HTTPS with a self-signed certificate.
        #[arg(long)]
        tls: bool,
    },
    /// Run the seed's three workflows against an embedded server.
    Demo {
        /// Where the outputs go.
        #[arg(long, default_value = "gp-demo")]
        out: PathBuf,
    },
    /// Folders and services of a services directory.
    Services {
        /// `https://host/arcgis/rest/services[/Folder]`.
        url: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A GPServer's tasks, or a task's parameters.
    Info {
        /// GPServer or task URL.
        url: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a task: NAME=VALUE inputs the way arcpy takes them.
    Run(run::RunArgs),
    /// Follow a job by URL or job file.
    Job {
        #[command(subcommand)]
        action: run::JobAction,
    },
    /// Feature files.
    Features {
        #[command(subcommand)]
        action: FeaturesCmd,
    },
    /// Rasters.
    Raster {
        #[command(subcommand)]
        action: RasterCmd,
    },
    /// Shell completions.
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum FeaturesCmd {
    /// Convert IN to OUT by extension (shp, geojson, gpkg[/layer], fgb, csv, json).
    Convert {
        /// Input file.
        input: PathBuf,
        /// Output file.
        output: PathBuf,
        /// Layer name in a GeoPackage output.
        #[arg(long)]
        layer: Option<String>,
        /// Replace an existing output.
        #[arg(long)]
        overwrite: bool,
        /// Flush the output to disk before it is renamed into place (survives a power
        /// cut right after; slower).
        #[arg(long)]
        sync: bool,
    },
}

#[derive(Debug, Subcommand)]
enum RasterCmd {
    /// Size, type, georeferencing and (with --stats) band statistics of a TIFF.
    Info {
        /// The TIFF.
        file: PathBuf,
        /// Decode the pixels and compute statistics.
        #[arg(long)]
        stats: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Exit codes: 0 success, 1 the tool failed/was cancelled/timed out, 2 usage or
/// input error, 3 network, server or authentication error.
fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(ce) = cause.downcast_ref::<gp_client::Error>() {
            return match ce {
                gp_client::Error::JobFailed { .. } | gp_client::Error::WaitTimeout { .. } => 1,
                gp_client::Error::Transport(_)
                | gp_client::Error::Server { .. }
                | gp_client::Error::Protocol { .. } => 3,
                _ => 2,
            };
        }
        if cause.downcast_ref::<gp_transport::Error>().is_some()
            || cause.downcast_ref::<gp_server::Error>().is_some()
        {
            return 3;
        }
        if cause.downcast_ref::<run::Cancelled>().is_some() {
            return 1;
        }
    }
    2
}

fn init_logs(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn serve(
    addr: std::net::SocketAddr,
    data_dir: Option<PathBuf>,
    workers: usize,
    token_auth: Vec<String>,
    tls: bool,
) -> anyhow::Result<()> {
    let mut users = Vec::new();
    for u in &token_auth {
        let (user, pass) = u
            .split_once(':')
            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
            .with_context(|| format!("--token-auth expects USER:PASS, got `{u}`"))?;
        users.push((user.to_string(), pass.to_string()));
    }
    // Listen for Ctrl-C before saying we are ready, so an early interrupt still
    // stops the server cleanly.
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("listening for Ctrl-C")?;
    let server = gp_server::Server::start(gp_server::ServerConfig {
        addr,
        data_dir,
        workers,
        users,
        tls,
        ..Default::default()
    })
    .await?;
    {
        // A server keeps serving when whoever started it stops reading its stdout.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "gp serve: {}", server.url("/arcgis/rest/services"));
        if let Some(pem) = server.cert_pem() {
            let _ = writeln!(out, "certificate: {}", pem.display());
        }
        let _ = writeln!(
            out,
            "services: GP/BufferByVal, GP/BufferSync, GP/Utilities, SlopeByVal (Ctrl-C stops)"
        );
        let _ = out.flush();
    }
    #[cfg(unix)]
    interrupt.recv().await;
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.shutdown().await;
    Ok(())
}

async fn services(url: &str, json: bool) -> anyhow::Result<()> {
    let client = gp_client::Client::http()?;
    let r =
        gp_transport::TransportExt::get(client.transport().as_ref(), url, &[("f", "json")]).await?;
    if let Some(e) = gp_model::ServerError::check(r.body()) {
        anyhow::bail!(gp_client::Error::Server {
            url: url.to_string(),
            code: e.code,
            message: e.message,
            details: e.details
        });
    }
    let dir: gp_model::ServiceDirectory =
        gp_model::from_json_slice("services directory", r.body())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&dir)?);
        return Ok(());
    }
    for f in &dir.folders {
        println!("{f}/");
    }
    for s in &dir.services {
        println!("{}  ({})", s.name, s.service_type);
    }
    Ok(())
}

async fn info(url: &str, json: bool) -> anyhow::Result<()> {
    let client = gp_client::Client::http()?;
    let tb = client.import(url).await?;
    let last = url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let task = (!last.eq_ignore_ascii_case("GPServer")).then_some(last);
    match task {
        None => {
            if json {
                println!("{}", serde_json::to_string_pretty(tb.info())?);
                return Ok(());
            }
            println!(
                "{} ({})",
                tb.url(),
                if tb.is_synchronous() {
                    "synchronous: execute"
                } else {
                    "asynchronous: submitJob"
                }
            );
            if let Some(m) = tb.info().result_map_server() {
                println!("result map service: {m}");
            }
            for t in tb.tools() {
                println!(
                    "  {}  (alias {})",
                    t.name(),
                    gp_client::snake_case(t.name())
                );
            }
        }
        Some(t) => {
            let decoded = url_decode(&t);
            let tool = tb.tool(&decoded)?;
            if json {
                println!("{}", serde_json::to_string_pretty(tool.info())?);
                return Ok(());
            }
            println!(
                "{} ({})",
                tool.name(),
                if tool.is_synchronous() {
                    "synchronous"
                } else {
                    "asynchronous"
                }
            );
            println!(
                "{:<20} {:<26} {:<6} {:<8} {:<28} choices",
                "name", "type", "dir", "required", "default"
            );
            for p in tool.parameters() {
                let default = p.default_value.as_ref().map(|v| {
                    let s = v.to_string();
                    if s.len() > 26 {
                        format!("{}…", s.chars().take(25).collect::<String>())
                    } else {
                        s
                    }
                });
                println!(
                    "{:<20} {:<26} {:<6} {:<8} {:<28} {}",
                    p.name.as_str(),
                    p.data_type.to_string(),
                    if p.is_input() { "in" } else { "out" },
                    if p.is_required() { "yes" } else { "" },
                    default.unwrap_or_default(),
                    p.choices().map(|c| c.join("|")).unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn raster_info(file: &PathBuf, stats: bool, json: bool) -> anyhow::Result<()> {
    let info = gp_raster::RasterInfo::read(file, stats, &Default::default())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(());
    }
    let t = &info.tiff;
    println!(
        "{}: {}x{} pixels, {} band(s) of {:?}, {} compression",
        file.display(),
        t.width,
        t.height,
        t.bands,
        t.sample_type,
        t.compression
    );
    if let Some(gt) = t.georef.geotransform {
        println!(
            "origin ({}, {}), pixel size ({}, {}), EPSG:{}",
            gt[0],
            gt[3],
            gt[1],
            gt[5],
            t.georef
                .epsg
                .map(|e| e.to_string())
                .unwrap_or_else(|| "?".into())
        );
    }
    if let Some(n) = t.nodata {
        println!("nodata {n}");
    }
    for (i, s) in info.stats.iter().flatten().enumerate() {
        match s {
            Some(s) => println!(
                "band {}: min {:.4}, max {:.4}, mean {:.4}, stddev {:.4}, {} valid",
                i + 1,
                s.min,
                s.max,
                s.mean,
                s.stddev,
                s.valid_count
            ),
            None => println!("band {}: no valid cells", i + 1),
        }
    }
    Ok(())
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Serve {
            addr,
            data_dir,
            workers,
            token_auth,
            tls,
        } => serve(addr, data_dir, workers, token_auth, tls).await,
        Cmd::Demo { out } => demo::run(&out, cli.quiet).await,
        Cmd::Services { url, json } => services(&url, json).await,
        Cmd::Info { url, json } => info(&url, json).await,
        Cmd::Run(args) => run::run(args, cli.quiet).await,
        Cmd::Job { action } => run::job(action, cli.quiet).await,
        Cmd::Features {
            action:
                FeaturesCmd::Convert {
                    input,
                    output,
                    layer,
                    overwrite,
                    sync,
                },
        } => {
            let r = gp_features::convert(
                &input,
                &output,
                &gp_features::SaveOptions {
                    overwrite,
                    layer,
                    sync,
                },
            )?;
            println!(
                "wrote {}{}",
                r.output.path.display(),
                if r.streamed { " (streamed)" } else { "" }
            );
            Ok(())
        }
        Cmd::Raster {
            action: RasterCmd::Info { file, stats, json },
        } => raster_info(&file, stats, json),
        Cmd::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "gp", &mut std::io::stdout());
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gp: cannot start: {e}");
            return ExitCode::from(3);
        }
    };
    match rt.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gp: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  because: {cause}");
            }
            ExitCode::from(exit_code(&e))
        }
    }
}

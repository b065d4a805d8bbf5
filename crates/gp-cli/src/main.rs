//! `gp`: ArcGIS geoprocessing from the command line. Thin: every behaviour lives in
//! the library crates (gp-client, gp-server, gp-features, gp-raster).

#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: a command-line tool reports on the terminal

mod conn;
mod demo;
mod info;
mod job;
mod out;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use out::outln;

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
        #[command(flatten)]
        options: gp_server::options::ServerOptions,
    },
    /// Run the seed's three workflows against an embedded server.
    Demo {
        /// Where the outputs go.
        #[arg(long, default_value = "gp-demo")]
        out: PathBuf,
    },
    /// Folders and services of a services directory.
    Services {
        /// `https://host/arcgis/rest/services[/Folder]` (a GP service URL lists its tasks).
        url: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        conn: conn::Conn,
    },
    /// A GPServer's tasks, or a task's parameters.
    Info {
        /// GPServer or task URL, or arcpy's "…/services;Folder/Service" (optionally ";user;password").
        url: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        conn: conn::Conn,
    },
    /// Run a task: NAME=VALUE inputs the way arcpy takes them.
    Run(run::RunArgs),
    /// Follow a job by URL, job file, or job id with its task URL.
    Job {
        #[command(subcommand)]
        action: job::JobAction,
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
    /// Convert IN to OUT by extension (shp, geojson, gpkg[/layer], gdb[/layer], fgb, csv, json).
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

/// Exit codes: 0 success, 1 the tool failed/was cancelled/timed out or an output
/// was cut at the server's transfer limit, 2 usage or input error, 3 network,
/// server or authentication error.
fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(ce) = cause.downcast_ref::<gp_client::Error>() {
            return match ce {
                gp_client::Error::JobFailed { .. } | gp_client::Error::WaitTimeout { .. } => 1,
                gp_client::Error::Transport(_)
                | gp_client::Error::Server { .. }
                | gp_client::Error::Protocol { .. }
                | gp_client::Error::PollGaveUp { .. }
                | gp_client::Error::AnswerLost { .. }
                | gp_client::Error::BadDownload { .. } => 3,
                _ => 2,
            };
        }
        if cause.downcast_ref::<gp_transport::Error>().is_some()
            || cause.downcast_ref::<gp_server::Error>().is_some()
        {
            return 3;
        }
        if cause.downcast_ref::<run::Cancelled>().is_some()
            || cause.downcast_ref::<run::Truncated>().is_some()
        {
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

async fn serve(options: &gp_server::options::ServerOptions) -> anyhow::Result<()> {
    let config = options.config()?;
    // Listen for Ctrl-C before saying we are ready, so an early interrupt still
    // stops the server cleanly.
    let stop = gp_server::stop_signal().context("listening for Ctrl-C and SIGTERM")?;
    let server = gp_server::Server::start(config).await?;
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
            "services: GP/BufferByVal, GP/BufferSync, GP/Utilities, SlopeByVal (Ctrl-C or SIGTERM stops)"
        );
        let _ = out.flush();
    }
    stop.await;
    server.shutdown().await;
    Ok(())
}

fn raster_info(file: &PathBuf, stats: bool, json: bool) -> anyhow::Result<()> {
    let info = gp_raster::RasterInfo::read(file, stats, &Default::default())?;
    if json {
        return outln!("{}", serde_json::to_string_pretty(&info)?);
    }
    let t = &info.tiff;
    outln!(
        "{}: {}x{} pixels, {} band(s) of {:?}, {} compression",
        file.display(),
        t.width,
        t.height,
        t.bands,
        t.sample_type,
        t.compression
    )?;
    if let Some(gt) = t.georef.geotransform {
        outln!(
            "origin ({}, {}), pixel size ({}, {}), EPSG:{}",
            gt[0],
            gt[3],
            gt[1],
            gt[5],
            t.georef
                .epsg
                .map(|e| e.to_string())
                .unwrap_or_else(|| "?".into())
        )?;
    }
    if let Some(n) = t.nodata {
        outln!("nodata {}", gp_raster::nodata_text(n))?;
    }
    match (&t.color_table, t.photometric.as_str()) {
        (Some(c), p) => outln!(
            "photometric {p}, colour table of {} entries",
            c.entries.len()
        )?,
        (None, "ycbcr") => outln!("photometric ycbcr (JPEG, read as RGB)")?,
        _ => {}
    }
    for (i, s) in info.stats.iter().flatten().enumerate() {
        match s {
            Some(s) => outln!(
                "band {}: min {:.4}, max {:.4}, mean {:.4}, stddev {:.4}, {} valid",
                i + 1,
                s.min,
                s.max,
                s.mean,
                s.stddev,
                s.valid_count
            )?,
            None => outln!("band {}: no valid cells", i + 1)?,
        }
    }
    Ok(())
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Serve { options } => serve(&options).await,
        Cmd::Demo { out } => demo::run(&out, cli.quiet).await,
        Cmd::Services { url, json, conn } => info::services(&url, json, &conn).await,
        Cmd::Info { url, json, conn } => info::info(&url, json, &conn).await,
        Cmd::Run(args) => run::run(args, cli.quiet).await,
        Cmd::Job { action } => job::job(action, cli.quiet).await,
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
            for w in &r.output.warnings {
                eprintln!("warning: {w}");
            }
            outln!(
                "wrote {}{}",
                r.output.path.display(),
                if r.streamed { " (streamed)" } else { "" }
            )
        }
        Cmd::Raster {
            action: RasterCmd::Info { file, stats, json },
        } => raster_info(&file, stats, json),
        Cmd::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "gp", &mut buf);
            use std::io::Write;
            std::io::stdout().lock().write_all(&buf)?;
            Ok(())
        }
    }
}

impl Cmd {
    /// True when the command was asked for JSON: its errors are JSON too.
    fn json(&self) -> bool {
        match self {
            Cmd::Services { json, .. } | Cmd::Info { json, .. } => *json,
            Cmd::Run(a) => a.json(),
            Cmd::Job { action } => action.json(),
            Cmd::Raster {
                action: RasterCmd::Info { json, .. },
            } => *json,
            _ => false,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.verbose);
    let json = cli.cmd.json();
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
        // The reader of our output has gone (`gp … | head`): stop quietly.
        Err(e) if out::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit_code(&e);
            eprintln!("gp: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  because: {cause}");
            }
            if json {
                let causes: Vec<String> = e.chain().map(|c| c.to_string()).collect();
                let doc =
                    serde_json::json!({"error": {"message": causes.join(": "), "exit_code": code}});
                let _ = outln!("{doc}");
            }
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(e: gp_client::Error, code: u8) {
        let text = e.to_string();
        assert_eq!(exit_code(&anyhow::Error::new(e)), code, "{text}");
    }

    /// The exit code of each error the fault tests of gp-client end with
    /// (`crates/gp-client/tests/fault_*.rs`): 1 when the job itself did not
    /// succeed or the wait passed its deadline, 3 for network and server faults.
    #[test]
    fn exit_codes_of_fault_outcomes() {
        use gp_client::Error as E;
        use gp_model::JobStatus;
        for status in [JobStatus::Failed, JobStatus::TimedOut, JobStatus::Cancelled] {
            check(
                E::JobFailed {
                    tool: "T".into(),
                    job_id: "j1".into(),
                    status,
                    messages: Vec::new(),
                },
                1,
            );
        }
        check(
            E::WaitTimeout {
                job_id: "j1".into(),
                job_url: "http://h/T/jobs/j1".into(),
                status: JobStatus::Executing,
                seconds: 1.0,
            },
            1,
        );
        check(
            E::AnswerLost {
                url: "http://h/T/submitJob".into(),
                message: "no answer".into(),
                request_id: "abc".into(),
            },
            3,
        );
        check(
            E::PollGaveUp {
                job_url: "http://h/T/jobs/j1".into(),
                seconds: 120.0,
                last: "503".into(),
            },
            3,
        );
        check(
            E::Server {
                url: "http://h/T/jobs/j1".into(),
                code: 404,
                message: "Job j1 not found".into(),
                details: Vec::new(),
            },
            3,
        );
        check(
            E::Protocol {
                url: "http://h/T/submitJob".into(),
                status: 502,
                message: "bad gateway".into(),
            },
            3,
        );
        check(
            E::Transport(gp_transport::Error::Timeout {
                url: "http://h".into(),
            }),
            3,
        );
        check(
            E::BadDownload {
                url: "http://h/f.tif".into(),
                expected: "a TIFF".into(),
                found: "HTML".into(),
            },
            3,
        );
    }
}

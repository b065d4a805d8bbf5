//! `gp run` and `gp job`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use gp_client::{Client, GpResult, JobFile, MapImageOptions, Params};
use gp_model::{GpValue, JobStatus};
use gp_raster::ScratchWorkspace;

/// The job was cancelled on Ctrl-C.
#[derive(Debug)]
pub(crate) struct Cancelled(pub(crate) String);

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted: {}", self.0)
    }
}

impl std::error::Error for Cancelled {}

/// `gp run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The task URL (`…/GPServer/<Task>`).
    task_url: String,
    /// Inputs as NAME=VALUE ("Distance=5 feet", "Input_Features=roads.shp", JSON, or @file.json).
    params: Vec<String>,
    /// Where outputs are written (default: the current folder).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Scratch workspace for rasters (default: --out, else the system temp folder).
    #[arg(long)]
    scratch: Option<PathBuf>,
    /// Output spatial reference (wkid).
    #[arg(long)]
    out_sr: Option<i32>,
    /// Save a map image of the first output here (services with a result map service).
    #[arg(long)]
    map_image: Option<PathBuf>,
    /// Feature output format: gpkg, geojson, shp, fgb, csv, json.
    #[arg(long, default_value = "gpkg")]
    format: String,
    /// Submit and print the job URL; writes a job file for `gp job wait FILE`.
    #[arg(long)]
    no_wait: bool,
    /// Leave the job running on Ctrl-C (and print how to reattach) instead of cancelling it.
    #[arg(long)]
    detach_on_interrupt: bool,
    /// Print one JSON document on stdout.
    #[arg(long)]
    json: bool,
    /// A token (also from GP_TOKEN).
    #[arg(long, env = "GP_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// User for generateToken (password read from stdin with --password-stdin).
    #[arg(long)]
    user: Option<String>,
    /// Read the password from stdin.
    #[arg(long)]
    password_stdin: bool,
}

/// `gp job ACTION TARGET`.
#[derive(Debug, Subcommand)]
pub(crate) enum JobAction {
    /// Print the status.
    Status(JobTarget),
    /// Wait until the job ends (Ctrl-C cancels it).
    Wait(JobTarget),
    /// Cancel the job.
    Cancel(JobTarget),
    /// Print the outputs.
    Results(JobTarget),
    /// Print the messages.
    Messages(JobTarget),
}

/// A job URL or job file.
#[derive(Debug, Args)]
pub(crate) struct JobTarget {
    /// `…/GPServer/<Task>/jobs/<jobId>` or a job file written by `gp run --no-wait`.
    target: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn import_string(task_url: &str, args: &RunArgs) -> anyhow::Result<String> {
    if args.token.is_none() && args.user.is_none() {
        return Ok(task_url.to_string());
    }
    // Credentials travel in arcpy's form: `<root>/services;<Folder/Service>;…`.
    let (svc, _) = task_url
        .rsplit_once('/')
        .context("the task URL has no task")?;
    let (root, name) = svc
        .split_once("/rest/services/")
        .context("the task URL has no /rest/services/")?;
    let base = format!("{root}/services;{}", name.trim_end_matches("/GPServer"));
    if let Some(t) = &args.token {
        return Ok(format!("{base};token={t}"));
    }
    anyhow::ensure!(args.password_stdin, "--user needs --password-stdin");
    let mut pass = String::new();
    std::io::stdin()
        .read_line(&mut pass)
        .context("reading the password from stdin")?;
    let user = args.user.as_deref().unwrap_or_default();
    Ok(format!(
        "{base};{user};{}",
        pass.trim_end_matches(['\r', '\n'])
    ))
}

/// A progress display on stderr: only when stderr is a terminal and not `--quiet`.
fn progress_bar(quiet: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(100);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {pos:>3}% {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    pb.set_style(style);
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(pb)
}

async fn wait_or_cancel(result: &GpResult, detach: bool, quiet: bool) -> anyhow::Result<JobStatus> {
    use futures::StreamExt;
    let job = result.result_id().unwrap_or("-").to_string();
    let pb = progress_bar(quiet);
    let mut events = Box::pin(result.progress_stream(Default::default()));
    loop {
        tokio::select! {
            ev = events.next() => {
                let Some(ev) = ev else { break };
                let ev = ev?;
                if let Some(pb) = &pb {
                    for m in &ev.new_messages {
                        pb.println(format!("  {}", m.description));
                    }
                    let (pct, text) = match &ev.progress {
                        Some(p) => (p.percent, p.message.clone()),
                        None => (None, String::new()),
                    };
                    if let Some(x) = pct {
                        pb.set_position(x.clamp(0.0, 100.0) as u64);
                    }
                    pb.set_message(format!("{job} {} {text}", ev.status));
                }
                if ev.status.is_terminal() {
                    break;
                }
            }
            _ = tokio::signal::ctrl_c() => {
                if let Some(pb) = &pb {
                    pb.finish_and_clear();
                }
                if detach {
                    let url = result.job_url().unwrap_or_default();
                    anyhow::bail!(Cancelled(format!("job {job} keeps running; reattach with: gp job wait {url}")));
                }
                let st = result.cancel().await?;
                anyhow::bail!(Cancelled(format!("job {job} cancelled on the server ({st})")));
            }
        }
    }
    drop(events);
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    Ok(result.wait().await?)
}

fn feature_path(out: &Path, name: &str, format: &str) -> PathBuf {
    match format {
        "gpkg" => out.join("outputs.gpkg").join(name),
        f => out.join(format!("{name}.{f}")),
    }
}

/// A download bar with bytes and rate, on a terminal only.
fn download_bar(quiet: bool, name: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    b.set_style(style);
    b.set_message(format!("downloading {name}"));
    Some(b)
}

async fn save_outputs(
    result: &GpResult,
    out: &Path,
    scratch: &ScratchWorkspace,
    format: &str,
    quiet: bool,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut written = Vec::new();
    for name in result.output_names() {
        let v = result.output(name.as_str()).await?;
        match &v {
            GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) => {
                let p = feature_path(out, &name, format);
                gp_features::save_with(
                    fs,
                    &p,
                    &gp_features::SaveOptions {
                        overwrite: true,
                        layer: None,
                        // A job's outputs may be all that is left of it: on disk
                        // before the command returns.
                        sync: true,
                    },
                )?;
                written.push(
                    serde_json::json!({"param": name, "file": p, "features": fs.features.len()}),
                );
            }
            GpValue::DataRef(d) if d.url.is_some() => {
                let bar = download_bar(quiet, &name);
                let p = result
                    .download_with(name.as_str(), scratch, &mut |done, total| {
                        if let Some(b) = &bar {
                            if let Some(t) = total {
                                b.set_length(t);
                            }
                            b.set_position(done);
                        }
                    })
                    .await?;
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                written.push(serde_json::json!({"param": name, "file": p}));
            }
            other => written.push(serde_json::json!({"param": name, "value": other.to_json()})),
        }
    }
    Ok(written)
}

/// `gp run`.
pub(crate) async fn run(args: RunArgs, quiet: bool) -> anyhow::Result<()> {
    let (svc, task) = args
        .task_url
        .trim_end_matches('/')
        .rsplit_once('/')
        .context("give a task URL: …/GPServer/<Task>")?;
    anyhow::ensure!(
        svc.to_ascii_lowercase().ends_with("/gpserver"),
        "give a task URL: …/GPServer/<Task>"
    );
    let client = Client::http()?;
    let tb = client
        .import(&import_string(&args.task_url, &args)?)
        .await?;
    let tool = tb.tool(task)?;
    let mut params = Params::new();
    for p in &args.params {
        let (k, v) = p
            .split_once('=')
            .with_context(|| format!("`{p}` is not NAME=VALUE"))?;
        let v = match v.strip_prefix('@') {
            Some(file) => {
                std::fs::read_to_string(file).with_context(|| format!("reading {file} for {k}"))?
            }
            None => v.to_string(),
        };
        params = params.set(k, v);
    }
    if let Some(w) = args.out_sr {
        params = params.out_sr(w);
    }
    let result = tool.run(params).await?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
    if args.no_wait {
        let jf = result
            .job_file()
            .context("a synchronous tool has no job to follow")?;
        std::fs::create_dir_all(&out)?;
        let file = out.join(format!("{}.gpjob.json", jf.job_id));
        jf.save(&file)?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({"job_url": jf.job_url, "job_file": file})
            );
        } else {
            println!(
                "{}\njob file: {} (gp job wait {})",
                jf.job_url,
                file.display(),
                file.display()
            );
        }
        return Ok(());
    }
    if !tool.is_synchronous() {
        wait_or_cancel(&result, args.detach_on_interrupt, quiet || args.json).await?;
    }
    std::fs::create_dir_all(&out)?;
    let scratch = ScratchWorkspace::at(args.scratch.clone().unwrap_or_else(|| out.clone()));
    let written = save_outputs(&result, &out, &scratch, &args.format, quiet || args.json).await?;
    let mut map = None;
    if let Some(p) = &args.map_image {
        let img = result.map_image(0, &MapImageOptions::default()).await?;
        map = Some(img.save(p, true)?);
    }
    if args.json {
        let doc = serde_json::json!({
            "job_id": result.result_id(),
            "status": result.status(),
            "outputs": written,
            "map_image": map,
            "messages": result.messages(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for w in &written {
            match (w.get("file"), w.get("value")) {
                (Some(f), _) => println!(
                    "{}: wrote {}",
                    w["param"].as_str().unwrap_or_default(),
                    f.as_str().unwrap_or_default()
                ),
                (None, Some(v)) => println!("{}: {v}", w["param"].as_str().unwrap_or_default()),
                _ => {}
            }
        }
        if let Some(m) = &map {
            println!("map image: wrote {}", m.display());
        }
    }
    Ok(())
}

async fn open(target: &str) -> anyhow::Result<GpResult> {
    let client = Client::http()?;
    if Path::new(target).is_file() {
        let jf = JobFile::load(target)?;
        return Ok(GpResult::reopen_file(&client, &jf).await?);
    }
    Ok(GpResult::reopen(&client, target).await?)
}

/// `gp job`.
pub(crate) async fn job(action: JobAction, quiet: bool) -> anyhow::Result<()> {
    match action {
        JobAction::Status(t) => {
            let r = open(&t.target).await?;
            if t.json {
                println!(
                    "{}",
                    serde_json::json!({"job_id": r.result_id(), "status": r.status(), "progress": r.progress()})
                );
            } else {
                println!("{}", r.status());
            }
        }
        JobAction::Wait(t) => {
            let r = open(&t.target).await?;
            let st = wait_or_cancel(&r, false, quiet || t.json).await?;
            if t.json {
                println!(
                    "{}",
                    serde_json::json!({"job_id": r.result_id(), "status": st})
                );
            } else {
                println!("{st}");
            }
        }
        JobAction::Cancel(t) => {
            let r = open(&t.target).await?;
            let st = r.cancel().await?;
            println!("{st}");
        }
        JobAction::Results(t) => {
            let r = open(&t.target).await?;
            let mut doc = serde_json::Map::new();
            for name in r.output_names() {
                doc.insert(name.clone(), r.output(name.as_str()).await?.to_json());
            }
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        JobAction::Messages(t) => {
            let r = open(&t.target).await?;
            if t.json {
                println!("{}", serde_json::to_string_pretty(&r.messages())?);
            } else {
                for m in r.messages() {
                    println!("{}: {}", m.message_type, m.description);
                }
            }
        }
    }
    Ok(())
}

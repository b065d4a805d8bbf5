//! `gp run`: parse the arguments, check every option before submitting, follow the
//! job with a progress bar, save the outputs through gp-client, report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use gp_client::{GpResult, Location, Params, PollPolicy, SaveOptions, Saved, SavedOutput, Target};
use gp_features::Format;
use gp_model::{DataType, GpValue, JobStatus};

use crate::conn::{Conn, parse_duration};
use crate::out::outln;

/// The job was cancelled or left on Ctrl-C.
#[derive(Debug)]
pub(crate) struct Cancelled(pub(crate) String);

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted: {}", self.0)
    }
}

impl std::error::Error for Cancelled {}

/// Where outputs go and how (for `gp run` and `gp job fetch`).
#[derive(Debug, Clone, Args)]
pub(crate) struct OutArgs {
    /// Folder the feature outputs are written to (default: the current folder).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Scratch workspace for rasters and files (default: GP_SCRATCH_WORKSPACE, else
    /// --out, else a folder in the system temp folder).
    #[arg(long)]
    scratch: Option<PathBuf>,
    /// Feature output format: gpkg, gdb, geojson, geojsonl, shp, fgb, csv, json.
    #[arg(long, default_value = "gpkg")]
    format: String,
    /// Save a map image of the first output here (services with a result map service).
    #[arg(long)]
    map_image: Option<PathBuf>,
    /// Replace existing files (without it an existing feature file is an error and a
    /// download gets a numbered name).
    #[arg(long)]
    overwrite: bool,
    /// Save only this output (repeatable; default: every output).
    #[arg(long = "output", value_name = "NAME")]
    outputs: Vec<String>,
    /// Accept a feature output the server cut at its transfer limit
    /// (`maximumRecords`); without it that is an error (exit code 1).
    #[arg(long)]
    allow_truncated: bool,
}

/// A feature output the server cut at its transfer limit, not accepted.
#[derive(Debug)]
pub(crate) struct Truncated(pub(crate) String);

impl std::fmt::Display for Truncated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Truncated {}

impl OutArgs {
    /// An error when a feature output was cut at the server's transfer limit and
    /// `--allow-truncated` was not given: a file of part of an output must not pass
    /// for the whole of it.
    pub(crate) fn check_whole(&self, saved: &[SavedOutput]) -> anyhow::Result<()> {
        if self.allow_truncated {
            return Ok(());
        }
        let cut: Vec<String> = saved
            .iter()
            .filter_map(|s| match &s.saved {
                Saved::Features {
                    path,
                    layer,
                    features,
                    exceeded_transfer_limit: true,
                    ..
                } => Some(format!(
                    "{}: {features} feature(s) came back, written to {}{}",
                    s.param,
                    path.display(),
                    layer
                        .as_ref()
                        .map(|l| format!(" (layer {l})"))
                        .unwrap_or_default()
                )),
                _ => None,
            })
            .collect();
        if cut.is_empty() {
            return Ok(());
        }
        Err(Truncated(format!(
            "the server cut {} at its transfer limit (maximumRecords), so the file holds only part of the output: {}. gp cannot fetch the rest from this server; ask its administrator to raise maximumRecords, or pass --allow-truncated to accept the part",
            if cut.len() == 1 { "an output" } else { "outputs" },
            cut.join("; ")
        ))
        .into())
    }

    /// The save options, checked: everything that can be wrong before a job runs.
    pub(crate) fn save_options(&self) -> anyhow::Result<(PathBuf, SaveOptions)> {
        let format = Format::from_extension(self.format.trim_start_matches('.'))
            .with_context(|| {
                format!(
                    "--format `{}` is not a feature format (gpkg, geojson, geojsonl, shp, fgb, csv, json)",
                    self.format
                )
            })?;
        let out = self.out.clone().unwrap_or_else(|| PathBuf::from("."));
        if out.exists() && !out.is_dir() {
            anyhow::bail!("--out {} is a file, not a folder", out.display());
        }
        if let Some(m) = &self.map_image
            && m.exists()
            && !self.overwrite
        {
            anyhow::bail!(
                "--map-image {} exists already (add --overwrite to replace it)",
                m.display()
            );
        }
        let opts = SaveOptions {
            format,
            scratch: Some(gp_fs::ScratchWorkspace::resolve_or(
                self.scratch.as_deref(),
                self.out.as_deref(),
            )),
            overwrite: self.overwrite,
            sync: true,
            map_image: self.map_image.clone(),
            outputs: self.outputs.clone(),
        };
        Ok((out, opts))
    }
}

/// `gp run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The task URL (`…/GPServer/<Task>`), or a service URL or arcpy's
    /// "…/services;Folder/Service" (optionally ";user;password") with --tool, or a
    /// web tool's portal item (an item id with --portal, or an item URL).
    task_url: String,
    /// Inputs as NAME=VALUE ("Distance=5 feet", "Input_Features=roads.shp", JSON, @file.json,
    /// or a layer URL and an optional filter: "Input_Features=https://…/FeatureServer/0 POP > 5").
    params: Vec<String>,
    /// The tool, when the URL names a service.
    #[arg(long)]
    tool: Option<String>,
    #[command(flatten)]
    out: OutArgs,
    /// Output spatial reference (wkid).
    #[arg(long)]
    out_sr: Option<i32>,
    /// Run synchronously where the server lets you choose (OGC processes that offer
    /// both); ArcGIS services decide for themselves.
    #[arg(long)]
    sync: bool,
    /// Publish the feature output as a new hosted feature layer of this name
    /// (ArcGIS Enterprise web tools); it is then read back from the layer in pages.
    #[arg(long, value_name = "NAME")]
    hosted_output: Option<String>,
    /// Processing spatial reference (wkid).
    #[arg(long)]
    process_sr: Option<i32>,
    /// Processing extent: "xmin ymin xmax ymax" (commas allowed).
    #[arg(long, value_name = "EXTENT", allow_hyphen_values = true)]
    extent: Option<String>,
    /// Ask for Z values in the outputs (true or false).
    #[arg(long, value_name = "BOOL")]
    return_z: Option<bool>,
    /// Ask for M values in the outputs (true or false).
    #[arg(long, value_name = "BOOL")]
    return_m: Option<bool>,
    /// Stop waiting after this long (e.g. 90s, 10m); the job goes on and the command
    /// prints how to resume.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Submit and print the job URL; writes a job file for `gp job wait FILE`.
    #[arg(long)]
    no_wait: bool,
    /// Leave the job running on Ctrl-C (and print how to reattach) instead of cancelling it.
    #[arg(long)]
    detach_on_interrupt: bool,
    /// Print one JSON document on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Conn,
}

impl RunArgs {
    /// True with --json.
    pub(crate) fn json(&self) -> bool {
        self.json
    }
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
    pb.enable_steady_tick(Duration::from_millis(120));
    Some(pb)
}

/// What Ctrl-C does while waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnInterrupt {
    /// Cancel the job on the server.
    Cancel,
    /// Leave it running and say how to reattach.
    Detach,
}

/// Follows a job to its end with a progress bar (ending at 100 % on success).
pub(crate) async fn follow(
    result: &GpResult,
    on_interrupt: OnInterrupt,
    timeout: Option<Duration>,
    quiet: bool,
) -> anyhow::Result<JobStatus> {
    use futures::StreamExt;
    let job = result.result_id().unwrap_or("-").to_string();
    let url = result.job_url().unwrap_or_default().to_string();
    let pb = progress_bar(quiet);
    let policy = PollPolicy {
        timeout,
        ..Default::default()
    };
    let mut events = result.progress_stream(policy);
    let mut last = result.status();
    loop {
        tokio::select! {
            ev = events.next() => {
                let Some(ev) = ev else { break };
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(e) => {
                        if let Some(pb) = &pb {
                            pb.finish_and_clear();
                        }
                        let resume = matches!(e, gp_client::Error::PollGaveUp { .. } | gp_client::Error::WaitTimeout { .. });
                        let err = anyhow::Error::from(e);
                        return Err(if resume { err.context(format!("resume with: gp job wait {url}")) } else { err });
                    }
                };
                if let Some(pb) = &pb {
                    for m in &ev.new_messages {
                        pb.println(format!("  {}", m.description));
                    }
                    if let Some(x) = ev.progress.as_ref().and_then(|p| p.percent) {
                        pb.set_position(x.clamp(0.0, 100.0) as u64);
                    }
                    let text = ev.progress.as_ref().map(|p| p.message.as_str()).unwrap_or_default();
                    pb.set_message(format!("{job} {} {text}", ev.status));
                }
                last = ev.status;
            }
            _ = tokio::signal::ctrl_c() => {
                if let Some(pb) = &pb {
                    pb.finish_and_clear();
                }
                if on_interrupt == OnInterrupt::Detach {
                    anyhow::bail!(Cancelled(format!("job {job} keeps running; reattach with: gp job wait {url}")));
                }
                let st = result.cancel().await?;
                anyhow::bail!(Cancelled(format!("job {job} cancelled on the server ({st})")));
            }
        }
    }
    if let Some(pb) = &pb {
        if last.is_success() {
            pb.set_position(100);
            pb.set_message(format!("{job} {last}"));
            pb.finish();
        } else {
            pb.finish_and_clear();
        }
    }
    let _ = last;
    Ok(result.outcome()?)
}

/// A download bar per output, on a terminal only.
struct Bars {
    quiet: bool,
    current: Option<(String, indicatif::ProgressBar)>,
}

impl Bars {
    fn update(&mut self, name: &str, done: u64, total: Option<u64>) {
        use std::io::IsTerminal;
        if self.quiet || !std::io::stderr().is_terminal() {
            return;
        }
        if self.current.as_ref().is_none_or(|(n, _)| n != name) {
            self.finish();
            let b = indicatif::ProgressBar::new(0);
            let style = indicatif::ProgressStyle::with_template(
                "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            b.set_style(style);
            b.set_message(format!("downloading {name}"));
            self.current = Some((name.to_string(), b));
        }
        if let Some((_, b)) = &self.current {
            if let Some(t) = total {
                b.set_length(t);
            }
            b.set_position(done);
        }
    }

    fn finish(&mut self) {
        if let Some((_, b)) = self.current.take() {
            b.finish_and_clear();
        }
    }
}

/// Saves every output, stopping (and removing partial files) on Ctrl-C.
pub(crate) async fn save(
    result: &GpResult,
    dir: &Path,
    opts: &SaveOptions,
    quiet: bool,
) -> anyhow::Result<Vec<SavedOutput>> {
    let mut bars = Bars {
        quiet,
        current: None,
    };
    let mut update = |n: &str, d: u64, t: Option<u64>| bars.update(n, d, t);
    let saved = tokio::select! {
        r = result.save_outputs_with(dir, opts, &mut update) => r,
        _ = tokio::signal::ctrl_c() => {
            bars.finish();
            anyhow::bail!(Cancelled("saving the outputs stopped; no partial file was left".into()));
        }
    };
    bars.finish();
    Ok(saved?)
}

/// One saved output as JSON.
pub(crate) fn saved_json(s: &SavedOutput) -> serde_json::Value {
    match &s.saved {
        Saved::Features {
            path,
            layer,
            features,
            streamed,
            exceeded_transfer_limit,
            warnings,
        } => serde_json::json!({"param": s.param, "file": path, "layer": layer,
            "features": features, "streamed": streamed,
            "exceeded_transfer_limit": exceeded_transfer_limit, "warnings": warnings}),
        Saved::File { path } | Saved::MapImage { path } => {
            serde_json::json!({"param": s.param, "file": path})
        }
        Saved::Value(v) => serde_json::json!({"param": s.param, "value": v.to_json()}),
        _ => serde_json::json!({"param": s.param}),
    }
}

/// Prints what was saved, a line each.
pub(crate) fn print_saved(saved: &[SavedOutput], opts: &SaveOptions) -> anyhow::Result<()> {
    let mut files = false;
    for s in saved {
        match &s.saved {
            Saved::Features {
                path,
                layer,
                features,
                warnings,
                ..
            } => {
                outln!(
                    "{}: wrote {} feature(s) to {}{}",
                    s.param,
                    features,
                    path.display(),
                    layer
                        .as_ref()
                        .map(|l| format!(" (layer {l})"))
                        .unwrap_or_default()
                )?;
                for w in warnings {
                    eprintln!("warning: {}: {w}", s.param);
                }
            }
            Saved::File { path } => {
                files = true;
                outln!("{}: wrote {}", s.param, path.display())?
            }
            Saved::MapImage { path } => outln!("map image: wrote {}", path.display())?,
            Saved::Value(v) => outln!("{}: {}", s.param, v.to_json())?,
            _ => {}
        }
    }
    if files && let Some(ws) = &opts.scratch {
        outln!("scratch workspace: {}", ws.dir().display())?;
    }
    Ok(())
}

/// Parses "xmin ymin xmax ymax" (spaces or commas).
fn parse_extent(s: &str) -> anyhow::Result<gp_model::geometry::Envelope> {
    match GpValue::parse_text(&DataType::Extent, s)? {
        GpValue::Extent(e) => Ok(e),
        other => anyhow::bail!("--extent `{s}` is not an extent ({other:?})"),
    }
}

/// `gp run`.
pub(crate) async fn run(args: RunArgs, quiet: bool) -> anyhow::Result<()> {
    let (client, task_url) = args.conn.client_for(&args.task_url).await?;
    // An OGC API – Processes URL is not an ArcGIS one: its process comes from the
    // URL (`…/processes/{id}`) or --tool once it is imported.
    let target = Target::parse(&task_url);
    let task = match (target.as_ref().map(|t| &t.location), &args.tool) {
        (Err(_), t) => t.clone(),
        (Ok(Location::Task { task, .. }), None) => Some(task.clone()),
        (Ok(Location::Task { task, .. }), Some(t)) if !task.eq_ignore_ascii_case(t) => {
            anyhow::bail!("the URL names task {task} but --tool says {t}")
        }
        (Ok(Location::Service { .. } | Location::Task { .. }), Some(t)) => Some(t.clone()),
        (Ok(Location::Service { .. }), None) => None,
        (Ok(other), _) => anyhow::bail!(
            "{other} is not a task: give …/GPServer/<Task>, or a service URL with --tool"
        ),
    };
    // Every option is checked before anything is submitted.
    let (out, opts) = args.out.save_options()?;
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
    if let Some(w) = args.process_sr {
        params = params.process_sr(w);
    }
    if let Some(e) = &args.extent {
        params = params.extent(parse_extent(e)?);
    }
    if let Some(z) = args.return_z {
        params = params.return_z(z);
    }
    if let Some(m) = args.return_m {
        params = params.return_m(m);
    }
    if let Some(name) = &args.hosted_output {
        params = params.hosted_output(name.clone());
    }
    params = params.synchronous(args.sync);
    let tb = client.import(&task_url).await?;
    let tool = match (&task, tb.named_tool()) {
        (Some(t), _) => tb.tool(t)?,
        (None, Some(named)) => named,
        (None, None) => match tb.tools() {
            [only] => only,
            tools => anyhow::bail!(
                "{} has {} tools; name one with --tool ({})",
                tb.url(),
                tools.len(),
                tools
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    if !args.no_wait {
        opts.check_free(tool, &out)
            .map_err(|e| anyhow::anyhow!("{e}; add --overwrite to replace it"))?;
    }
    if args.no_wait && tool.is_synchronous() {
        anyhow::bail!(
            "--no-wait: {} is synchronous (execute): it has no job to follow; run it without --no-wait",
            tool.name()
        );
    }
    let result = tool.run(params).await?;
    if args.no_wait {
        let jf = result
            .job_file()
            .context("a synchronous tool has no job to follow")?;
        std::fs::create_dir_all(&out)?;
        let file = out.join(format!("{}.gpjob.json", jf.job_id));
        jf.save(&file)?;
        if args.json {
            return outln!(
                "{}",
                serde_json::json!({"job_id": jf.job_id, "job_url": jf.job_url, "job_file": file})
            );
        }
        return outln!(
            "{}\njob file: {} (gp job wait {})",
            jf.job_url,
            file.display(),
            file.display()
        );
    }
    let on_interrupt = if args.detach_on_interrupt {
        OnInterrupt::Detach
    } else {
        OnInterrupt::Cancel
    };
    follow(&result, on_interrupt, args.timeout, quiet || args.json).await?;
    let saved = save(&result, &out, &opts, quiet || args.json).await?;
    args.out.check_whole(&saved)?;
    if args.json {
        let doc = serde_json::json!({
            "job_id": result.result_id(),
            "job_url": result.job_url(),
            "status": result.status(),
            "outputs": saved.iter().map(saved_json).collect::<Vec<_>>(),
            "messages": result.messages(),
        });
        return outln!("{}", serde_json::to_string_pretty(&doc)?);
    }
    print_saved(&saved, &opts)
}

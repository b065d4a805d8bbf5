//! `gp job status|wait|cancel|results|messages|fetch`: a job started elsewhere or
//! earlier, by URL, job file, or job id with its task URL.

use std::time::Duration;

use clap::{Args, Subcommand};
use gp_client::GpResult;

use crate::conn::{Conn, parse_duration};
use crate::out::outln;
use crate::run::{OnInterrupt, OutArgs, follow, print_saved, save, saved_json};

/// `gp job ACTION TARGET`.
#[derive(Debug, Subcommand)]
pub(crate) enum JobAction {
    /// Print the status.
    Status(JobTarget),
    /// Wait until the job ends (Ctrl-C cancels it).
    Wait {
        #[command(flatten)]
        target: JobTarget,
        /// Stop waiting after this long (e.g. 90s, 10m); the job goes on.
        #[arg(long, value_name = "DUR", value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
    /// Cancel the job.
    Cancel(JobTarget),
    /// Print the outputs.
    Results(JobTarget),
    /// Print the messages.
    Messages(JobTarget),
    /// Save the outputs (waiting for the job first; Ctrl-C leaves it running).
    Fetch {
        #[command(flatten)]
        target: JobTarget,
        #[command(flatten)]
        out: OutArgs,
    },
}

impl JobAction {
    /// True with --json.
    pub(crate) fn json(&self) -> bool {
        match self {
            JobAction::Status(t)
            | JobAction::Cancel(t)
            | JobAction::Results(t)
            | JobAction::Messages(t)
            | JobAction::Wait { target: t, .. }
            | JobAction::Fetch { target: t, .. } => t.json,
        }
    }
}

/// A job: URL, job file, or job id with --task.
#[derive(Debug, Args)]
pub(crate) struct JobTarget {
    /// `…/GPServer/<Task>/jobs/<jobId>`, a job file written by `gp run --no-wait`, or
    /// a job id with --task.
    target: String,
    /// The task URL, when TARGET is a bare job id (or a service URL, or arcpy's
    /// "…/services;Folder/Service" (optionally ";user;password"), with --tool).
    #[arg(long, value_name = "URL")]
    task: Option<String>,
    /// The tool, when --task names a service.
    #[arg(long, requires = "task")]
    tool: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Conn,
}

impl JobTarget {
    async fn open(&self) -> anyhow::Result<GpResult> {
        let client = self.conn.client()?;
        Ok(match &self.task {
            Some(task) => {
                client
                    .open_job_in(task, self.tool.as_deref(), &self.target)
                    .await?
            }
            None => client.open_job(&self.target).await?,
        })
    }
}

fn status_json(r: &GpResult) -> serde_json::Value {
    let mut v = serde_json::json!({"job_id": r.result_id(), "job_url": r.job_url(), "status": r.status(),
        "progress": r.progress()});
    if r.tool().is_ogc() {
        v["ogc_status"] = gp_model::ogc::OgcStatus::of(r.status()).as_str().into();
    }
    v
}

/// The status as the server names it: an OGC job's OGC name with the job status.
fn status_text(r: &GpResult) -> String {
    if r.tool().is_ogc() {
        format!(
            "{} ({})",
            gp_model::ogc::OgcStatus::of(r.status()).as_str(),
            r.status()
        )
    } else {
        r.status().to_string()
    }
}

/// `gp job`.
pub(crate) async fn job(action: JobAction, quiet: bool) -> anyhow::Result<()> {
    match action {
        JobAction::Status(t) => {
            let r = t.open().await?;
            if t.json {
                return outln!("{}", status_json(&r));
            }
            outln!("{}", status_text(&r))
        }
        JobAction::Wait { target: t, timeout } => {
            let r = t.open().await?;
            let st = follow(&r, OnInterrupt::Cancel, timeout, quiet || t.json).await?;
            if t.json {
                return outln!("{}", status_json(&r));
            }
            outln!("{st}")
        }
        JobAction::Cancel(t) => {
            let r = t.open().await?;
            let st = r.cancel().await?;
            if t.json {
                return outln!("{}", status_json(&r));
            }
            outln!("{st}")
        }
        JobAction::Results(t) => {
            let r = t.open().await?;
            r.outcome()?;
            let mut doc = serde_json::Map::new();
            for name in r.output_names() {
                doc.insert(name.clone(), r.output(name.as_str()).await?.to_json());
            }
            if t.json {
                return outln!("{}", serde_json::Value::Object(doc));
            }
            outln!("{}", serde_json::to_string_pretty(&doc)?)
        }
        JobAction::Messages(t) => {
            let r = t.open().await?;
            if t.json {
                return outln!("{}", serde_json::to_string_pretty(&r.messages())?);
            }
            for m in r.messages() {
                outln!("{}: {}", m.message_type, m.description)?;
            }
            Ok(())
        }
        JobAction::Fetch { target: t, out } => {
            let (dir, opts) = out.save_options()?;
            let r = t.open().await?;
            follow(&r, OnInterrupt::Detach, None, quiet || t.json).await?;
            let saved = save(&r, &dir, &opts, quiet || t.json).await?;
            out.check_whole(&saved)?;
            if t.json {
                let doc = serde_json::json!({
                    "job_id": r.result_id(),
                    "job_url": r.job_url(),
                    "status": r.status(),
                    "outputs": saved.iter().map(saved_json).collect::<Vec<_>>(),
                });
                return outln!("{}", serde_json::to_string_pretty(&doc)?);
            }
            print_saved(&saved, &opts)
        }
    }
}

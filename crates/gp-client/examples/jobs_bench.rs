//! Job benchmarks against a running gp-server (run by `cargo xtask bench jobs`,
//! which starts the server as its own process and measures this one's memory):
//!
//! - `jobs_bench latency URL [--lengths 0.2,1,5,30] [--runs N]`: for `Wait` jobs of
//!   each length, the time from the job's end to `wait()` returning and the number
//!   of status requests, with long polling (gp-server's `waitSeconds`) and with
//!   plain polling (as against ArcGIS), alternating; medians over the runs.
//! - `jobs_bench concurrent URL [--jobs N] [--seconds S]`: N `Wait` jobs of S seconds
//!   submitted at once from this process, all awaited, every output fetched; the
//!   whole time against the server's busy time (first submit sent to last job end,
//!   seen through long polling within milliseconds) and against the job length.
//!
//! Each prints one JSON document on stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: a benchmark prints its results

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use gp_client::{Client, Params, PollPolicy, Tool};
use gp_model::{GpValue, JobStatus};
use gp_transport::{HttpConfig, HttpTransport, Transport};

/// Counts job status requests.
#[derive(Debug)]
struct Counting {
    inner: HttpTransport,
    status: AtomicUsize,
}

#[async_trait]
impl Transport for Counting {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, gp_transport::Error> {
        let p = req.uri().path();
        if p.contains("/jobs/") && !p.contains("/results") {
            self.status.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.send(req).await
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One `Wait` job: (latency after its end in s, status requests).
async fn one(
    tool: &Tool,
    counter: &Counting,
    seconds: f64,
    long_poll: bool,
) -> anyhow::Result<(f64, usize)> {
    let before = counter.status.load(Ordering::SeqCst);
    let t0 = Instant::now();
    let r = tool
        .run(Params::new().set("Seconds", seconds.to_string()))
        .await?;
    r.wait_with(PollPolicy {
        long_poll,
        ..Default::default()
    })
    .await?;
    let total = t0.elapsed().as_secs_f64();
    let requests = counter.status.load(Ordering::SeqCst) - before;
    let GpValue::Double(ran) = r.output("Elapsed").await? else {
        bail!("the job has no Elapsed output")
    };
    Ok(((total - ran).max(0.0), requests))
}

async fn latency(url: &str, lengths: &[f64], runs: usize) -> anyhow::Result<()> {
    let counter = Arc::new(Counting {
        inner: HttpTransport::new(HttpConfig::default())?,
        status: AtomicUsize::new(0),
    });
    let client = Client::new(counter.clone());
    let tb = client
        .import(&format!("{url}/GP/Utilities/GPServer"))
        .await?;
    let tool = tb.tool("Wait")?;
    let mut rows = Vec::new();
    for &seconds in lengths {
        let (mut lp, mut pl) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            lp.push(one(tool, &counter, seconds, true).await?);
            pl.push(one(tool, &counter, seconds, false).await?);
        }
        let stat = |v: &[(f64, usize)]| {
            (
                median(v.iter().map(|x| x.0 * 1000.0).collect()),
                median(v.iter().map(|x| x.1 as f64).collect()),
            )
        };
        let ((lp_ms, lp_req), (pl_ms, pl_req)) = (stat(&lp), stat(&pl));
        rows.push(serde_json::json!({
            "seconds": seconds,
            "bound_ms": (0.15 * seconds * 1000.0).max(100.0),
            "long_poll": {"latency_ms": lp_ms, "requests": lp_req},
            "polling": {"latency_ms": pl_ms, "requests": pl_req},
        }));
    }
    println!("{}", serde_json::json!({"runs": runs, "lengths": rows}));
    Ok(())
}

async fn concurrent(url: &str, jobs: usize, seconds: f64) -> anyhow::Result<()> {
    let http = HttpTransport::new(HttpConfig::default())?;
    let client = Client::new(Arc::new(http));
    let tb = client
        .import(&format!("{url}/GP/Utilities/GPServer"))
        .await?;
    let tool = tb.tool("Wait")?;
    let t0 = Instant::now();
    let outcomes: Vec<anyhow::Result<(f64, f64)>> = futures::stream::iter(0..jobs)
        .map(|_| async {
            let r = tool
                .run(Params::new().set("Seconds", seconds.to_string()))
                .await?;
            let status = r.wait().await?;
            // Long polling answers within milliseconds of the job's end: when the
            // last wait returns, the server's last job has just ended.
            let ended = t0.elapsed().as_secs_f64();
            if status != JobStatus::Succeeded {
                bail!("a job ended {status}");
            }
            let GpValue::Double(ran) = r.output("Elapsed").await? else {
                bail!("the job has no Elapsed output")
            };
            Ok((ran, ended))
        })
        .buffer_unordered(jobs.max(1))
        .collect()
        .await;
    let total = t0.elapsed().as_secs_f64();
    let mut failed = 0;
    let (mut longest, mut last_end) = (0.0f64, 0.0f64);
    for o in &outcomes {
        match o {
            Ok((ran, ended)) => {
                longest = longest.max(*ran);
                last_end = last_end.max(*ended);
            }
            Err(e) => {
                failed += 1;
                eprintln!("job failed: {e}");
            }
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "jobs": jobs,
            "seconds": seconds,
            "succeeded": jobs - failed,
            "total_s": total,
            "longest_job_s": longest,
            "server_busy_s": last_end,
            "ratio_to_server_busy": total / last_end,
            "ratio_to_job_length": total / seconds,
        })
    );
    if failed > 0 {
        bail!("{failed} of {jobs} jobs failed");
    }
    Ok(())
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> anyhow::Result<T> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{name} needs a value")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(url)) = (args.first(), args.get(1)) else {
        bail!("usage: jobs_bench latency|concurrent URL_OF_SERVICES_DIRECTORY [options]");
    };
    match mode.as_str() {
        "latency" => {
            let lengths: String = arg(&args, "--lengths", "0.2,1,5,30".to_string())?;
            let lengths: Vec<f64> = lengths
                .split(',')
                .map(|s| s.trim().parse().context("--lengths: numbers of seconds"))
                .collect::<anyhow::Result<_>>()?;
            latency(url, &lengths, arg(&args, "--runs", 3)?).await
        }
        "concurrent" => {
            concurrent(
                url,
                arg(&args, "--jobs", 1000)?,
                arg(&args, "--seconds", 2.0)?,
            )
            .await
        }
        other => bail!("unknown mode {other}: latency or concurrent"),
    }
}

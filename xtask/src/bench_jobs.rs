//! `cargo xtask bench jobs`: gp-client running jobs against gp-server, each in its
//! own process (the `gp-server` binary and gp-client's `jobs_bench` example), so the
//! client's memory is its own: completion latency and status requests of `Wait`
//! jobs with long polling and with plain polling, and 1,000 jobs at once. Prints
//! tables and writes `target/bench/jobs.json`. `--quick` (in `cargo xtask ci`)
//! runs a small version with the debug build and checks results, not timings.

use std::process::Command;

use anyhow::{Context, bail};

use crate::bench_outputs::measure;
use crate::cargo;

/// Starts the gp-server binary with `workers` workers and room for many
/// connections; returns it (stopped when dropped) and its services URL.
fn start_server(
    bin: &std::path::Path,
    workers: usize,
) -> anyhow::Result<(crate::interop::Server, String)> {
    let workers = workers.to_string();
    let data = crate::target_dir().join("bench").join("jobs-data");
    let _ = std::fs::remove_dir_all(&data);
    let (server, v) = crate::interop::start_server(
        bin,
        &[
            "--max-connections",
            "5000",
            "--workers",
            &workers,
            "--data-dir",
        ],
        &data,
    )?;
    let url = v["url"]
        .as_str()
        .context("no url in gp-server's start line")?;
    Ok((server, url.to_string()))
}

fn json(stdout: &str) -> anyhow::Result<serde_json::Value> {
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("the benchmark printed `{stdout}`"))
}

pub(crate) fn jobs(quick: bool) -> anyhow::Result<()> {
    let profile = if quick { "debug" } else { "release" };
    let mut build = Command::new(cargo());
    build.args([
        "build",
        "-q",
        "-p",
        "gp-server",
        "--bin",
        "gp-server",
        "-p",
        "gp-client",
        "--example",
        "jobs_bench",
    ]);
    if quick {
        // The workspace's feature set, so CI's test build is reused.
        build.arg("--all-features");
    } else {
        build.arg("--release");
    }
    if !build.status().context("building the benchmark")?.success() {
        bail!("building gp-server and jobs_bench failed");
    }
    let dir = crate::target_dir().join(profile);
    let (jobs, seconds, lengths, runs) = if quick {
        (50, 0.5, "0.2", 1)
    } else {
        (1000, 2.0, "0.2,1,5,30", 3)
    };
    let (server, url) = start_server(&dir.join("gp-server"), jobs + 100)?;
    let bench = dir.join("examples").join("jobs_bench");

    eprintln!(
        "\n==> job completion: Wait jobs of {lengths} s, {runs} run(s) each, long polling and plain polling alternating"
    );
    let (_, _, out) = measure(
        Command::new(&bench)
            .args(["latency", &url, "--lengths", lengths, "--runs"])
            .arg(runs.to_string()),
    )?;
    let latency = json(&out)?;
    println!(
        "| job run time | bound max(100 ms, 15 %) | long polling: latency | requests | plain polling: latency | requests |"
    );
    println!("|---|---|---|---|---|---|");
    for row in latency["lengths"].as_array().into_iter().flatten() {
        let cell = |mode: &str, k: &str| row[mode][k].as_f64().unwrap_or(f64::NAN);
        println!(
            "| {} s | {:.0} ms | {:.0} ms | {:.0} | {:.0} ms | {:.0} |",
            row["seconds"],
            row["bound_ms"].as_f64().unwrap_or(f64::NAN),
            cell("long_poll", "latency_ms"),
            cell("long_poll", "requests"),
            cell("polling", "latency_ms"),
            cell("polling", "requests"),
        );
        if !(cell("long_poll", "requests") >= 1.0 && cell("polling", "requests") >= 1.0) {
            bail!("a job was not followed: {row}");
        }
    }

    eprintln!("\n==> {jobs} Wait jobs of {seconds} s at once from one client process");
    let (wall, peak_kib, out) = measure(
        Command::new(&bench)
            .args(["concurrent", &url, "--jobs"])
            .arg(jobs.to_string())
            .arg("--seconds")
            .arg(seconds.to_string()),
    )?;
    let conc = json(&out)?;
    if conc["succeeded"].as_u64() != Some(jobs as u64) {
        bail!("not every job succeeded: {conc}");
    }
    let peak_mib = peak_kib as f64 / 1024.0;
    println!(
        "| jobs | job length | all done | server busy (first submit to last end) | ratio | client peak RSS | process wall time |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {jobs} | {seconds} s | {:.2} s | {:.2} s | {:.2}x | {peak_mib:.0} MB | {:.2} s |",
        conc["total_s"].as_f64().unwrap_or(f64::NAN),
        conc["server_busy_s"].as_f64().unwrap_or(f64::NAN),
        conc["ratio_to_server_busy"].as_f64().unwrap_or(f64::NAN),
        wall.as_secs_f64()
    );
    let out_dir = crate::target_dir().join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let doc = serde_json::json!({
        "quick": quick,
        "completion": latency,
        "concurrent": {"result": conc, "client_peak_rss_mib": peak_mib, "process_wall_s": wall.as_secs_f64()},
    });
    let path = out_dir.join(if quick {
        "jobs-quick.json"
    } else {
        "jobs.json"
    });
    std::fs::write(&path, serde_json::to_string_pretty(&doc)?)?;
    eprintln!("wrote {}", path.display());
    drop(server);
    let _ = std::fs::remove_dir_all(crate::target_dir().join("bench").join("jobs-data"));
    Ok(())
}

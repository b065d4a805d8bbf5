//! `cargo xtask bench outputs`: saving a large feature output of a finished job.
//! `gp job fetch` (download, decode, write the file, as a whole process) in
//! GeoPackage, FlatGeobuf and GeoJSON, against the ArcGIS API for Python only
//! fetching the same output and building its in-memory `FeatureSet.from_dict`, side
//! by side, alternating; peak memory of each process sampled from
//! `/proc/<pid>/status` (`VmHWM`) every 10 ms.
//!
//! The job is served by gp-transport's `serve_gp_output` example: a scripted GP
//! service on loopback that answers the result from a file, so the figures are the
//! clients' own (gp-server itself needs tens of seconds and gigabytes to answer a
//! million-feature result today, which would swamp both).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::bench::median;
use crate::{cargo, project_root};

/// The peak resident memory of a running process, in KiB.
pub(crate) fn vm_hwm(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `cmd` to completion: wall time, peak RSS (KiB, sampled), stdout.
pub(crate) fn measure(cmd: &mut Command) -> anyhow::Result<(Duration, u64, String)> {
    let t = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let pid = child.id();
    let mut peak = 0;
    let mut out = child.stdout.take().context("stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let status = loop {
        if let Some(k) = vm_hwm(pid) {
            peak = peak.max(k);
        }
        if let Some(st) = child.try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = t.elapsed();
    let stdout = reader.join().unwrap_or_default();
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        bail!("{cmd:?} failed ({status}): {err}");
    }
    Ok((wall, peak, stdout))
}

/// Writes the GP result parameter of output `Out` holding the feature set `points`
/// (as ArcGIS answers `results/Out?f=json&returnType=data`).
fn result_file(points: &Path, to: &Path) -> anyhow::Result<()> {
    let set = std::fs::read(points)?;
    let Some(end) = set.iter().rposition(|b| *b == b'}') else {
        bail!("{} is not a JSON object", points.display());
    };
    let mut out = br#"{"paramName":"Out","dataType":"GPFeatureRecordSetLayer","value":"#.to_vec();
    out.extend_from_slice(&set[..end]);
    out.extend_from_slice(br#","exceededTransferLimit":false}}"#);
    std::fs::write(to, out)?;
    Ok(())
}

/// Kills the process when dropped.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the scripted GP service; returns it and the job URL.
fn serve(bin: &Path, result: &Path) -> anyhow::Result<(Killed, String)> {
    let child = Command::new(bin)
        .arg(result)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut server = Killed(child);
    let stdout = server.0.stdout.take().context("stdout")?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
    let v: serde_json::Value = serde_json::from_str(line.trim())
        .with_context(|| format!("the service's first line is not JSON: {line:?}"))?;
    let job = v["job_url"].as_str().context("no job_url")?.to_string();
    Ok((server, job))
}

pub(crate) fn outputs(points: usize, runs: usize) -> anyhow::Result<()> {
    let root = project_root();
    let status = Command::new(cargo())
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "gp-cli",
            "-p",
            "gp-features",
            "-p",
            "gp-transport",
            "--features",
            "gp-transport/test-util",
            "--bin",
            "gp",
            "--example",
            "features_bench",
            "--example",
            "serve_gp_output",
        ])
        .status()?;
    if !status.success() {
        bail!("building gp and the benchmark helpers failed");
    }
    let rel = crate::target_dir().join("release");
    let dir = root.join("target/bench/outputs");
    std::fs::create_dir_all(&dir)?;
    let input = dir.join(format!("points-{points}.json"));
    if !input.exists() {
        eprintln!(
            "generating {} ({points} points, Esri JSON)",
            input.display()
        );
        crate::bench::run(
            Command::new(rel.join("examples/features_bench"))
                .arg("points")
                .arg(&input)
                .arg(points.to_string()),
        )?;
    }
    let result_json = dir.join(format!("result-{points}.json"));
    if !result_json.exists() {
        result_file(&input, &result_json)?;
    }
    let py = crate::interop::ensure_venv(&root.join("target/interop/venv"))?;
    let (server, job) = serve(&rel.join("examples/serve_gp_output"), &result_json)?;
    let result = format!("{job}/results/Out");
    let script = root.join("xtask/bench/arcgis_fetch_output.py");
    let formats = ["gpkg", "fgb", "geojson"];
    let mut gp: Vec<Vec<(Duration, u64)>> = vec![Vec::new(); formats.len()];
    let mut python: Vec<(Duration, Duration, u64)> = Vec::new();
    for i in 0..runs {
        for (k, f) in formats.iter().enumerate() {
            let out = dir.join(format!("gp-{f}"));
            let _ = std::fs::remove_dir_all(&out);
            let (wall, rss, said) = measure(
                Command::new(rel.join("gp"))
                    .args(["job", "fetch", &job, "-q", "--format", f])
                    .arg("--out")
                    .arg(&out),
            )?;
            if !said.contains(&format!("wrote {points} feature(s)")) {
                bail!("gp job fetch did not write the {points} features: {said}");
            }
            eprintln!(
                "run {}: gp job fetch --format {f}: {:.2} s, {:.0} MB",
                i + 1,
                wall.as_secs_f64(),
                rss as f64 / 1024.0
            );
            gp[k].push((wall, rss));
        }
        let (wall, rss, stdout) = measure(
            Command::new(&py)
                .arg(&script)
                .arg(&result)
                .env("PYTHONDONTWRITEBYTECODE", "1"),
        )?;
        let v: serde_json::Value = serde_json::from_str(stdout.trim())
            .with_context(|| format!("the Python script printed {stdout:?}"))?;
        let fetch = Duration::from_secs_f64(v["seconds"].as_f64().unwrap_or(0.0));
        if v["features"].as_u64() != Some(points as u64) {
            bail!(
                "the Python client built {} features, not {points}",
                v["features"]
            );
        }
        eprintln!(
            "run {}: ArcGIS API for Python fetch + FeatureSet.from_dict: {:.2} s ({:.2} s with start-up), {:.0} MB",
            i + 1,
            fetch.as_secs_f64(),
            wall.as_secs_f64(),
            rss as f64 / 1024.0
        );
        python.push((fetch, wall, rss));
    }
    drop(server);
    let py_fetch = median(python.iter().map(|p| p.0).collect());
    let py_whole = median(python.iter().map(|p| p.1).collect());
    let py_rss = python.iter().map(|p| p.2).max().unwrap_or(0);
    let mb = std::fs::metadata(&result_json)?.len() as f64 / 1e6;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "A {points}-point feature output ({mb:.0} MB of Esri JSON) of a finished job, served from a file over loopback; medians of {runs} alternating runs, {threads} cores"
    );
    println!("| client | what it does | median | speed-up | peak memory |");
    println!("|---|---|---|---|---|");
    let mut json_rows = Vec::new();
    for (k, f) in formats.iter().enumerate() {
        let wall = median(gp[k].iter().map(|g| g.0).collect());
        let rss = gp[k].iter().map(|g| g.1).max().unwrap_or(0);
        let ratio = py_fetch.as_secs_f64() / wall.as_secs_f64();
        println!(
            "| `gp job fetch --format {f}` | whole process: download, decode, write the file | {:.2} s | {ratio:.1}x | {:.0} MB |",
            wall.as_secs_f64(),
            rss as f64 / 1024.0
        );
        json_rows.push(
            serde_json::json!({"format": f, "median_s": wall.as_secs_f64(),
            "peak_rss_mib": rss as f64 / 1024.0, "speedup_vs_python_fetch": ratio}),
        );
    }
    println!(
        "| ArcGIS API for Python 2.4.4 | GET + `FeatureSet.from_dict`, in memory (start-up and import excluded; {:.2} s with them) | {:.2} s | 1.0x | {:.0} MB |",
        py_whole.as_secs_f64(),
        py_fetch.as_secs_f64(),
        py_rss as f64 / 1024.0
    );
    let doc = serde_json::json!({"points": points, "result_mb": mb, "runs": runs, "gp": json_rows,
        "python": {"fetch_median_s": py_fetch.as_secs_f64(), "process_median_s": py_whole.as_secs_f64(),
                   "peak_rss_mib": py_rss as f64 / 1024.0}});
    std::fs::write(
        dir.join("outputs.json"),
        serde_json::to_string_pretty(&doc)?,
    )?;
    eprintln!("wrote {}", dir.join("outputs.json").display());
    for f in formats {
        let _ = std::fs::remove_dir_all(dir.join(format!("gp-{f}")));
    }
    Ok(())
}

//! `cargo xtask bench roundtrip`: round trips against gp-server (HTTPS, its own
//! process) through gp-client and through the ArcGIS API for Python 2.4.4
//! (`import_toolbox`), in the same run: warm (toolboxes imported once, medians of
//! the calls: a synchronous `BufferPoints` of 100 points, an asynchronous one, a
//! 0.2 s `Wait` job) and cold (a whole `gp run … --json` process against a whole
//! Python process that only does `import arcgis`). `--quick` (in `cargo xtask ci`)
//! runs gp's side once with the debug build.

use std::process::Command;

use anyhow::{Context, bail};

use crate::bench::median_secs;
use crate::bench_outputs::measure;
use crate::cargo;

fn points_json() -> String {
    let features: Vec<String> = (0..100)
        .map(|i| {
            format!(
                r#"{{"geometry":{{"x":{},"y":{}}},"attributes":{{"OBJECTID":{}}}}}"#,
                10.0 + 0.001 * f64::from(i),
                50.0 + 0.0005 * f64::from(i % 10),
                i + 1
            )
        })
        .collect();
    format!(
        r#"{{"geometryType":"esriGeometryPoint","spatialReference":{{"wkid":4326}},"fields":[{{"name":"OBJECTID","type":"esriFieldTypeOID"}}],"features":[{}]}}"#,
        features.join(",")
    )
}

fn json(out: &str) -> anyhow::Result<serde_json::Value> {
    serde_json::from_str(out.trim()).with_context(|| format!("the benchmark printed `{out}`"))
}

pub(crate) fn roundtrip(runs: usize, quick: bool) -> anyhow::Result<()> {
    let mut build = Command::new(cargo());
    build.args([
        "build",
        "-q",
        "-p",
        "gp-server",
        "--bin",
        "gp-server",
        "-p",
        "gp-cli",
        "--bin",
        "gp",
        "-p",
        "gp-client",
        "--example",
        "roundtrip_bench",
    ]);
    if quick {
        build.arg("--all-features");
    } else {
        build.arg("--release");
    }
    if !build.status()?.success() {
        bail!("building gp-server, gp and roundtrip_bench failed");
    }
    let bin = crate::target_dir().join(if quick { "debug" } else { "release" });
    let dir = crate::target_dir().join("bench").join("roundtrip");
    std::fs::create_dir_all(&dir)?;
    let points = dir.join("points.json");
    std::fs::write(&points, points_json())?;
    let data = dir.join(format!("data-{}", std::process::id()));
    let (server, v) = crate::interop::start_server(
        &bin.join("gp-server"),
        &["--tls", "--workers", "4", "--data-dir"],
        &data,
    )?;
    let url = v["url"].as_str().context("no url")?.to_string();
    let cert = v["cert"].as_str().context("no cert")?.to_string();
    let runs = if quick { 1 } else { runs };

    // gp, warm.
    let (_, _, out) = measure(
        Command::new(bin.join("examples").join("roundtrip_bench"))
            .arg(&url)
            .arg(&cert)
            .arg(runs.to_string())
            .arg(&points),
    )?;
    let warm = json(&out)?;
    // gp, cold: whole processes.
    let out_dir = dir.join("out");
    let cold = |service: &str| -> anyhow::Result<f64> {
        let mut times = Vec::new();
        for _ in 0..runs {
            let _ = std::fs::remove_dir_all(&out_dir);
            let (wall, _, out) = measure(
                Command::new(bin.join("gp"))
                    .arg("run")
                    .arg(format!("{url}/GP/{service}/GPServer/BufferPoints"))
                    .arg(format!("Input_Features=@{}", points.display()))
                    .arg("Distance=100 meters")
                    .arg("--json")
                    .arg("--out")
                    .arg(&out_dir)
                    .arg("--ca-cert")
                    .arg(&cert),
            )?;
            let v = json(&out)?;
            if v.get("error").is_some() {
                bail!("gp run failed: {v}");
            }
            times.push(wall.as_secs_f64());
        }
        Ok(median_secs(times))
    };
    let cold_sync = cold("BufferSync")?;
    let cold_async = cold("BufferByVal")?;
    let mut doc = serde_json::json!({
        "runs": runs,
        "gp": {"warm": warm, "cold_run_sync_s": cold_sync, "cold_run_async_s": cold_async},
    });
    if quick {
        eprintln!("roundtrip --quick: {doc}");
        drop(server);
        let _ = std::fs::remove_dir_all(&data);
        return Ok(());
    }
    // The ArcGIS API for Python, same server, same run.
    let root = crate::project_root();
    let py = crate::interop::ensure_venv(&root.join("target/interop/venv"))?;
    let base = url.trim_end_matches("/rest/services");
    let (_, _, out) = measure(
        Command::new(&py)
            .arg(root.join("xtask/bench/roundtrip.py"))
            .arg(base)
            .arg(runs.to_string())
            .env("REQUESTS_CA_BUNDLE", &cert)
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    )?;
    let python = json(&out)?;
    let mut imports = Vec::new();
    for _ in 0..runs {
        let (wall, _, _) = measure(Command::new(&py).args(["-c", "import arcgis"]))?;
        imports.push(wall.as_secs_f64());
    }
    let import_process = median_secs(imports);
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!("| round trip (medians of {runs}) | gp | ArcGIS API for Python 2.4.4 | speed-up |");
    println!("|---|---|---|---|");
    for (label, key) in [
        (
            "warm: `BufferPoints` sync, 100 points, output decoded",
            "sync_buffer_s",
        ),
        (
            "warm: `BufferPoints` async, 100 points (Python: its map layer)",
            "async_buffer_s",
        ),
        ("warm: `Wait` job of 0.2 s", "wait_0_2_s"),
    ] {
        let (a, b) = (f(&warm, key), f(&python, key));
        println!("| {label} | {:.3} s | {:.3} s | {:.1}x |", a, b, b / a);
    }
    println!(
        "| cold: whole `gp run --json` (sync) vs a whole `python -c 'import arcgis'` | {cold_sync:.3} s | {import_process:.3} s | {:.1}x |",
        import_process / cold_sync
    );
    println!(
        "| cold: whole `gp run --json` (async) vs a whole `python -c 'import arcgis'` | {cold_async:.3} s | {import_process:.3} s | {:.1}x |",
        import_process / cold_async
    );
    doc["python"] = python;
    doc["python"]["import_arcgis_process_s"] = serde_json::json!(import_process);
    std::fs::write(
        crate::target_dir().join("bench").join("roundtrip.json"),
        serde_json::to_string_pretty(&doc)?,
    )?;
    Ok(())
}

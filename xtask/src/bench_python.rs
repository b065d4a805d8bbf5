//! `cargo xtask bench python`: gp's Python package (`gp_rs`, a release build
//! installed with pip into `target/py/venv`) beside the ArcGIS API for Python
//! 2.4.4 (`target/py/arcgis-venv`), each side in its own processes, alternating,
//! in one run (`xtask/bench/python_bench.py` does the measuring):
//!
//! - a 100,000-polygon job output (the Esri JSON result file of `bench
//!   featureset`) to a data frame: `FeatureSet.from_json` then
//!   `geopandas.GeoDataFrame.from_arrow` against `FeatureSet.from_dict(...).sdf`
//!   (and `to_geojson`), timed from the bytes in memory, with the growth of each
//!   process's peak resident memory over what it held before;
//! - the round trip of a 0.2 s job (`Utilities/Wait`) on a gp-server of its own:
//!   `await tool.run_async(...)` and the output against arcgis's
//!   `import_toolbox(...).wait(seconds=0.2)`.
//!
//! `--quick` (in `cargo xtask ci`): 2,000 polygons and two round trips with the
//! debug build, checking the counts, not the timings.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::bench::median_secs;
use crate::{project_root, target_dir};

/// The ArcGIS API for Python with pandas 2.2.3: arcgis 2.4.4 declares pandas 3,
/// but its DataFrame accessor (`.sdf`) imports a function pandas 3 removed. pandas
/// 2.2.3 goes in over it without the resolver (which would refuse it), with pytz,
/// the one dependency of pandas 2 that pandas 3 dropped.
fn arcgis_venv() -> anyhow::Result<PathBuf> {
    let venv = target_dir().join("py").join("arcgis-venv");
    let bin = crate::interop_tools::venv_with(&venv, &["arcgis==2.4.4", "six"], "import arcgis")?;
    let py = bin.join("python");
    let probe = "import pandas, sys; from arcgis.features.geo import GeoAccessor; sys.exit(pandas.__version__ != '2.2.3')";
    let ready = Command::new(&py)
        .args(["-c", probe])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        let ok =
            crate::interop_tools::pip_install(&py, &["--no-deps", "pandas==2.2.3", "pytz==2026.6"])
                .status()
                .context("pip install pandas==2.2.3 pytz")?
                .success();
        if !ok {
            bail!("installing pandas 2.2.3 beside arcgis failed");
        }
    }
    Ok(py)
}

/// Runs `python_bench.py` with `args` in its own process; its JSON line.
fn side(py: &Path, args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let script = project_root()
        .join("xtask")
        .join("bench")
        .join("python_bench.py");
    let out = Command::new(py)
        .arg(&script)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .with_context(|| format!("running {} {}", script.display(), args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "python_bench.py {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .with_context(|| format!("python_bench.py printed `{text}`"))
}

fn num(v: &serde_json::Value, key: &str) -> anyhow::Result<f64> {
    v[key]
        .as_f64()
        .with_context(|| format!("no `{key}` in {v}"))
}

pub(crate) fn python(polygons: usize, runs: usize, quick: bool) -> anyhow::Result<()> {
    let polygons = if quick { 2000 } else { polygons };
    let runs = if quick { 1 } else { runs.max(1) };
    let gp_bin = crate::pytest::venv()?;
    crate::pytest::install(&gp_bin, if quick { "dev" } else { "release" })?;
    let gp_py = gp_bin.join("python");
    let arcgis_py = arcgis_venv()?;
    let (_, input) = crate::bench_featureset::polygons_file(polygons, quick)?;
    let input = input.to_string_lossy().to_string();

    // 1. The output to a data frame, alternating.
    let (mut ours, mut theirs, mut geojson) = (Vec::new(), Vec::new(), Vec::new());
    let (mut our_peak, mut their_peak, mut own_peak) = (0f64, 0f64, 0f64);
    for _ in 0..runs {
        let g = side(&gp_py, &["gp-df", &input])?;
        let a = side(&arcgis_py, &["arcgis-df", &input])?;
        for (who, v) in [("gp_rs", &g), ("arcgis", &a)] {
            let rows = num(v, "rows")? as usize;
            if rows != polygons {
                bail!("{who} made {rows} rows of {polygons} polygons");
            }
        }
        ours.push(num(&g, "seconds")?);
        theirs.push(num(&a, "seconds")?);
        geojson.push(num(&a, "geojson_seconds")?);
        our_peak = our_peak.max(num(&g, "peak_kb")? / 1024.0);
        own_peak = own_peak.max(num(&g, "own_peak_kb")? / 1024.0);
        their_peak = their_peak.max(num(&a, "peak_kb")? / 1024.0);
    }

    // 2. Round trips of a 0.2 s job on a server of its own.
    let profile = if quick { "debug" } else { "release" };
    let mut build = crate::ci::cargo_ci();
    build.args(["build", "--quiet", "-p", "gp-server", "--bin", "gp-server"]);
    if !quick {
        build.arg("--release");
    }
    if !build.status().context("building gp-server")?.success() {
        bail!("building gp-server failed");
    }
    let data = target_dir()
        .join("bench")
        .join(format!("python-data-{}", std::process::id()));
    let (server, v) = crate::interop::start_server(
        &target_dir().join(profile).join("gp-server"),
        &["--data-dir"],
        &data,
    )?;
    let url = format!(
        "{}/GP/Utilities/GPServer",
        v["url"]
            .as_str()
            .context("no url in the server's first line")?
    );
    let n = if quick { "2" } else { "10" };
    let (mut rt_ours, mut rt_theirs) = (Vec::new(), Vec::new());
    for _ in 0..if quick { 1 } else { 3 } {
        rt_ours.push(num(&side(&gp_py, &["gp-rt", &url, n])?, "median_s")?);
        rt_theirs.push(num(
            &side(&arcgis_py, &["arcgis-rt", &url, n])?,
            "median_s",
        )?);
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    let (a, b, gj) = (median_secs(ours), median_secs(theirs), median_secs(geojson));
    let (ra, rb) = (median_secs(rt_ours), median_secs(rt_theirs));
    if quick {
        eprintln!(
            "python --quick: {polygons} polygons to a GeoDataFrame and by arcgis, round trips of a 0.2 s job on both"
        );
        return Ok(());
    }
    println!(
        "{polygons}-polygon job output to a data frame (from the result's bytes in memory), medians of {runs} alternating runs"
    );
    println!("| client | time | speed-up | peak memory growth | memory ratio |");
    println!("|---|---|---|---|---|");
    println!(
        "| gp_rs `FeatureSet.from_json` + `GeoDataFrame.from_arrow` | {a:.3} s | {:.1}x | {our_peak:.0} MB | {:.2} |",
        b / a,
        our_peak / their_peak
    );
    println!(
        "| arcgis 2.4.4 `FeatureSet.from_dict(json.loads(...)).sdf` | {b:.3} s | 1.0x | {their_peak:.0} MB | 1.00 |"
    );
    println!(
        "| of which gp_rs's Arrow batches (`FeatureSet.from_json`), what pyarrow, polars and DuckDB read | | | {own_peak:.0} MB | {:.2} |",
        own_peak / their_peak
    );
    println!("(arcgis `FeatureSet.to_geojson` on the same set: {gj:.3} s more)");
    println!("\nround trip of a 0.2 s job (submit, follow, output), medians of 3 x {n} calls");
    println!("| client | round trip | speed-up |");
    println!("|---|---|---|");
    println!(
        "| gp_rs `await tool.run_async(0.2)` + `output_async` | {ra:.3} s | {:.1}x |",
        rb / ra
    );
    println!("| arcgis 2.4.4 `import_toolbox(...).wait(seconds=0.2)` | {rb:.3} s | 1.0x |");
    let out = target_dir().join("bench").join("python.json");
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&serde_json::json!({
            "polygons": polygons, "runs": runs,
            "dataframe": {
                "gp_rs_s": a, "arcgis_sdf_s": b, "arcgis_geojson_s": gj,
                "speedup": b / a,
                "gp_rs_peak_mib": our_peak, "arcgis_peak_mib": their_peak,
                "gp_rs_arrow_peak_mib": own_peak,
                "memory_ratio": our_peak / their_peak,
            },
            "roundtrip": {"gp_rs_s": ra, "arcgis_s": rb, "speedup": rb / ra},
        }))?,
    )?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

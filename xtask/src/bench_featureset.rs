//! `cargo xtask bench featureset`: decoding a 100,000-polygon job output into a
//! typed feature set (gp-model, what `GpResult::output` returns) against the ArcGIS
//! API for Python's `FeatureSet.from_dict` on the same JSON file, each process run
//! alternately, the decode timed inside each (file read first, interpreter start-up
//! and imports excluded), peak memory of each whole process sampled from `/proc`.
//! `--quick` (in `cargo xtask ci`): 2,000 polygons, gp-model only, checking the
//! feature count.

use std::process::Command;

use anyhow::{Context, bail};

use crate::bench::median_secs;
use crate::bench_outputs::measure;
use crate::cargo;

const FROM_DICT: &str = r#"
import json, sys, time
from arcgis.features import FeatureSet
path, runs = sys.argv[1], int(sys.argv[2])
data = open(path, 'rb').read()
times, n = [], 0
for _ in range(runs):
    t = time.perf_counter()
    d = json.loads(data)
    fs = FeatureSet.from_dict(d['value'])
    n = len(fs.features)
    times.append(time.perf_counter() - t)
    del fs, d
times.sort()
print(json.dumps({"median_s": times[len(times) // 2], "features": n}))
"#;

fn parse(out: &str) -> anyhow::Result<(f64, u64)> {
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .with_context(|| format!("the benchmark printed `{out}`"))?;
    Ok((
        v["median_s"].as_f64().context("median_s")?,
        v["features"].as_u64().context("features")?,
    ))
}

/// The `featureset_bench` example (release, or the debug build with `quick`) and
/// its generated job output of `polygons` polygons (an Esri JSON result parameter,
/// made once under `target/bench/featureset/`).
pub(crate) fn polygons_file(
    polygons: usize,
    quick: bool,
) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let mut build = Command::new(cargo());
    build.args([
        "build",
        "-q",
        "-p",
        "gp-model",
        "--example",
        "featureset_bench",
    ]);
    if quick {
        build.arg("--all-features");
    } else {
        build.arg("--release");
    }
    if !build
        .status()
        .context("building featureset_bench")?
        .success()
    {
        bail!("building featureset_bench failed");
    }
    let bin = crate::target_dir()
        .join(if quick { "debug" } else { "release" })
        .join("examples")
        .join("featureset_bench");
    let dir = crate::target_dir().join("bench").join("featureset");
    std::fs::create_dir_all(&dir)?;
    let input = dir.join(format!("polygons-{polygons}.json"));
    if !input.exists() {
        let st = Command::new(&bin)
            .arg("generate")
            .arg(&input)
            .arg(polygons.to_string())
            .status()?;
        if !st.success() {
            bail!("generating {} failed", input.display());
        }
    }
    Ok((bin, input))
}

pub(crate) fn featureset(polygons: usize, runs: usize, quick: bool) -> anyhow::Result<()> {
    let (bin, input) = polygons_file(polygons, quick)?;
    let size_mb = std::fs::metadata(&input)?.len() as f64 / 1e6;
    let gp = |runs: usize| -> anyhow::Result<(f64, u64, u64)> {
        let (_, peak, out) = measure(
            Command::new(&bin)
                .arg("decode")
                .arg(&input)
                .arg(runs.to_string()),
        )?;
        let (t, n) = parse(&out)?;
        Ok((t, n, peak))
    };
    if quick {
        let (_, n, _) = gp(1)?;
        if n != polygons as u64 {
            bail!("decoded {n} features of {polygons}");
        }
        eprintln!("featureset --quick: {n} polygons decoded");
        return Ok(());
    }
    let root = crate::project_root();
    let py = crate::interop::ensure_venv(&root.join("target/interop/venv"))?;
    let script = crate::target_dir()
        .join("bench")
        .join("featureset")
        .join("from_dict.py");
    std::fs::write(&script, FROM_DICT)?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut our_peak, mut their_peak) = (0, 0);
    for _ in 0..runs {
        let (t, n, peak) = gp(1)?;
        if n != polygons as u64 {
            bail!("gp-model decoded {n} features of {polygons}");
        }
        ours.push(t);
        our_peak = our_peak.max(peak);
        let (_, peak, out) = measure(Command::new(&py).arg(&script).arg(&input).arg("1"))?;
        let (t, n) = parse(&out)?;
        if n != polygons as u64 {
            bail!("from_dict made {n} features of {polygons}");
        }
        theirs.push(t);
        their_peak = their_peak.max(peak);
    }
    let (a, b) = (median_secs(ours), median_secs(theirs));
    let (am, bm) = (our_peak as f64 / 1024.0, their_peak as f64 / 1024.0);
    println!(
        "{polygons} polygons ({size_mb:.0} MB of Esri JSON), medians of {runs} alternating runs"
    );
    println!("| decoder | decode | speed-up | process peak memory | memory ratio |");
    println!("|---|---|---|---|---|");
    println!(
        "| gp-model `ResultParameter` | {a:.3} s | {:.1}x | {am:.0} MB | {:.2} |",
        b / a,
        am / bm
    );
    println!(
        "| ArcGIS API for Python 2.4.4 `json.loads` + `FeatureSet.from_dict` | {b:.3} s | 1.0x | {bm:.0} MB | 1.00 |"
    );
    let out = crate::target_dir().join("bench").join("featureset.json");
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&serde_json::json!({
            "polygons": polygons, "input_mb": size_mb, "runs": runs,
            "gp_model": {"decode_median_s": a, "peak_rss_mib": am},
            "arcgis_from_dict": {"decode_median_s": b, "peak_rss_mib": bm},
            "speedup": b / a, "memory_ratio": am / bm,
        }))?,
    )?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

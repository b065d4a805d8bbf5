//! `cargo xtask bench raster`: our parallel TIFF decode against GDAL, side by side.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cargo;

/// Runs a command to completion; returns its wall time and its stderr.
pub(crate) fn run(cmd: &mut Command) -> anyhow::Result<(Duration, String)> {
    let t = Instant::now();
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    let d = t.elapsed();
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((d, String::from_utf8_lossy(&out.stderr).into_owned()))
}

fn time(cmd: &mut Command) -> anyhow::Result<Duration> {
    run(cmd).map(|(d, _)| d)
}

/// The median of the measured times.
pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The median of measured seconds.
pub(crate) fn median_secs(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub(crate) fn raster(size: u32, runs: usize) -> anyhow::Result<()> {
    if Command::new("gdal_translate")
        .arg("--version")
        .output()
        .is_err()
    {
        bail!(
            "gdal_translate is not installed (apt-get install gdal-bin); the benchmark compares against it"
        );
    }
    let status = Command::new(cargo())
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "gp-raster",
            "--example",
            "raster_bench",
        ])
        .status()?;
    if !status.success() {
        bail!("building the benchmark helper failed");
    }
    let bin = Path::new("target/release/examples/raster_bench");
    let dir = Path::new("target/bench/raster");
    std::fs::create_dir_all(dir)?;
    let input = dir.join(format!("dem-{size}.tif"));
    if !input.exists() {
        eprintln!(
            "generating {} ({size} x {size} float32, tiled, Deflate + floating-point predictor)",
            input.display()
        );
        time(
            Command::new(bin)
                .arg("generate")
                .arg(&input)
                .arg(size.to_string()),
        )?;
    }
    let ours_out = dir.join("ours.bin");
    let gdal_out = dir.join("gdal.envi");
    let (mut ours, mut gdal) = (Vec::new(), Vec::new());
    // Alternate the two so both see the same machine load.
    for i in 0..runs {
        let o = time(Command::new(bin).arg("decode").arg(&input).arg(&ours_out))?;
        let g = time(
            Command::new("gdal_translate")
                .args(["-q", "-of", "ENVI"])
                .arg(&input)
                .arg(&gdal_out)
                .env("GDAL_NUM_THREADS", "1"),
        )?;
        eprintln!(
            "run {}: gp-raster {:.2}s, gdal_translate {:.2}s",
            i + 1,
            o.as_secs_f64(),
            g.as_secs_f64()
        );
        ours.push(o);
        gdal.push(g);
    }
    let same = std::fs::read(&ours_out)? == std::fs::read(&gdal_out)?;
    let (o, g) = (median(ours), median(gdal));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "raster decode, {size} x {size} float32, tiled 256, Deflate + predictor 3, {runs} runs each, {threads} cores"
    );
    println!("| decoder | median |");
    println!("|---|---|");
    println!(
        "| gp-raster (rayon, all cores) | {:.2} s |",
        o.as_secs_f64()
    );
    println!("| gdal_translate -of ENVI | {:.2} s |", g.as_secs_f64());
    println!(
        "speed-up: {:.2}x; outputs identical: {same}",
        g.as_secs_f64() / o.as_secs_f64()
    );
    if !same {
        bail!("the two decoders produced different bytes");
    }
    let _ = std::fs::remove_file(&ours_out);
    let _ = std::fs::remove_file(&gdal_out);
    stats(bin, &input, size, runs)
}

/// `gp raster info --stats`'s work (statistics streamed over the tiles) against
/// `gdalinfo -stats`, alternating, with GDAL's cache of statistics (.aux.xml) off.
fn stats(bin: &Path, input: &Path, size: u32, runs: usize) -> anyhow::Result<()> {
    let (mut ours, mut gdal) = (Vec::new(), Vec::new());
    let (mut ours_text, mut gdal_json) = (String::new(), String::new());
    for i in 0..runs {
        let t = Instant::now();
        let o = Command::new(bin).arg("stats").arg(input).output()?;
        ours.push(t.elapsed());
        ours_text = String::from_utf8_lossy(&o.stdout).into_owned();
        let t = Instant::now();
        let g = Command::new("gdalinfo")
            .args(["-stats", "-json", "--config", "GDAL_PAM_ENABLED", "NO"])
            .arg(input)
            .output()?;
        gdal.push(t.elapsed());
        if !o.status.success() || !g.status.success() {
            bail!(
                "statistics failed: {}{}",
                String::from_utf8_lossy(&o.stderr),
                String::from_utf8_lossy(&g.stderr)
            );
        }
        gdal_json = String::from_utf8_lossy(&g.stdout).into_owned();
        eprintln!(
            "run {}: gp-raster stats {:.2}s, gdalinfo -stats {:.2}s",
            i + 1,
            ours[i].as_secs_f64(),
            gdal[i].as_secs_f64()
        );
    }
    let v: serde_json::Value = serde_json::from_str(&gdal_json)?;
    let b = &v["bands"][0];
    let theirs: Vec<f64> = ["minimum", "maximum", "mean", "stdDev"]
        .iter()
        .map(|k| b[k].as_f64().unwrap_or(f64::NAN))
        .collect();
    let mine: Vec<f64> = ours_text
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(f64::NAN))
        .collect();
    let agree = mine.len() == 4
        && mine
            .iter()
            .zip(&theirs)
            .all(|(a, b)| (a - b).abs() <= 1e-3 * b.abs().max(1.0));
    let (o, g) = (median(ours), median(gdal));
    println!();
    println!(
        "raster statistics, {size} x {size} float32, tiled 256, Deflate + predictor 3, {runs} runs each"
    );
    println!("| statistics | median |");
    println!("|---|---|");
    println!(
        "| gp-raster tiff_stats (gp raster info --stats) | {:.2} s |",
        o.as_secs_f64()
    );
    println!("| gdalinfo -stats | {:.2} s |", g.as_secs_f64());
    println!(
        "speed-up: {:.2}x; statistics agree: {agree} (gp {mine:?}, GDAL {theirs:?})",
        g.as_secs_f64() / o.as_secs_f64()
    );
    if !agree {
        bail!("the statistics differ from GDAL's");
    }
    Ok(())
}

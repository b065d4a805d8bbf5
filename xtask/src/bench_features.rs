//! `cargo xtask bench features`: gp-features conversions against GDAL's `ogr2ogr`,
//! side by side on the same generated inputs.

use std::path::Path;
use std::process::Command;

use anyhow::bail;

use crate::bench::{median, run};
use crate::cargo;

fn clear(p: &Path) {
    if p.is_dir() {
        let _ = std::fs::remove_dir_all(p);
    } else {
        let _ = std::fs::remove_file(p);
    }
}

/// Bytes of a file, or of the files in a folder (a File Geodatabase).
fn size(p: &Path) -> anyhow::Result<u64> {
    if !p.is_dir() {
        return Ok(std::fs::metadata(p)?.len());
    }
    let mut n = 0;
    for e in std::fs::read_dir(p)? {
        n += e?.metadata()?.len();
    }
    Ok(n)
}

/// Converts `input` to `ext` with gp-features and with `ogr2ogr -f driver`, `runs`
/// times each, alternating; returns the table row.
fn compare(
    bin: &Path,
    dir: &Path,
    input: &Path,
    label: &str,
    ext: &str,
    driver: &str,
    runs: usize,
) -> anyhow::Result<String> {
    let mb = size(input)? as f64 / 1e6;
    let ours_out = dir.join(format!("ours.{ext}"));
    let gdal_out = dir.join(format!("gdal.{ext}"));
    let (mut ours, mut gdal, mut rss) = (Vec::new(), Vec::new(), 0u64);
    for i in 0..runs {
        clear(&ours_out);
        clear(&gdal_out);
        let (o, log) = run(Command::new(bin).arg("convert").arg(input).arg(&ours_out))?;
        rss = rss.max(
            log.split("peak_rss_kib=")
                .nth(1)
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0),
        );
        let (g, _) = run(Command::new("ogr2ogr")
            .args(["-f", driver])
            .arg(&gdal_out)
            .arg(input))?;
        eprintln!(
            "{label} -> {ext} run {}: gp-features {:.2}s, ogr2ogr {:.2}s",
            i + 1,
            o.as_secs_f64(),
            g.as_secs_f64()
        );
        ours.push(o);
        gdal.push(g);
    }
    clear(&ours_out);
    clear(&gdal_out);
    let (o, g) = (median(ours), median(gdal));
    Ok(format!(
        "| {label} ({mb:.0} MB) | {ext} | {:.2} s | {:.2} s | {:.1}x | {:.0} MB |",
        o.as_secs_f64(),
        g.as_secs_f64(),
        g.as_secs_f64() / o.as_secs_f64(),
        rss as f64 / 1024.0
    ))
}

pub(crate) fn features(points: usize, polygons: usize, runs: usize) -> anyhow::Result<()> {
    if Command::new("ogr2ogr").arg("--version").output().is_err() {
        bail!(
            "ogr2ogr is not installed (apt-get install gdal-bin); the benchmark compares against it"
        );
    }
    let status = Command::new(cargo())
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "gp-features",
            "--example",
            "features_bench",
        ])
        .status()?;
    if !status.success() {
        bail!("building the benchmark helper failed");
    }
    let bin = Path::new("target/release/examples/features_bench");
    let dir = Path::new("target/bench/features");
    std::fs::create_dir_all(dir)?;
    let inputs = [("points", points), ("polygons", polygons)];
    let mut rows = Vec::new();
    for (kind, n) in inputs {
        let input = dir.join(format!("{kind}-{n}.json"));
        if !input.exists() {
            eprintln!("generating {} ({n} {kind}, Esri JSON)", input.display());
            run(Command::new(bin).arg(kind).arg(&input).arg(n.to_string()))?;
        }
        let label = format!("{n} {kind}, Esri JSON");
        for (ext, driver) in [
            ("geojson", "GeoJSON"),
            ("fgb", "FlatGeobuf"),
            ("gpkg", "GPKG"),
            ("gdb", "OpenFileGDB"),
        ] {
            rows.push(compare(bin, dir, &input, &label, ext, driver, runs)?);
        }
    }
    // The other streamed inputs: the points as GeoPackage, Shapefile, FlatGeobuf and
    // File Geodatabase (written once by gp-features), to GeoJSON.
    let points_json = dir.join(format!("points-{points}.json"));
    for ext in ["gpkg", "shp", "fgb", "gdb"] {
        let input = dir.join(format!("points-{points}.{ext}"));
        if !input.exists() {
            eprintln!("writing {}", input.display());
            run(Command::new(bin)
                .arg("convert")
                .arg(&points_json)
                .arg(&input))?;
        }
        let label = format!("{points} points, {ext}");
        rows.push(compare(
            bin, dir, &input, &label, "geojson", "GeoJSON", runs,
        )?);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("Conversions, medians of {runs} alternating runs each, {threads} cores");
    println!("| input | to | gp-features | ogr2ogr | speed-up | gp-features peak memory |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    Ok(())
}

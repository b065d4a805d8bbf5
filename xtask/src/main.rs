//! Project automation for the gp workspace, following the cargo-xtask convention
//! (<https://github.com/matklad/cargo-xtask>): `cargo xtask <task>`.
//!
//! - `cargo xtask ci`: everything CI checks, in order: formatting, clippy with
//!   warnings denied, the architecture invariants, `cargo deny`, the whole test suite
//!   (nextest when installed, plus doctests), the seed's examples, a 500-job soak
//!   through the fault layer, rustdoc with warnings denied, and the interop tests.
//! - `cargo xtask bench raster`: TIFF decoding against GDAL, medians side by side.
//! - `cargo xtask bench features`: feature conversions against `ogr2ogr`.
//! - `cargo xtask bench server`: status latency of gp-server during big map exports.
//! - `cargo xtask bench jobs [--quick]`: job completion with long and plain polling,
//!   and 1,000 jobs at once, client and server in their own processes.
//! - `cargo xtask bench featureset [--quick]`: a 100,000-polygon output decoded in
//!   memory, against the ArcGIS API for Python's `FeatureSet.from_dict`.
//! - `cargo xtask bench throughput [--quick]`: gp-server under `wrk`.
//! - `cargo xtask bench roundtrip [--quick]`: round trips, warm and cold, against the
//!   ArcGIS API for Python in the same run.
//! - `cargo xtask bench outputs`: a large feature output saved by `gp job fetch`
//!   against the ArcGIS API for Python fetching it.
//! - `cargo xtask interop`: the ArcGIS API for Python against gp-server.
//! - `cargo xtask fuzz TARGET --seconds S`: a cargo-fuzz target with a 1 GB memory limit.
//! - `cargo xtask soak [--jobs N] [--fault-rate R] [--seed S] [--concurrency C]`: jobs
//!   through gp-server's fault layer with gp-client, counting what was lost.

#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: a command-line tool reports on the terminal

mod arch;
mod bench;
mod bench_features;
mod bench_featureset;
mod bench_jobs;
mod bench_outputs;
mod bench_python;
mod bench_roundtrip;
mod bench_throughput;
mod ci;
mod fuzz;
mod interop;
mod interop_pygeoapi;
mod interop_tools;
mod pytest;
mod soak;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// gp project tasks.
#[derive(Parser)]
#[command(name = "cargo xtask", about = "gp project automation")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run every CI check: fmt, clippy, architecture invariants, tests, docs.
    Ci,
    /// Check only the architecture invariants (which crate may depend on which).
    Arch,
    /// The real ArcGIS API for Python (arcgis 2.4.4, in target/interop/venv) against gp-server.
    Interop,
    /// The Python package (crates/gp-py) installed with pip into target/py/venv, its
    /// pytest suite against gp-server, and its type stubs checked by mypy.
    Pytest,
    /// A cargo-fuzz target (or `all`) for a while, with a 1 GB memory limit.
    Fuzz {
        /// tiff, flatgeobuf, shapefile, geopackage, geojson, csv, esri_json, or all.
        target: String,
        /// How long to fuzz each target.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
    },
    /// Jobs of mixed tools through gp-server's fault layer with the real client; the
    /// last line counts duplicates, lost jobs, overdue waits, partial files, panics.
    Soak(soak::SoakArgs),
    /// Benchmarks, run side by side with the reference tool and reported as medians;
    /// without a name, every one in turn with its defaults.
    Bench {
        #[command(subcommand)]
        what: Option<Bench>,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// TIFF decoding: gp-raster against `gdal_translate -of ENVI` (needs gdal-bin).
    Raster {
        /// Width and height of the generated float32 GeoTIFF.
        #[arg(long, default_value_t = 8000)]
        size: u32,
        /// Runs of each tool (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// A 100,000-polygon job output decoded into a typed feature set, against the
    /// ArcGIS API for Python's `FeatureSet.from_dict` (needs Python 3).
    Featureset {
        /// Polygons in the generated output.
        #[arg(long, default_value_t = 100_000)]
        polygons: usize,
        /// Runs of each (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// 2,000 polygons, gp-model only, checking the count (CI).
        #[arg(long)]
        quick: bool,
    },
    /// Round trips against gp-server through gp-client (warm, and cold `gp run`) and
    /// through the ArcGIS API for Python 2.4.4 in the same run (needs Python 3).
    Roundtrip {
        /// Runs of each (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// gp's side once, with the debug build (CI).
        #[arg(long)]
        quick: bool,
    },
    /// gp-server under `wrk` (1 thread, 16 connections): job status requests and
    /// `BufferSync` executes per second, with latency (needs wrk and curl).
    Throughput {
        /// 2 s each with the debug build, checking that every answer succeeded (CI).
        #[arg(long)]
        quick: bool,
    },
    /// Jobs against gp-server in its own process: completion latency and status
    /// requests with long polling and plain polling, and 1,000 jobs at once (client
    /// peak memory, time against the server's busy time).
    Jobs {
        /// A small version with the debug build that checks results, not timings.
        #[arg(long)]
        quick: bool,
    },
    /// gp-server: job status latency on an idle server and during 16 concurrent
    /// 4096 × 4096 map exports.
    Server,
    /// A large feature output saved by `gp job fetch` (GeoPackage, FlatGeobuf, GeoJSON)
    /// against the ArcGIS API for Python fetching it (needs curl and Python 3).
    Outputs {
        /// Points in the output.
        #[arg(long, default_value_t = 1_000_000)]
        points: usize,
        /// Runs of each (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// gp's Python package against the ArcGIS API for Python 2.4.4: a 100,000-polygon
    /// output to a data frame, and the round trip of a 0.2 s job (needs Python 3).
    Python {
        /// Polygons in the generated output.
        #[arg(long, default_value_t = 100_000)]
        polygons: usize,
        /// Alternating runs of each side (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// 2,000 polygons and two round trips with the debug build, checking counts (CI).
        #[arg(long)]
        quick: bool,
    },
    /// Feature conversions: gp-features against `ogr2ogr` (needs gdal-bin).
    Features {
        /// Points in the generated point file.
        #[arg(long, default_value_t = 1_000_000)]
        points: usize,
        /// Polygons in the generated polygon file.
        #[arg(long, default_value_t = 100_000)]
        polygons: usize,
        /// Runs of each tool (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    std::env::set_current_dir(project_root())?;
    match cli.task {
        Task::Ci => ci::run(),
        Task::Arch => arch::check(),
        Task::Interop => interop::run(),
        Task::Pytest => pytest::run(),
        Task::Fuzz { target, seconds } => fuzz::run(&target, seconds),
        Task::Soak(args) => soak::run(&args, true),
        Task::Bench {
            what: Some(Bench::Raster { size, runs }),
        } => bench::raster(size, runs),
        Task::Bench {
            what:
                Some(Bench::Features {
                    points,
                    polygons,
                    runs,
                }),
        } => bench_features::features(points, polygons, runs),
        Task::Bench {
            what: Some(Bench::Outputs { points, runs }),
        } => bench_outputs::outputs(points, runs),
        Task::Bench {
            what: Some(Bench::Server),
        } => run_example("gp-server", "export_bench"),
        Task::Bench { what: None } => bench_all(),
        Task::Bench {
            what:
                Some(Bench::Python {
                    polygons,
                    runs,
                    quick,
                }),
        } => bench_python::python(polygons, runs, quick),
        Task::Bench {
            what: Some(Bench::Jobs { quick }),
        } => bench_jobs::jobs(quick),
        Task::Bench {
            what: Some(Bench::Throughput { quick }),
        } => bench_throughput::throughput(quick),
        Task::Bench {
            what: Some(Bench::Roundtrip { runs, quick }),
        } => bench_roundtrip::roundtrip(runs, quick),
        Task::Bench {
            what:
                Some(Bench::Featureset {
                    polygons,
                    runs,
                    quick,
                }),
        } => bench_featureset::featureset(if quick { 2000 } else { polygons }, runs, quick),
    }
}

/// Every benchmark in turn, with its defaults (`cargo xtask bench`): each installs
/// or builds what it needs; one that fails is reported and the rest still run.
fn bench_all() -> anyhow::Result<()> {
    type Run = Box<dyn Fn() -> anyhow::Result<()>>;
    let all: [(&str, Run); 9] = [
        (
            "roundtrip",
            Box::new(|| bench_roundtrip::roundtrip(5, false)),
        ),
        ("raster", Box::new(|| bench::raster(8000, 5))),
        (
            "features",
            Box::new(|| bench_features::features(1_000_000, 100_000, 3)),
        ),
        ("outputs", Box::new(|| bench_outputs::outputs(1_000_000, 3))),
        (
            "featureset",
            Box::new(|| bench_featureset::featureset(100_000, 5, false)),
        ),
        ("jobs", Box::new(|| bench_jobs::jobs(false))),
        (
            "python",
            Box::new(|| bench_python::python(100_000, 5, false)),
        ),
        (
            "throughput",
            Box::new(|| bench_throughput::throughput(false)),
        ),
        (
            "server",
            Box::new(|| run_example("gp-server", "export_bench")),
        ),
    ];
    let mut failed = Vec::new();
    for (name, run) in all {
        eprintln!("\n######## cargo xtask bench {name}");
        if let Err(e) = run() {
            eprintln!("bench {name} failed: {e:#}");
            failed.push(name);
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "benchmarks that failed: {}",
        failed.join(", ")
    );
    Ok(())
}

/// Runs a benchmark that is an example of a workspace crate, built in release mode.
fn run_example(package: &str, example: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new(cargo())
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            package,
            "--example",
            example,
        ])
        .status()?;
    anyhow::ensure!(
        status.success(),
        "the benchmark {example} failed ({status})"
    );
    Ok(())
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn project_root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().map(PathBuf::from).unwrap_or(dir)
}

/// Where cargo puts its builds: `CARGO_TARGET_DIR`, else `target/` in the workspace.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"))
}

/// The cargo that runs us (so `cargo +toolchain xtask` stays on that toolchain).
pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

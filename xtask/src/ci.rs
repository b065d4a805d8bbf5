//! `cargo xtask ci`.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::cargo;

/// Runs one step, printing its name and time; fails with the step's name.
fn step(name: &str, cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("\n==> {name}: {cmd:?}");
    let t = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{name}`"))?;
    eprintln!(
        "<== {name}: {:?} in {:.1}s",
        status,
        t.elapsed().as_secs_f64()
    );
    if !status.success() {
        bail!("ci step `{name}` failed ({status})");
    }
    Ok(())
}

/// A cargo command for a CI step. Incremental compilation is off: CI builds
/// once, and the incremental caches would take gigabytes of disk.
pub(crate) fn cargo_ci() -> Command {
    let mut cmd = Command::new(cargo());
    cmd.env("CARGO_INCREMENTAL", "0");
    cmd
}

fn has_nextest() -> bool {
    cargo_ci()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn has(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs the independent checkers the tests use (GDAL, curl) and wrk when they are
/// missing.
pub(crate) fn install_tools() -> anyhow::Result<()> {
    let has_wrk = Command::new("wrk").arg("-v").output().is_ok();
    if has("gdalinfo", "--version") && has("curl", "--version") && has_wrk {
        return Ok(());
    }
    eprintln!(
        "\n==> installing gdal-bin (GDAL is the independent checker of the raster tests), curl (the README's curl session is run by a test) and wrk (the server throughput benchmark)"
    );
    let sudo: &[&str] = if Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
    {
        &[]
    } else {
        &["sudo", "-n"]
    };
    let apt = |args: &[&str]| -> anyhow::Result<()> {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        step(
            &format!("apt-get {}", args[0]),
            Command::new(all[0])
                .args(&all[1..])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    apt(&["update", "-qq"])?;
    apt(&[
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "gdal-bin",
        "curl",
        "wrk",
    ])?;
    if !has("gdalinfo", "--version") {
        bail!("gdal-bin was installed but gdalinfo still does not run");
    }
    Ok(())
}

/// The cargo-deny version CI installs when none is there.
const CARGO_DENY: &str = "cargo-deny@0.20.2";

/// `cargo deny` with `deny.toml`: licences, duplicate versions and sources always;
/// advisories when the RustSec database (a git repository) can be fetched.
fn deny() -> anyhow::Result<()> {
    if !cargo_ci()
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        step(
            "install cargo-deny",
            cargo_ci().args(["install", "--locked", "--quiet", CARGO_DENY]),
        )?;
    }
    step(
        "cargo deny (licences, duplicate versions, sources)",
        cargo_ci().args([
            "deny",
            "--all-features",
            "check",
            "bans",
            "licenses",
            "sources",
        ]),
    )?;
    eprintln!("\n==> cargo deny check advisories");
    let out = cargo_ci()
        .args(["deny", "--all-features", "check", "advisories"])
        .output()
        .context("running cargo deny check advisories")?;
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        eprintln!("<== advisories ok");
    } else if err.contains("failed to fetch advisory database") {
        eprintln!(
            "<== advisories NOT CHECKED: the RustSec advisory database cannot be fetched from this machine (it is a git repository; only package registries are reachable here)"
        );
    } else {
        eprintln!("{err}");
        bail!("cargo deny check advisories failed");
    }
    Ok(())
}

pub(crate) fn run() -> anyhow::Result<()> {
    let t = Instant::now();
    install_tools()
        .context("installing the test tools (run as root, or install gdal-bin yourself)")?;
    step("fmt", cargo_ci().args(["fmt", "--all", "--check"]))?;
    step(
        "clippy",
        cargo_ci().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    eprintln!("\n==> architecture invariants");
    crate::arch::check()?;
    deny()?;
    if has_nextest() {
        step(
            "tests (nextest)",
            cargo_ci()
                .args([
                    "nextest",
                    "run",
                    "--workspace",
                    "--all-features",
                    "--no-fail-fast",
                ])
                .env("GP_REQUIRE_GDAL", "1"),
        )?;
    } else {
        step(
            "tests",
            cargo_ci()
                .args(["test", "--workspace", "--all-features", "--no-fail-fast"])
                .env("GP_REQUIRE_GDAL", "1"),
        )?;
    }
    step(
        "doctests",
        cargo_ci().args(["test", "--workspace", "--all-features", "--doc"]),
    )?;
    // The seed's three scripts as gp-client examples, against the embedded server.
    let out = crate::project_root().join("target").join("examples-out");
    let _ = std::fs::remove_dir_all(&out);
    // Built with the workspace's feature set, so the test build is reused.
    step(
        "build examples and binaries",
        cargo_ci().args([
            "build",
            "--workspace",
            "--all-features",
            "--examples",
            "--bins",
        ]),
    )?;
    let examples = crate::target_dir().join("debug").join("examples");
    for example in ["buffer_points", "slope_raster", "map_image"] {
        step(
            &format!("example {example}"),
            Command::new(examples.join(example)).arg(&out),
        )?;
    }
    for file in [
        "base.gdb/a00000009.gdbtable",
        "rasteroutput/Output_Slope.tif",
        "road_buffer.jpg",
    ] {
        if !out.join(file).is_file() {
            bail!("the examples did not write {}", out.join(file).display());
        }
    }
    // The jobs benchmark, small: every job followed and done (no timings asserted).
    crate::bench_jobs::jobs(true).context("bench jobs --quick")?;
    crate::bench_featureset::featureset(2000, 1, true).context("bench featureset --quick")?;
    crate::bench_throughput::throughput(true).context("bench throughput --quick")?;
    crate::bench_roundtrip::roundtrip(1, true).context("bench roundtrip --quick")?;
    // The short soak: 500 jobs, one request in ten faulted, with the debug build.
    let ts = Instant::now();
    crate::soak::run(
        &crate::soak::SoakArgs {
            jobs: 500,
            fault_rate: 0.1,
            seed: 1,
            concurrency: 16,
        },
        false,
    )
    .context("soak")?;
    eprintln!("<== soak in {:.1}s", ts.elapsed().as_secs_f64());
    step(
        "docs",
        cargo_ci()
            .args(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    eprintln!("\n==> the Python package: pytest and type stubs");
    let tp = Instant::now();
    crate::pytest::run().context("pytest")?;
    // Both sides of the Python benchmark, small: counts checked, no timings.
    crate::bench_python::python(2000, 1, true).context("bench python --quick")?;
    eprintln!("<== Python package in {:.1}s", tp.elapsed().as_secs_f64());
    eprintln!("\n==> interop: the ArcGIS API for Python against gp-server");
    let ti = Instant::now();
    crate::interop::run().context("interop")?;
    eprintln!("<== interop in {:.1}s", ti.elapsed().as_secs_f64());
    eprintln!("\nci passed in {:.0}s", t.elapsed().as_secs_f64());
    Ok(())
}

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

fn has_nextest() -> bool {
    Command::new(cargo())
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub(crate) fn run() -> anyhow::Result<()> {
    let t = Instant::now();
    step(
        "fmt",
        Command::new(cargo()).args(["fmt", "--all", "--check"]),
    )?;
    step(
        "clippy",
        Command::new(cargo()).args([
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
    if has_nextest() {
        step(
            "tests (nextest)",
            Command::new(cargo()).args([
                "nextest",
                "run",
                "--workspace",
                "--all-features",
                "--no-fail-fast",
            ]),
        )?;
    } else {
        step(
            "tests",
            Command::new(cargo()).args(["test", "--workspace", "--all-features", "--no-fail-fast"]),
        )?;
    }
    step(
        "doctests",
        Command::new(cargo()).args(["test", "--workspace", "--all-features", "--doc"]),
    )?;
    step(
        "docs",
        Command::new(cargo())
            .args(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    eprintln!("\nci passed in {:.0}s", t.elapsed().as_secs_f64());
    Ok(())
}

//! `cargo xtask soak`: gp-soak (jobs through gp-server's fault layer with the real
//! client), built and run; its last line is the verdict.

use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::cargo;

/// What to soak.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SoakArgs {
    /// Logical jobs to run.
    #[arg(long, default_value_t = 500)]
    pub(crate) jobs: usize,
    /// Share of requests that get a fault.
    #[arg(long, default_value_t = 0.1)]
    pub(crate) fault_rate: f64,
    /// Seed of the job mix and the fault decisions.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Jobs in flight at once.
    #[arg(long, default_value_t = 16)]
    pub(crate) concurrency: usize,
}

/// Runs gp-soak, built in release mode, or with the debug build CI made already.
pub(crate) fn run(args: &SoakArgs, release: bool) -> anyhow::Result<()> {
    let bin = if release {
        let status = Command::new(cargo())
            .args(["build", "--release", "--quiet", "-p", "gp-soak"])
            .status()
            .context("building gp-soak")?;
        if !status.success() {
            bail!("building gp-soak failed");
        }
        crate::target_dir().join("release").join("gp-soak")
    } else {
        crate::target_dir().join("debug").join("gp-soak")
    };
    let out = crate::target_dir().join("soak");
    eprintln!(
        "\n==> soak: {} jobs, fault rate {}, seed {}, concurrency {} (log, server data and outputs in {})",
        args.jobs,
        args.fault_rate,
        args.seed,
        args.concurrency,
        out.display()
    );
    let output = Command::new(&bin)
        .arg("--jobs")
        .arg(args.jobs.to_string())
        .arg("--fault-rate")
        .arg(args.fault_rate.to_string())
        .arg("--seed")
        .arg(args.seed.to_string())
        .arg("--concurrency")
        .arg(args.concurrency.to_string())
        .arg("--out")
        .arg(&out)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    if !output.status.success() {
        bail!("the soak found problems: {last}");
    }
    if !last.starts_with("soak: submitted=")
        || !last.contains(" duplicates=0 lost=0 overdue=0 partial_files=0 panics=0")
    {
        bail!("the soak's last line is not all zeros: {last}");
    }
    Ok(())
}

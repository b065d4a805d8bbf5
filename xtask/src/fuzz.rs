//! `cargo xtask fuzz TARGET --seconds S`: a cargo-fuzz (libFuzzer) target of
//! `fuzz/` run for S seconds with a 1 GB memory limit (`-rss_limit_mb=1024
//! -malloc_limit_mb=1024`), seeded from `fuzz/seeds/TARGET/`; the corpus it grows is
//! kept under `target/fuzz/`. Installs cargo-fuzz and the nightly toolchain it needs
//! when they are missing. A finding is left in `target/fuzz/artifacts/TARGET/`; copy
//! it to `fuzz/regressions/TARGET/` once fixed, where gp-fuzz's test replays it.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::cargo;

fn ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_tools() -> anyhow::Result<()> {
    if !ok(Command::new("rustup").args(["run", "nightly", "rustc", "--version"])) {
        eprintln!("==> installing the nightly toolchain (cargo fuzz needs it)");
        let s = Command::new("rustup")
            .args(["toolchain", "install", "nightly", "--profile", "minimal"])
            .status()?;
        if !s.success() {
            bail!("rustup toolchain install nightly failed");
        }
    }
    if !ok(Command::new("rustup").args(["run", "nightly", "cargo", "fuzz", "--version"])) {
        eprintln!("==> installing cargo-fuzz");
        let s = Command::new(cargo())
            .args(["install", "cargo-fuzz", "--locked"])
            .status()?;
        if !s.success() {
            bail!("cargo install cargo-fuzz failed");
        }
    }
    Ok(())
}

/// A libFuzzer `stat::NAME: VALUE` line's value.
fn stat(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("stat::{name}:")))
        .and_then(|v| v.trim().parse().ok())
}

pub(crate) fn run(target: &str, seconds: u64) -> anyhow::Result<()> {
    let targets: Vec<String> = std::fs::read_dir("fuzz/fuzz_targets")
        .context("reading fuzz/fuzz_targets")?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .collect();
    let chosen: Vec<&String> = if target == "all" {
        targets.iter().collect()
    } else {
        match targets.iter().find(|t| *t == target) {
            Some(t) => vec![t],
            None => bail!(
                "no fuzz target `{target}`; the targets are: all, {}",
                targets.join(", ")
            ),
        }
    };
    ensure_tools()?;
    let mut summary = Vec::new();
    let mut failed = Vec::new();
    for t in chosen {
        let corpus = Path::new("target/fuzz/corpus").join(t);
        let artifacts = Path::new("target/fuzz/artifacts").join(t);
        std::fs::create_dir_all(&corpus)?;
        std::fs::create_dir_all(&artifacts)?;
        let seeds = Path::new("fuzz/seeds").join(t);
        eprintln!("==> fuzzing {t} for {seconds} s");
        let started = std::time::Instant::now();
        let started_at = std::time::SystemTime::now();
        let out = Command::new("rustup")
            .args([
                "run",
                "nightly",
                "cargo",
                "fuzz",
                "run",
                "--fuzz-dir",
                "fuzz",
                t,
            ])
            .arg(&corpus)
            .arg(&seeds)
            .args([
                "--".to_string(),
                format!("-max_total_time={seconds}"),
                "-rss_limit_mb=1024".into(),
                "-malloc_limit_mb=1024".into(),
                "-timeout=30".into(),
                "-print_final_stats=1".into(),
                format!("-artifact_prefix={}/", artifacts.display()),
            ])
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped())
            .output()
            .context("running cargo fuzz")?;
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(40).collect();
        let execs = stat(&err, "number_of_executed_units");
        let rss = stat(&err, "peak_rss_mb");
        // Findings of this run only (older ones stay until copied to regressions/).
        let found = std::fs::read_dir(&artifacts)?
            .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
            .filter(|m| *m >= started_at)
            .count();
        let line = format!(
            "fuzz {t}: {} executions in {} s, peak RSS {} MB, findings {found}",
            execs.map_or("?".into(), |n| n.to_string()),
            started.elapsed().as_secs(),
            rss.map_or("?".into(), |n| n.to_string()),
        );
        println!("{line}");
        if !out.status.success() || found > 0 {
            // The fuzzer's report: the panic message is before the stack.
            let report: Vec<&str> = err
                .lines()
                .skip_while(|l| !l.contains("panicked at") && !l.contains("ERROR: "))
                .take(12)
                .collect();
            let last: Vec<&str> = tail.iter().take(6).rev().copied().collect();
            for l in report.iter().chain(&last) {
                eprintln!("{l}");
            }
            failed.push(format!("{line}; see {}", artifacts.display()));
        }
        summary.push(line);
    }
    if summary.len() > 1 {
        println!("\n{}", summary.join("\n"));
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

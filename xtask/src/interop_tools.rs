//! Python tools of the interop checks, each in its own virtual environment under
//! `target/interop/` (their dependencies do not meet), installed once at a pinned
//! version from the package index.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The `bin` folder of the virtual environment `venv`, made (or fixed) with
/// `packages` installed unless `probe` (Python code) already exits 0 in it.
pub(crate) fn venv_with(venv: &Path, packages: &[&str], probe: &str) -> anyhow::Result<PathBuf> {
    let py = venv.join("bin").join("python");
    let ready = Command::new(&py)
        .args(["-c", probe])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        eprintln!(
            "==> creating {} with {}",
            venv.display(),
            packages.join(" ")
        );
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(venv)
            .status()
            .context("python3 -m venv (is Python 3 with venv installed?)")?
            .success()
            && pip_install(&py, packages)
                .status()
                .context("pip")?
                .success();
        if !ok {
            bail!(
                "installing {} into {} failed",
                packages.join(" "),
                venv.display()
            );
        }
    }
    Ok(venv.join("bin"))
}

/// `python -m pip install --quiet ARGS` with `py`, to run.
pub(crate) fn pip_install(py: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(py);
    c.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .args(args);
    c
}

/// The workspace's binaries `bins`, built in debug with the workspace's feature
/// set (so `cargo xtask ci` reuses the build of its tests).
pub(crate) fn build_bins(bins: &[&str]) -> anyhow::Result<()> {
    let mut c = crate::ci::cargo_ci();
    c.args(["build", "--quiet", "--workspace", "--all-features"]);
    for b in bins {
        c.args(["--bin", b]);
    }
    let status = c
        .status()
        .with_context(|| format!("building {}", bins.join(", ")))?;
    if !status.success() {
        bail!("building {} failed ({status})", bins.join(", "));
    }
    Ok(())
}

/// The `bin` folder of `target/interop/<dir>` holding `package==version`, whose
/// module `module` says its version in `__version__`.
pub(crate) fn tool_venv(
    work: &Path,
    dir: &str,
    package: &str,
    module: &str,
    version: &str,
) -> anyhow::Result<PathBuf> {
    venv_with(
        &work.join(dir),
        &[&format!("{package}=={version}")],
        &format!("import {module}, sys; sys.exit({module}.__version__ != '{version}')"),
    )
}

/// schemathesis against the OGC face's OpenAPI document at `api`: every answer's
/// status and body as the document says (a 500 only where it is declared: a failed
/// job), 405s with `Allow`. Not checked: that any 5xx is a defect (`Fail` fails on
/// purpose, with the 500 the document declares), and that every schema-valid execute
/// request is accepted (inputs are checked against the process description, which
/// an OpenAPI document of the generic API cannot carry). Not run: the stateful
/// phase, which chains real processes with made-up inputs (`Wait` may wait days).
pub(crate) fn schemathesis(work: &Path, api: &str, cert: &str) -> anyhow::Result<()> {
    let bin = tool_venv(
        work,
        "schemathesis-venv",
        "schemathesis",
        "schemathesis",
        "4.32.5",
    )?;
    let status = Command::new(bin.join("schemathesis"))
        .args([
            "run",
            api,
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance,not_a_server_error",
            "--max-examples",
            "30",
            "--phases",
            "examples,coverage,fuzzing",
            // Nothing carried over from earlier runs (a stateful one's findings).
            "--generation-database",
            "none",
            // The same requests on every run: a finding is reproducible, CI not flaky.
            "--seed",
            "20261204",
            "--tls-verify",
            cert,
        ])
        .current_dir(work)
        .status()
        .context("running schemathesis")?;
    if !status.success() {
        bail!("schemathesis found answers that break the OGC face's OpenAPI document ({status})");
    }
    Ok(())
}

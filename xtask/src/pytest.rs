//! `cargo xtask pytest`: the Python package (crates/gp-py, module `gp_rs`) installed
//! the way users install it (`pip install ./crates/gp-py`, maturin as the build
//! backend; a debug build here) into `target/py/venv`, then its pytest suite
//! against real gp-server processes, and its type stubs checked against the module
//! (mypy's stubtest) and against a typed script (`mypy --strict`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::{project_root, target_dir};

/// The test and build tools, pinned.
const PACKAGES: &[&str] = &[
    "maturin==1.16.0",
    "pytest==9.2.0",
    "mypy==2.4.1",
    "typing_extensions==4.16.0",
    "geopandas==1.2.0",
    "pyarrow==26.0.1",
    "polars==2.1.0",
    "duckdb==2.0.1",
];

/// The `bin` folder of `target/py/venv` with [`PACKAGES`].
pub(crate) fn venv() -> anyhow::Result<PathBuf> {
    crate::interop_tools::venv_with(
        &target_dir().join("py").join("venv"),
        PACKAGES,
        "import pytest, mypy, geopandas, pyarrow, polars, duckdb, sys; sys.exit(geopandas.__version__ != '1.2.0' or pyarrow.__version__ != '26.0.1')",
    )
}

/// Installs crates/gp-py into the venv of `bin` with `pip install` (maturin builds
/// it with cargo `profile`: `dev` or `release`).
pub(crate) fn install(bin: &Path, profile: &str) -> anyhow::Result<()> {
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    let crate_dir = project_root().join("crates").join("gp-py");
    let crate_dir = crate_dir.to_string_lossy();
    let ok = crate::interop_tools::pip_install(
        &bin.join("python"),
        &[
            "--no-deps",
            "--no-build-isolation",
            "--force-reinstall",
            &crate_dir,
        ],
    )
    // maturin (from the venv) runs cargo with this profile.
    .env("PATH", path)
    .env("MATURIN_PEP517_ARGS", format!("--profile {profile}"))
    .status()
    .context("pip install ./crates/gp-py")?
    .success();
    if !ok {
        bail!("pip install ./crates/gp-py failed");
    }
    Ok(())
}

/// Runs the suite.
pub(crate) fn run() -> anyhow::Result<()> {
    let bin = venv()?;
    install(&bin, "dev")?;
    crate::interop_tools::build_bins(&["gp-server"])?;
    let server = target_dir().join("debug").join("gp-server");
    let crate_dir = project_root().join("crates").join("gp-py");
    let tests = crate_dir.join("tests");
    let work = target_dir().join("py").join("work");
    std::fs::create_dir_all(&work)?;
    let py = bin.join("python");
    // From a folder outside the sources, so `gp_rs` is the installed package.
    let step = |name: &str, args: &[&std::ffi::OsStr]| -> anyhow::Result<()> {
        eprintln!("\n==> {name}");
        let ok = Command::new(&py)
            .args(args)
            .current_dir(&work)
            .env("GP_SERVER_BIN", &server)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .status()
            .with_context(|| format!("running {name}"))?
            .success();
        if !ok {
            bail!("{name} failed");
        }
        Ok(())
    };
    step(
        "pytest crates/gp-py/tests",
        &[
            "-m".as_ref(),
            "pytest".as_ref(),
            "-q".as_ref(),
            "-p".as_ref(),
            "no:cacheprovider".as_ref(),
            "--rootdir".as_ref(),
            tests.as_os_str(),
            tests.as_os_str(),
        ],
    )?;
    let allow = tests.join("stubtest_allowlist.txt");
    step(
        "stubtest gp_rs._native",
        &[
            "-m".as_ref(),
            "mypy.stubtest".as_ref(),
            "gp_rs._native".as_ref(),
            "--allowlist".as_ref(),
            allow.as_os_str(),
        ],
    )?;
    let example = tests.join("typing_example.py");
    step(
        "mypy --strict (stubs in use)",
        &[
            "-m".as_ref(),
            "mypy".as_ref(),
            "--strict".as_ref(),
            "--no-incremental".as_ref(),
            example.as_os_str(),
        ],
    )?;
    Ok(())
}

//! `cargo xtask interop`: the real ArcGIS API for Python (arcgis 2.4.4) and OWSLib
//! (0.35.0, OGC API – Processes) against gp-server over HTTPS on loopback.
//!
//! Creates `target/interop/venv` (once), installs `arcgis==2.4.4`, `six` (an
//! undeclared dependency of it) and `OWSLib==0.35.0`, builds and starts
//! `gp-server --tls` on a free port, and runs `xtask/interop/arcgis_interop.py` and
//! `xtask/interop/owslib_interop.py` (against the `/arcgis/ogc` face) with
//! `REQUESTS_CA_BUNDLE` set to the server's self-signed certificate. Then the `gp`
//! CLI against pygeoapi ([`crate::interop_pygeoapi`]).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::project_root;

const ARCGIS: &str = "arcgis==2.4.4";
/// OWSLib, the Python OGC client: 0.35.0 is the newest that installs on Python 3.11.
const OWSLIB: &str = "OWSLib==0.35.0";

/// Kills the server when dropped, whatever happened.
pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Python of `venv` with the ArcGIS API for Python and OWSLib (made once).
pub(crate) fn ensure_venv(venv: &Path) -> anyhow::Result<PathBuf> {
    let bin = crate::interop_tools::venv_with(
        venv,
        &[ARCGIS, OWSLIB, "six"],
        "import arcgis, owslib, six, sys; sys.exit(arcgis.__version__ != '2.4.4' or owslib.__version__ != '0.35.0')",
    )?;
    Ok(bin.join("python"))
}

/// Starts the `gp-server` binary on a free loopback port with `args` and `data` (the
/// last argument); returns it and its first line (`{"url", "cert"?}`).
pub(crate) fn start_server(
    bin: &Path,
    args: &[&str],
    data: &Path,
) -> anyhow::Result<(Server, serde_json::Value)> {
    let child = Command::new(bin)
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut server = Server(child);
    let stdout = server.0.stdout.take().context("server stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the server's first line")?;
    let v: serde_json::Value = serde_json::from_str(line.trim())
        .with_context(|| format!("the server's first line is not JSON: {line:?}"))?;
    Ok((server, v))
}

/// Runs the interop test.
pub(crate) fn run() -> anyhow::Result<()> {
    let root = project_root();
    let work = root.join("target").join("interop");
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let py = ensure_venv(&work.join("venv"))?;
    crate::interop_tools::build_bins(&["gp-server", "gp"])?;
    let bin = crate::target_dir().join("debug").join("gp-server");
    let data = work.join(format!("data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let t0 = Instant::now();
    // Layers answer 200 features a query, fewer than the 243 sample cities, so the
    // client's paging is exercised. (Not fewer: arcgis 2.4.4 reads the rest by
    // object ids in chunks of 200 and keeps what a smaller limit cuts off silently.)
    let (server, v) = start_server(
        &bin,
        &["--tls", "--maximum-records", "200", "--data-dir"],
        &data,
    )?;
    let started = t0.elapsed();
    let url = v["url"]
        .as_str()
        .context("no url in the server's first line")?;
    let cert = v["cert"]
        .as_str()
        .context("no cert in the server's first line")?;
    let base = url.trim_end_matches("/rest/services");
    eprintln!(
        "==> gp-server ready at {base} in {:.0} ms (process start to first line)",
        started.as_secs_f64() * 1000.0
    );
    let script = root.join("xtask").join("interop").join("arcgis_interop.py");
    let status = Command::new(&py)
        .arg(&script)
        .arg(base)
        .env("REQUESTS_CA_BUNDLE", cert)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(&work)
        .status()
        .context("running the interop script")?;
    let ogc = root.join("xtask").join("interop").join("owslib_interop.py");
    let ogc_status = Command::new(&py)
        .arg(&ogc)
        .arg(base)
        .env("REQUESTS_CA_BUNDLE", cert)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(&work)
        .status()
        .context("running the OWSLib interop script")?;
    let checked = crate::interop_tools::schemathesis(&work, &format!("{base}/ogc/api"), cert);
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    checked?;
    if !status.success() {
        bail!("the ArcGIS API for Python interop test failed ({status})");
    }
    if !ogc_status.success() {
        bail!("the OWSLib interop test against the OGC face failed ({ogc_status})");
    }
    let gp = crate::target_dir().join("debug").join("gp");
    crate::interop_pygeoapi::run(&work, &gp)
}

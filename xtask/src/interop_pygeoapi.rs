//! The `gp` CLI against a real OGC API – Processes server: pygeoapi 0.21.0 (the
//! newest that installs on Python 3.11) from the package index, in
//! `target/interop/pygeoapi-venv`, started on loopback with a configuration written
//! here (the TinyDB manager, so jobs can run asynchronously). `gp info`, `gp run`
//! (synchronous-capable processes run as jobs), a failing job, and a dismissed one.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Stops pygeoapi when dropped: its whole process group, since its development
/// server re-runs itself in a child process that outlives a killed parent.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let stopped = Command::new("kill")
            .args(["-TERM", "--", &group])
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

fn config(dir: &Path, port: u16) -> String {
    format!(
        r#"server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  pretty_print: false
  limits: {{default_items: 10, max_items: 50}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: "OpenStreetMap"}}
  manager: {{name: TinyDB, connection: {db}, output_dir: {out}}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: gp interop, description: pygeoapi for gp, keywords: [gp], keywords_type: theme, terms_of_service: none, url: "http://example.org"}}
  license: {{name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}}
  provider: {{name: gp, url: "http://example.org"}}
  contact: {{name: gp, position: none, address: none, city: none, stateorprovince: none, postalcode: none, country: none, phone: none, fax: none, email: gp@example.org, url: "http://example.org", hours: none, instructions: none, role: pointOfContact}}
resources:
  hello-world: {{type: process, processor: {{name: HelloWorld}}}}
  shapely-functions: {{type: process, processor: {{name: ShapelyFunctions}}}}
  echo: {{type: process, processor: {{name: Echo}}}}
"#,
        db = dir.join("jobs.db").display(),
        out = dir.join("out").display(),
    )
}

fn check(what: &str, o: &Output, code: i32, says: &str) -> anyhow::Result<String> {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if o.status.code() != Some(code) || !text.contains(says) {
        bail!(
            "{what}: expected exit {code} and `{says}`, got {:?}:\n{text}",
            o.status.code()
        );
    }
    eprintln!("ok: {what}");
    Ok(text)
}

/// Runs the checks with the `gp` binary at `gp`.
pub(crate) fn run(work: &Path, gp: &Path) -> anyhow::Result<()> {
    let bin =
        crate::interop_tools::tool_venv(work, "pygeoapi-venv", "pygeoapi", "pygeoapi", "0.21.0")?;
    let dir = work.join(format!("pygeoapi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("out")).context("creating the pygeoapi folder")?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let cfg = dir.join("cfg.yml");
    std::fs::write(&cfg, config(&dir, port))?;
    let openapi = dir.join("openapi.yml");
    let ok = Command::new(bin.join("pygeoapi"))
        .args(["openapi", "generate"])
        .arg(&cfg)
        .arg("--output-file")
        .arg(&openapi)
        .stdout(Stdio::null())
        .status()
        .context("pygeoapi openapi generate")?;
    if !ok.success() {
        bail!("pygeoapi openapi generate failed ({ok})");
    }
    let _serving = Serving(
        Command::new(bin.join("pygeoapi"))
            .arg("serve")
            // Its own process group, so the server and its reloader stop together.
            .process_group(0)
            .env("PYGEOAPI_CONFIG", &cfg)
            .env("PYGEOAPI_OPENAPI", &openapi)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting pygeoapi serve")?,
    );
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if start.elapsed() > Duration::from_secs(60) {
            bail!("pygeoapi did not start on port {port}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("==> pygeoapi 0.21.0 at {url}");
    let out = dir.join("gp-out");
    let gp_cmd = |args: &[&str]| -> anyhow::Result<Output> {
        Command::new(gp)
            .args(args)
            .output()
            .with_context(|| format!("running gp {}", args.join(" ")))
    };
    let o = out.to_string_lossy().to_string();
    check(
        "gp info lists the processes",
        &gp_cmd(&["info", &url])?,
        0,
        "shapely-functions",
    )?;
    check(
        "gp info describes a process, with the enum pygeoapi writes beside the schema",
        &gp_cmd(&["info", &format!("{url}/processes/shapely-functions")])?,
        0,
        "measurement:distance",
    )?;
    check(
        "gp run hello-world (a job: 201, the job only in Location)",
        &gp_cmd(&[
            "run",
            &format!("{url}/processes/hello-world"),
            "name=World",
            "--out",
            &o,
        ])?,
        0,
        "Hello World!",
    )?;
    check(
        "gp run hello-world --sync (the raw {\"id\", \"value\"} answer)",
        &gp_cmd(&[
            "run",
            &format!("{url}/processes/hello-world"),
            "name=Sync",
            "--sync",
            "--out",
            &o,
        ])?,
        0,
        "Hello Sync!",
    )?;
    check(
        "gp run shapely-functions with a list of WKT geometries",
        &gp_cmd(&[
            "run",
            &format!("{url}/processes/shapely-functions"),
            "operation=measurement:distance",
            "geoms=POINT(0 0);POINT(3 4)",
            "--out",
            &o,
        ])?,
        0,
        "5.0",
    )?;
    check(
        "gp run shapely-functions --sync",
        &gp_cmd(&[
            "run",
            &format!("{url}/processes/shapely-functions"),
            "operation=measurement:distance",
            "geoms=POINT(0 0);POINT(6 8)",
            "--sync",
            "--out",
            &o,
        ])?,
        0,
        "10.0",
    )?;
    check(
        "a failed job is exit 1 with the server's error",
        &gp_cmd(&[
            "run",
            &format!("{url}/processes/shapely-functions"),
            "operation=measurement:area",
            "geoms=garbage",
            "--out",
            &o,
        ])?,
        1,
        "ParseException",
    )?;
    let text = check(
        "gp run --no-wait gives the job URL",
        &gp_cmd(&[
            "run",
            &format!("{url}/processes/hello-world"),
            "name=later",
            "--no-wait",
            "--json",
            "--out",
            &o,
        ])?,
        0,
        "job_url",
    )?;
    let doc: serde_json::Value = serde_json::from_str(text.lines().next().unwrap_or_default())
        .context("reading gp's --json answer")?;
    let job = doc["job_url"].as_str().context("no job_url")?.to_string();
    check(
        "gp job wait follows it",
        &gp_cmd(&["job", "wait", &job])?,
        0,
        "",
    )?;
    check(
        "gp job cancel dismisses it",
        &gp_cmd(&["job", "cancel", &job])?,
        0,
        "",
    )?;
    check(
        "a dismissed job is gone",
        &gp_cmd(&["job", "status", &job])?,
        3,
        "404",
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("all pygeoapi checks passed");
    Ok(())
}

//! Every `$ gp` line of the README's CLI tour, run against a local server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::process::Command;

/// Splits a shell line into words (double quotes only, as the README uses).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// True when `line` is what the README shows: `…` in `shown` stands for any text
/// (job ids, long values cut short).
fn matches(line: &str, shown: &str) -> bool {
    let parts: Vec<&str> = shown.split('…').collect();
    if parts.len() == 1 {
        return line.trim_end() == shown.trim_end();
    }
    let Some(mut rest) = line.strip_prefix(parts[0]) else {
        return false;
    };
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.trim_end().ends_with(parts[parts.len() - 1].trim_end())
}

#[test]
fn the_cli_tour_runs() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let tour = readme
        .split("## CLI tour")
        .nth(1)
        .unwrap()
        .split("```console")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    // Each `$ gp` line with the output the README shows under it.
    let mut commands: Vec<(&str, Vec<&str>)> = Vec::new();
    for l in tour.lines().filter(|l| !l.trim().is_empty()) {
        match l.strip_prefix("$ gp ") {
            Some(c) => commands.push((c, Vec::new())),
            None => commands.last_mut().unwrap().1.push(l),
        }
    }
    assert!(commands.len() >= 7, "{commands:?}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(gp_server::Server::start(Default::default()))
        .unwrap();
    let base = server.url("");
    let dir = tempfile::tempdir().unwrap();
    // towers.shp: the sample points, as the README says.
    let t = gp_transport::HttpTransport::new(Default::default()).unwrap();
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        let url = format!("{base}/arcgis/rest/directories/samples/naturalearth_cities.{ext}");
        let r = rt
            .block_on(gp_transport::TransportExt::get(&t, &url, &[]))
            .unwrap();
        std::fs::write(dir.path().join(format!("towers.{ext}")), r.body()).unwrap();
    }
    for (c, expected) in commands {
        let args = words(&c.replace("http://127.0.0.1:8080", &base));
        let o = Command::new(env!("CARGO_BIN_EXE_gp"))
            .args(&args)
            .current_dir(dir.path())
            .env_remove("GP_SCRATCH_WORKSPACE")
            .env_remove("GP_TOKEN")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).replace(&base, "http://127.0.0.1:8080");
        assert!(
            o.status.success(),
            "gp {c}: {out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let got: Vec<&str> = out.lines().collect();
        assert_eq!(
            got.len(),
            expected.len(),
            "gp {c}: the README shows {expected:#?}, gp printed {got:#?}"
        );
        for (g, e) in got.iter().zip(&expected) {
            assert!(
                matches(g, e),
                "gp {c}: the README shows\n{e}\ngp printed\n{g}"
            );
        }
    }
    assert!(dir.path().join("out/buffers.geojson").is_file());
    assert!(dir.path().join("out/buffer.png").is_file());
    rt.block_on(server.shutdown());
}

#[test]
fn gp_serve_answers_and_stops_on_ctrl_c() {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gp"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("gp serve: ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = gp_transport::HttpTransport::new(Default::default()).unwrap();
    let r = rt
        .block_on(gp_transport::TransportExt::get(&t, &url, &[("f", "json")]))
        .unwrap();
    assert!(
        String::from_utf8_lossy(r.body()).contains("GP/BufferByVal")
            || String::from_utf8_lossy(r.body()).contains("\"GP\"")
    );
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_readme_curl_session_runs() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let block = readme
        .split("A session with curl:")
        .nth(1)
        .unwrap()
        .split("```sh")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(gp_server::Server::start(Default::default()))
        .unwrap();
    let base = server.url("");
    // A real job id for the lines that name `<jobId>`.
    let t = gp_transport::HttpTransport::new(Default::default()).unwrap();
    let submit = format!("{base}/arcgis/rest/services/SlopeByVal/GPServer/RunSlope/submitJob");
    let r = rt
        .block_on(gp_transport::TransportExt::post_form(
            &t,
            &submit,
            &[("f", "json"), ("Input_DEM", "sample_dem")],
            gp_transport::Idempotency::NotIdempotent,
        ))
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
    let id = v["jobId"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let script = block
        .replace("http://127.0.0.1:8080", &base)
        .replace("<jobId>", &id)
        .replace("curl ", "curl -sf ");
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("bash")
        .args(["-ec", &script])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    assert!(
        text.contains("Output_Polygons")
            && text.contains("esriJobSubmitted")
            && text.contains("Output_Slope.tif"),
        "{text}"
    );
    assert!(dir.path().join("slope.png").is_file());
    rt.block_on(server.shutdown());
}

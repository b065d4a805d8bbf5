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
    let commands: Vec<&str> = tour
        .lines()
        .filter_map(|l| l.strip_prefix("$ gp "))
        .collect();
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
    for c in commands {
        let args = words(&c.replace("http://127.0.0.1:8080", &base));
        let o = Command::new(env!("CARGO_BIN_EXE_gp"))
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "gp {c}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(dir.path().join("out/buffers.geojson").is_file());
    assert!(dir.path().join("out/buffer.png").is_file());
    rt.block_on(server.shutdown());
}

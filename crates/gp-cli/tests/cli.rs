//! The `gp` binary end to end: demo, info, run, job, features, raster, completions,
//! and exit codes (0 ok, 1 tool failed, 2 input error, 3 network/server error).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::process::Command;

mod common;
use common::{gp, text};

#[test]
fn demo_writes_the_three_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let o = gp(&["demo", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(out.join("base.gpkg").is_file());
    assert_eq!(
        gp_features::layers(out.join("base.gdb")).unwrap(),
        ["towers_buffer"]
    );
    assert_eq!(gp_features_load(&out.join("base.gdb/towers_buffer")), 243);
    assert!(out.join("rasteroutput/Output_Slope.tif").is_file());
    assert!(out.join("road_buffer.jpg").is_file());
    let fs = gp_features_load(&out.join("base.gpkg/towers_buffer"));
    assert_eq!(fs, 243);
    let t = text(&o);
    assert!(
        t.contains("100 kilometers") && t.contains("slope in degrees"),
        "{t}"
    );
}

/// Features in a GeoPackage or File Geodatabase layer, counted through `gp features convert --sync` to
/// GeoJSON.
fn gp_features_load(layer: &std::path::Path) -> usize {
    let container = layer.parent().unwrap();
    let ext = container.extension().unwrap().to_str().unwrap();
    let geojson = container.parent().unwrap().join(format!("{ext}.geojson"));
    let o = gp(&[
        "features",
        "convert",
        "--sync",
        layer.to_str().unwrap(),
        geojson.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(geojson).unwrap()).unwrap();
    v["features"].as_array().unwrap().len()
}

#[test]
fn info_run_job_and_exit_codes_against_a_server() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(gp_server::Server::start(Default::default()))
        .unwrap();
    let b = server.url("/arcgis/rest/services");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();

    let o = gp(&["services", &format!("{b}/GP")]);
    assert!(
        o.status.success() && text(&o).contains("GP/BufferByVal  (GPServer)"),
        "{}",
        text(&o)
    );
    let o = gp(&["info", &format!("{b}/GP/BufferByVal/GPServer/BufferPoints")]);
    let t = text(&o);
    assert!(
        o.status.success()
            && t.contains("Distance")
            && t.contains("GPLinearUnit")
            && t.contains("NONE|ALL"),
        "{t}"
    );

    // Sync run: outputs saved as GeoPackage layers, JSON report.
    let pts =
        r#"Input_Features={"features":[{"geometry":{"x":10,"y":50},"attributes":{"Name":"a"}}]}"#;
    let o = gp(&[
        "run",
        &format!("{b}/GP/BufferSync/GPServer/BufferPoints"),
        pts,
        "Distance=5 feet",
        "--out",
        out,
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outputs"][0]["features"], 1);
    assert!(dir.path().join("outputs.gpkg").is_file());

    // Async run with a raster output and a map image.
    let o = gp(&[
        "run",
        &format!("{b}/SlopeByVal/GPServer/RunSlope"),
        "Input_DEM=sample_dem",
        "--out",
        out,
        "--map-image",
        dir.path().join("slope.png").to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        dir.path().join("Output_Slope.tif").is_file() && dir.path().join("slope.png").is_file()
    );
    let o = gp(&[
        "raster",
        "info",
        dir.path().join("Output_Slope.tif").to_str().unwrap(),
        "--stats",
    ]);
    assert!(
        o.status.success() && text(&o).contains("band 1: min"),
        "{}",
        text(&o)
    );

    // --no-wait writes a job file that `gp job wait` picks up.
    let o = gp(&[
        "run",
        &format!("{b}/GP/Utilities/GPServer/Wait"),
        "Seconds=0.3",
        "--no-wait",
        "--out",
        out,
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let file = v["job_file"].as_str().unwrap();
    let o = gp(&["job", "wait", file, "-q"]);
    assert!(
        o.status.success() && text(&o).contains("esriJobSucceeded"),
        "{}",
        text(&o)
    );
    let o = gp(&["job", "results", v["job_url"].as_str().unwrap()]);
    assert!(
        o.status.success() && text(&o).contains("Elapsed"),
        "{}",
        text(&o)
    );

    // Exit codes.
    let o = gp(&["run", &format!("{b}/GP/Utilities/GPServer/Fail"), "-q"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("failed on purpose"));
    let o = gp(&[
        "run",
        &format!("{b}/GP/BufferSync/GPServer/BufferPoints"),
        "Distanse=5 feet",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("did you mean `Distance`"));
    let o = gp(&[
        "run",
        &format!("{b}/GP/BufferSync/GPServer/BufferPoints"),
        "Distance",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    rt.block_on(server.shutdown());
    let o = gp(&["info", &format!("{b}/GP/BufferByVal/GPServer")]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let o = gp(&["completions", "bash"]);
    assert!(o.status.success() && text(&o).contains("gp"));
}

#[test]
fn ctrl_c_cancels_the_server_job_and_a_terminal_shows_progress() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(gp_server::Server::start(Default::default()))
        .unwrap();
    let task = server.url("/arcgis/rest/services/GP/Utilities/GPServer/Wait");
    // SIGINT to a running `gp run`: the server job is cancelled.
    let child = Command::new(env!("CARGO_BIN_EXE_gp"))
        .args(["run", &task, "Seconds=30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let o = child.wait_with_output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let id = t
        .split("job ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("{t}"));
    assert!(t.contains("cancelled on the server"), "{t}");
    let job = format!("{task}/jobs/{id}");
    let mut status = String::new();
    for _ in 0..100 {
        status = text(&gp(&["job", "status", &job]));
        if status.trim() == "esriJobCancelled" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(status.trim(), "esriJobCancelled");
    // Under a pseudo-terminal (util-linux `script`), the progress bar appears.
    let cmd = format!("{} run {task} Seconds=1.5", env!("CARGO_BIN_EXE_gp"));
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("esriJobExecuting") && t.contains('%'), "{t}");
    // On success the bar ends full, and stays (defect 8: it stopped at 96 %).
    assert!(t.contains("100%") && t.contains("esriJobSucceeded"), "{t}");
    // And a download bar with bytes and rate for a raster output.
    let dir = tempfile::tempdir().unwrap();
    let slope = server.url("/arcgis/rest/services/SlopeByVal/GPServer/RunSlope");
    let cmd = format!(
        "{} run {slope} Input_DEM=sample_dem --out {}",
        env!("CARGO_BIN_EXE_gp"),
        dir.path().display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let t = text(&o);
    assert!(
        o.status.success() && t.contains("downloading Output_Slope") && t.contains("KiB"),
        "{t}"
    );
    // Without a terminal: no progress output at all.
    let o = gp(&["run", &task, "Seconds=0.3"]);
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).trim().is_empty(),
        "{}",
        text(&o)
    );
    rt.block_on(server.shutdown());
}

#[test]
fn credentials_from_stdin_and_a_token() {
    use std::io::Write;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(gp_server::Server::start(gp_server::ServerConfig {
            users: vec![("alice".into(), "wonder".into())],
            ..Default::default()
        }))
        .unwrap();
    let task = server.url("/arcgis/rest/services/GP/Utilities/GPServer/Wait");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gp"))
        .args([
            "run",
            &task,
            "Seconds=0",
            "--user",
            "alice",
            "--password-stdin",
            "--json",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"wonder\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "esriJobSucceeded");
    assert!(!text(&o).contains("wonder"));
    // Without credentials: a server error, exit 3; a bad token: exit 3 too.
    let o = gp(&["run", &task, "Seconds=0"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_gp"))
        .args(["run", &task, "Seconds=0"])
        .env("GP_TOKEN", "bogus")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(!text(&o).contains("bogus"), "{}", text(&o));
    rt.block_on(server.shutdown());
}

/// An output the server cut at its transfer limit (5 polygons, `maximumRecords` 3:
/// the answer has no features and `exceededTransferLimit`) is an error, exit code 1,
/// naming the output and what came back; `--allow-truncated` accepts it.
#[test]
fn a_cut_output_fails_unless_allowed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(gp_server::Server::start(gp_server::ServerConfig {
            maximum_records: 3,
            ..Default::default()
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let points = dir.path().join("points.json");
    let features: Vec<String> = (0..5)
        .map(|i| {
            format!(
                r#"{{"geometry":{{"x":{},"y":50}},"attributes":{{}}}}"#,
                10 + i
            )
        })
        .collect();
    std::fs::write(
        &points,
        format!(
            r#"{{"geometryType":"esriGeometryPoint","spatialReference":{{"wkid":4326}},"features":[{}]}}"#,
            features.join(",")
        ),
    )
    .unwrap();
    let task = server.url("/arcgis/rest/services/GP/BufferSync/GPServer/BufferPoints");
    let input = format!("Input_Features=@{}", points.display());
    let out = dir.path().join("out");
    let o = gp(&[
        "run",
        &task,
        &input,
        "Distance=100 meters",
        "--format",
        "geojson",
        "--out",
        out.to_str().unwrap(),
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("transfer limit")
            && t.contains("Output_Polygons: 0 feature(s) came back")
            && t.contains("--allow-truncated"),
        "{t}"
    );
    let o = gp(&[
        "run",
        &task,
        &input,
        "Distance=100 meters",
        "--format",
        "geojson",
        "--out",
        out.to_str().unwrap(),
        "--overwrite",
        "--allow-truncated",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    rt.block_on(server.shutdown());
}

/// A web tool run by its portal item id, with a layer-URL input and a filter, its
/// output published as a hosted layer and read back whole in pages.
#[test]
fn a_web_tool_runs_by_item_id_with_a_layer_input_and_a_hosted_output() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(gp_server::Server::start(gp_server::ServerConfig {
            maximum_records: 5,
            ..Default::default()
        }))
        .unwrap();
    let portal = server.url("/arcgis");
    let id = gp_server::portal_item_id("GPServer", "GP/BufferSync");
    let o = gp(&["info", &id, "--portal", &portal]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("GP/BufferSync/GPServer"), "{t}");
    let dir = tempfile::tempdir().unwrap();
    let cities = server.url("/arcgis/rest/services/Hosted/naturalearth_cities/FeatureServer/0");
    let input = format!("Input_Features={cities} name LIKE 'S%'");
    let o = gp(&[
        "run",
        &id,
        "--portal",
        &portal,
        "--tool",
        "BufferPoints",
        &input,
        "Distance=2 kilometers",
        "--hosted-output",
        "s_buffers",
        "--format",
        "geojson",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    // 22 cities named S… (GDAL's count), read back in pages of 5.
    let fs = gp_features::load(dir.path().join("Output_Polygons.geojson")).unwrap();
    assert_eq!(fs.features.len(), 22, "{t}");
    let o = gp(&[
        "info",
        "0123456789abcdef0123456789abcdef",
        "--portal",
        &portal,
    ]);
    // The server's refusal: exit code 3, as every server error.
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("Item does not exist"), "{}", text(&o));
    rt.block_on(server.shutdown());
}

/// `gp info`, `gp run` and `gp job` on an OGC API – Processes endpoint (gp-server's
/// `/arcgis/ogc` face), unchanged.
#[test]
fn the_commands_work_on_an_ogc_endpoint() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(gp_server::Server::start(Default::default()))
        .unwrap();
    let root = server.url("/arcgis/ogc");
    let o = gp(&["info", &root]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("buffersync.bufferpoints") && t.contains("echo"),
        "{t}"
    );
    let process = format!("{root}/processes/buffersync.bufferpoints");
    let o = gp(&["info", &process]);
    let t = text(&o);
    assert!(
        t.contains("Input_Features") && t.contains("NONE|ALL"),
        "{t}"
    );
    let dir = tempfile::tempdir().unwrap();
    let points = dir.path().join("points.geojson");
    std::fs::write(
        &points,
        r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"Name": "a"}, "geometry": {"type": "Point", "coordinates": [10, 50]}},
            {"type": "Feature", "properties": {"Name": "b"}, "geometry": {"type": "Point", "coordinates": [11, 51]}}]}"#,
    )
    .unwrap();
    let input = format!("Input_Features={}", points.display());
    let o = gp(&[
        "run",
        &process,
        &input,
        "Distance=1 kilometers",
        "--format",
        "geojson",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("wrote 2 feature(s)"), "{t}");
    let o = gp(&[
        "run",
        &format!("{root}/processes/wait"),
        "Seconds=0.2",
        "--no-wait",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let doc: serde_json::Value = serde_json::from_str(t.lines().next().unwrap()).unwrap();
    let job = doc["job_url"].as_str().unwrap().to_string();
    assert!(job.contains("/arcgis/ogc/jobs/"), "{job}");
    let o = gp(&["job", "wait", &job]);
    assert!(o.status.success(), "{}", text(&o));
    // The OGC name first, with the job status it maps onto.
    let o = gp(&["job", "status", &job]);
    assert_eq!(
        text(&o).trim(),
        "successful (esriJobSucceeded)",
        "{}",
        text(&o)
    );
    rt.block_on(server.shutdown());
}

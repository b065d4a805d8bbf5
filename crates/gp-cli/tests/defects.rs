//! One test per defect found by using `gp` as a new user would (issue 13): each
//! failed before the CLI went through gp-client for URLs, credentials and saving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use gp_transport::testing::{Reply, ScriptedServer};

mod common;
use common::{gp, text};

/// `gp ARGS` with `stdin` written to its standard input.
fn gp_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gp"))
        .args(args)
        .env_remove("GP_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[track_caller]
fn check(o: &Output, code: i32, needles: &[&str]) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(code), "{t}");
    for n in needles {
        assert!(t.contains(n), "`{n}` missing from: {t}");
    }
}

#[track_caller]
fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", text(o)))
}

fn secured(rt: &tokio::runtime::Runtime) -> gp_server::Server {
    rt.block_on(gp_server::Server::start(gp_server::ServerConfig {
        users: vec![("alice".into(), "wonder".into())],
        ..Default::default()
    }))
    .unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Defect 1: `gp info` on arcpy's form, and credentials never printed.
#[test]
fn info_takes_the_arcpy_form_and_never_prints_credentials() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let open = rt
        .block_on(gp_server::Server::start(Default::default()))
        .unwrap();
    let arcpy = format!("{};GP/BufferByVal", open.url("/arcgis/services"));
    check(&gp(&["info", &arcpy]), 0, &["BufferPoints", "asynchronous"]);
    let s = secured(&rt);
    let arcpy = format!("{};GP/BufferByVal", s.url("/arcgis/services"));
    check(
        &gp(&["info", &format!("{arcpy};alice;wonder")]),
        0,
        &["BufferPoints"],
    );
    for bad in [";alice;wr0ngpass", ";token=s3cr3tT0ken"] {
        let o = gp(&["info", &format!("{arcpy}{bad}")]);
        check(&o, 3, &[]);
        let t = text(&o);
        assert!(
            !t.contains("wr0ngpass") && !t.contains("s3cr3tT0ken"),
            "{t}"
        );
    }
    rt.block_on(s.shutdown());
    rt.block_on(open.shutdown());
}

/// Defect 2: every job command logs in.
#[test]
fn every_job_command_logs_in() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = secured(&rt);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let task = s.url("/arcgis/rest/services/GP/Utilities/GPServer/Wait");
    let login = ["--user", "alice", "--password-stdin"];
    let run = |args: &[&str]| -> Output {
        let mut a = args.to_vec();
        a.extend_from_slice(&login);
        gp_stdin(&a, "wonder\n")
    };
    let o = run(&[
        "run",
        &task,
        "Seconds=0.2",
        "--no-wait",
        "--out",
        out,
        "--json",
    ]);
    check(&o, 0, &[]);
    let v = json(&o);
    let (url, file, id) = (
        v["job_url"].as_str().unwrap().to_string(),
        v["job_file"].as_str().unwrap().to_string(),
        v["job_id"].as_str().unwrap().to_string(),
    );
    check(&run(&["job", "wait", &file]), 0, &["esriJobSucceeded"]);
    check(&run(&["job", "status", &url]), 0, &["esriJobSucceeded"]);
    check(
        &run(&["job", "status", &id, "--task", &task]),
        0,
        &["esriJobSucceeded"],
    );
    check(&run(&["job", "results", &url]), 0, &["Elapsed"]);
    check(&run(&["job", "messages", &url]), 0, &[]);
    check(
        &run(&["job", "fetch", &url, "--out", out, "--format", "geojson"]),
        0,
        &["Elapsed"],
    );
    // arcpy's form with its credentials is taken by `job` too (with a job id).
    let arcpy = format!("{};GP/Utilities;alice;wonder", s.url("/arcgis/services"));
    let o = gp(&[
        "run",
        &arcpy,
        "--tool",
        "Wait",
        "Seconds=30",
        "--no-wait",
        "--json",
        "--out",
        out,
    ]);
    check(&o, 0, &[]);
    let id = json(&o)["job_id"].as_str().unwrap().to_string();
    let o = gp(&[
        "job", "cancel", &id, "--task", &arcpy, "--tool", "Wait", "--json",
    ]);
    check(&o, 0, &[]);
    assert!(json(&o)["status"].as_str().unwrap().contains("Cancel"));
    // Without credentials: refused by the server, exit 3.
    check(&gp(&["job", "status", &url]), 3, &[]);
    rt.block_on(s.shutdown());
}

/// A job `j1` of task `T` that has succeeded, with feature output `Out` answered by
/// `result`; submits are counted by the server.
async fn scripted(result: fn() -> Reply, task_params: &'static str) -> ScriptedServer {
    ScriptedServer::start(move |r| {
        let p = r.path.as_str();
        if p.ends_with("/GPServer") {
            Reply::json(r#"{"currentVersion": 11.3, "tasks": ["T"], "executionType": "esriExecutionTypeAsynchronous", "resultMapServerName": ""}"#)
        } else if p.ends_with("/GPServer/T") {
            Reply::json(format!(r#"{{"name": "T", "parameters": [{task_params}]}}"#))
        } else if p.ends_with("/submitJob") {
            Reply::json(r#"{"jobId": "j1", "jobStatus": "esriJobSubmitted"}"#)
        } else if p.ends_with("/jobs/j1") {
            Reply::json(r#"{"jobId": "j1", "jobStatus": "esriJobSucceeded"}"#)
        } else if p.ends_with("/results/Out") {
            result()
        } else {
            Reply::with(404, "text/plain", "no")
        }
    })
    .await
    .unwrap()
}

const FEATURE_OUT: &str = r#"{"name": "Out", "dataType": "GPFeatureRecordSetLayer", "direction": "esriGPParameterDirectionOutput"}"#;

fn big_result() -> Vec<u8> {
    let mut s = r#"{"paramName": "Out", "dataType": "GPFeatureRecordSetLayer", "value": {"geometryType": "esriGeometryPoint", "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"}], "features": ["#.to_string();
    for i in 0..100_000 {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"attributes": {{"OBJECTID": {}}}, "geometry": {{"x": {i}, "y": 2}}}}"#,
            i + 1
        ));
    }
    s.push_str("]}}");
    s.into_bytes()
}

/// Defect 3: Ctrl-C while the outputs are saved stops it and leaves no partial file.
#[test]
fn ctrl_c_while_saving_stops_and_removes_partial_files() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(scripted(
        || {
            let body = big_result();
            Reply::Stall {
                send: body.len() / 2,
                body,
                stall: Duration::from_secs(60),
            }
        },
        FEATURE_OUT,
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_gp"))
        .args([
            "run",
            &s.url("/arcgis/rest/services/S/GPServer/T"),
            "--out",
            out.to_str().unwrap(),
            "--format",
            "fgb",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if s.count("/results/Out") > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    std::thread::sleep(Duration::from_millis(400));
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let o = child.wait_with_output().unwrap();
    check(&o, 1, &["saving the outputs stopped"]);
    assert!(names(&out).is_empty(), "{:?}", names(&out));
}

/// Defect 4: the scratch workspace as arcpy picks it, and where files went is said.
#[test]
fn the_scratch_workspace_follows_arcpy() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt
        .block_on(gp_server::Server::start(Default::default()))
        .unwrap();
    let slope = s.url("/arcgis/rest/services/SlopeByVal/GPServer/RunSlope");
    let dir = tempfile::tempdir().unwrap();
    let (out, env_ws, flag_ws) = (
        dir.path().join("out"),
        dir.path().join("env"),
        dir.path().join("flag"),
    );
    let run = |extra: &[&str], env: Option<&Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gp"));
        c.args([
            "run",
            &slope,
            "Input_DEM=sample_dem",
            "--out",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .env_remove("GP_SCRATCH_WORKSPACE");
        if let Some(e) = env {
            c.env("GP_SCRATCH_WORKSPACE", e);
        }
        c.output().unwrap()
    };
    check(
        &run(&[], Some(&env_ws)),
        0,
        &["scratch workspace", env_ws.to_str().unwrap()],
    );
    assert!(env_ws.join("Output_Slope.tif").is_file());
    check(
        &run(&["--scratch", flag_ws.to_str().unwrap()], Some(&env_ws)),
        0,
        &[flag_ws.to_str().unwrap()],
    );
    assert!(flag_ws.join("Output_Slope.tif").is_file());
    check(&run(&[], None), 0, &[out.to_str().unwrap()]);
    assert!(out.join("Output_Slope.tif").is_file());
    // A second run keeps the first file: the new one is numbered.
    check(&run(&[], None), 0, &["Output_Slope_1.tif"]);
    rt.block_on(s.shutdown());
}

/// Defect 5: options are checked before anything is submitted.
#[test]
fn bad_options_are_refused_before_submitting() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(scripted(|| Reply::Reset, FEATURE_OUT));
    let task = s.url("/arcgis/rest/services/S/GPServer/T");
    check(
        &gp(&["run", &task, "--format", "foo"]),
        2,
        &["--format `foo`"],
    );
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("map.png");
    std::fs::write(&img, "mine").unwrap();
    check(
        &gp(&["run", &task, "--map-image", img.to_str().unwrap()]),
        2,
        &["exists already"],
    );
    check(&gp(&["run", &task, "--timeout", "soon"]), 2, &["soon"]);
    assert_eq!(s.count("/submitJob"), 0, "nothing was submitted");
    // An output file that is there already: refused before the job runs.
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("Out.fgb"), "mine").unwrap();
    check(
        &gp(&[
            "run",
            &task,
            "--format",
            "fgb",
            "--out",
            out.to_str().unwrap(),
        ]),
        2,
        &["exists already", "--overwrite"],
    );
    assert_eq!(s.count("/submitJob"), 0, "nothing was submitted");
    assert_eq!(std::fs::read(out.join("Out.fgb")).unwrap(), b"mine");
    // The same for a layer of the GeoPackage.
    let fs = gp_model::FeatureSet::with_schema(
        Some(gp_model::GeometryType::Point),
        Some(gp_model::SpatialReference::from_wkid(4326)),
        vec![gp_model::Field::new("OBJECTID", gp_model::FieldType::Oid)],
    );
    gp_features::save(&fs, out.join("outputs.gpkg/Out")).unwrap();
    check(
        &gp(&["run", &task, "--out", out.to_str().unwrap()]),
        2,
        &["outputs.gpkg", "exists already"],
    );
    assert_eq!(s.count("/submitJob"), 0, "nothing was submitted");
    // --no-wait with a synchronous tool: refused before it runs.
    let server = rt
        .block_on(gp_server::Server::start(Default::default()))
        .unwrap();
    let sync = server.url("/arcgis/rest/services/GP/BufferSync/GPServer/BufferPoints");
    check(
        &gp(&["run", &sync, "Distance=5 feet", "--no-wait"]),
        2,
        &["is synchronous"],
    );
    rt.block_on(server.shutdown());
}

/// Defect 6: every command with --json prints exactly one JSON document, errors too.
#[test]
fn json_means_one_document_from_every_command() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt
        .block_on(gp_server::Server::start(Default::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let wait = s.url("/arcgis/rest/services/GP/Utilities/GPServer/Wait");
    let v = json(&gp(&[
        "run",
        &wait,
        "Seconds=30",
        "--no-wait",
        "--json",
        "--out",
        out,
    ]));
    let url = v["job_url"].as_str().unwrap();
    let v = json(&gp(&["job", "cancel", url, "--json"]));
    assert!(v["status"].as_str().unwrap().contains("Cancel"), "{v}");
    let v = json(&gp(&["run", &wait, "Seconds=0", "--json", "--out", out]));
    let done = v["job_url"].as_str().unwrap().to_string();
    for args in [
        vec!["job", "results", &done, "--json"],
        vec!["job", "status", &done, "--json"],
        vec!["job", "messages", &done, "--json"],
        vec!["job", "wait", &done, "--json"],
    ] {
        let o = gp(&args);
        check(&o, 0, &[]);
        json(&o);
    }
    assert!(json(&gp(&["job", "results", &done, "--json"]))["Elapsed"].is_number());
    let services = s.url("/arcgis/rest/services");
    json(&gp(&["services", &services, "--json"]));
    json(&gp(&["info", &wait, "--json"]));
    // An error is one document too, with the exit code.
    let o = gp(&["job", "status", &format!("{wait}/jobs/nope"), "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(json(&o)["error"]["exit_code"], 3);
    rt.block_on(s.shutdown());
}

/// Defect 7: messages that say what is wrong.
#[test]
fn messages_say_what_is_wrong() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(scripted(
        || Reply::Reset,
        r#"{"name": "N", "dataType": "GPLong", "direction": "esriGPParameterDirectionInput", "filter": {"type": "range", "minimum": 1, "maximum": 10}},
           {"name": "F", "dataType": "GPFeatureRecordSetLayer", "direction": "esriGPParameterDirectionInput", "parameterType": "esriGPParameterTypeOptional"}"#,
    ));
    let task = s.url("/arcgis/rest/services/S/GPServer/T");
    check(
        &gp(&["run", &task, "N=11"]),
        2,
        &["11 is outside the range 1 to 10"],
    );
    check(
        &gp(&["run", &task, "N=2", "F=roads.shp"]),
        2,
        &["the file `roads.shp` does not exist"],
    );
    check(
        &gp(&["services", &s.url("/arcgis/rest/services/S/GPServer")]),
        0,
        &["is a GP service, not a services directory", "  T"],
    );
    check(
        &gp(&["info", &s.url("/arcgis/rest/services")]),
        2,
        &["is a services directory"],
    );
    assert_eq!(s.count("/submitJob"), 0);
}

/// Defect 9: a closed pipe ends `gp` quietly.
#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("r.tif");
    let r = gp_raster::Raster::new(2, 1, 1, gp_raster::RasterData::F32(vec![1.0, 2.0])).unwrap();
    gp_raster::write_geotiff(&tif, &r, &Default::default()).unwrap();
    let tif = tif.to_str().unwrap();
    for args in [
        vec!["raster", "info", tif, "--stats"],
        vec!["completions", "bash"],
    ] {
        // The reading end is closed before gp starts: every write meets a closed pipe.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = Command::new(env!("CARGO_BIN_EXE_gp"))
            .args(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.trim().is_empty(), "gp {args:?}: {err}");
        assert_eq!(o.status.code(), Some(0), "gp {args:?}: {err}");
    }
}

/// Defect 11: --process-sr, --extent, --return-z and --return-m reach the server.
#[test]
fn processing_options_reach_the_server() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(scripted(
        || Reply::json(r#"{"paramName": "Out", "dataType": "GPDouble", "value": 1}"#),
        r#"{"name": "Out", "dataType": "GPDouble", "direction": "esriGPParameterDirectionOutput"}"#,
    ));
    let task = s.url("/arcgis/rest/services/S/GPServer/T");
    let dir = tempfile::tempdir().unwrap();
    let o = gp(&[
        "run",
        &task,
        "--out-sr",
        "4326",
        "--process-sr",
        "3857",
        "--extent",
        "-10, 40, 5, 52",
        "--return-z",
        "true",
        "--return-m",
        "false",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    check(&o, 0, &["Out: 1"]);
    let submit = s
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/submitJob"))
        .unwrap();
    let form: std::collections::HashMap<String, String> = url::form_urlencoded::parse(&submit.body)
        .into_owned()
        .collect();
    let ctx: serde_json::Value = serde_json::from_str(&form["context"]).unwrap();
    assert_eq!(ctx["outSR"]["wkid"], 4326, "{ctx}");
    assert_eq!(ctx["processSR"]["wkid"], 3857, "{ctx}");
    assert_eq!(ctx["extent"]["xmin"], -10.0, "{ctx}");
    assert_eq!(ctx["extent"]["ymax"], 52.0, "{ctx}");
    assert_eq!(form["returnZ"], "true");
    assert_eq!(form["returnM"], "false");
}

/// `--ca-cert` makes `gp serve --tls` (or a corporate CA) trusted, on every command.
#[test]
fn a_ca_certificate_is_trusted_when_given() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt
        .block_on(gp_server::Server::start(gp_server::ServerConfig {
            tls: true,
            ..Default::default()
        }))
        .unwrap();
    let pem = s.cert_pem().unwrap().to_str().unwrap().to_string();
    let services = s.url("/arcgis/rest/services");
    assert!(services.starts_with("https://"), "{services}");
    check(&gp(&["services", &services]), 3, &[]);
    check(
        &gp(&["services", &services, "--ca-cert", &pem]),
        0,
        &["GP/"],
    );
    check(
        &gp(&[
            "info",
            &format!("{};GP/Utilities", s.url("/arcgis/services")),
            "--ca-cert",
            &pem,
        ]),
        0,
        &["Wait"],
    );
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("cert.txt");
    std::fs::write(&not_pem, "hello").unwrap();
    check(
        &gp(&[
            "services",
            &services,
            "--ca-cert",
            not_pem.to_str().unwrap(),
        ]),
        2,
        &["is not a PEM certificate"],
    );
    rt.block_on(s.shutdown());
}

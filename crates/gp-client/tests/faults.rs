//! The client against a scripted server over real sockets: status polls that ride
//! out every transient failure, a submitJob whose answer is lost, tokens that stay on
//! their origin, downloads that are checked and never replace a file, and saving
//! that leaves nothing behind when it stops half way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gp_client::*;
use gp_model::JobStatus;
use gp_transport::testing::{Recorded, Reply, ScriptedServer};

const SERVICE: &str = "/arcgis/rest/services/S/GPServer";

fn task_json(out_type: &str) -> String {
    format!(
        r#"{{"name": "T", "parameters": [{{"name": "Out", "dataType": "{out_type}", "direction": "esriGPParameterDirectionOutput"}}]}}"#
    )
}

/// A GP service with one async task `T` whose output `Out` is of `out_type`; job
/// `j1`'s status answers come from `status`, its result from `result`, other paths
/// from `other`.
async fn service(
    out_type: &'static str,
    status: impl Fn(usize) -> Reply + Send + Sync + 'static,
    result: impl Fn() -> Reply + Send + Sync + 'static,
    other: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
) -> ScriptedServer {
    let polls = AtomicUsize::new(0);
    ScriptedServer::start(move |r| {
        let p = r.path.as_str();
        if p == SERVICE {
            Reply::json(r#"{"currentVersion": 11.3, "tasks": ["T"], "executionType": "esriExecutionTypeAsynchronous", "resultMapServerName": ""}"#)
        } else if p == format!("{SERVICE}/T") {
            Reply::json(task_json(out_type))
        } else if p.ends_with("/T/submitJob") {
            Reply::json(r#"{"jobId": "j1", "jobStatus": "esriJobSubmitted"}"#)
        } else if p.ends_with("/T/jobs/j1") {
            status(polls.fetch_add(1, Ordering::SeqCst))
        } else if p.ends_with("/T/jobs/j1/results/Out") {
            result()
        } else {
            other(r)
        }
    })
    .await
    .unwrap()
}

fn succeeded() -> Reply {
    Reply::json(r#"{"jobId": "j1", "jobStatus": "esriJobSucceeded"}"#)
}

fn fast() -> PollPolicy {
    PollPolicy {
        min: Duration::from_millis(1),
        max: Duration::from_millis(20),
        ..Default::default()
    }
}

async fn run(server: &ScriptedServer, client: &Client) -> GpResult {
    let tb = client.import(&server.url(SERVICE)).await.unwrap();
    tb.tool("T").unwrap().run(Params::new()).await.unwrap()
}

#[track_caller]
fn check_poll_fault(name: &'static str, fault: fn() -> Reply) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let s = service(
            "GPDouble",
            move |n| if n < 2 { fault() } else { succeeded() },
            || Reply::json(r#"{"paramName": "Out", "dataType": "GPDouble", "value": 1}"#),
            |_| Reply::Reset,
        )
        .await;
        let r = run(&s, &Client::http().unwrap()).await;
        let st = r
            .wait_with(fast())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(st, JobStatus::Succeeded, "{name}");
        assert_eq!(s.count("/submitJob"), 1, "{name}: submitted once");
        assert!(s.count("/jobs/j1") >= 3, "{name}");
    });
}

#[test]
fn status_polls_ride_out_every_transient_failure() {
    check_poll_fault("truncated body", || Reply::Truncated {
        status: 200,
        body: br#"{"jobId": "j1", "jobStatus": "esriJobExecuting", "messages": []}"#.to_vec(),
        send: 20,
    });
    check_poll_fault("invalid JSON", || Reply::json(r#"{"jobId": "j1", "jobSta"#));
    check_poll_fault("an HTML page", || {
        Reply::with(
            200,
            "text/html",
            "<!DOCTYPE html><title>Proxy login</title>",
        )
    });
    check_poll_fault("429", || Reply::with(429, "text/plain", "slow down"));
    check_poll_fault("502", || {
        Reply::with(502, "text/html", "<html>bad gateway</html>")
    });
    check_poll_fault("503", || Reply::with(503, "text/plain", "unavailable"));
    check_poll_fault("504", || Reply::with(504, "text/plain", "gateway timeout"));
    check_poll_fault("a reset", || Reply::Reset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_gives_up_after_a_bounded_time_and_names_the_job() {
    let s = service(
        "GPDouble",
        |_| Reply::with(200, "text/html", "<html>maintenance</html>"),
        || Reply::Reset,
        |_| Reply::Reset,
    )
    .await;
    let r = run(&s, &Client::http().unwrap()).await;
    let e = r
        .wait_with(PollPolicy {
            give_up_after: Duration::from_millis(300),
            ..fast()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PollGaveUp { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&s.url(&format!("{SERVICE}/T/jobs/j1"))),
        "{e}"
    );
    // A deadline ends the wait too, and says where the job goes on.
    let s = service(
        "GPDouble",
        |_| Reply::json(r#"{"jobId": "j1", "jobStatus": "esriJobExecuting"}"#),
        || Reply::Reset,
        |_| Reply::Reset,
    )
    .await;
    let r = run(&s, &Client::http().unwrap()).await;
    let e = r
        .wait_with(PollPolicy {
            timeout: Some(Duration::from_millis(200)),
            ..fast()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, Error::WaitTimeout { .. }), "{e}");
    assert!(e.to_string().contains("/jobs/j1"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_submit_answer_is_reported_and_never_resent() {
    let s = ScriptedServer::start(|r| {
        let p = r.path.as_str();
        if p == SERVICE {
            Reply::json(r#"{"tasks": ["T"], "executionType": "esriExecutionTypeAsynchronous"}"#)
        } else if p == format!("{SERVICE}/T") {
            Reply::json(task_json("GPDouble"))
        } else {
            Reply::Reset
        }
    })
    .await
    .unwrap();
    let tb = Client::http()
        .unwrap()
        .import(&s.url(SERVICE))
        .await
        .unwrap();
    let e = tb.tool("T").unwrap().run(Params::new()).await.unwrap_err();
    assert!(matches!(e, Error::AnswerLost { .. }), "{e:?}");
    assert!(e.to_string().contains("may have started"), "{e}");
    assert_eq!(s.count("/submitJob"), 1, "never sent twice");
}

/// A file server on another port: `/files/<name>` gives `files(name)`.
async fn files(f: fn(&str) -> Reply) -> ScriptedServer {
    ScriptedServer::start(move |r| f(r.path.trim_start_matches("/files/")))
        .await
        .unwrap()
}

fn tiff() -> Vec<u8> {
    let mut b = b"II*\0".to_vec();
    b.extend_from_slice(&[0u8; 60]);
    b
}

/// A service whose raster output points at `url`.
async fn raster_service(url: String) -> ScriptedServer {
    let value = format!(
        r#"{{"paramName": "Out", "dataType": "GPRasterDataLayer", "value": {{"url": "{url}"}}}}"#
    );
    service(
        "GPRasterDataLayer",
        |_| succeeded(),
        move || Reply::json(value.clone()),
        |_| Reply::Reset,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_reaches_a_second_origin() {
    let b = files(|_| Reply::with(200, "image/tiff", tiff())).await;
    let a = raster_service(b.url("/files/out.tif")).await;
    let client = Client::builder().token("s3cret-token").build().unwrap();
    let r = run(&a, &client).await;
    r.wait_with(fast()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = r
        .download("Out", &gp_fs::ScratchWorkspace::at(dir.path()))
        .await
        .unwrap();
    assert_eq!(std::fs::read(p).unwrap(), tiff());
    for req in a.requests() {
        assert_eq!(
            req.header("x-esri-authorization"),
            Some("Bearer s3cret-token"),
            "{}",
            req.path
        );
    }
    let to_b = b.requests();
    assert_eq!(to_b.len(), 1);
    let leaked = format!("{to_b:?}");
    assert!(!leaked.contains("s3cret"), "{leaked}");
    // Unless the user trusts that host.
    let trusting = Client::builder()
        .token("s3cret-token")
        .trust_host("127.0.0.1")
        .build()
        .unwrap();
    let r = run(&a, &trusting).await;
    r.wait_with(fast()).await.unwrap();
    r.download("Out", &gp_fs::ScratchWorkspace::at(dir.path()))
        .await
        .unwrap();
    assert_eq!(
        b.requests()[1].header("x-esri-authorization"),
        Some("Bearer s3cret-token")
    );
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_never_replace_a_file_and_are_what_they_say() {
    let b = files(|name| match name {
        "out.tif" | ".bashrc" => Reply::with(200, "image/tiff", tiff()),
        "login.tif" => Reply::with(200, "text/html", "<!DOCTYPE html><form>Sign in</form>"),
        "error.tif" => Reply::json(r#"{"error": {"code": 500, "message": "boom"}}"#),
        _ => Reply::with(404, "text/plain", "no such file"),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ws = gp_fs::ScratchWorkspace::at(dir.path());
    std::fs::write(dir.path().join("out.tif"), "mine").unwrap();
    let a = raster_service(b.url("/files/out.tif")).await;
    let client = Client::http().unwrap();
    let r = run(&a, &client).await;
    r.wait_with(fast()).await.unwrap();
    let p = r.download("Out", &ws).await.unwrap();
    assert_eq!(p.file_name().unwrap(), "out_1.tif");
    assert_eq!(std::fs::read(dir.path().join("out.tif")).unwrap(), b"mine");
    let p = r
        .download_with("Out", &ws, true, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(p.file_name().unwrap(), "out.tif", "replaced when asked");
    let before = names(dir.path());
    for (name, want) in [
        ("login.tif", "HTML page"),
        ("error.tif", "boom"),
        (".bashrc", "starts with a dot"),
        ("gone.tif", "404"),
    ] {
        let a = raster_service(b.url(&format!("/files/{name}"))).await;
        let r = run(&a, &client).await;
        r.wait_with(fast()).await.unwrap();
        let e = r.download("Out", &ws).await.unwrap_err();
        assert!(e.to_string().contains(want), "{name}: {e}");
        assert_eq!(names(dir.path()), before, "{name}: nothing saved");
    }
}

const FEATURES_HEAD: &str = r#"{"paramName": "Out", "dataType": "GPFeatureRecordSetLayer", "value": {"geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 4326}, "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"}], "features": ["#;

fn feature_body(n: usize) -> Vec<u8> {
    let mut s = FEATURES_HEAD.to_string();
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"attributes": {{"OBJECTID": {}}}, "geometry": {{"x": {i}, "y": 1}}}}"#,
            i + 1
        ));
    }
    s.push_str("]}}");
    s.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_that_stops_half_way_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SaveOptions {
        format: gp_features::Format::FlatGeobuf,
        sync: false,
        ..Default::default()
    };
    // A body that stalls: the save is dropped (as Ctrl-C does) while it streams.
    let s = service(
        "GPFeatureRecordSetLayer",
        |_| succeeded(),
        || {
            let body = feature_body(50_000);
            Reply::Stall {
                send: body.len() / 2,
                body,
                stall: Duration::from_secs(30),
            }
        },
        |_| Reply::Reset,
    )
    .await;
    let r = run(&s, &Client::http().unwrap()).await;
    r.wait_with(fast()).await.unwrap();
    let t = tokio::time::timeout(
        Duration::from_millis(700),
        r.save_outputs(dir.path(), &opts),
    );
    assert!(t.await.is_err(), "still streaming");
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    // A body cut short: an error, and nothing saved.
    let s = service(
        "GPFeatureRecordSetLayer",
        |_| succeeded(),
        || {
            let body = feature_body(50_000);
            Reply::Truncated {
                status: 200,
                send: body.len() - 100,
                body,
            }
        },
        |_| Reply::Reset,
    )
    .await;
    let r = run(&s, &Client::http().unwrap()).await;
    r.wait_with(fast()).await.unwrap();
    let e = r.save_outputs(dir.path(), &opts).await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    // Whole: streamed into the file; a second save does not replace it.
    let s = service(
        "GPFeatureRecordSetLayer",
        |_| succeeded(),
        || Reply::with(200, "application/json", feature_body(50_000)),
        |_| Reply::Reset,
    )
    .await;
    let r = run(&s, &Client::http().unwrap()).await;
    r.wait_with(fast()).await.unwrap();
    let saved = r.save_outputs(dir.path(), &opts).await.unwrap();
    assert!(
        matches!(
            saved[0].saved,
            Saved::Features {
                features: 50_000,
                streamed: true,
                ..
            }
        ),
        "{saved:?}"
    );
    let before = std::fs::read(dir.path().join("Out.fgb")).unwrap();
    let e = r.save_outputs(dir.path(), &opts).await.unwrap_err();
    assert!(e.to_string().contains("exists"), "{e}");
    assert_eq!(std::fs::read(dir.path().join("Out.fgb")).unwrap(), before);
    assert_eq!(names(dir.path()), ["Out.fgb"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_cut_at_the_transfer_limit_says_so() {
    let s = service(
        "GPFeatureRecordSetLayer",
        |_| succeeded(),
        || {
            let mut body = FEATURES_HEAD.to_string();
            body.push_str(r#"], "exceededTransferLimit": true}}"#);
            Reply::json(body)
        },
        |_| Reply::Reset,
    )
    .await;
    let r = run(&s, &Client::http().unwrap()).await;
    r.wait_with(fast()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let saved = r
        .save_outputs(dir.path(), &SaveOptions::default())
        .await
        .unwrap();
    assert!(
        matches!(
            saved[0].saved,
            Saved::Features {
                features: 0,
                streamed: true,
                exceeded_transfer_limit: true,
                ..
            }
        ),
        "{saved:?}"
    );
    assert!(
        r.messages()
            .iter()
            .any(|m| m.description.contains("transfer limit")),
        "{:?}",
        r.messages()
    );
}

//! The job manager over HTTP: progress, queue, cancel, timeout, failure, echo,
//! persistence across restarts, expiry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::time::{Duration, Instant};

use common::*;
use gp_server::ServerConfig;
use serde_json::json;

async fn status_of(s: &Srv, job: &str) -> String {
    s.get(&format!("{job}?f=json")).await["jobStatus"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn wait_for_status(s: &Srv, job: &str, want: &str) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let v = s.get(&format!("{job}?f=json")).await;
        if v["jobStatus"] == want {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never {want}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_queue_and_cancel() {
    let s = start(ServerConfig {
        workers: 1,
        ..Default::default()
    })
    .await;
    let task = s.svc("GP/Utilities/GPServer/Wait");
    let first = s.submit(&task, &[("Seconds", "30")]).await;
    let running = wait_for_status(&s, &first, "esriJobExecuting").await;
    // Progress while executing.
    let mut seen_percent = false;
    for _ in 0..50 {
        let v = s.get(&format!("{first}?f=json")).await;
        if v["progress"]["percent"].is_number() {
            assert_eq!(v["progress"]["type"], "step");
            seen_percent = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen_percent, "no progress in {running}");
    // One worker: the second job waits.
    let second = s.submit(&task, &[("Seconds", "0.05")]).await;
    wait_for_status(&s, &second, "esriJobWaiting").await;
    // Cancel the running job: it stops promptly and the queued one runs.
    let t0 = Instant::now();
    let c = s.get(&format!("{first}/cancel?f=json")).await;
    assert!(
        c["jobStatus"] == "esriJobCancelling" || c["jobStatus"] == "esriJobCancelled",
        "{c}"
    );
    let end = s.wait(&first).await;
    assert_eq!(end["jobStatus"], "esriJobCancelled");
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "cancel took {:?}",
        t0.elapsed()
    );
    assert!(end.get("results").is_none());
    let done = s.wait(&second).await;
    assert_eq!(done["jobStatus"], "esriJobSucceeded", "{done}");
    let elapsed = s.get(&format!("{second}/results/Elapsed?f=json")).await;
    assert!(elapsed["value"].as_f64().unwrap() >= 0.05);
    // A waiting job can be cancelled before it starts.
    let long = s.submit(&task, &[("Seconds", "30")]).await;
    wait_for_status(&s, &long, "esriJobExecuting").await;
    let queued = s.submit(&task, &[("Seconds", "1")]).await;
    wait_for_status(&s, &queued, "esriJobWaiting").await;
    s.get(&format!("{queued}/cancel?f=json")).await;
    assert_eq!(s.wait(&queued).await["jobStatus"], "esriJobCancelled");
    s.get(&format!("{long}/cancel?f=json")).await;
    assert_eq!(s.wait(&long).await["jobStatus"], "esriJobCancelled");
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_and_failure() {
    let s = start(ServerConfig {
        task_timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    })
    .await;
    let job = s
        .submit(&s.svc("GP/Utilities/GPServer/Wait"), &[("Seconds", "20")])
        .await;
    let v = s.wait(&job).await;
    assert_eq!(v["jobStatus"], "esriJobTimedOut", "{v}");
    let job = s.submit(&s.svc("GP/Utilities/GPServer/Fail"), &[]).await;
    let v = s.wait(&job).await;
    assert_eq!(v["jobStatus"], "esriJobFailed");
    let errors: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == "esriJobMessageTypeError")
        .map(|m| m["description"].as_str().unwrap())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("failed on purpose")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("Failed to execute (Fail)")),
        "{errors:?}"
    );
    let r = s.get(&format!("{job}/results/anything?f=json")).await;
    assert_eq!(error_code(&r), Some(400));
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_types_round_trip() {
    let s = start_default().await;
    let task = s.svc("GP/Utilities/GPServer/EchoTypes");
    let values = [
        ("String", json!("héllo; world")),
        ("Long", json!(4_503_599_627_370_495_i64)),
        ("Double", json!(-1.5e-7)),
        ("Boolean", json!(false)),
        ("Date", json!(1_700_000_000_123_i64)),
        (
            "LinearUnit",
            json!({"distance": 3.5, "units": "esriNauticalMiles"}),
        ),
        ("ArealUnit", json!({"area": 7.0, "units": "esriHectares"})),
        (
            "TimeUnit",
            json!({"time": 2.0, "units": "esriTimeUnitsWeeks"}),
        ),
        (
            "Field",
            json!({"name": "Pop", "type": "esriFieldTypeInteger", "alias": "Pop"}),
        ),
        ("DataFile", json!({"url": "http://example.org/a.zip"})),
        (
            "RecordSet",
            json!({"fields": [{"name": "Value", "type": "esriFieldTypeDouble", "alias": "Value"}], "features": [{"attributes": {"Value": 2.5}}]}),
        ),
        (
            "FeatureSet",
            json!({"geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 4326}, "fields": [], "features": [{"geometry": {"x": 1.0, "y": 2.0}, "attributes": {}}]}),
        ),
        (
            "Raster",
            json!({"url": "http://example.org/dem.tif", "format": "tif"}),
        ),
        ("MultiValue", json!(["x", "y", "z"])),
        ("ValueTable", json!([["a", 1], ["b", 2]])),
        ("SpatialReference", json!({"wkid": 3857})),
        (
            "Extent",
            json!({"xmin": 1.0, "ymin": 2.0, "xmax": 3.0, "ymax": 4.0, "spatialReference": {"wkid": 4326}}),
        ),
    ];
    let texts: Vec<(String, String)> = values
        .iter()
        .map(|(k, v)| {
            (
                format!("In_{k}"),
                match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            )
        })
        .collect();
    let form: Vec<(&str, &str)> = texts
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let job = s.submit(&task, &form).await;
    let st = s.wait(&job).await;
    assert_eq!(st["jobStatus"], "esriJobSucceeded", "{st}");
    for (k, v) in &values {
        let r = s.get(&format!("{job}/results/Out_{k}?f=json")).await;
        let got = &r["value"];
        match *k {
            // Feature and record sets come back with exceededTransferLimit.
            "RecordSet" | "FeatureSet" => assert_eq!(got["features"], v["features"], "{k}: {r}"),
            _ => assert_eq!(got, v, "{k}: {r}"),
        }
    }
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_survive_a_restart_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || ServerConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let s = start(cfg()).await;
    let task_path = "/arcgis/rest/services/SlopeByVal/GPServer/RunSlope";
    let job = s
        .submit(&s.url(task_path), &[("Input_DEM", "sample_dem")])
        .await;
    assert_eq!(s.wait(&job).await["jobStatus"], "esriJobSucceeded");
    let running = s
        .submit(&s.svc("GP/Utilities/GPServer/Wait"), &[("Seconds", "60")])
        .await;
    wait_for_status(&s, &running, "esriJobExecuting").await;
    let rel = job.split("/arcgis").nth(1).unwrap().to_string();
    let rel_running = running.split("/arcgis").nth(1).unwrap().to_string();
    let data = s
        .get(&format!(
            "{job}/results/Output_Slope?f=json&returnType=data"
        ))
        .await;
    s.server.shutdown().await;
    // Restart on the same data dir (a new port).
    let s = start(cfg()).await;
    let job = s.url(&format!("/arcgis{rel}"));
    assert_eq!(status_of(&s, &job).await, "esriJobSucceeded");
    let again = s
        .get(&format!(
            "{job}/results/Output_Slope?f=json&returnType=data"
        ))
        .await;
    let file = |v: &serde_json::Value| {
        v["value"]["url"]
            .as_str()
            .unwrap()
            .split("/arcgis")
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(file(&again), file(&data));
    let tif = s
        .http
        .get(again["value"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(tif.status(), 200);
    assert!(tif.bytes().await.unwrap().len() > 1000);
    // The job that was running when the server stopped is reported as failed, with a reason.
    let v = s.get(&s.url(&format!("/arcgis{rel_running}?f=json"))).await;
    assert_eq!(v["jobStatus"], "esriJobFailed");
    assert!(v["messages"].to_string().contains("server stopped"), "{v}");
    s.server.shutdown().await;
    // Expiry removes finished jobs and their files.
    let s = start(ServerConfig {
        job_expiry: Duration::from_millis(100),
        ..cfg()
    })
    .await;
    let job = s.url(&format!("/arcgis{rel}"));
    let start = Instant::now();
    loop {
        let v = s.get(&format!("{job}?f=json")).await;
        if error_code(&v) == Some(404) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "not expired: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let id = rel.rsplit('/').next().unwrap();
    assert!(
        !dir.path()
            .join("arcgisjobs/slopebyval_gpserver")
            .join(id)
            .exists()
    );
    s.server.shutdown().await;
}

/// Long polling: async services advertise `jobStatusWaitSeconds`; a status request
/// with `waitSeconds` is answered when the job ends (here: one request sees the end
/// of a 0.3 s job), a bad value is refused naming the parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_requests_can_wait_for_the_end() {
    let s = start_default().await;
    let meta = s.get(&s.svc("GP/Utilities/GPServer?f=json")).await;
    assert_eq!(meta["jobStatusWaitSeconds"], 20.0, "{meta}");
    let sync = s.get(&s.svc("GP/BufferSync/GPServer?f=json")).await;
    assert!(sync.get("jobStatusWaitSeconds").is_none(), "{sync}");
    let job = s
        .submit(&s.svc("GP/Utilities/GPServer/Wait"), &[("Seconds", "0.3")])
        .await;
    let v = s.get(&format!("{job}?f=json&waitSeconds=15")).await;
    assert_eq!(v["jobStatus"], "esriJobSucceeded", "{v}");
    let v = s.get(&format!("{job}?f=json&waitSeconds=soon")).await;
    assert_eq!(error_code(&v), Some(400), "{v}");
    assert!(v.to_string().contains("waitSeconds"), "{v}");
}

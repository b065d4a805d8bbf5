//! The OGC API – Processes face: documents, synchronous and asynchronous execution,
//! jobs shared with the GP REST face, results, dismiss, and problem details.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

async fn ogc_get(s: &Srv, path: &str) -> (u16, Value) {
    let r = s
        .http
        .get(s.url(&format!("/arcgis/ogc{path}")))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn execute(s: &Srv, process: &str, body: &Value, prefer_async: bool) -> reqwest::Response {
    let mut req = s
        .http
        .post(s.url(&format!("/arcgis/ogc/processes/{process}/execution")))
        .json(body);
    if prefer_async {
        req = req.header("prefer", "respond-async");
    }
    req.send().await.unwrap()
}

/// Polls an OGC job until it ends; its last statusInfo.
async fn wait(s: &Srv, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let (code, v) = ogc_get(s, &format!("/jobs/{id}")).await;
        assert_eq!(code, 200, "{v}");
        if matches!(
            v["status"].as_str(),
            Some("successful" | "failed" | "dismissed")
        ) {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documents_describe_the_tasks_as_processes() {
    let s = start_default().await;
    let (code, landing) = ogc_get(&s, "").await;
    assert_eq!(code, 200);
    let rels: Vec<&str> = landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["rel"].as_str())
        .collect();
    for want in [
        "service-desc",
        "http://www.opengis.net/def/rel/ogc/1.0/conformance",
        "http://www.opengis.net/def/rel/ogc/1.0/processes",
        "http://www.opengis.net/def/rel/ogc/1.0/job-list",
    ] {
        assert!(rels.contains(&want), "{want}: {landing}");
    }
    let (_, conf) = ogc_get(&s, "/conformance").await;
    assert!(
        conf["conformsTo"].as_array().unwrap().contains(&json!(
            "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core"
        )),
        "{conf}"
    );
    let (_, api) = ogc_get(&s, "/api").await;
    assert_eq!(api["openapi"], "3.0.3");
    assert!(api["paths"]["/processes/{processID}/execution"]["post"].is_object());
    let (_, list) = ogc_get(&s, "/processes").await;
    let ids: Vec<&str> = list["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    for want in [
        "echo",
        "bufferbyval.bufferpoints",
        "buffersync.bufferpoints",
        "wait",
        "runslope",
    ] {
        assert!(ids.contains(&want), "{want}: {ids:?}");
    }
    let (code, d) = ogc_get(&s, "/processes/bufferbyval.bufferpoints").await;
    assert_eq!(code, 200);
    assert_eq!(
        d["inputs"]["Input_Features"]["schema"]["oneOf"][0]["format"], "geojson-feature-collection",
        "{d}"
    );
    assert_eq!(d["inputs"]["Input_Features"]["minOccurs"], 1);
    assert_eq!(
        d["inputs"]["Dissolve"]["schema"]["enum"],
        json!(["NONE", "ALL"])
    );
    assert_eq!(
        d["outputs"]["Output_Polygons"]["schema"]["oneOf"][0]["format"],
        "geojson-feature-collection"
    );
    assert_eq!(
        d["jobControlOptions"],
        json!(["sync-execute", "async-execute", "dismiss"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_and_buffer_run_synchronously() {
    let s = start_default().await;
    let body = json!({"inputs": {
        "stringInput": "héllo",
        "doubleInput": {"value": 2.5, "mediaType": "application/json"},
        "boundingBoxInput": {"bbox": [1, 2, 3, 4], "crs": "http://www.opengis.net/def/crs/EPSG/0/3857"},
        "arrayInput": [1, 2, 3]
    }, "response": "document"});
    let r = execute(&s, "echo", &body, false).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["stringOutput"], "héllo", "{v}");
    assert_eq!(v["doubleOutput"], 2.5);
    assert_eq!(v["arrayOutput"], json!([1, 2, 3]));
    assert_eq!(v["boundingBoxOutput"]["bbox"], json!([1.0, 2.0, 3.0, 4.0]));
    assert_eq!(
        v["boundingBoxOutput"]["crs"],
        "http://www.opengis.net/def/crs/EPSG/0/3857"
    );
    // An output asked for by reference is a link to its own resource.
    let body = json!({"inputs": {"stringInput": "by ref", "doubleInput": 1.5},
        "outputs": {"stringOutput": {"transmissionMode": "reference"}}, "response": "document"});
    let v: Value = execute(&s, "echo", &body, false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["doubleOutput"], 1.5, "{v}");
    let href = v["stringOutput"]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"));
    assert!(href.contains("/results/stringOutput"), "{href}");
    assert_eq!(s.get(href).await, json!("by ref"));
    // The same through a job: its results document links it too.
    let r = execute(&s, "echo", &body, true).await;
    let id = r.json::<Value>().await.unwrap()["jobID"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(wait(&s, &id).await["status"], "successful");
    let (_, res) = ogc_get(&s, &format!("/jobs/{id}/results")).await;
    assert!(res["stringOutput"]["href"].is_string(), "{res}");
    let (code, missing) = ogc_get(&s, &format!("/jobs/{id}/results/nope")).await;
    assert_eq!(code, 404, "{missing}");
    // GeoJSON in, GeoJSON out; one output and `raw`: the value itself.
    let fc = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"Name": "a"}, "geometry": {"type": "Point", "coordinates": [10, 50]}},
        {"type": "Feature", "properties": {"Name": "b"}, "geometry": {"type": "Point", "coordinates": [11, 51]}}]});
    let r = execute(
        &s,
        "buffersync.bufferpoints",
        &json!({"inputs": {"Input_Features": fc, "Distance": "1 kilometers"}}),
        false,
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "FeatureCollection", "{v}");
    assert_eq!(v["features"].as_array().unwrap().len(), 2);
    assert_eq!(v["features"][0]["geometry"]["type"], "Polygon");
    assert_eq!(v["features"][0]["properties"]["Name"], "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_jobs_are_shared_with_the_gp_face_and_can_be_dismissed() {
    let s = start_default().await;
    let r = execute(&s, "wait", &json!({"inputs": {"Seconds": 0.2}}), true).await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let info: Value = r.json().await.unwrap();
    let id = info["jobID"].as_str().unwrap().to_string();
    assert!(
        location.ends_with(&format!("/arcgis/ogc/jobs/{id}")),
        "{location}"
    );
    assert_eq!(info["processID"], "wait");
    let (code, early) = ogc_get(&s, &format!("/jobs/{id}/results")).await;
    if code == 404 {
        assert!(
            early["type"]
                .as_str()
                .unwrap()
                .ends_with("result-not-ready"),
            "{early}"
        );
    }
    let done = wait(&s, &id).await;
    assert_eq!(done["status"], "successful", "{done}");
    assert_eq!(done["progress"], 100);
    let (code, res) = ogc_get(&s, &format!("/jobs/{id}/results")).await;
    assert_eq!(code, 200, "{res}");
    assert!(res["Elapsed"].as_f64().unwrap() >= 0.2, "{res}");
    // The same job through the GP REST face, and a GP job in the OGC list.
    let gp = s
        .get(&s.svc(&format!("GP/Utilities/GPServer/Wait/jobs/{id}?f=json")))
        .await;
    assert_eq!(gp["jobStatus"], "esriJobSucceeded", "{gp}");
    let gp_job = s
        .submit(&s.svc("GP/Utilities/GPServer/Wait"), &[("Seconds", "0.1")])
        .await;
    let gp_id = gp_job.rsplit('/').next().unwrap().to_string();
    let (_, jobs) = ogc_get(&s, "/jobs").await;
    let listed: Vec<&str> = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["jobID"].as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&id.as_str()) && listed.contains(&gp_id.as_str()),
        "{jobs}"
    );
    // Dismiss a running job: cancelled, then gone.
    let r = execute(&s, "wait", &json!({"inputs": {"Seconds": 30}}), true).await;
    let id: String = r.json::<Value>().await.unwrap()["jobID"]
        .as_str()
        .unwrap()
        .to_string();
    let d = s
        .http
        .delete(s.url(&format!("/arcgis/ogc/jobs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), 200);
    assert_eq!(d.json::<Value>().await.unwrap()["status"], "dismissed");
    let start = Instant::now();
    loop {
        let (code, _) = ogc_get(&s, &format!("/jobs/{id}")).await;
        if code == 404 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never removed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_problem_details_that_say_what() {
    let s = start_default().await;
    #[track_caller]
    fn check(code: u16, v: &Value, want_code: u16, kind: &str, says: &str) {
        assert_eq!(code, want_code, "{v}");
        assert!(
            v["type"].as_str().unwrap_or_default().ends_with(kind),
            "{v}"
        );
        assert!(
            v["detail"].as_str().unwrap_or_default().contains(says),
            "{v}"
        );
    }
    let (c, v) = ogc_get(&s, "/processes/nope").await;
    check(c, &v, 404, "no-such-process", "nope");
    let (c, v) = ogc_get(&s, "/jobs/j0").await;
    check(c, &v, 404, "no-such-job", "j0");
    let r = execute(&s, "wait", &json!({"inputs": {"Secs": 1}}), false).await;
    let c = r.status().as_u16();
    check(
        c,
        &r.json().await.unwrap(),
        400,
        "invalid-parameter-value",
        "`Secs` is not an input",
    );
    let r = execute(&s, "wait", &json!({"inputs": {"Seconds": "soon"}}), false).await;
    let c = r.status().as_u16();
    check(
        c,
        &r.json().await.unwrap(),
        400,
        "invalid-parameter-value",
        "Seconds",
    );
    let r = s
        .http
        .post(s.url("/arcgis/ogc/processes/wait/execution"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let c = r.status().as_u16();
    check(
        c,
        &r.json().await.unwrap(),
        400,
        "invalid-parameter-value",
        "execute request",
    );
    let r = execute(&s, "wait", &json!([]), false).await;
    let c = r.status().as_u16();
    check(
        c,
        &r.json().await.unwrap(),
        400,
        "invalid-parameter-value",
        "a JSON object",
    );
    let r = execute(
        &s,
        "wait",
        &json!({"inputs": {"Seconds": 0}, "response": "kmz"}),
        false,
    )
    .await;
    let c = r.status().as_u16();
    check(
        c,
        &r.json().await.unwrap(),
        400,
        "invalid-parameter-value",
        "`kmz` is neither",
    );
    let r = execute(&s, "fail", &json!({"inputs": {}}), false).await;
    let c = r.status().as_u16();
    check(
        c,
        &r.json().await.unwrap(),
        500,
        "job-failed",
        "failed on purpose",
    );
    let r = s
        .http
        .delete(s.url("/arcgis/ogc/processes"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, HEAD");
    let r = s
        .http
        .get(s.url("/arcgis/ogc/processes/wait/execution"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "POST");
}

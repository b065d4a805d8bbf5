//! The polling logic against the mock transport: statuses in sequence, one submit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use gp_client::*;
use gp_model::JobStatus;
use gp_transport::MockTransport;

fn ok(body: &str) -> http::Response<Bytes> {
    http::Response::builder()
        .status(200)
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn wait_polls_until_the_end_and_submits_once() {
    let mut mock = MockTransport::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let submits = Arc::new(AtomicUsize::new(0));
    let (p, s) = (polls.clone(), submits.clone());
    mock.expect_send().returning(move |req| {
        let path = req.uri().path().to_string();
        Ok(if path.ends_with("/GPServer") {
            ok(r#"{"currentVersion": 11.3, "tasks": ["T"], "executionType": "esriExecutionTypeAsynchronous", "resultMapServerName": ""}"#)
        } else if path.ends_with("/GPServer/T") {
            ok(r#"{"name": "T", "parameters": [{"name": "Out", "dataType": "GPDouble", "direction": "esriGPParameterDirectionOutput"}]}"#)
        } else if path.ends_with("/submitJob") {
            assert_eq!(req.method(), http::Method::POST);
            s.fetch_add(1, Ordering::SeqCst);
            ok(r#"{"jobId": "j1", "jobStatus": "esriJobSubmitted"}"#)
        } else if path.ends_with("/jobs/j1") {
            let n = p.fetch_add(1, Ordering::SeqCst);
            let st = ["esriJobWaiting", "esriJobExecuting", "esriJobExecuting", "esriJobSucceeded"][n.min(3)];
            ok(&format!(r#"{{"jobId": "j1", "jobStatus": "{st}", "messages": [{{"type": "esriJobMessageTypeInformative", "description": "poll {n}"}}]}}"#))
        } else if path.ends_with("/jobs/j1/results/Out") {
            ok(r#"{"paramName": "Out", "dataType": "GPDouble", "value": 2.5}"#)
        } else {
            panic!("unexpected {path}")
        })
    });
    let client = Client::new(Arc::new(mock));
    let tb = client
        .import("http://h/arcgis/rest/services/S/GPServer")
        .await
        .unwrap();
    let r = tb.tool("T").unwrap().run(Params::new()).await.unwrap();
    let st = r
        .wait_with(PollPolicy {
            min: Duration::from_millis(1),
            max: Duration::from_millis(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(st, JobStatus::Succeeded);
    assert_eq!(
        polls.load(Ordering::SeqCst),
        4,
        "stops at the first terminal status"
    );
    assert_eq!(submits.load(Ordering::SeqCst), 1);
    assert_eq!(r.messages()[0].description, "poll 3");
    assert_eq!(r.output(0).await.unwrap(), gp_model::GpValue::Double(2.5));
}

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

/// A mock server: GPServer (version `version`), one async task with inputs of several
/// types, and a job whose statuses are `statuses` (the last repeats). Captured
/// submitJob bodies go to `captured`.
fn scripted(
    version: f64,
    statuses: &'static [&'static str],
    captured: Arc<std::sync::Mutex<Vec<String>>>,
) -> MockTransport {
    let mut mock = MockTransport::new();
    let n = Arc::new(AtomicUsize::new(0));
    mock.expect_send().returning(move |req| {
        let path = req.uri().path().to_string();
        Ok(if path.ends_with("/GPServer") {
            ok(&format!(r#"{{"currentVersion": {version}, "tasks": ["T"], "executionType": "esriExecutionTypeAsynchronous"}}"#))
        } else if path.ends_with("/GPServer/T") {
            ok(r#"{"name": "T", "parameters": [
                {"name": "D", "dataType": "GPLinearUnit", "direction": "esriGPParameterDirectionInput", "parameterType": "esriGPParameterTypeOptional"},
                {"name": "B", "dataType": "GPBoolean", "direction": "esriGPParameterDirectionInput", "parameterType": "esriGPParameterTypeOptional"},
                {"name": "When", "dataType": "GPDate", "direction": "esriGPParameterDirectionInput", "parameterType": "esriGPParameterTypeOptional"},
                {"name": "M", "dataType": "GPMultiValue:GPString", "direction": "esriGPParameterDirectionInput", "parameterType": "esriGPParameterTypeOptional"},
                {"name": "N", "dataType": "GPLong", "direction": "esriGPParameterDirectionInput", "parameterType": "esriGPParameterTypeOptional", "filter": {"type": "range", "minimum": 1, "maximum": 10}},
                {"name": "Out", "dataType": "GPDouble", "direction": "esriGPParameterDirectionOutput"}]}"#)
        } else if path.ends_with("/submitJob") {
            captured.lock().unwrap().push(String::from_utf8_lossy(req.body()).into_owned());
            ok(r#"{"jobId": "j1", "jobStatus": "esriJobSubmitted"}"#)
        } else if path.ends_with("/jobs/j1") {
            let i = n.fetch_add(1, Ordering::SeqCst).min(statuses.len() - 1);
            let st = statuses[i];
            if st.starts_with('{') {
                ok(st)
            } else {
                ok(&format!(r#"{{"jobId": "j1", "jobStatus": "{st}", "messages": [{{"type": "esriJobMessageTypeError", "description": "m{i}"}}]}}"#))
            }
        } else {
            panic!("unexpected {path}")
        })
    });
    mock
}

fn fast() -> PollPolicy {
    PollPolicy {
        min: Duration::from_millis(1),
        max: Duration::from_millis(2),
        ..Default::default()
    }
}

async fn task(mock: MockTransport) -> Tool {
    let client = Client::new(Arc::new(mock));
    client
        .import("http://h/arcgis/rest/services/S/GPServer")
        .await
        .unwrap()
        .tool("T")
        .unwrap()
        .clone()
}

#[tokio::test]
async fn values_are_encoded_as_form_text_with_context_or_env() {
    let cap = Arc::new(std::sync::Mutex::new(Vec::new()));
    let t = task(scripted(11.3, &["esriJobSucceeded"], cap.clone())).await;
    let p = Params::new()
        .set("D", "5 feet")
        .set("b", "TRUE")
        .set("When", "2024-05-01")
        .set("M", "a;b")
        .set("N", "3")
        .out_sr(3857);
    t.run(p).await.unwrap();
    let body = cap.lock().unwrap().pop().unwrap();
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(form["f"], "json");
    assert_eq!(form["D"], r#"{"distance":5.0,"units":"esriFeet"}"#);
    assert_eq!(form["B"], "true");
    assert_eq!(form["When"], "1714521600000");
    assert_eq!(form["M"], r#"["a","b"]"#);
    assert_eq!(form["N"], "3");
    assert_eq!(form["context"], r#"{"outSR":{"wkid":3857}}"#);
    assert!(!form.contains_key("env:outSR"));
    // A 10.5 server gets env:outSR instead.
    let t = task(scripted(10.5, &["esriJobSucceeded"], cap.clone())).await;
    t.run(Params::new().out_sr(4326)).await.unwrap();
    let body = cap.lock().unwrap().pop().unwrap();
    assert!(
        body.contains("env%3AoutSR=4326") && !body.contains("context"),
        "{body}"
    );
    // The range filter is checked before any request.
    let e = t
        .run(Params::new().set("N", "11"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("outside the range"), "{e}");
    assert!(cap.lock().unwrap().is_empty());
}

#[tokio::test]
async fn failures_unknown_statuses_and_envelopes_end_the_wait() {
    let cap = Arc::new(std::sync::Mutex::new(Vec::new()));
    for (statuses, want) in [
        (&["esriJobExecuting", "esriJobFailed"][..], "Failed"),
        (&["esriJobDeleted"][..], "Deleted"),
        (&["esriJobTimedOut"][..], "TimedOut"),
    ] {
        let t = task(scripted(11.3, statuses, cap.clone())).await;
        let r = t.run(Params::new()).await.unwrap();
        let e = r.wait_with(fast()).await.unwrap_err();
        match &e {
            Error::JobFailed {
                status, messages, ..
            } => {
                assert_eq!(format!("{status:?}"), want);
                assert!(!messages.is_empty(), "messages carried");
            }
            other => panic!("{other}"),
        }
    }
    // An unknown status does not spin forever.
    let t = task(scripted(11.3, &["esriJobSomethingNew"], cap.clone())).await;
    let r = t.run(Params::new()).await.unwrap();
    let e = r
        .wait_with(PollPolicy {
            max_unknown: 3,
            ..fast()
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("esriJobSomethingNew"), "{e}");
    // An error envelope (HTTP 200) of a lasting error while polling is a typed error.
    let t = task(scripted(
        11.3,
        &[
            "esriJobExecuting",
            r#"{"error": {"code": 400, "message": "Job lost", "details": []}}"#,
        ],
        cap.clone(),
    ))
    .await;
    let r = t.run(Params::new()).await.unwrap();
    let e = r.wait_with(fast()).await.unwrap_err();
    assert!(
        matches!(&e, Error::Server { code: 400, message, .. } if message == "Job lost"),
        "{e}"
    );
    // A passing one (500, "Unable to complete operation") is asked again.
    let t = task(scripted(
        11.3,
        &[
            "esriJobExecuting",
            r#"{"error": {"code": 500, "message": "Unable to complete operation.", "details": []}}"#,
            "esriJobSucceeded",
        ],
        cap,
    ))
    .await;
    let r = t.run(Params::new()).await.unwrap();
    assert_eq!(r.wait_with(fast()).await.unwrap(), JobStatus::Succeeded);
}

#[test]
fn poll_delays_stay_within_the_latency_bound() {
    let p = PollPolicy::default();
    for ms in [0u64, 10, 100, 400, 1000, 5000, 30_000, 120_000] {
        let e = Duration::from_millis(ms);
        let d = p.delay(e);
        assert!(d >= p.min && d <= p.max, "{ms}: {d:?}");
        assert!(d <= p.min.max(e.mul_f64(p.fraction)), "{ms}: {d:?}");
    }
}

#[derive(Debug, Default)]
struct Rotating {
    refreshes: AtomicUsize,
}

#[async_trait::async_trait]
impl gp_transport::TokenProvider for Rotating {
    async fn token(
        &self,
        _: &dyn gp_transport::Transport,
        refresh: bool,
    ) -> Result<gp_transport::Token, gp_transport::Error> {
        if refresh {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
        }
        let n = self.refreshes.load(Ordering::SeqCst);
        Ok(gp_transport::Token::new(if n == 0 { "old" } else { "new" }))
    }
}

#[tokio::test]
async fn a_token_that_expires_mid_job_is_refreshed_once() {
    let mut mock = MockTransport::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    mock.expect_send().returning(move |req| {
        let path = req.uri().path().to_string();
        let bearer = req.headers().get("x-esri-authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        Ok(if path.ends_with("/GPServer") {
            ok(r#"{"currentVersion": 11.3, "tasks": ["T"], "executionType": "esriExecutionTypeAsynchronous"}"#)
        } else if path.ends_with("/GPServer/T") {
            ok(r#"{"name": "T", "parameters": []}"#)
        } else if path.ends_with("/submitJob") {
            ok(r#"{"jobId": "j1", "jobStatus": "esriJobSubmitted"}"#)
        } else if path.ends_with("/jobs/j1") {
            // The old token expires after the second poll.
            let n = p.fetch_add(1, Ordering::SeqCst);
            if bearer == "Bearer old" && n >= 2 {
                ok(r#"{"error": {"code": 498, "message": "Invalid token.", "details": []}}"#)
            } else {
                ok(if n >= 4 { r#"{"jobId": "j1", "jobStatus": "esriJobSucceeded"}"# } else { r#"{"jobId": "j1", "jobStatus": "esriJobExecuting"}"# })
            }
        } else {
            panic!("unexpected {path}")
        })
    });
    let provider = Arc::new(Rotating::default());
    let auth = gp_transport::AuthTransport::new(mock, provider.clone());
    let client = Client::new(Arc::new(auth));
    let tb = client
        .import("https://h/arcgis/rest/services/S/GPServer")
        .await
        .unwrap();
    let r = tb.tool("T").unwrap().run(Params::new()).await.unwrap();
    assert_eq!(r.wait_with(fast()).await.unwrap(), JobStatus::Succeeded);
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn one_lookup_for_inputs_outputs_and_choices() {
    let captured = Arc::new(std::sync::Mutex::new(Vec::new()));
    let tool = task(scripted(11.3, &["esriJobSucceeded"], captured)).await;
    assert_eq!(tool.parameter("when").unwrap().name.as_str(), "When");
    assert_eq!(tool.parameter(5).unwrap().name.as_str(), "Out");
    let r = tool.run(Params::new().set("n", "3")).await.unwrap();
    r.wait_with(fast()).await.unwrap();
    // Outputs count among outputs, inputs among inputs; names as for the tool.
    for bad in [ParamRef::from("Whne"), ParamRef::from(9)] {
        let e = r.input(bad.clone()).await.unwrap_err().to_string();
        assert!(e.contains("no parameter"), "{bad:?}: {e}");
    }
    let e = r.input("Whne").await.unwrap_err().to_string();
    assert!(e.contains("did you mean `When`"), "{e}");
    let e = r.output("Ot").await.unwrap_err().to_string();
    assert!(e.contains("did you mean `Out`"), "{e}");
    let e = r.output(1).await.unwrap_err().to_string();
    assert!(e.contains("output #1 (it has 1)"), "{e}");
    let e = tool
        .run(Params::new().set("out", "1"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("is an output"), "{e}");
}

#[tokio::test]
async fn the_stream_and_wait_share_one_schedule() {
    use futures::StreamExt;
    let submitted = Arc::new(std::sync::Mutex::new(None::<std::time::Instant>));
    let first_poll = Arc::new(std::sync::Mutex::new(None::<std::time::Instant>));
    let polls = Arc::new(AtomicUsize::new(0));
    let (sub, first, p) = (submitted.clone(), first_poll.clone(), polls.clone());
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |req| {
        let path = req.uri().path().to_string();
        Ok(if path.ends_with("/GPServer") {
            ok(r#"{"tasks": ["T"], "executionType": "esriExecutionTypeAsynchronous"}"#)
        } else if path.ends_with("/GPServer/T") {
            ok(r#"{"name": "T", "parameters": []}"#)
        } else if path.ends_with("/submitJob") {
            *sub.lock().unwrap() = Some(std::time::Instant::now());
            ok(r#"{"jobId": "j1", "jobStatus": "esriJobSubmitted"}"#)
        } else {
            first
                .lock()
                .unwrap()
                .get_or_insert_with(std::time::Instant::now);
            let n = p.fetch_add(1, Ordering::SeqCst);
            let st = if n < 2 {
                "esriJobExecuting"
            } else {
                "esriJobSucceeded"
            };
            ok(&format!(r#"{{"jobId": "j1", "jobStatus": "{st}"}}"#))
        })
    });
    let tool = Client::new(Arc::new(mock))
        .import("http://h/arcgis/rest/services/S/GPServer")
        .await
        .unwrap()
        .tool("T")
        .unwrap()
        .clone();
    let policy = PollPolicy {
        min: Duration::from_millis(60),
        max: Duration::from_millis(60),
        ..Default::default()
    };
    let r = tool.run(Params::new()).await.unwrap();
    let events: Vec<_> = r.progress_stream(policy).collect().await;
    assert_eq!(events.len(), 3, "one event per status answer");
    assert_eq!(
        events.last().unwrap().as_ref().unwrap().status,
        JobStatus::Succeeded
    );
    assert_eq!(polls.load(Ordering::SeqCst), 3, "no request after the end");
    let gap = first_poll.lock().unwrap().unwrap() - submitted.lock().unwrap().unwrap();
    assert!(gap >= Duration::from_millis(55), "first poll after {gap:?}");
    // `wait` on an ended job asks nothing more; the stream gives its one event.
    assert_eq!(r.wait_with(policy).await.unwrap(), JobStatus::Succeeded);
    assert_eq!(r.progress_stream(policy).count().await, 1);
    assert_eq!(polls.load(Ordering::SeqCst), 3);
}

//! A scripted GP service for the fault tests: per route, replies to give before the
//! normal answers; a client with short timeouts; replies of each fault kind.
#![allow(dead_code, unreachable_pub)] // reason: each test file uses a subset

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use gp_client::*;
use gp_model::JobStatus;
use gp_transport::testing::{Reply, ScriptedServer};
use gp_transport::{HttpConfig, HttpTransport, RetryPolicy, Token, TokenProvider, Transport};

pub const SERVICE: &str = "/arcgis/rest/services/S/GPServer";
pub const JOB: &str = "/arcgis/rest/services/S/GPServer/T/jobs/j1";

/// Replies to give, in order, before the normal answers, per route.
#[derive(Debug, Default, Clone)]
pub struct Script {
    pub meta: Vec<Reply>,
    pub submit: Vec<Reply>,
    pub status: Vec<Reply>,
    pub result: Vec<Reply>,
    pub file: Vec<Reply>,
    /// The job's status once the faults are over (default succeeded).
    pub end: Option<&'static str>,
}

pub fn status_json(s: &str) -> Reply {
    Reply::json(format!(
        r#"{{"jobId": "j1", "jobStatus": "{s}", "messages": [{{"type": "esriJobMessageTypeError", "description": "ERROR 999999: what the server said"}}]}}"#
    ))
}

pub fn tiff() -> Vec<u8> {
    let mut b = b"II*\0".to_vec();
    b.extend_from_slice(&[7u8; 200]);
    b
}

/// An async service with task `T` whose output `Out` is a raster at `/files/out.tif`.
pub async fn serve(script: Script) -> ScriptedServer {
    let counters: Arc<[AtomicUsize; 5]> = Arc::new(Default::default());
    ScriptedServer::start(move |r| {
        let p = r.path.as_str();
        let pick = |i: usize, list: &[Reply], normal: Reply| {
            let n = counters[i].fetch_add(1, Ordering::SeqCst);
            list.get(n).cloned().unwrap_or(normal)
        };
        if p == SERVICE {
            pick(0, &script.meta, Reply::json(r#"{"currentVersion": 11.3, "tasks": ["T"], "executionType": "esriExecutionTypeAsynchronous"}"#))
        } else if p == format!("{SERVICE}/T") {
            Reply::json(r#"{"name": "T", "parameters": [{"name": "Out", "dataType": "GPRasterDataLayer", "direction": "esriGPParameterDirectionOutput"}]}"#)
        } else if p.ends_with("/T/submitJob") {
            pick(1, &script.submit, Reply::json(r#"{"jobId": "j1", "jobStatus": "esriJobSubmitted"}"#))
        } else if p == JOB {
            pick(2, &script.status, status_json(script.end.unwrap_or("esriJobSucceeded")))
        } else if p == format!("{JOB}/results/Out") {
            let host = r.header("host").unwrap_or_default();
            pick(3, &script.result, Reply::json(format!(
                r#"{{"paramName": "Out", "dataType": "GPRasterDataLayer", "value": {{"url": "http://{host}/files/out.tif"}}}}"#
            )))
        } else if p == "/files/out.tif" {
            pick(4, &script.file, Reply::with(200, "image/tiff", tiff()))
        } else if p.ends_with("/generateToken") {
            Reply::json(r#"{"token": "fresh", "expires": 0}"#)
        } else {
            Reply::with(404, "text/plain", "no such path")
        }
    })
    .await
    .unwrap()
}

/// A client with short timeouts and fast retries.
pub fn client() -> Client {
    let http = HttpTransport::new(HttpConfig {
        timeout: Duration::from_millis(500),
        read_timeout: Duration::from_millis(500),
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
        },
        ..Default::default()
    })
    .unwrap();
    Client::new(Arc::new(http))
}

pub fn fast() -> PollPolicy {
    PollPolicy {
        min: Duration::from_millis(1),
        max: Duration::from_millis(20),
        timeout: Some(Duration::from_secs(20)),
        ..Default::default()
    }
}

pub async fn submit(s: &ScriptedServer, c: &Client) -> Result<GpResult, Error> {
    let tb = c.import(&s.url(SERVICE)).await?;
    tb.tool("T")?.run(Params::new()).await
}

/// Runs the job with `script` and expects it to succeed: submitted `submits`
/// times, polled at least `polls` times.
pub async fn check_rides_out(script: Script, submits: usize, polls: usize) {
    let s = serve(script).await;
    let c = client();
    let r = submit(&s, &c).await.unwrap();
    assert_eq!(r.wait_with(fast()).await.unwrap(), JobStatus::Succeeded);
    assert_eq!(s.count("/submitJob"), submits, "submits");
    assert!(s.count("/jobs/j1") >= polls, "polls");
}

/// Runs the job with `script` and expects the submit to fail, sent once.
pub async fn check_submit_fails(script: Script) -> Error {
    let s = serve(script).await;
    let e = submit(&s, &client()).await.unwrap_err();
    assert_eq!(s.count("/submitJob"), 1, "never sent twice: {e}");
    assert_eq!(s.count("/jobs/j1"), 0);
    e
}

/// A submit whose answer was lost: the error says a job may have started and
/// names the request id the request carried.
pub async fn check_answer_lost(fault: Reply) {
    let s = serve(Script {
        submit: vec![fault],
        ..Default::default()
    })
    .await;
    let e = submit(&s, &client()).await.unwrap_err();
    assert_eq!(s.count("/submitJob"), 1, "never sent twice: {e}");
    let Error::AnswerLost { request_id, .. } = &e else {
        panic!("{e:?}")
    };
    let sent = s
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/submitJob"))
        .unwrap();
    assert_eq!(sent.header("x-request-id"), Some(request_id.as_str()));
    assert!(e.to_string().contains("may have started"), "{e}");
    assert!(e.to_string().contains(request_id.as_str()), "{e}");
}

pub fn truncated(body: &str) -> Reply {
    Reply::Truncated {
        status: 200,
        body: body.as_bytes().to_vec(),
        send: body.len() / 2,
    }
}

pub fn corrupt(body: &str) -> Reply {
    let mut b = body.as_bytes().to_vec();
    let mid = b.len() / 2;
    b[mid] = 0;
    Reply::with(200, "application/json", b)
}

pub fn envelope_200(code: u16) -> Reply {
    Reply::json(format!(
        r#"{{"error": {{"code": {code}, "message": "Unable to complete operation.", "details": []}}}}"#
    ))
}

pub fn stall() -> Reply {
    Reply::Stall {
        body: br#"{"jobId": "j1", "jobStatus": "esriJobExecuting"}"#.to_vec(),
        send: 0,
        stall: Duration::from_secs(3),
    }
}

pub const EXECUTING: &str = r#"{"jobId": "j1", "jobStatus": "esriJobExecuting", "messages": []}"#;

/// Tokens from a provider that counts refreshes and gives a new token each time.
#[derive(Debug, Default)]
pub struct Counting(pub AtomicUsize);

#[async_trait]
impl TokenProvider for Counting {
    async fn token(&self, _: &dyn Transport, refresh: bool) -> Result<Token, gp_transport::Error> {
        let n = if refresh {
            self.0.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            self.0.load(Ordering::SeqCst)
        };
        Ok(Token::new(format!("token-{n}")))
    }
}

pub fn token_expired() -> Reply {
    Reply::json(r#"{"error": {"code": 498, "message": "Invalid token.", "details": []}}"#)
}

pub async fn with_tokens(s: &ScriptedServer) -> (Client, Arc<Counting>) {
    let tokens = Arc::new(Counting::default());
    let http = client().transport().clone();
    let c = Client::builder()
        .transport(http)
        .token_provider(tokens.clone())
        .build()
        .unwrap();
    let _ = s;
    (c, tokens)
}

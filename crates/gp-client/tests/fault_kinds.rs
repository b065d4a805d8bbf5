//! One test per fault gp-server's fault layer injects (`gp serve --faults`), each
//! against a scripted server over real sockets, so the HTTP client's own retries
//! are part of what is tested: what the client does (asks again or not, how many
//! times, how long it waits), the error it ends with, and what that error tells the
//! user (the job URL to resume with, the request id of a lost submit). The exit
//! code of each error is checked in gp-cli (`exit_codes_of_fault_outcomes`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gp_client::*;
use gp_model::JobStatus;
use gp_transport::testing::{Reply, ScriptedServer};
use gp_transport::{
    HttpConfig, HttpTransport, RetryPolicy, Token, TokenProvider, Transport, TransportExt,
};

const SERVICE: &str = "/arcgis/rest/services/S/GPServer";
const JOB: &str = "/arcgis/rest/services/S/GPServer/T/jobs/j1";

/// Replies to give, in order, before the normal answers, per route.
#[derive(Debug, Default, Clone)]
struct Script {
    meta: Vec<Reply>,
    submit: Vec<Reply>,
    status: Vec<Reply>,
    result: Vec<Reply>,
    file: Vec<Reply>,
    /// The job's status once the faults are over (default succeeded).
    end: Option<&'static str>,
}

fn status_json(s: &str) -> Reply {
    Reply::json(format!(
        r#"{{"jobId": "j1", "jobStatus": "{s}", "messages": [{{"type": "esriJobMessageTypeError", "description": "ERROR 999999: what the server said"}}]}}"#
    ))
}

fn tiff() -> Vec<u8> {
    let mut b = b"II*\0".to_vec();
    b.extend_from_slice(&[7u8; 200]);
    b
}

/// An async service with task `T` whose output `Out` is a raster at `/files/out.tif`.
async fn serve(script: Script) -> ScriptedServer {
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
fn client() -> Client {
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

fn fast() -> PollPolicy {
    PollPolicy {
        min: Duration::from_millis(1),
        max: Duration::from_millis(20),
        timeout: Some(Duration::from_secs(20)),
        ..Default::default()
    }
}

async fn submit(s: &ScriptedServer, c: &Client) -> Result<GpResult, Error> {
    let tb = c.import(&s.url(SERVICE)).await?;
    tb.tool("T")?.run(Params::new()).await
}

/// Runs the job with `script` and expects it to succeed: submitted `submits`
/// times, polled at least `polls` times.
async fn check_rides_out(script: Script, submits: usize, polls: usize) {
    let s = serve(script).await;
    let c = client();
    let r = submit(&s, &c).await.unwrap();
    assert_eq!(r.wait_with(fast()).await.unwrap(), JobStatus::Succeeded);
    assert_eq!(s.count("/submitJob"), submits, "submits");
    assert!(s.count("/jobs/j1") >= polls, "polls");
}

/// Runs the job with `script` and expects the submit to fail, sent once.
async fn check_submit_fails(script: Script) -> Error {
    let s = serve(script).await;
    let e = submit(&s, &client()).await.unwrap_err();
    assert_eq!(s.count("/submitJob"), 1, "never sent twice: {e}");
    assert_eq!(s.count("/jobs/j1"), 0);
    e
}

/// A submit whose answer was lost: the error says a job may have started and
/// names the request id the request carried.
async fn check_answer_lost(fault: Reply) {
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

fn truncated(body: &str) -> Reply {
    Reply::Truncated {
        status: 200,
        body: body.as_bytes().to_vec(),
        send: body.len() / 2,
    }
}

fn corrupt(body: &str) -> Reply {
    let mut b = body.as_bytes().to_vec();
    let mid = b.len() / 2;
    b[mid] = 0;
    Reply::with(200, "application/json", b)
}

fn envelope_200(code: u16) -> Reply {
    Reply::json(format!(
        r#"{{"error": {{"code": {code}, "message": "Unable to complete operation.", "details": []}}}}"#
    ))
}

fn stall() -> Reply {
    Reply::Stall {
        body: br#"{"jobId": "j1", "jobStatus": "esriJobExecuting"}"#.to_vec(),
        send: 0,
        stall: Duration::from_secs(3),
    }
}

const EXECUTING: &str = r#"{"jobId": "j1", "jobStatus": "esriJobExecuting", "messages": []}"#;

// Status polls: every fault is ridden out, the job submitted once.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_poll_502_is_retried() {
    let f = Reply::with(502, "text/html", "<html>bad gateway</html>");
    check_rides_out(
        Script {
            status: vec![f.clone(), f],
            ..Default::default()
        },
        1,
        3,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_poll_503_is_retried() {
    let f = Reply::with(503, "text/plain", "unavailable");
    check_rides_out(
        Script {
            status: vec![f.clone(), f],
            ..Default::default()
        },
        1,
        3,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_poll_429_is_retried() {
    let f = Reply::with(429, "text/plain", "slow down");
    check_rides_out(
        Script {
            status: vec![f],
            ..Default::default()
        },
        1,
        2,
    )
    .await;
}

/// `Retry-After` is honoured: the retry waits that long (a lower bound, never
/// flaky: sleeps are never shorter).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_poll_503_with_retry_after_waits_that_long() {
    // The scripted server sends no Retry-After header: a raw one does.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut sock, _)) = l.accept().await {
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let resp = if h.fetch_add(1, Ordering::SeqCst) == 0 {
                "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
            } else {
                let body = r#"{"jobId": "j1", "jobStatus": "esriJobSucceeded"}"#;
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    let t = Instant::now();
    let r = client()
        .transport()
        .get(&format!("http://{addr}{JOB}"), &[("f", "json")])
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_poll_reset_before_the_answer_is_retried() {
    check_rides_out(
        Script {
            status: vec![Reply::Reset, Reply::Reset],
            ..Default::default()
        },
        1,
        3,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_poll_stall_past_the_timeout_is_retried() {
    check_rides_out(
        Script {
            status: vec![stall()],
            ..Default::default()
        },
        1,
        2,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_poll_truncated_body_is_retried() {
    check_rides_out(
        Script {
            status: vec![truncated(EXECUTING)],
            ..Default::default()
        },
        1,
        2,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_poll_corrupt_json_is_retried() {
    check_rides_out(
        Script {
            status: vec![corrupt(EXECUTING), corrupt(EXECUTING)],
            ..Default::default()
        },
        1,
        3,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_poll_error_envelope_with_http_200_is_retried() {
    check_rides_out(
        Script {
            status: vec![envelope_200(500)],
            ..Default::default()
        },
        1,
        2,
    )
    .await;
}

/// Tokens from a provider that counts refreshes and gives a new token each time.
#[derive(Debug, Default)]
struct Counting(AtomicUsize);

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

fn token_expired() -> Reply {
    Reply::json(r#"{"error": {"code": 498, "message": "Invalid token.", "details": []}}"#)
}

async fn with_tokens(s: &ScriptedServer) -> (Client, Arc<Counting>) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_poll_token_expired_mid_job_is_refreshed_and_polling_goes_on() {
    let s = serve(Script {
        status: vec![status_json("esriJobExecuting"), token_expired()],
        ..Default::default()
    })
    .await;
    let (c, tokens) = with_tokens(&s).await;
    let r = submit(&s, &c).await.unwrap();
    assert_eq!(r.wait_with(fast()).await.unwrap(), JobStatus::Succeeded);
    assert_eq!(tokens.0.load(Ordering::SeqCst), 1, "one refresh");
    let last = s
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path == JOB)
        .unwrap();
    assert_eq!(last.header("x-esri-authorization"), Some("Bearer token-1"));
}

// Submits: never sent twice once they may have reached the server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_502_is_not_resent() {
    let e = check_submit_fails(Script {
        submit: vec![Reply::with(502, "text/html", "<html>bad gateway</html>")],
        ..Default::default()
    })
    .await;
    assert!(matches!(e, Error::Protocol { status: 502, .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_503_is_resent_because_it_was_refused() {
    check_rides_out(
        Script {
            submit: vec![Reply::with(503, "text/plain", "busy")],
            ..Default::default()
        },
        2,
        1,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_429_is_resent_because_it_was_refused() {
    check_rides_out(
        Script {
            submit: vec![Reply::with(429, "text/plain", "slow down")],
            ..Default::default()
        },
        2,
        1,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_reset_after_send_is_not_resent() {
    check_answer_lost(Reply::Reset).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_stall_past_the_timeout_is_not_resent() {
    check_answer_lost(stall()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_truncated_answer_is_not_resent() {
    check_answer_lost(truncated(
        r#"{"jobId": "j1", "jobStatus": "esriJobSubmitted"}"#,
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_corrupt_json_answer_is_not_resent() {
    check_answer_lost(corrupt(
        r#"{"jobId": "j1", "jobStatus": "esriJobSubmitted"}"#,
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_error_envelope_with_http_200_is_not_resent() {
    let e = check_submit_fails(Script {
        submit: vec![envelope_200(500)],
        ..Default::default()
    })
    .await;
    assert!(matches!(e, Error::Server { code: 500, .. }), "{e:?}");
}

/// A 498 means the server refused the token before doing anything: no job was
/// created, so the submit goes again with a new token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_token_expired_is_refreshed_and_sent_again() {
    let s = serve(Script {
        submit: vec![token_expired()],
        ..Default::default()
    })
    .await;
    let (c, tokens) = with_tokens(&s).await;
    let r = submit(&s, &c).await.unwrap();
    assert_eq!(r.wait_with(fast()).await.unwrap(), JobStatus::Succeeded);
    assert_eq!(s.count("/submitJob"), 2);
    assert_eq!(tokens.0.load(Ordering::SeqCst), 1);
}

// Metadata, results and files: reads, asked again.

async fn check_import(meta: Vec<Reply>) {
    let s = serve(Script {
        meta,
        ..Default::default()
    })
    .await;
    let tb = client().import(&s.url(SERVICE)).await.unwrap();
    assert_eq!(tb.tools().len(), 1);
    assert!(s.count(SERVICE) >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_truncated_body_is_retried() {
    check_import(vec![truncated(
        r#"{"currentVersion": 11.3, "tasks": ["T"]}"#,
    )])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_corrupt_json_is_retried() {
    check_import(vec![corrupt(r#"{"currentVersion": 11.3, "tasks": ["T"]}"#)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_error_envelope_with_http_200_is_retried() {
    check_import(vec![envelope_200(500)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_reset_is_retried() {
    check_import(vec![Reply::Reset]).await;
}

/// A lasting error is not asked for forever: three more times, then the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_lasting_error_envelope_ends_after_three_retries() {
    let s = serve(Script {
        meta: vec![envelope_200(500); 10],
        ..Default::default()
    })
    .await;
    let e = client().import(&s.url(SERVICE)).await.unwrap_err();
    assert!(matches!(e, Error::Server { code: 500, .. }), "{e:?}");
    assert_eq!(s.count(SERVICE), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_truncated_body_is_retried() {
    let s = serve(Script { result: vec![truncated(r#"{"paramName": "Out", "dataType": "GPRasterDataLayer", "value": {"url": "http://x/files/out.tif"}}"#)], ..Default::default() }).await;
    let r = submit(&s, &client()).await.unwrap();
    r.wait_with(fast()).await.unwrap();
    assert!(r.output("Out").await.is_ok());
    assert_eq!(s.count("/results/Out"), 2);
}

async fn check_download(file: Vec<Reply>, fetches: usize) {
    let s = serve(Script {
        file,
        ..Default::default()
    })
    .await;
    let r = submit(&s, &client()).await.unwrap();
    r.wait_with(fast()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = r
        .download("Out", &gp_fs::ScratchWorkspace::at(dir.path()))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), tiff());
    assert_eq!(s.count("/files/out.tif"), fetches);
    // Nothing else was left in the folder: no partial file under any name.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_truncated_body_is_retried_and_leaves_no_partial_file() {
    let cut = Reply::Truncated {
        status: 200,
        body: tiff(),
        send: 100,
    };
    check_download(vec![cut], 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_reset_is_retried() {
    check_download(vec![Reply::Reset], 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_error_envelope_with_http_200_is_retried() {
    check_download(vec![envelope_200(500)], 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_token_expired_is_refreshed() {
    let s = serve(Script {
        file: vec![token_expired()],
        ..Default::default()
    })
    .await;
    let (c, tokens) = with_tokens(&s).await;
    let r = submit(&s, &c).await.unwrap();
    r.wait_with(fast()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = r
        .download("Out", &gp_fs::ScratchWorkspace::at(dir.path()))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), tiff());
    assert_eq!(tokens.0.load(Ordering::SeqCst), 1);
}

// The job side: the job's end as the server says it, with its messages.

async fn check_job_ends(status: &'static str, want: JobStatus) {
    let s = serve(Script {
        end: Some(status),
        ..Default::default()
    })
    .await;
    let r = submit(&s, &client()).await.unwrap();
    let e = r.wait_with(fast()).await.unwrap_err();
    let Error::JobFailed {
        status,
        messages,
        job_id,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(status, &want);
    assert_eq!(job_id, "j1");
    assert!(
        messages
            .iter()
            .any(|m| m.description.contains("what the server said"))
    );
    assert!(e.to_string().contains("what the server said"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_failed_on_the_server_is_reported_with_its_messages() {
    check_job_ends("esriJobFailed", JobStatus::Failed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_timed_out_on_the_server_is_reported() {
    check_job_ends("esriJobTimedOut", JobStatus::TimedOut).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_cancelled_by_the_server_is_reported() {
    check_job_ends("esriJobCancelled", JobStatus::Cancelled).await;
}

/// A job deleted on the server: polls get a 404 envelope; the error names the job URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_deleted_on_the_server_is_reported_with_the_job_url() {
    let gone =
        Reply::json(r#"{"error": {"code": 404, "message": "Job j1 not found", "details": []}}"#);
    let s = serve(Script {
        status: vec![
            status_json("esriJobExecuting"),
            gone.clone(),
            gone.clone(),
            gone.clone(),
            gone.clone(),
            gone,
        ],
        ..Default::default()
    })
    .await;
    let r = submit(&s, &client()).await.unwrap();
    let e = r.wait_with(fast()).await.unwrap_err();
    assert!(matches!(e, Error::Server { code: 404, .. }), "{e:?}");
    assert!(e.to_string().contains(JOB), "{e}");
}

/// A wait that passes its deadline ends then, not later, and says where the job goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_deadline_names_the_job_url_to_resume_with() {
    let s = serve(Script {
        end: Some("esriJobExecuting"),
        ..Default::default()
    })
    .await;
    let r = submit(&s, &client()).await.unwrap();
    let e = r
        .wait_with(PollPolicy {
            timeout: Some(Duration::from_millis(300)),
            ..fast()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, Error::WaitTimeout { .. }), "{e:?}");
    assert!(e.to_string().contains(&s.url(JOB)), "{e}");
}

/// The deadline holds while a status request hangs: the wait ends at the deadline,
/// not after the transport's timeouts and retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_deadline_holds_while_a_status_request_stalls() {
    let s = serve(Script {
        status: vec![stall(); 20],
        ..Default::default()
    })
    .await;
    let r = submit(&s, &client()).await.unwrap();
    let t = Instant::now();
    let e = r
        .wait_with(PollPolicy {
            timeout: Some(Duration::from_millis(300)),
            ..fast()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, Error::WaitTimeout { .. }), "{e:?}");
    // Without the cut, four stalled attempts of 500 ms each would pass first.
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
}

/// A token refused again after a refresh (another request's refresh replaced it,
/// or the server expired it once more) is refreshed again, a bounded number of
/// times. (Found by the soak: one refresh per request was not enough with 16 jobs
/// sharing a token.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_poll_token_expired_twice_in_a_row_is_refreshed_twice() {
    let s = serve(Script {
        status: vec![token_expired(), token_expired()],
        ..Default::default()
    })
    .await;
    let (c, tokens) = with_tokens(&s).await;
    let r = submit(&s, &c).await.unwrap();
    assert_eq!(r.wait_with(fast()).await.unwrap(), JobStatus::Succeeded);
    assert_eq!(tokens.0.load(Ordering::SeqCst), 2);
    // A server that refuses every token: three refreshes, then its 498.
    let s = serve(Script {
        status: vec![token_expired(); 50],
        ..Default::default()
    })
    .await;
    let (c, tokens) = with_tokens(&s).await;
    let r = submit(&s, &c).await.unwrap();
    let e = r.refresh().await.unwrap_err();
    assert!(matches!(e, Error::Server { code: 498, .. }), "{e:?}");
    assert_eq!(tokens.0.load(Ordering::SeqCst), 3);
}

/// A refusal cut short (a 498 envelope truncated before its end) looks like JSON
/// where a TIFF was expected; it is read to its cut and asked again, not reported
/// as a bad download. (Found by the 10,000-job soak.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_cut_refusal_is_asked_again() {
    let body = r#"{"error": {"code": 498, "message": "Invalid token.", "details": [], "messageCode": "GWM_0002"}}"#;
    let cut = Reply::Truncated {
        status: 200,
        body: body.as_bytes().to_vec(),
        send: 70,
    };
    check_download(vec![cut], 2).await;
}

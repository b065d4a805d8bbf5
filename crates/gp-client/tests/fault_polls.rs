//! Faults on status polls, and waits with a deadline, each
//! against a scripted server over real sockets (`scripted`), so the HTTP client's
//! own retries are part of what is tested: what the client does (asks again or not,
//! how many times, how long it waits), the error it ends with, and what that error
//! tells the user. One test per fault kind gp-server's fault layer injects
//! (`gp serve --faults`); the exit code of each error is checked in gp-cli
//! (`exit_codes_of_fault_outcomes`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod scripted;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gp_model::JobStatus;
use gp_transport::TransportExt;
use gp_transport::testing::Reply;
use scripted::*;

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

//! Faults on `submitJob`/`execute` (never sent twice once they may have reached
//! the server; the request id of a lost one named) and on the job side, each
//! against a scripted server over real sockets (`scripted`), so the HTTP client's
//! own retries are part of what is tested: what the client does (asks again or not,
//! how many times, how long it waits), the error it ends with, and what that error
//! tells the user. One test per fault kind gp-server's fault layer injects
//! (`gp serve --faults`); the exit code of each error is checked in gp-cli
//! (`exit_codes_of_fault_outcomes`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod scripted;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gp_client::*;
use gp_model::JobStatus;

use gp_transport::testing::Reply;
use scripted::*;

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

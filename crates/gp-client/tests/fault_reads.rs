//! Faults on metadata, results and file downloads (reads, asked again), each
//! against a scripted server over real sockets (`scripted`), so the HTTP client's
//! own retries are part of what is tested: what the client does (asks again or not,
//! how many times, how long it waits), the error it ends with, and what that error
//! tells the user. One test per fault kind gp-server's fault layer injects
//! (`gp serve --faults`); the exit code of each error is checked in gp-cli
//! (`exit_codes_of_fault_outcomes`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod scripted;

use std::sync::atomic::Ordering;

use gp_client::*;

use gp_transport::testing::Reply;
use scripted::*;

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

//! The HTTP backend, auth and replay over real loopback HTTP (gp-server, and a tiny
//! flaky server for retries).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use gp_transport::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fast() -> HttpConfig {
    HttpConfig {
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
        ..Default::default()
    }
}

/// A server that answers 503 to the first `failures` requests, then 200; counts requests.
async fn flaky(failures: usize) -> (String, Arc<AtomicUsize>) {
    flaky_with(failures, "503 Service Unavailable").await
}

/// A server that answers `status` (`502 Bad Gateway`) to the first `failures`
/// requests, then 200; counts requests.
async fn flaky_with(failures: usize, status: &'static str) -> (String, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            let c = c.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                // Read headers (and a small body) of one request.
                loop {
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&got[..i]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if got.len() >= i + 4 + len {
                            break;
                        }
                    }
                }
                let n = c.fetch_add(1, Ordering::SeqCst);
                let resp = if n < failures {
                    format!(
                        "HTTP/1.1 {status}\r\nretry-after: 0\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy"
                    )
                } else {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}".to_string()
                };
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_requests_are_retried_and_jobs_are_not() {
    let t = HttpTransport::new(fast()).unwrap();
    let (url, count) = flaky(2).await;
    let r = t
        .get(&format!("{url}/rest/services"), &[("f", "json")])
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(count.load(Ordering::SeqCst), 3, "two 503s then success");
    // submitJob: a 502 may come after the server acted: one attempt, the 502 is
    // returned as a response.
    let (url, count) = flaky_with(2, "502 Bad Gateway").await;
    let r = t
        .post_form(
            &format!("{url}/GPServer/T/submitJob"),
            &[("f", "json")],
            Idempotency::NotIdempotent,
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(count.load(Ordering::SeqCst), 1, "never repeated");
    // A 503 (or 429) says the request was refused, not processed: sent again.
    let (url, count) = flaky(2).await;
    let r = t
        .post_form(
            &format!("{url}/GPServer/T/submitJob"),
            &[("f", "json")],
            Idempotency::NotIdempotent,
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(count.load(Ordering::SeqCst), 3, "two refusals, then taken");
    // A POST marked idempotent (status polling) is retried.
    let (url, count) = flaky(1).await;
    let r = t
        .post_form(
            &format!("{url}/jobs/j1"),
            &[("f", "json")],
            Idempotency::Idempotent,
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(count.load(Ordering::SeqCst), 2);
    // Retries give up.
    let (url, count) = flaky(100).await;
    let r = t.get(&url, &[]).await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(count.load(Ordering::SeqCst), 4, "1 + max_retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_an_error_without_the_token() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let t = HttpTransport::new(fast()).unwrap();
    let e = t
        .get(
            &format!("http://{addr}/arcgis/rest/services?token=s3cr3t"),
            &[("f", "json")],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    let text = format!("{e} {e:?}");
    assert!(!text.contains("s3cr3t"), "{text}");
}

#[derive(Debug)]
struct BogusFirst {
    real: UserPassword,
    refreshes: AtomicUsize,
}

#[async_trait]
impl TokenProvider for BogusFirst {
    async fn token(&self, t: &dyn Transport, refresh: bool) -> Result<Token, Error> {
        if refresh {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            self.real.token(t, true).await
        } else {
            Ok(Token::new("not-a-valid-token"))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_generate_token_and_refresh_on_498() {
    let server = gp_server::Server::start(gp_server::ServerConfig {
        users: vec![("alice".into(), "wonder".into())],
        ..Default::default()
    })
    .await
    .unwrap();
    let root = server.url("/arcgis");
    let http = HttpTransport::new(fast()).unwrap();
    // Without a token: 499 envelope (a response, not an error).
    let r = http
        .get(&format!("{root}/rest/services"), &[("f", "json")])
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(r.body()).contains("499"));
    // UserPassword discovers generateToken through rest/info.
    let auth = AuthTransport::new(
        http.clone(),
        Arc::new(UserPassword::new(&root, "alice", "wonder")),
    );
    let r = auth
        .get(&format!("{root}/rest/services"), &[("f", "json")])
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
    assert!(v["folders"].is_array(), "{v}");
    // In the form body too.
    let auth_form = AuthTransport::new(
        http.clone(),
        Arc::new(UserPassword::new(&root, "alice", "wonder")),
    )
    .with_placement(TokenPlacement::FormBody);
    let r = auth_form
        .post_form(
            &format!("{root}/rest/services/GP/Utilities/GPServer/Wait/submitJob"),
            &[("f", "json"), ("Seconds", "0")],
            Idempotency::NotIdempotent,
        )
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
    assert!(v["jobId"].is_string(), "{v}");
    // A refused token is refreshed once and the request sent again.
    let provider = Arc::new(BogusFirst {
        real: UserPassword::new(&root, "alice", "wonder"),
        refreshes: AtomicUsize::new(0),
    });
    let auth = AuthTransport::new(http.clone(), provider.clone());
    let r = auth
        .get(&format!("{root}/rest/services"), &[("f", "json")])
        .await
        .unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(r.body()).unwrap()["folders"].is_array());
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);
    // Wrong password: an Auth error that does not contain the password.
    let bad = AuthTransport::new(
        http.clone(),
        Arc::new(UserPassword::new(&root, "alice", "hunter2")),
    );
    let e = bad
        .get(&format!("{root}/rest/services"), &[("f", "json")])
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Auth { .. }) && e.to_string().contains("Invalid username or password"),
        "{e}"
    );
    assert!(!format!("{e} {e:?}").contains("hunter2"));
    // No token over plain HTTP to a remote host.
    let e = AuthTransport::new(http, Arc::new(FixedToken(Token::new("t"))))
        .get("http://example.com/arcgis/rest/services", &[])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InsecureToken { .. }), "{e:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_then_replay_offline() {
    let server = gp_server::Server::start(Default::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.jsonl");
    let rec = RecordingTransport::new(HttpTransport::new(fast()).unwrap(), &file).unwrap();
    let task = server.url("/arcgis/rest/services/GP/Utilities/GPServer/Wait");
    let meta = rec.get(&task, &[("f", "json")]).await.unwrap();
    let sub = rec
        .post_form(
            &format!("{task}/submitJob"),
            &[("f", "json"), ("Seconds", "0.2")],
            Idempotency::NotIdempotent,
        )
        .await
        .unwrap();
    let id = serde_json::from_slice::<serde_json::Value>(sub.body()).unwrap()["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut statuses = Vec::new();
    loop {
        let r = rec
            .get(&format!("{task}/jobs/{id}"), &[("f", "json")])
            .await
            .unwrap();
        let s = serde_json::from_slice::<serde_json::Value>(r.body()).unwrap()["jobStatus"]
            .as_str()
            .unwrap()
            .to_string();
        statuses.push(s.clone());
        if s == "esriJobSucceeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.shutdown().await;
    // Offline: the same answers, in the same order, the last one repeating.
    let replay = ReplayTransport::from_file(&file).unwrap();
    assert_eq!(
        replay.get(&task, &[("f", "json")]).await.unwrap().body(),
        meta.body()
    );
    let sub2 = replay
        .post_form(
            &format!("{task}/submitJob"),
            &[("Seconds", "0.2"), ("f", "json")],
            Idempotency::NotIdempotent,
        )
        .await
        .unwrap();
    assert_eq!(sub2.body(), sub.body());
    let mut replayed = Vec::new();
    for _ in 0..statuses.len() + 2 {
        let r = replay
            .get(
                &format!("{task}/jobs/{id}"),
                &[("f", "json"), ("token", "ignored")],
            )
            .await
            .unwrap();
        replayed.push(
            serde_json::from_slice::<serde_json::Value>(r.body()).unwrap()["jobStatus"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(&replayed[..statuses.len()], &statuses[..]);
    assert_eq!(replayed.last().unwrap(), "esriJobSucceeded");
    let e = replay
        .get(&format!("{task}/jobs/jnope"), &[("f", "json")])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotRecorded { .. }));
}

#[cfg(feature = "test-util")]
#[tokio::test]
async fn the_mock_stands_in_for_a_server() {
    let mut mock = MockTransport::new();
    mock.expect_send()
        .withf(|r| r.uri().path().ends_with("/GPServer") && r.method() == http::Method::GET)
        .times(1)
        .returning(|_| {
            Ok(http::Response::builder()
                .status(200)
                .body(bytes::Bytes::from_static(br#"{"tasks":["T"]}"#))
                .unwrap())
        });
    let t: Arc<dyn Transport> = Arc::new(mock);
    let r = t
        .get("http://h/arcgis/rest/services/S/GPServer", &[("f", "json")])
        .await
        .unwrap();
    assert_eq!(r.body().as_ref(), br#"{"tasks":["T"]}"#);
}

//! The hostile battery: slow and greedy peers over real loopback sockets, and what a
//! page in a browser could try (CORS, Host). Access by strangers is in `access.rs`. Each test checks that the
//! attack is cut off and that a good request is still answered within a bound (the
//! bounds are liveness limits, several times what a healthy server needs, not speed
//! targets: those are in `cargo xtask bench`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::time::{Duration, Instant};

use common::*;
use gp_server::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the socket (EOF or reset); the bytes read.
async fn until_closed(sock: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let r = tokio::time::timeout(within, async {
        loop {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        r.is_ok(),
        "the server did not close the connection within {within:?}"
    );
    got
}

/// A raw HTTP/1.1 exchange: the whole answer as text.
async fn raw(s: &Srv, request: &str) -> String {
    let mut sock = TcpStream::connect(s.server.addr()).await.unwrap();
    sock.write_all(request.as_bytes()).await.unwrap();
    let got = until_closed(&mut sock, LIVE).await;
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_headers_are_cut_off() {
    let s = start(ServerConfig {
        header_timeout: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    // 500 connections that send a request head one byte at a time, forever.
    let n = connections(500);
    let mut socks = Vec::new();
    for _ in 0..n {
        let mut c = TcpStream::connect(s.server.addr()).await.unwrap();
        c.write_all(b"GET /arcgis/rest/info HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        socks.push(c);
    }
    let dribble = tokio::spawn(async move {
        let start = Instant::now();
        let mut closed = vec![false; socks.len()];
        while start.elapsed() < Duration::from_secs(8) && closed.iter().any(|c| !c) {
            for (i, c) in socks.iter_mut().enumerate() {
                if !closed[i] && c.write_all(b"X").await.is_err() {
                    closed[i] = true;
                }
                // A closed peer shows on read as EOF.
                let mut b = [0u8; 256];
                if !closed[i]
                    && let Ok(Ok(0)) =
                        tokio::time::timeout(Duration::from_millis(1), c.read(&mut b)).await
                {
                    closed[i] = true;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        (closed.iter().filter(|c| **c).count(), start.elapsed())
    });
    still_serving(&s).await;
    let (closed, took) = dribble.await.unwrap();
    assert_eq!(closed, n, "slow headers held after {took:?}");
    still_serving(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_capped() {
    let n = connections(2000);
    let s = start(ServerConfig {
        idle_timeout: Duration::from_millis(800),
        header_timeout: Duration::from_secs(30),
        max_connections: n / 4,
        ..Default::default()
    })
    .await;
    // 2,000 connections (fewer under a low descriptor limit) that never send a byte: a
    // quarter at a time are let in, each closed
    // when idle, so the queue drains and a good request gets its turn.
    let mut socks = Vec::new();
    for _ in 0..n {
        socks.push(TcpStream::connect(s.server.addr()).await.unwrap());
    }
    still_serving(&s).await;
    // A kept-alive connection that answered a request is closed once idle too.
    let mut c = TcpStream::connect(s.server.addr()).await.unwrap();
    c.write_all(b"GET /arcgis/rest/info?f=json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let got = until_closed(&mut c, Duration::from_secs(30)).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    drop(socks);
    still_serving(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_answered_408() {
    let s = start(ServerConfig {
        body_timeout: Duration::from_millis(700),
        ..Default::default()
    })
    .await;
    let mut c = TcpStream::connect(s.server.addr()).await.unwrap();
    let path = "/arcgis/rest/services/GP/BufferSync/GPServer/BufferPoints/execute?f=json";
    c.write_all(
        format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nDistance=5")
            .as_bytes(),
    )
    .await
    .unwrap();
    still_serving(&s).await;
    let got = String::from_utf8_lossy(&until_closed(&mut c, LIVE).await).into_owned();
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("no data for 0.7 s"), "{got}");
    // A slow multipart upload too.
    let mut c = TcpStream::connect(s.server.addr()).await.unwrap();
    c.write_all(b"POST /arcgis/rest/services/GP/BufferByVal/GPServer/uploads/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 100000\r\n\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.json\"\r\n\r\n{\"a\":")
        .await
        .unwrap();
    let got = String::from_utf8_lossy(&until_closed(&mut c, LIVE).await).into_owned();
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    still_serving(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_never_reflects_an_origin_with_credentials() {
    let preflight = |s: &Srv, origin: &str| {
        let req = s
            .http
            .request(
                reqwest::Method::OPTIONS,
                s.url("/arcgis/rest/services?f=json"),
            )
            .header("Origin", origin.to_string())
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "x-esri-authorization");
        async move { req.send().await.unwrap() }
    };
    let header = |r: &reqwest::Response, h: &str| {
        r.headers().get(h).map(|v| v.to_str().unwrap().to_string())
    };
    // Default: any origin, never with credentials.
    let s = start_default().await;
    let r = preflight(&s, "https://evil.example").await;
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert_eq!(header(&r, "access-control-allow-credentials"), None);
    // Configured: those origins, with credentials; others get no CORS headers.
    let s = start(ServerConfig {
        cors_origins: vec!["https://app.example".into()],
        ..Default::default()
    })
    .await;
    let r = preflight(&s, "https://app.example").await;
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    assert_eq!(
        header(&r, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    let r = preflight(&s, "https://evil.example").await;
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    assert_eq!(header(&r, "access-control-allow-credentials"), None);
    still_serving(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_host_never_reaches_a_url() {
    let s = start_default().await;
    let sync = "/arcgis/rest/services/SlopeByVal/GPServer/RunSlope";
    // DNS rebinding: a page on rebind.attacker.example reaches 127.0.0.1.
    let got = raw(
        &s,
        &format!("GET {sync}?f=json HTTP/1.1\r\nHost: rebind.attacker.example\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 421"), "{got}");
    assert!(got.contains("--allowed-host"), "{got}");
    // The task's helpUrl is written on a host the server serves.
    let got = raw(
        &s,
        &format!("GET {sync}?f=json HTTP/1.1\r\nHost: localhost:1234\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(got.contains("\"helpUrl\":\"http://localhost:1234/arcgis/rest/directories/arcgisoutput/SlopeByVal_GPServer/SlopeByVal/RunSlope.htm\""), "{got}");
    // With a public URL, every href starts with it, whatever the Host says.
    let s = start(ServerConfig {
        public_url: Some("https://gis.example.org".into()),
        allowed_hosts: vec!["gis.internal".into()],
        ..Default::default()
    })
    .await;
    let got = raw(
        &s,
        &format!("GET {sync}?f=json HTTP/1.1\r\nHost: rebind.attacker.example\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(
        got.contains("\"helpUrl\":\"https://gis.example.org/arcgis/"),
        "{got}"
    );
    assert!(!got.contains("rebind"), "{got}");
    still_serving(&s).await;
    // A bad public URL is refused at start.
    let e = gp_server::Server::start(ServerConfig {
        public_url: Some("https://gis.example.org/arcgis".into()),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(e.to_string().contains("without a path"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_map_exports_do_not_hold_up_status_requests() {
    // Liveness only, at a size a debug build renders quickly; the 16 × 4096² target
    // is measured by `cargo xtask bench server`.
    let s = start(ServerConfig {
        render_concurrency: 2,
        ..Default::default()
    })
    .await;
    let task = s.svc("GP/BufferByVal/GPServer/BufferPoints");
    let pts: Vec<(f64, f64)> = (0..200)
        .map(|i| (f64::from(i % 20), f64::from(i / 20)))
        .collect();
    let job = s
        .submit(
            &task,
            &[
                ("Input_Features", &points(4326, &pts)),
                ("Distance", "50 kilometers"),
            ],
        )
        .await;
    assert_eq!(s.wait(&job).await["jobStatus"], "esriJobSucceeded");
    let id = job.rsplit('/').next().unwrap();
    let export = s.svc(&format!(
        "GP/BufferByVal/MapServer/jobs/{id}/export?f=image&size=1024,1024&format=png32"
    ));
    let mut exports = Vec::new();
    for _ in 0..16 {
        let http = s.http.clone();
        let url = export.clone();
        exports.push(tokio::spawn(async move {
            let r = http.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap().len()
        }));
    }
    // Status requests while the exports render: each answered within the bound.
    let mut worst = Duration::ZERO;
    while exports.iter().any(|e| !e.is_finished()) {
        let t = Instant::now();
        let v = s.get(&format!("{job}?f=json")).await;
        assert_eq!(v["jobStatus"], "esriJobSucceeded");
        worst = worst.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for e in exports {
        assert!(e.await.unwrap() > 1000);
    }
    assert!(
        worst < Duration::from_secs(2),
        "a status request waited {worst:?}"
    );
}

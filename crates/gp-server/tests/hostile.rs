//! The hostile battery: slow and greedy peers over real loopback sockets, and what a
//! page in a browser or a stranger with a token could try. Each test checks that the
//! attack is cut off and that a good request is still answered within a bound (the
//! bounds are liveness limits, several times what a healthy server needs, not speed
//! targets: those are in `cargo xtask bench`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::time::{Duration, Instant};

use common::*;
use gp_server::ServerConfig;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A good request must be answered within this long while an attack goes on.
const LIVE: Duration = Duration::from_secs(10);

/// How many attacking connections fit in this process's descriptor limit (each takes
/// one descriptor here and one in the server, which runs in the same process), at most `want`.
fn connections(want: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|x| x.starts_with("Max open files"))
                .and_then(|x| x.split_whitespace().nth(3))
                .and_then(|n| n.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    want.min(soft.saturating_sub(200) / 2)
}

/// `GET /arcgis/rest/info?f=json` answered with a JSON object, within [`LIVE`].
async fn still_serving(s: &Srv) {
    let t = Instant::now();
    let r = tokio::time::timeout(LIVE, s.http.get(s.url("/arcgis/rest/info?f=json")).send())
        .await
        .expect("a good request is answered while under attack")
        .expect("the good request succeeds");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["currentVersion"].is_number(), "{v}");
    assert!(t.elapsed() < LIVE);
}

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

async fn upload(s: &Srv, name: &str, bytes: Vec<u8>, token: Option<&str>) -> Value {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    let mut form = reqwest::multipart::Form::new().text("f", "json");
    if let Some(t) = token {
        // Before the file: the server checks the token before it reads the file.
        form = form.text("token", t.to_string());
    }
    let form = form.part("file", part);
    let r = s
        .http
        .post(s.svc("GP/BufferByVal/GPServer/uploads/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

async fn token(s: &Srv, user: &str, pass: &str) -> String {
    let v = s
        .post(
            &s.url("/arcgis/tokens/generateToken"),
            &[("f", "json"), ("username", user), ("password", pass)],
        )
        .await;
    v["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_typed_sized_owned_deletable_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(ServerConfig {
        data_dir: Some(dir.path().to_path_buf()),
        users: vec![("ann".into(), "a-pw".into()), ("bob".into(), "b-pw".into())],
        max_upload_bytes: 1 << 20,
        job_expiry: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    let ann = token(&s, "ann", "a-pw").await;
    let bob = token(&s, "bob", "b-pw").await;
    // The service says what it takes.
    let info = s
        .get(&s.svc(&format!(
            "GP/BufferByVal/GPServer/uploads/info?f=json&token={ann}"
        )))
        .await;
    assert_eq!(info["maxUploadFileSize"], 1, "{info}");
    let types = info["allowedUploadFileTypes"].as_str().unwrap();
    let types: Vec<&str> = types.split(',').collect();
    assert!(
        types.contains(&"json") && !types.contains(&"sh"),
        "{types:?}"
    );
    // Scripts, programs and pages are refused, named.
    for name in ["run.sh", "setup.exe", "page.html"] {
        let v = upload(&s, name, b"#!/bin/sh\n".to_vec(), Some(&ann)).await;
        assert_eq!(error_code(&v), Some(400), "{name}: {v}");
        assert!(error_text(&v).contains("files are not accepted"), "{v}");
    }
    // Too large: refused while streaming, with both sizes.
    let v = upload(&s, "big.json", vec![b' '; 3 << 20], Some(&ann)).await;
    assert!(
        error_text(&v).contains("too large (3.0 MB, limit 1.0 MB)"),
        "{v}"
    );
    // No token, no upload (the file is not even read).
    let v = upload(&s, "a.json", b"{}".to_vec(), None).await;
    assert_eq!(error_code(&v), Some(499), "{v}");
    assert!(error_text(&v).contains("before the file"), "{v}");
    // Nothing was left on disk by the refused uploads.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("uploads").join(".incoming"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // Ann's upload is Ann's.
    let v = upload(
        &s,
        "points.json",
        points(4326, &[(1.0, 2.0)]).into_bytes(),
        Some(&ann),
    )
    .await;
    let id = v["item"]["itemID"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let item = |t: &str| {
        s.svc(&format!(
            "GP/BufferByVal/GPServer/uploads/{id}?f=json&token={t}"
        ))
    };
    assert_eq!(s.get(&item(&ann)).await["item"]["itemName"], "points.json");
    assert_eq!(error_code(&s.get(&item(&bob)).await), Some(403));
    let item_ref = format!("{{\"itemID\": \"{id}\"}}");
    let execute = s.svc("GP/BufferSync/GPServer/BufferPoints/execute");
    let v = s
        .post(
            &execute,
            &[
                ("f", "json"),
                ("token", &bob),
                ("Input_Features", &item_ref),
                ("Distance", "1 kilometers"),
            ],
        )
        .await;
    assert!(
        error_text(&v).contains(&format!("no uploaded item with itemID `{id}`")),
        "{v}"
    );
    let v = s
        .post(
            &execute,
            &[
                ("f", "json"),
                ("token", &ann),
                ("Input_Features", &item_ref),
                ("Distance", "1 kilometers"),
            ],
        )
        .await;
    assert!(v["results"].is_array(), "{v}");
    // Deleting takes POST, by the owner.
    let delete = s.svc(&format!("GP/BufferByVal/GPServer/uploads/{id}/delete"));
    let v = s.post(&delete, &[("f", "json"), ("token", &bob)]).await;
    assert_eq!(error_code(&v), Some(403), "{v}");
    let v = s.post(&delete, &[("f", "json"), ("token", &ann)]).await;
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(error_code(&s.get(&item(&ann)).await), Some(404));
    // Items expire like jobs.
    let v = upload(&s, "later.json", b"{}".to_vec(), Some(&ann)).await;
    let id = v["item"]["itemID"].as_str().unwrap().to_string();
    let t = Instant::now();
    loop {
        let v = s
            .get(&s.svc(&format!(
                "GP/BufferByVal/GPServer/uploads/{id}?f=json&token={ann}"
            )))
            .await;
        if error_code(&v) == Some(404) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the upload did not expire: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    still_serving(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_images_and_files_belong_to_their_user_and_missing_files_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(ServerConfig {
        data_dir: Some(dir.path().to_path_buf()),
        users: vec![("ann".into(), "a-pw".into()), ("bob".into(), "b-pw".into())],
        ..Default::default()
    })
    .await;
    let ann = token(&s, "ann", "a-pw").await;
    let bob = token(&s, "bob", "b-pw").await;
    let task = s.svc("GP/BufferByVal/GPServer/BufferPoints");
    let input = points(4326, &[(10.0, 50.0)]);
    let job = s
        .submit(
            &task,
            &[
                ("token", &ann),
                ("Input_Features", &input),
                ("Distance", "5 kilometers"),
            ],
        )
        .await;
    let t = Instant::now();
    loop {
        let v = s.get(&format!("{job}?f=json&token={ann}")).await;
        if v["jobStatus"] == "esriJobSucceeded" {
            break;
        }
        assert!(t.elapsed() < LIVE, "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let v = s
        .get(&format!("{job}/results/Output_Polygons?f=json&token={ann}"))
        .await;
    let href = v["value"]["mapImage"]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"));
    let get = |url: String| {
        let http = s.http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    let r = get(format!("{href}?token={ann}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..4], b"\x89PNG");
    let r = get(format!("{href}?token={bob}&f=json")).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(error_code(&v), Some(403), "{v}");
    // A missing file is HTTP 404 with the error body, JSON or HTML, and names no server path.
    let scratch = href.rsplit_once('/').unwrap().0.to_string();
    let r = get(format!("{scratch}/nope.tif?token={ann}&f=json")).await;
    assert_eq!(r.status(), 404);
    let text = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error_code(&v), Some(404), "{v}");
    assert!(!text.contains(dir.path().to_str().unwrap()), "{text}");
    let r = get(format!("{scratch}/nope.tif?token={ann}")).await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("<html>"));
    // A symlink in a job folder that leaves the data directory is not followed.
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), "secret").unwrap();
    let job_id = job.rsplit('/').next().unwrap();
    let scratch_dir = dir
        .path()
        .join("arcgisjobs")
        .join("gp_bufferbyval_gpserver")
        .join(job_id)
        .join("scratch");
    std::os::unix::fs::symlink(outside.path(), scratch_dir.join("leak.txt")).unwrap();
    let r = get(format!("{scratch}/leak.txt?token={ann}")).await;
    assert_eq!(r.status(), 404);
    assert!(!r.text().await.unwrap().contains("secret"));
    still_serving(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_guessing_is_slowed_per_user_and_address() {
    let s = start(ServerConfig {
        users: vec![("ann".into(), "a-pw".into())],
        ..Default::default()
    })
    .await;
    let url = s.url("/arcgis/tokens/generateToken");
    for i in 0..6 {
        let v = s
            .post(
                &url,
                &[
                    ("f", "json"),
                    ("username", "ann"),
                    ("password", &format!("guess{i}")),
                ],
            )
            .await;
        assert_eq!(error_code(&v), Some(400), "{v}");
    }
    // Now even the right password waits: 429 with when to try again.
    let r = s
        .http
        .post(&url)
        .form(&[("f", "json"), ("username", "ann"), ("password", "a-pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let v: Value = r.json().await.unwrap();
    assert!(error_text(&v).contains("try again in"), "{v}");
    still_serving(&s).await;
    // After the wait, the right password works.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let v = s
        .post(
            &url,
            &[("f", "json"), ("username", "ann"), ("password", "a-pw")],
        )
        .await;
    assert!(v["token"].is_string(), "{v}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_by_parts_are_typed_owned_sized_and_joined_in_order() {
    let s = start(ServerConfig {
        users: vec![("ann".into(), "a-pw".into()), ("bob".into(), "b-pw".into())],
        max_upload_bytes: 1 << 20,
        ..Default::default()
    })
    .await;
    let ann = token(&s, "ann", "a-pw").await;
    let bob = token(&s, "bob", "b-pw").await;
    let base = s.svc("SlopeByVal/GPServer/uploads");
    let register_url = format!("{base}/register");
    let part = |id: &str, n: &str, bytes: Vec<u8>, t: &str| {
        let form = reqwest::multipart::Form::new()
            .text("f", "json")
            .text("token", t.to_string())
            .text("partId", n.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("split.part"),
            );
        let (http, url) = (s.http.clone(), format!("{base}/{id}/uploadPart"));
        async move {
            http.post(url)
                .multipart(form)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    // The type is checked when the item is registered.
    let v = s
        .post(
            &register_url,
            &[("f", "json"), ("token", &ann), ("itemName", "run.sh")],
        )
        .await;
    assert!(error_text(&v).contains("files are not accepted"), "{v}");
    let v = s
        .post(
            &register_url,
            &[("f", "json"), ("token", &ann), ("itemName", "dem.tif")],
        )
        .await;
    assert_eq!(v["item"]["committed"], false, "{v}");
    let id = v["item"]["itemID"].as_str().unwrap().to_string();
    // Parts in any order; only the owner adds them.
    assert_eq!(
        part(&id, "2", b"-second".to_vec(), &ann).await["success"],
        true
    );
    assert_eq!(
        part(&id, "1", b"first".to_vec(), &ann).await["success"],
        true
    );
    assert_eq!(
        error_code(&part(&id, "3", b"x".to_vec(), &bob).await),
        Some(403)
    );
    let v = part(&id, "0", b"x".to_vec(), &ann).await;
    assert!(error_text(&v).contains("not a part number"), "{v}");
    // Together the parts stay under the limit.
    let v = part(&id, "3", vec![b' '; 1 << 20], &ann).await;
    assert!(error_text(&v).contains("too large"), "{v}");
    let v = s
        .get(&format!("{base}/{id}/parts?f=json&token={ann}"))
        .await;
    assert_eq!(v["parts"], serde_json::json!([1, 2]), "{v}");
    // Not usable before the commit.
    let v = s
        .post(
            &format!("{base}/{id}/commit"),
            &[("f", "json"), ("token", &ann), ("parts", "1,4")],
        )
        .await;
    assert!(error_text(&v).contains("has no part 4"), "{v}");
    let v = s
        .post(
            &format!("{base}/{id}/commit"),
            &[("f", "json"), ("token", &ann)],
        )
        .await;
    assert_eq!(v["item"]["committed"], true, "{v}");
    assert_eq!(v["item"]["size"], 12, "{v}");
    let r = s
        .http
        .get(format!("{base}/{id}/download?token={ann}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..], b"first-second");
    let r = s
        .http
        .get(format!("{base}/{id}/download?f=json&token={bob}"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(&r.json::<Value>().await.unwrap()), Some(403));
    // A committed item takes no more parts.
    let v = part(&id, "3", b"x".to_vec(), &ann).await;
    assert!(error_text(&v).contains("is committed"), "{v}");
    still_serving(&s).await;
}

//! Who may read and write what: uploads (types, sizes, owners, parts, expiry), job
//! files and map images per user, missing files and symlinks, and token guessing.
//! Over real loopback sockets, each ending with a good request still answered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::time::{Duration, Instant};

use common::*;
use gp_server::ServerConfig;
use serde_json::Value;

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
    // The same upload as a portal item (`{"portalItemID"}`, federated servers 10.8+).
    let portal_ref = format!("{{\"portalItemID\": \"{id}\"}}");
    let v = s
        .post(
            &execute,
            &[
                ("f", "json"),
                ("token", &ann),
                ("Input_Features", &portal_ref),
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

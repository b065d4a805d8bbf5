//! Token security and job ownership.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::time::Duration;

use common::*;
use gp_server::ServerConfig;

async fn token(s: &Srv, user: &str, pass: &str, minutes: &str) -> String {
    let v = s
        .post(
            &s.url("/arcgis/tokens/generateToken"),
            &[
                ("f", "json"),
                ("username", user),
                ("password", pass),
                ("client", "requestip"),
                ("expiration", minutes),
            ],
        )
        .await;
    assert!(v["expires"].as_i64().unwrap() > 0, "{v}");
    v["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_ownership() {
    let s = start(ServerConfig {
        users: vec![
            ("alice".into(), "wonder".into()),
            ("bob".into(), "builder".into()),
        ],
        ..Default::default()
    })
    .await;
    // Public: rest/info advertises the token service.
    let info = s.get(&s.url("/arcgis/rest/info?f=json")).await;
    assert_eq!(info["authInfo"]["isTokenBasedSecurity"], true);
    assert!(
        info["authInfo"]["tokenServicesUrl"]
            .as_str()
            .unwrap()
            .ends_with("/arcgis/tokens/")
    );
    // 499 without a token, 498 with a bad one.
    let v = s.get(&s.svc("?f=json")).await;
    assert_eq!(error_code(&v), Some(499), "{v}");
    assert_eq!(v["error"]["messageCode"], "GWM_0003");
    let v = s.get(&s.svc("?f=json&token=nope")).await;
    assert_eq!(error_code(&v), Some(498), "{v}");
    // Bad credentials; GET is refused.
    let v = s
        .post(
            &s.url("/arcgis/tokens/generateToken"),
            &[("f", "json"), ("username", "alice"), ("password", "x")],
        )
        .await;
    assert_eq!(error_code(&v), Some(400));
    assert!(error_text(&v).contains("Invalid username or password"));
    let v = s
        .get(&s.url("/arcgis/tokens/generateToken?f=json&username=alice&password=wonder"))
        .await;
    assert!(v.get("token").is_none(), "{v}");
    // The three ways to send a token.
    let alice = token(&s, "alice", "wonder", "60").await;
    assert!(s.get(&s.svc(&format!("?f=json&token={alice}"))).await["folders"].is_array());
    for h in ["X-Esri-Authorization", "Authorization"] {
        let v: serde_json::Value = s
            .http
            .get(s.svc("?f=json"))
            .header(h, format!("Bearer {alice}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(v["folders"].is_array(), "{h}: {v}");
    }
    // Jobs belong to their submitter.
    let task = s.svc("GP/Utilities/GPServer/Wait");
    let v = s
        .post(
            &format!("{task}/submitJob"),
            &[("f", "json"), ("Seconds", "0"), ("token", &alice)],
        )
        .await;
    let job = format!("{task}/jobs/{}", v["jobId"].as_str().unwrap());
    let bob = token(&s, "bob", "builder", "60").await;
    let v = s.get(&format!("{job}?f=json&token={bob}")).await;
    assert_eq!(error_code(&v), Some(403), "{v}");
    let v = s.get(&format!("{job}/cancel?f=json&token={bob}")).await;
    assert_eq!(error_code(&v), Some(403), "{v}");
    let v = s.get(&format!("{job}?f=json&token={alice}")).await;
    assert!(v["jobStatus"].is_string(), "{v}");
    // Tokens expire.
    let short = token(&s, "alice", "wonder", "0.005").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let v = s.get(&s.svc(&format!("?f=json&token={short}"))).await;
    assert_eq!(error_code(&v), Some(498), "{v}");
    s.server.shutdown().await;
}

/// A refused token on a request without `f` (a file download) is answered with the
/// JSON envelope, so a client sees the 498 and refreshes; `f=html` still gets a page.
/// (Found by the soak: downloads got an HTML page and never refreshed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_without_f_is_answered_as_json() {
    let s = start(ServerConfig {
        users: vec![("alice".into(), "wonder".into())],
        ..Default::default()
    })
    .await;
    let url = s.url("/arcgis/rest/directories/arcgisjobs/x/j1/scratch/out.tif");
    let r = s
        .http
        .get(&url)
        .header("X-Esri-Authorization", "Bearer expired")
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("json")
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(error_code(&v), Some(498), "{v}");
    let page = s
        .http
        .get(format!("{url}?f=html&token=expired"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html"), "{page}");
}

/// A hosted output belongs to its publisher: other users neither see it, query it,
/// use it as an input nor find its portal item; sample layers stay readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_output_is_its_owners_alone() {
    let s = start(ServerConfig {
        users: vec![
            ("alice".into(), "wonder".into()),
            ("bob".into(), "builder".into()),
        ],
        ..Default::default()
    })
    .await;
    let alice = token(&s, "alice", "wonder", "60").await;
    let bob = token(&s, "bob", "builder", "60").await;
    let input = points(4326, &[(10.0, 50.0), (11.0, 51.0)]);
    let v = s
        .post(
            &s.svc("GP/BufferSync/GPServer/BufferPoints/execute"),
            &[
                ("f", "json"),
                ("token", &alice),
                ("Input_Features", &input),
                ("Distance", "1 Kilometers"),
                ("esri_out_feature_service_name", "alices"),
            ],
        )
        .await;
    let url = v["results"][0]["value"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let q = |t: &str| format!("{url}/query?where=1%3D1&returnCountOnly=true&f=json&token={t}");
    assert_eq!(s.get(&q(&alice)).await["count"], 2);
    let refused = s.http.get(q(&bob)).send().await.unwrap();
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(error_code(&body), Some(403), "{body}");
    let listed = s.get(&s.svc(&format!("Hosted?f=json&token={bob}"))).await;
    assert!(!listed.to_string().contains("alices"), "{listed}");
    assert!(
        listed.to_string().contains("naturalearth_cities"),
        "{listed}"
    );
    let used = s
        .post(
            &s.svc("GP/BufferSync/GPServer/BufferPoints/execute"),
            &[
                ("f", "json"),
                ("token", &bob),
                (
                    "Input_Features",
                    &serde_json::json!({"url": url}).to_string(),
                ),
                ("Distance", "1 Kilometers"),
            ],
        )
        .await;
    assert!(error_text(&used).contains("no hosted layer"), "{used}");
    let id = gp_server::portal_item_id("FeatureServer", "alices");
    let item = s
        .get(&s.url(&format!(
            "/arcgis/sharing/rest/content/items/{id}?f=json&token={bob}"
        )))
        .await;
    assert_eq!(error_code(&item), Some(400), "{item}");
    let item = s
        .get(&s.url(&format!(
            "/arcgis/sharing/rest/content/items/{id}?f=json&token={alice}"
        )))
        .await;
    assert_eq!(item["owner"], "alice", "{item}");
}

/// A token inside a layer-URL input (`{"url", "token"}`) is not recorded with the
/// job: neither in `inputs/<name>` nor in the job's folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_in_layer_inputs_are_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(ServerConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    let layer = s.svc("Hosted/naturalearth_cities/FeatureServer/0");
    let input = serde_json::json!({"url": layer, "filter": "name = 'Paris'", "token": "s3cret-layer-token"})
        .to_string();
    let job = s
        .submit(
            &s.svc("GP/BufferByVal/GPServer/BufferPoints"),
            &[("Input_Features", &input), ("Distance", "1 Kilometers")],
        )
        .await;
    assert_eq!(s.wait(&job).await["jobStatus"], "esriJobSucceeded");
    let recorded = s.get(&format!("{job}/inputs/Input_Features?f=json")).await;
    assert_eq!(recorded["value"]["filter"], "name = 'Paris'", "{recorded}");
    assert!(!recorded.to_string().contains("s3cret"), "{recorded}");
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                assert!(!text.contains("s3cret"), "{}", p.display());
            }
        }
    }
}

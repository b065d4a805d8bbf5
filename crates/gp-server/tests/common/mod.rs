//! Helpers: a server on loopback and a plain HTTP client.
#![allow(dead_code, unreachable_pub)] // reason: each test file uses a subset

use std::time::{Duration, Instant};

use gp_server::{Server, ServerConfig};
use serde_json::Value;

pub struct Srv {
    pub server: Server,
    pub http: reqwest::Client,
}

pub async fn start(config: ServerConfig) -> Srv {
    let server = Server::start(config).await.expect("server starts");
    Srv {
        server,
        http: reqwest::Client::new(),
    }
}

pub async fn start_default() -> Srv {
    start(ServerConfig::default()).await
}

impl Srv {
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub fn svc(&self, path: &str) -> String {
        self.server.url(&format!("/arcgis/rest/services/{path}"))
    }

    pub async fn get(&self, url: &str) -> Value {
        let r = self.http.get(url).send().await.expect("GET");
        assert_eq!(r.status(), 200, "GET {url}");
        r.json().await.expect("JSON body")
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Value {
        let r = self.http.post(url).form(form).send().await.expect("POST");
        assert_eq!(r.status(), 200, "POST {url}");
        r.json().await.expect("JSON body")
    }

    /// Submits a job and returns its URL (`<task>/jobs/<id>`).
    pub async fn submit(&self, task_url: &str, form: &[(&str, &str)]) -> String {
        let mut f = vec![("f", "json")];
        f.extend_from_slice(form);
        let v = self.post(&format!("{task_url}/submitJob"), &f).await;
        let id = v["jobId"]
            .as_str()
            .unwrap_or_else(|| panic!("no jobId in {v}"));
        assert!(id.starts_with('j') && id.len() == 33, "{id}");
        format!("{task_url}/jobs/{id}")
    }

    /// Polls a job until it ends (10 s at most) and returns its last status JSON.
    pub async fn wait(&self, job_url: &str) -> Value {
        let start = Instant::now();
        loop {
            let v = self.get(&format!("{job_url}?f=json")).await;
            let s = v["jobStatus"].as_str().unwrap_or_default().to_string();
            if matches!(
                s.as_str(),
                "esriJobSucceeded" | "esriJobFailed" | "esriJobCancelled" | "esriJobTimedOut"
            ) {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "job did not end: {v}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// An Esri JSON feature set of points in `wkid`.
pub fn points(wkid: i32, pts: &[(f64, f64)]) -> String {
    let features: Vec<Value> = pts
        .iter()
        .enumerate()
        .map(|(i, (x, y))| {
            serde_json::json!({"geometry": {"x": x, "y": y}, "attributes": {"OBJECTID": i + 1, "Name": format!("p{i}")}})
        })
        .collect();
    serde_json::json!({
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": wkid},
        "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"}, {"name": "Name", "type": "esriFieldTypeString", "length": 50}],
        "features": features,
    })
    .to_string()
}

pub fn error_code(v: &Value) -> Option<i64> {
    v["error"]["code"].as_i64()
}

pub fn error_text(v: &Value) -> String {
    format!("{} {}", v["error"]["message"], v["error"]["details"])
}

/// A good request must be answered within this long while an attack goes on (a
/// liveness bound, several times what a healthy server needs).
pub const LIVE: Duration = Duration::from_secs(10);

/// How many attacking connections fit in this process's descriptor limit (each takes
/// one descriptor here and one in the server, which runs in the same process), at most `want`.
pub fn connections(want: usize) -> usize {
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
pub async fn still_serving(s: &Srv) {
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

//! `cargo xtask bench server`: how long a job status request waits while map exports
//! render. Status latencies are measured on an idle server and then while 16 exports
//! of 4096 × 4096 pixels run at once, side by side in one run; the target is a median
//! delay under 100 ms.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // reason: a benchmark

use std::time::{Duration, Instant};

use gp_server::{Server, ServerConfig};

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let p = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
    (p(0.5), p(0.99), v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let server = Server::start(ServerConfig::default()).await.unwrap();
    let http = reqwest::Client::new();
    let task = server.url("/arcgis/rest/services/GP/BufferByVal/GPServer/BufferPoints");
    let features: Vec<String> = (0..400)
        .map(|i| {
            format!(
                r#"{{"geometry": {{"x": {}, "y": {}}}}}"#,
                i % 40 - 20,
                i / 40 * 3
            )
        })
        .collect();
    let input = format!(
        r#"{{"geometryType": "esriGeometryPoint", "spatialReference": {{"wkid": 4326}}, "features": [{}]}}"#,
        features.join(",")
    );
    let v: serde_json::Value = http
        .post(format!("{task}/submitJob"))
        .form(&[
            ("f", "json"),
            ("Input_Features", &input),
            ("Distance", "100 kilometers"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = v["jobId"].as_str().unwrap().to_string();
    let status = format!("{task}/jobs/{id}?f=json");
    loop {
        let v: serde_json::Value = http
            .get(&status)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["jobStatus"] == "esriJobSucceeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let probe = |n: usize| {
        let http = http.clone();
        let status = status.clone();
        async move {
            let mut lat = Vec::new();
            for _ in 0..n {
                let t = Instant::now();
                let r = http.get(&status).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                lat.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            lat
        }
    };
    let idle = probe(200).await;
    let export = server.url(&format!(
        "/arcgis/rest/services/GP/BufferByVal/MapServer/jobs/{id}/export?f=image&size=4096,4096&format=png32&bbox=-30,-10,30,40&bboxSR=4326"
    ));
    let t = Instant::now();
    let exports: Vec<_> = (0..16)
        .map(|_| {
            let http = http.clone();
            let url = export.clone();
            tokio::spawn(async move {
                let r = http.get(url).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap().len()
            })
        })
        .collect();
    let mut loaded = Vec::new();
    while exports.iter().any(|e| !e.is_finished()) {
        loaded.extend(probe(1).await);
    }
    let mut bytes = 0;
    for e in exports {
        bytes += e.await.unwrap();
    }
    let took = t.elapsed();
    let (i50, i99, imax) = stats(idle);
    let n = loaded.len();
    let (l50, l99, lmax) = stats(loaded);
    println!("job status latency (GET …/jobs/<id>?f=json), one run, side by side:");
    println!(
        "  idle server:                      median {} | p99 {} | max {} (200 requests)",
        ms(i50),
        ms(i99),
        ms(imax)
    );
    println!(
        "  during 16 × 4096² PNG exports:    median {} | p99 {} | max {} ({n} requests; exports took {:.1} s, {} MB)",
        ms(l50),
        ms(l99),
        ms(lmax),
        took.as_secs_f64(),
        bytes >> 20
    );
    println!(
        "  delay added by the exports (median): {} (target: under 100 ms)",
        ms(l50.saturating_sub(i50))
    );
    server.shutdown().await;
}

//! A battery of malformed requests: each gets the error envelope naming the
//! parameter, and the server keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use common::*;
use gp_server::ServerConfig;

/// Form fields, the parameter the error must name, and a word it must contain.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_envelopes_and_the_server_keeps_serving() {
    let s = start(ServerConfig {
        max_body_bytes: 8 << 20,
        max_vertices: 10_000,
        ..Default::default()
    })
    .await;
    let buffer = s.svc("GP/BufferSync/GPServer/BufferPoints/execute");
    let good = points(4326, &[(1.0, 1.0)]);
    let line = r#"{"geometryType": "esriGeometryPolyline", "features": [{"geometry": {"paths": [[[0,0],[1,1]]]}, "attributes": {}}]}"#;
    let many: String = {
        let pts: Vec<(f64, f64)> = (0..20_000).map(|i| (i as f64 * 1e-4, 0.0)).collect();
        points(4326, &pts)
    };
    let cases: Vec<Case<'_>> = vec![
        (
            vec![("Input_Features", "{not json"), ("Distance", "5 feet")],
            "Input_Features",
            "JSON",
        ),
        (
            vec![("Input_Features", line), ("Distance", "5 feet")],
            "Input_Features",
            "esriGeometryPolyline",
        ),
        (
            vec![
                ("Input_Features", &good),
                ("Distance", r#"{"distance": -5, "units": "esriMeters"}"#),
            ],
            "Distance",
            "positive",
        ),
        (
            vec![("Input_Features", &good), ("Distance", "5 furlongs")],
            "Distance",
            "furlongs",
        ),
        (
            vec![
                ("Input_Features", &good),
                (
                    "Distance",
                    r#"{"distance": 5, "units": "esriDecimalDegrees"}"#,
                ),
            ],
            "Distance",
            "metres",
        ),
        (
            vec![
                ("Input_Features", &good),
                ("Distance", "5 feet"),
                ("Dissolve", "SOME"),
            ],
            "Dissolve",
            "NONE, ALL",
        ),
        (
            vec![
                ("Input_Features", &good),
                ("Distance", "5 feet"),
                ("context", "{oops"),
            ],
            "context",
            "JSON",
        ),
        (
            vec![
                ("Input_Features", &good),
                ("Distance", "5 feet"),
                ("env:outSR", "999999"),
            ],
            "env:outSR",
            "999999",
        ),
        (vec![("Distance", "5 feet")], "Input_Features", "required"),
        (
            vec![
                (
                    "Input_Features",
                    r#"{"features": [{"geometry": {"x": 1e999, "y": 0}}]}"#,
                ),
                ("Distance", "5 feet"),
            ],
            "Input_Features",
            "",
        ),
        (
            vec![("Input_Features", &many), ("Distance", "5 feet")],
            "Input_Features",
            "10000",
        ),
    ];
    for (form, param, needle) in &cases {
        let mut f = vec![("f", "json")];
        f.extend_from_slice(form);
        let v = s.post(&buffer, &f).await;
        assert_eq!(error_code(&v), Some(400), "{param}: {v}");
        let text = error_text(&v);
        assert!(
            text.contains(param) && text.contains(needle),
            "{param}/{needle}: {text}"
        );
    }
    // Slope: invalid raster, unknown item, foreign URL, bad measurement.
    let slope = s.svc("SlopeByVal/GPServer/RunSlope/submitJob");
    let bogus = {
        let part = reqwest::multipart::Part::bytes(b"II*\0garbage".to_vec()).file_name("bad.tif");
        let form = reqwest::multipart::Form::new()
            .text("f", "json")
            .part("file", part);
        let v: serde_json::Value = s
            .http
            .post(s.svc("SlopeByVal/GPServer/uploads/upload"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["item"]["itemID"].as_str().unwrap().to_string()
    };
    let bogus_ref = format!(r#"{{"itemID": "{bogus}"}}"#);
    for (dem, extra, needle) in [
        (bogus_ref.as_str(), ("Z_Factor", "1"), "GeoTIFF"),
        (
            r#"{"itemID": "i00000000-0000-0000-0000-000000000000"}"#,
            ("Z_Factor", "1"),
            "itemID",
        ),
        (
            r#"{"url": "https://example.com/dem.tif"}"#,
            ("Z_Factor", "1"),
            "does not fetch",
        ),
        (
            r#"{"url": "http://x/arcgis/rest/directories/arcgisjobs/../../etc/passwd"}"#,
            ("Z_Factor", "1"),
            "not found",
        ),
        ("sample_dem", ("Output_Measurement", "RADIANS"), "DEGREE"),
        ("sample_dem", ("Z_Factor", "-1"), "positive"),
        ("sample_dem", ("Z_Factor", "NaN"), "Z_Factor"),
    ] {
        let v = s
            .post(&slope, &[("f", "json"), ("Input_DEM", dem), extra])
            .await;
        assert_eq!(error_code(&v), Some(400), "{dem}: {v}");
        assert!(
            error_text(&v).contains(needle),
            "{needle}: {}",
            error_text(&v)
        );
        // No answer shows where the server keeps its files.
        let data = s.server.data_dir().to_string_lossy().into_owned();
        assert!(!v.to_string().contains(&data), "{v}");
    }
    // Wait: not a number.
    let v = s
        .post(
            &s.svc("GP/Utilities/GPServer/Wait/submitJob"),
            &[("f", "json"), ("Seconds", "soon")],
        )
        .await;
    assert!(error_text(&v).contains("Seconds"), "{v}");
    // Oversized body: an envelope, not a dropped connection.
    let big = "x".repeat(9 << 20);
    let v = s
        .post(&buffer, &[("f", "json"), ("Input_Features", &big)])
        .await;
    assert_eq!(error_code(&v), Some(400), "{v}");
    assert!(error_text(&v).contains("limit"), "{v}");
    // Unknown f, bad booleans, bad export parameters.
    let v = s.get(&s.svc("?f=xml")).await;
    assert_eq!(error_code(&v), Some(400));
    let job = s
        .submit(
            &s.svc("GP/BufferByVal/GPServer/BufferPoints"),
            &[("Input_Features", &good), ("Distance", "5 feet")],
        )
        .await;
    s.wait(&job).await;
    let v = s.get(&format!("{job}?f=json&returnMessages=perhaps")).await;
    assert!(error_text(&v).contains("returnMessages"), "{v}");
    let id = job.rsplit('/').next().unwrap();
    for q in [
        "size=0,10",
        "size=99999,10",
        "bbox=1,2,3",
        "bbox=3,3,1,1",
        "format=bmp",
        "bboxSR=0&bbox=1,1,2,2",
        "dpi=-3",
        "layers=show:x",
    ] {
        let v = s
            .get(&s.svc(&format!(
                "GP/BufferByVal/MapServer/jobs/{id}/export?f=json&{q}"
            )))
            .await;
        assert_eq!(error_code(&v), Some(400), "{q}: {v}");
    }
    // Path traversal in directories.
    let r = s
        .http
        .get(s.url("/arcgis/rest/directories/arcgisjobs/..%2F..%2Fetc/passwd?f=json"))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(error_code(&v), Some(404));
    // And the server still works.
    let v = s
        .post(
            &buffer,
            &[
                ("f", "json"),
                ("Input_Features", &good),
                ("Distance", "5 feet"),
            ],
        )
        .await;
    assert_eq!(
        v["results"][0]["value"]["features"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{v}"
    );
    s.server.shutdown().await;
}

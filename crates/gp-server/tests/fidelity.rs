//! Fidelity found by trying the server as ArcGIS users would: buffers across the
//! antimeridian, map images on a base layer, and every task's help page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffers_across_the_antimeridian_come_back_cut_at_180() {
    let s = start_default().await;
    let url = s.svc("GP/BufferSync/GPServer/BufferPoints/execute");
    let input = points(4326, &[(179.99, -17.0)]);
    let xs = |v: &Value| -> Vec<Vec<f64>> {
        v["results"][0]["value"]["features"][0]["geometry"]["rings"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c[0].as_f64().unwrap())
                    .collect()
            })
            .collect()
    };
    for (context, limit, near) in [
        ("", 180.0, 179.0),
        (r#"{"outSR": 3857}"#, 20_037_508.35, 19_900_000.0),
    ] {
        let v = s
            .post(
                &url,
                &[
                    ("f", "json"),
                    ("Input_Features", &input),
                    ("Distance", "20 kilometers"),
                    ("context", context),
                ],
            )
            .await;
        let rings = xs(&v);
        // Two pieces, one at each edge of the map; none spans the world.
        assert_eq!(rings.len(), 2, "{context}: {v}");
        for r in &rings {
            assert!(r.iter().all(|x| x.abs() <= limit), "{context}: {r:?}");
            assert!(
                r.iter().all(|x| x.abs() > near),
                "{context}: a ring spans the map: {r:?}"
            );
        }
        assert!(rings.iter().any(|r| r[0] > 0.0) && rings.iter().any(|r| r[0] < 0.0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_images_show_where_the_result_is_on_a_base_layer() {
    let s = start_default().await;
    let task = s.svc("GP/BufferByVal/GPServer/BufferPoints");
    let job = s
        .submit(
            &task,
            &[
                ("Input_Features", &points(4326, &[(0.0, 50.0)])),
                ("Distance", "100 kilometers"),
            ],
        )
        .await;
    assert_eq!(s.wait(&job).await["jobStatus"], "esriJobSucceeded");
    let id = job.rsplit('/').next().unwrap();
    let export = |transparent: &str| {
        let url = s.svc(&format!(
            "GP/BufferByVal/MapServer/jobs/{id}/export?f=image&bbox=-30,30,30,60&bboxSR=4326&size=300,150&format=png32&transparent={transparent}"
        ));
        let http = s.http.clone();
        async move {
            let bytes = http.get(url).send().await.unwrap().bytes().await.unwrap();
            image::load_from_memory(&bytes).unwrap().to_rgba8()
        }
    };
    // (lon, lat) to pixel: 5 pixels a degree from (-30, 60).
    let px = |img: &image::RgbaImage, lon: f64, lat: f64| {
        *img.get_pixel(((lon + 30.0) * 5.0) as u32, ((60.0 - lat) * 5.0) as u32)
    };
    let img = export("false").await;
    let sea = px(&img, -25.0, 40.0); // the Atlantic
    let land = px(&img, 25.0, 45.0); // Romania
    let result = px(&img, 0.0, 50.0); // the buffer, over the Channel coast
    assert_eq!(sea.0, [214, 232, 244, 255], "sea");
    assert_eq!(land.0, [240, 234, 214, 255], "land");
    assert!(
        result.0[2] > result.0[0] + 20,
        "the result is drawn in blue over the base: {result:?}"
    );
    // Transparent images are for overlays: no base layer.
    let img = export("true").await;
    assert_eq!(px(&img, -25.0, 40.0).0[3], 0);
    assert_eq!(px(&img, 25.0, 45.0).0[3], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_help_url_serves_its_help_page() {
    let s = start_default().await;
    for (svc, task) in [
        ("GP/BufferByVal", "BufferPoints"),
        ("GP/BufferSync", "BufferPoints"),
        ("SlopeByVal", "RunSlope"),
        ("GP/Utilities", "EchoTypes"),
    ] {
        let info = s
            .get(&s.svc(&format!("{svc}/GPServer/{task}?f=json")))
            .await;
        let help = info["helpUrl"].as_str().unwrap_or_else(|| panic!("{info}"));
        let r = s.http.get(help).send().await.unwrap();
        assert_eq!(r.status(), 200, "{help}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let page = r.text().await.unwrap();
        assert!(page.contains(&format!("<h1>{task}</h1>")), "{page}");
        for p in info["parameters"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            assert!(
                page.contains(&format!("<td>{name}</td>")),
                "{svc}/{task}: {name}"
            );
        }
    }
    // A help page of a task that does not exist is a 404.
    let r = s
        .http
        .get(s.url("/arcgis/rest/directories/arcgisoutput/SlopeByVal_GPServer/SlopeByVal/Nope.htm"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

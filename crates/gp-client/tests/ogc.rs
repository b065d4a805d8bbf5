//! gp-client on an OGC API – Processes endpoint (gp-server's `/arcgis/ogc` face):
//! the same import, run, wait, outputs, save and cancel as on ArcGIS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use gp_client::*;
use gp_model::{DataType, GpValue, JobStatus};
use gp_server::{Server, ServerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_run_as_tools() {
    let s = Server::start(ServerConfig::default()).await.unwrap();
    let client = Client::http().unwrap();
    // Detected from what the URL serves: no /rest/services, a conformance page.
    let tb = client.import(&s.url("/arcgis/ogc")).await.unwrap();
    let buffer = tb.tool("buffersync.bufferpoints").unwrap();
    assert!(buffer.is_ogc());
    let p = buffer.info().inputs().next().unwrap();
    assert_eq!(p.data_type, DataType::FeatureRecordSetLayer);
    assert!(p.is_required());
    let dissolve = buffer
        .info()
        .inputs()
        .find(|p| p.name.as_str() == "Dissolve")
        .unwrap();
    assert_eq!(dissolve.choices().map(<[String]>::len), Some(2));
    // Checked before sending, as for ArcGIS.
    let e = buffer
        .run(Params::new().set("Dissolve", "SOME"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Dissolve"), "{e}");
    // Esri JSON in (sent as GeoJSON), a job followed at its Location, GeoJSON out.
    let points = r#"{"geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 4326},
        "features": [{"geometry": {"x": 10, "y": 50}, "attributes": {"Name": "a"}},
                     {"geometry": {"x": 11, "y": 51}, "attributes": {"Name": "b"}}]}"#;
    let r = buffer
        .run(
            Params::new()
                .set("Input_Features", points)
                .set("Distance", "1 kilometers"),
        )
        .await
        .unwrap();
    assert!(r.job_url().unwrap().contains("/arcgis/ogc/jobs/"));
    assert_eq!(r.wait().await.unwrap(), JobStatus::Succeeded);
    let GpValue::FeatureSet(fs) = r.output("Output_Polygons").await.unwrap() else {
        panic!("a feature set")
    };
    assert_eq!(fs.features.len(), 2);
    assert_eq!(fs.geometry_type, Some(gp_model::GeometryType::Polygon));
    let dir = tempfile::tempdir().unwrap();
    let saved = r
        .save_outputs(
            dir.path(),
            &SaveOptions {
                format: gp_features::Format::GeoJson,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(&saved[0].saved, Saved::Features { features: 2, .. }),
        "{saved:?}"
    );
    // A process URL imports its API, and the process must exist.
    let tb = client
        .import(&s.url("/arcgis/ogc/processes/echo"))
        .await
        .unwrap();
    let echo = tb.tool("echo").unwrap();
    let r = echo
        .run(
            Params::new()
                .set("stringInput", "héllo")
                .set("boundingBoxInput", "1 2 3 4"),
        )
        .await
        .unwrap();
    r.wait().await.unwrap();
    assert_eq!(
        r.output("stringOutput").await.unwrap(),
        GpValue::String("héllo".into())
    );
    assert!(matches!(
        r.output("boundingBoxOutput").await.unwrap(),
        GpValue::Extent(_)
    ));
    assert!(
        client
            .import(&s.url("/arcgis/ogc/processes/nope"))
            .await
            .is_err()
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_cancels_end_the_wait() {
    let s = Server::start(ServerConfig::default()).await.unwrap();
    let tb = Client::http()
        .unwrap()
        .import(&s.url("/arcgis/ogc"))
        .await
        .unwrap();
    let r = tb.tool("fail").unwrap().run(Params::new()).await.unwrap();
    let e = r.wait().await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::JobFailed {
                status: JobStatus::Failed,
                ..
            }
        ),
        "{e}"
    );
    let r = tb
        .tool("wait")
        .unwrap()
        .run(Params::new().set("Seconds", "30"))
        .await
        .unwrap();
    let st = r.cancel().await.unwrap();
    assert_eq!(st, JobStatus::Cancelled);
    s.shutdown().await;
}

/// pygeoapi 0.21.0 as recorded (`tests/fixtures/pygeoapi/SOURCES.md`): its
/// descriptions, a 201 with a `null` body and the job only in `Location`, the
/// pre-1.0 results shape, and a failed job whose error is its status message.
#[tokio::test]
async fn pygeoapi_as_recorded() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pygeoapi/");
    let read = |f: &str| std::fs::read_to_string(format!("{DIR}{f}")).unwrap();
    let (conf, list, hello, shapely, echo) = (
        read("conformance.json"),
        read("processes.json"),
        read("process-hello-world.json"),
        read("process-shapely-functions.json"),
        read("process-echo.json"),
    );
    let sync_raw = read("execute-sync-raw.json");
    let (null_body, ok_status, failed_status, results) = (
        read("execute-async-raw.json"),
        read("job-successful.json"),
        read("job-failed.json"),
        read("results-hello-world.json"),
    );
    let failing = Arc::new(AtomicBool::new(false));
    let f = failing.clone();
    let mut mock = gp_transport::MockTransport::new();
    mock.expect_send().returning(move |req| {
        let path = req.uri().path().to_string();
        assert_eq!(req.headers()["accept"], "application/json", "{path}");
        let (status, body, location) = match path.as_str() {
            "/conformance" => (200, conf.clone(), None),
            "/processes" => (200, list.clone(), None),
            "/processes/hello-world" => (200, hello.clone(), None),
            "/processes/shapely-functions" => (200, shapely.clone(), None),
            "/processes/echo" => (200, echo.clone(), None),
            "/processes/hello-world/execution" if req.headers().get("prefer").is_none() => {
                (200, sync_raw.clone(), None)
            }
            "/processes/hello-world/execution" | "/processes/shapely-functions/execution" => {
                assert_eq!(req.headers()["prefer"], "respond-async");
                (201, null_body.clone(), Some("http://pg.example/jobs/j1"))
            }
            "/jobs/j1" if f.load(Ordering::SeqCst) => (200, failed_status.clone(), None),
            "/jobs/j1" => (200, ok_status.clone(), None),
            "/jobs/j1/results" => (200, results.clone(), None),
            other => panic!("unexpected {other}"),
        };
        let mut b = http::Response::builder().status(status);
        if let Some(l) = location {
            b = b.header("location", l);
        }
        Ok(b.body(bytes::Bytes::from(body)).unwrap())
    });
    let client = Client::new(Arc::new(mock));
    let tb = client
        .import("http://pg.example/processes/hello-world")
        .await
        .unwrap();
    assert_eq!(tb.named_tool().map(|t| t.name()), Some("hello-world"));
    let shapely = tb.tool("shapely-functions").unwrap();
    let op = shapely.info().inputs().next().unwrap();
    assert!(
        op.choices()
            .is_some_and(|c| c.iter().any(|c| c == "measurement:distance"))
    );
    let r = tb
        .tool("hello-world")
        .unwrap()
        .run(Params::new().set("name", "World"))
        .await
        .unwrap();
    assert_eq!(r.job_url(), Some("http://pg.example/jobs/j1"));
    r.wait().await.unwrap();
    assert_eq!(
        r.output("echo").await.unwrap(),
        GpValue::Json(serde_json::json!("Hello World!"))
    );
    // Asked to, a process that offers both runs synchronously: pygeoapi's raw answer.
    let r = tb
        .tool("hello-world")
        .unwrap()
        .run(Params::new().set("name", "World").synchronous(true))
        .await
        .unwrap();
    assert_eq!(r.job_url(), None);
    assert_eq!(
        r.output("echo").await.unwrap(),
        GpValue::Json(serde_json::json!("Hello World!"))
    );
    failing.store(true, Ordering::SeqCst);
    let r = shapely
        .run(
            Params::new()
                .set("operation", "measurement:area")
                .set("geoms", "garbage"),
        )
        .await
        .unwrap();
    let e = r.wait().await.unwrap_err();
    assert!(e.to_string().contains("ParseException"), "{e}");
}

/// A local raster for an OGC process goes inline (base64, OGC has no uploads); the
/// raster output comes back as a link and is downloaded into the scratch workspace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_raster_goes_inline_and_a_raster_output_is_downloaded() {
    let s = Server::start(ServerConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dem = dir.path().join("dem.tif");
    let data: Vec<f32> = (0..64 * 64).map(|i| (i % 64) as f32 * 3.0).collect();
    let mut r = gp_raster::Raster::new(64, 64, 1, gp_raster::RasterData::F32(data)).unwrap();
    r.georef = gp_raster::GeoReference::north_up(500_000.0, 5_200_000.0, 30.0, 32633);
    gp_raster::write_geotiff(&dem, &r, &Default::default()).unwrap();
    let tb = Client::http()
        .unwrap()
        .import(&s.url("/arcgis/ogc/processes/runslope"))
        .await
        .unwrap();
    let slope = tb.named_tool().unwrap();
    let r = slope
        .run(Params::new().file("Input_DEM", &dem))
        .await
        .unwrap();
    r.wait().await.unwrap();
    let out = dir.path().join("out");
    let opts = SaveOptions {
        scratch: Some(gp_fs::ScratchWorkspace::at(dir.path().join("scratch"))),
        ..Default::default()
    };
    let saved = r.save_outputs(&out, &opts).await.unwrap();
    let Saved::File { path } = &saved[0].saved else {
        panic!("{saved:?}")
    };
    assert!(
        path.starts_with(dir.path().join("scratch")),
        "{}",
        path.display()
    );
    let info = gp_raster::read_tiff_info(path).unwrap();
    assert_eq!((info.width, info.height), (64, 64));
    s.shutdown().await;
}

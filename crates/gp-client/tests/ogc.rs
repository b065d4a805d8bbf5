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

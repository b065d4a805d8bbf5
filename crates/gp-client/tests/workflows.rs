//! The seed's workflows through gp-client against gp-server over real loopback HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::sync::Arc;
use std::time::Duration;

use gp_client::*;
use gp_model::{GpValue, JobStatus, Severity};
use gp_server::{Server, ServerConfig};

async fn server() -> Server {
    Server::start(ServerConfig::default()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_forms_and_parameter_values() {
    let s = server().await;
    let client = Client::http().unwrap();
    let tb = client
        .import(&s.url("/arcgis/rest/services/GP/BufferByVal/GPServer"))
        .await
        .unwrap();
    assert!(!tb.is_synchronous());
    assert_eq!(tb.tools().len(), 1);
    let tool = tb.tool("buffer_points").unwrap();
    assert_eq!(tool.name(), "BufferPoints");
    assert!(!tool.is_synchronous());
    // GetParameterValue: the empty FeatureSet carrying the schema; the linear unit default.
    let Some(GpValue::FeatureSet(fs)) = tool.parameter_value(0).unwrap() else {
        panic!()
    };
    assert!(fs.features.is_empty());
    assert_eq!(fs.fields.as_ref().unwrap().len(), 2);
    let Some(GpValue::LinearUnit(d)) = tool.parameter_value("Distance").unwrap() else {
        panic!()
    };
    assert_eq!(d.distance, 5.0);
    let e = tool.parameter("Distanse").unwrap_err().to_string();
    assert!(e.contains("did you mean `Distance`"), "{e}");
    let e = tb.tool("BufferPoint").unwrap_err().to_string();
    assert!(e.contains("did you mean `BufferPoints`"), "{e}");
    // Other forms: a task URL, and arcpy's "…/services;Folder/Service".
    let sync = client
        .import(&s.url("/arcgis/rest/services/GP/BufferSync/GPServer/BufferPoints"))
        .await
        .unwrap();
    assert!(sync.is_synchronous() && sync.tool("BufferPoints").unwrap().is_synchronous());
    let arcpy = client
        .import(&format!("{};GP/Utilities", s.url("/arcgis/services")))
        .await
        .unwrap();
    let names: Vec<&str> = arcpy.tools().iter().map(|t| t.name()).collect();
    assert_eq!(names, ["Wait", "Fail", "Echo", "EchoTypes"]);
    let e = client
        .import(&s.url("/arcgis/rest/services/GP/Nope/GPServer"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Server { code: 404, .. }), "{e}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_features_run_async_wait_save_and_map_image() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let client = Client::http().unwrap();
    // The sample cities, downloaded as a Shapefile.
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        let r = reqwest_get(&s.url(&format!(
            "/arcgis/rest/directories/samples/naturalearth_cities.{ext}"
        )))
        .await;
        std::fs::write(dir.path().join(format!("cities.{ext}")), r).unwrap();
    }
    let tb = client
        .import(&s.url("/arcgis/rest/services/GP/BufferByVal/GPServer"))
        .await
        .unwrap();
    let tool = tb.tool("BufferPoints").unwrap();
    let shp = dir.path().join("cities.shp");
    let result = tool
        .run(
            Params::new()
                .set("Input_Features", shp.to_str().unwrap())
                .set("Distance", "5 kilometers"),
        )
        .await
        .unwrap();
    assert!(result.result_id().unwrap().starts_with('j'));
    assert!(
        result
            .job_url()
            .unwrap()
            .ends_with(result.result_id().unwrap())
    );
    let status = result
        .wait_with(PollPolicy {
            min: Duration::from_millis(20),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(status, JobStatus::Succeeded);
    assert_eq!(result.output_count(), 1);
    let GpValue::FeatureSet(out) = result.output(0).await.unwrap() else {
        panic!()
    };
    assert_eq!(out.features.len(), 243);
    assert!(
        result
            .messages()
            .iter()
            .any(|m| m.description.starts_with("Succeeded at"))
    );
    assert_eq!(result.max_severity(), Severity::Informative);
    // The input as the server recorded it.
    let GpValue::LinearUnit(d) = result.input("Distance").await.unwrap() else {
        panic!()
    };
    assert_eq!(d.distance, 5.0);
    // Saved locally into a File Geodatabase, as the seed does.
    let gdb = dir.path().join("base.gdb");
    gp_features::save(&out, format!("{}/towers_buffer", gdb.display())).unwrap();
    assert_eq!(
        gp_features::load(format!("{}/towers_buffer", gdb.display()))
            .unwrap()
            .features
            .len(),
        243
    );
    // The map image from the result map service.
    let url = result
        .map_image_url(0, &MapImageOptions::default())
        .await
        .unwrap();
    // Map images live with the job's files, so only the job's owner reads them.
    assert!(
        url.contains("/arcgis/rest/directories/arcgisjobs/") && url.contains("/_ags_map"),
        "{url}"
    );
    let img = result
        .map_image(
            "Output_Polygons",
            &MapImageOptions {
                size: (300, 200),
                format: "jpg".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((img.width(), img.height()), (300, 200));
    assert_eq!(img.kind(), gp_raster::ImageKind::Jpeg);
    s.shutdown().await;
}

async fn reqwest_get(url: &str) -> Vec<u8> {
    use gp_transport::TransportExt;
    let t = gp_transport::HttpTransport::new(Default::default()).unwrap();
    t.get(url, &[]).await.unwrap().into_body().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_execute_outsr_and_validation_before_any_request() {
    let s = server().await;
    let client = Client::http().unwrap();
    let tb = client
        .import(&s.url("/arcgis/rest/services/GP/BufferSync/GPServer"))
        .await
        .unwrap();
    let tool = tb.tool("BufferPoints").unwrap();
    let mut params = tool.default_parameters();
    let Some(GpValue::FeatureSet(mut fs)) = tool.parameter_value(0).unwrap() else {
        panic!()
    };
    fs.features.push(gp_model::Feature {
        attributes: Default::default(),
        geometry: Some(gp_model::geometry::Geometry::Point(
            gp_model::geometry::Point::new(10.0, 50.0),
        )),
    });
    params.set_value("Input_Features", GpValue::FeatureSet(fs));
    let params = params
        .set("Distance", "100 meters")
        .set("dissolve", "all")
        .out_sr(3857);
    let r = tool.run(params).await.unwrap();
    assert_eq!(r.status(), JobStatus::Succeeded);
    assert!(r.result_id().is_none());
    let GpValue::FeatureSet(out) = r.output("output_polygons").await.unwrap() else {
        panic!()
    };
    assert_eq!(out.spatial_reference.unwrap().wkid, Some(3857));
    // Validation against the metadata, before any request.
    let bad = |p: Params| async { tool.run(p).await.unwrap_err().to_string() };
    assert!(
        bad(Params::new().set("Distance", "5 feet"))
            .await
            .contains("Input_Features: a value is required")
    );
    assert!(
        bad(Params::new().set("Distance", "5 furlongs"))
            .await
            .contains("furlongs")
    );
    assert!(
        bad(Params::new().set("Dissolve", "SOME"))
            .await
            .contains("not one of NONE, ALL")
    );
    assert!(
        bad(Params::new().set("Output_Polygons", "x"))
            .await
            .contains("is an output")
    );
    let e = bad(Params::new().set("Distanse", "5 feet")).await;
    assert!(e.contains("did you mean `Distance`"), "{e}");
    let lines = r#"{"geometryType":"esriGeometryPolyline","features":[]}"#;
    let e = bad(Params::new().set("Input_Features", lines)).await;
    assert!(e.contains("esriGeometryPolyline"), "{e}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rasters_land_in_the_scratch_workspace() {
    let s = server().await;
    let client = Client::http().unwrap();
    let tb = client
        .import(&s.url("/arcgis/rest/services/SlopeByVal/GPServer"))
        .await
        .unwrap();
    let tool = tb.tool("run_slope").unwrap();
    let r = tool
        .run(Params::new().set("Input_DEM", "sample_dem"))
        .await
        .unwrap();
    r.wait().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scratch = gp_fs::ScratchWorkspace::at(dir.path().join("rasteroutput"));
    let path = r.download("Output_Slope", &scratch).await.unwrap();
    assert_eq!(
        path,
        dir.path().join("rasteroutput").join("Output_Slope.tif")
    );
    let info = gp_raster::RasterInfo::read(&path, true, &Default::default()).unwrap();
    let stats = info.stats.as_ref().unwrap();
    let max = stats[0].unwrap().max;
    assert!(max > 1.0 && max < 90.0, "{stats:?}");
    // An uploaded local DEM (the service has Uploads).
    let local = dir.path().join("dem.tif");
    std::fs::copy(&path, &local).unwrap();
    let r2 = tool
        .run(Params::new().file("Input_DEM", &local))
        .await
        .unwrap();
    r2.wait().await.unwrap();
    assert!(matches!(r2.output(0).await.unwrap(), GpValue::DataRef(_)));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_failure_progress_and_tokens() {
    let s = Server::start(ServerConfig {
        users: vec![("alice".into(), "wonder".into())],
        ..Default::default()
    })
    .await
    .unwrap();
    let client = Client::http().unwrap();
    // Credentials in arcpy's form.
    let tb = client
        .import(&format!(
            "{};GP/Utilities;alice;wonder",
            s.url("/arcgis/services")
        ))
        .await
        .unwrap();
    let wait = tb.tool("Wait").unwrap();
    let r = wait.run(Params::new().set("Seconds", "30")).await.unwrap();
    // Progress events until it runs.
    let mut events = Box::pin(r.progress_stream(PollPolicy {
        min: Duration::from_millis(20),
        max: Duration::from_millis(50),
        ..Default::default()
    }));
    use futures::StreamExt;
    loop {
        let e = events.next().await.unwrap().unwrap();
        if e.progress.as_ref().is_some_and(|p| p.percent.is_some()) {
            break;
        }
    }
    drop(events);
    let st = r.cancel().await.unwrap();
    assert!(
        matches!(st, JobStatus::Cancelling | JobStatus::Cancelled),
        "{st:?}"
    );
    let e = r
        .wait_with(PollPolicy {
            min: Duration::from_millis(20),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::JobFailed {
                status: JobStatus::Cancelled,
                ..
            }
        ),
        "{e}"
    );
    // A failing tool: an error carrying the server's messages.
    let r = tb.tool("Fail").unwrap().run(Params::new()).await.unwrap();
    let e = r.wait().await.unwrap_err();
    assert!(e.to_string().contains("failed on purpose"), "{e}");
    assert_eq!(r.max_severity(), Severity::Error);
    assert!(!r.messages_with(Severity::Error).is_empty());
    // Without credentials: the 499 envelope as an error.
    let e = client
        .import(&s.url("/arcgis/rest/services/GP/Utilities/GPServer"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Server { code: 499, .. }), "{e}");
    s.shutdown().await;
}

#[test]
fn the_blocking_facade_runs_the_same_workflow() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(server());
    let url = s.url("/arcgis/rest/services");
    let t = std::thread::spawn(move || {
        let client = gp_client::blocking::Client::http().unwrap();
        let tb = client
            .import(&format!("{url}/GP/BufferByVal/GPServer"))
            .unwrap();
        let tool = tb.tool("BufferPoints").unwrap();
        assert!(!tool.is_synchronous());
        let input = r#"{"features":[{"geometry":{"x":10,"y":50},"attributes":{"Name":"a"}}]}"#;
        let r = tool
            .run(
                Params::new()
                    .set("Input_Features", input)
                    .set("Distance", "5 feet"),
            )
            .unwrap();
        assert_eq!(r.wait().unwrap(), JobStatus::Succeeded);
        let GpValue::FeatureSet(fs) = r.output(0).unwrap() else {
            panic!()
        };
        assert_eq!(fs.features.len(), 1);
        // Saved, and reopened by its URL through a client built with settings.
        let dir = tempfile::tempdir().unwrap();
        let saved = r.save_outputs(dir.path(), &SaveOptions::default()).unwrap();
        assert_eq!(saved.len(), 1);
        let again =
            gp_client::blocking::Client::with(Client::builder().timeout(Duration::from_secs(30)))
                .unwrap()
                .open_job(r.as_async().job_url().unwrap())
                .unwrap();
        assert_eq!(again.status(), JobStatus::Succeeded);
    });
    t.join().unwrap();
    // The directory + name form.
    rt.block_on(async {
        let client = Client::http().unwrap();
        let tb = Toolbox::import_from(&client, &s.url("/arcgis/rest/services/"), "GP/Utilities")
            .await
            .unwrap();
        assert_eq!(tb.tools().len(), 4);
        s.shutdown().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_reopened_from_its_job_file() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("job.json");
    {
        let client = Client::http().unwrap();
        let tb = client
            .import(&s.url("/arcgis/rest/services/GP/Utilities/GPServer"))
            .await
            .unwrap();
        let r = tb
            .tool("Wait")
            .unwrap()
            .run(Params::new().set("Seconds", "0.5"))
            .await
            .unwrap();
        let jf = r.job_file().unwrap();
        assert!(!serde_json::to_string(&jf).unwrap().contains("token"));
        jf.save(&file).unwrap();
    }
    // A new client, as after a restart.
    let client = Client::http().unwrap();
    let jf = JobFile::load(&file).unwrap();
    let r = GpResult::reopen_file(&client, &jf).await.unwrap();
    assert_eq!(r.wait().await.unwrap(), JobStatus::Succeeded);
    assert_eq!(r.output_names(), ["Elapsed"]);
    let GpValue::Double(e) = r.output("Elapsed").await.unwrap() else {
        panic!()
    };
    assert!(e >= 0.5);
    let again = GpResult::reopen(&client, &jf.job_url).await.unwrap();
    assert_eq!(again.status(), JobStatus::Succeeded);
    assert!(
        GpResult::reopen(
            &client,
            &s.url("/arcgis/rest/services/GP/Utilities/GPServer")
        )
        .await
        .is_err()
    );
    s.shutdown().await;
}

/// Status requests and whether they asked the server to hold them.
#[derive(Debug)]
struct StatusCount {
    inner: Arc<dyn gp_transport::Transport>,
    held: std::sync::atomic::AtomicUsize,
    plain: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl gp_transport::Transport for StatusCount {
    async fn send(
        &self,
        req: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, gp_transport::Error> {
        use std::sync::atomic::Ordering;
        let p = req.uri().path().to_string();
        if p.contains("/jobs/") && !p.contains("/results") {
            let q = req.uri().query().unwrap_or_default();
            if q.contains("waitSeconds=") {
                self.held.fetch_add(1, Ordering::SeqCst);
            } else {
                self.plain.fetch_add(1, Ordering::SeqCst);
            }
        }
        self.inner.send(req).await
    }
}

/// gp-server advertises long polling and `wait()` uses it: a 0.5 s job is seen to
/// end by held status requests only; with `long_poll: false` the job is polled
/// without holding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_uses_long_polling_where_the_server_offers_it() {
    use std::sync::atomic::Ordering;
    let s = server().await;
    let counter = Arc::new(StatusCount {
        inner: Arc::new(gp_transport::HttpTransport::new(Default::default()).unwrap()),
        held: Default::default(),
        plain: Default::default(),
    });
    let client = Client::new(counter.clone());
    let tb = client
        .import(&s.url("/arcgis/rest/services/GP/Utilities/GPServer"))
        .await
        .unwrap();
    let wait = tb.tool("Wait").unwrap();
    let r = wait.run(Params::new().set("Seconds", "0.5")).await.unwrap();
    assert_eq!(r.wait().await.unwrap(), JobStatus::Succeeded);
    assert_eq!(counter.plain.load(Ordering::SeqCst), 0);
    // The first request is held 0.5 s: it sees the end, or the next one does.
    let held = counter.held.load(Ordering::SeqCst);
    assert!((1..=2).contains(&held), "{held} held requests");
    let r = wait.run(Params::new().set("Seconds", "0.5")).await.unwrap();
    r.wait_with(PollPolicy {
        long_poll: false,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(counter.held.load(Ordering::SeqCst), held);
    assert!(counter.plain.load(Ordering::SeqCst) >= 2);
    s.shutdown().await;
}

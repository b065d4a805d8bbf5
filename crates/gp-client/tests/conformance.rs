//! One conformance suite for the client's behaviour (import, parameters, sync and
//! async runs, outputs, cancel, failure, tokens, resume), run against every backend:
//! - the HTTP transport against gp-server on loopback (token security on), recorded
//!   as it runs;
//! - the replay of that recording, with the server gone: the client needs nothing
//!   but the answers;
//! - the mockall `MockTransport`, its expectation answering each request from that
//!   same recording (so the suite runs through the mock seam users put in their
//!   own tests);
//! - env-gated, a live server that hosts gp's sample services
//!   (`GP_CONFORMANCE_URL=https://host/arcgis`, with `GP_CONFORMANCE_USER` and
//!   `GP_CONFORMANCE_PASSWORD` when it is secured), e.g. `gp serve` elsewhere.
//!
//! The polling logic is also run against scripted `MockTransport` answers
//! (tests/mock.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gp_client::*;
use gp_model::{GpValue, JobStatus};

/// A backend: a client and the root (`…/arcgis`) of a server with gp's sample services.
struct Backend {
    name: &'static str,
    client: Client,
    root: String,
}

fn poll() -> PollPolicy {
    PollPolicy {
        min: Duration::from_millis(20),
        max: Duration::from_millis(200),
        ..Default::default()
    }
}

async fn suite(b: &Backend, dir: &Path) {
    let n = b.name;
    let svc = |s: &str| format!("{}/rest/services/{s}/GPServer", b.root);
    // Import: GPServer URL, task URL, arcpy's form; sync flags; defaults.
    let tb = b.client.import(&svc("GP/BufferByVal")).await.unwrap();
    let tool = tb.tool("buffer_points").unwrap();
    assert!(!tool.is_synchronous(), "{n}");
    let Some(GpValue::FeatureSet(schema)) = tool.parameter_value(0).unwrap() else {
        panic!("{n}: no schema")
    };
    assert!(schema.features.is_empty() && schema.fields.is_some(), "{n}");
    let sync_tb = b
        .client
        .import(&format!("{}/BufferPoints", svc("GP/BufferSync")))
        .await
        .unwrap();
    assert!(
        sync_tb.tool("BufferPoints").unwrap().is_synchronous(),
        "{n}"
    );
    let utilities = b
        .client
        .import(&format!("{}/services;GP/Utilities", b.root))
        .await
        .unwrap();
    // Parameters: checked before any request, with did-you-mean.
    let e = tool
        .run(Params::new().set("Dissolve", "NOEN"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("did you mean `NONE`"), "{n}: {e}");
    let points = r#"{"geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 4326},
        "features": [{"geometry": {"x": 10, "y": 50}, "attributes": {"Name": "a"}},
                     {"geometry": {"x": 11, "y": 51}, "attributes": {"Name": "b"}}]}"#;
    // A synchronous run.
    let r = sync_tb
        .tool("BufferPoints")
        .unwrap()
        .run(
            Params::new()
                .set("Input_Features", points)
                .set("Distance", "5 kilometers"),
        )
        .await
        .unwrap();
    assert_eq!(
        r.wait_with(poll()).await.unwrap(),
        JobStatus::Succeeded,
        "{n}"
    );
    let GpValue::FeatureSet(fs) = r.output("output_polygons").await.unwrap() else {
        panic!("{n}")
    };
    assert_eq!(fs.features.len(), 2, "{n}");
    // An asynchronous run, followed to its end by the progress stream, outputs saved.
    let r = tool
        .run(
            Params::new()
                .set("Input_Features", points)
                .set("Distance", "5 kilometers"),
        )
        .await
        .unwrap();
    let mut last = None;
    {
        use futures::StreamExt;
        let mut events = r.progress_stream(poll());
        while let Some(ev) = events.next().await {
            last = Some(ev.unwrap().status);
        }
    }
    assert_eq!(last, Some(JobStatus::Succeeded), "{n}");
    let out = dir.join(format!("{n}-out"));
    let saved = r
        .save_outputs(
            &out,
            &SaveOptions {
                format: gp_features::Format::GeoJson,
                sync: false,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(saved[0].saved, Saved::Features { features: 2, .. }),
        "{n}: {saved:?}"
    );
    assert_eq!(
        gp_features::load(out.join("Output_Polygons.geojson"))
            .unwrap()
            .features
            .len(),
        2,
        "{n}"
    );
    // Resume: by job URL, and from a job file.
    let again = GpResult::reopen(tb.client(), r.job_url().unwrap())
        .await
        .unwrap();
    assert_eq!(again.status(), JobStatus::Succeeded, "{n}");
    let jf = dir.join(format!("{n}.gpjob.json"));
    r.job_file().unwrap().save(&jf).unwrap();
    let again = b.client.open_job(jf.to_str().unwrap()).await.unwrap();
    assert_eq!(again.status(), JobStatus::Succeeded, "{n}");
    // A raster output into the scratch workspace.
    let slope = b.client.import(&svc("SlopeByVal")).await.unwrap();
    let r = slope
        .tool("RunSlope")
        .unwrap()
        .run(Params::new().set("Input_DEM", "sample_dem"))
        .await
        .unwrap();
    r.wait_with(poll()).await.unwrap();
    let tif = r
        .download(0, &gp_fs::ScratchWorkspace::at(dir.join(format!("{n}-ws"))))
        .await
        .unwrap();
    assert!(std::fs::read(tif).unwrap().starts_with(b"II*\0"), "{n}");
    // Failure, with the server's messages.
    let r = utilities
        .tool("Fail")
        .unwrap()
        .run(Params::new())
        .await
        .unwrap();
    let e = r.wait_with(poll()).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::JobFailed {
                status: JobStatus::Failed,
                ..
            }
        ),
        "{n}: {e}"
    );
    assert!(e.to_string().contains("failed on purpose"), "{n}: {e}");
    // Cancel.
    let r = utilities
        .tool("Wait")
        .unwrap()
        .run(Params::new().set("Seconds", "30"))
        .await
        .unwrap();
    let st = r.cancel().await.unwrap();
    assert!(
        matches!(st, JobStatus::Cancelling | JobStatus::Cancelled),
        "{n}: {st}"
    );
    let e = r.wait_with(poll()).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::JobFailed {
                status: JobStatus::Cancelled,
                ..
            }
        ),
        "{n}: {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_then_replay_of_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let server = gp_server::Server::start(gp_server::ServerConfig {
        users: vec![("alice".into(), "wonder".into())],
        ..Default::default()
    })
    .await
    .unwrap();
    let root = server.url("/arcgis");
    let recording = dir.path().join("session.jsonl");
    let http = gp_transport::HttpTransport::new(Default::default()).unwrap();
    let recorder = gp_transport::RecordingTransport::new(http, &recording).unwrap();
    let live = Backend {
        name: "http",
        client: Client::builder()
            .transport(Arc::new(recorder))
            .user_password("alice", "wonder")
            .build()
            .unwrap(),
        root: root.clone(),
    };
    suite(&live, dir.path()).await;
    // Without credentials the same server refuses.
    let e = Client::http()
        .unwrap()
        .import(&format!("{root}/rest/services/GP/BufferByVal/GPServer"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Server { code: 499, .. }), "{e}");
    server.shutdown().await;
    let text = std::fs::read_to_string(&recording).unwrap();
    assert!(!text.contains("wonder"), "no password in the recording");
    let mut token_answers = 0;
    for line in text.lines() {
        let ex: serde_json::Value = serde_json::from_str(line).unwrap();
        if ex["url"].as_str().unwrap().ends_with("/generateToken") {
            let body: serde_json::Value =
                serde_json::from_str(ex["body"].as_str().unwrap()).unwrap();
            assert_eq!(body["token"], "<redacted>", "no token in the recording");
            token_answers += 1;
        }
    }
    assert!(token_answers > 0, "the session logged in");
    let replay = gp_transport::ReplayTransport::from_file(&recording).unwrap();
    let replayed = Backend {
        name: "replay",
        client: Client::builder()
            .transport(Arc::new(replay))
            .user_password("alice", "wonder")
            .build()
            .unwrap(),
        root,
    };
    suite(&replayed, dir.path()).await;
    // The mock, answering from the same recording.
    let answers = Arc::new(gp_transport::ReplayTransport::from_file(&recording).unwrap());
    let mut mock = gp_transport::MockTransport::new();
    let a = answers.clone();
    mock.expect_send().returning(move |req| {
        use futures::FutureExt;
        use gp_transport::Transport;
        a.send(req)
            .now_or_never()
            .expect("the replay answers at once")
    });
    mock.expect_send_streaming().returning(move |req| {
        use futures::FutureExt;
        use gp_transport::Transport;
        answers
            .send_streaming(req)
            .now_or_never()
            .expect("the replay answers at once")
    });
    let mocked = Backend {
        name: "mock",
        client: Client::builder()
            .transport(Arc::new(mock))
            .user_password("alice", "wonder")
            .build()
            .unwrap(),
        root: replayed.root.clone(),
    };
    suite(&mocked, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_server_when_one_is_named() {
    let Ok(root) = std::env::var("GP_CONFORMANCE_URL") else {
        eprintln!("GP_CONFORMANCE_URL is not set: the live run is skipped");
        return;
    };
    let mut b = Client::builder();
    if let (Ok(u), Ok(p)) = (
        std::env::var("GP_CONFORMANCE_USER"),
        std::env::var("GP_CONFORMANCE_PASSWORD"),
    ) {
        b = b.user_password(u, p);
    }
    let dir = tempfile::tempdir().unwrap();
    let live = Backend {
        name: "live",
        client: b.build().unwrap(),
        root: root.trim_end_matches('/').to_string(),
    };
    suite(&live, dir.path()).await;
}

//! Outputs saved by streaming the HTTP body into the file give what decoding the
//! whole output and saving it gives: same features, same bytes, in every format.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::path::Path;
use std::time::Duration;

use gp_client::*;
use gp_features::Format;
use gp_model::GpValue;
use gp_server::{Server, ServerConfig};

fn points(n: usize) -> String {
    let features: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"geometry": {{"x": {}, "y": {}}}, "attributes": {{"Name": "p{i} \"quoted\" é"}}}}"#,
                -120.0 + (i % 50) as f64 * 0.7,
                30.0 + (i / 50) as f64 * 0.5
            )
        })
        .collect();
    format!(
        r#"{{"geometryType": "esriGeometryPoint", "spatialReference": {{"wkid": 4326}}, "features": [{}]}}"#,
        features.join(",")
    )
}

fn same_files(a: &Path, b: &Path, format: Format) {
    if format == Format::GeoPackage {
        // GeoPackage records the time of writing: compare what it holds.
        assert_eq!(
            gp_features::load(a).unwrap(),
            gp_features::load(b).unwrap(),
            "{format:?}"
        );
        return;
    }
    let same = std::fs::read(a).unwrap() == std::fs::read(b).unwrap();
    assert!(
        same,
        "{format:?}: {} and {} differ",
        a.display(),
        b.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_outputs_equal_outputs_saved_whole() {
    let s = Server::start(ServerConfig::default()).await.unwrap();
    let tb = Client::http()
        .unwrap()
        .import(&s.url("/arcgis/rest/services/GP/BufferByVal/GPServer"))
        .await
        .unwrap();
    let r = tb
        .tool("BufferPoints")
        .unwrap()
        .run(
            Params::new()
                .set("Input_Features", points(400))
                .set("Distance", "3 kilometers"),
        )
        .await
        .unwrap();
    r.wait_with(PollPolicy {
        min: Duration::from_millis(20),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for format in [
        Format::GeoJson,
        Format::GeoJsonSeq,
        Format::FlatGeobuf,
        Format::Csv,
        Format::Shapefile,
        Format::GeoPackage,
    ] {
        let streamed_dir = dir.path().join(format!("streamed-{}", format.extension()));
        let whole_dir = dir.path().join(format!("whole-{}", format.extension()));
        let opts = SaveOptions {
            format,
            sync: false,
            ..Default::default()
        };
        // A fresh result each time, so nothing is cached: the body is streamed.
        let again = GpResult::reopen(tb.client(), r.job_url().unwrap())
            .await
            .unwrap();
        let saved = again.save_outputs(&streamed_dir, &opts).await.unwrap();
        let Saved::Features {
            path,
            features,
            streamed,
            ..
        } = &saved[0].saved
        else {
            panic!("{saved:?}")
        };
        assert!(*streamed, "{format:?}");
        assert_eq!(*features, 400, "{format:?}");
        let GpValue::FeatureSet(fs) = again.output(0).await.unwrap() else {
            panic!()
        };
        let whole = feature_path(&whole_dir, "Output_Polygons", format);
        std::fs::create_dir_all(&whole_dir).unwrap();
        gp_features::save(&fs, &whole).unwrap();
        let (a, b) = match format {
            Format::GeoPackage => (streamed_dir.join("outputs.gpkg/Output_Polygons"), whole),
            _ => (path.clone(), whole),
        };
        same_files(&a, &b, format);
        if format == Format::Shapefile {
            for side in ["shx", "prj", "cpg"] {
                same_files(&path.with_extension(side), &b.with_extension(side), format);
            }
            // A stream cannot measure the longest text first: the DBF's column widths
            // differ, its values do not.
            assert_eq!(
                gp_features::load(path).unwrap().features,
                gp_features::load(&b).unwrap().features
            );
        }
    }
    s.shutdown().await;
}

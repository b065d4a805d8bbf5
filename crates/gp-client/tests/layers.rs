//! Outputs over `maximumRecords` arrive whole, through each path a real server
//! offers: the result map service's layer for the job and a hosted output, both
//! read with paged queries; layer-URL inputs with a filter; a recorded real
//! FeatureServer without pagination paged by object ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use gp_client::*;
use gp_features::Format;
use gp_model::{GpValue, LayerQuery};
use gp_server::{Server, ServerConfig};

/// `n` points on a grid, given by value.
fn points(n: usize) -> String {
    let features: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"geometry": {{"x": {}, "y": {}}}, "attributes": {{"Name": "p{i}"}}}}"#,
                -120.0 + (i % 100) as f64 * 0.5,
                20.0 + (i / 100) as f64 * 0.5
            )
        })
        .collect();
    format!(
        r#"{{"geometryType": "esriGeometryPoint", "spatialReference": {{"wkid": 4326}}, "features": [{}]}}"#,
        features.join(",")
    )
}

fn names(fs: &gp_model::FeatureSet) -> Vec<String> {
    let mut v: Vec<String> = fs
        .features
        .iter()
        .map(|f| f.attributes["Name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[track_caller]
fn check_whole(saved: &Saved, n: usize) -> std::path::PathBuf {
    match saved {
        Saved::Features {
            path,
            features,
            exceeded_transfer_limit,
            ..
        } => {
            assert_eq!(*features, n, "{saved:?}");
            assert!(!exceeded_transfer_limit, "{saved:?}");
            path.clone()
        }
        other => panic!("{other:?}"),
    }
}

/// Runs `BufferPoints` of `service` on `s` to its end.
async fn buffer(s: &Server, service: &str, params: Params) -> GpResult {
    let tb = Client::http()
        .unwrap()
        .import(&s.url(&format!("/arcgis/rest/services/{service}/GPServer")))
        .await
        .unwrap();
    let r = tb.tool("BufferPoints").unwrap().run(params).await.unwrap();
    r.wait().await.unwrap();
    r
}

async fn server(max: u64) -> Server {
    Server::start(ServerConfig {
        service_maximum_records: vec![
            ("GP/BufferByVal".into(), max),
            ("GP/BufferSync".into(), max),
        ],
        maximum_records: max,
        max_vertices: 10_000,
        ..Default::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_output_arrives_whole_from_the_result_map_layer() {
    let s = server(1000).await;
    let r = buffer(
        &s,
        "GP/BufferByVal",
        Params::new()
            .set("Input_Features", points(5000))
            .set("Distance", "1 Kilometers"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    for format in [Format::GeoJson, Format::GeoPackage, Format::Shapefile] {
        let opts = SaveOptions {
            format,
            ..Default::default()
        };
        let out = dir.path().join(format!("{format:?}"));
        let saved = r.save_outputs(&out, &opts).await.unwrap();
        let path = check_whole(&saved[0].saved, 5000);
        let back = gp_features::load(&path).unwrap();
        assert_eq!(back.features.len(), 5000, "{format:?}");
    }
    // Decoded in memory too: every feature once.
    let GpValue::FeatureSet(fs) = r.output("Output_Polygons").await.unwrap() else {
        panic!("features")
    };
    assert_eq!(fs.exceeded_transfer_limit, None);
    let n = names(&fs);
    assert_eq!(n.len(), 5000);
    let mut d = n.clone();
    d.dedup();
    assert_eq!(d.len(), 5000, "no page overlaps another");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_output_arrives_whole_in_pages() {
    let s = server(1000).await;
    let r = buffer(
        &s,
        "GP/BufferSync",
        Params::new()
            .set("Input_Features", points(5000))
            .set("Distance", "1 Kilometers")
            .hosted_output("five_thousand"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let opts = SaveOptions {
        format: Format::FlatGeobuf,
        ..Default::default()
    };
    let saved = r.save_outputs(dir.path(), &opts).await.unwrap();
    let path = check_whole(&saved[0].saved, 5000);
    assert_eq!(gp_features::load(&path).unwrap().features.len(), 5000);
    let GpValue::FeatureSet(fs) = r.output(0).await.unwrap() else {
        panic!("features")
    };
    assert_eq!(names(&fs).len(), 5000);
    // The layer itself, with a filter and a chosen page of fields.
    let layer = Client::http()
        .unwrap()
        .layer(&s.url("/arcgis/rest/services/Hosted/five_thousand/FeatureServer/0"));
    let q = LayerQuery {
        where_clause: Some("Name LIKE 'p1%'".into()),
        out_fields: Some(vec!["Name".into()]),
        ..Default::default()
    };
    // p1, p10–p19, p100–p199, p1000–p1999.
    assert_eq!(layer.count(&q).await.unwrap(), 1111);
    let some = layer.read_all(&q).await.unwrap();
    assert_eq!(some.features.len(), 1111);
    assert!(some.features.iter().all(|f| f.attributes.len() == 2));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_url_input_with_a_filter_runs() {
    let s = Server::start(ServerConfig::default()).await.unwrap();
    let tb = Client::http()
        .unwrap()
        .import(&s.url("/arcgis/rest/services/GP/BufferSync/GPServer"))
        .await
        .unwrap();
    let cities = s.url("/arcgis/rest/services/Hosted/naturalearth_cities/FeatureServer/0");
    let r = tb
        .tool("BufferPoints")
        .unwrap()
        .run(
            Params::new()
                .set("Input_Features", format!("{cities} name LIKE 'S%'"))
                .set("Distance", "5 Kilometers"),
        )
        .await
        .unwrap();
    r.wait().await.unwrap();
    let GpValue::FeatureSet(fs) = r.output(0).await.unwrap() else {
        panic!("features")
    };
    // 22: GDAL's count for the same filter on the same file.
    assert_eq!(fs.features.len(), 22);
    // A bad filter is refused before any request, naming the parameter.
    let e = tb
        .tool("BufferPoints")
        .unwrap()
        .run(
            Params::new()
                .set("Input_Features", format!("{cities} name LIKE"))
                .set("Distance", "5 Kilometers"),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("Input_Features") && e.to_string().contains("filter"),
        "{e}"
    );
    s.shutdown().await;
}

/// A real ArcGIS 10.0 layer (recorded by pyesridump's test suite, origin in
/// gp-model's `tests/fixtures/arcgis-rest/SOURCES.md`): no `maxRecordCount`, no
/// pagination, and query pages without `fields`. It is read by object ids, and the
/// page's schema comes from the layer's metadata.
#[tokio::test]
async fn a_layer_without_pagination_is_read_by_object_ids() {
    use bytes::Bytes;
    use std::sync::{Arc, Mutex};
    const META: &str = include_str!(
        "../../gp-model/tests/fixtures/arcgis-rest/pyesridump/us-ca-carson-metadata.json"
    );
    const PAGE: &str =
        include_str!("../../gp-model/tests/fixtures/arcgis-rest/pyesridump/page-partial.json");
    let forms = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = forms.clone();
    let mut mock = gp_transport::MockTransport::new();
    mock.expect_send().returning(move |req| {
        let path = req.uri().path().to_string();
        let body = String::from_utf8_lossy(req.body()).to_string();
        seen.lock().unwrap().push(body.clone());
        let text = if path.ends_with("/MapServer/1") {
            META.to_string()
        } else if body.contains("returnCountOnly=true") {
            r#"{"count": 2}"#.to_string()
        } else if body.contains("returnIdsOnly=true") {
            r#"{"objectIdFieldName": "OBJECTID", "objectIds": [3442, 2196]}"#.to_string()
        } else if body.contains("objectIds=2196%2C3442") {
            PAGE.to_string()
        } else {
            panic!("unexpected {path} {body}")
        };
        Ok(http::Response::builder()
            .status(200)
            .body(Bytes::from(text))
            .unwrap())
    });
    let client = Client::new(Arc::new(mock));
    let layer = client.layer("http://gis.example/arcgis/rest/services/Address/MapServer/1");
    let fs = layer.read_all(&LayerQuery::default()).await.unwrap();
    assert_eq!(fs.features.len(), 2);
    assert_eq!(fs.geometry_type, Some(gp_model::GeometryType::Point));
    assert_eq!(
        fs.spatial_reference.as_ref().and_then(|s| s.wkid),
        Some(4326)
    );
    assert!(
        fs.fields
            .as_ref()
            .is_some_and(|f| f.iter().any(|f| f.name == "SITENUMBER"))
    );
    let forms = forms.lock().unwrap();
    assert!(
        !forms.iter().any(|f| f.contains("resultOffset")),
        "no paging parameters for a layer that does not page: {forms:?}"
    );
}

/// A layer that answers fewer features than its count said is an error, not a
/// short file.
#[tokio::test]
async fn a_layer_that_comes_back_short_is_an_error() {
    use bytes::Bytes;
    use std::sync::Arc;
    let mut mock = gp_transport::MockTransport::new();
    mock.expect_send().returning(move |req| {
        let path = req.uri().path().to_string();
        let body = String::from_utf8_lossy(req.body()).to_string();
        let text = if path.ends_with("/FeatureServer/0") {
            r#"{"id": 0, "name": "L", "geometryType": "esriGeometryPoint", "objectIdField": "OID", "maxRecordCount": 2,
               "advancedQueryCapabilities": {"supportsPagination": true},
               "fields": [{"name": "OID", "type": "esriFieldTypeOID"}]}"#
        } else if body.contains("returnCountOnly=true") {
            r#"{"count": 5}"#
        } else if body.contains("resultOffset=0") {
            r#"{"geometryType": "esriGeometryPoint", "fields": [{"name": "OID", "type": "esriFieldTypeOID"}],
               "features": [{"attributes": {"OID": 1}, "geometry": {"x": 1, "y": 1}}, {"attributes": {"OID": 2}, "geometry": {"x": 2, "y": 2}}],
               "exceededTransferLimit": true}"#
        } else {
            r#"{"geometryType": "esriGeometryPoint", "fields": [{"name": "OID", "type": "esriFieldTypeOID"}], "features": []}"#
        };
        Ok(http::Response::builder()
            .status(200)
            .body(Bytes::from(text))
            .unwrap())
    });
    let client = Client::new(Arc::new(mock));
    let layer = client.layer("http://gis.example/arcgis/rest/services/Hosted/L/FeatureServer/0");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("l.geojson");
    let e = layer
        .save(&LayerQuery::default(), &out, &Default::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("5 feature(s), but 2 arrived"), "{e}");
    assert!(!out.exists(), "no partial file");
}

/// `returnFeatureCollection=true`: the output is a layer definition and a feature
/// set; the drawing info is kept, and it saves as any feature output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feature_collection_output_decodes_with_its_drawing_info() {
    let s = Server::start(ServerConfig::default()).await.unwrap();
    let mut params = Params::new()
        .set("Input_Features", points(3))
        .set("Distance", "1 Kilometers");
    params.env.return_feature_collection = Some(true);
    let r = buffer(&s, "GP/BufferSync", params).await;
    let GpValue::FeatureCollection(c) = r.output(0).await.unwrap() else {
        panic!("a feature collection")
    };
    assert_eq!(c.feature_set.features.len(), 3);
    assert_eq!(
        c.layer_definition["drawingInfo"]["renderer"]["type"],
        "simple"
    );
    assert_eq!(c.layer_definition["geometryType"], "esriGeometryPolygon");
    let dir = tempfile::tempdir().unwrap();
    let saved = r
        .save_outputs(
            dir.path(),
            &SaveOptions {
                format: Format::GeoJson,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    check_whole(&saved[0].saved, 3);
    s.shutdown().await;
}

/// The Arrow path: a job output streamed from its body into batches holds what the
/// decoded output does; one cut at `maximumRecords` is read whole (in pages).
#[cfg(feature = "arrow")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feature_outputs_arrive_whole_as_arrow() {
    use gp_features::arrow::{from_arrow, to_arrow};
    let s = server(1000).await;
    let mut kept = Vec::new();
    for (n, cut) in [(300, false), (2500, true)] {
        let params = || {
            Params::new()
                .set("Input_Features", points(n))
                .set("Distance", "1 Kilometers")
        };
        // A fresh result for each path, so neither reads the other's cache.
        let streamed = buffer(&s, "GP/BufferByVal", params()).await;
        let (header, table) = streamed.output_arrow("Output_Polygons").await.unwrap();
        assert_eq!(table.num_rows(), n, "cut: {cut}");
        assert_ne!(header.exceeded_transfer_limit, Some(true));
        assert!(header.features.is_empty());
        let decoded = buffer(&s, "GP/BufferByVal", params()).await;
        let GpValue::FeatureSet(fs) = decoded.output("Output_Polygons").await.unwrap() else {
            panic!("features")
        };
        let back = from_arrow(&table.schema, table.batches.iter().cloned().map(Ok)).unwrap();
        assert_eq!(names(&back), names(&fs), "cut: {cut}");
        let whole = to_arrow(&fs).unwrap();
        assert_eq!(whole.schema, table.schema, "cut: {cut}");
        assert_eq!(gp_features::arrow::schema(&fs), table.schema, "cut: {cut}");
        kept.push((streamed, n));
    }
    s.shutdown().await;
    // Read once: asked again with the server gone, the batches are still there.
    for (r, n) in kept {
        let (_, again) = r.output_arrow(0).await.unwrap();
        assert_eq!(again.num_rows(), n);
    }
}

//! Hosted feature layers as ArcGIS Enterprise 11 serves them: FeatureServer metadata
//! and `query` (where, ids, counts, paging, envelopes, outSR, GeoJSON), hosted
//! outputs (`esri_out_feature_service_name`), layer-URL inputs with a filter, the
//! result map service's job layer `query`, and portal items.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use common::*;
use gp_server::ServerConfig;
use serde_json::{Value, json};

const CITIES: &str = "Hosted/naturalearth_cities/FeatureServer/0";
const COUNTRIES: &str = "Hosted/naturalearth_countries/FeatureServer/0";

async fn query(s: &Srv, layer: &str, form: &[(&str, &str)]) -> Value {
    let mut f = vec![("f", "json")];
    f.extend_from_slice(form);
    s.post(&format!("{}/query", s.svc(layer)), &f).await
}

#[tokio::test]
async fn the_sample_layers_have_the_real_metadata_shapes() {
    let s = start_default().await;
    let root = s.get(&s.svc("Hosted?f=json")).await;
    let names: Vec<&str> = root["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Hosted/naturalearth_cities"), "{root}");
    assert!(
        s.get(&s.svc("?f=json")).await["folders"]
            .as_array()
            .unwrap()
            .contains(&json!("Hosted"))
    );
    let svc = s
        .get(&s.svc("Hosted/naturalearth_cities/FeatureServer?f=json"))
        .await;
    assert_eq!(svc["layers"][0]["id"], 0, "{svc}");
    assert_eq!(svc["maxRecordCount"], 1000);
    let l = s.get(&format!("{}?f=json", s.svc(CITIES))).await;
    assert_eq!(l["geometryType"], "esriGeometryPoint", "{l}");
    assert_eq!(l["objectIdField"], "OBJECTID");
    assert_eq!(l["maxRecordCount"], 1000);
    assert_eq!(l["advancedQueryCapabilities"]["supportsPagination"], true);
    assert_eq!(l["fields"][0]["type"], "esriFieldTypeOID");
    assert!(l["extent"]["xmin"].as_f64().unwrap() < -100.0, "{l}");
    let c = s.get(&format!("{}?f=json", s.svc(COUNTRIES))).await;
    assert_eq!(c["geometryType"], "esriGeometryPolygon");
}

#[tokio::test]
async fn queries_select_as_gdal_does_and_page() {
    let s = start(ServerConfig {
        maximum_records: 100,
        ..Default::default()
    })
    .await;
    // The counts GDAL's OGR SQL gives on the same files (ogrinfo -sql "select
    // count(*) from … where …"): 22 cities named S…, 14 countries over 100 million.
    let n = query(
        &s,
        CITIES,
        &[("where", "name LIKE 'S%'"), ("returnCountOnly", "true")],
    )
    .await;
    assert_eq!(n, json!({"count": 22}));
    let n = query(
        &s,
        COUNTRIES,
        &[
            ("where", "pop_est > 100000000"),
            ("returnCountOnly", "true"),
        ],
    )
    .await;
    assert_eq!(n, json!({"count": 14}));
    let all = query(&s, CITIES, &[("where", "1=1"), ("returnCountOnly", "true")]).await;
    assert_eq!(all["count"], 243);

    // Paging: three pages of 100 at most, in object id order, the last one not cut.
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let o = offset.to_string();
        let page = query(
            &s,
            CITIES,
            &[
                ("where", "1=1"),
                ("outFields", "name"),
                ("orderByFields", "OBJECTID ASC"),
                ("resultOffset", &o),
                ("resultRecordCount", "1000"),
            ],
        )
        .await;
        let feats = page["features"].as_array().unwrap();
        assert!(feats.len() <= 100, "the layer's limit holds");
        assert_eq!(page["fields"].as_array().unwrap().len(), 2, "OID and name");
        assert!(
            page["fields"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["name"] != "Shape")
        );
        for f in feats {
            seen.push(f["attributes"]["OBJECTID"].as_i64().unwrap());
        }
        offset += feats.len();
        if page["exceededTransferLimit"] != true {
            break;
        }
    }
    assert_eq!(seen, (1..=243).collect::<Vec<i64>>());

    let ids = query(
        &s,
        CITIES,
        &[("where", "name LIKE 'S%'"), ("returnIdsOnly", "true")],
    )
    .await;
    assert_eq!(ids["objectIdFieldName"], "OBJECTID");
    assert_eq!(ids["objectIds"].as_array().unwrap().len(), 22);

    let desc = query(
        &s,
        COUNTRIES,
        &[
            ("where", "continent = 'Oceania'"),
            ("orderByFields", "pop_est DESC"),
            ("returnGeometry", "false"),
            ("resultRecordCount", "1"),
        ],
    )
    .await;
    assert_eq!(
        desc["features"][0]["attributes"]["name"], "Australia",
        "{desc}"
    );
    assert!(desc["features"][0].get("geometry").is_none());
    assert_eq!(desc["exceededTransferLimit"], true);

    // An envelope around Europe in Web Mercator selects European capitals only.
    let env = query(
        &s,
        CITIES,
        &[
            ("geometry", "-1113195,4300621,3339585,8399738"),
            ("geometryType", "esriGeometryEnvelope"),
            ("inSR", "3857"),
            ("spatialRel", "esriSpatialRelIntersects"),
            ("outSR", "3857"),
            ("where", "name IN ('Paris', 'Rome', 'Tokyo')"),
        ],
    )
    .await;
    let names: Vec<&str> = env["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["attributes"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{env}");
    assert!(!names.contains(&"Tokyo"));
    assert_eq!(env["spatialReference"]["wkid"], 3857);
    assert!(env["features"][0]["geometry"]["x"].as_f64().unwrap().abs() > 1000.0);

    let gj = s
        .http
        .get(format!(
            "{}/query?where=name%3D%27Paris%27&f=geojson",
            s.svc(CITIES)
        ))
        .send()
        .await
        .unwrap();
    let gj: Value = gj.json().await.unwrap();
    assert_eq!(gj["type"], "FeatureCollection", "{gj}");
    assert_eq!(gj["features"][0]["properties"]["name"], "Paris");
    let x = gj["features"][0]["geometry"]["coordinates"][0]
        .as_f64()
        .unwrap();
    assert!((x - 2.33).abs() < 0.1, "{gj}");
}

#[tokio::test]
async fn bad_queries_name_the_parameter() {
    let s = start_default().await;
    #[track_caller]
    fn check(v: &Value, says: &str) {
        assert_eq!(error_code(v), Some(400), "{v}");
        assert!(error_text(v).contains(says), "{}", error_text(v));
    }
    check(
        &query(&s, CITIES, &[("where", "name = 'x'; DROP TABLE t")]).await,
        "where",
    );
    check(
        &query(&s, CITIES, &[("where", "population > 5")]).await,
        "population",
    );
    check(&query(&s, CITIES, &[("outFields", "nope")]).await, "nope");
    check(
        &query(&s, CITIES, &[("orderByFields", "nope DESC")]).await,
        "orderByFields",
    );
    check(
        &query(&s, CITIES, &[("resultOffset", "-5")]).await,
        "resultOffset",
    );
    let missing = s
        .get(&format!("{}?f=json", s.svc("Hosted/none/FeatureServer/0")))
        .await;
    assert_eq!(error_code(&missing), Some(404), "{missing}");
}

#[tokio::test]
async fn a_layer_url_input_with_a_filter_is_read_and_a_hosted_output_written() {
    let s = start_default().await;
    let input = json!({"url": s.svc(CITIES), "filter": "name LIKE 'S%'"}).to_string();
    let v = s
        .post(
            &format!("{}/execute", s.svc("GP/BufferSync/GPServer/BufferPoints")),
            &[
                ("f", "json"),
                ("Input_Features", &input),
                ("Distance", "1 Kilometers"),
                ("esri_out_feature_service_name", "s_cities_buffers"),
            ],
        )
        .await;
    let url = v["results"][0]["value"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(url, s.svc("Hosted/s_cities_buffers/FeatureServer/0"));
    let n = s
        .get(&format!(
            "{url}/query?where=1%3D1&returnCountOnly=true&f=json"
        ))
        .await;
    assert_eq!(n["count"], 22, "one buffer per city named S…");
    let l = s.get(&format!("{url}?f=json")).await;
    assert_eq!(l["geometryType"], "esriGeometryPolygon");
    // The name is now taken.
    let again = s
        .post(
            &format!("{}/execute", s.svc("GP/BufferSync/GPServer/BufferPoints")),
            &[
                ("f", "json"),
                ("Input_Features", &input),
                ("Distance", "1 Kilometers"),
                ("esri_out_feature_service_name", "S_Cities_Buffers"),
            ],
        )
        .await;
    assert!(error_text(&again).contains("already exists"), "{again}");
    // A filter on a field the layer lacks, and a layer of another server, are named.
    for (input, says) in [
        (json!({"url": s.svc(CITIES), "filter": "pop > 5"}), "pop"),
        (
            json!({"url": "https://elsewhere.example/arcgis/rest/services/x/FeatureServer/0"}),
            "does not fetch layers from other servers",
        ),
    ] {
        let v = s
            .post(
                &format!("{}/execute", s.svc("GP/BufferSync/GPServer/BufferPoints")),
                &[
                    ("f", "json"),
                    ("Input_Features", &input.to_string()),
                    ("Distance", "1 Kilometers"),
                ],
            )
            .await;
        assert!(error_text(&v).contains(says), "{v}");
    }
}

#[tokio::test]
async fn the_result_map_job_layer_pages_a_cut_output() {
    let s = start(ServerConfig {
        service_maximum_records: vec![("GP/BufferByVal".into(), 100)],
        ..Default::default()
    })
    .await;
    let input = json!({"url": s.svc(CITIES)}).to_string();
    let task = s.svc("GP/BufferByVal/GPServer/BufferPoints");
    let info = s
        .get(&format!("{}?f=json", s.svc("GP/BufferByVal/GPServer")))
        .await;
    assert_eq!(info["maximumRecords"], 100);
    let other = s
        .get(&format!("{}?f=json", s.svc("GP/BufferSync/GPServer")))
        .await;
    assert_eq!(other["maximumRecords"], 1000);
    let job = s
        .submit(
            &task,
            &[("Input_Features", &input), ("Distance", "1 Kilometers")],
        )
        .await;
    assert_eq!(s.wait(&job).await["jobStatus"], "esriJobSucceeded");
    let cut = s
        .get(&format!(
            "{job}/results/Output_Polygons?f=json&returnType=data"
        ))
        .await;
    assert_eq!(cut["value"]["exceededTransferLimit"], true, "{cut}");
    assert_eq!(cut["value"]["features"].as_array().unwrap().len(), 0);
    let id = job.rsplit('/').next().unwrap();
    let layer = s.svc(&format!("GP/BufferByVal/MapServer/jobs/{id}/0"));
    let meta = s.get(&format!("{layer}?f=json")).await;
    assert_eq!(meta["maxRecordCount"], 100, "{meta}");
    assert_eq!(
        meta["advancedQueryCapabilities"]["supportsPagination"],
        true
    );
    let mut total = 0;
    let mut offset = 0;
    loop {
        let page = s
            .get(&format!(
                "{layer}/query?where=1%3D1&outFields=*&orderByFields=OBJECTID&resultOffset={offset}&f=json"
            ))
            .await;
        let n = page["features"].as_array().unwrap().len();
        total += n;
        offset += n;
        if page["exceededTransferLimit"] != true {
            break;
        }
    }
    assert_eq!(total, 243);
}

#[tokio::test]
async fn every_service_has_a_portal_item_leading_to_it() {
    let s = start_default().await;
    // The item id is stable: the same on every start.
    let id = {
        let s2 = start_default().await;
        let ids = item_ids(&s2).await;
        ids.into_iter()
            .find(|(n, _)| n == "GP/BufferByVal")
            .map(|(_, id)| id)
            .unwrap()
    };
    let item = s
        .get(&s.url(&format!("/arcgis/sharing/rest/content/items/{id}?f=json")))
        .await;
    assert_eq!(item["type"], "Geoprocessing Service", "{item}");
    assert_eq!(item["url"], s.svc("GP/BufferByVal/GPServer"));
    let missing = s
        .get(&s.url("/arcgis/sharing/rest/content/items/0123456789abcdef0123456789abcdef?f=json"))
        .await;
    assert_eq!(error_code(&missing), Some(400), "{missing}");
}

/// (service name, item id) of every GP service, each checked against its item.
async fn item_ids(s: &Srv) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in [
        "GP/BufferByVal",
        "GP/BufferSync",
        "GP/Utilities",
        "SlopeByVal",
    ] {
        let id = gp_server::portal_item_id("GPServer", name);
        let item = s
            .get(&s.url(&format!("/arcgis/sharing/rest/content/items/{id}?f=json")))
            .await;
        assert_eq!(item["name"], name, "{item}");
        out.push((name.to_string(), id));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_servers_layer_is_read_in_pages_when_its_origin_is_allowed() {
    // The layer's server answers 5 features a query: 22 cities come in 5 pages.
    let source = start(ServerConfig {
        maximum_records: 5,
        ..Default::default()
    })
    .await;
    let origin = source.url("");
    let tool_server = start(ServerConfig {
        layer_sources: vec![origin.clone()],
        ..Default::default()
    })
    .await;
    let input = json!({"url": source.svc(CITIES), "filter": "name LIKE 'S%'"}).to_string();
    let execute = format!(
        "{}/execute",
        tool_server.svc("GP/BufferSync/GPServer/BufferPoints")
    );
    let v = tool_server
        .post(
            &execute,
            &[
                ("f", "json"),
                ("Input_Features", &input),
                ("Distance", "1 Kilometers"),
            ],
        )
        .await;
    let feats = v["results"][0]["value"]["features"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(feats.len(), 22, "{}", v["messages"]);
    assert!(
        v["messages"].to_string().contains("22 feature(s) read"),
        "{}",
        v["messages"]
    );
    // A server not told to read from that origin refuses, naming the option.
    let closed = start_default().await;
    let v = closed
        .post(
            &format!(
                "{}/execute",
                closed.svc("GP/BufferSync/GPServer/BufferPoints")
            ),
            &[
                ("f", "json"),
                ("Input_Features", &input),
                ("Distance", "1 Kilometers"),
            ],
        )
        .await;
    assert!(error_text(&v).contains("--layer-source"), "{v}");
    // A filter the remote layer refuses fails the job with the remote's words.
    let bad = json!({"url": source.svc(CITIES), "filter": "population > 5"}).to_string();
    let v = tool_server
        .post(
            &execute,
            &[
                ("f", "json"),
                ("Input_Features", &bad),
                ("Distance", "1 Kilometers"),
            ],
        )
        .await;
    assert!(error_text(&v).contains("population"), "{v}");
}

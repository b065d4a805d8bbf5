//! The REST protocol over real loopback HTTP: directory, metadata, jobs, results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_and_metadata() {
    let s = start_default().await;
    let root = s.get(&s.svc("?f=json")).await;
    assert_eq!(root["folders"], serde_json::json!(["GP", "Hosted"]));
    assert!(
        root["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "SlopeByVal" && x["type"] == "GPServer")
    );
    let gp = s.get(&s.svc("GP?f=json")).await;
    let names: Vec<&str> = gp["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["type"] == "GPServer")
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["GP/BufferByVal", "GP/BufferSync", "GP/Utilities"]);
    // Case-insensitive names, trailing slash, pjson, POST.
    let svc = s.get(&s.svc("gp/bufferbyval/gpserver/?f=pjson")).await;
    assert_eq!(svc["executionType"], "esriExecutionTypeAsynchronous");
    assert_eq!(svc["resultMapServerName"], "BufferByVal");
    assert_eq!(svc["capabilities"], "Uploads");
    let sync = s
        .post(&s.svc("GP/BufferSync/GPServer"), &[("f", "json")])
        .await;
    assert_eq!(sync["executionType"], "esriExecutionTypeSynchronous");
    assert_eq!(sync["resultMapServerName"], "");
    // Task metadata decodes into gp-model's type, and the default FeatureSet carries the schema.
    let task: gp_model::TaskInfo = serde_json::from_value(
        s.get(&s.svc("GP/BufferByVal/GPServer/bufferpoints?f=json"))
            .await,
    )
    .unwrap();
    let fs = task
        .parameter("Input_Features")
        .unwrap()
        .default_gp_value()
        .unwrap()
        .unwrap();
    let gp_model::GpValue::FeatureSet(fs) = fs else {
        panic!("{fs:?}")
    };
    assert_eq!(
        fs.geometry_type,
        Some(gp_model::geometry::GeometryType::Point)
    );
    assert_eq!(fs.spatial_reference.unwrap().wkid, Some(4326));
    let names: Vec<&str> = fs
        .fields
        .as_ref()
        .unwrap()
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["OBJECTID", "Name"]);
    assert_eq!(
        task.parameter("Dissolve").unwrap().choices().unwrap(),
        ["NONE", "ALL"]
    );
    // f=html is the default: a readable page.
    let html = s
        .http
        .get(s.svc("GP/BufferByVal/GPServer"))
        .send()
        .await
        .unwrap();
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = html.text().await.unwrap();
    assert!(
        body.contains("BufferPoints") && body.contains("<html"),
        "{body}"
    );
    // rest/info.
    let info = s.get(&s.url("/arcgis/rest/info?f=json")).await;
    assert_eq!(info["authInfo"]["isTokenBasedSecurity"], false);
    // Unknown things: 404 envelopes with HTTP 200.
    for path in [
        "Nope/GPServer",
        "GP/Nope/GPServer",
        "GP/BufferByVal/GPServer/Nope",
        "GP/BufferByVal/GPServer/BufferPoints/jobs/jdeadbeef",
    ] {
        let v = s.get(&s.svc(&format!("{path}?f=json"))).await;
        assert_eq!(error_code(&v), Some(404), "{path}: {v}");
    }
    // Wrong operation for the execution type: 400.
    let v = s
        .post(
            &s.svc("GP/BufferByVal/GPServer/BufferPoints/execute"),
            &[("f", "json")],
        )
        .await;
    assert_eq!(error_code(&v), Some(400), "{v}");
    assert!(error_text(&v).contains("submitJob"));
    let v = s
        .post(
            &s.svc("GP/BufferSync/GPServer/BufferPoints/submitJob"),
            &[("f", "json")],
        )
        .await;
    assert_eq!(error_code(&v), Some(400), "{v}");
    // CORS on every response.
    let r = s
        .http
        .get(s.svc("?f=json"))
        .header("Origin", "http://example.org")
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("access-control-allow-origin"));
    s.server.shutdown().await;
}

fn polygons(v: &Value) -> Vec<Vec<Vec<[f64; 2]>>> {
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["geometry"]["rings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|c| [c[0].as_f64().unwrap(), c[1].as_f64().unwrap()])
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn geodesic_area(rings: &[Vec<[f64; 2]>]) -> f64 {
    use geo::{GeodesicArea, LineString, Polygon};
    let mut it = rings
        .iter()
        .map(|r| LineString::from(r.iter().map(|c| (c[0], c[1])).collect::<Vec<_>>()));
    let p = Polygon::new(it.next().unwrap(), it.collect());
    // Rings are clockwise (Esri); the signed area is negative for them.
    p.geodesic_area_signed().abs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_buffer_is_geodesic_and_planar_and_dissolves() {
    let s = start_default().await;
    let url = s.svc("GP/BufferSync/GPServer/BufferPoints/execute");
    // 1 km geodesic buffer at 50°N: area within 0.5% of pi r^2.
    let input = points(4326, &[(10.0, 50.0)]);
    let v = s
        .post(
            &url,
            &[
                ("f", "json"),
                ("Input_Features", &input),
                ("Distance", r#"{"distance": 1, "units": "esriKilometers"}"#),
            ],
        )
        .await;
    assert_eq!(v["results"][0]["paramName"], "Output_Polygons", "{v}");
    let fs = &v["results"][0]["value"];
    assert_eq!(fs["geometryType"], "esriGeometryPolygon");
    let polys = polygons(fs);
    let area = geodesic_area(&polys[0]);
    let want = std::f64::consts::PI * 1e6;
    assert!((area - want).abs() / want < 0.005, "{area} vs {want}");
    assert_eq!(fs["features"][0]["attributes"]["Name"], "p0");
    assert_eq!(fs["features"][0]["attributes"]["ORIG_FID"], 1);
    assert!(v["messages"].as_array().unwrap().iter().any(|m| {
        m["description"]
            .as_str()
            .unwrap()
            .starts_with("Succeeded at")
    }));
    // Projected (UTM 33N): "100 feet" as arcpy writes it is a planar circle of 30.48006 m (US survey feet).
    let input = points(32633, &[(500_000.0, 5_200_000.0)]);
    let v = s
        .post(
            &url,
            &[
                ("f", "json"),
                ("Input_Features", &input),
                ("Distance", "100 feet"),
            ],
        )
        .await;
    let polys = polygons(&v["results"][0]["value"]);
    for c in &polys[0][0] {
        let r = ((c[0] - 500_000.0).powi(2) + (c[1] - 5_200_000.0).powi(2)).sqrt();
        assert!((r - 100.0 * 1200.0 / 3937.0).abs() < 1e-6, "{r}");
    }
    // Dissolve ALL: two overlapping circles become one polygon smaller than the sum.
    let input = points(32633, &[(0.0, 0.0), (10.0, 0.0)]);
    let v = s
        .post(
            &url,
            &[
                ("f", "json"),
                ("Input_Features", &input),
                ("Distance", r#"{"distance": 10, "units": "esriMeters"}"#),
                ("Dissolve", "all"),
            ],
        )
        .await;
    let fs = &v["results"][0]["value"];
    assert_eq!(fs["features"].as_array().unwrap().len(), 1, "{fs}");
    let rings = &polygons(fs)[0];
    assert_eq!(rings.len(), 1);
    let planar: f64 = {
        let r = &rings[0];
        r.windows(2)
            .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
            .sum::<f64>()
            / 2.0
    };
    assert!(planar < 0.0, "exterior ring must be clockwise");
    let one = std::f64::consts::PI * 100.0;
    assert!(planar.abs() > one && planar.abs() < 2.0 * one, "{planar}");
    // outSR through context (and the env: form) reprojects the output.
    let input = points(4326, &[(10.0, 50.0)]);
    for (k, val) in [
        ("context", r#"{"outSR": {"wkid": 102100}}"#),
        ("env:outSR", "3857"),
    ] {
        let v = s
            .post(
                &url,
                &[
                    ("f", "json"),
                    ("Input_Features", &input),
                    ("Distance", "10 meters"),
                    (k, val),
                ],
            )
            .await;
        let fs = &v["results"][0]["value"];
        assert!(
            fs["spatialReference"]["wkid"] == 102100 || fs["spatialReference"]["wkid"] == 3857,
            "{fs}"
        );
        let x = polygons(fs)[0][0][0][0];
        assert!((x - 1_113_194.9).abs() < 20.0, "{x}");
    }
    // processSR: computed in UTM 33N, returned in the input's WGS 84; the processing
    // extent leaves out the second point.
    let input = points(4326, &[(15.0, 45.0), (16.0, 45.0)]);
    let ctx = r#"{"processSR": {"wkid": 32633}, "extent": {"xmin": 14.5, "ymin": 44.5, "xmax": 15.5, "ymax": 45.5, "spatialReference": {"wkid": 4326}}}"#;
    let v = s
        .post(
            &url,
            &[
                ("f", "json"),
                ("Input_Features", &input),
                ("Distance", "1000 meters"),
                ("context", ctx),
            ],
        )
        .await;
    let fs = &v["results"][0]["value"];
    assert_eq!(fs["spatialReference"]["wkid"], 4326, "{fs}");
    assert_eq!(fs["features"].as_array().unwrap().len(), 1, "{fs}");
    let text = v["messages"].to_string();
    assert!(
        text.contains("in the plane of EPSG:32633")
            && text.contains("1 feature(s) outside the processing extent"),
        "{text}"
    );
    let c = polygons(fs)[0][0][0];
    assert!(
        (c[0] - 15.0).abs() < 0.02 && (c[1] - 45.0).abs() < 0.02,
        "{c:?}"
    );
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_job_results_inputs_and_result_map() {
    let s = start_default().await;
    let task = s.svc("GP/BufferByVal/GPServer/BufferPoints");
    let input = points(4326, &[(10.0, 50.0), (10.01, 50.0)]);
    let job = s
        .submit(
            &task,
            &[("Input_Features", &input), ("Distance", "500 meters")],
        )
        .await;
    let st = s.wait(&job).await;
    assert_eq!(st["jobStatus"], "esriJobSucceeded", "{st}");
    assert_eq!(
        st["results"]["Output_Polygons"]["paramUrl"],
        "results/Output_Polygons"
    );
    assert_eq!(st["inputs"]["Distance"]["paramUrl"], "inputs/Distance");
    let msgs: Vec<&str> = st["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["description"].as_str().unwrap())
        .collect();
    assert_eq!(msgs[0], "Submitted.");
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("Executing (BufferPoints)"))
    );
    assert!(msgs.iter().any(|m| m.starts_with("Start Time: ")));
    assert!(
        msgs.last().unwrap().starts_with("Succeeded at ")
            && msgs.last().unwrap().contains("Elapsed Time")
    );
    // returnMessages=False (Python spelling) omits messages.
    let quiet = s.get(&format!("{job}?f=json&returnMessages=False")).await;
    assert!(quiet.get("messages").is_none(), "{quiet}");
    // Data, and the same job through GPServer/jobs/<id>.
    let data = s
        .get(&format!(
            "{job}/results/Output_Polygons?f=json&returnType=data"
        ))
        .await;
    assert_eq!(data["value"]["features"].as_array().unwrap().len(), 2);
    assert_eq!(data["value"]["exceededTransferLimit"], false);
    let id = job.rsplit('/').next().unwrap();
    let other = s
        .get(&s.svc(&format!(
            "GP/BufferByVal/GPServer/jobs/{id}/results/Output_Polygons?f=json&returnType=data"
        )))
        .await;
    assert_eq!(other, data);
    // 11.1+ array forms.
    let all = s
        .get(&format!("{job}/results?f=json&returnType=data"))
        .await;
    assert_eq!(all[0]["paramName"], "Output_Polygons");
    let inputs = s.get(&format!("{job}/inputs?f=json")).await;
    assert_eq!(inputs.as_array().unwrap().len(), 3);
    let d = s.get(&format!("{job}/inputs/Distance?f=json")).await;
    assert_eq!(
        d["value"],
        serde_json::json!({"distance": 500.0, "units": "esriMeters"})
    );
    // outSR on the result.
    let merc = s
        .get(&format!(
            "{job}/results/Output_Polygons?f=json&returnType=data&outSR=3857"
        ))
        .await;
    assert_eq!(merc["value"]["spatialReference"]["wkid"], 3857);
    // Without returnType=data: the map image, whose href is served.
    let mi = s
        .get(&format!(
            "{job}/results/Output_Polygons?f=json&size=320,240"
        ))
        .await;
    let m = &mi["value"]["mapImage"];
    assert_eq!(m["width"], 320);
    let png = s
        .http
        .get(m["href"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), (320, 240));
    // Result map service: metadata, layer, export as JSON and image.
    let map = s.svc(&format!("GP/BufferByVal/MapServer/jobs/{id}"));
    let meta = s.post(&map, &[("f", "json")]).await;
    assert_eq!(meta["layers"][0]["name"], "Output_Polygons");
    let layer = s.post(&format!("{map}/0"), &[("f", "json")]).await;
    assert_eq!(layer["geometryType"], "esriGeometryPolygon");
    let exp = s
        .post(
            &format!("{map}/export"),
            &[
                ("f", "json"),
                ("bbox", "9,49,11,51"),
                ("bboxSR", "4326"),
                ("dpi", "200"),
                ("size", "256,256"),
                ("format", "png"),
                ("transparent", "False"),
            ],
        )
        .await;
    assert_eq!(exp["width"], 256);
    let jpg = s
        .http
        .get(format!(
            "{map}/export?f=image&format=jpg&size=100,80&imageSR=3857"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(jpg.headers()["content-type"], "image/jpeg");
    let img = image::load_from_memory(&jpg.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (100, 80));
    // Cancel after the end is an error; status unchanged.
    let c = s.get(&format!("{job}/cancel?f=json")).await;
    assert_eq!(error_code(&c), Some(400), "{c}");
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maximum_records_empties_large_outputs() {
    let s = start(gp_server::ServerConfig {
        maximum_records: 2,
        ..Default::default()
    })
    .await;
    let input = points(4326, &[(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)]);
    let v = s
        .post(
            &s.svc("GP/BufferSync/GPServer/BufferPoints/execute"),
            &[
                ("f", "json"),
                ("Input_Features", &input),
                ("Distance", "1 meters"),
            ],
        )
        .await;
    let fs = &v["results"][0]["value"];
    assert_eq!(fs["exceededTransferLimit"], true, "{fs}");
    assert_eq!(fs["features"], serde_json::json!([]));
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_self_signed_certificate() {
    let server = gp_server::Server::start(gp_server::ServerConfig {
        tls: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let url = server.url("/arcgis/rest/services/GP/BufferSync/GPServer?f=json");
    assert!(url.starts_with("https://"), "{url}");
    let pem = std::fs::read(server.cert_pem().unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let v: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["executionType"], "esriExecutionTypeSynchronous");
    // Result URLs are https too.
    let input = points(4326, &[(1.0, 1.0)]);
    let task = server.url("/arcgis/rest/services/SlopeByVal/GPServer/RunSlope/submitJob");
    let v: Value = http
        .post(&task)
        .form(&[("f", "json"), ("Input_DEM", "sample_dem")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["jobId"].is_string(), "{v} {input}");
    // Plain HTTP to the TLS port fails rather than leaking data.
    assert!(
        !reqwest::get(url.replace("https://", "http://"))
            .await
            .is_ok_and(|r| r.status().is_success())
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn natural_earth_cities_buffered_from_a_shapefile_and_an_upload() {
    let s = start_default().await;
    let dir = tempfile::tempdir().unwrap();
    // The sample Shapefile, as the server serves it.
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        let url = s.url(&format!(
            "/arcgis/rest/directories/samples/naturalearth_cities.{ext}"
        ));
        let bytes = s
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        std::fs::write(dir.path().join(format!("cities.{ext}")), &bytes).unwrap();
    }
    // Loaded into the task's default FeatureSet (GetParameterValue), as a client does.
    let task: gp_model::TaskInfo = serde_json::from_value(
        s.get(&s.svc("GP/BufferSync/GPServer/BufferPoints?f=json"))
            .await,
    )
    .unwrap();
    let gp_model::GpValue::FeatureSet(schema) = task
        .parameter("Input_Features")
        .unwrap()
        .default_gp_value()
        .unwrap()
        .unwrap()
    else {
        panic!()
    };
    let cities = gp_features::load_into(dir.path().join("cities.shp"), &schema).unwrap();
    assert_eq!(cities.features.len(), 243);
    let input = serde_json::to_string(&cities).unwrap();
    let v = s
        .post(
            &s.svc("GP/BufferSync/GPServer/BufferPoints/execute"),
            &[
                ("f", "json"),
                ("Input_Features", &input),
                ("Distance", "10 kilometers"),
            ],
        )
        .await;
    let fs = &v["results"][0]["value"];
    assert_eq!(
        fs["features"].as_array().unwrap().len(),
        243,
        "{}",
        &v.to_string()[..300.min(v.to_string().len())]
    );
    let want = std::f64::consts::PI * 1e8;
    for (i, rings) in polygons(fs).iter().enumerate() {
        let a = geodesic_area(rings);
        assert!((a - want).abs() / want < 0.005, "city {i}: {a}");
    }
    // The same cities uploaded as GeoJSON and passed by itemID.
    let geojson = dir.path().join("cities.geojson");
    gp_features::save(&cities, &geojson).unwrap();
    let part = reqwest::multipart::Part::bytes(std::fs::read(&geojson).unwrap())
        .file_name("cities.geojson");
    let form = reqwest::multipart::Form::new()
        .text("f", "json")
        .part("file", part);
    let up: Value = s
        .http
        .post(s.svc("GP/BufferSync/GPServer/uploads/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = format!(
        r#"{{"itemID": "{}"}}"#,
        up["item"]["itemID"].as_str().unwrap()
    );
    let v = s
        .post(
            &s.svc("GP/BufferSync/GPServer/BufferPoints/execute"),
            &[
                ("f", "json"),
                ("Input_Features", &item),
                ("Distance", "1 kilometers"),
                ("Dissolve", "ALL"),
            ],
        )
        .await;
    let fs = &v["results"][0]["value"];
    assert_eq!(fs["features"].as_array().unwrap().len(), 1, "{v}");
    // 243 disjoint circles (the cities are far apart) in one multipart polygon.
    assert_eq!(polygons(fs)[0].len(), 243);
    s.server.shutdown().await;
}

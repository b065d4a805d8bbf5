//! `RunSlope` end to end: uploads, exact slopes of synthetic planes (projected and
//! geographic), and agreement with GDAL's `gdaldem slope` (Horn) on the sample DEM.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // reason: tests

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use gp_raster::{
    DecodeLimits, GeoReference, Raster, RasterData, WriteOptions, read_tiff, write_geotiff,
};

fn plane(path: &Path, w: u32, h: u32, georef: GeoReference, z: impl Fn(u32, u32) -> f64) {
    let data: Vec<f32> = (0..h)
        .flat_map(|r| (0..w).map(move |c| (r, c)))
        .map(|(r, c)| z(c, r) as f32)
        .collect();
    let mut raster = Raster::new(w, h, 1, RasterData::F32(data)).unwrap();
    raster.georef = georef;
    raster.nodata = Some(-9999.0);
    write_geotiff(path, &raster, &WriteOptions::default()).unwrap();
}

async fn upload(s: &Srv, svc: &str, path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let part = reqwest::multipart::Part::bytes(bytes).file_name("plane.tif");
    let form = reqwest::multipart::Form::new()
        .text("f", "json")
        .text("description", "a plane")
        .part("file", part);
    let v: serde_json::Value = s
        .http
        .post(s.svc(&format!("{svc}/GPServer/uploads/upload")))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["success"], true, "{v}");
    let id = v["item"]["itemID"].as_str().unwrap().to_string();
    assert!(id.starts_with('i') && id.len() == 37, "{id}");
    let item = s
        .get(&s.svc(&format!("{svc}/GPServer/uploads/{id}?f=json")))
        .await;
    assert_eq!(item["item"]["itemName"], "plane.tif");
    id
}

async fn slope_of(s: &Srv, dem: &str, extra: &[(&str, &str)], out: &Path) -> Raster {
    let mut form = vec![("Input_DEM", dem)];
    form.extend_from_slice(extra);
    let job = s
        .submit(&s.svc("SlopeByVal/GPServer/RunSlope"), &form)
        .await;
    let st = s.wait(&job).await;
    assert_eq!(st["jobStatus"], "esriJobSucceeded", "{st}");
    let r = s
        .get(&format!(
            "{job}/results/Output_Slope?f=json&returnType=data"
        ))
        .await;
    assert_eq!(r["value"]["format"], "tif");
    let url = r["value"]["url"].as_str().unwrap();
    assert!(
        url.contains("/arcgis/rest/directories/arcgisjobs/slopebyval_gpserver/j"),
        "{url}"
    );
    let bytes = s.http.get(url).send().await.unwrap().bytes().await.unwrap();
    std::fs::write(out, &bytes).unwrap();
    read_tiff(out, &DecodeLimits::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inclined_planes_have_exact_slopes() {
    let s = start_default().await;
    let dir = tempfile::tempdir().unwrap();
    // Projected: z rises 0.25 per metre east and 0.1 per metre south; 10 m cells.
    let src = dir.path().join("plane.tif");
    let georef = GeoReference::north_up(400_000.0, 5_000_000.0, 10.0, 32633);
    plane(&src, 20, 15, georef.clone(), |c, r| {
        100.0 + 0.25 * 10.0 * c as f64 + 0.1 * 10.0 * r as f64
    });
    let id = upload(&s, "SlopeByVal", &src).await;
    let item = format!(r#"{{"itemID": "{id}"}}"#);
    let out = slope_of(
        &s,
        &item,
        &[("Output_Measurement", "degree")],
        &dir.path().join("a.tif"),
    )
    .await;
    assert_eq!(out.georef, georef, "georeferencing is kept");
    assert_eq!(out.nodata, Some(-9999.0), "nodata is kept");
    let want = (0.25f64.hypot(0.1)).atan().to_degrees();
    for r in 1..14 {
        for c in 1..19 {
            let v = out.value(0, c, r).unwrap();
            assert!((v - want).abs() < 1e-4, "({c},{r}): {v} vs {want}");
        }
    }
    let pct = slope_of(
        &s,
        &item,
        &[("Output_Measurement", "PERCENT_RISE"), ("Z_Factor", "2")],
        &dir.path().join("b.tif"),
    )
    .await;
    let v = pct.value(0, 5, 5).unwrap();
    assert!((v - 200.0 * 0.25f64.hypot(0.1)).abs() < 1e-3, "{v}");

    // Geographic: z rises 0.1 m per ground metre eastwards, ground distances from
    // geographiclib (Karney), independent of the tool's per-latitude conversion.
    use geo::{Distance, Geodesic, Point};
    let src = dir.path().join("geo.tif");
    let (x0, y0, px) = (10.0, 60.0, 0.0005);
    let georef = GeoReference::north_up(x0, y0, px, 4326);
    plane(&src, 12, 12, georef, |c, r| {
        let lat = y0 - (r as f64 + 0.5) * px;
        0.1 * Geodesic.distance(Point::new(x0, lat), Point::new(x0 + c as f64 * px, lat))
    });
    let id = upload(&s, "SlopeByVal", &src).await;
    let out = slope_of(
        &s,
        &format!(r#"{{"itemID": "{id}"}}"#),
        &[],
        &dir.path().join("c.tif"),
    )
    .await;
    let want = 0.1f64.atan().to_degrees();
    for r in 1..11 {
        for c in 1..11 {
            let v = out.value(0, c, r).unwrap();
            assert!((v - want).abs() < 1e-3, "({c},{r}): {v} vs {want}");
        }
    }
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_dem_matches_gdaldem() {
    // `gdaldem --version` exits 1 on GDAL 3.6; gdalinfo comes in the same package.
    let ok = Command::new("gdalinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("GP_REQUIRE_GDAL").is_err(),
            "GP_REQUIRE_GDAL is set but gdaldem is not available"
        );
        eprintln!("skipped: gdaldem is not installed; `apt-get install gdal-bin` to run this test");
        return;
    }
    let s = start_default().await;
    let dir = tempfile::tempdir().unwrap();
    let ours = slope_of(&s, "sample_dem", &[], &dir.path().join("ours.tif")).await;
    // The input as served.
    let dem = dir.path().join("dem.tif");
    let bytes = s
        .http
        .get(s.url("/arcgis/rest/directories/samples/sample_dem.tif"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    std::fs::write(&dem, &bytes).unwrap();
    let theirs_path = dir.path().join("gdal.tif");
    let st = Command::new("gdaldem")
        .args(["slope", "-q"]) // Horn is gdaldem's default algorithm
        .arg(&dem)
        .arg(&theirs_path)
        .status()
        .unwrap();
    assert!(st.success());
    let theirs = read_tiff(&theirs_path, &DecodeLimits::default()).unwrap();
    let input = read_tiff(&dem, &DecodeLimits::default()).unwrap();
    let (w, h) = (ours.width, ours.height);
    let mut compared = 0;
    for r in 1..h - 1 {
        'cell: for c in 1..w - 1 {
            for dr in 0..3 {
                for dc in 0..3 {
                    if input.value(0, c + dc - 1, r + dr - 1) == Some(-9999.0) {
                        continue 'cell;
                    }
                }
            }
            let (a, b) = (ours.value(0, c, r).unwrap(), theirs.value(0, c, r).unwrap());
            assert!((a - b).abs() < 1e-3, "({c},{r}): ours {a}, gdaldem {b}");
            compared += 1;
        }
    }
    assert!(compared > 60_000, "{compared}");
    // Cells whose centre is nodata stay nodata.
    assert_eq!(ours.value(0, 3, h - 3), ours.nodata);
    s.server.shutdown().await;
}

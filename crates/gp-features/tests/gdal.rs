//! GDAL (`ogrinfo -json`) reads what this crate writes, with the same features, fields,
//! geometry type and spatial reference; the recorded server fixtures convert to every
//! format without loss. Skipped with a message when GDAL is absent, unless
//! `GP_REQUIRE_GDAL=1` (set by `cargo xtask ci`, which installs gdal-bin).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // reason: test code

use std::path::Path;
use std::process::Command;

use gp_model::*;

mod common;

use common::gdal_or_skip as gdal;

/// `ogrinfo -so` text: driver, feature count, geometry type, SRS, fields.
fn ogrinfo(p: &Path) -> String {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al", "-so"])
        .arg(p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        p.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn gdal_features(p: &Path) -> serde_json::Value {
    common::gdal_geojson(p, &[])
}

fn fixture_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gp-model/tests/fixtures/arcgis-rest")
}

/// True when a simple-feature format can hold the geometry: not empty, and a
/// polygon has a ring of 3 distinct positions (rings with fewer are dropped).
fn drawable(f: &Feature) -> bool {
    match &f.geometry {
        Some(Geometry::Polygon(p)) => p.rings.iter().any(|r| {
            let closed = r.len() > 1 && r[0].x == r[r.len() - 1].x && r[0].y == r[r.len() - 1].y;
            r.len() + usize::from(!closed) >= 4
        }),
        Some(g) => !g.is_empty(),
        None => false,
    }
}

fn madison() -> FeatureSet {
    gp_features::load(fixture_dir().join("pyesridump/us-ms-madison-0.json")).unwrap()
}

#[test]
fn ogrinfo_reads_what_we_write() {
    if !gdal() {
        return;
    }
    let fs = madison();
    let n = fs.features.len();
    let dir = tempfile::tempdir().unwrap();
    for ext in ["gpkg", "fgb", "shp", "geojson", "csv", "gdb"] {
        let p = dir.path().join(format!("madison.{ext}"));
        if ext == "gdb" {
            gp_features::save(&fs, p.join("madison")).unwrap();
        } else {
            gp_features::save(&fs, &p).unwrap();
        }
        let info = ogrinfo(&p);
        assert!(
            info.contains(&format!("Feature Count: {n}")),
            "{ext}: {info}"
        );
        if ext != "csv" {
            // GeoJSON's layer type comes from its geometries, and this fixture's one
            // polygon is degenerate (written null); the others declare it.
            let typed = ext != "geojson" || fs.features.iter().any(drawable);
            assert!(!typed || info.contains("Polygon"), "{ext}: {info}");
            let code = fs
                .spatial_reference
                .as_ref()
                .and_then(SpatialReference::epsg)
                .unwrap();
            assert!(
                info.contains(&format!("ID[\"EPSG\",{code}]")),
                "{ext}: spatial reference: {info}"
            );
        }
        for f in fs
            .fields
            .as_ref()
            .unwrap()
            .iter()
            .filter(|f| f.field_type != FieldType::Oid && f.name.len() <= 10)
        {
            assert!(
                info.to_lowercase()
                    .contains(&format!("\n{}: ", f.name.to_lowercase())),
                "{ext}: field {} not in {info}",
                f.name
            );
        }
        // Values and geometries as GDAL reads them.
        let gj = gdal_features(&p);
        let feats = gj["features"].as_array().unwrap();
        assert_eq!(feats.len(), n, "{ext}");
        for (i, f) in fs.features.iter().enumerate().take(20) {
            if !drawable(f) && ext != "csv" {
                // Its one ring has 2 distinct positions: written null or empty.
                let g = &feats[i]["geometry"];
                assert!(
                    g.is_null() || g["coordinates"].as_array().is_some_and(Vec::is_empty),
                    "{ext}: feature {i}: {g}"
                );
                continue;
            }
            let (k, v) = f
                .attributes
                .iter()
                .find(|(_, v)| v.as_str().is_some())
                .unwrap();
            let props = feats[i]["properties"].as_object().unwrap();
            let got = props
                .iter()
                .find(|(pk, _)| pk.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str());
            assert_eq!(got, Some(v.as_str()), "{ext}: feature {i} field {k}");
            if ext != "csv" {
                assert!(
                    feats[i]["geometry"]["type"]
                        .as_str()
                        .unwrap_or("")
                        .contains("Polygon"),
                    "{ext}: feature {i}"
                );
            }
        }
    }
}

#[test]
fn geopackage_passes_gdal_checks() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("base.gpkg");
    gp_features::save(&madison(), p.join("madison")).unwrap();
    let info = ogrinfo(&p);
    assert!(info.contains("using driver `GPKG'"), "{info}");
    // GDAL finds and uses the R-tree: a spatial filter answers from it.
    let out = Command::new("ogrinfo")
        .args([
            "-ro",
            "-so",
            "-spat",
            "-10050000",
            "3800000",
            "-10000000",
            "3850000",
        ])
        .arg(&p)
        .arg("madison")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("ogrinfo")
        .args(["-ro", "-sql", "SELECT HasSpatialIndex('madison', 'geom')"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("= 1"), "no spatial index: {text}");
}

#[test]
fn fixtures_convert_to_every_format() {
    let kinds: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir().join("kinds.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut converted = 0;
    for (rel, kind) in kinds.iter().filter(|(_, k)| *k == "feature_set") {
        let _ = kind;
        let fs =
            gp_features::load(fixture_dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let with_geometry: Vec<&Feature> = fs.features.iter().filter(|f| drawable(f)).collect();
        let nonempty = fs
            .features
            .iter()
            .filter(|f| f.geometry.as_ref().is_some_and(|g| !g.is_empty()))
            .count();
        for ext in ["json", "geojson", "gpkg", "fgb", "shp", "csv", "gdb"] {
            let mut src = fs.clone();
            if ext == "shp" {
                // Shapefile has no empty geometries: keep the features that have one.
                src.features
                    .retain(|f| f.geometry.as_ref().is_some_and(|g| !g.is_empty()));
                if src.features.is_empty() {
                    continue;
                }
            }
            let name = rel.replace(['/', '.'], "_");
            let mut p = dir.path().join(format!("{name}.{ext}"));
            if ext == "gdb" {
                p = p.join("layer");
            }
            gp_features::save(&src, &p).unwrap_or_else(|e| panic!("{rel} -> {ext}: {e}"));
            let back =
                gp_features::load(&p).unwrap_or_else(|e| panic!("{rel} -> {ext} -> back: {e}"));
            assert_eq!(back.features.len(), src.features.len(), "{rel} -> {ext}");
            if ext == "json" {
                assert_eq!(back, src, "{rel}: Esri JSON is lossless");
            }
            let back_geoms = back
                .features
                .iter()
                .filter(|f| f.geometry.as_ref().is_some_and(|g| !g.is_empty()))
                .count();
            let want = match ext {
                "shp" => src.features.iter().filter(|f| drawable(f)).count(),
                "json" => nonempty,
                _ => with_geometry.len(),
            };
            assert_eq!(back_geoms, want, "{rel} -> {ext}: geometries");
        }
        converted += 1;
    }
    assert!(converted >= 8, "{converted}");
}

#[test]
fn gdal_answers_window_queries_from_our_spatial_indexes() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let features: Vec<Feature> = (0..5000)
        .map(|i| {
            let (x, y) = (
                (i * 7919 % 1000) as f64 / 10.0,
                (i * 104_729 % 1000) as f64 / 10.0,
            );
            let mut attributes = Attributes::new();
            attributes.insert("id".into(), AttrValue::Int(i));
            Feature {
                attributes,
                geometry: Some(Point::new(x, y).into()),
            }
        })
        .collect();
    let fs = FeatureSet {
        geometry_type: Some(GeometryType::Point),
        spatial_reference: Some(SpatialReference::from_wkid(3857)),
        fields: Some(vec![Field::new("id", FieldType::BigInteger)]),
        features,
        ..Default::default()
    };
    let (x0, y0, x1, y1) = (12.5, 30.0, 47.25, 61.5);
    let want = fs
        .features
        .iter()
        .filter(|f| match &f.geometry {
            Some(Geometry::Point(p)) => p
                .coord
                .is_some_and(|c| c.x >= x0 && c.x <= x1 && c.y >= y0 && c.y <= y1),
            _ => false,
        })
        .count();
    for ext in ["fgb", "gpkg"] {
        let p = dir.path().join(format!("pts.{ext}"));
        gp_features::save(&fs, &p).unwrap();
        let out = Command::new("ogrinfo")
            .args(["-ro", "-al", "-so", "-spat"])
            .args([x0, y0, x1, y1].map(|v| v.to_string()))
            .arg(&p)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("Feature Count: {want}")),
            "{ext}: expected {want}: {text}"
        );
    }
}

fn point(x: f64, y: f64) -> Geometry {
    Geometry::Point(Point {
        coord: Some(Coord::xy(x, y)),
        ..Default::default()
    })
}

#[test]
fn flatgeobuf_with_null_geometries_is_read_whole_by_gdal() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let features: Vec<Feature> = (0..5)
        .map(|i| Feature {
            geometry: (i % 2 == 0).then(|| point(f64::from(i), 1.0)),
            attributes: [("id".to_string(), AttrValue::Int(i64::from(i)))]
                .into_iter()
                .collect(),
        })
        .collect();
    let fs = FeatureSet {
        geometry_type: Some(GeometryType::Point),
        spatial_reference: Some(SpatialReference::from_wkid(4326)),
        fields: Some(vec![Field::new("id", FieldType::Integer)]),
        features,
        ..Default::default()
    };
    let p = dir.path().join("nulls.fgb");
    gp_features::save(&fs, &p).unwrap();
    let gj = gdal_features(&p);
    let feats = gj["features"].as_array().unwrap();
    assert_eq!(feats.len(), 5, "{gj}");
    // Written without spatial index, in input order.
    for (i, f) in feats.iter().enumerate() {
        assert_eq!(f["properties"]["id"], i, "{gj}");
        if i % 2 == 0 {
            assert_eq!(f["geometry"]["coordinates"][0], i as f64, "{gj}");
        } else {
            assert!(f["geometry"].is_null(), "{gj}");
        }
    }
    let back = gp_features::load(&p).unwrap();
    assert_eq!(back.features.len(), 5);
    assert!(back.features[1].geometry.is_none());
}

#[test]
fn gdal_reads_exact_wide_numbers_from_our_shapefiles() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // (Up to 18 characters: GDAL reads wider integer fields as reals.)
    let big = [
        9_007_199_254_740_993i64,
        123_456_789_012_345_678,
        -9_007_199_254_740_993,
    ];
    let fs = FeatureSet {
        geometry_type: Some(GeometryType::Point),
        fields: Some(vec![
            Field::new("big", FieldType::BigInteger),
            Field::new("real", FieldType::Double),
        ]),
        features: big
            .iter()
            .map(|&b| Feature {
                geometry: Some(point(1.0, 2.0)),
                attributes: [
                    ("big".to_string(), AttrValue::Int(b)),
                    ("real".to_string(), AttrValue::Float(-1.5e30)),
                ]
                .into_iter()
                .collect(),
            })
            .collect(),
        ..Default::default()
    };
    let p = dir.path().join("wide.shp");
    gp_features::save(&fs, &p).unwrap();
    let gj = gdal_features(&p);
    let feats = gj["features"].as_array().unwrap();
    for (f, b) in feats.iter().zip(big) {
        assert_eq!(f["properties"]["big"].as_i64(), Some(b), "{gj}");
        assert_eq!(f["properties"]["real"].as_f64(), Some(-1.5e30), "{gj}");
    }
}

#[test]
fn shapefiles_in_other_code_pages_are_decoded() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("names.geojson");
    std::fs::write(
        &src,
        r#"{"type": "FeatureCollection", "features": [
          {"type": "Feature", "properties": {"name": "Café Müller"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}"#,
    )
    .unwrap();
    for (enc, cpg_expected) in [("CP1252", "1252"), ("UTF-8", "UTF-8")] {
        let shp = dir.path().join(format!("names-{enc}.shp"));
        let out = Command::new("ogr2ogr")
            .args(["-f", "ESRI Shapefile", "-lco", &format!("ENCODING={enc}")])
            .arg(&shp)
            .arg(&src)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cpg = std::fs::read_to_string(shp.with_extension("cpg")).unwrap_or_default();
        assert!(cpg.contains(cpg_expected), "{enc}: .cpg says {cpg:?}");
        let fs = gp_features::load(&shp).unwrap();
        assert_eq!(
            fs.features[0].attributes["name"].as_str(),
            Some("Café Müller"),
            "{enc}"
        );
    }
}

#[test]
fn open_and_short_rings_and_partial_z_are_repaired_as_gdal_reads_them() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("repairs.json");
    // Feature 0: an open ring (closed on writing) and a 2-point ring (dropped);
    // feature 1: declares hasZ but gives 2 values (written 2-D, not with z = 0).
    std::fs::write(
        &input,
        r#"{"geometryType": "esriGeometryPolygon", "spatialReference": {"wkid": 4326},
            "fields": [{"name": "name", "type": "esriFieldTypeString", "length": 10}],
            "features": [
              {"attributes": {"name": "open"}, "geometry": {"rings": [[[0,0],[0,10],[10,10],[10,0]], [[1,1],[2,2]]]}},
              {"attributes": {"name": "flat"}, "geometry": {"hasZ": true, "rings": [[[0,0],[0,1],[1,1],[0,0]]]}}
            ]}"#,
    )
    .unwrap();
    for ext in ["geojson", "gpkg", "fgb", "shp", "csv"] {
        let out = dir.path().join(format!("repaired.{ext}"));
        let r = gp_features::convert(&input, &out, &Default::default()).unwrap();
        let w = r.output.warnings.join("; ");
        assert!(
            w.contains("1 polygon ring(s) were not closed")
                && w.contains(
                    "1 polygon ring(s) with fewer than 3 distinct positions were dropped"
                )
                && w.contains("written as 2-D"),
            "{ext}: {w}"
        );
        let gj = gdal_features(&out);
        let feats = gj["features"].as_array().unwrap();
        let rings = |i: usize| -> Vec<Vec<Vec<f64>>> {
            let g = &feats[i]["geometry"];
            let c = if g["type"] == "MultiPolygon" {
                g["coordinates"][0].clone()
            } else {
                g["coordinates"].clone()
            };
            serde_json::from_value(c).unwrap_or_else(|e| panic!("{ext}: {e}: {g}"))
        };
        if ext == "csv" {
            // CSV's WKT column is text to GDAL: the two features are there.
            assert_eq!(feats.len(), 2, "{ext}");
            let text = std::fs::read_to_string(&out).unwrap();
            assert!(
                text.contains("0 0,") && !text.contains("1 1,2 2"),
                "{ext}: {text}"
            );
            continue;
        }
        let r0 = rings(0);
        assert_eq!(r0.len(), 1, "{ext}: the 2-point ring is dropped: {r0:?}");
        assert_eq!(r0[0].len(), 5, "{ext}: the open ring is closed: {r0:?}");
        assert_eq!(r0[0].first(), r0[0].last(), "{ext}");
        let r1 = rings(1);
        assert!(
            r1[0].iter().all(|c| c.len() == 2),
            "{ext}: written 2-D: {r1:?}"
        );
    }
}

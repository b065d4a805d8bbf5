//! Every recorded fixture under `tests/fixtures/arcgis-rest/` parses into its typed
//! value, and serialising and parsing again gives an equal value.
//!
//! `kinds.json` maps each file to its kind; a fixture added later needs only a line
//! there (the walk below fails for a JSON file that has none).

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use gp_model::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arcgis-rest")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

#[track_caller]
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + Debug>(name: &str, text: &str) -> T {
    let first: T = from_json_str("fixture", text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = serde_json::to_string(&first).unwrap();
    let second: T = from_json_str("fixture", &again)
        .unwrap_or_else(|e| panic!("{name} (re-read): {e}\n{again}"));
    assert_eq!(first, second, "{name}: value changed in a round trip");
    first
}

#[derive(serde::Deserialize, serde::Serialize, PartialEq, Debug)]
struct ProgressDoc {
    progress: Progress,
}

fn kinds() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join("kinds.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_fixture_parses_and_round_trips() {
    let kinds = kinds();
    let mut files = Vec::new();
    walk(&root(), &mut files);
    files.sort();
    let mut checked = 0;
    for path in files {
        let rel = path
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "kinds.json" {
            continue;
        }
        let kind = kinds
            .get(&rel)
            .unwrap_or_else(|| panic!("{rel} has no line in kinds.json: add its kind there"));
        let text = std::fs::read_to_string(&path).unwrap();
        match kind.as_str() {
            "gp_service" => {
                round_trip::<GpServiceInfo>(&rel, &text);
            }
            "gp_task" => {
                let t = round_trip::<TaskInfo>(&rel, &text);
                for p in &t.parameters {
                    p.default_gp_value()
                        .unwrap_or_else(|e| panic!("{rel}: default of {}: {e}", p.name));
                    // Every default of a known type decoded when the metadata was read.
                    if !matches!(p.data_type, DataType::Unknown(_)) {
                        assert!(
                            !matches!(p.default(), Some(GpValue::Json(_))),
                            "{rel}: default of {} kept as JSON",
                            p.name
                        );
                    }
                }
            }
            "execute_response" => {
                round_trip::<ExecuteResponse>(&rel, &text);
            }
            "submit_job_response" => {
                round_trip::<SubmitJobResponse>(&rel, &text);
            }
            "job_status" => {
                round_trip::<JobInfo>(&rel, &text);
            }
            "portal_self" => {
                let p = round_trip::<PortalInfo>(&rel, &text);
                assert!(p.portal_name.is_some() && p.portal_mode.is_some(), "{rel}");
            }
            "rest_info" => {
                let r = round_trip::<RestInfo>(&rel, &text);
                assert!(
                    r.auth_info.is_some_and(|a| a.token_services_url.is_some()),
                    "{rel}"
                );
            }
            "job_progress" => {
                round_trip::<ProgressDoc>(&rel, &text);
            }
            "result_parameter" => {
                round_trip::<ResultParameter>(&rel, &text);
            }
            "feature_set" => {
                let fs = round_trip::<FeatureSet>(&rel, &text);
                // Through geozero to GeoJSON: valid JSON with every feature.
                let mut out = Vec::new();
                {
                    use geozero::GeozeroDatasource;
                    let mut w = geozero::geojson::GeoJsonWriter::new(&mut out);
                    fs.clone()
                        .process(&mut w)
                        .unwrap_or_else(|e| panic!("{rel}: {e}"));
                }
                let gj: serde_json::Value = serde_json::from_slice(&out)
                    .unwrap_or_else(|e| panic!("{rel}: geojson invalid: {e}"));
                assert_eq!(
                    gj["features"].as_array().unwrap().len(),
                    fs.features.len(),
                    "{rel}"
                );
            }
            "error_envelope" => {
                round_trip::<ErrorEnvelope>(&rel, &text);
                assert!(ServerError::check(text.as_bytes()).is_some(), "{rel}");
            }
            "upload_response" => {
                round_trip::<UploadResponse>(&rel, &text);
            }
            "layer_metadata" => {
                round_trip::<LayerInfo>(&rel, &text);
            }
            other => panic!("{rel}: unknown kind {other} in kinds.json"),
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} fixtures checked");
}

fn load<T: DeserializeOwned>(rel: &str) -> T {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    from_json_str("fixture", &text).unwrap()
}

#[test]
fn has_m_without_z_reads_third_value_as_m() {
    let fs: FeatureSet = load("gdal/esrihasmnozmultipoint.json");
    assert_eq!(fs.geometry_type, Some(GeometryType::Multipoint));
    let Some(Geometry::Multipoint(mp)) = &fs.features[0].geometry else {
        panic!()
    };
    assert_eq!(
        mp.points[0],
        Coord {
            x: 2.0,
            y: 49.0,
            z: None,
            m: Some(1.0)
        }
    );
}

#[test]
fn zm_polygon_keeps_four_values() {
    let fs: FeatureSet = load("arcgis-rest-js/PolygonHasZM.json");
    assert!(fs.has_z && fs.has_m);
    let Some(Geometry::Polygon(p)) = &fs.features[0].geometry else {
        panic!()
    };
    let c = p.rings[0][0];
    assert!(c.z.is_some() && c.m.is_some(), "{c:?}");
}

#[test]
fn empty_polyline_is_empty() {
    let fs: FeatureSet = load("arcgisutils/null-polyline.json");
    let g = fs
        .features
        .iter()
        .find_map(|f| f.geometry.as_ref())
        .unwrap();
    assert!(g.is_empty());
}

#[test]
fn exceeded_transfer_limit_result() {
    let r: ResultParameter = load("sage/gp-data-types.md.featureset-exceededTransferLimit.json");
    let GpValue::FeatureSet(fs) = r.value else {
        panic!("{:?}", r.value)
    };
    assert_eq!(fs.exceeded_transfer_limit, Some(true));
    assert!(fs.features.is_empty());
}

#[test]
fn curve_rings_are_kept_and_densify_to_circles() {
    let r: ResultParameter = load("sage/gp-data-types.md.featurecollection-curveRings.json");
    let GpValue::FeatureCollection(c) = r.value else {
        panic!("{:?}", r.value)
    };
    let Some(Geometry::Polygon(p)) = &c.feature_set.features[0].geometry else {
        panic!()
    };
    let curves = p.curve_rings.as_ref().expect("curveRings kept");
    assert!(matches!(curves[0][1], CurveElement::Arc { .. }));
    let ring = &p.linear_rings(gp_model::geometry::DEFAULT_DENSIFY_ANGLE)[0];
    assert!(
        ring.len() > 60,
        "a full circle densifies into many vertices"
    );
    // All densified vertices lie on the circle around the arc's centre.
    let CurveElement::Arc { center, .. } = curves[0][1] else {
        panic!()
    };
    let r0 = (ring[0].x - center.x).hypot(ring[0].y - center.y);
    for c in ring {
        let r = (c.x - center.x).hypot(c.y - center.y);
        assert!((r - r0).abs() < 1e-6 * r0.max(1.0), "{r} vs {r0}");
    }
}

#[test]
fn landfire_job_has_results_inputs_and_messages() {
    let j: JobInfo = load("landfire-python/test_landfire.jobStatus.esriJobSucceeded.json");
    assert!(j.job_status.is_terminal());
    assert_eq!(j.job_status.code(), Some(4));
    assert!(j.results.contains_key("Output_File"));
    assert!(j.inputs.len() >= 6);
    assert!(j.messages.len() >= 20);
    assert_eq!(j.max_severity(), Severity::Informative);
}

#[test]
fn data_file_result_is_a_url() {
    let r: ResultParameter = load("landfire-python/test_landfire.results.Output_File.json");
    let GpValue::DataRef(d) = r.value else {
        panic!("{:?}", r.value)
    };
    assert!(d.url.unwrap().contains("/scratch/"));
}

#[test]
fn value_table_task_defaults_decode_with_types() {
    let t: TaskInfo = load("sage/gp-task.md.example2-sync-valuetable.json");
    let p = &t.parameters[0];
    assert_eq!(p.data_type, DataType::ValueTable);
    let members = p.parameter_infos.as_ref().unwrap();
    // Decoded once, with the columns' types, when the metadata was read.
    let Some(GpValue::ValueTable(vt)) = p.default() else {
        panic!("{:?}", p.default())
    };
    assert_eq!(
        vt.rows[0],
        vec![GpValue::Long(567), GpValue::Double(-56756.567)]
    );
    assert!(p.filter.is_none());
    assert!(matches!(
        members[0].filter,
        Some(Filter::Range {
            minimum: Some(_),
            maximum: Some(_)
        })
    ));
    assert_eq!(
        t.parameters[1].data_type,
        DataType::MultiValue(Box::new(DataType::RasterDataLayer))
    );
}

#[test]
fn leaflet_task_default_feature_set_carries_schema() {
    let t: TaskInfo = load("esri-leaflet-gp/GPTaskSpec.sampleServiceMetadataResponse.json");
    let input = t
        .inputs()
        .find(|p| p.data_type == DataType::FeatureRecordSetLayer)
        .unwrap();
    let Some(GpValue::FeatureSet(fs)) = input.default_gp_value().unwrap() else {
        panic!()
    };
    assert!(fs.features.is_empty());
    assert!(fs.geometry_type.is_some());
}

#[test]
fn token_required_envelope() {
    let text = std::fs::read_to_string(
        root().join("arcgis-rest-js/errors.ArcGISServerTokenRequired.json"),
    )
    .unwrap();
    let e = ServerError::check(text.as_bytes()).unwrap();
    assert_eq!(e.code, 499);
    assert!(e.is_auth());
    assert_eq!(e.message_code.as_deref(), Some("GWM_0003"));
    assert!(!e.details.is_empty());
}

#[test]
fn feature_set_streams_from_a_reader() {
    let f = std::fs::File::open(root().join("pyesridump/us-ms-madison-0.json")).unwrap();
    let fs = FeatureSet::from_reader(std::io::BufReader::new(f)).unwrap();
    assert!(!fs.features.is_empty());
    assert!(fs.field_aliases.is_some());
}

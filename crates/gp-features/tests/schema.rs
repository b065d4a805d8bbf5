//! Loading local files into a tool's default FeatureSet (arcpy's `FeatureSet.load`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

use gp_features::{FeatureSetExt, conform};
use gp_model::*;

fn schema() -> FeatureSet {
    FeatureSet::with_schema(
        Some(GeometryType::Point),
        Some(SpatialReference::from_wkid(4326)),
        vec![
            Field::new("OBJECTID", FieldType::Oid),
            Field::new("Name", FieldType::String).with_length(8),
            Field::new("Height", FieldType::Double),
            Field::new("Floors", FieldType::SmallInteger),
        ],
    )
}

fn geojson(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let p = dir.join("in.geojson");
    std::fs::write(
        &p,
        format!(r#"{{"type": "FeatureCollection", "features": [{body}]}}"#),
    )
    .unwrap();
    p
}

#[test]
fn fields_match_case_insensitively_and_convert_losslessly() {
    let dir = tempfile::tempdir().unwrap();
    let p = geojson(
        dir.path(),
        r#"{"type": "Feature", "properties": {"NAME": "Tower A", "height": 30, "floors": "12", "extra": true},
            "geometry": {"type": "Point", "coordinates": [1, 2]}},
           {"type": "Feature", "properties": {"name": "B"}, "geometry": {"type": "Point", "coordinates": [3, 4]}}"#,
    );
    let mut fs = schema();
    fs.load(&p).unwrap();
    let a = &fs.features[0].attributes;
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        vec!["OBJECTID", "Name", "Height", "Floors"],
        "schema order, extras dropped"
    );
    assert_eq!(a["OBJECTID"], AttrValue::Int(1));
    assert_eq!(a["Name"].as_str(), Some("Tower A"));
    assert_eq!(a["Height"], AttrValue::Float(30.0));
    assert_eq!(a["Floors"], AttrValue::Int(12));
    let b = &fs.features[1].attributes;
    assert_eq!(
        (b["OBJECTID"].clone(), b["Height"].clone()),
        (AttrValue::Int(2), AttrValue::Null),
        "missing fields are null"
    );
    assert_eq!(fs.fields.as_ref().unwrap().len(), 4);
}

#[track_caller]
fn check_refused(body: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let p = geojson(dir.path(), body);
    let e = gp_features::load_into(&p, &schema())
        .unwrap_err()
        .to_string();
    for n in needles {
        assert!(e.contains(n), "`{e}` does not mention `{n}`");
    }
}

#[test]
fn lossy_or_mismatched_input_is_refused() {
    check_refused(
        r#"{"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}"#,
        &["esriGeometryPolyline", "esriGeometryPoint"],
    );
    check_refused(
        r#"{"type": "Feature", "properties": {"Floors": 70000}, "geometry": {"type": "Point", "coordinates": [0, 0]}}"#,
        &["feature 0", "Floors", "70000", "SmallInteger"],
    );
    check_refused(
        r#"{"type": "Feature", "properties": {"Floors": 2.5}, "geometry": {"type": "Point", "coordinates": [0, 0]}}"#,
        &["Floors", "2.5", "whole number"],
    );
    check_refused(
        r#"{"type": "Feature", "properties": {"Name": "much too long"}, "geometry": {"type": "Point", "coordinates": [0, 0]}}"#,
        &["Name", "longer than the field's 8 characters"],
    );
    check_refused(
        r#"{"type": "Feature", "properties": {"Height": "tall"}, "geometry": {"type": "Point", "coordinates": [0, 0]}}"#,
        &["Height", "`tall` is not a number"],
    );
}

#[test]
fn points_fill_a_multipoint_schema() {
    let mut target = schema();
    target.geometry_type = Some(GeometryType::Multipoint);
    let loaded = FeatureSet {
        geometry_type: Some(GeometryType::Point),
        features: vec![Feature {
            attributes: Attributes::new(),
            geometry: Some(Point::new(1.0, 2.0).into()),
        }],
        ..Default::default()
    };
    let fs = conform(loaded, &target).unwrap();
    assert!(
        matches!(&fs.features[0].geometry, Some(Geometry::Multipoint(m)) if m.points == vec![Coord::xy(1.0, 2.0)])
    );
    assert_eq!(
        fs.spatial_reference, target.spatial_reference,
        "the schema's SR when the file has none"
    );
}

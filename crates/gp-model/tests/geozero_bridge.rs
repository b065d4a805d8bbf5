//! The geozero bridges: Esri JSON out to other formats, and any geozero source in.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

use geozero::geojson::GeoJson;
use geozero::wkt::Wkt;
use geozero::{ProcessToJson, ToWkt};
use gp_model::esrijson::{EsriJson, EsriJsonReader, ToFeatureSet, geometry_from_geozero};
use gp_model::*;

#[track_caller]
fn check_wkt(esri: &str, expected: &str) {
    let g = Geometry::from_json(esri).unwrap();
    assert_eq!(g.to_wkt().unwrap(), expected, "{esri}");
}

#[test]
fn geometries_to_wkt() {
    check_wkt(r#"{"x": 1, "y": 2}"#, "POINT(1 2)");
    check_wkt(r#"{"x": null}"#, "POINT EMPTY");
    check_wkt(r#"{"points": [[1, 2], [3, 4]]}"#, "MULTIPOINT(1 2,3 4)");
    check_wkt(r#"{"paths": [[[0, 0], [1, 1]]]}"#, "LINESTRING(0 0,1 1)");
    check_wkt(
        r#"{"paths": [[[0, 0], [1, 1]], [[2, 2], [3, 3]]]}"#,
        "MULTILINESTRING((0 0,1 1),(2 2,3 3))",
    );
    // Clockwise exterior with a counter-clockwise hole: one polygon.
    check_wkt(
        r#"{"rings": [[[0,0],[0,10],[10,10],[10,0],[0,0]], [[2,2],[4,2],[4,4],[2,4],[2,2]]]}"#,
        "POLYGON((0 0,0 10,10 10,10 0,0 0),(2 2,4 2,4 4,2 4,2 2))",
    );
    // Two exteriors, the hole inside the second one.
    check_wkt(
        r#"{"rings": [[[0,0],[0,1],[1,1],[1,0],[0,0]], [[5,5],[5,9],[9,9],[9,5],[5,5]], [[6,6],[7,6],[7,7],[6,7],[6,6]]]}"#,
        "MULTIPOLYGON(((0 0,0 1,1 1,1 0,0 0)),((5 5,5 9,9 9,9 5,5 5),(6 6,7 6,7 7,6 7,6 6)))",
    );
    check_wkt(
        r#"{"xmin": 0, "ymin": 1, "xmax": 2, "ymax": 3}"#,
        "POLYGON((0 1,0 3,2 3,2 1,0 1))",
    );
}

#[test]
fn z_values_reach_geozero() {
    let g = Geometry::from_json(r#"{"hasZ": true, "paths": [[[0, 0, 5], [1, 1, 6]]]}"#).unwrap();
    assert_eq!(
        g.to_wkt_ndim(geozero::CoordDimensions::xyz()).unwrap(),
        "LINESTRING(0 0 5,1 1 6)"
    );
}

#[test]
fn gdal_polygon_fixture_groups_rings() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/arcgis-rest/gdal/esripolygon.json"
    ))
    .unwrap();
    let fs = FeatureSet::from_json(&text).unwrap();
    let wkt = fs.features[0].geometry.as_ref().unwrap().to_wkt().unwrap();
    assert!(wkt.starts_with("MULTIPOLYGON((("), "{wkt}");
    assert_eq!(
        wkt.matches("((").count(),
        2,
        "two polygons, one with a hole: {wkt}"
    );
}

#[test]
fn feature_set_to_geojson_keeps_attributes_and_dates() {
    let text = r#"{"geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 4326},
        "fields": [{"name": "name", "type": "esriFieldTypeString"}, {"name": "when", "type": "esriFieldTypeDate"},
                   {"name": "n", "type": "esriFieldTypeBigInteger"}],
        "features": [{"attributes": {"name": "Café", "when": 1714521600000, "n": 9007199254740993},
                      "geometry": {"x": 1.5, "y": 2.5}},
                     {"attributes": {"name": null, "when": null, "n": 1}}]}"#;
    let mut src = EsriJson(text);
    let gj: serde_json::Value = serde_json::from_str(&src.to_json().unwrap()).unwrap();
    let f0 = &gj["features"][0];
    assert_eq!(f0["properties"]["name"], "Café");
    assert_eq!(f0["properties"]["when"], "2024-05-01T00:00:00.000Z");
    assert_eq!(f0["properties"]["n"].as_i64(), Some(9_007_199_254_740_993));
    assert_eq!(f0["geometry"]["coordinates"], serde_json::json!([1.5, 2.5]));
    assert!(
        gj["features"][1].get("geometry").is_none(),
        "a null geometry stays absent"
    );
}

#[test]
fn reader_source_streams() {
    let text = br#"{"geometryType": "esriGeometryPoint", "features": [{"attributes": {"a": 1}, "geometry": {"x": 3, "y": 4}}]}"#;
    let mut src = EsriJsonReader(&text[..]);
    let fs = src.to_feature_set().unwrap();
    assert_eq!(
        fs.features[0].geometry,
        Some(Geometry::Point(Point::new(3.0, 4.0)))
    );
}

#[test]
fn geojson_into_feature_set_follows_esri_rules() {
    // GeoJSON polygons are counter-clockwise; Esri exteriors must be clockwise.
    let gj = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {"name": "a", "pop": 70000, "area": 1.5, "big": 5000000000, "when": "2024-05-01T00:00:00Z"},
       "geometry": {"type": "Polygon", "coordinates": [[[0,0],[10,0],[10,10],[0,10],[0,0]], [[2,2],[2,4],[4,4],[4,2],[2,2]]]}},
      {"type": "Feature", "properties": {"name": "b", "pop": 3, "area": 2, "big": 1, "when": "2024-05-02T00:00:00Z"},
       "geometry": {"type": "MultiPolygon", "coordinates": [[[[20,20],[21,20],[21,21],[20,21],[20,20]]]]}}]}"#;
    let fs = GeoJson(gj).to_feature_set().unwrap();
    assert_eq!(fs.geometry_type, Some(GeometryType::Polygon));
    let Some(Geometry::Polygon(p)) = &fs.features[0].geometry else {
        panic!()
    };
    assert!(
        gp_model::geometry::ring_signed_area(&p.rings[0]) < 0.0,
        "exterior clockwise"
    );
    assert!(
        gp_model::geometry::ring_signed_area(&p.rings[1]) > 0.0,
        "hole counter-clockwise"
    );
    let ty = |n: &str| fs.field(n).unwrap().field_type.clone();
    assert_eq!(ty("name"), FieldType::String);
    assert_eq!(ty("pop"), FieldType::Integer);
    assert_eq!(ty("area"), FieldType::Double);
    assert_eq!(ty("big"), FieldType::BigInteger);
    // GeoJSON has no date type: ISO text stays text.
    assert_eq!(ty("when"), FieldType::String);
    assert_eq!(
        fs.features[1].attributes["area"],
        AttrValue::Float(2.0),
        "widened to the column type"
    );
    // And back out: the same rings, as GeoJSON sees them.
    let back = fs.features[0].geometry.as_ref().unwrap().to_wkt().unwrap();
    assert_eq!(back.matches('(').count(), 3, "{back}");
}

#[test]
fn esri_to_geojson_to_esri_round_trip() {
    let fs = FeatureSet::from_json(
        r#"{"geometryType": "esriGeometryPolyline", "spatialReference": {"wkid": 3857},
            "features": [{"attributes": {"id": 1, "name": "x"}, "geometry": {"paths": [[[0, 0], [1, 2.5]]]}},
                         {"attributes": {"id": 2, "name": "y"}, "geometry": {"paths": [[[3, 3], [4, 4]], [[5, 5], [6, 6.25]]]}}]}"#,
    )
    .unwrap();
    let gj = ProcessToJson::to_json(&mut fs.clone()).unwrap();
    let back = GeoJson(&gj).to_feature_set().unwrap();
    assert_eq!(back.features.len(), 2);
    for (a, b) in fs.features.iter().zip(&back.features) {
        assert_eq!(a.geometry, b.geometry);
        assert_eq!(a.attributes, b.attributes);
    }
}

#[test]
fn single_geometries_from_wkt() {
    let g = geometry_from_geozero(&Wkt("LINESTRING(0 0, 1 1)")).unwrap();
    assert_eq!(
        serde_json::to_string(&g).unwrap(),
        r#"{"paths":[[[0.0,0.0],[1.0,1.0]]]}"#
    );
    let g = geometry_from_geozero(&Wkt("POINT Z(1 2 3)")).unwrap();
    assert_eq!(
        g,
        Geometry::Point(Point {
            coord: Some(Coord::xyz(1.0, 2.0, 3.0)),
            spatial_reference: None
        })
    );
}

#[test]
fn unsupported_geozero_geometries_are_errors() {
    let gj = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 0]}},
      {"type": "Feature", "properties": {}, "geometry": {"type": "GeometryCollection", "geometries": []}}]}"#;
    let e = GeoJson(gj).to_feature_set().unwrap_err().to_string();
    assert!(
        e.contains("feature 1") && e.contains("geometry collection"),
        "{e}"
    );
    let mixed = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 0]}},
      {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}]}"#;
    let e = GeoJson(mixed).to_feature_set().unwrap_err().to_string();
    assert!(
        e.contains("esriGeometryPolyline") && e.contains("esriGeometryPoint"),
        "{e}"
    );
}

#[test]
fn points_mixed_with_multipoints_become_multipoints() {
    let gj = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 0]}},
      {"type": "Feature", "properties": {}, "geometry": {"type": "MultiPoint", "coordinates": [[1, 1], [2, 2]]}}]}"#;
    let fs = GeoJson(gj).to_feature_set().unwrap();
    assert_eq!(fs.geometry_type, Some(GeometryType::Multipoint));
    assert!(
        matches!(&fs.features[0].geometry, Some(Geometry::Multipoint(m)) if m.points.len() == 1)
    );
}

#[test]
fn circular_arc_densifies_through_its_interior_point() {
    // Half circle of radius 1 around the origin, from (1,0) through (0,1) to (-1,0).
    let g = Geometry::from_json(r#"{"curvePaths": [[[1, 0], {"c": [[-1, 0], [0, 1]]}]]}"#).unwrap();
    let Geometry::Polyline(p) = &g else { panic!() };
    let pts = &p.linear_paths(gp_model::geometry::DEFAULT_DENSIFY_ANGLE)[0];
    assert_eq!(pts.len(), 37, "180 degrees in 5 degree steps");
    assert!(pts.iter().all(|c| (c.x.hypot(c.y) - 1.0).abs() < 1e-12));
    assert!(
        pts.iter().all(|c| c.y >= -1e-12),
        "it goes over the top, through (0, 1)"
    );
    // The same end points with the interior below go the other way.
    let g =
        Geometry::from_json(r#"{"curvePaths": [[[1, 0], {"c": [[-1, 0], [0, -1]]}]]}"#).unwrap();
    let Geometry::Polyline(p) = &g else { panic!() };
    assert!(p.linear_paths(0.1)[0].iter().all(|c| c.y <= 1e-12));
}

#[test]
fn clockwise_arc_and_bezier() {
    // Quarter circle clockwise from (0,1) to (1,0) around the origin.
    let g = Geometry::from_json(r#"{"curvePaths": [[[0, 1], {"a": [[1, 0], [0, 0], 1, 1]}, {"b": [[3, 0], [1.5, 1], [2.5, -1]]}]]}"#).unwrap();
    let Geometry::Polyline(p) = &g else { panic!() };
    let pts = &p.linear_paths(gp_model::geometry::DEFAULT_DENSIFY_ANGLE)[0];
    let arc: Vec<_> = pts.iter().take_while(|c| c.x <= 1.0).collect();
    assert_eq!(arc.len(), 19, "90 degrees in 5 degree steps plus the start");
    assert!(
        arc.iter().all(|c| c.x >= -1e-12 && c.y >= -1e-12),
        "the short clockwise way"
    );
    let last = pts.last().unwrap();
    assert_eq!((last.x, last.y), (3.0, 0.0));
    // The Bézier midpoint: (1 + 3*1.5 + 3*2.5 + 3)/8, (0 + 3 - 3 + 0)/8.
    let mid = pts[pts.len() - 17];
    assert!(
        (mid.x - 2.0).abs() < 1e-12 && mid.y.abs() < 1e-12,
        "{mid:?}"
    );
}

#[test]
fn builders_over_slices_absorbed_in_order_equal_one_builder() {
    use geozero::GeozeroDatasource;
    use gp_model::esrijson::FeatureSetBuilder;
    // Columns that widen (int, then real, then text), appear late, or hold large
    // integers; a multipoint among points; a spatial reference on a late feature.
    let features: Vec<String> = (0..40)
        .map(|i| {
            let v = match i {
                0..=9 => format!("{i}"),
                10..=19 => format!("{i}.5"),
                20 => "\"text\"".to_string(),
                _ => format!("{}", i64::MAX - i),
            };
            let extra = if i == 25 { r#","late":true"# } else { "" };
            let geometry = if i == 33 {
                r#"{"type":"MultiPoint","coordinates":[[1,2],[3,4,5]]}"#.to_string()
            } else {
                format!(r#"{{"type":"Point","coordinates":[{i},{i}]}}"#)
            };
            format!(
                r#"{{"type":"Feature","properties":{{"v":{v},"n":{i}{extra}}},"geometry":{geometry}}}"#
            )
        })
        .collect();
    let feed = |b: &mut FeatureSetBuilder, slice: &[String]| {
        for f in slice {
            GeoJson(f.as_str()).process(b).unwrap();
        }
    };
    let mut whole = FeatureSetBuilder::new();
    feed(&mut whole, &features);
    let whole = whole.finish().unwrap();
    for cuts in [
        vec![1],
        vec![10, 20, 30],
        vec![21, 26, 34],
        (1..40).collect(),
    ] {
        let mut bounds = vec![0];
        bounds.extend(&cuts);
        bounds.push(features.len());
        let mut b = FeatureSetBuilder::new();
        for w in bounds.windows(2) {
            let mut part = FeatureSetBuilder::new();
            feed(&mut part, &features[w[0]..w[1]]);
            b.absorb(part).unwrap();
        }
        assert_eq!(b.finish().unwrap(), whole, "cut at {cuts:?}");
    }
    // Geometry types that do not mix: refused, the builder unchanged.
    let mut points = FeatureSetBuilder::new();
    feed(&mut points, &features[..3]);
    let mut lines = FeatureSetBuilder::new();
    GeoJson(r#"{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}"#)
        .process(&mut lines)
        .unwrap();
    let e = points.absorb(lines).unwrap_err().to_string();
    assert!(e.contains("does not match"), "{e}");
    assert_eq!(points.finish().unwrap().features.len(), 3);
}

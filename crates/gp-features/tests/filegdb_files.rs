//! The File Geodatabase without GDAL: a geodatabase GDAL wrote (`tests/data/gdal.gdb`)
//! read with known values, layers added to it and to geodatabases gp writes, and
//! every refusal leaving the geodatabase as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: test code

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gp_features::{Error, SaveOptions};
use gp_model::*;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gdal.gdb")
}

/// A copy of the fixture in `dir`.
fn copy(dir: &Path) -> PathBuf {
    let to = dir.join("copy.gdb");
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(fixture()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    to
}

/// Every file of a folder with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn coords(g: &Geometry) -> Vec<Coord> {
    let mut v = Vec::new();
    g.for_each_coord_pub(&mut |c| v.push(*c));
    v
}

#[test]
fn reads_the_layers_gdal_wrote() {
    assert_eq!(
        gp_features::layers(fixture()).unwrap(),
        ["places", "parcels", "routes"]
    );
    let places = gp_features::load(fixture().join("places")).unwrap();
    assert_eq!(places.geometry_type, Some(GeometryType::Point));
    assert_eq!(
        places
            .spatial_reference
            .as_ref()
            .and_then(SpatialReference::epsg),
        Some(4326)
    );
    assert_eq!(places.object_id_field_name.as_deref(), Some("OBJECTID"));
    let names: Vec<(&str, &FieldType)> = places
        .fields
        .as_ref()
        .unwrap()
        .iter()
        .map(|f| (f.name.as_str(), &f.field_type))
        .collect();
    assert_eq!(
        names,
        [
            ("OBJECTID", &FieldType::Oid),
            ("name", &FieldType::String),
            ("pop", &FieldType::Integer),
            ("area_km2", &FieldType::Double),
            ("founded", &FieldType::Date)
        ]
    );
    let a = &places.features;
    assert_eq!(a.len(), 3);
    assert_eq!(a[1].attributes["name"], AttrValue::String("東京".into()));
    assert_eq!(a[1].attributes["pop"], AttrValue::Int(13_960_000));
    assert_eq!(a[0].attributes["area_km2"], AttrValue::Float(87.88));
    assert_eq!(
        a[2].attributes["founded"],
        AttrValue::Int(1_000_000_000_000)
    );
    assert_eq!(a[2].attributes["name"], AttrValue::Null);
    assert_eq!(a[2].geometry, None);
    let Some(Geometry::Point(p)) = &a[0].geometry else {
        panic!("{:?}", a[0].geometry)
    };
    let c = p.coord.unwrap();
    assert!(
        (c.x - 8.541694).abs() < 1e-9 && (c.y - 47.376887).abs() < 1e-9,
        "{c:?}"
    );

    let parcels = gp_features::load(fixture().join("parcels")).unwrap();
    assert!(parcels.has_m && !parcels.has_z);
    assert_eq!(
        parcels
            .spatial_reference
            .as_ref()
            .and_then(SpatialReference::epsg),
        Some(32611)
    );
    let Some(Geometry::Polygon(pg)) = &parcels.features[0].geometry else {
        panic!()
    };
    assert_eq!(pg.rings.len(), 3, "exterior, hole, second exterior");
    assert_eq!(pg.rings.iter().map(Vec::len).collect::<Vec<_>>(), [5, 4, 4]);
    assert!(pg.rings[1].iter().all(|c| c.m == Some(2.0)));
    assert!(pg.rings[2].iter().all(|c| c.m == Some(3.0)));

    let routes = gp_features::load(fixture().join("routes")).unwrap();
    assert!(routes.has_z && routes.has_m);
    let Some(Geometry::Polyline(pl)) = &routes.features[0].geometry else {
        panic!()
    };
    assert_eq!(pl.paths.len(), 2);
    let zm: Vec<(f64, f64, Option<f64>, Option<f64>)> =
        coords(routes.features[0].geometry.as_ref().unwrap())
            .iter()
            .map(|c| (c.x, c.y, c.z, c.m))
            .collect();
    assert_eq!(zm[4], (7.0, 5.0, Some(0.0), Some(0.0)));
    assert_eq!(zm[1], (1.0, 1.0, Some(2.0), Some(3.0)));

    // One layer of several: named, or an error listing them.
    match gp_features::load(fixture()) {
        Err(Error::Layer { layers, .. }) => assert_eq!(layers, ["places", "parcels", "routes"]),
        other => panic!("{other:?}"),
    }
    let e = gp_features::load(fixture().join("nope"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no layer \"nope\"") && e.contains("places, parcels, routes"),
        "{e}"
    );
}

fn towers() -> FeatureSet {
    let f = |i: i64, x: f64| Feature {
        attributes: [
            ("OBJECTID".to_string(), AttrValue::Int(i)),
            ("name".to_string(), AttrValue::String(format!("t{i}"))),
        ]
        .into_iter()
        .collect(),
        geometry: Some(Point::new(x, 34.0).into()),
    };
    FeatureSet {
        geometry_type: Some(GeometryType::Point),
        spatial_reference: Some(SpatialReference::from_wkid(4326)),
        fields: Some(vec![
            Field::new("OBJECTID", FieldType::Oid),
            Field::new("name", FieldType::String),
        ]),
        features: vec![f(1, -117.0), f(2, -116.5)],
        ..Default::default()
    }
}

#[test]
fn layers_are_added_beside_the_others_and_replaced_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    // Into GDAL's geodatabase: its layers stay as they were.
    let gdb = copy(dir.path());
    let before = gp_features::load(gdb.join("parcels")).unwrap();
    gp_features::save(&towers(), gdb.join("towers_buffer")).unwrap();
    assert_eq!(
        gp_features::layers(&gdb).unwrap(),
        ["places", "parcels", "routes", "towers_buffer"]
    );
    assert_eq!(gp_features::load(gdb.join("parcels")).unwrap(), before);
    assert_eq!(
        gp_features::load(gdb.join("towers_buffer"))
            .unwrap()
            .features
            .len(),
        2
    );
    // A taken name: refused without a change, then replaced when asked.
    let snap = snapshot(&gdb);
    match gp_features::save(&towers(), gdb.join("TOWERS_BUFFER")) {
        Err(Error::Exists { path }) => assert!(path.ends_with("towers_buffer"), "{path:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&gdb), snap);
    let mut one = towers();
    one.features.truncate(1);
    let opts = SaveOptions {
        overwrite: true,
        ..Default::default()
    };
    gp_features::save_with(&one, gdb.join("towers_buffer"), &opts).unwrap();
    assert_eq!(
        gp_features::load(gdb.join("towers_buffer"))
            .unwrap()
            .features
            .len(),
        1
    );
    assert_eq!(gp_features::layers(&gdb).unwrap().len(), 4);
    // A new geodatabase, then a second layer in it.
    let base = dir.path().join("out/base.gdb");
    gp_features::save(&towers(), base.join("towers")).unwrap();
    gp_features::save(&before, base.join("parcels")).unwrap();
    assert_eq!(gp_features::layers(&base).unwrap(), ["towers", "parcels"]);
    let back = gp_features::load(base.join("parcels")).unwrap();
    assert_eq!(back.features.len(), before.features.len());
    for (a, b) in back.features.iter().zip(&before.features) {
        assert_eq!(
            coords(a.geometry.as_ref().unwrap()),
            coords(b.geometry.as_ref().unwrap())
        );
    }
    // No temporary files are left beside the layers.
    for d in [&gdb, &base] {
        for name in snapshot(d).keys() {
            assert!(
                name.starts_with('a') || name == "gdb" || name == "timestamps",
                "{name}"
            );
        }
    }
    assert_eq!(
        std::fs::read_dir(base.parent().unwrap()).unwrap().count(),
        1
    );
}

#[test]
fn refusals_leave_the_geodatabase_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let gdb = copy(dir.path());
    let snap = snapshot(&gdb);
    // A name ArcGIS would refuse.
    for bad in ["2towers", "my layer", "select", "GDB_Items"] {
        let e = gp_features::save(&towers(), gdb.join(bad))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("layer name") || e.contains("system table"),
            "{bad}: {e}"
        );
    }
    // A coordinate outside the spatial reference's domain, after rows were written.
    let mut far = towers();
    far.features.push(Feature {
        attributes: Attributes::new(),
        geometry: Some(Point::new(-500.0, 0.0).into()),
    });
    let e = gp_features::save(&far, gdb.join("far"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("feature 2") && e.contains("x = -500"), "{e}");
    // A value that does not fit its field.
    let mut big = towers();
    big.fields
        .as_mut()
        .unwrap()
        .push(Field::new("n", FieldType::SmallInteger));
    big.features[1]
        .attributes
        .insert("n".into(), AttrValue::Int(40_000));
    let e = gp_features::save(&big, gdb.join("big"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("feature 1") && e.contains("field n") && e.contains("40000"),
        "{e}"
    );
    // A value of no kind the field takes.
    let mut odd = towers();
    odd.fields
        .as_mut()
        .unwrap()
        .push(Field::new("d", FieldType::Double));
    odd.features[0]
        .attributes
        .insert("d".into(), AttrValue::Bool(true));
    let e = gp_features::save(&odd, gdb.join("odd"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("feature 0: field d: Bool(true) is not a value for esriFieldTypeDouble"),
        "{e}"
    );
    assert_eq!(
        snapshot(&gdb),
        snap,
        "a refused layer changed the geodatabase"
    );
    // A new geodatabase that fails is not left behind, half written.
    let fresh = dir.path().join("fresh.gdb");
    assert!(gp_features::save(&far, fresh.join("far")).is_err());
    assert!(!fresh.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temporary folder left"
    );
}

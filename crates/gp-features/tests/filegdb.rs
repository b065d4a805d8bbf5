//! The File Geodatabase against GDAL's OpenFileGDB driver, both ways: GDAL reads
//! every layer gp writes (several per geodatabase) with the same features as gp's
//! own GeoJSON of the same data, and gp reads what `ogr2ogr -f OpenFileGDB` writes
//! with the features GDAL itself reads back. The GDAL parts are skipped with a
//! message when GDAL is absent, unless `GP_REQUIRE_GDAL=1` (`cargo xtask ci`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // reason: test code

mod common;

use common::gdal_or_skip as gdal;

use std::path::Path;
use std::process::Command;

use gp_model::geometry::DEFAULT_DENSIFY_ANGLE;
use gp_model::*;
use serde_json::Value;

fn c(x: f64, y: f64, z: Option<f64>, m: Option<f64>) -> Coord {
    Coord { x, y, z, m }
}

fn fields() -> Vec<Field> {
    let mut t = Field::new("label", FieldType::String);
    t.length = Some(40);
    vec![
        Field::new("OBJECTID", FieldType::Oid),
        Field::new("small", FieldType::SmallInteger),
        Field::new("int", FieldType::Integer),
        Field::new("big", FieldType::BigInteger),
        Field::new("single", FieldType::Single),
        Field::new("real", FieldType::Double),
        t,
        Field::new("when", FieldType::Date),
        Field::new("guid", FieldType::Guid),
        Field::new("global", FieldType::GlobalId),
        Field::new("odd name", FieldType::Integer),
    ]
}

fn attrs(i: i64) -> Attributes {
    let s = |v: &str| AttrValue::String(v.into());
    if i % 3 == 2 {
        // Every value null.
        return fields()
            .iter()
            .map(|f| {
                let v = if f.field_type == FieldType::Oid {
                    AttrValue::Int(i + 1)
                } else {
                    AttrValue::Null
                };
                (f.name.clone(), v)
            })
            .collect();
    }
    [
        ("OBJECTID", AttrValue::Int(i + 1)),
        ("small", AttrValue::Int(-32768 + i)),
        ("int", AttrValue::Int(2_147_483_647 - i)),
        (
            "big",
            AttrValue::Int(if i % 2 == 0 {
                9_007_199_254_740_992
            } else {
                -9_007_199_254_740_991
            }),
        ),
        ("single", AttrValue::Float(1.5)),
        ("real", AttrValue::Float(-1.25e-7 * (i as f64 + 1.0))),
        (
            "label",
            s(["Zürich ✓", "北京", "plain", "quote \" and \\ back"][i as usize % 4]),
        ),
        ("when", AttrValue::Int(1_700_000_000_000 + i * 86_400_000)),
        ("guid", s("{535DFE13-1AA4-4BAE-9B92-539B2DE9B35E}")),
        (
            "global",
            s(&format!("{{11111111-2222-3333-4444-55555555555{i}}}")),
        ),
        ("odd name", AttrValue::Int(i)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn set(
    t: Option<GeometryType>,
    wkid: i32,
    z: bool,
    m: bool,
    geoms: Vec<Option<Geometry>>,
) -> FeatureSet {
    FeatureSet {
        geometry_type: t,
        spatial_reference: Some(SpatialReference::from_wkid(wkid)),
        has_z: z,
        has_m: m,
        fields: Some(fields()),
        features: geoms
            .into_iter()
            .enumerate()
            .map(|(i, geometry)| Feature {
                attributes: attrs(i as i64),
                geometry,
            })
            .collect(),
        ..Default::default()
    }
}

fn pt(x: f64, y: f64, z: Option<f64>, m: Option<f64>) -> Option<Geometry> {
    Some(Geometry::Point(Point {
        coord: Some(c(x, y, z, m)),
        spatial_reference: None,
    }))
}

/// One layer of every geometry kind, with Z and M, and a table.
fn layers() -> Vec<(&'static str, &'static str, FeatureSet)> {
    let ring = |x0: f64, y0: f64, s: f64, z: Option<f64>, m: Option<f64>, cw: bool| {
        let mut r = vec![
            c(x0, y0, z, m),
            c(x0, y0 + s, z, m),
            c(x0 + s, y0 + s, z, m),
            c(x0 + s, y0, z, m),
            c(x0, y0, z, m),
        ];
        if !cw {
            r.reverse();
        }
        r
    };
    let poly = |z: Option<f64>, m: Option<f64>| {
        Some(Geometry::Polygon(Polygon {
            has_z: z.is_some(),
            has_m: m.is_some(),
            // Exterior with a hole, and a second exterior: a multipolygon.
            rings: vec![
                ring(0.0, 0.0, 10.0, z, m, true),
                ring(2.0, 2.0, 3.0, z, m, false),
                ring(20.0, 20.0, 5.0, z, m, true),
            ],
            ..Default::default()
        }))
    };
    let line = |m: bool| {
        let mv = |v: f64| m.then_some(v);
        Some(Geometry::Polyline(Polyline {
            has_m: m,
            paths: vec![
                vec![
                    c(-117.25, 34.0, None, mv(0.0)),
                    c(-117.0, 34.5, None, mv(1.5)),
                ],
                vec![
                    c(-116.0, 33.0, None, mv(2.0)),
                    c(-115.5, 33.25, None, mv(2.5)),
                    c(-115.0, 33.0, None, mv(3.0)),
                ],
            ],
            ..Default::default()
        }))
    };
    let multi = Some(Geometry::Multipoint(Multipoint {
        has_z: true,
        points: vec![
            c(500_000.5, 4_000_000.25, Some(12.5), None),
            c(500_100.0, 4_000_050.0, Some(-3.0), None),
        ],
        ..Default::default()
    }));
    use GeometryType as G;
    vec![
        (
            "points",
            "Point",
            set(
                Some(G::Point),
                4326,
                false,
                false,
                vec![
                    pt(-117.2, 34.1, None, None),
                    pt(13.4, 52.5, None, None),
                    None,
                    pt(0.0, 0.0, None, None),
                ],
            ),
        ),
        (
            "pointz",
            "3D Point",
            set(
                Some(G::Point),
                3857,
                true,
                false,
                vec![
                    pt(1_000.5, -2_000.25, Some(99.5), None),
                    pt(0.0, 0.0, Some(0.0), None),
                ],
            ),
        ),
        (
            "pointm",
            "Measured Point",
            set(
                Some(G::Point),
                32611,
                false,
                true,
                vec![pt(500_000.0, 4_000_000.0, None, Some(7.25))],
            ),
        ),
        (
            "pointzm",
            "3D Measured Point",
            set(
                Some(G::Point),
                32611,
                true,
                true,
                vec![pt(500_000.0, 4_000_000.0, Some(1.0), Some(2.0))],
            ),
        ),
        (
            "multipoints",
            "3D Multi Point",
            set(
                Some(G::Multipoint),
                32611,
                true,
                false,
                vec![multi.clone(), None, multi],
            ),
        ),
        (
            "lines",
            "Measured Multi Line String",
            set(
                Some(G::Polyline),
                4326,
                false,
                true,
                vec![line(true), line(true)],
            ),
        ),
        (
            "lines2d",
            "Multi Line String",
            set(Some(G::Polyline), 4326, false, false, vec![line(false)]),
        ),
        (
            "polygons",
            "Multi Polygon",
            set(
                Some(G::Polygon),
                3857,
                false,
                false,
                vec![poly(None, None), None, poly(None, None)],
            ),
        ),
        (
            "polygonzm",
            "3D Measured Multi Polygon",
            set(
                Some(G::Polygon),
                3857,
                true,
                true,
                vec![poly(Some(5.0), Some(1.0))],
            ),
        ),
        (
            "records",
            "None",
            set(None, 4326, false, false, vec![None, None, None]),
        ),
    ]
}

fn gdal_geojson(gdb: &Path, layer: &str, all: bool) -> Value {
    let mut args = vec![layer];
    if all {
        args.extend(["-oo", "LIST_ALL_TABLES=YES"]);
    }
    common::gdal_geojson(gdb, &args)
}

/// A geometry's coordinates as sorted rounded tuples (ring order and orientation,
/// and single against multi, set aside), with its type family.
fn shape(g: &Value) -> (String, Vec<Vec<i64>>) {
    fn walk(v: &Value, out: &mut Vec<Vec<i64>>) {
        match v.as_array() {
            Some(a) if a.first().is_some_and(Value::is_number) => {
                out.push(
                    a.iter()
                        .map(|n| (n.as_f64().unwrap() * 1e6).round() as i64)
                        .collect(),
                );
            }
            Some(a) => a.iter().for_each(|x| walk(x, out)),
            None => {}
        }
    }
    if g.is_null() {
        return (String::new(), Vec::new());
    }
    let mut out = Vec::new();
    walk(&g["coordinates"], &mut out);
    out.sort();
    let family = g["type"]
        .as_str()
        .unwrap()
        .trim_start_matches("Multi")
        .to_string();
    (family, out)
}

/// A property value as comparable text: numbers by value, dates to the second
/// (GDAL 3.6 prints no milliseconds), text as is.
fn value(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("{}", n.as_f64().unwrap()),
        Value::String(s) if s.len() >= 20 && s.as_bytes()[10] == b'T' => s[..19].to_string(),
        other => other.to_string(),
    }
}

/// The features of two GeoJSON documents are the same: properties by (renamed)
/// key, and geometries.
#[track_caller]
fn check_same(what: &str, ours: &Value, theirs: &Value, renames: &[(String, String)]) {
    let (a, b) = (
        ours["features"].as_array().unwrap(),
        theirs["features"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len(), "{what}: feature count");
    for (i, (fa, fb)) in a.iter().zip(b).enumerate() {
        for (k, va) in fa["properties"].as_object().unwrap() {
            if k.eq_ignore_ascii_case("OBJECTID") {
                continue;
            }
            let k2 = renames
                .iter()
                .find(|(from, _)| from == k)
                .map_or(k.as_str(), |(_, to)| to.as_str());
            let vb = &fb["properties"][k2];
            assert_eq!(value(va), value(vb), "{what}: feature {i} property {k}");
        }
        assert_eq!(
            shape(&fa["geometry"]),
            shape(&fb["geometry"]),
            "{what}: feature {i} geometry"
        );
    }
}

#[test]
fn gdal_reads_every_layer_gp_writes() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gdb = dir.path().join("base.gdb");
    for (name, _, fs) in layers() {
        let report = gp_features::save(&fs, gdb.join(name)).unwrap();
        assert_eq!(
            report.renamed_fields,
            vec![("odd name".to_string(), "odd_name".to_string())]
        );
    }
    let info = Command::new("ogrinfo")
        .arg("-ro")
        .arg(&gdb)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    for (name, kind, fs) in layers() {
        assert!(text.contains(&format!("{name} ({kind})")), "{name}: {text}");
        let so = Command::new("ogrinfo")
            .args(["-ro", "-so"])
            .arg(&gdb)
            .arg(name)
            .output()
            .unwrap();
        let so = String::from_utf8_lossy(&so.stdout);
        assert!(
            so.contains(&format!("Feature Count: {}", fs.features.len())),
            "{name}: {so}"
        );
        for field in [
            "small: Integer(Int16)",
            "int: Integer",
            "big: Real",
            "single: Real(Float32)",
            "real: Real",
            "label: String (40.0)",
            "when: DateTime",
            "guid: String",
            "global: String",
            "odd_name: Integer",
        ] {
            assert!(so.contains(field), "{name}: {field} in {so}");
        }
        if let Some(w) = fs
            .spatial_reference
            .as_ref()
            .and_then(|s| s.wkid)
            .filter(|_| fs.geometry_type.is_some())
        {
            assert!(
                so.contains(&format!("ID[\"EPSG\",{w}]")),
                "{name}: spatial reference {w}: {so}"
            );
        }
        let ours_path = dir.path().join(format!("{name}.geojson"));
        gp_features::save(&fs, &ours_path).unwrap();
        let ours: Value =
            serde_json::from_str(&std::fs::read_to_string(&ours_path).unwrap()).unwrap();
        let renames = vec![("odd name".to_string(), "odd_name".to_string())];
        check_same(name, &ours, &gdal_geojson(&gdb, name, false), &renames);
        // And gp reads back what it wrote, milliseconds and measures included.
        let back = gp_features::load(gdb.join(name)).unwrap();
        assert_eq!(back.features.len(), fs.features.len());
        for (a, b) in fs.features.iter().zip(&back.features) {
            assert_eq!(a.attributes["when"], b.attributes["when"], "{name}");
            assert_eq!(a.attributes["label"], b.attributes["label"], "{name}");
            assert_eq!(a.attributes["global"], b.attributes["global"], "{name}");
            let ms = |g: &Option<Geometry>| {
                let mut v = Vec::new();
                if let Some(g) = g {
                    g.for_each_coord_pub(&mut |c| v.push((c.x, c.y, c.z, c.m)));
                }
                v
            };
            if fs.has_m || fs.has_z {
                let (mut x, mut y) = (ms(&a.geometry), ms(&b.geometry));
                x.sort_by(|p, q| p.partial_cmp(q).unwrap());
                y.sort_by(|p, q| p.partial_cmp(q).unwrap());
                assert_eq!(x, y, "{name}: coordinates with Z and M");
            }
        }
    }
}

#[test]
fn gdal_answers_window_queries_on_layers_without_a_spatial_index() {
    if !gdal() {
        return;
    }
    // No `.spx` is written: GDAL scans, and finds what the window holds.
    let dir = tempfile::tempdir().unwrap();
    let gdb = dir.path().join("base.gdb");
    let (_, _, points) = layers().swap_remove(0);
    gp_features::save(&points, gdb.join("points")).unwrap();
    for (window, want) in [
        (["10", "50", "15", "55"], 1),
        (["-1", "-1", "20", "60"], 2),
        (["50", "0", "60", "10"], 0),
    ] {
        let out = Command::new("ogrinfo")
            .args(["-ro", "-so", "-spat"])
            .args(window)
            .arg(&gdb)
            .arg("points")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("Feature Count: {want}")),
            "{window:?}: {text}"
        );
    }
}

/// Geometries GDAL writes from WKT, one layer each: `(layer, -nlt, WKT rows)`.
const GDAL_LAYERS: &[(&str, &str, &[&str])] = &[
    ("pt", "POINT", &["POINT (1.5 2.25)", "POINT EMPTY"]),
    ("ptz", "POINTZ", &["POINT Z (1 2 3)"]),
    ("ptm", "POINTM", &["POINT M (1 2 4)"]),
    ("ptzm", "POINTZM", &["POINT ZM (1 2 3 4)"]),
    ("mpz", "MULTIPOINTZ", &["MULTIPOINT Z ((1 2 3),(4 5 6))"]),
    ("mpm", "MULTIPOINTM", &["MULTIPOINT M ((1 2 3),(4 5 6))"]),
    (
        "ln",
        "MULTILINESTRING",
        &[
            "LINESTRING (0 0,1 1,2 0)",
            "MULTILINESTRING ((0 0,1 1),(5 5,6 6,7 5))",
        ],
    ),
    (
        "lnzm",
        "MULTILINESTRINGZM",
        &["MULTILINESTRING ZM ((0 0 1 2,1 1 2 3),(5 5 1 1,6 6 1 1))"],
    ),
    (
        "pg",
        "MULTIPOLYGON",
        &[
            "POLYGON ((0 0,0 10,10 10,10 0,0 0),(2 2,4 2,4 4,2 2))",
            "MULTIPOLYGON (((0 0,0 1,1 1,0 0)),((5 5,5 6,6 6,5 5)))",
        ],
    ),
    (
        "pgm",
        "MULTIPOLYGONM",
        &["MULTIPOLYGON M (((0 0 1,10 0 1,10 10 1,0 10 1,0 0 1),(1 1 2,2 1 2,2 2 2,1 1 2)))"],
    ),
    (
        "pgz",
        "MULTIPOLYGONZ",
        &["POLYGON Z ((0 0 1,0 10 2,10 10 3,10 0 4,0 0 1))"],
    ),
];

#[test]
fn gp_reads_what_gdal_writes() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gdb = dir.path().join("gdal.gdb");
    // Attributes of every type GDAL writes, from GeoJSON.
    let src = dir.path().join("attrs.geojson");
    std::fs::write(
        &src,
        r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"i16":-7,"i32":2147483647,"r32":1.5,"r":-2.25e-9,"s":"Grüße ✓","dt":"2024-02-29T23:59:58Z","d":"2024-03-01","b64":9007199254740992},"geometry":{"type":"Point","coordinates":[-117.5,34.25]}},
{"type":"Feature","properties":{"i16":null,"i32":null,"r32":null,"r":null,"s":null,"dt":null,"d":null,"b64":null},"geometry":null}]}"#,
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("ogr2ogr").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let g = gdb.to_str().unwrap();
    run(&[
        "-f",
        "OpenFileGDB",
        g,
        src.to_str().unwrap(),
        "-nln",
        "attrs",
        "-mapFieldType",
        "Integer64=Real",
        "-sql",
        "SELECT CAST(i16 AS integer(2)) AS i16, i32, CAST(r32 AS float(4)) AS r32, r, s, CAST(dt AS timestamp) AS dt, d, b64 FROM attrs",
    ]);
    for (layer, nlt, rows) in GDAL_LAYERS {
        let csv = dir.path().join(format!("{layer}.csv"));
        let mut text = String::from("id,WKT\n");
        for (i, r) in rows.iter().enumerate() {
            text.push_str(&format!("{i},\"{r}\"\n"));
        }
        std::fs::write(&csv, text).unwrap();
        run(&[
            "-f",
            "OpenFileGDB",
            "-update",
            g,
            csv.to_str().unwrap(),
            "-nln",
            layer,
            "-nlt",
            nlt,
            "-a_srs",
            "EPSG:32611",
        ]);
    }
    let mut names: Vec<&str> = GDAL_LAYERS.iter().map(|l| l.0).collect();
    names.insert(0, "attrs");
    assert_eq!(gp_features::layers(&gdb).unwrap(), names);
    for layer in names {
        let ours = dir.path().join(format!("{layer}-gp.geojson"));
        gp_features::convert(gdb.join(layer), &ours, &gp_features::SaveOptions::default()).unwrap();
        let ours: Value = serde_json::from_str(&std::fs::read_to_string(&ours).unwrap()).unwrap();
        check_same(layer, &ours, &gdal_geojson(&gdb, layer, false), &[]);
        let fs = gp_features::load(gdb.join(layer)).unwrap();
        if layer != "attrs" {
            assert_eq!(
                fs.spatial_reference
                    .as_ref()
                    .and_then(SpatialReference::epsg),
                Some(32611),
                "{layer}"
            );
        }
        let want_m = layer.ends_with('m');
        assert_eq!(fs.has_m, want_m, "{layer}: M");
    }
    let attrs = gp_features::load(gdb.join("attrs")).unwrap();
    let f = &attrs.features[0].attributes;
    assert_eq!(f["dt"], AttrValue::Int(1_709_251_198_000));
    assert_eq!(f["s"], AttrValue::String("Grüße ✓".into()));
    assert_eq!(f["b64"], AttrValue::Float(9_007_199_254_740_992.0));
    // The system tables read too: GUIDs, global ids and XML of GDB_Items.
    let ours = dir.path().join("items.geojson");
    gp_features::convert(
        gdb.join("GDB_Items"),
        &ours,
        &gp_features::SaveOptions::default(),
    )
    .unwrap();
    let ours: Value = serde_json::from_str(&std::fs::read_to_string(&ours).unwrap()).unwrap();
    check_same(
        "GDB_Items",
        &ours,
        &gdal_geojson(&gdb, "GDB_Items", true),
        &[],
    );
}

#[test]
fn gdal_reads_a_gdal_geodatabase_after_gp_added_and_replaced_layers() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gdb = dir.path().join("copy.gdb");
    std::fs::create_dir_all(&gdb).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gdal.gdb");
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), gdb.join(e.file_name())).unwrap();
    }
    let (_, _, points) = layers().swap_remove(0);
    gp_features::save(&points, gdb.join("added")).unwrap();
    // Replacing GDAL's layer drops its spatial index, which no longer matches.
    let opts = gp_features::SaveOptions {
        overwrite: true,
        ..Default::default()
    };
    gp_features::save_with(&points, gdb.join("places"), &opts).unwrap();
    assert!(!gdb.join("a00000009.spx").exists());
    let info = Command::new("ogrinfo")
        .arg("-ro")
        .arg(&gdb)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    for l in [
        "places (Point)",
        "parcels (Measured Multi Polygon)",
        "routes (3D Measured Multi Line String)",
        "added (Point)",
    ] {
        assert!(text.contains(l), "{l}: {text}");
    }
    let ours_path = dir.path().join("points.geojson");
    gp_features::save(&points, &ours_path).unwrap();
    let ours: Value = serde_json::from_str(&std::fs::read_to_string(&ours_path).unwrap()).unwrap();
    let renames = vec![("odd name".to_string(), "odd_name".to_string())];
    for l in ["added", "places"] {
        check_same(l, &ours, &gdal_geojson(&gdb, l, false), &renames);
    }
}

#[test]
fn gp_reads_the_true_curves_gdal_writes() {
    if !gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gdb = dir.path().join("curves.gdb");
    let g = gdb.to_str().unwrap();
    for (layer, nlt, wkt, up) in [
        (
            "arcs",
            "MULTICURVE",
            "MULTICURVE (CIRCULARSTRING (0 0,1 1,2 0),COMPOUNDCURVE ((5 5,6 5),CIRCULARSTRING (6 5,7 6,8 5)))",
            false,
        ),
        (
            "disc",
            "MULTISURFACE",
            "CURVEPOLYGON (CIRCULARSTRING (0 0,2 0,0 0))",
            true,
        ),
    ] {
        let csv = dir.path().join(format!("{layer}.csv"));
        std::fs::write(&csv, format!("id,WKT\n1,\"{wkt}\"\n")).unwrap();
        let mut cmd = Command::new("ogr2ogr");
        cmd.args(["-f", "OpenFileGDB"]);
        if up {
            cmd.arg("-update");
        }
        let out = cmd
            .arg(g)
            .arg(&csv)
            .args(["-nln", layer, "-nlt", nlt])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let arcs = gp_features::load(gdb.join("arcs")).unwrap();
    let Some(Geometry::Polyline(pl)) = &arcs.features[0].geometry else {
        panic!()
    };
    let curves = pl.curve_paths.as_ref().expect("true curves");
    assert_eq!(
        curves[0],
        vec![
            CurveElement::Point(Coord::xy(0.0, 0.0)),
            CurveElement::CircularArc {
                end: Coord::xy(2.0, 0.0),
                interior: Coord::xy(1.0, 1.0)
            }
        ]
    );
    assert_eq!(curves[1].len(), 3, "a line, then an arc: {:?}", curves[1]);
    assert!(
        matches!(curves[1][2], CurveElement::CircularArc { interior, .. } if interior == Coord::xy(7.0, 6.0))
    );
    // Where plain vertices are needed, the arcs are densified on their circles.
    let on_circle =
        |c: &Coord, cx: f64, cy: f64, r: f64| ((c.x - cx).hypot(c.y - cy) - r).abs() < 1e-9;
    let lines = pl.linear_paths(DEFAULT_DENSIFY_ANGLE);
    assert!(lines[0].len() > 10, "{:?}", lines[0]);
    assert!(
        lines[0].iter().all(|c| on_circle(c, 1.0, 0.0, 1.0)),
        "{:?}",
        lines[0]
    );
    assert!(
        lines[1][2..].iter().all(|c| on_circle(c, 7.0, 5.0, 1.0)),
        "{:?}",
        lines[1]
    );
    // GDAL's own linearisation lies on the same circles.
    let theirs = gdal_geojson(&gdb, "arcs", false);
    let first = &theirs["features"][0]["geometry"]["coordinates"][0];
    for p in first.as_array().unwrap() {
        let c = Coord::xy(p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
        assert!(on_circle(&c, 1.0, 0.0, 1.0), "{p}");
    }
    let disc = gp_features::load(gdb.join("disc")).unwrap();
    let Some(Geometry::Polygon(pg)) = &disc.features[0].geometry else {
        panic!()
    };
    let ring = &pg.linear_rings(DEFAULT_DENSIFY_ANGLE)[0];
    assert!(
        ring.len() > 20 && ring.iter().all(|c| on_circle(c, 1.0, 0.0, 1.0)),
        "{ring:?}"
    );
    // And written again (densified) wherever they go.
    gp_features::save(&disc, dir.path().join("disc.geojson")).unwrap();
    gp_features::save(&arcs, gdb.join("arcs_copy")).unwrap();
    let copy = gp_features::load(gdb.join("arcs_copy")).unwrap();
    let Some(Geometry::Polyline(c)) = &copy.features[0].geometry else {
        panic!()
    };
    assert!(c.curve_paths.is_none() && c.paths[0].len() == lines[0].len());
}

#[test]
fn gp_reads_a_sparse_row_index_gdal_writes() {
    if !gdal() {
        return;
    }
    // Object ids with gaps of whole 1024-row blocks: GDAL leaves the empty blocks out
    // of the `.gdbtablx` and marks the others in a bitmap.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("gaps.geojson");
    let ids = [1, 2, 5000, 5001, 9000];
    let features: Vec<String> = ids
        .iter()
        .map(|i| format!(r#"{{"type":"Feature","id":{i},"properties":{{"n":{i}}},"geometry":{{"type":"Point","coordinates":[{},1]}}}}"#, i % 170))
        .collect();
    std::fs::write(
        &src,
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        ),
    )
    .unwrap();
    let gdb = dir.path().join("gaps.gdb");
    let out = Command::new("ogr2ogr")
        .args(["-f", "OpenFileGDB"])
        .arg(&gdb)
        .arg(&src)
        .args(["-nln", "gaps", "-preserve_fid"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let x = std::fs::read(gdb.join("a00000009.gdbtablx")).unwrap();
    let head: Vec<u32> = x[..16]
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(head, [3, 3, 9000, 5], "three blocks of nine present");
    let fs = gp_features::load(gdb.join("gaps")).unwrap();
    let got: Vec<(i64, i64)> = fs
        .features
        .iter()
        .map(|f| {
            (
                f.attributes["OBJECTID"].as_i64().unwrap(),
                f.attributes["n"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, ids.map(|i| (i, i)));
    let ours = dir.path().join("ours.geojson");
    gp_features::convert(
        gdb.join("gaps"),
        &ours,
        &gp_features::SaveOptions::default(),
    )
    .unwrap();
    let ours: Value = serde_json::from_str(&std::fs::read_to_string(&ours).unwrap()).unwrap();
    check_same("gaps", &ours, &gdal_geojson(&gdb, "gaps", false), &[]);
}

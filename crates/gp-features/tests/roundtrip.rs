//! Every format round-trips: geometry types with Z/M, multipart, holes, empty and
//! null geometries, nulls, dates, unicode, 64-bit integers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

use gp_features::Error;
use gp_features::*;
use gp_model::*;

fn fields() -> Vec<Field> {
    vec![
        Field::new("OBJECTID", FieldType::Oid),
        Field::new("name", FieldType::String).with_length(40),
        Field::new("count", FieldType::Integer),
        Field::new("small", FieldType::SmallInteger),
        Field::new("big", FieldType::BigInteger),
        Field::new("ratio", FieldType::Double),
        Field::new("when", FieldType::Date),
    ]
}

fn attrs(i: i64, name: Option<&str>) -> Attributes {
    let mut a = Attributes::new();
    a.insert("OBJECTID".into(), AttrValue::Int(i));
    a.insert("name".into(), name.map_or(AttrValue::Null, AttrValue::from));
    a.insert("count".into(), AttrValue::Int(-70_000 * i));
    a.insert("small".into(), AttrValue::Int(i * 3));
    a.insert("big".into(), AttrValue::Int(4_000_000_000 + i));
    a.insert(
        "ratio".into(),
        if i == 2 {
            AttrValue::Null
        } else {
            AttrValue::Float(0.125 * i as f64)
        },
    );
    a.insert(
        "when".into(),
        AttrValue::Int(1_714_521_600_000 + i * 86_400_000),
    );
    a
}

fn set(gt: GeometryType, geoms: Vec<Option<Geometry>>, z: bool, m: bool) -> FeatureSet {
    let names = [Some("Café"), Some("北京"), None, Some("plain")];
    FeatureSet {
        geometry_type: Some(gt),
        spatial_reference: Some(SpatialReference::from_wkid(4326)),
        has_z: z,
        has_m: m,
        fields: Some(fields()),
        features: geoms
            .into_iter()
            .enumerate()
            .map(|(i, g)| Feature {
                attributes: attrs(i as i64 + 1, names[i % 4]),
                geometry: g,
            })
            .collect(),
        ..Default::default()
    }
}

fn c(x: f64, y: f64) -> Coord {
    Coord::xy(x, y)
}

fn polygon_with_hole() -> Geometry {
    Geometry::Polygon(Polygon {
        rings: vec![
            vec![
                c(0.0, 0.0),
                c(0.0, 10.0),
                c(10.0, 10.0),
                c(10.0, 0.0),
                c(0.0, 0.0),
            ],
            vec![
                c(2.0, 2.0),
                c(4.0, 2.0),
                c(4.0, 4.0),
                c(2.0, 4.0),
                c(2.0, 2.0),
            ],
            vec![
                c(20.0, 20.0),
                c(20.0, 21.0),
                c(21.0, 21.0),
                c(21.0, 20.0),
                c(20.0, 20.0),
            ],
        ],
        ..Default::default()
    })
}

fn samples() -> Vec<(&'static str, FeatureSet)> {
    let pz = |x: f64, y: f64, z: f64| Coord::xyz(x, y, z);
    vec![
        (
            "points",
            set(
                GeometryType::Point,
                vec![
                    Some(Point::new(1.5, 2.5).into()),
                    Some(Point::new(-117.25, 34.0625).into()),
                    None,
                ],
                false,
                false,
            ),
        ),
        (
            "points-z",
            set(
                GeometryType::Point,
                vec![Some(Geometry::Point(Point {
                    coord: Some(pz(1.0, 2.0, 30.5)),
                    spatial_reference: None,
                }))],
                true,
                false,
            ),
        ),
        (
            "multipoints",
            set(
                GeometryType::Multipoint,
                vec![Some(
                    Multipoint {
                        points: vec![c(1.0, 1.0), c(2.0, 2.0)],
                        ..Default::default()
                    }
                    .into(),
                )],
                false,
                false,
            ),
        ),
        (
            "lines",
            set(
                GeometryType::Polyline,
                vec![
                    Some(
                        Polyline {
                            paths: vec![vec![c(0.0, 0.0), c(1.0, 1.0), c(2.0, 0.5)]],
                            ..Default::default()
                        }
                        .into(),
                    ),
                    Some(
                        Polyline {
                            paths: vec![
                                vec![c(0.0, 0.0), c(1.0, 1.0)],
                                vec![c(5.0, 5.0), c(6.0, 7.0)],
                            ],
                            ..Default::default()
                        }
                        .into(),
                    ),
                    None,
                ],
                false,
                false,
            ),
        ),
        (
            "lines-zm",
            set(
                GeometryType::Polyline,
                vec![Some(
                    Polyline {
                        has_z: true,
                        has_m: true,
                        paths: vec![vec![
                            Coord {
                                x: 0.0,
                                y: 0.0,
                                z: Some(1.0),
                                m: Some(0.0),
                            },
                            Coord {
                                x: 3.0,
                                y: 4.0,
                                z: Some(2.0),
                                m: Some(5.0),
                            },
                        ]],
                        ..Default::default()
                    }
                    .into(),
                )],
                true,
                true,
            ),
        ),
        (
            "polygons",
            set(
                GeometryType::Polygon,
                vec![Some(polygon_with_hole()), None],
                false,
                false,
            ),
        ),
    ]
}

/// Compares what a format can hold: geometry (as WKT, orientation-independent through
/// geozero's grouping) and attribute values.
#[track_caller]
fn check_same(name: &str, fmt: &str, a: &FeatureSet, b: &FeatureSet, exact_types: bool) {
    assert_eq!(
        a.features.len(),
        b.features.len(),
        "{name}.{fmt}: feature count"
    );
    assert_eq!(
        b.geometry_type, a.geometry_type,
        "{name}.{fmt}: geometry type"
    );
    assert_eq!(
        b.spatial_reference
            .as_ref()
            .and_then(SpatialReference::epsg),
        Some(4326),
        "{name}.{fmt}: spatial reference"
    );
    use geozero::ToWkt;
    let dims = geozero::CoordDimensions {
        z: a.has_z,
        m: a.has_m && !["geojson", "geojsonl", "csv"].contains(&fmt),
        t: false,
        tm: false,
    };
    for (i, (fa, fb)) in a.features.iter().zip(&b.features).enumerate() {
        let wa = fa.geometry.as_ref().map(|g| g.to_wkt_ndim(dims).unwrap());
        let wb = fb.geometry.as_ref().map(|g| g.to_wkt_ndim(dims).unwrap());
        assert_eq!(wb, wa, "{name}.{fmt}: geometry of feature {i}");
        for (k, va) in &fa.attributes {
            if k == "OBJECTID" && !exact_types {
                continue;
            }
            let vb = fb
                .attributes
                .iter()
                .find(|(kb, _)| kb.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
                .unwrap_or_else(|| {
                    panic!(
                        "{name}.{fmt}: field {k} missing in {:?}",
                        fb.attributes.keys().collect::<Vec<_>>()
                    )
                });
            let same = match (va, vb) {
                (AttrValue::Int(x), AttrValue::Float(y))
                | (AttrValue::Float(y), AttrValue::Int(x)) => *x as f64 == *y,
                (AttrValue::Int(x), AttrValue::String(s)) if !exact_types => s == &x.to_string(),
                (a, b) => a == b,
            };
            assert!(
                same,
                "{name}.{fmt}: feature {i} field {k}: {va:?} became {vb:?}"
            );
        }
    }
}

#[test]
fn every_format_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for (name, fs) in samples() {
        for ext in [
            "json", "geojson", "geojsonl", "fgb", "gpkg", "shp", "csv", "gdb",
        ] {
            if ext == "csv" && name.contains("-zm") {
                // CSV keeps M only as WKT, which geozero's WKT writer does not emit.
                continue;
            }
            let mut p = dir.path().join(format!("{name}.{ext}"));
            if ext == "gdb" {
                p = p.join("layer");
            }
            let fs = fs.clone();
            let report = save(&fs, &p).unwrap_or_else(|e| panic!("{name}.{ext}: {e}"));
            assert_eq!(report.features, fs.features.len());
            let back = if ext == "csv" {
                // CSV has no spatial reference: load into the original schema.
                let mut b = load(&p).unwrap_or_else(|e| panic!("{name}.{ext}: {e}"));
                b.spatial_reference = fs.spatial_reference.clone();
                b
            } else {
                load(&p).unwrap_or_else(|e| panic!("{name}.{ext}: {e}"))
            };
            let mut back = back;
            let mut expect = fs.clone();
            if ext == "fgb" || ext == "gdb" {
                // The packed R-tree stores features in spatial (Hilbert) order.
                back.features
                    .sort_by_key(|f| f.attributes["OBJECTID"].as_i64());
                // An empty geometry is stored as none.
                for f in &mut expect.features {
                    if f.geometry.as_ref().is_some_and(|g| g.is_empty()) {
                        f.geometry = None;
                    }
                }
            }
            if ext == "shp" {
                // DBF dates hold days only.
                for f in &mut expect.features {
                    if let Some(AttrValue::Int(ms)) = f.attributes.get_mut("when") {
                        *ms -= ms.rem_euclid(86_400_000);
                    }
                }
            }
            check_same(name, ext, &expect, &back, ext == "json");
            if ext == "json" {
                assert_eq!(back, fs, "{name}: Esri JSON is lossless");
            }
        }
    }
}

/// Numbers a `.dbf` holds only as exact text: integers beyond 2^53 and reals too long
/// for 15 decimals.
fn wide_numbers() -> FeatureSet {
    let ints = [
        Some(9_007_199_254_740_993),
        Some(i64::MAX),
        Some(-9_007_199_254_740_993),
        Some(i64::MIN),
        Some(42),
        None,
    ];
    let reals = [1e30, -123_456_789_012.5, 0.1, -1e-7, 5e20, 0.0];
    FeatureSet {
        geometry_type: Some(GeometryType::Point),
        spatial_reference: Some(SpatialReference::from_wkid(4326)),
        fields: Some(vec![
            Field::new("big", FieldType::BigInteger),
            Field::new("real", FieldType::Double),
        ]),
        features: ints
            .iter()
            .zip(reals)
            .enumerate()
            .map(|(i, (b, r))| Feature {
                geometry: Some(Geometry::Point(Point {
                    coord: Some(Coord::xy(i as f64, 0.0)),
                    ..Default::default()
                })),
                attributes: [
                    ("big".to_string(), b.map_or(AttrValue::Null, AttrValue::Int)),
                    ("real".to_string(), AttrValue::Float(r)),
                ]
                .into_iter()
                .collect(),
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn shapefile_numbers_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let fs = wide_numbers();
    let saved = dir.path().join("saved.shp");
    save(&fs, &saved).unwrap();
    // And streamed, from Esri JSON.
    let json = dir.path().join("in.json");
    save(&fs, &json).unwrap();
    let streamed = dir.path().join("streamed.shp");
    assert!(
        convert(&json, &streamed, &SaveOptions::default())
            .unwrap()
            .streamed
    );
    for p in [saved, streamed] {
        let back = load(&p).unwrap();
        for (a, b) in fs.features.iter().zip(&back.features) {
            assert_eq!(a.attributes["big"], b.attributes["big"], "{}", p.display());
            assert_eq!(
                a.attributes["real"].as_f64(),
                b.attributes["real"].as_f64(),
                "{}",
                p.display()
            );
        }
    }
    // What no DBF cell of its width holds is an error, not a cropped number.
    let mut bad = fs.clone();
    bad.fields = Some(vec![Field::new("big", FieldType::Integer)]);
    bad.features.truncate(1);
    let p = dir.path().join("bad.shp");
    let e = save(&bad, &p).unwrap_err().to_string();
    assert!(
        e.contains("feature 0, field big") && e.contains("9007199254740993"),
        "{e}"
    );
    assert!(!p.exists());
}

#[test]
fn saving_never_overwrites_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut fs) = samples().remove(0);
    fs.features.retain(|f| f.geometry.is_some());
    for ext in ["geojson", "fgb", "shp", "gpkg", "csv", "json"] {
        let p = dir.path().join(format!("x.{ext}"));
        save(&fs, &p).unwrap();
        let before = std::fs::read(&p).unwrap();
        let e = save(&fs, &p).unwrap_err();
        assert!(matches!(e, Error::Exists { .. }), "{ext}: {e}");
        assert_eq!(std::fs::read(&p).unwrap(), before, "{ext}: untouched");
        save_with(
            &fs,
            &p,
            &SaveOptions {
                overwrite: true,
                ..Default::default()
            },
        )
        .unwrap();
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".gp-part"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_failing_write_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A shapefile needs a geometry type: a plain table fails half way.
    let table = FeatureSet {
        fields: Some(fields()),
        features: vec![Feature {
            attributes: attrs(1, Some("a")),
            geometry: None,
        }],
        ..Default::default()
    };
    let e = save(&table, dir.path().join("t.shp")).unwrap_err();
    assert!(e.to_string().contains("geometry type"), "{e}");
    // A feature of the wrong type fails in the middle of a GeoPackage.
    let mut bad = samples().remove(0).1;
    bad.features[1].geometry = Some(polygon_with_hole());
    let e = save(&bad, dir.path().join("bad.shp")).unwrap_err();
    assert!(e.to_string().contains("feature 1"), "{e}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn geopackage_layers() {
    let dir = tempfile::tempdir().unwrap();
    let all = samples();
    let base = dir.path().join("base.gpkg");
    save(&all[0].1, base.join("towers")).unwrap();
    save(&all[5].1, base.join("zones")).unwrap();
    assert_eq!(layers(&base).unwrap(), vec!["towers", "zones"]);
    let e = load(&base).unwrap_err();
    assert!(e.to_string().contains("towers, zones"), "{e}");
    assert_eq!(
        load(base.join("zones")).unwrap().geometry_type,
        Some(GeometryType::Polygon)
    );
    let e = save(&all[0].1, base.join("towers")).unwrap_err();
    assert!(matches!(e, Error::Exists { .. }), "{e}");
    save_with(
        &all[3].1,
        base.join("towers"),
        &SaveOptions {
            overwrite: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        load(base.join("towers")).unwrap().geometry_type,
        Some(GeometryType::Polyline)
    );
    let e = load(base.join("nope")).unwrap_err();
    assert!(e.to_string().contains("no layer `nope`"), "{e}");
}

#[test]
fn shapefile_names_are_truncated_without_collisions() {
    let dir = tempfile::tempdir().unwrap();
    let mut fs = samples().remove(0).1;
    fs.fields = Some(vec![
        Field::new("population_2020", FieldType::Integer),
        Field::new("population_2021", FieldType::Integer),
    ]);
    for (i, f) in fs.features.iter_mut().enumerate() {
        f.attributes = Attributes::new();
        f.attributes
            .insert("population_2020".into(), AttrValue::Int(i as i64));
        f.attributes
            .insert("population_2021".into(), AttrValue::Int(10 + i as i64));
    }
    let r = save(&fs, dir.path().join("pop.shp")).unwrap();
    assert_eq!(
        r.renamed_fields,
        vec![
            ("population_2020".into(), "population".into()),
            ("population_2021".into(), "populati_1".into())
        ]
    );
    let back = load(dir.path().join("pop.shp")).unwrap();
    assert_eq!(
        back.features[2].attributes["populati_1"],
        AttrValue::Int(12)
    );
}

#[test]
fn csv_with_xy_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pts.csv");
    std::fs::write(
        &p,
        "name,lon,lat,pop\nA,-117.5,34.25,12\nB,-118,35,\n\"C, the third\",-119,36,7\n",
    )
    .unwrap();
    let fs = load(&p).unwrap();
    assert_eq!(fs.geometry_type, Some(GeometryType::Point));
    assert_eq!(
        fs.spatial_reference
            .as_ref()
            .and_then(SpatialReference::epsg),
        Some(4326)
    );
    assert_eq!(fs.field("pop").unwrap().field_type, FieldType::Integer);
    assert_eq!(fs.features[1].attributes["pop"], AttrValue::Null);
    assert_eq!(
        fs.features[2].attributes["name"].as_str(),
        Some("C, the third")
    );
    assert_eq!(
        fs.features[0].geometry,
        Some(Point::new(-117.5, 34.25).into())
    );
    std::fs::write(&p, "name,lon,lat\nA,east,34\n").unwrap();
    let e = load(&p).unwrap_err();
    assert!(
        e.to_string().contains("line 2") && e.to_string().contains("east"),
        "{e}"
    );
}

#[test]
fn unknown_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.xyz");
    std::fs::write(&p, "hello").unwrap();
    assert!(matches!(load(&p), Err(Error::UnknownFormat { .. })));
    assert!(matches!(
        load(dir.path().join("missing.geojson")),
        Err(Error::Io { .. })
    ));
    // A `.gdb` folder that is not a geodatabase.
    std::fs::create_dir(dir.path().join("empty.gdb")).unwrap();
    let e = load(dir.path().join("empty.gdb/layer")).unwrap_err();
    assert!(e.to_string().contains("not a File Geodatabase"), "{e}");
    let e = save(&samples()[0].1, dir.path().join("empty.gdb/layer")).unwrap_err();
    assert!(e.to_string().contains("not a File Geodatabase"), "{e}");
}

#[test]
fn shapefile_text_longer_than_dbf_allows_is_refused_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut fs = samples().remove(0).1;
    fs.features[0]
        .attributes
        .insert("name".into(), AttrValue::String("é".repeat(200)));
    let e = save(&fs, dir.path().join("long.shp"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("feature 0, field name") && e.contains("254 bytes"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}

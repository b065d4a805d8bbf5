//! Property tests: geometries and GP values survive a JSON round trip unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

use gp_model::geometry::Ellipse;
use gp_model::*;
use proptest::prelude::*;

fn num() -> impl Strategy<Value = f64> {
    prop_oneof![-1.0e9..1.0e9f64, -180.0..180.0f64, Just(0.0), Just(-0.0)]
}

fn coord(d: Dims) -> impl Strategy<Value = Coord> {
    (num(), num(), num(), proptest::option::of(num())).prop_map(move |(x, y, z, m)| Coord {
        x,
        y,
        z: d.has_z.then_some(z),
        // hasM allows null M values.
        m: if d.has_m { m } else { None },
    })
}

fn dims() -> impl Strategy<Value = Dims> {
    (any::<bool>(), any::<bool>()).prop_map(|(has_z, has_m)| Dims { has_z, has_m })
}

fn sr() -> impl Strategy<Value = Option<SpatialReference>> {
    proptest::option::of(prop_oneof![
        Just(SpatialReference::from_wkid(4326)),
        Just(SpatialReference::from_wkid(102100)),
        (32601..32660i32).prop_map(SpatialReference::from_wkid),
        Just(SpatialReference::from_wkt("PROJCS[\"custom\"]")),
    ])
}

fn sr_box() -> impl Strategy<Value = Option<Box<SpatialReference>>> {
    sr().prop_map(|o| o.map(Box::new))
}

fn paths(d: Dims) -> impl Strategy<Value = Vec<Vec<Coord>>> {
    proptest::collection::vec(proptest::collection::vec(coord(d), 0..6), 0..4)
}

fn curve_path(d: Dims) -> impl Strategy<Value = Vec<CurveElement>> {
    let el = prop_oneof![
        coord(d).prop_map(CurveElement::Point),
        (coord(d), coord(d))
            .prop_map(|(end, interior)| CurveElement::CircularArc { end, interior }),
        (
            coord(d),
            coord(d),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of((num(), 0.1..1e6f64, 0.01..1.0f64))
        )
            .prop_map(|(end, center, minor, clockwise, e)| CurveElement::Arc {
                end,
                center,
                minor,
                clockwise,
                ellipse: e.map(|(rotation, axis, ratio)| Ellipse {
                    rotation,
                    axis,
                    ratio
                }),
            }),
        (coord(d), coord(d), coord(d)).prop_map(|(end, control1, control2)| CurveElement::Bezier {
            end,
            control1,
            control2
        }),
    ];
    (coord(d), proptest::collection::vec(el.boxed(), 0..4)).prop_map(|(start, rest)| {
        let mut p = vec![CurveElement::Point(start)];
        p.extend(rest);
        p
    })
}

fn geometry() -> impl Strategy<Value = Geometry> {
    dims()
        .prop_flat_map(|d| {
            prop_oneof![
                (
                    proptest::option::of((
                        num(),
                        num(),
                        proptest::option::of(num()),
                        proptest::option::of(num())
                    )),
                    sr_box()
                )
                    .prop_map(|(c, spatial_reference)| Geometry::Point(Point {
                        coord: c.map(|(x, y, z, m)| Coord { x, y, z, m }),
                        spatial_reference,
                    }))
                    .boxed(),
                (proptest::collection::vec(coord(d), 0..8), sr_box())
                    .prop_map(move |(points, spatial_reference)| {
                        Geometry::Multipoint(Multipoint {
                            has_z: d.has_z,
                            has_m: d.has_m,
                            points,
                            spatial_reference,
                        })
                    })
                    .boxed(),
                (
                    paths(d),
                    proptest::option::of(proptest::collection::vec(curve_path(d), 1..3)),
                    sr_box()
                )
                    .prop_map(
                        move |(paths, curve_paths, spatial_reference)| Geometry::Polyline(
                            Polyline {
                                has_z: d.has_z,
                                has_m: d.has_m,
                                paths,
                                curve_paths,
                                spatial_reference,
                            }
                        )
                    )
                    .boxed(),
                (
                    paths(d),
                    proptest::option::of(proptest::collection::vec(curve_path(d), 1..3)),
                    sr_box()
                )
                    .prop_map(
                        move |(rings, curve_rings, spatial_reference)| Geometry::Polygon(Polygon {
                            has_z: d.has_z,
                            has_m: d.has_m,
                            rings,
                            curve_rings,
                            spatial_reference,
                        })
                    )
                    .boxed(),
                (
                    num(),
                    num(),
                    num(),
                    num(),
                    proptest::option::of((num(), num())),
                    sr_box()
                )
                    .prop_map(|(a, b, c, e, z, spatial_reference)| {
                        let mut env = Envelope::new(a, b, c, e);
                        if let Some((z0, z1)) = z {
                            env.zmin = Some(z0);
                            env.zmax = Some(z1);
                        }
                        env.spatial_reference = spatial_reference;
                        Geometry::Envelope(env)
                    })
                    .boxed(),
            ]
        })
        .boxed()
}

fn attr() -> impl Strategy<Value = AttrValue> {
    prop_oneof![
        Just(AttrValue::Null),
        any::<bool>().prop_map(AttrValue::Bool),
        any::<i64>().prop_map(AttrValue::Int),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(AttrValue::UInt),
        num().prop_map(AttrValue::Float),
        ".{0,12}".prop_map(AttrValue::String),
    ]
}

fn feature_set() -> impl Strategy<Value = FeatureSet> {
    let feature = (
        proptest::collection::vec(("[A-Za-z_][A-Za-z0-9_]{0,8}", attr()), 0..4),
        proptest::option::of((num(), num())),
    )
        .prop_map(|(attrs, pt)| Feature {
            attributes: attrs.into_iter().collect(),
            geometry: pt.map(|(x, y)| Geometry::Point(Point::new(x, y))),
        });
    (
        proptest::collection::vec(feature, 0..5),
        sr(),
        any::<bool>(),
    )
        .prop_map(|(features, spatial_reference, etl)| FeatureSet {
            geometry_type: Some(GeometryType::Point),
            spatial_reference,
            fields: Some(vec![
                Field::new("OBJECTID", FieldType::Oid),
                Field::new("Name", FieldType::String).with_length(50),
            ]),
            features,
            exceeded_transfer_limit: etl.then_some(true),
            ..Default::default()
        })
}

fn linear_kind() -> impl Strategy<Value = LinearUnitKind> {
    proptest::sample::select(LinearUnitKind::KNOWN.to_vec())
}

fn scalar() -> impl Strategy<Value = (DataType, GpValue)> {
    prop_oneof![
        ".{0,20}".prop_map(|s| (DataType::String, GpValue::String(s))),
        any::<i64>().prop_map(|i| (DataType::Long, GpValue::Long(i))),
        num().prop_map(|f| (DataType::Double, GpValue::Double(f))),
        any::<bool>().prop_map(|b| (DataType::Boolean, GpValue::Boolean(b))),
        (-62_135_596_800_000i64..253_402_300_799_000).prop_map(|ms| (
            DataType::Date,
            GpValue::Date(chrono::DateTime::from_timestamp_millis(ms).unwrap())
        )),
        (num(), linear_kind()).prop_map(|(d, k)| (
            DataType::LinearUnit,
            GpValue::LinearUnit(LinearUnit::new(d, k))
        )),
        (
            num(),
            proptest::sample::select(ArealUnitKind::KNOWN.to_vec())
        )
            .prop_map(|(area, units)| (
                DataType::ArealUnit,
                GpValue::ArealUnit(ArealUnit { area, units })
            )),
        (
            num(),
            proptest::sample::select(TimeUnitKind::KNOWN.to_vec())
        )
            .prop_map(|(time, units)| (
                DataType::TimeUnit,
                GpValue::TimeUnit(TimeUnit { time, units })
            )),
    ]
}

fn gp_value() -> impl Strategy<Value = (DataType, GpValue)> {
    prop_oneof![
        4 => scalar(),
        1 => feature_set().prop_map(|fs| (DataType::FeatureRecordSetLayer, GpValue::FeatureSet(fs))),
        1 => "https://[a-z]{1,8}\\.example/[a-z]{1,8}\\.tif".prop_map(|u| (
            DataType::RasterDataLayer,
            GpValue::DataRef(DataRef { url: Some(u), format: Some("tif".into()), ..Default::default() })
        )),
        1 => "i[0-9a-f]{8}".prop_map(|id| (DataType::DataFile, GpValue::DataRef(DataRef::item(id.as_str())))),
        1 => sr().prop_filter_map("sr", |s| s).prop_map(|s| (DataType::SpatialReference, GpValue::SpatialReference(s))),
        1 => (num(), num(), num(), num()).prop_map(|(a, b, c, d)| (DataType::Extent, GpValue::Extent(Envelope::new(a, b, c, d)))),
        1 => ("[A-Za-z]{1,10}", proptest::sample::select(FieldType::KNOWN.to_vec()))
            .prop_map(|(n, t)| (DataType::Field, GpValue::Field(Field::new(n, t)))),
        1 => proptest::collection::vec(scalar(), 0..4).prop_flat_map(|v| {
            // A multivalue holds one type: use the first item's type for all.
            let dt = v.first().map(|(d, _)| d.clone()).unwrap_or(DataType::String);
            let items: Vec<GpValue> = v.into_iter().filter(|(d, _)| *d == dt).map(|(_, x)| x).collect();
            Just((DataType::MultiValue(Box::new(dt)), GpValue::MultiValue(items)))
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn geometry_round_trips(g in geometry()) {
        let text = serde_json::to_string(&g).unwrap();
        let back = Geometry::from_json(&text).unwrap();
        prop_assert_eq!(&back, &g, "{}", text);
    }

    #[test]
    fn densify_ends_at_every_segment_end(p in dims().prop_flat_map(curve_path)) {
        let pts = gp_model::geometry::densify_path(&p, gp_model::geometry::DEFAULT_DENSIFY_ANGLE);
        prop_assert!(pts.len() >= p.len());
        prop_assert_eq!(pts.last().copied(), p.last().map(CurveElement::end));
        prop_assert!(pts.iter().all(|c| c.x.is_finite() && c.y.is_finite()));
    }

    #[test]
    fn feature_set_round_trips(fs in feature_set()) {
        let text = fs.to_json();
        prop_assert_eq!(&FeatureSet::from_json(&text).unwrap(), &fs);
    }

    #[test]
    fn gp_value_round_trips_through_json((dt, v) in gp_value()) {
        let text = serde_json::to_string(&v).unwrap();
        let back = GpValue::decode(&dt, &text).unwrap();
        prop_assert_eq!(&back, &v, "{} {}", dt, text);
    }

    #[test]
    fn scalar_form_text_round_trips((dt, v) in scalar()) {
        prop_assume!(!matches!(&v, GpValue::String(s) if s.trim().is_empty()));
        let form = v.to_form_text();
        let back = if matches!(dt, DataType::String) {
            GpValue::String(form.clone())
        } else {
            GpValue::parse_text(&dt, &form).unwrap()
        };
        prop_assert_eq!(&back, &v, "{} {}", dt, form);
    }

    #[test]
    fn linear_unit_display_parses_back(d in num(), k in linear_kind()) {
        let u = LinearUnit::new(d, k);
        prop_assert_eq!(u.to_string().parse::<LinearUnit>().unwrap(), u);
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,64}") {
        let _ = FeatureSet::from_json(&s);
        let _ = Geometry::from_json(&s);
        let _ = s.parse::<LinearUnit>();
        let _ = GpValue::parse_text(&DataType::Date, &s);
        let _ = GpValue::decode(&DataType::FeatureRecordSetLayer, &s);
        let _ = ServerError::check(s.as_bytes());
    }
}

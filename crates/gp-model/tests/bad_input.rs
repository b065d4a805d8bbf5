//! Bad input gives an error that says what and where, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

use gp_model::*;

/// Parses `input` as `T` and checks the error mentions every `needles` entry.
#[track_caller]
fn check<T: serde::de::DeserializeOwned + std::fmt::Debug>(input: &str, needles: &[&str]) {
    let err = match from_json_str::<T>("test", input) {
        Ok(v) => panic!("expected an error for {input}, got {v:?}"),
        Err(e) => e.to_string(),
    };
    for n in needles {
        assert!(err.contains(n), "error `{err}` does not mention `{n}`");
    }
}

#[test]
fn truncated_json() {
    check::<FeatureSet>(r#"{"features": [{"geometry": {"x": 1"#, &["EOF"]);
    check::<JobInfo>(r#"{"jobId": "j1", "jobSta"#, &["EOF"]);
    check::<TaskInfo>("", &["EOF"]);
}

#[test]
fn wrong_types_name_the_path() {
    check::<FeatureSet>(r#"{"features": "nope"}"#, &["features"]);
    check::<JobInfo>(r#"{"jobId": 5, "jobStatus": "esriJobNew"}"#, &["jobId"]);
    check::<TaskInfo>(
        r#"{"name": "t", "parameters": [{"name": "a", "dataType": "GPString", "direction": 3}]}"#,
        &["parameters[0].direction"],
    );
    check::<FeatureSet>(
        r#"{"features": [{"attributes": {}, "geometry": {"points": [[1, "a"]]}}]}"#,
        &["features[0].geometry.points[0]"],
    );
    check::<ExecuteResponse>(
        r#"{"results": [{"paramName": "n", "dataType": "GPLong", "value": "twelve"}]}"#,
        &["GPLong", "twelve", "results[0]"],
    );
}

#[test]
fn trailing_garbage_is_an_error() {
    check::<JobInfo>(
        r#"{"jobId": "j1", "jobStatus": "esriJobNew"} x"#,
        &["trailing"],
    );
}

#[test]
fn three_values_without_z_or_m_is_ambiguous() {
    check::<FeatureSet>(
        r#"{"geometryType": "esriGeometryPolyline",
            "features": [{"geometry": {"paths": [[[0, 0], [1, 1, 5]]]}}]}"#,
        &["features[0].geometry.paths[0][1]", "neither hasZ nor hasM"],
    );
    check::<Geometry>(r#"{"points": [[1, 2, 3]]}"#, &["points[0]", "ambiguous"]);
}

#[test]
fn coordinate_arity() {
    check::<Geometry>(r#"{"paths": [[[1]]]}"#, &["at least 2"]);
    check::<Geometry>(r#"{"paths": [[[1, 2, 3, 4, 5]]]}"#, &["at most 4"]);
    check::<Geometry>(r#"{"rings": [[[null, 2]]], "hasZ": true}"#, &["x and y"]);
}

#[test]
fn non_finite_coordinates() {
    // JSON has no NaN or Infinity literal; numbers beyond f64 are refused.
    check::<Geometry>(r#"{"x": NaN, "y": 1}"#, &["line 1"]);
    check::<Geometry>(r#"{"x": 1e999, "y": 1}"#, &["out of range"]);
    check::<Geometry>(r#"{"points": [[1e999, 1]]}"#, &["out of range"]);
    // Geometries built in code are checked by validate().
    let g = Geometry::Point(Point::new(f64::NAN, 1.0));
    assert!(g.validate().unwrap_err().to_string().contains("non-finite"));
    let v = GpValue::Double(f64::INFINITY);
    assert!(v.validate().is_err());
}

#[test]
fn not_a_geometry() {
    check::<Geometry>(r#"{"foo": 1}"#, &["none of the geometry keys"]);
    check::<Geometry>(
        r#"{"curvePaths": [[[0, 0], {"q": [[1, 1]]}]]}"#,
        &["unknown curve segment"],
    );
    check::<Geometry>(
        r#"{"curvePaths": [[{"c": [[1, 1], [2, 2]]}]]}"#,
        &["must start with"],
    );
    check::<Geometry>(
        r#"{"curvePaths": [[[0, 0], {"a": [[1, 1]]}]]}"#,
        &["needs 4 items"],
    );
    check::<Envelope>(r#"{"x": 1, "y": 2}"#, &["expected an envelope"]);
}

#[test]
fn deep_nesting_is_refused_without_overflow() {
    let deep = format!(
        r#"{{"features": [{{"attributes": {{"a": {}1{}}}}}]}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    check::<FeatureSet>(&deep, &["recursion limit"]);
}

#[test]
fn unknown_vocabulary_is_kept_not_refused() {
    let p: ParameterInfo = from_json_str(
        "p",
        r#"{"name": "x", "dataType": "GPBogusType", "direction": "esriGPParameterDirectionInput"}"#,
    )
    .unwrap();
    assert_eq!(p.data_type, DataType::Unknown("GPBogusType".into()));
    let j: JobInfo = from_json_str("j", r#"{"jobId": "j", "jobStatus": "esriJobPaused"}"#).unwrap();
    assert_eq!(j.job_status, JobStatus::Unknown("esriJobPaused".into()));
    assert!(
        !j.job_status.is_terminal(),
        "an unknown status is not terminal"
    );
    assert_eq!(j.job_status.code(), None);
}

#[track_caller]
fn check_unit<T: std::str::FromStr<Err = Error> + std::fmt::Debug>(input: &str, needles: &[&str]) {
    let err = input.parse::<T>().expect_err(input).to_string();
    for n in needles {
        assert!(err.contains(n), "error `{err}` does not mention `{n}`");
    }
}

#[test]
fn bad_unit_strings_name_the_accepted_units() {
    check_unit::<LinearUnit>(
        "5 furlongs",
        &["furlongs", "Feet", "Meters", "NauticalMiles"],
    );
    check_unit::<LinearUnit>("feet", &["does not start with a number"]);
    check_unit::<LinearUnit>("5", &["unit is missing"]);
    check_unit::<LinearUnit>("", &["does not start with a number"]);
    check_unit::<LinearUnit>("NaN feet", &["does not start with a number"]);
    check_unit::<LinearUnit>("1e999 feet", &["not finite"]);
    check_unit::<ArealUnit>("2 SquareParsecs", &["SquareKilometers", "Hectares"]);
    check_unit::<TimeUnit>("3 fortnights", &["Weeks"]);
}

#[test]
fn bad_text_values() {
    let cases: &[(DataType, &str, &str)] = &[
        (DataType::Long, "12.5", "not a whole number"),
        (DataType::Double, "inf", "not a finite number"),
        (DataType::Boolean, "maybe", "not a boolean"),
        (DataType::Date, "yesterday", "not a date"),
        (
            DataType::FeatureRecordSetLayer,
            "roads.shp",
            "give a JSON value",
        ),
        (
            DataType::MultiValue(Box::new(DataType::Long)),
            "1;x;3",
            "not a whole number",
        ),
    ];
    for (dt, text, needle) in cases {
        let err = GpValue::parse_text(dt, text).expect_err(text).to_string();
        assert!(err.contains(needle), "{dt} {text}: `{err}`");
        assert!(err.contains(&dt.to_string()), "{err} should name {dt}");
    }
}

#[test]
fn bad_result_values() {
    let cases: &[(DataType, &str, &str)] = &[
        (
            DataType::RasterDataLayer,
            r#"{"format": "tif"}"#,
            "expected {\"url\"",
        ),
        (
            DataType::FeatureRecordSetLayer,
            "[1, 2]",
            "expected a JSON object",
        ),
        (
            DataType::MultiValue(Box::new(DataType::Double)),
            r#"{"a": 1}"#,
            "JSON array",
        ),
        (
            DataType::MultiValue(Box::new(DataType::Double)),
            r#"[1, "x"]"#,
            "item [1]",
        ),
        (DataType::Date, "1e300", "epoch milliseconds"),
        (
            DataType::Date,
            "9000000000000000000",
            "outside the supported date range",
        ),
        (DataType::LinearUnit, r#"{"units": "esriFeet"}"#, "distance"),
    ];
    for (dt, json, needle) in cases {
        let err = GpValue::decode(dt, json).expect_err(json).to_string();
        assert!(err.contains(needle), "{dt} {json}: `{err}`");
    }
}

#[test]
fn status_codes_out_of_range() {
    let e = JobStatus::from_code(11).unwrap_err().to_string();
    assert!(e.contains("0 (New) to 10 (Deleted)"), "{e}");
}

#[test]
fn non_envelopes_are_not_errors() {
    for body in [
        &b""[..],
        b"<html>oops</html>",
        b"[{\"error\": 1}]",
        b"{\"error\": \"text\"}",
        b"{\"jobId\": \"j\"}",
        b"{trunc",
    ] {
        assert!(
            ServerError::check(body).is_none(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let admin = br#"{"status": "error", "messages": ["Unable to delete job"], "code": 400}"#;
    let e = ServerError::check(admin).unwrap();
    assert_eq!((e.code, e.message.as_str()), (400, "Unable to delete job"));
}

#[test]
fn set_level_flags_after_the_features_still_apply() {
    let fs = FeatureSet::from_json(
        r#"{"features": [{"geometry": {"paths": [[[0, 0, 5], [1, 1, 6]]]}},
                         {"geometry": {"paths": [[[2, 2], [3, 3]]]}},
                         {"geometry": {"hasM": true, "points": [[1, 2, 7]]}}],
            "geometryType": "esriGeometryPolyline", "hasZ": true}"#,
    )
    .unwrap();
    let Some(Geometry::Polyline(a)) = &fs.features[0].geometry else {
        panic!()
    };
    assert_eq!(a.paths[0][1].z, Some(6.0));
    let Some(Geometry::Polyline(b)) = &fs.features[1].geometry else {
        panic!()
    };
    assert!(b.has_z, "a 2D-looking geometry inherits the set's hasZ");
    let Some(Geometry::Multipoint(c)) = &fs.features[2].geometry else {
        panic!()
    };
    // Flags inherit one by one: own hasM, the set's hasZ; 3 values are then XYZ.
    assert_eq!((c.points[0].z, c.has_m), (Some(7.0), true));
    // Written back and read again: the same value.
    assert_eq!(FeatureSet::from_json(&fs.to_json()).unwrap(), fs);
}

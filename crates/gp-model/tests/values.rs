//! GP values: form-field encoding, decoding by data type, units, data types, statuses.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

use gp_model::*;

#[track_caller]
fn check_form(dt: DataType, text: &str, expected_form: &str) {
    let v = GpValue::parse_text(&dt, text).unwrap_or_else(|e| panic!("{dt} {text}: {e}"));
    assert_eq!(v.to_form_text(), expected_form, "{dt} {text}");
}

#[test]
fn form_text_of_every_kind() {
    check_form(DataType::String, "Main St", "Main St");
    check_form(DataType::SqlExpression, "\"POP\" > 5", "\"POP\" > 5");
    check_form(DataType::StringHidden, "s3cret", "s3cret");
    check_form(DataType::Long, "-42", "-42");
    check_form(DataType::Long, "9007199254740993", "9007199254740993");
    check_form(DataType::Double, "2.5", "2.5");
    check_form(DataType::Double, "1e3", "1000.0");
    check_form(DataType::Boolean, "True", "true");
    check_form(DataType::Boolean, "no", "false");
    check_form(DataType::Date, "2024-05-01", "1714521600000");
    check_form(DataType::Date, "2024-05-01T12:30:00", "1714566600000");
    check_form(DataType::Date, "2024-05-01T12:30:00+02:00", "1714559400000");
    check_form(DataType::Date, "1714521600000", "1714521600000");
    check_form(
        DataType::LinearUnit,
        "5 feet",
        r#"{"distance":5.0,"units":"esriFeet"}"#,
    );
    check_form(
        DataType::LinearUnit,
        "5 Feet",
        r#"{"distance":5.0,"units":"esriFeet"}"#,
    );
    check_form(
        DataType::LinearUnit,
        "5.5 esriFeet",
        r#"{"distance":5.5,"units":"esriFeet"}"#,
    );
    check_form(
        DataType::LinearUnit,
        "100 Meters",
        r#"{"distance":100.0,"units":"esriMeters"}"#,
    );
    check_form(
        DataType::LinearUnit,
        "3km",
        r#"{"distance":3.0,"units":"esriKilometers"}"#,
    );
    check_form(
        DataType::LinearUnit,
        "1 Nautical Miles",
        r#"{"distance":1.0,"units":"esriNauticalMiles"}"#,
    );
    check_form(
        DataType::LinearUnit,
        "2 Decimal Degrees",
        r#"{"distance":2.0,"units":"esriDecimalDegrees"}"#,
    );
    check_form(
        DataType::LinearUnit,
        "-1.5e2 FeetInt",
        r#"{"distance":-150.0,"units":"esriIntFeet"}"#,
    );
    check_form(
        DataType::LinearUnit,
        r#"{"distance": 7, "units": "esriMiles"}"#,
        r#"{"distance":7.0,"units":"esriMiles"}"#,
    );
    check_form(
        DataType::ArealUnit,
        "2 SquareKilometers",
        r#"{"area":2.0,"units":"esriSquareKilometers"}"#,
    );
    check_form(
        DataType::ArealUnit,
        "3 hectares",
        r#"{"area":3.0,"units":"esriHectares"}"#,
    );
    check_form(
        DataType::ArealUnit,
        "4 sq ft",
        r#"{"area":4.0,"units":"esriSquareFeet"}"#,
    );
    check_form(
        DataType::ArealUnit,
        "1 AcresUS",
        r#"{"area":1.0,"units":"esriAcresUS"}"#,
    );
    check_form(
        DataType::TimeUnit,
        "1 Week",
        r#"{"time":1.0,"units":"esriTimeUnitsWeeks"}"#,
    );
    check_form(
        DataType::MultiValue(Box::new(DataType::String)),
        "Parcels;Street Lights",
        r#"["Parcels","Street Lights"]"#,
    );
    check_form(
        DataType::MultiValue(Box::new(DataType::Long)),
        "[1, 2]",
        "[1,2]",
    );
    check_form(
        DataType::MultiValue(Box::new(DataType::LinearUnit)),
        "1 miles;2 meters",
        r#"[{"distance":1.0,"units":"esriMiles"},{"distance":2.0,"units":"esriMeters"}]"#,
    );
    check_form(
        DataType::SpatialReference,
        "102100",
        r#"{"wkid":102100,"latestWkid":3857}"#,
    );
    check_form(
        DataType::RasterDataLayer,
        "https://h/x.tif",
        r#"{"url":"https://h/x.tif"}"#,
    );
    check_form(
        DataType::DataFile,
        r#"{"itemID": "i1234"}"#,
        r#"{"itemID":"i1234"}"#,
    );
    check_form(
        DataType::Extent,
        r#"{"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4, "spatial_reference": {"wkid": 4326}}"#,
        r#"{"xmin":1.0,"ymin":2.0,"xmax":3.0,"ymax":4.0,"spatialReference":{"wkid":4326}}"#,
    );
    check_form(
        DataType::Field,
        r#"{"name": "POP", "type": "esriFieldTypeInteger"}"#,
        r#"{"name":"POP","type":"esriFieldTypeInteger"}"#,
    );
    check_form(
        DataType::FeatureRecordSetLayer,
        r#"{"features": [{"geometry": {"x": 1, "y": 2}, "attributes": {"id": 1}}]}"#,
        r#"{"features":[{"attributes":{"id":1},"geometry":{"x":1.0,"y":2.0}}]}"#,
    );
    check_form(
        DataType::FeatureRecordSetLayer,
        r#"{"url": "https://h/arcgis/rest/services/X/FeatureServer/0", "filter": "POP > 5"}"#,
        r#"{"url":"https://h/arcgis/rest/services/X/FeatureServer/0","filter":"POP > 5"}"#,
    );
    check_form(
        DataType::ValueTable,
        r#"[[1, "a"], [2, ""]]"#,
        r#"[[1,"a"],[2,""]]"#,
    );
    check_form(
        DataType::ValueTable,
        r#"[{"n": 1, "s": "a"}]"#,
        r#"[{"n":1,"s":"a"}]"#,
    );
    check_form(DataType::String, "", "");
}

#[test]
fn units_convert_to_si() {
    let ft: LinearUnit = "5 feet".parse().unwrap();
    assert!((ft.to_meters().unwrap() - 1.524_003_048).abs() < 1e-9);
    let ift: LinearUnit = "5 IntFeet".parse().unwrap();
    assert_eq!(ift.to_meters(), Some(1.524));
    let nm: LinearUnit = "1 nmi".parse().unwrap();
    assert_eq!(nm.to_meters(), Some(1852.0));
    assert_eq!("1 dd".parse::<LinearUnit>().unwrap().to_meters(), None);
    let km2: ArealUnit = "2 SquareKilometers".parse().unwrap();
    assert_eq!(km2.to_square_meters(), Some(2e6));
    let ac: ArealUnit = "1 acre".parse().unwrap();
    assert!((ac.to_square_meters().unwrap() - 4_046.856_422_4).abs() < 1e-6);
    // Missing units in JSON mean meters.
    let v = GpValue::decode(&DataType::LinearUnit, r#"{"distance": 3}"#).unwrap();
    assert_eq!(
        v,
        GpValue::LinearUnit(LinearUnit::new(3.0, LinearUnitKind::Meters))
    );
    // Areal units also come as text from 11.3+ servers.
    let a = GpValue::decode(&DataType::ArealUnit, r#""3 SquareKilometers""#).unwrap();
    assert_eq!(
        a.to_form_text(),
        r#"{"area":3.0,"units":"esriSquareKilometers"}"#
    );
}

#[test]
fn data_types_parse_and_print() {
    let cases = [
        ("GPString", DataType::String, "GPString"),
        ("gplong", DataType::Long, "GPLong"),
        ("GPField", DataType::Field, "Field"),
        ("Field", DataType::Field, "Field"),
        (
            "GPCoordinateSystem",
            DataType::SpatialReference,
            "GPSpatialReference",
        ),
        ("GPEnvelope", DataType::Extent, "GPExtent"),
        ("GPStringHidden", DataType::StringHidden, "GPStringHidden"),
        (
            "GPSQLExpression",
            DataType::SqlExpression,
            "GPSQLExpression",
        ),
        ("GPRasterData", DataType::RasterData, "GPRasterData"),
        ("GPArealUnit", DataType::ArealUnit, "GPArealUnit"),
        ("GPTimeUnit", DataType::TimeUnit, "GPTimeUnit"),
        ("GPValueTable", DataType::ValueTable, "GPValueTable"),
        ("GPComposite", DataType::Composite, "GPComposite"),
        (
            "GPMultiValue:GPMultiValue:GPDate",
            DataType::MultiValue(Box::new(DataType::MultiValue(Box::new(DataType::Date)))),
            "GPMultiValue:GPMultiValue:GPDate",
        ),
        (
            "GPNewThing",
            DataType::Unknown("GPNewThing".into()),
            "GPNewThing",
        ),
    ];
    for (text, dt, canonical) in cases {
        assert_eq!(DataType::parse(text), dt, "{text}");
        assert_eq!(dt.to_string(), canonical);
    }
}

#[test]
fn job_status_codes_both_ways() {
    for code in 0..=10u8 {
        let s = JobStatus::from_code(code).unwrap();
        assert_eq!(s.code(), Some(code));
        assert_eq!(JobStatus::parse_lenient(s.as_str()), s);
    }
    let terminal: Vec<_> = JobStatus::KNOWN
        .iter()
        .filter(|s| s.is_terminal())
        .map(|s| s.code().unwrap())
        .collect();
    assert_eq!(terminal, vec![4, 5, 6, 8, 10]);
    assert_eq!(JobStatus::TimedOut.label(), "Timed out");
    assert_eq!(
        JobStatus::parse_lenient("ESRIJOBSUCCEEDED"),
        JobStatus::Succeeded
    );
}

#[test]
fn message_severity_like_arcpy() {
    let msgs: Vec<JobMessage> = from_json_str(
        "messages",
        r#"[{"type": "esriJobMessageTypeInformative", "description": "Start"},
            {"type": "esriJobMessageTypeWarning", "description": "careful"},
            {"type": "esriJobMessageTypeProcessStart", "description": "p"},
            {"type": "esriJobMessageTypeSomethingNew", "description": "?"}]"#,
    )
    .unwrap();
    assert_eq!(max_severity(&msgs), Severity::Warning);
    assert_eq!(max_severity(&msgs).code(), 1);
    assert_eq!(MessageType::Abort.severity(), Severity::Error);
    assert_eq!(
        msgs[3].message_type,
        MessageType::Unknown("esriJobMessageTypeSomethingNew".into())
    );
    assert_eq!(max_severity(&[]), Severity::Informative);
}

#[test]
fn composite_values_take_the_member_type() {
    let v = GpValue::decode(
        &DataType::Composite,
        r#"{"dataType": "GPLinearUnit", "value": {"distance": 2, "units": "esriMiles"}}"#,
    )
    .unwrap();
    assert_eq!(
        v,
        GpValue::LinearUnit(LinearUnit::new(2.0, LinearUnitKind::Miles))
    );
    assert_eq!(
        GpValue::decode(&DataType::Composite, "7").unwrap(),
        GpValue::Long(7)
    );
}

#[test]
fn map_image_results() {
    let v = GpValue::decode(
        &DataType::FeatureRecordSetLayer,
        r#"{"mapImage": {"href": "http://h/out.png", "width": 400, "height": 300,
            "extent": {"xmin": 0, "ymin": 0, "xmax": 10, "ymax": 5, "spatialReference": {"wkid": 3857}}, "scale": 1000}}"#,
    )
    .unwrap();
    let GpValue::MapImage(m) = &v else {
        panic!("{v:?}")
    };
    assert_eq!((m.width, m.height), (Some(400), Some(300)));
    assert!(
        v.to_form_text()
            .starts_with(r#"{"mapImage":{"href":"http://h/out.png""#)
    );
}

#[test]
fn secrets_stay_out_of_debug() {
    let v = GpValue::parse_text(&DataType::StringHidden, "hunter2").unwrap();
    assert!(!format!("{v:?}").contains("hunter2"));
    let d = DataRef {
        url: Some("https://h/x".into()),
        token: Some("tok123".into()),
        ..Default::default()
    };
    assert!(!format!("{d:?}").contains("tok123"));
    assert!(d.token.is_some(), "the token is still sent");
}

#[test]
fn big_integers_stay_exact() {
    let fs = FeatureSet::from_json(
        r#"{"fields": [{"name": "id", "type": "esriFieldTypeBigInteger"}],
            "features": [{"attributes": {"id": 9007199254740993, "u": 18446744073709551615, "f": 0.1}}]}"#,
    )
    .unwrap();
    let a = &fs.features[0].attributes;
    assert_eq!(a["id"], AttrValue::Int(9_007_199_254_740_993));
    assert_eq!(a["u"], AttrValue::UInt(u64::MAX));
    assert_eq!(a["f"], AttrValue::Float(0.1));
    assert!(fs.to_json().contains("9007199254740993"));
}

#[test]
fn service_metadata_helpers() {
    let s: GpServiceInfo = from_json_str(
        "svc",
        r#"{"tasks": ["911 Calls Hotspot"], "executionType": "esriExecutionTypeSynchronous",
            "resultMapServerName": "", "capabilities": "Uploads,Other", "maximumRecords": 1000}"#,
    )
    .unwrap();
    assert!(s.is_synchronous());
    assert!(s.supports_uploads());
    assert_eq!(s.result_map_server(), None);
    assert_eq!(s.tasks[0].as_str(), "911 Calls Hotspot");
}

//! Feature sets as Arrow: recorded server answers (other people's files) read
//! whole and streamed give the same rows and geometries; Arrow tables made here by
//! hand read back with the right types, spatial references and errors.
#![cfg(feature = "arrow")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test fails loudly on a bad value

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field as ArrowField, Schema};
use gp_features::arrow::{esri_json_to_arrow, from_arrow, to_arrow};
use gp_model::{AttrValue, FeatureSet, Field, FieldType, SpatialReference};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../gp-model/tests/fixtures/arcgis-rest/"
);

/// `file` (recorded from a server or its docs) read whole, converted, streamed, and
/// read back: the same rows and the same geometry bytes either way.
#[track_caller]
fn check(file: &str, rows: usize) -> bool {
    let path = format!("{FIXTURES}{file}");
    let fs = gp_features::load(&path).unwrap();
    assert_eq!(fs.features.len(), rows, "{file}");
    let whole = to_arrow(&fs).unwrap();
    assert_eq!(whole.num_rows(), rows, "{file}");
    let geometry = |t: &gp_features::arrow::ArrowFeatures| -> Vec<Option<Vec<u8>>> {
        t.batches
            .iter()
            .flat_map(|b| {
                let c = b
                    .column_by_name("geometry")
                    .unwrap()
                    .as_binary::<i32>()
                    .clone();
                (0..c.len())
                    .map(|i| (!c.is_null(i)).then(|| c.value(i).to_vec()))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let bytes = std::fs::read(&path).unwrap();
    let streamed = esri_json_to_arrow(&bytes[..], file).unwrap();
    if let Some((header, streamed)) = &streamed {
        assert_eq!(streamed.num_rows(), rows, "{file}");
        assert!(header.features.is_empty());
        assert_eq!(geometry(streamed), geometry(&whole), "{file}");
    }
    let back = from_arrow(&whole.schema, whole.batches.iter().cloned().map(Ok)).unwrap();
    assert_eq!(back.features.len(), rows, "{file}");
    assert_eq!(
        back.geometry_type.is_some(),
        fs.geometry_type.is_some(),
        "{file}"
    );
    // Written again, the geometries are the same bytes.
    assert_eq!(
        geometry(&to_arrow(&back).unwrap()),
        geometry(&whole),
        "{file}"
    );
    streamed.is_some()
}

#[test]
fn recorded_feature_sets_read_whole_and_streamed_agree() {
    let streamed = [
        check("gdal/esripoint.json", 1),
        check("gdal/esripolygon.json", 1),
        check("gdal/esrizmmultipoint.json", 1),
        check("arcgis-rest-js/PolygonHasZM.json", 4),
        check("arcgis-rest-js/LineHasM.json", 4),
        check("arcgisutils/null-polyline.json", 1),
        check("pyesridump/us-ms-madison-0.json", 1),
    ];
    // Files whose schema keys come after the features cannot stream; most can.
    assert!(streamed.iter().filter(|s| **s).count() >= 4, "{streamed:?}");
}

fn points(sr: SpatialReference) -> FeatureSet {
    gp_model::from_json_str(
        "feature set",
        &format!(
            r#"{{"geometryType": "esriGeometryPoint", "spatialReference": {},
              "fields": [{{"name": "OBJECTID", "type": "esriFieldTypeOID"}},
                         {{"name": "n", "type": "esriFieldTypeInteger"}},
                         {{"name": "when", "type": "esriFieldTypeDate"}}],
              "features": [{{"geometry": {{"x": 1, "y": 2}}, "attributes": {{"OBJECTID": 1, "n": 7, "when": 1700000000000}}}},
                           {{"attributes": {{"OBJECTID": 2, "n": null, "when": null}}}}]}}"#,
            serde_json::to_string(&sr).unwrap()
        ),
    )
    .unwrap()
}

#[test]
fn types_and_spatial_references_go_both_ways() {
    for (sr, crs) in [
        (SpatialReference::from_wkid(4326), "EPSG:4326"),
        (
            SpatialReference {
                wkid: Some(102100),
                latest_wkid: Some(3857),
                ..Default::default()
            },
            "EPSG:3857",
        ),
        (SpatialReference::from_wkid(102003), "ESRI:102003"),
    ] {
        let t = to_arrow(&points(sr)).unwrap();
        let types: Vec<DataType> = t
            .schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                DataType::Int64,
                DataType::Int32,
                DataType::Timestamp(arrow_schema::TimeUnit::Millisecond, Some("UTC".into())),
                DataType::Binary
            ]
        );
        let meta = t.schema.field(3).metadata();
        assert_eq!(meta["ARROW:extension:name"], "geoarrow.wkb");
        let ext: serde_json::Value =
            serde_json::from_str(&meta["ARROW:extension:metadata"]).unwrap();
        assert_eq!(ext["crs"], crs);
        let back = from_arrow(&t.schema, t.batches.iter().cloned().map(Ok)).unwrap();
        assert_eq!(back.object_id_field_name.as_deref(), Some("OBJECTID"));
        let kinds: Vec<FieldType> = back
            .fields
            .unwrap()
            .into_iter()
            .map(|f| f.field_type)
            .collect();
        assert_eq!(kinds, [FieldType::Oid, FieldType::Integer, FieldType::Date]);
        assert_eq!(
            back.features[0].attributes["when"],
            AttrValue::Int(1_700_000_000_000)
        );
        assert_eq!(back.features[1].attributes["n"], AttrValue::Null);
        assert!(back.features[1].geometry.is_none());
        assert_eq!(
            back.spatial_reference.unwrap().wkid,
            crs.split(':').nth(1).unwrap().parse().ok()
        );
    }
}

/// A table as GeoPandas writes it: PROJJSON CRS, no Esri types.
#[test]
fn a_projjson_crs_and_plain_columns_are_read() {
    let mut wkb = vec![1u8, 1, 0, 0, 0];
    wkb.extend_from_slice(&10.5f64.to_le_bytes());
    wkb.extend_from_slice(&(-3.0f64).to_le_bytes());
    let geom = ArrowField::new("geometry", DataType::Binary, true).with_metadata(
        [
            ("ARROW:extension:name".to_string(), "geoarrow.wkb".to_string()),
            (
                "ARROW:extension:metadata".to_string(),
                r#"{"crs": {"type": "GeographicCRS", "name": "WGS 84", "id": {"authority": "EPSG", "code": 4326}}}"#
                    .to_string(),
            ),
        ]
        .into(),
    );
    let schema = Arc::new(Schema::new(vec![
        ArrowField::new("name", DataType::Utf8, true),
        ArrowField::new("count", DataType::Int64, false),
        geom,
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![Some("a")])),
        Arc::new(Int64Array::from(vec![5])),
        Arc::new(BinaryArray::from(vec![Some(&wkb[..])])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
    let fs = from_arrow(&schema, [Ok(batch)]).unwrap();
    assert_eq!(fs.spatial_reference.unwrap().wkid, Some(4326));
    assert_eq!(fs.geometry_type, Some(gp_model::GeometryType::Point));
    let f: Vec<Field> = fs.fields.unwrap();
    assert_eq!(f[1].field_type, FieldType::BigInteger);
    assert_eq!(fs.features[0].attributes["name"], AttrValue::from("a"));
}

#[test]
fn bad_values_name_the_column_and_the_row() {
    let mut fs = points(SpatialReference::from_wkid(4326));
    fs.features[1]
        .attributes
        .insert("n".into(), AttrValue::from("seven"));
    let e = to_arrow(&fs).unwrap_err().to_string();
    assert!(e.contains("`n`") && e.contains("feature 1"), "{e}");
    let schema = Arc::new(Schema::new(vec![ArrowField::new(
        "geometry",
        DataType::Binary,
        true,
    )]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(BinaryArray::from(vec![Some(&b"nope"[..])])) as ArrayRef],
    )
    .unwrap();
    let e = from_arrow(&schema, [Ok(batch)]).unwrap_err().to_string();
    assert!(e.contains("`geometry`") && e.contains("row 0"), "{e}");
    let list = Arc::new(Schema::new(vec![ArrowField::new(
        "l",
        DataType::List(Arc::new(ArrowField::new("item", DataType::Int32, true))),
        true,
    )]));
    let e = from_arrow(&list, []).unwrap_err().to_string();
    assert!(e.contains("`l`") && e.contains("no Esri field type"), "{e}");
}

#[test]
fn a_batch_that_does_not_match_the_schema_is_refused() {
    let schema = Arc::new(Schema::new(vec![ArrowField::new(
        "n",
        DataType::Int64,
        true,
    )]));
    let other = Arc::new(Schema::new(vec![ArrowField::new(
        "s",
        DataType::Utf8,
        true,
    )]));
    let batch = RecordBatch::try_new(
        other,
        vec![Arc::new(StringArray::from(vec![Some("x")])) as ArrayRef],
    )
    .unwrap();
    let e = from_arrow(&schema, [Ok(batch)]).unwrap_err().to_string();
    assert!(e.contains("not the schema's"), "{e}");
}

//! A geoprocessing task as an OGC process: each parameter's data type as a JSON
//! Schema, OGC input values read into [`GpValue`]s by the parameter's type, and
//! output values written the OGC way (feature sets as GeoJSON, extents as
//! bounding boxes). The server describes its tasks with it; the client reads
//! process descriptions back with [`data_type_of`].

use serde_json::{Value, json};

use crate::datatype::DataType;
use crate::geometry::Envelope;
use crate::geometry::sr::SpatialReference;
use crate::ogc::{InputDescription, OutputDescription, ProcessDescription, ProcessSummary};
use crate::task::{ParameterInfo, TaskInfo};
use crate::value::{DataRef, GpValue};
use crate::{Error, FeatureSet, Result};

/// WGS 84 longitude/latitude, the default CRS of OGC bounding boxes.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

fn err(p: &ParameterInfo, reason: impl Into<String>) -> Error {
    Error::Value {
        data_type: p.data_type.to_string(),
        reason: format!("{}: {}", p.name, reason.into()),
    }
}

/// The JSON Schema of a value of `p`.
pub fn schema(p: &ParameterInfo) -> Value {
    let mut s = match &p.data_type {
        DataType::String | DataType::StringHidden | DataType::SqlExpression => {
            json!({"type": "string"})
        }
        DataType::Long => json!({"type": "integer"}),
        DataType::Double => json!({"type": "number"}),
        DataType::Boolean => json!({"type": "boolean"}),
        DataType::Date => json!({"type": "string", "format": "date-time"}),
        DataType::LinearUnit => json!({"oneOf": [
            {"type": "string", "description": "a distance and a unit, as \"5 feet\""},
            {"type": "object", "required": ["distance", "units"],
             "properties": {"distance": {"type": "number"}, "units": {"type": "string"}}}
        ]}),
        DataType::FeatureRecordSetLayer | DataType::RecordSet => json!({"oneOf": [
            {"type": "object", "format": "geojson-feature-collection",
             "contentMediaType": "application/geo+json"},
            {"type": "object", "required": ["href"], "properties": {"href": {"type": "string", "format": "uri"}}}
        ]}),
        DataType::Extent => json!({"type": "object", "format": "ogc-bbox", "required": ["bbox"],
            "properties": {"bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6},
                           "crs": {"type": "string", "format": "uri"}}}),
        DataType::RasterDataLayer | DataType::RasterData => json!({"oneOf": [
            {"type": "string", "contentEncoding": "binary", "contentMediaType": "image/tiff; application=geotiff"},
            {"type": "object", "required": ["href"], "properties": {"href": {"type": "string", "format": "uri"}}}
        ]}),
        DataType::DataFile => json!({"type": "object", "required": ["href"],
            "properties": {"href": {"type": "string", "format": "uri"}}}),
        DataType::MultiValue(inner) => {
            let mut member = p.clone();
            member.data_type = (**inner).clone();
            member.choice_list = None;
            json!({"type": "array", "items": schema(&member)})
        }
        _ => json!({}),
    };
    if let (Some(choices), Some(o)) = (p.choices(), s.as_object_mut())
        && matches!(p.data_type, DataType::String)
    {
        o.insert("enum".into(), json!(choices));
    }
    if let (Some(d), Some(o)) = (p.default_value.as_ref(), s.as_object_mut())
        && !matches!(
            p.data_type,
            DataType::FeatureRecordSetLayer | DataType::RecordSet
        )
        && !matches!(d, GpValue::Null)
    {
        o.insert("default".into(), output_value(d));
    }
    s
}

/// The process description of `task` as process `id` (links are the server's to add).
pub fn describe(task: &TaskInfo, id: &str, synchronous: bool) -> ProcessDescription {
    let inputs = task
        .inputs()
        .map(|p| {
            let many = matches!(p.data_type, DataType::MultiValue(_));
            (
                p.name.to_string(),
                InputDescription {
                    title: p.display_name.clone().or_else(|| Some(p.name.to_string())),
                    description: p.description.clone(),
                    schema: schema(p),
                    min_occurs: u64::from(p.is_required()),
                    max_occurs: (!many).then(|| json!(1)),
                    extra: serde_json::Map::new(),
                },
            )
        })
        .collect();
    let outputs = task
        .outputs()
        .map(|p| {
            (
                p.name.to_string(),
                OutputDescription {
                    title: p.display_name.clone().or_else(|| Some(p.name.to_string())),
                    description: p.description.clone(),
                    schema: schema(p),
                },
            )
        })
        .collect();
    ProcessDescription {
        summary: ProcessSummary {
            id: id.to_string(),
            title: Some(task.name.to_string()),
            description: task.description.clone(),
            version: "1.0.0".into(),
            job_control_options: if synchronous {
                vec!["sync-execute".into()]
            } else {
                vec!["async-execute".into(), "dismiss".into()]
            },
            output_transmission: vec!["value".into(), "reference".into()],
            links: Vec::new(),
        },
        inputs,
        outputs,
    }
}

/// A process description as a task, for a client: each input and output a parameter
/// typed by [`data_type_of`] (required when `minOccurs` > 0, choices from `enum`,
/// the default from `default`); asynchronous when the process runs as a job.
pub fn task_info(d: &ProcessDescription) -> TaskInfo {
    use crate::service::ExecutionType;
    use crate::task::Direction;
    let mut params = Vec::new();
    for (id, i) in &d.inputs {
        let dt = data_type_of(&i.schema);
        let mut p = ParameterInfo::new(id, dt.clone(), Direction::Input);
        p.display_name = i.title.clone().or_else(|| Some(id.clone()));
        p.description = i.description.clone();
        if i.min_occurs > 0 {
            p = p.required();
        }
        let choices = i.schema.get("enum").or_else(|| i.extra.get("enum"));
        if let Some(choices) = choices.and_then(Value::as_array) {
            p = p.with_choices(choices.iter().filter_map(Value::as_str));
        }
        if let Some(d) = i.schema.get("default")
            && let Ok(v) = input_value(&p, d)
        {
            p = p.with_default(v);
        }
        params.push(p);
    }
    for (id, o) in &d.outputs {
        let mut p = ParameterInfo::new(id, data_type_of(&o.schema), Direction::Output);
        p.display_name = o.title.clone().or_else(|| Some(id.clone()));
        p.description = o.description.clone();
        params.push(p);
    }
    let jobs = &d.summary.job_control_options;
    let execution = if jobs.iter().any(|j| j == "async-execute") {
        ExecutionType::Asynchronous
    } else {
        ExecutionType::Synchronous
    };
    let mut t = TaskInfo::new(&d.summary.id, execution, params);
    t.description = d
        .summary
        .description
        .clone()
        .or_else(|| d.summary.title.clone());
    t
}

/// The results of a job or a synchronous execution, by output id, from what servers
/// answer: a results document (`{"<id>": value}`), the pre-1.0 `{"outputs": [{id,
/// value}]}` (pygeoapi's `response: document`), pygeoapi's job results
/// `{"outputs": [{"<id>": value, ...}]}`, pygeoapi's raw `{"id", "value"}`, or the
/// bare value of `only`, the process's one output.
pub fn results_map(body: &Value, only: Option<&str>) -> serde_json::Map<String, Value> {
    if let Some(list) = body.get("outputs").and_then(Value::as_array) {
        let mut out = serde_json::Map::new();
        for o in list {
            match (o.get("id").and_then(Value::as_str), o.as_object()) {
                (Some(id), _) => {
                    out.insert(
                        id.to_string(),
                        o.get("value").cloned().unwrap_or(Value::Null),
                    );
                }
                (None, Some(fields)) => out.extend(fields.clone()),
                (None, None) => {}
            }
        }
        return out;
    }
    if let (Some(id), Some(v), Some(o)) = (
        body.get("id").and_then(Value::as_str),
        body.get("value"),
        body.as_object(),
    ) && o.len() == 2
    {
        return [(id.to_string(), v.clone())].into_iter().collect();
    }
    match (body.as_object(), only) {
        (Some(o), Some(name)) if o.contains_key(name) => o.clone(),
        (_, Some(name)) => [(name.to_string(), body.clone())].into_iter().collect(),
        (Some(o), None) => o.clone(),
        (None, None) => serde_json::Map::new(),
    }
}

/// The EPSG code of an OGC CRS URI (`…/EPSG/0/3857`, `EPSG:3857`, CRS84 = 4326).
pub fn epsg_of_crs(crs: &str) -> Option<i32> {
    let c = crs.trim();
    if c.ends_with("CRS84") || c.ends_with("CRS84h") {
        return Some(4326);
    }
    let tail = c.rsplit(['/', ':']).next().filter(|t| !t.is_empty())?;
    let upper = c.to_ascii_uppercase();
    if upper.contains("EPSG") {
        return tail.parse().ok();
    }
    None
}

/// The value of OGC input `v` for parameter `p`: plain, qualified
/// (`{"value", "mediaType"}`), a link (`{"href"}`) or a bounding box.
pub fn input_value(p: &ParameterInfo, v: &Value) -> Result<GpValue> {
    let v = match v {
        Value::Object(o) if o.contains_key("value") && !o.contains_key("features") => {
            o.get("value").unwrap_or(&Value::Null)
        }
        other => other,
    };
    let href = v.get("href").and_then(Value::as_str);
    match &p.data_type {
        DataType::FeatureRecordSetLayer | DataType::RecordSet => {
            if let Some(h) = href {
                return Ok(GpValue::DataRef(DataRef::url(h)));
            }
            let kind = v.get("type").and_then(Value::as_str);
            if matches!(kind, Some("FeatureCollection" | "Feature"))
                || kind.is_some_and(is_geometry)
            {
                let fs =
                    FeatureSet::from_geojson(&v.to_string()).map_err(|e| err(p, e.to_string()))?;
                return Ok(GpValue::FeatureSet(fs));
            }
            GpValue::from_json(&p.data_type, v)
        }
        DataType::Extent => match v.get("bbox").and_then(Value::as_array) {
            Some(b) => {
                let n: Vec<f64> = b.iter().filter_map(Value::as_f64).collect();
                let (x0, y0, x1, y1) = match n[..] {
                    [a, b, c, d] => (a, b, c, d),
                    [a, b, _, d, e, _] => (a, b, d, e),
                    _ => return Err(err(p, "a bbox has 4 or 6 numbers")),
                };
                let crs = v.get("crs").and_then(Value::as_str).unwrap_or(CRS84);
                let epsg =
                    epsg_of_crs(crs).ok_or_else(|| err(p, format!("unknown crs `{crs}`")))?;
                let mut e = Envelope::new(x0, y0, x1, y1);
                e.spatial_reference = Some(Box::new(SpatialReference::from_wkid(epsg)));
                Ok(GpValue::Extent(e))
            }
            None => GpValue::from_json(&p.data_type, v),
        },
        DataType::RasterDataLayer | DataType::RasterData | DataType::DataFile => match (href, v) {
            (Some(h), _) => Ok(GpValue::DataRef(DataRef::url(h))),
            (None, Value::String(s)) => p.parse_text(s),
            _ => GpValue::from_json(&p.data_type, v),
        },
        // A type gp does not model (`{"type": "object"}`): the JSON as it is.
        DataType::Unknown(_) => Ok(GpValue::Json(v.clone())),
        DataType::MultiValue(_) => match v {
            Value::Array(_) => GpValue::from_json(&p.data_type, v),
            Value::String(s) => p.parse_text(s),
            other => GpValue::from_json(&p.data_type, &Value::Array(vec![other.clone()])),
        },
        _ => match v {
            Value::String(s)
                if !matches!(p.data_type, DataType::String | DataType::StringHidden) =>
            {
                p.parse_text(s)
            }
            other => GpValue::from_json(&p.data_type, other),
        },
    }
}

fn is_geometry(t: &str) -> bool {
    matches!(
        t,
        "Point" | "MultiPoint" | "LineString" | "MultiLineString" | "Polygon" | "MultiPolygon"
    )
}

/// An output value the OGC way: a feature set as a GeoJSON FeatureCollection
/// (with `exceededTransferLimit` kept where it was set), an extent as a bounding
/// box, a data reference as a link, anything else as its JSON.
pub fn output_value(v: &GpValue) -> Value {
    match v {
        GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) => match fs.to_geojson() {
            Ok(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
            Err(e) => json!({"error": e.to_string()}),
        },
        GpValue::FeatureCollection(c) => output_value(&GpValue::FeatureSet(c.feature_set.clone())),
        GpValue::Extent(e) => {
            let b = e.bounds().unwrap_or([0.0; 4]);
            let epsg = e
                .spatial_reference
                .as_deref()
                .and_then(|s| s.latest_wkid.or(s.wkid))
                .unwrap_or(4326);
            let crs = if epsg == 4326 {
                CRS84.to_string()
            } else {
                format!("http://www.opengis.net/def/crs/EPSG/0/{epsg}")
            };
            json!({"bbox": b, "crs": crs})
        }
        GpValue::DataRef(d) => json!({"href": d.url, "type": d.format.as_deref().map(media_type)}),
        GpValue::Date(d) => json!(d.to_rfc3339()),
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    }
}

/// True when `v` is a file sent inline for a raster or file parameter:
/// `{"value": <base64>, "encoding": "base64"}` (or a `contentEncoding` of base64).
pub fn is_inline_file(p: &ParameterInfo, v: &Value) -> bool {
    let file = matches!(
        p.data_type,
        DataType::RasterDataLayer | DataType::RasterData | DataType::DataFile
    );
    let encoding = v
        .get("encoding")
        .or_else(|| v.get("contentEncoding"))
        .and_then(Value::as_str);
    file && v.get("value").is_some_and(Value::is_string)
        && encoding.is_some_and(|e| e.eq_ignore_ascii_case("base64"))
}

/// A file sent inline: `bytes` base64-encoded with its media type, as an OGC
/// qualified value.
pub fn inline_file(base64: String, media_type: &str) -> GpValue {
    GpValue::Json(json!({"value": base64, "encoding": "base64", "mediaType": media_type}))
}

/// The file extension of a media type (`image/tiff` → `tif`), `bin` when unknown.
pub fn extension_of(media_type: &str) -> &'static str {
    let m = media_type.to_ascii_lowercase();
    match m.split(';').next().unwrap_or_default().trim() {
        "image/tiff" => "tif",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "application/json" => "json",
        "application/geo+json" => "geojson",
        "application/zip" => "zip",
        "text/csv" => "csv",
        _ => "bin",
    }
}

/// The media type of a file format (`tif`).
pub fn media_type(format: &str) -> &'static str {
    match format.to_ascii_lowercase().as_str() {
        "tif" | "tiff" => "image/tiff; application=geotiff",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "json" => "application/json",
        "geojson" => "application/geo+json",
        "zip" => "application/zip",
        "csv" => "text/csv",
        _ => "application/octet-stream",
    }
}

/// The data type a client gives an OGC input or output described by `schema`:
/// feature collections and feature links are feature sets, bounding boxes extents,
/// binary or linked files data files, JSON types their GP counterparts.
pub fn data_type_of(schema: &Value) -> DataType {
    let s = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .unwrap_or(schema);
    let format = s.get("format").and_then(Value::as_str).unwrap_or_default();
    let media = s
        .get("contentMediaType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if format.starts_with("geojson-feature") || media.contains("geo+json") {
        return DataType::FeatureRecordSetLayer;
    }
    if format == "ogc-bbox" {
        return DataType::Extent;
    }
    if s.get("contentEncoding").is_some() || media.starts_with("image/") {
        return DataType::RasterDataLayer;
    }
    match s.get("type").and_then(Value::as_str) {
        Some("string") if format == "date-time" || format == "date" => DataType::Date,
        Some("string") => DataType::String,
        Some("integer") => DataType::Long,
        Some("number") => DataType::Double,
        Some("boolean") => DataType::Boolean,
        Some("array") => {
            let inner = s.get("items").map_or(DataType::String, data_type_of);
            DataType::MultiValue(Box::new(inner))
        }
        _ => DataType::Unknown(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Direction;

    fn param(dt: DataType) -> ParameterInfo {
        ParameterInfo::new("P", dt, Direction::Input)
    }

    #[test]
    fn ogc_values_read_by_type() {
        let fc = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": "a"}, "geometry": {"type": "Point", "coordinates": [10, 50]}}]});
        let GpValue::FeatureSet(fs) =
            input_value(&param(DataType::FeatureRecordSetLayer), &fc).expect("features")
        else {
            panic!("a feature set")
        };
        assert_eq!(fs.features.len(), 1);
        assert_eq!(fs.spatial_reference.and_then(|s| s.wkid), Some(4326));
        let GpValue::Extent(e) = input_value(
            &param(DataType::Extent),
            &json!({"bbox": [1, 2, 3, 4], "crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}),
        )
        .expect("bbox") else {
            panic!("an extent")
        };
        assert_eq!(e.spatial_reference.and_then(|s| s.wkid), Some(3857));
        let u = input_value(&param(DataType::LinearUnit), &json!("5 feet")).expect("unit");
        assert_eq!(u.to_form_text(), r#"{"distance":5.0,"units":"esriFeet"}"#);
        let q = input_value(
            &param(DataType::Double),
            &json!({"value": 2.5, "mediaType": "application/json"}),
        )
        .expect("qualified");
        assert_eq!(q, GpValue::Double(2.5));
        let l = input_value(
            &param(DataType::DataFile),
            &json!({"href": "http://h/f.csv"}),
        )
        .expect("link");
        assert!(matches!(l, GpValue::DataRef(d) if d.url.as_deref() == Some("http://h/f.csv")));
        assert!(input_value(&param(DataType::Long), &json!("x")).is_err());
        let any = input_value(
            &param(DataType::Unknown(String::new())),
            &json!("Hello World!"),
        );
        assert_eq!(any.ok(), Some(GpValue::Json(json!("Hello World!"))));
    }

    #[test]
    fn a_description_reads_back_as_the_task() {
        use crate::task::Direction;
        let t = TaskInfo::new(
            "T",
            crate::service::ExecutionType::Asynchronous,
            vec![
                ParameterInfo::new("Mode", DataType::String, Direction::Input)
                    .required()
                    .with_choices(["A", "B"])
                    .with_default(GpValue::String("A".into())),
                ParameterInfo::new("Pts", DataType::FeatureRecordSetLayer, Direction::Input),
                ParameterInfo::new("Out", DataType::FeatureRecordSetLayer, Direction::Output),
            ],
        );
        let back = task_info(&describe(&t, "t", false));
        let ins: Vec<&ParameterInfo> = back.inputs().collect();
        assert_eq!(ins[0].data_type, DataType::String);
        assert!(ins[0].is_required() && !ins[1].is_required());
        assert_eq!(ins[0].choices().map(<[String]>::len), Some(2));
        assert_eq!(ins[0].default_value, Some(GpValue::String("A".into())));
        assert_eq!(
            back.outputs().next().map(|p| p.data_type.clone()),
            Some(DataType::FeatureRecordSetLayer)
        );
        assert_eq!(back.is_synchronous(), Some(false));
    }

    #[test]
    fn results_come_in_every_shape_servers_write() {
        let doc = json!({"a": 1, "b": "x"});
        assert_eq!(results_map(&doc, None).len(), 2);
        let pre = json!({"outputs": [{"id": "echo", "value": "Hello"}]});
        assert_eq!(results_map(&pre, None)["echo"], "Hello");
        let job = json!({"outputs": [{"operation": "measurement:distance", "result": 5.0}]});
        assert_eq!(results_map(&job, Some("result"))["result"], 5.0);
        let raw = json!({"id": "echo", "value": "Hello World!"});
        assert_eq!(results_map(&raw, Some("echo"))["echo"], "Hello World!");
        assert_eq!(results_map(&json!(5), Some("n"))["n"], 5);
        let fc = json!({"type": "FeatureCollection", "features": []});
        assert_eq!(
            results_map(&fc, Some("Out"))["Out"]["type"],
            "FeatureCollection"
        );
    }

    #[test]
    fn schemas_read_back_as_their_types() {
        for dt in [
            DataType::String,
            DataType::Long,
            DataType::Double,
            DataType::Boolean,
            DataType::Date,
            DataType::FeatureRecordSetLayer,
            DataType::Extent,
            DataType::RasterDataLayer,
            DataType::MultiValue(Box::new(DataType::String)),
        ] {
            assert_eq!(data_type_of(&schema(&param(dt.clone()))), dt, "{dt}");
        }
        assert_eq!(epsg_of_crs(CRS84), Some(4326));
        assert_eq!(epsg_of_crs("EPSG:2056"), Some(2056));
        assert_eq!(epsg_of_crs("urn:ogc:def:crs:EPSG::3857"), Some(3857));
        assert_eq!(epsg_of_crs("local"), None);
    }
}

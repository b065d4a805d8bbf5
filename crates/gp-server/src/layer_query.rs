//! `query` on a feature layer held in memory (hosted layers, the job layers of result
//! map services): gp-model's [`LayerQuery`] read from the request, features selected
//! by object ids, the parsed `where` clause and an envelope, ordered, paged at the
//! layer's record limit with `exceededTransferLimit`, projected, and answered as Esri
//! JSON, GeoJSON, a count or ids.

use std::cmp::Ordering;

use axum::response::Response;
use geozero::ProcessToJson;
use gp_model::{
    AttrValue, CountResponse, Feature, FeatureSet, Field, IdsResponse, LayerQuery, QueryFormat,
    SpatialReference,
};

use crate::project::{Crs, project_feature_set};
use crate::request::F;
use crate::respond::{ApiError, bytes_response, value_response};
use crate::state::Ctx;

/// A layer as a query sees it.
pub(crate) struct QueryLayer<'a> {
    /// The features, in object id order.
    pub(crate) fs: &'a FeatureSet,
    /// The object id field.
    pub(crate) oid: &'a str,
    /// Most features one answer carries.
    pub(crate) max_records: u64,
}

fn bad(param: &str, reason: impl AsRef<str>) -> ApiError {
    ApiError::bad_param(param, reason.as_ref())
}

fn field<'a>(fields: &'a [Field], name: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

fn attr<'a>(f: &'a Feature, name: &str) -> &'a AttrValue {
    f.attributes
        .get(name)
        .or_else(|| {
            f.attributes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .unwrap_or(&AttrValue::Null)
}

fn cmp_attr(a: &AttrValue, b: &AttrValue) -> Ordering {
    use AttrValue as A;
    let num = |v: &A| match v {
        A::Int(i) => Some(*i as f64),
        A::UInt(u) => Some(*u as f64),
        A::Float(f) => Some(*f),
        A::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (a, b) {
        // NULLs first, as ArcGIS sorts them ascending.
        (A::Null, A::Null) => Ordering::Equal,
        (A::Null, _) => Ordering::Less,
        (_, A::Null) => Ordering::Greater,
        (A::String(x), A::String(y)) => x.cmp(y),
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => format!("{a:?}").cmp(&format!("{b:?}")),
        },
    }
}

fn bbox(f: &Feature) -> Option<[f64; 4]> {
    let g = f.geometry.as_ref()?;
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    g.for_each_coord_pub(&mut |c| {
        b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
    });
    b[0].is_finite().then_some(b)
}

/// The query envelope in the layer's spatial reference (its corners projected).
fn envelope_in_layer(
    q: &LayerQuery,
    layer_sr: &SpatialReference,
) -> Result<Option<[f64; 4]>, ApiError> {
    let Some(e) = &q.geometry else {
        return Ok(None);
    };
    let b = e
        .bounds()
        .ok_or_else(|| bad("geometry", "the envelope needs xmin, ymin, xmax and ymax"))?;
    let from_sr = q
        .in_sr
        .clone()
        .or_else(|| e.spatial_reference.as_deref().cloned())
        .unwrap_or_else(|| layer_sr.clone());
    let from = Crs::from_sr(&from_sr).map_err(|m| bad("inSR", m))?;
    let to = Crs::from_sr(layer_sr).map_err(|m| bad("inSR", m))?;
    if from.code == to.code {
        return Ok(Some(b));
    }
    let mut out = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    // Corners and edge midpoints: enough for the envelopes clients send.
    for i in 0..=4 {
        for j in 0..=4 {
            let x = b[0] + (b[2] - b[0]) * f64::from(i) / 4.0;
            let y = b[1] + (b[3] - b[1]) * f64::from(j) / 4.0;
            let (px, py) = from
                .transform_xy(&to, x, y)
                .map_err(|m| bad("geometry", format!("cannot project the envelope: {m}")))?;
            out = [
                out[0].min(px),
                out[1].min(py),
                out[2].max(px),
                out[3].max(py),
            ];
        }
    }
    Ok(Some(out))
}

/// What a query answers.
pub(crate) enum Answer {
    /// `returnCountOnly`.
    Count(CountResponse),
    /// `returnIdsOnly`.
    Ids(IdsResponse),
    /// A page of features.
    Features(Box<FeatureSet>),
}

/// Runs `q` on `layer`.
pub(crate) fn run(layer: &QueryLayer<'_>, q: &LayerQuery) -> Result<Answer, ApiError> {
    let fs = layer.fs;
    let fields = fs.fields.as_deref().unwrap_or_default();
    let wanted = q.parsed_where().map_err(|e| bad(&e.param, &e.reason))?;
    if let Some(w) = &wanted {
        w.check_fields(fields).map_err(|m| bad("where", m))?;
    }
    for o in &q.order_by {
        if field(fields, &o.field).is_none() {
            return Err(bad(
                "orderByFields",
                format!("the field `{}` is not a field of the layer", o.field),
            ));
        }
    }
    let out_fields: Option<Vec<Field>> = match &q.out_fields {
        None => None,
        Some(names) => {
            let mut keep = Vec::new();
            for n in names {
                let f = field(fields, n).ok_or_else(|| {
                    bad(
                        "outFields",
                        format!("the field `{n}` is not a field of the layer"),
                    )
                })?;
                keep.push(f.clone());
            }
            if !keep.iter().any(|f| f.name.eq_ignore_ascii_case(layer.oid))
                && let Some(f) = field(fields, layer.oid)
            {
                keep.insert(0, f.clone());
            }
            Some(keep)
        }
    };
    let layer_sr = fs
        .spatial_reference
        .clone()
        .unwrap_or_else(|| SpatialReference::from_wkid(4326));
    let envelope = envelope_in_layer(q, &layer_sr)?;
    let ids: Option<std::collections::HashSet<i64>> =
        q.object_ids.as_ref().map(|v| v.iter().copied().collect());
    let mut picked: Vec<&Feature> = fs
        .features
        .iter()
        .filter(|f| {
            ids.as_ref()
                .is_none_or(|s| attr(f, layer.oid).as_i64().is_some_and(|i| s.contains(&i)))
        })
        .filter(|f| wanted.as_ref().is_none_or(|w| w.matches(&f.attributes)))
        .filter(|f| {
            envelope.is_none_or(|e| {
                bbox(f)
                    .is_some_and(|b| b[0] <= e[2] && b[2] >= e[0] && b[1] <= e[3] && b[3] >= e[1])
            })
        })
        .collect();
    if q.return_count_only {
        return Ok(Answer::Count(CountResponse {
            count: picked.len() as u64,
        }));
    }
    if !q.order_by.is_empty() {
        picked.sort_by(|a, b| {
            for o in &q.order_by {
                let c = cmp_attr(attr(a, &o.field), attr(b, &o.field));
                let c = if o.descending { c.reverse() } else { c };
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        });
    }
    if q.return_ids_only {
        let list: Vec<i64> = picked
            .iter()
            .filter_map(|f| attr(f, layer.oid).as_i64())
            .collect();
        return Ok(Answer::Ids(IdsResponse {
            object_id_field_name: layer.oid.to_string(),
            object_ids: Some(list),
        }));
    }
    let offset = q.result_offset.unwrap_or(0);
    let asked = q.result_record_count.unwrap_or(layer.max_records);
    if asked == 0 {
        return Err(bad("resultRecordCount", "must be at least 1"));
    }
    let take = asked.min(layer.max_records);
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(picked.len());
    let end = start
        .saturating_add(usize::try_from(take).unwrap_or(usize::MAX))
        .min(picked.len());
    let exceeded = end < picked.len();
    let mut out = fs.schema_only();
    out.object_id_field_name = Some(layer.oid.to_string());
    out.features = picked[start..end]
        .iter()
        .map(|f| {
            let mut f = (*f).clone();
            if let Some(keep) = &out_fields {
                f.attributes
                    .retain(|k, _| keep.iter().any(|x| x.name.eq_ignore_ascii_case(k)));
            }
            if q.return_geometry == Some(false) {
                f.geometry = None;
            }
            f
        })
        .collect();
    if let Some(keep) = out_fields {
        out.fields = Some(keep);
    }
    if q.return_geometry == Some(false) {
        out.geometry_type = None;
        out.spatial_reference = None;
    } else {
        let target = match (&q.out_sr, q.format) {
            (Some(sr), _) => Some(sr.clone()),
            (None, QueryFormat::GeoJson) => Some(SpatialReference::from_wkid(4326)),
            (None, QueryFormat::Json) => None,
        };
        if let Some(sr) = target {
            Crs::from_sr(&sr).map_err(|m| bad("outSR", m))?;
            project_feature_set(&mut out, &sr, &layer_sr).map_err(|m| bad("outSR", m))?;
        }
    }
    out.exceeded_transfer_limit = Some(exceeded);
    Ok(Answer::Features(Box::new(out)))
}

/// The answer as a response: `f=geojson` as a GeoJSON FeatureCollection, else
/// in the request's format.
pub(crate) fn respond(
    ctx: &Ctx,
    title: &str,
    q: &LayerQuery,
    a: Answer,
) -> Result<Response, ApiError> {
    let f = if ctx.f == F::Html { F::Pjson } else { ctx.f };
    Ok(match a {
        Answer::Count(c) => value_response(f, title, &[], &[], &c),
        Answer::Ids(i) => value_response(f, title, &[], &[], &i),
        Answer::Features(fs) if q.format == QueryFormat::GeoJson => {
            let exceeded = fs.exceeded_transfer_limit == Some(true);
            let mut fs = *fs;
            let text = ProcessToJson::to_json(&mut fs)
                .map_err(|e| ApiError::internal(format!("writing GeoJSON: {e}")))?;
            let mut v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| ApiError::internal(format!("writing GeoJSON: {e}")))?;
            if exceeded && let Some(o) = v.as_object_mut() {
                // As ArcGIS writes it: a member of the collection.
                o.insert(
                    "properties".into(),
                    serde_json::json!({"exceededTransferLimit": true}),
                );
            }
            bytes_response(
                serde_json::to_vec(&v).unwrap_or_default(),
                "application/geo+json; charset=utf-8",
            )
        }
        Answer::Features(fs) => value_response(f, title, &[], &[], &fs),
    })
}

/// Reads the query of this request.
pub(crate) fn read(ctx: &Ctx) -> Result<LayerQuery, ApiError> {
    LayerQuery::from_form(|k| ctx.params.get(k)).map_err(|e| bad(&e.param, &e.reason))
}

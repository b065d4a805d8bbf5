//! One result as `{"paramName", "dataType", "value"}` (`ResultParameter`): files as
//! URLs on the request's host, feature sets shaped by `outSR`, `returnZ`, `returnM`
//! and `maximumRecords`, drawable outputs of services with a result map service as a
//! `mapImage` unless `returnType=data`.

use gp_model::{
    DataRef, DataType, FeatureCollection, FeatureSet, GpValue, ParamName, ResultParameter,
    SpatialReference,
};

use crate::catalog::ServiceDef;
use crate::mapserver;
use crate::project::{project_feature_set, strip_dims};
use crate::record::{JobRecord, StoredOutput};
use crate::respond::ApiError;
use crate::state::{App, Ctx, eq};

/// The result `out` of job `rec` as answered to this request.
pub(crate) async fn result_param(
    app: &App,
    ctx: &Ctx,
    svc: &ServiceDef,
    rec: &JobRecord,
    out: &StoredOutput,
) -> Result<ResultParameter, ApiError> {
    let dt = out.data_type();
    let wants_data = ctx
        .params
        .get("returnType")
        .is_some_and(|t| eq(t.trim(), "data"));
    let drawable = matches!(
        dt,
        DataType::FeatureRecordSetLayer | DataType::RasterDataLayer
    );
    let param = |value| ResultParameter {
        param_name: ParamName::new(out.name()),
        data_type: dt.clone(),
        value,
    };
    let hosted = matches!(out, StoredOutput::Hosted { .. });
    if svc.result_map && !rec.synchronous && drawable && !wants_data && !hosted {
        let image = mapserver::result_map_image(app, ctx, svc, rec, out.name()).await?;
        return Ok(param(GpValue::MapImage(image)));
    }
    Ok(match out {
        StoredOutput::Hosted { service, .. } => param(GpValue::DataRef(DataRef {
            url: Some(ctx.url(&crate::hosted::layer_path(service))),
            ..Default::default()
        })),
        StoredOutput::File { name, format, .. } => param(GpValue::DataRef(DataRef {
            url: Some(crate::paths::scratch_url(ctx, svc, rec, name)),
            format: Some(format.clone()),
            ..Default::default()
        })),
        StoredOutput::Value(r) => match &r.value {
            GpValue::FeatureSet(fs) => {
                let fs = shape_features(app, ctx, svc, fs)?;
                let collection = ctx
                    .params
                    .bool("returnFeatureCollection")
                    .map_err(|e| ApiError::bad_param("returnFeatureCollection", &e))?;
                if collection == Some(true) {
                    param(GpValue::FeatureCollection(Box::new(feature_collection(
                        out.name(),
                        fs,
                    ))))
                } else {
                    param(GpValue::FeatureSet(fs))
                }
            }
            GpValue::RecordSet(fs) => param(GpValue::RecordSet(shape_features(app, ctx, svc, fs)?)),
            _ => (**r).clone(),
        },
    })
}

/// A stored feature set as this request asks for it. Over `maximumRecords` only the
/// schema is copied (the features are not), with `exceededTransferLimit`.
fn shape_features(
    app: &App,
    ctx: &Ctx,
    svc: &ServiceDef,
    stored: &FeatureSet,
) -> Result<FeatureSet, ApiError> {
    let out_sr = ctx
        .params
        .get("outSR")
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let sr = gp_model::parse_sr_text(s).map_err(|e| ApiError::bad_param("outSR", &e))?;
            crate::project::Crs::from_sr(&sr).map_err(|e| ApiError::bad_param("outSR", &e))?;
            Ok::<_, ApiError>(sr)
        })
        .transpose()?;
    let z = ctx
        .params
        .bool("returnZ")
        .map_err(|e| ApiError::bad_param("returnZ", &e))?;
    let m = ctx
        .params
        .bool("returnM")
        .map_err(|e| ApiError::bad_param("returnM", &e))?;
    if stored.features.len() as u64 > app.max_records(svc) {
        let mut fs = stored.schema_only();
        if let Some(sr) = out_sr {
            fs.spatial_reference = Some(sr);
        }
        fs.exceeded_transfer_limit = Some(true);
        return Ok(fs);
    }
    let mut fs = stored.clone();
    if let Some(sr) = out_sr {
        let from = fs
            .spatial_reference
            .clone()
            .unwrap_or_else(|| SpatialReference::from_wkid(4326));
        if fs.geometry_type.is_some() {
            project_feature_set(&mut fs, &sr, &from)
                .map_err(|e| ApiError::bad_param("outSR", &e))?;
        }
    }
    strip_dims(&mut fs, z != Some(false), m != Some(false));
    fs.exceeded_transfer_limit = Some(false);
    Ok(fs)
}

/// A feature set as `returnFeatureCollection=true` answers it: a layer definition
/// (name, geometry type, fields, object id field and a simple renderer) and the
/// features.
fn feature_collection(name: &str, fs: FeatureSet) -> FeatureCollection {
    let oid = fs
        .fields
        .iter()
        .flatten()
        .find(|f| f.field_type == gp_model::FieldType::Oid)
        .map(|f| f.name.clone());
    let layer_definition = serde_json::json!({
        "name": name,
        "type": "Feature Layer",
        "geometryType": fs.geometry_type,
        "objectIdField": oid,
        "fields": fs.fields,
        "drawingInfo": crate::joblayers::drawing_info(),
    });
    FeatureCollection {
        layer_definition,
        feature_set: fs,
    }
}

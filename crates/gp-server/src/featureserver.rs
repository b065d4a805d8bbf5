//! `Hosted/<name>/FeatureServer`: the service, its one layer (`0`) and the layer's
//! `query`, with the shapes ArcGIS Enterprise answers.

use std::sync::Arc;

use axum::response::Response;
use gp_model::{
    AdvancedQueryCapabilities, Envelope, LayerInfo, MapLayerEntry, MapServiceInfo, SpatialReference,
};

use crate::hosted::{FOLDER, HostedLayer};
use crate::layer_query::{self, QueryLayer};
use crate::respond::{ApiError, value_response};
use crate::state::{App, CURRENT_VERSION, Ctx, eq};

fn extent(l: &HostedLayer) -> Option<Envelope> {
    let sr =
        l.fs.spatial_reference
            .clone()
            .unwrap_or_else(|| SpatialReference::from_wkid(4326));
    let b = crate::render::feature_extent(&l.fs, &sr)?;
    let mut e = Envelope::new(b[0], b[1], b[2], b[3]);
    e.spatial_reference = Some(Box::new(sr));
    Some(e)
}

/// The layer's metadata, as `…/FeatureServer/0?f=json` answers it.
pub(crate) fn layer_info(l: &HostedLayer, max_records: u64) -> LayerInfo {
    LayerInfo {
        current_version: Some(CURRENT_VERSION),
        id: 0,
        name: l.name.clone(),
        layer_type: Some(if l.fs.geometry_type.is_some() {
            "Feature Layer".into()
        } else {
            "Table".into()
        }),
        description: None,
        geometry_type: l.fs.geometry_type.clone(),
        extent: extent(l),
        display_field: None,
        fields: l.fs.fields.clone(),
        drawing_info: None,
        min_scale: Some(0.0),
        max_scale: Some(0.0),
        ..queryable(&l.oid, max_records)
    }
}

/// The query abilities of a layer this server queries ([`layer_query`]).
pub(crate) fn queryable(oid: &str, max_records: u64) -> LayerInfo {
    LayerInfo {
        object_id_field: Some(oid.to_string()),
        max_record_count: Some(max_records),
        capabilities: Some("Query".into()),
        supported_query_formats: Some("JSON, geoJSON".into()),
        supports_advanced_queries: Some(true),
        advanced_query_capabilities: Some(AdvancedQueryCapabilities {
            supports_pagination: true,
            supports_order_by: true,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn service_info(l: &HostedLayer, max_records: u64) -> MapServiceInfo {
    let mut extra = serde_json::Map::new();
    extra.insert("supportedQueryFormats".into(), "JSON, geoJSON".into());
    extra.insert("hasVersionedData".into(), false.into());
    extra.insert("supportsPagination".into(), true.into());
    MapServiceInfo {
        current_version: Some(CURRENT_VERSION),
        service_description: Some(format!("Hosted feature layer {}", l.name)),
        map_name: None,
        layers: vec![MapLayerEntry {
            id: 0,
            name: l.name.clone(),
            parent_layer_id: -1,
            default_visibility: true,
            sub_layer_ids: None,
            min_scale: 0.0,
            max_scale: 0.0,
            layer_type: Some("Feature Layer".into()),
            geometry_type: l.fs.geometry_type.clone(),
        }],
        tables: Vec::new(),
        spatial_reference: l.fs.spatial_reference.clone(),
        initial_extent: extent(l),
        full_extent: extent(l),
        units: None,
        supported_image_format_types: None,
        capabilities: Some("Query".into()),
        max_image_height: None,
        max_image_width: None,
        max_record_count: Some(max_records),
        extra,
    }
}

/// The hosted layer `name` as `ctx`'s user may read it.
pub(crate) fn readable(app: &App, ctx: &Ctx, name: &str) -> Result<Arc<HostedLayer>, ApiError> {
    let l = app.hosted.get(name).ok_or_else(|| {
        ApiError::not_found(format!("Service {FOLDER}/{name}/FeatureServer not found"))
    })?;
    if let Some(owner) = &l.owner
        && ctx.user.as_deref() != Some(owner.as_str())
        && app.auth.enabled()
    {
        return Err(ApiError::forbidden());
    }
    Ok(l)
}

/// `…/Hosted/<name>/FeatureServer[/0[/query]]`.
pub(crate) fn featureserver(
    app: &Arc<App>,
    ctx: &Ctx,
    name: &str,
    rest: &[&str],
) -> Result<Response, ApiError> {
    let l = readable(app, ctx, name)?;
    let max = app.maximum_records;
    let title = format!("{FOLDER}/{} (FeatureServer)", l.name);
    match rest {
        [] => Ok(value_response(
            ctx.f,
            &title,
            &[],
            &[],
            &service_info(&l, max),
        )),
        [id, tail @ ..] if *id == "0" => match tail {
            [] => Ok(value_response(
                ctx.f,
                &title,
                &[],
                &[],
                &layer_info(&l, max),
            )),
            [q] if eq(q, "query") => {
                let query = layer_query::read(ctx)?;
                let layer = QueryLayer {
                    fs: &l.fs,
                    oid: &l.oid,
                    max_records: max,
                };
                let answer = layer_query::run(&layer, &query)?;
                layer_query::respond(ctx, &title, &query, answer)
            }
            _ => Err(ApiError::not_found(format!(
                "Resource {} not found",
                tail.join("/")
            ))),
        },
        [id, ..] => Err(ApiError::not_found(format!(
            "Layer {id} not found: the service has one layer, 0"
        ))),
    }
}

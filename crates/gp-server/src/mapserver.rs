//! The result map service: `…/<Svc>/MapServer/jobs/<jobId>` with its layers and
//! `export`, and the `mapImage` value of results on services that have one.

use std::sync::Arc;

use axum::response::Response;
use gp_model::geometry::GeometryType;
use gp_model::{FeatureSet, JobStatus, SpatialReference};
use serde_json::{Value, json};

use crate::app::{App, CURRENT_VERSION, Ctx};
use crate::catalog::ServiceDef;
use crate::gp::parse_sr;
use crate::jobs::{JobRecord, StoredOutput, new_id};
use crate::project::Crs;
use crate::render::{
    Format, Layer, MapRequest, feature_extent, fit_extent, raster_extent, render, scale,
};
use crate::request::F;
use crate::respond::{ApiError, bytes_response, value_response};

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A drawable output of a job.
struct JobLayer {
    id: usize,
    name: String,
    layer: Layer,
    sr: SpatialReference,
    geometry_type: Option<GeometryType>,
    fields: Value,
}

fn job_layers(app: &App, svc: &ServiceDef, rec: &JobRecord) -> Result<Vec<JobLayer>, ApiError> {
    let mut out = Vec::new();
    for (name, o) in &rec.results {
        match o {
            StoredOutput::Value { data_type, value } if data_type == "GPFeatureRecordSetLayer" => {
                let fs: FeatureSet = serde_json::from_value(value.clone())
                    .map_err(|e| ApiError::internal(format!("stored feature set {name}: {e}")))?;
                let sr = fs
                    .spatial_reference
                    .clone()
                    .unwrap_or_else(|| SpatialReference::from_wkid(4326));
                let fields = serde_json::to_value(&fs.fields).unwrap_or(Value::Null);
                out.push(JobLayer {
                    id: out.len(),
                    name: name.clone(),
                    geometry_type: fs.geometry_type.clone(),
                    layer: Layer::Features(Box::new(fs)),
                    sr,
                    fields,
                });
            }
            StoredOutput::File {
                data_type,
                name: file,
                ..
            } if data_type == "GPRasterDataLayer" => {
                let path = app
                    .jobs
                    .jobs_root()
                    .join(svc.jobs_dir_name())
                    .join(&rec.job_id)
                    .join("scratch")
                    .join(file);
                let epsg = raster_extent(&path).map(|(_, e)| e).unwrap_or(4326);
                out.push(JobLayer {
                    id: out.len(),
                    name: name.clone(),
                    geometry_type: None,
                    layer: Layer::Raster(path),
                    sr: SpatialReference::from_wkid(epsg),
                    fields: Value::Null,
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

fn layer_extent(l: &JobLayer, target: &SpatialReference) -> Option<[f64; 4]> {
    match &l.layer {
        Layer::Features(fs) => feature_extent(fs, target),
        Layer::Raster(p) => {
            let (b, epsg) = raster_extent(p)?;
            let from = Crs::from_wkid(epsg).ok()?;
            let to = Crs::from_sr(target).ok()?;
            if from.code == to.code {
                return Some(b);
            }
            let corners = [(b[0], b[1]), (b[0], b[3]), (b[2], b[1]), (b[2], b[3])];
            let pts: Vec<(f64, f64)> = corners
                .iter()
                .filter_map(|(x, y)| from.transform_xy(&to, *x, *y).ok())
                .collect();
            if pts.len() < 4 {
                return None;
            }
            Some([
                pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min),
                pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
                pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max),
                pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max),
            ])
        }
    }
}

fn union(a: Option<[f64; 4]>, b: Option<[f64; 4]>) -> Option<[f64; 4]> {
    match (a, b) {
        (Some(a), Some(b)) => Some([
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]),
        (x, None) | (None, x) => x,
    }
}

fn envelope_json(b: [f64; 4], sr: &SpatialReference) -> Value {
    json!({"xmin": b[0], "ymin": b[1], "xmax": b[2], "ymax": b[3], "spatialReference": sr})
}

fn units_of(sr: &SpatialReference) -> &'static str {
    match Crs::from_sr(sr) {
        Ok(c) if c.is_geographic() => "esriDecimalDegrees",
        _ => "esriMeters",
    }
}

fn job_record(app: &App, ctx: &Ctx, svc: &ServiceDef, id: &str) -> Result<JobRecord, ApiError> {
    let job = app
        .jobs
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("Job {id} not found")))?;
    let rec = job.snapshot();
    if !eq(&rec.service, &svc.qualified_name()) {
        return Err(ApiError::not_found(format!("Job {id} not found")));
    }
    if let Some(owner) = &rec.owner
        && ctx.user.as_deref() != Some(owner.as_str())
    {
        return Err(ApiError::forbidden());
    }
    if rec.status != JobStatus::Succeeded {
        return Err(ApiError::bad_request(format!(
            "Job {id} has no result map: its status is {}",
            rec.status
        )));
    }
    Ok(rec)
}

/// `…/MapServer[/jobs/<id>[/…]]`.
pub(crate) fn mapserver(
    app: &Arc<App>,
    ctx: &Ctx,
    svc: &ServiceDef,
    rest: &[&str],
) -> Result<Response, ApiError> {
    let title = format!("{} (MapServer)", svc.qualified_name());
    match rest {
        [] => {
            let v = json!({
                "currentVersion": CURRENT_VERSION,
                "serviceDescription": format!("Result map service of {}: one map per job at jobs/<jobId>.", svc.qualified_name()),
                "mapName": "Layers",
                "layers": [],
                "tables": [],
                "capabilities": "Map",
            });
            Ok(value_response(ctx.f, &title, &[], &[], &v))
        }
        [j, id, tail @ ..] if eq(j, "jobs") => {
            let rec = job_record(app, ctx, svc, id)?;
            let layers = job_layers(app, svc, &rec)?;
            match tail {
                [] => Ok(value_response(
                    ctx.f,
                    &title,
                    &[],
                    &[],
                    &map_info(svc, &layers),
                )),
                [e] if eq(e, "export") => {
                    let (bytes, req) = export(app, ctx, &layers, None)?;
                    if ctx.f == F::Image {
                        return Ok(bytes_response(bytes, req.format.mime()));
                    }
                    let v = save_image(app, ctx, bytes, &req)?;
                    Ok(value_response(ctx.f, &title, &[], &[], &v))
                }
                [n] => {
                    let l = n
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| layers.get(i))
                        .ok_or_else(|| {
                            ApiError::not_found(format!(
                                "Layer {n} not found in the map of job {id}"
                            ))
                        })?;
                    Ok(value_response(ctx.f, &title, &[], &[], &layer_info(l)))
                }
                _ => Err(ApiError::not_found(format!(
                    "Resource {} not found",
                    tail.join("/")
                ))),
            }
        }
        _ => Err(ApiError::not_found(format!(
            "Resource {} not found",
            rest.join("/")
        ))),
    }
}

fn map_info(svc: &ServiceDef, layers: &[JobLayer]) -> Value {
    let sr = layers
        .first()
        .map(|l| l.sr.clone())
        .unwrap_or_else(|| SpatialReference::from_wkid(4326));
    let ext = layers
        .iter()
        .fold(None, |acc, l| union(acc, layer_extent(l, &sr)));
    let ext_json = ext.map(|b| envelope_json(b, &sr)).unwrap_or(Value::Null);
    json!({
        "currentVersion": CURRENT_VERSION,
        "serviceDescription": format!("Results of {}", svc.qualified_name()),
        "mapName": "Layers",
        "description": "",
        "copyrightText": "",
        "supportsDynamicLayers": false,
        "layers": layers.iter().map(|l| json!({
            "id": l.id,
            "name": l.name,
            "parentLayerId": -1,
            "defaultVisibility": true,
            "subLayerIds": Value::Null,
            "minScale": 0,
            "maxScale": 0,
            "type": if matches!(l.layer, Layer::Raster(_)) { "Raster Layer" } else { "Feature Layer" },
            "geometryType": l.geometry_type,
        })).collect::<Vec<_>>(),
        "tables": [],
        "spatialReference": sr,
        "singleFusedMapCache": false,
        "initialExtent": ext_json,
        "fullExtent": ext_json,
        "units": units_of(&sr),
        "supportedImageFormatTypes": "PNG32,PNG24,PNG,JPG",
        "capabilities": "Map",
        "maxImageHeight": crate::render::MAX_SIDE,
        "maxImageWidth": crate::render::MAX_SIDE,
        "maxRecordCount": 1000,
        "supportedQueryFormats": "JSON",
        "exportTilesAllowed": false,
        "documentInfo": {"Title": svc.name, "Author": "gp-server", "Comments": "", "Subject": "", "Category": "", "Keywords": ""},
    })
}

fn layer_info(l: &JobLayer) -> Value {
    let ext = layer_extent(l, &l.sr)
        .map(|b| envelope_json(b, &l.sr))
        .unwrap_or(Value::Null);
    let raster = matches!(l.layer, Layer::Raster(_));
    let mut v = json!({
        "currentVersion": CURRENT_VERSION,
        "id": l.id,
        "name": l.name,
        "type": if raster { "Raster Layer" } else { "Feature Layer" },
        "description": "",
        "geometryType": l.geometry_type,
        "sourceSpatialReference": l.sr,
        "copyrightText": "",
        "parentLayer": Value::Null,
        "subLayers": [],
        "minScale": 0,
        "maxScale": 0,
        "defaultVisibility": true,
        "extent": ext,
        "hasAttachments": false,
        "htmlPopupType": "esriServerHTMLPopupTypeNone",
        "displayField": "",
        "fields": l.fields,
        "capabilities": "Map,Query,Data",
        "supportedQueryFormats": "JSON",
    });
    if !raster {
        v["drawingInfo"] = json!({"renderer": {"type": "simple", "symbol": {
            "type": "esriSFS", "style": "esriSFSSolid", "color": [0, 112, 255, 90],
            "outline": {"type": "esriSLS", "style": "esriSLSSolid", "color": [0, 60, 150, 255], "width": 1.1}
        }}});
    }
    v
}

fn parse_bbox(text: &str) -> Result<[f64; 4], ApiError> {
    let t = text.trim();
    if t.starts_with('{') {
        let v: Value = serde_json::from_str(t)
            .map_err(|e| ApiError::bad_param("bbox", &format!("not JSON: {e}")))?;
        let g = |k: &str| {
            v.get(k)
                .and_then(Value::as_f64)
                .ok_or_else(|| ApiError::bad_param("bbox", &format!("missing {k}")))
        };
        return Ok([g("xmin")?, g("ymin")?, g("xmax")?, g("ymax")?]);
    }
    let parts: Vec<f64> = t
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::bad_param("bbox", &format!("`{t}` is not xmin,ymin,xmax,ymax")))?;
    match parts.as_slice() {
        [a, b, c, d] => Ok([*a, *b, *c, *d]),
        _ => Err(ApiError::bad_param(
            "bbox",
            &format!("`{t}` is not xmin,ymin,xmax,ymax"),
        )),
    }
}

fn parse_size(text: Option<&str>) -> Result<(u32, u32), ApiError> {
    let Some(t) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok((400, 400));
    };
    let parts: Vec<&str> = t.split(',').map(str::trim).collect();
    let bad = || {
        ApiError::bad_param(
            "size",
            &format!(
                "`{t}` is not width,height in pixels (1–{})",
                crate::render::MAX_SIDE
            ),
        )
    };
    match parts.as_slice() {
        [w, h] => {
            let w: u32 = w.parse().map_err(|_| bad())?;
            let h: u32 = h.parse().map_err(|_| bad())?;
            if w == 0 || h == 0 || w > crate::render::MAX_SIDE || h > crate::render::MAX_SIDE {
                return Err(bad());
            }
            Ok((w, h))
        }
        _ => Err(bad()),
    }
}

/// Which layers `layers=show:0,1` etc. keeps.
fn layer_filter(text: Option<&str>, n: usize) -> Result<Vec<bool>, ApiError> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(vec![true; n]);
    };
    let (op, ids) = t.split_once(':').unwrap_or(("show", t));
    let ids: Vec<usize> = ids
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::bad_param(
                "layers",
                &format!("`{t}` is not show|hide|include|exclude:ids"),
            )
        })?;
    let has = |i: usize| ids.contains(&i);
    match op.trim().to_ascii_lowercase().as_str() {
        "show" => Ok((0..n).map(has).collect()),
        "include" => Ok((0..n).map(|_| true).collect()),
        "hide" | "exclude" => Ok((0..n).map(|i| !has(i)).collect()),
        other => Err(ApiError::bad_param(
            "layers",
            &format!("`{other}` is not show, hide, include or exclude"),
        )),
    }
}

/// Renders `layers` (all, or only `only`) with the request's export parameters.
fn export(
    app: &App,
    ctx: &Ctx,
    layers: &[JobLayer],
    only: Option<&str>,
) -> Result<(Vec<u8>, MapRequest), ApiError> {
    let _ = app;
    let p = &ctx.params;
    let size = parse_size(p.get("size"))?;
    let format_text = p.get("format").unwrap_or("png");
    let format = Format::parse(format_text).ok_or_else(|| {
        ApiError::bad_param(
            "format",
            &format!("`{format_text}` is not png, png8, png24, png32 or jpg"),
        )
    })?;
    let transparent = p
        .bool("transparent")
        .map_err(|e| ApiError::bad_param("transparent", &e))?
        .unwrap_or(false);
    if let Some(d) = p.get("dpi").filter(|d| !d.trim().is_empty()) {
        match d.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 && v <= 1200.0 => {}
            _ => {
                return Err(ApiError::bad_param(
                    "dpi",
                    &format!("`{d}` is not a resolution between 1 and 1200"),
                ));
            }
        }
    }
    let keep = layer_filter(p.get("layers"), layers.len())?;
    let chosen: Vec<&JobLayer> = layers
        .iter()
        .zip(keep)
        .filter(|(l, k)| *k && only.is_none_or(|o| eq(o, &l.name)))
        .map(|(l, _)| l)
        .collect();
    let bbox_sr = p
        .get("bboxSR")
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_sr("bboxSR", s))
        .transpose()?;
    let image_sr = p
        .get("imageSR")
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_sr("imageSR", s))
        .transpose()?;
    let sr = image_sr
        .or_else(|| bbox_sr.clone())
        .or_else(|| chosen.first().map(|l| l.sr.clone()))
        .unwrap_or_else(|| SpatialReference::from_wkid(4326));
    let bbox = match p.get("bbox").filter(|b| !b.trim().is_empty()) {
        Some(b) => {
            let b = parse_bbox(b)?;
            let from = bbox_sr.clone().unwrap_or_else(|| sr.clone());
            let fc = Crs::from_sr(&from).map_err(|e| ApiError::bad_param("bboxSR", &e))?;
            let tc = Crs::from_sr(&sr).map_err(|e| ApiError::bad_param("imageSR", &e))?;
            if fc.code == tc.code {
                b
            } else {
                let corners = [(b[0], b[1]), (b[0], b[3]), (b[2], b[1]), (b[2], b[3])];
                let mut pts = Vec::new();
                for (x, y) in corners {
                    pts.push(
                        fc.transform_xy(&tc, x, y)
                            .map_err(|e| ApiError::bad_param("bbox", &e))?,
                    );
                }
                [
                    pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min),
                    pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
                    pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max),
                    pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max),
                ]
            }
        }
        None => {
            let ext = chosen
                .iter()
                .fold(None, |acc, l| union(acc, layer_extent(l, &sr)));
            fit_extent(ext.unwrap_or([-180.0, -90.0, 180.0, 90.0]), size)
        }
    };
    let req = MapRequest {
        bbox,
        sr,
        size,
        transparent,
        format,
    };
    let drawn: Vec<Layer> = chosen.iter().map(|l| l.layer.clone()).collect();
    let bytes = render(&drawn, &req).map_err(|e| ApiError::bad_request(format!("export: {e}")))?;
    Ok((bytes, req))
}

fn save_image(app: &App, ctx: &Ctx, bytes: Vec<u8>, req: &MapRequest) -> Result<Value, ApiError> {
    std::fs::create_dir_all(&app.maps_dir)
        .map_err(|e| ApiError::internal(format!("map folder: {e}")))?;
    let name = format!("_ags_map{}.{}", new_id(""), req.format.extension());
    let path = app.maps_dir.join(&name);
    let tmp = app.maps_dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, &bytes)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| ApiError::internal(format!("writing the map image: {e}")))?;
    let dpi = ctx
        .params
        .get("dpi")
        .and_then(|d| d.trim().parse::<f64>().ok())
        .unwrap_or(96.0);
    Ok(json!({
        "href": ctx.url(&format!("/arcgis/rest/directories/arcgisoutput/_ags_map/{name}")),
        "width": req.size.0,
        "height": req.size.1,
        "extent": envelope_json(req.bbox, &req.sr),
        "scale": scale(req.bbox, req.size.0, dpi, &req.sr),
    }))
}

/// The `mapImage` object of result `name` (rendered now, served under arcgisoutput).
pub(crate) fn result_map_image(
    app: &App,
    ctx: &Ctx,
    svc: &ServiceDef,
    rec: &JobRecord,
    name: &str,
) -> Result<Value, ApiError> {
    let layers = job_layers(app, svc, rec)?;
    let (bytes, req) = export(app, ctx, &layers, Some(name))?;
    save_image(app, ctx, bytes, &req)
}

/// `results/<param>?f=image`: the image bytes.
pub(crate) fn result_image(
    app: &App,
    ctx: &Ctx,
    svc: &ServiceDef,
    rec: &JobRecord,
    name: &str,
) -> Result<Response, ApiError> {
    if !svc.result_map {
        return Err(ApiError::bad_request(format!(
            "{} has no result map service; use f=json",
            svc.qualified_name()
        )));
    }
    let layers = job_layers(app, svc, rec)?;
    let (bytes, req) = export(app, ctx, &layers, Some(name))?;
    Ok(bytes_response(bytes, req.format.mime()))
}

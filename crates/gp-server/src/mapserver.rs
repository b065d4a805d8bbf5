//! The result map service: `…/<Svc>/MapServer/jobs/<jobId>` with its layers and
//! `export`, and the `mapImage` value of results on services that have one.

use std::sync::Arc;

use axum::response::Response;
use gp_model::{Envelope, JobStatus, MapImage, MapServiceInfo, SpatialReference};

use crate::catalog::ServiceDef;
use crate::ids::new_id;
use crate::joblayers::{
    JobLayer, envelope, job_dir, job_layers, job_oid, layer_extent, layer_info, map_info, union,
};
use crate::project::Crs;
use crate::record::JobRecord;
use crate::render::{Format, Layer, MapRequest, fit_extent, render, scale};
use crate::request::F;
use crate::respond::{ApiError, bytes_response, value_response};
use crate::state::{App, CURRENT_VERSION, Ctx, eq};

/// A spatial reference parameter (`bboxSR`, `imageSR`) this server can project to.
fn parse_sr(name: &str, text: &str) -> Result<SpatialReference, ApiError> {
    let sr = gp_model::parse_sr_text(text).map_err(|e| ApiError::bad_param(name, &e))?;
    Crs::from_sr(&sr).map_err(|e| ApiError::bad_param(name, &e))?;
    Ok(sr)
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
pub(crate) async fn mapserver(
    app: &Arc<App>,
    ctx: &Ctx,
    svc: &ServiceDef,
    rest: &[&str],
) -> Result<Response, ApiError> {
    let title = format!("{} (MapServer)", svc.qualified_name());
    match rest {
        [] => {
            let v = MapServiceInfo {
                current_version: Some(CURRENT_VERSION),
                service_description: Some(format!(
                    "Result map service of {}: one map per job at jobs/<jobId>.",
                    svc.qualified_name()
                )),
                map_name: Some("Layers".into()),
                capabilities: Some("Map".into()),
                ..Default::default()
            };
            Ok(value_response(ctx.f, &title, &[], &[], &v))
        }
        [j, id, tail @ ..] if eq(j, "jobs") => {
            let rec = job_record(app, ctx, svc, id)?;
            let layers = job_layers(app, svc, &rec);
            match tail {
                [] => Ok(value_response(
                    ctx.f,
                    &title,
                    &[],
                    &[],
                    &map_info(svc, &layers),
                )),
                [e] if eq(e, "export") => {
                    let (bytes, req) = export(app, ctx, layers, None).await?;
                    if ctx.f == F::Image {
                        return Ok(bytes_response(bytes, req.format.mime()));
                    }
                    let v = save_image(app, ctx, svc, &rec, bytes, &req)?;
                    Ok(value_response(ctx.f, &title, &[], &[], &v))
                }
                [n, q @ ..] if q.len() <= 1 => {
                    let l = n
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| layers.get(i))
                        .ok_or_else(|| {
                            ApiError::not_found(format!(
                                "Layer {n} not found in the map of job {id}"
                            ))
                        })?;
                    let max = app.max_records(svc);
                    match (q, &l.layer) {
                        ([], _) => Ok(value_response(ctx.f, &title, &[], &[], &layer_info(l, max))),
                        ([q], Layer::Features(fs)) if eq(q, "query") => {
                            let oid = job_oid(fs);
                            let layer = crate::layer_query::QueryLayer {
                                fs,
                                oid: &oid,
                                max_records: max,
                            };
                            let query = crate::layer_query::read(ctx)?;
                            let answer = crate::layer_query::run(&layer, &query)?;
                            crate::layer_query::respond(ctx, &title, &query, answer)
                        }
                        _ => Err(ApiError::not_found(format!(
                            "Resource {} not found",
                            tail.join("/")
                        ))),
                    }
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

fn parse_bbox(text: &str) -> Result<[f64; 4], ApiError> {
    let t = text.trim();
    if t.starts_with('{') {
        let e: Envelope = serde_json::from_str(t).map_err(|e| {
            ApiError::bad_param("bbox", &format!("expected {{xmin, ymin, xmax, ymax}}: {e}"))
        })?;
        return e
            .bounds()
            .ok_or_else(|| ApiError::bad_param("bbox", "expected {xmin, ymin, xmax, ymax}"));
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

/// Renders `layers` (all, or only `only`) with the request's export parameters, on a
/// blocking thread, at most `render_slots` at once: a large export never holds up the
/// async threads that answer status requests.
async fn export(
    app: &App,
    ctx: &Ctx,
    layers: Vec<JobLayer>,
    only: Option<&str>,
) -> Result<(Vec<u8>, MapRequest), ApiError> {
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
    let chosen: Vec<JobLayer> = layers
        .into_iter()
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
    // Under the results, unless the client lays the image over a map of its own: the
    // countries, so an image shows where its result is.
    let base = (!transparent)
        .then(|| app.base_layer.clone().map(Layer::Base))
        .flatten();
    let drawn: Vec<Layer> = base
        .into_iter()
        .chain(chosen.into_iter().map(|l| l.layer))
        .collect();
    let permit = app
        .render_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::internal("the server is stopping"))?;
    let job = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        render(&drawn, &req).map(|bytes| (bytes, req))
    });
    match job.await {
        Ok(Ok(x)) => Ok(x),
        Ok(Err(e)) => Err(ApiError::bad_request(format!("export: {e}"))),
        Err(e) => Err(ApiError::internal(format!("export stopped: {e}"))),
    }
}

/// Writes an exported image into the job's scratch folder, so it is served (and
/// owner-checked, and expired) like the job's other files.
fn save_image(
    app: &App,
    ctx: &Ctx,
    svc: &ServiceDef,
    rec: &JobRecord,
    bytes: Vec<u8>,
    req: &MapRequest,
) -> Result<MapImage, ApiError> {
    let dir = job_dir(app, svc, rec).join("scratch");
    let name = format!("_ags_map{}.{}", new_id(""), req.format.extension());
    gp_fs::write_atomic(
        &dir.join(&name),
        &bytes,
        gp_fs::Options::new(false, gp_fs::Flush::Never),
    )
    .map_err(|e| ApiError::internal(format!("writing the map image: {e}")))?;
    let dpi = ctx
        .params
        .get("dpi")
        .and_then(|d| d.trim().parse::<f64>().ok())
        .unwrap_or(96.0);
    Ok(MapImage {
        href: crate::paths::scratch_url(ctx, svc, rec, &name),
        width: Some(req.size.0),
        height: Some(req.size.1),
        extent: Some(envelope(req.bbox, &req.sr)),
        scale: Some(scale(req.bbox, req.size.0, dpi, &req.sr)),
    })
}

/// The `mapImage` object of result `name` (rendered now, saved with the job's files).
pub(crate) async fn result_map_image(
    app: &App,
    ctx: &Ctx,
    svc: &ServiceDef,
    rec: &JobRecord,
    name: &str,
) -> Result<MapImage, ApiError> {
    let layers = job_layers(app, svc, rec);
    let (bytes, req) = export(app, ctx, layers, Some(name)).await?;
    save_image(app, ctx, svc, rec, bytes, &req)
}

/// `results/<param>?f=image`: the image bytes.
pub(crate) async fn result_image(
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
    let layers = job_layers(app, svc, rec);
    let (bytes, req) = export(app, ctx, layers, Some(name)).await?;
    Ok(bytes_response(bytes, req.format.mime()))
}

//! GPServer resources: service and task metadata, `execute`, `submitJob`, jobs,
//! results and inputs.

use std::sync::Arc;

use axum::response::Response;
use gp_model::{DataType, FeatureSet, GpValue, JobStatus, SpatialReference};
use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::app::{App, AppResolver, CURRENT_VERSION, Ctx};
use crate::catalog::{ServiceDef, TaskDef};
use crate::jobs::{Job, JobRecord, NewJob, StoredInput, StoredOutput};
use crate::project::{Crs, project_feature_set, strip_dims};
use crate::request::F;
use crate::respond::{ApiError, value_response};
use crate::tools::{Env, PrepareLimits};
use crate::{mapserver, uploads};

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn svc_path(svc: &ServiceDef) -> String {
    format!("/arcgis/rest/services/{}/GPServer", svc.qualified_name())
}

/// Characters escaped in a URL path segment (unreserved ones stay as they are).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment (`911 Calls` -> `911%20Calls`).
pub(crate) fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

fn crumbs(svc: &ServiceDef, task: Option<&str>) -> Vec<(String, String)> {
    let mut c = vec![
        ("Home".to_string(), "/arcgis/rest/services".to_string()),
        (svc.qualified_name(), svc_path(svc)),
    ];
    if let Some(t) = task {
        c.push((t.to_string(), format!("{}/{}", svc_path(svc), enc(t))));
    }
    c
}

/// `…/GPServer[/…]`.
pub(crate) async fn gpserver(
    app: &Arc<App>,
    ctx: &mut Ctx,
    svc: &ServiceDef,
    rest: &[&str],
) -> Result<Response, ApiError> {
    match rest {
        [] => Ok(service_info(app, ctx, svc)),
        [u, tail @ ..] if eq(u, "uploads") => {
            if !svc.uploads {
                return Err(ApiError::not_found(
                    "Uploads are not enabled on this service",
                ));
            }
            uploads::uploads(app, ctx, svc, tail)
        }
        [j, id, tail @ ..] if eq(j, "jobs") => job_resource(app, ctx, svc, None, id, tail),
        [t, tail @ ..] => {
            let Some(task) = svc.task(t) else {
                return Err(ApiError::not_found(format!(
                    "Task {t} not found in service {}",
                    svc.qualified_name()
                )));
            };
            match tail {
                [] => Ok(task_info(ctx, svc, task)),
                [op] if eq(op, "execute") => execute(app, ctx, svc, task).await,
                [op] if eq(op, "submitJob") => submit_job(app, ctx, svc, task),
                [j, id, tail @ ..] if eq(j, "jobs") => {
                    job_resource(app, ctx, svc, Some(task), id, tail)
                }
                _ => Err(ApiError::not_found(format!(
                    "Resource {} not found",
                    tail.join("/")
                ))),
            }
        }
    }
}

fn service_info(app: &App, ctx: &Ctx, svc: &ServiceDef) -> Response {
    let v = json!({
        "currentVersion": CURRENT_VERSION,
        "cimVersion": "3.3.0",
        "serviceDescription": svc.description,
        "tasks": svc.tasks.iter().map(|t| t.info.name.as_str()).collect::<Vec<_>>(),
        "executionType": if svc.synchronous { "esriExecutionTypeSynchronous" } else { "esriExecutionTypeAsynchronous" },
        "resultMapServerName": if svc.result_map { svc.name } else { "" },
        "maximumRecords": app.maximum_records,
        "capabilities": if svc.uploads { "Uploads" } else { "" },
    });
    let links: Vec<(String, String)> = svc
        .tasks
        .iter()
        .map(|t| {
            (
                t.info.name.to_string(),
                format!("{}/{}", svc_path(svc), enc(t.info.name.as_str())),
            )
        })
        .collect();
    value_response(
        ctx.f,
        &format!("{} (GPServer)", svc.qualified_name()),
        &crumbs(svc, None),
        &links,
        &v,
    )
}

fn task_info(ctx: &Ctx, svc: &ServiceDef, task: &TaskDef) -> Response {
    let mut v = serde_json::to_value(&task.info).unwrap_or(Value::Null);
    // Real servers write `defaultValue` on every parameter (null when none), and the
    // ArcGIS API for Python reads it unconditionally.
    for p in v["parameters"].as_array_mut().into_iter().flatten() {
        if let Some(o) = p.as_object_mut() {
            o.entry("defaultValue").or_insert(Value::Null);
        }
    }
    let op = if svc.synchronous {
        "execute"
    } else {
        "submitJob"
    };
    let links = vec![(
        op.to_string(),
        format!("{}/{}/{op}", svc_path(svc), enc(task.info.name.as_str())),
    )];
    value_response(
        ctx.f,
        &format!("Task: {}", task.info.name),
        &crumbs(svc, Some(task.info.name.as_str())),
        &links,
        &v,
    )
}

/// Parses a spatial reference parameter: a wkid or Esri JSON.
pub(crate) fn parse_sr(name: &str, text: &str) -> Result<SpatialReference, ApiError> {
    let t = text.trim();
    let sr = match t.parse::<i32>() {
        Ok(w) => SpatialReference::from_wkid(w),
        Err(_) => serde_json::from_str::<SpatialReference>(t).map_err(|e| {
            ApiError::bad_param(name, &format!("expected a wkid or {{\"wkid\": …}}: {e}"))
        })?,
    };
    Crs::from_sr(&sr).map_err(|e| ApiError::bad_param(name, &e))?;
    Ok(sr)
}

fn sr_from_json(name: &str, v: &Value) -> Result<SpatialReference, ApiError> {
    match v {
        Value::Number(n) => parse_sr(name, &n.to_string()),
        other => parse_sr(name, &other.to_string()),
    }
}

fn parse_env(ctx: &Ctx) -> Result<Env, ApiError> {
    let mut env = Env::default();
    if let Some(c) = ctx.params.get("context").filter(|c| !c.trim().is_empty()) {
        let v: Value = serde_json::from_str(c)
            .map_err(|e| ApiError::bad_param("context", &format!("not JSON: {e}")))?;
        let Some(o) = v.as_object() else {
            return Err(ApiError::bad_param("context", "expected a JSON object"));
        };
        if let Some(s) = o.get("outSR").filter(|v| !v.is_null()) {
            env.out_sr = Some(sr_from_json("context.outSR", s)?);
        }
        if let Some(s) = o.get("processSR").filter(|v| !v.is_null()) {
            env.process_sr = Some(sr_from_json("context.processSR", s)?);
        }
        if let Some(e) = o.get("extent").filter(|v| !v.is_null()) {
            env.extent = Some(parse_extent("context.extent", e)?);
        }
    }
    if env.out_sr.is_none()
        && let Some(s) = ctx.params.get("env:outSR").filter(|s| !s.trim().is_empty())
    {
        env.out_sr = Some(parse_sr("env:outSR", s)?);
    }
    if env.process_sr.is_none()
        && let Some(s) = ctx
            .params
            .get("env:processSR")
            .filter(|s| !s.trim().is_empty())
    {
        env.process_sr = Some(parse_sr("env:processSR", s)?);
    }
    Ok(env)
}

fn parse_extent(name: &str, v: &Value) -> Result<gp_model::geometry::Envelope, ApiError> {
    let g = gp_model::geometry::Geometry::from_json(&v.to_string()).map_err(|e| {
        ApiError::bad_param(
            name,
            &format!("expected {{xmin, ymin, xmax, ymax, spatialReference}}: {e}"),
        )
    })?;
    let gp_model::geometry::Geometry::Envelope(e) = g else {
        return Err(ApiError::bad_param(
            name,
            "expected an envelope {xmin, ymin, xmax, ymax}",
        ));
    };
    match e.bounds() {
        Some([a, b, c, d]) if a <= c && b <= d => {}
        _ => {
            return Err(ApiError::bad_param(
                name,
                "expected xmin <= xmax and ymin <= ymax",
            ));
        }
    }
    if let Some(sr) = &e.spatial_reference {
        Crs::from_sr(sr).map_err(|m| ApiError::bad_param(name, &m))?;
    }
    Ok(e)
}

fn fill_schema(fs: &mut FeatureSet, default: Option<&GpValue>) {
    let Some(GpValue::FeatureSet(d)) = default else {
        return;
    };
    if fs.geometry_type.is_none() {
        fs.geometry_type = d.geometry_type.clone();
    }
    if fs.spatial_reference.is_none() {
        fs.spatial_reference = d.spatial_reference.clone();
    }
    if fs.fields.as_ref().is_none_or(|f| f.is_empty()) {
        fs.fields = d.fields.clone();
    }
}

fn prepare_job(app: &App, ctx: &Ctx, svc: &ServiceDef, task: &TaskDef) -> Result<NewJob, ApiError> {
    let env = parse_env(ctx)?;
    let mut inputs: IndexMap<String, GpValue> = IndexMap::new();
    for p in task.info.inputs() {
        let name = p.name.as_str();
        let default = p
            .default_gp_value()
            .map_err(|e| ApiError::internal(format!("default of {name}: {e}")))?;
        let text = ctx.params.get(name).filter(|t| !t.trim().is_empty());
        let mut value = match text {
            None => default.clone().unwrap_or(GpValue::Null),
            Some(t) => GpValue::parse_text(&p.data_type, t)
                .map_err(|e| ApiError::bad_param(name, &e.to_string()))?,
        };
        if let GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) = &mut value {
            fill_schema(fs, default.as_ref());
        }
        value
            .validate()
            .map_err(|e| ApiError::bad_param(name, &e.to_string()))?;
        if let (Some(choices), GpValue::String(s)) = (p.choices(), &value) {
            match choices.iter().find(|c| eq(c, s)) {
                Some(c) => value = GpValue::String(c.clone()),
                None => {
                    return Err(ApiError::bad_param(
                        name,
                        &format!("`{s}` is not one of {}", choices.join(", ")),
                    ));
                }
            }
        }
        // A required input left out may fall back to its default, unless that default
        // is only a schema (an empty feature or record set).
        let schema_only = text.is_none()
            && matches!(&value, GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) if fs.features.is_empty());
        if p.is_required() && (matches!(value, GpValue::Null) || schema_only) {
            return Err(ApiError::bad_param(name, "a value is required"));
        }
        inputs.insert(name.to_string(), value);
    }
    let resolver = AppResolver {
        app,
        user: ctx.user.as_deref(),
    };
    let prepared = task
        .tool
        .prepare(
            &inputs,
            &resolver,
            PrepareLimits {
                max_vertices: app.max_vertices,
            },
        )
        .map_err(|b| ApiError::bad_param(&b.param, &b.reason))?;
    let stored: IndexMap<String, StoredInput> = task
        .info
        .inputs()
        .filter_map(|p| {
            inputs.get(p.name.as_str()).map(|v| {
                (
                    p.name.to_string(),
                    StoredInput {
                        data_type: p.data_type.to_string(),
                        value: v.to_json(),
                    },
                )
            })
        })
        .collect();
    Ok(NewJob {
        service: svc.qualified_name(),
        jobs_dir: svc.jobs_dir_name(),
        task: task.info.name.to_string(),
        owner: ctx.user.clone(),
        synchronous: svc.synchronous,
        inputs: stored,
        output_types: task
            .info
            .outputs()
            .map(|p| (p.name.to_string(), p.data_type.to_string()))
            .collect(),
        prepared,
        env,
        timeout: task.timeout,
    })
}

async fn execute(
    app: &Arc<App>,
    ctx: &Ctx,
    svc: &ServiceDef,
    task: &TaskDef,
) -> Result<Response, ApiError> {
    if !svc.synchronous {
        return Err(ApiError::bad_request(format!(
            "{} is an asynchronous service: use submitJob, not execute",
            svc.qualified_name()
        )));
    }
    let job = start_job(app, ctx, svc, task)?;
    job.wait_finished().await;
    let rec = job.snapshot();
    let messages = messages_json(&rec);
    if rec.status != JobStatus::Succeeded {
        let details: Vec<String> = rec
            .messages
            .iter()
            .filter(|m| m.severity() >= gp_model::Severity::Error)
            .map(|m| m.description.clone())
            .collect();
        return Err(ApiError::new(500, "Error executing tool.", details));
    }
    let mut results = Vec::new();
    for (name, out) in &rec.results {
        results.push(result_json(app, ctx, svc, &rec, name, out)?);
    }
    let v = json!({"results": results, "messages": messages});
    Ok(value_response(
        ctx.f,
        "Execute results",
        &crumbs(svc, Some(task.info.name.as_str())),
        &[],
        &v,
    ))
}

/// Checks the inputs and starts a job (queued behind the worker pool).
fn start_job(app: &App, ctx: &Ctx, svc: &ServiceDef, task: &TaskDef) -> Result<Arc<Job>, ApiError> {
    let new = prepare_job(app, ctx, svc, task)?;
    app.jobs
        .submit(new)
        .map_err(|e| ApiError::internal(format!("creating the job folder: {e}")))
}

fn submit_job(
    app: &Arc<App>,
    ctx: &Ctx,
    svc: &ServiceDef,
    task: &TaskDef,
) -> Result<Response, ApiError> {
    if svc.synchronous {
        return Err(ApiError::bad_request(format!(
            "{} is a synchronous service: use execute, not submitJob",
            svc.qualified_name()
        )));
    }
    let job = start_job(app, ctx, svc, task)?;
    let rec = job.snapshot();
    let v = json!({"jobId": rec.job_id, "jobStatus": JobStatus::Submitted});
    Ok(value_response(
        if ctx.f == F::Html { F::Pjson } else { ctx.f },
        "Job submitted",
        &crumbs(svc, Some(task.info.name.as_str())),
        &[],
        &v,
    ))
}

fn messages_json(rec: &JobRecord) -> Value {
    serde_json::to_value(&rec.messages).unwrap_or(Value::Array(vec![]))
}

fn find_job(
    app: &App,
    ctx: &Ctx,
    svc: &ServiceDef,
    task: Option<&TaskDef>,
    id: &str,
) -> Result<Arc<Job>, ApiError> {
    let not_found = || ApiError::not_found(format!("Job {id} not found"));
    let job = app.jobs.get(id).ok_or_else(not_found)?;
    let rec = job.snapshot();
    if !eq(&rec.service, &svc.qualified_name())
        || task.is_some_and(|t| !eq(t.info.name.as_str(), &rec.task))
    {
        return Err(not_found());
    }
    if let Some(owner) = &rec.owner
        && ctx.user.as_deref() != Some(owner.as_str())
    {
        return Err(ApiError::forbidden());
    }
    Ok(job)
}

fn job_resource(
    app: &Arc<App>,
    ctx: &Ctx,
    svc: &ServiceDef,
    task: Option<&TaskDef>,
    id: &str,
    tail: &[&str],
) -> Result<Response, ApiError> {
    let job = find_job(app, ctx, svc, task, id)?;
    let rec = job.snapshot();
    let title = format!("Job {id}");
    let cr = crumbs(svc, Some(&rec.task));
    match tail {
        [] => {
            let v = job_status_json(ctx, &job, &rec)?;
            let links: Vec<(String, String)> = rec
                .results
                .keys()
                .map(|k| {
                    (
                        format!("results/{k}"),
                        format!(
                            "{}/{}/jobs/{id}/results/{}",
                            svc_path(svc),
                            enc(&rec.task),
                            enc(k)
                        ),
                    )
                })
                .collect();
            Ok(value_response(ctx.f, &title, &cr, &links, &v))
        }
        [c] if eq(c, "cancel") => match app.jobs.cancel(&job) {
            Some(s) => Ok(value_response(
                if ctx.f == F::Html { F::Pjson } else { ctx.f },
                &title,
                &cr,
                &[],
                &json!({"jobId": id, "jobStatus": s}),
            )),
            None => Err(ApiError::new(
                400,
                "Invalid or missing input parameters.",
                vec![format!(
                    "Job {id} has already ended ({}); only waiting or executing jobs can be cancelled.",
                    rec.status
                )],
            )),
        },
        [r] if eq(r, "results") => {
            let mut arr = Vec::new();
            if rec.status == JobStatus::Succeeded {
                for (name, out) in &rec.results {
                    arr.push(result_json(app, ctx, svc, &rec, name, out)?);
                }
            }
            Ok(value_response(ctx.f, &title, &cr, &[], &Value::Array(arr)))
        }
        [r, p] if eq(r, "results") => {
            if rec.status != JobStatus::Succeeded {
                return Err(ApiError::bad_request(format!(
                    "Job {id} has no results: its status is {}",
                    rec.status
                )));
            }
            let Some((name, out)) = rec.results.iter().find(|(k, _)| eq(k, p)) else {
                return Err(ApiError::not_found(format!(
                    "Result parameter {p} not found in job {id}"
                )));
            };
            if ctx.f == F::Image {
                return mapserver::result_image(app, ctx, svc, &rec, name);
            }
            let v = result_json(app, ctx, svc, &rec, name, out)?;
            Ok(value_response(
                ctx.f,
                &format!("{title}: {name}"),
                &cr,
                &[],
                &v,
            ))
        }
        [i] if eq(i, "inputs") => {
            let arr: Vec<Value> = rec
                .inputs
                .iter()
                .map(|(k, v)| json!({"paramName": k, "dataType": v.data_type, "value": v.value}))
                .collect();
            Ok(value_response(ctx.f, &title, &cr, &[], &Value::Array(arr)))
        }
        [i, p] if eq(i, "inputs") => {
            let Some((k, v)) = rec.inputs.iter().find(|(k, _)| eq(k, p)) else {
                return Err(ApiError::not_found(format!(
                    "Input parameter {p} not found in job {id}"
                )));
            };
            let v = json!({"paramName": k, "dataType": v.data_type, "value": v.value});
            Ok(value_response(
                ctx.f,
                &format!("{title}: {k}"),
                &cr,
                &[],
                &v,
            ))
        }
        _ => Err(ApiError::not_found(format!(
            "Resource {} not found",
            tail.join("/")
        ))),
    }
}

fn job_status_json(ctx: &Ctx, job: &Job, rec: &JobRecord) -> Result<Value, ApiError> {
    let mut v = json!({"jobId": rec.job_id, "jobStatus": rec.status});
    if rec.status == JobStatus::Executing
        && let Some(p) = job.log.progress()
    {
        v["progress"] = serde_json::to_value(p).unwrap_or(Value::Null);
    }
    if rec.status == JobStatus::Succeeded {
        let results: serde_json::Map<String, Value> = rec
            .results
            .keys()
            .map(|k| (k.clone(), json!({"paramUrl": format!("results/{k}")})))
            .collect();
        let inputs: serde_json::Map<String, Value> = rec
            .inputs
            .keys()
            .map(|k| (k.clone(), json!({"paramUrl": format!("inputs/{k}")})))
            .collect();
        v["results"] = Value::Object(results);
        v["inputs"] = Value::Object(inputs);
    }
    let return_messages = ctx
        .params
        .bool("returnMessages")
        .map_err(|e| ApiError::bad_param("returnMessages", &e))?;
    if return_messages != Some(false) {
        v["messages"] = messages_json(rec);
    }
    Ok(v)
}

/// `{"paramName", "dataType", "value"}` of one result, honouring `returnType`,
/// `outSR`, `returnZ`, `returnM` and `maximumRecords`.
pub(crate) fn result_json(
    app: &App,
    ctx: &Ctx,
    svc: &ServiceDef,
    rec: &JobRecord,
    name: &str,
    out: &StoredOutput,
) -> Result<Value, ApiError> {
    let (data_type, value) = match out {
        StoredOutput::Value { data_type, value } => (data_type.as_str(), value.clone()),
        StoredOutput::File {
            data_type,
            name: file,
            format,
        } => {
            let root = if rec.synchronous {
                "arcgisoutput"
            } else {
                "arcgisjobs"
            };
            let url = ctx.url(&format!(
                "/arcgis/rest/directories/{root}/{}/{}/scratch/{}",
                svc.jobs_dir_name(),
                rec.job_id,
                enc(file)
            ));
            (data_type.as_str(), json!({"url": url, "format": format}))
        }
    };
    let dt = DataType::parse(data_type);
    let wants_data = ctx
        .params
        .get("returnType")
        .is_some_and(|t| eq(t.trim(), "data"));
    let drawable = matches!(
        dt,
        DataType::FeatureRecordSetLayer | DataType::RasterDataLayer
    );
    if svc.result_map && !rec.synchronous && drawable && !wants_data {
        let image = mapserver::result_map_image(app, ctx, svc, rec, name)?;
        return Ok(json!({"paramName": name, "dataType": data_type, "value": {"mapImage": image}}));
    }
    let value = match dt {
        DataType::FeatureRecordSetLayer | DataType::RecordSet if value.is_object() => {
            shape_features(app, ctx, value)?
        }
        _ => value,
    };
    Ok(json!({"paramName": name, "dataType": data_type, "value": value}))
}

fn shape_features(app: &App, ctx: &Ctx, value: Value) -> Result<Value, ApiError> {
    let mut fs: FeatureSet = serde_json::from_value(value)
        .map_err(|e| ApiError::internal(format!("stored feature set: {e}")))?;
    if let Some(s) = ctx.params.get("outSR").filter(|s| !s.trim().is_empty()) {
        let sr = parse_sr("outSR", s)?;
        let from = fs
            .spatial_reference
            .clone()
            .unwrap_or_else(|| SpatialReference::from_wkid(4326));
        if fs.geometry_type.is_some() {
            project_feature_set(&mut fs, &sr, &from)
                .map_err(|e| ApiError::bad_param("outSR", &e))?;
        }
    }
    let z = ctx
        .params
        .bool("returnZ")
        .map_err(|e| ApiError::bad_param("returnZ", &e))?;
    let m = ctx
        .params
        .bool("returnM")
        .map_err(|e| ApiError::bad_param("returnM", &e))?;
    strip_dims(&mut fs, z != Some(false), m != Some(false));
    if fs.features.len() as u64 > app.maximum_records {
        fs.features.clear();
        fs.exceeded_transfer_limit = Some(true);
    } else {
        fs.exceeded_transfer_limit = Some(false);
    }
    serde_json::to_value(&fs).map_err(|e| ApiError::internal(e.to_string()))
}

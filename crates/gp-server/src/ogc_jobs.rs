//! OGC execution and jobs: `POST /processes/{id}/execution` (synchronous, or a job
//! with `Prefer: respond-async`), `/jobs`, `/jobs/{id}`, `/jobs/{id}/results` and
//! `DELETE /jobs/{id}`, on the job manager's jobs.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use gp_model::ogc::{self, ExecuteRequest, JobList, Link, OgcStatus, StatusInfo, values};
use gp_model::{DataRef, GpValue, JobStatus};
use serde_json::{Map, Value};

use crate::catalog::ServiceDef;
use crate::jobs::Job;
use crate::ogc::{ROOT, find, from_api, json, problem, process_id};
use crate::record::{JobRecord, StoredOutput};
use crate::respond::ApiError;
use crate::state::{App, Ctx, eq};

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The service and process id of a job.
fn origin<'a>(app: &'a App, rec: &JobRecord) -> Option<(&'a ServiceDef, String)> {
    let svc = app
        .catalog
        .services
        .iter()
        .find(|s| eq(&s.qualified_name(), &rec.service))?;
    let task = svc.task(&rec.task)?;
    Some((svc, process_id(app, svc, task)))
}

fn status_info(app: &App, ctx: &Ctx, job: &Job, rec: &JobRecord) -> StatusInfo {
    let base = ctx.url(ROOT);
    let status = OgcStatus::of(rec.status.clone());
    let mut links = vec![Link::new(
        format!("{base}/jobs/{}", rec.job_id),
        "self",
        "application/json",
    )];
    if status == OgcStatus::Successful {
        links.push(Link::new(
            format!("{base}/jobs/{}/results", rec.job_id),
            ogc::REL_RESULTS,
            "application/json",
        ));
    }
    let progress = match status {
        OgcStatus::Successful => Some(100),
        OgcStatus::Running => job
            .log
            .progress()
            .and_then(|p| p.percent)
            .map(|p| p.clamp(0.0, 100.0) as u8),
        _ => None,
    };
    StatusInfo {
        process_id: origin(app, rec).map(|(_, id)| id),
        job_type: "process".into(),
        job_id: rec.job_id.clone(),
        status,
        message: rec.messages.last().map(|m| m.description.clone()),
        created: Some(rfc3339(rec.submitted)),
        started: None,
        finished: rec.ended.map(rfc3339),
        updated: rec.ended.map(rfc3339),
        progress,
        links,
    }
}

/// The job `id` as the request's user may see it.
fn owned(app: &App, ctx: &Ctx, id: &str) -> Result<Arc<Job>, Box<Response>> {
    let no_job = || {
        Box::new(problem(
            StatusCode::NOT_FOUND,
            ogc::EXC_NO_SUCH_JOB,
            format!("there is no job `{id}`"),
        ))
    };
    let job = app.jobs.get(id).ok_or_else(no_job)?;
    let rec = job.snapshot();
    if let Some(owner) = &rec.owner
        && ctx.user.as_deref() != Some(owner.as_str())
    {
        return Err(no_job());
    }
    Ok(job)
}

/// The results of a successful job: inline values, files and hosted layers as links.
fn results_of(ctx: &Ctx, svc: &ServiceDef, rec: &JobRecord) -> Map<String, Value> {
    rec.results
        .iter()
        .map(|o| {
            let v = match o {
                StoredOutput::Value(r) => values::output_value(&r.value),
                StoredOutput::File { name, format, .. } => {
                    values::output_value(&GpValue::DataRef(DataRef {
                        url: Some(crate::paths::scratch_url(ctx, svc, rec, name)),
                        format: Some(format.clone()),
                        ..Default::default()
                    }))
                }
                StoredOutput::Hosted { service, .. } => serde_json::json!({
                    "href": ctx.url(&crate::hosted::layer_path(service)),
                    "type": "application/json",
                }),
            };
            (o.name().to_string(), v)
        })
        .collect()
}

/// `POST /processes/{id}/execution`.
pub(crate) async fn execute(app: &Arc<App>, ctx: &Ctx, id: &str) -> Response {
    let (pid, svc, task) = match find(app, id) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let bad = |m: String| {
        problem(
            StatusCode::BAD_REQUEST,
            "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/invalid-parameter-value",
            m,
        )
    };
    let body = ctx.json_body.as_deref().unwrap_or(b"{}");
    // serde would read a struct from an array too: an execute request is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return bad("the body is not an execute request: a JSON object with `inputs`".into());
    }
    let req: ExecuteRequest = match gp_model::from_json_slice("execute request", body) {
        Ok(r) => r,
        Err(e) => {
            return bad(format!(
                "the body is not an execute request (JSON with `inputs`): {e}"
            ));
        }
    };
    if let Some(r) = req.response.as_deref()
        && r != "raw"
        && r != "document"
    {
        return bad(format!("response: `{r}` is neither raw nor document"));
    }
    if let Some(unknown) = req
        .inputs
        .keys()
        .find(|k| !task.info.inputs().any(|p| eq(p.name.as_str(), k)))
    {
        let known: Vec<&str> = task.info.inputs().map(|p| p.name.as_str()).collect();
        return bad(format!(
            "`{unknown}` is not an input of {pid} (inputs: {})",
            known.join(", ")
        ));
    }
    let given = |p: &gp_model::ParameterInfo| -> Result<Option<GpValue>, ApiError> {
        let v = req
            .inputs
            .iter()
            .find(|(k, _)| eq(k, p.name.as_str()))
            .map(|(_, v)| v);
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(v) if values::is_inline_file(p, v) => inline_file(app, ctx, svc, p, v).map(Some),
            Some(v) => values::input_value(p, v)
                .map(Some)
                .map_err(|e| ApiError::bad_param(p.name.as_str(), &e.to_string())),
        }
    };
    let mut new = match crate::submit::prepare_job(app, ctx, svc, task, &given) {
        Ok(n) => n,
        Err(e) => return from_api(&e),
    };
    // Every OGC execution is a job the manager keeps, listed and followed, the
    // synchronous services' too.
    new.synchronous = false;
    let job = match app.jobs.submit(new) {
        Ok(j) => j,
        Err(e) => {
            return from_api(&ApiError::internal(format!(
                "creating the job folder: {}",
                e.kind()
            )));
        }
    };
    let refs = req.by_reference();
    if !refs.is_empty() {
        // Kept with the job: its results document links these outputs.
        let bytes = serde_json::to_vec(&refs).unwrap_or_default();
        let kept = gp_fs::write_atomic(
            &job.dir.join(REFERENCES),
            &bytes,
            gp_fs::Options::new(true, gp_fs::Flush::Data),
        );
        if let Err(e) = kept {
            return from_api(&ApiError::internal(format!(
                "recording the outputs asked for: {e}"
            )));
        }
    }
    let prefer_async = ctx
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("respond-async"));
    let location = ctx.url(&format!("{ROOT}/jobs/{}", job.snapshot().job_id));
    if prefer_async {
        let rec = job.snapshot();
        let mut r = json(StatusCode::CREATED, &status_info(app, ctx, &job, &rec));
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r.headers_mut().insert(
            "preference-applied",
            HeaderValue::from_static("respond-async"),
        );
        return r;
    }
    job.wait_finished().await;
    let rec = job.snapshot();
    if rec.status != JobStatus::Succeeded {
        return failed(&rec);
    }
    let results = linked(ctx, &rec, results_of(ctx, svc, &rec), &refs);
    let raw = req.response.as_deref().is_none_or(|r| r == "raw");
    let mut r = match results.values().next() {
        // One output, raw: the value itself.
        Some(v) if raw && results.len() == 1 => json(StatusCode::OK, v),
        _ => json(StatusCode::OK, &results),
    };
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The problem of a job that ended without results, with its error messages.
fn failed(rec: &JobRecord) -> Response {
    let errors: Vec<String> = rec
        .messages
        .iter()
        .filter(|m| m.severity() >= gp_model::Severity::Error)
        .map(|m| m.description.clone())
        .collect();
    let detail = if errors.is_empty() {
        format!("the job ended {}", rec.status)
    } else {
        errors.join("; ")
    };
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/job-failed",
        detail,
    )
}

/// `GET /jobs`.
pub(crate) fn list(app: &Arc<App>, ctx: &Ctx) -> Response {
    let jobs = app
        .jobs
        .list()
        .into_iter()
        .filter_map(|j| {
            let rec = j.snapshot();
            let mine = rec
                .owner
                .as_deref()
                .is_none_or(|o| ctx.user.as_deref() == Some(o));
            mine.then(|| status_info(app, ctx, &j, &rec))
        })
        .collect();
    json(
        StatusCode::OK,
        &JobList {
            jobs,
            links: vec![Link::new(
                ctx.url(&format!("{ROOT}/jobs")),
                "self",
                "application/json",
            )],
        },
    )
}

/// `GET /jobs/{id}`.
pub(crate) fn status(app: &Arc<App>, ctx: &Ctx, id: &str) -> Response {
    match owned(app, ctx, id) {
        Ok(job) => {
            let rec = job.snapshot();
            json(StatusCode::OK, &status_info(app, ctx, &job, &rec))
        }
        Err(r) => *r,
    }
}

/// The file in a job's folder naming the outputs asked for by reference.
const REFERENCES: &str = "ogc-references.json";

/// `results` with the outputs in `refs` replaced by links to
/// `/jobs/{id}/results/{output}`.
fn linked(
    ctx: &Ctx,
    rec: &JobRecord,
    mut results: Map<String, Value>,
    refs: &[String],
) -> Map<String, Value> {
    for name in refs {
        if let Some(v) = results.get_mut(name) {
            *v = serde_json::json!({
                "href": ctx.url(&format!("{ROOT}/jobs/{}/results/{}", rec.job_id, crate::paths::enc(name))),
                "type": "application/json",
            });
        }
    }
    results
}

/// `GET /jobs/{id}/results[/{output}]`: every output (those asked for by reference
/// as links), or one output's value.
pub(crate) fn results(app: &Arc<App>, ctx: &Ctx, id: &str, output: Option<&str>) -> Response {
    let job = match owned(app, ctx, id) {
        Ok(j) => j,
        Err(r) => return *r,
    };
    let rec = job.snapshot();
    if !rec.status.is_terminal() {
        return problem(
            StatusCode::NOT_FOUND,
            ogc::EXC_RESULT_NOT_READY,
            format!("job {id} is {}", OgcStatus::of(rec.status.clone()).as_str()),
        );
    }
    if rec.status != JobStatus::Succeeded {
        return failed(&rec);
    }
    let Some((svc, _)) = origin(app, &rec) else {
        return problem(
            StatusCode::NOT_FOUND,
            ogc::EXC_NO_SUCH_JOB,
            format!("job {id} belongs to no published process"),
        );
    };
    let all = results_of(ctx, svc, &rec);
    if let Some(name) = output {
        return match all.iter().find(|(k, _)| eq(k, name)) {
            Some((_, v)) => json(StatusCode::OK, v),
            None => problem(
                StatusCode::NOT_FOUND,
                "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-output",
                format!("job {id} has no output `{name}`"),
            ),
        };
    }
    let refs: Vec<String> = std::fs::read(job.dir.join(REFERENCES))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    json(StatusCode::OK, &linked(ctx, &rec, all, &refs))
}

/// `DELETE /jobs/{id}`: cancelled if it runs, then removed with its files.
pub(crate) fn dismiss(app: &Arc<App>, ctx: &Ctx, id: &str) -> Response {
    let job = match owned(app, ctx, id) {
        Ok(j) => j,
        Err(r) => return *r,
    };
    app.jobs.dismiss(&job);
    let rec = job.snapshot();
    let mut info = status_info(app, ctx, &job, &rec);
    info.status = OgcStatus::Dismissed;
    info.message = Some("Dismissed.".into());
    info.links.retain(|l| l.rel.as_deref() == Some("self"));
    json(StatusCode::OK, &info)
}

/// A file input sent inline (`{"value": <base64>, "encoding": "base64", "mediaType"}`):
/// decoded and kept as an upload of the caller's, which the tool then reads.
fn inline_file(
    app: &App,
    ctx: &Ctx,
    svc: &ServiceDef,
    p: &gp_model::ParameterInfo,
    v: &Value,
) -> Result<GpValue, ApiError> {
    use base64::Engine;
    let name = p.name.as_str();
    let text = v.get("value").and_then(Value::as_str).unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| {
            ApiError::bad_param(name, &format!("the base64 value does not decode: {e}"))
        })?;
    let media = v
        .get("mediaType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let file_name = format!("{name}.{}", values::extension_of(media));
    let incoming = app
        .uploads
        .receive_bytes(&file_name, &bytes, ctx.user.clone())?;
    let item = app
        .uploads
        .store_single(incoming, svc, "an inline OGC input")?;
    Ok(GpValue::DataRef(DataRef {
        item_id: Some(item.item_id),
        ..Default::default()
    }))
}

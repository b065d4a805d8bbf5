//! `execute` and `submitJob`: inputs read by their parameters' rules (gp-model's
//! `ParameterInfo::input_value` and `RunContext`, the same the client checks before it
//! sends), prepared by the tool, and started as a job.

use std::sync::Arc;

use axum::response::Response;
use gp_model::{
    ExecuteResponse, GpValue, JobStatus, ParameterInfo, ResultParameter, RunContext,
    SubmitJobResponse,
};

use crate::catalog::{ServiceDef, TaskDef};
use crate::jobs::{Job, NewJob};
use crate::names::AppResolver;
use crate::paths::crumbs;
use crate::project::Crs;
use crate::request::F;
use crate::respond::{ApiError, value_response};
use crate::results::result_param;
use crate::state::{App, Ctx};
use crate::tools::{HOSTED_OUTPUT_PARAM, PrepareLimits};

/// The run context of a request, with spatial references this server can project.
fn run_context(ctx: &Ctx) -> Result<RunContext, ApiError> {
    let env = RunContext::from_form(|k| ctx.params.get(k))
        .map_err(|e| ApiError::bad_param(&e.field, &e.reason))?;
    // Name the field the way the request wrote it: `context.outSR` or `env:outSR`.
    let in_context = |member: &str| {
        ctx.params
            .get("context")
            .is_some_and(|c| c.contains(&format!("\"{member}\"")))
    };
    let field = |member: &str| {
        if in_context(member) {
            format!("context.{member}")
        } else {
            format!("env:{member}")
        }
    };
    for (member, sr) in [("outSR", &env.out_sr), ("processSR", &env.process_sr)] {
        if let Some(sr) = sr {
            Crs::from_sr(sr).map_err(|e| ApiError::bad_param(&field(member), &e))?;
        }
    }
    if let Some(sr) = env
        .extent
        .as_ref()
        .and_then(|e| e.spatial_reference.as_ref())
    {
        Crs::from_sr(sr).map_err(|e| ApiError::bad_param("context.extent", &e))?;
    }
    Ok(env)
}

/// Where a job's input values come from: the value given for a parameter, if any.
pub(crate) type Given<'a> = &'a dyn Fn(&ParameterInfo) -> Result<Option<GpValue>, ApiError>;

/// The value of `p` in the request's form fields (`execute`, `submitJob`).
fn form_value(ctx: &Ctx, p: &ParameterInfo) -> Result<Option<GpValue>, ApiError> {
    let name = p.name.as_str();
    match ctx.params.get(name).filter(|t| !t.trim().is_empty()) {
        None => Ok(None),
        Some(t) => p
            .parse_text(t)
            .map(Some)
            .map_err(|e| ApiError::bad_param(name, &e.to_string())),
    }
}

/// The job a request asks for, its inputs (each from `given_value`) checked and
/// prepared by the tool; not started yet.
pub(crate) fn prepare_job(
    app: &App,
    ctx: &Ctx,
    svc: &ServiceDef,
    task: &TaskDef,
    given_value: Given<'_>,
) -> Result<NewJob, ApiError> {
    let env = run_context(ctx)?;
    let mut inputs = Vec::new();
    for p in task.info.inputs() {
        let name = p.name.as_str();
        let given = given_value(p)?;
        let mut value = p
            .input_value(given)
            .map_err(|e| ApiError::bad_param(name, &e))?;
        // Recorded with the job and answered at `inputs/<name>`: no credentials.
        value.strip_tokens();
        inputs.push(ResultParameter {
            param_name: p.name.clone(),
            data_type: p.data_type.clone(),
            value,
        });
    }
    let mut by_name: crate::tools::Inputs = inputs
        .iter()
        .map(|r| (r.param_name.to_string(), r.value.clone()))
        .collect();
    let hosted = ctx
        .params
        .get(HOSTED_OUTPUT_PARAM)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(name) = hosted {
        if !task.tool.writes_hosted() {
            return Err(ApiError::bad_param(
                HOSTED_OUTPUT_PARAM,
                &format!("{} does not write hosted outputs", task.info.name),
            ));
        }
        by_name.insert(
            HOSTED_OUTPUT_PARAM.into(),
            gp_model::GpValue::String(name.into()),
        );
    }
    let resolver = AppResolver {
        app,
        user: ctx.user.as_deref(),
        base: &ctx.base,
    };
    let prepared = task
        .tool
        .prepare(
            &by_name,
            &resolver,
            PrepareLimits {
                max_vertices: app.max_vertices,
            },
        )
        .map_err(|b| ApiError::bad_param(&b.param, &b.reason))?;
    Ok(NewJob {
        service: svc.qualified_name(),
        jobs_dir: svc.jobs_dir_name(),
        task: task.info.name.to_string(),
        owner: ctx.user.clone(),
        synchronous: svc.synchronous,
        inputs,
        output_types: task
            .info
            .outputs()
            .map(|p| (p.name.to_string(), p.data_type.clone()))
            .collect(),
        prepared,
        env,
        timeout: task.timeout,
        request_id: ctx.request_id.clone(),
        fault: ctx.job_fault,
    })
}

/// Checks the inputs (each from `given`) and starts a job (queued behind the worker
/// pool).
pub(crate) fn start_job(
    app: &App,
    ctx: &Ctx,
    svc: &ServiceDef,
    task: &TaskDef,
    given: Given<'_>,
) -> Result<Arc<Job>, ApiError> {
    let new = prepare_job(app, ctx, svc, task, given)?;
    app.jobs
        .submit(new)
        .map_err(|e| ApiError::internal(format!("creating the job folder: {}", e.kind())))
}

/// `…/<task>/execute` (synchronous services).
pub(crate) async fn execute(
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
    let job = start_job(app, ctx, svc, task, &|p| form_value(ctx, p))?;
    job.wait_finished().await;
    let rec = job.snapshot();
    if rec.status != JobStatus::Succeeded {
        let details: Vec<String> = rec
            .messages
            .iter()
            .filter(|m| m.severity() >= gp_model::Severity::Error)
            .map(|m| m.description.clone())
            .collect();
        let details = if details.is_empty() {
            // A cancelled job has no error message: say how it ended.
            vec![format!("The job ended {}.", rec.status)]
        } else {
            details
        };
        return Err(ApiError::new(500, "Error executing tool.", details));
    }
    let mut results = Vec::new();
    for out in rec.results.iter() {
        results.push(result_param(app, ctx, svc, &rec, out).await?);
    }
    let v = ExecuteResponse {
        results,
        messages: rec.messages.clone(),
    };
    Ok(value_response(
        ctx.f,
        "Execute results",
        &crumbs(svc, Some(task.info.name.as_str())),
        &[],
        &v,
    ))
}

/// `…/<task>/submitJob` (asynchronous services).
pub(crate) fn submit_job(
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
    let job = start_job(app, ctx, svc, task, &|p| form_value(ctx, p))?;
    let rec = job.snapshot();
    let v = SubmitJobResponse {
        job_id: gp_model::JobId::new(rec.job_id),
        job_status: JobStatus::Submitted,
    };
    Ok(value_response(
        if ctx.f == F::Html { F::Pjson } else { ctx.f },
        "Job submitted",
        &crumbs(svc, Some(task.info.name.as_str())),
        &[],
        &v,
    ))
}

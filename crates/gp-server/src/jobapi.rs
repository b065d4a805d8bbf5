//! `…/jobs/<jobId>[/…]`: status (`JobInfo`), cancel, results and inputs
//! (`ResultParameter`), each job visible only to the user who submitted it.

use std::sync::Arc;

use axum::response::Response;
use gp_model::{JobId, JobInfo, JobStatus, ParamName, ParamUrl, SubmitJobResponse};

use crate::catalog::{ServiceDef, TaskDef};
use crate::jobs::Job;
use crate::mapserver;
use crate::paths::{crumbs, enc, svc_path};
use crate::record::JobRecord;
use crate::request::F;
use crate::respond::{ApiError, value_response};
use crate::results::result_param;
use crate::state::{App, Ctx, eq};

/// The job `id` of `svc` (and `task`), owned by the request's user.
pub(crate) fn find_job(
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

fn status(ctx: &Ctx, job: &Job, rec: &JobRecord) -> Result<JobInfo, ApiError> {
    let succeeded = rec.status == JobStatus::Succeeded;
    let urls = |kind: &str, names: Vec<&str>| {
        names
            .into_iter()
            .filter(|_| succeeded)
            .map(|k| {
                (
                    ParamName::new(k),
                    ParamUrl {
                        param_url: format!("{kind}/{k}"),
                    },
                )
            })
            .collect()
    };
    let return_messages = ctx
        .params
        .bool("returnMessages")
        .map_err(|e| ApiError::bad_param("returnMessages", &e))?;
    Ok(JobInfo {
        job_id: JobId::new(rec.job_id.clone()),
        job_status: rec.status.clone(),
        progress: (rec.status == JobStatus::Executing)
            .then(|| job.log.progress())
            .flatten(),
        results: urls("results", rec.results.iter().map(|r| r.name()).collect()),
        inputs: urls(
            "inputs",
            rec.inputs.iter().map(|r| r.param_name.as_str()).collect(),
        ),
        messages: if return_messages == Some(false) {
            Vec::new()
        } else {
            rec.messages.clone()
        },
    })
}

/// The longest a status request with `waitSeconds` is held (advertised in the
/// service's `jobStatusWaitSeconds`); well under the idle and request timeouts of
/// clients and proxies.
pub(crate) const MAX_STATUS_WAIT_SECS: f64 = 20.0;

/// Long polling: with `waitSeconds=N` a status request of a job that has not ended
/// is answered when it ends, or after N seconds (at most [`MAX_STATUS_WAIT_SECS`]).
async fn wait_for_end(ctx: &Ctx, job: &Job) -> Result<(), ApiError> {
    let Some(text) = ctx.params.get(gp_model::STATUS_WAIT_PARAM) else {
        return Ok(());
    };
    let secs: f64 = text
        .trim()
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| {
            ApiError::bad_param(
                gp_model::STATUS_WAIT_PARAM,
                &format!("`{text}` is not a number of seconds"),
            )
        })?;
    let wait = std::time::Duration::from_secs_f64(secs.min(MAX_STATUS_WAIT_SECS));
    let _ = tokio::time::timeout(wait, job.wait_finished()).await;
    Ok(())
}

/// `…/jobs/<id>[/…]`.
pub(crate) async fn job_resource(
    app: &Arc<App>,
    ctx: &Ctx,
    svc: &ServiceDef,
    task: Option<&TaskDef>,
    id: &str,
    tail: &[&str],
) -> Result<Response, ApiError> {
    let job = find_job(app, ctx, svc, task, id)?;
    if tail.is_empty() {
        wait_for_end(ctx, &job).await?;
    }
    let rec = job.snapshot();
    let title = format!("Job {id}");
    let cr = crumbs(svc, Some(&rec.task));
    match tail {
        [] => {
            let v = status(ctx, &job, &rec)?;
            let links: Vec<(String, String)> = v
                .results
                .keys()
                .map(|k| {
                    (
                        format!("results/{k}"),
                        format!(
                            "{}/{}/jobs/{id}/results/{}",
                            svc_path(svc),
                            enc(&rec.task),
                            enc(k.as_str())
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
                &SubmitJobResponse {
                    job_id: JobId::new(id),
                    job_status: s,
                },
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
                for out in rec.results.iter() {
                    arr.push(result_param(app, ctx, svc, &rec, out).await?);
                }
            }
            Ok(value_response(ctx.f, &title, &cr, &[], &arr))
        }
        [r, p] if eq(r, "results") => {
            if rec.status != JobStatus::Succeeded {
                return Err(ApiError::bad_request(format!(
                    "Job {id} has no results: its status is {}",
                    rec.status
                )));
            }
            let Some(out) = rec.result(p) else {
                return Err(ApiError::not_found(format!(
                    "Result parameter {p} not found in job {id}"
                )));
            };
            if ctx.f == F::Image {
                return mapserver::result_image(app, ctx, svc, &rec, out.name()).await;
            }
            let v = result_param(app, ctx, svc, &rec, out).await?;
            Ok(value_response(
                ctx.f,
                &format!("{title}: {}", out.name()),
                &cr,
                &[],
                &v,
            ))
        }
        [i] if eq(i, "inputs") => Ok(value_response(ctx.f, &title, &cr, &[], &*rec.inputs)),
        [i, p] if eq(i, "inputs") => {
            let Some(v) = rec.inputs.iter().find(|r| eq(r.param_name.as_str(), p)) else {
                return Err(ApiError::not_found(format!(
                    "Input parameter {p} not found in job {id}"
                )));
            };
            Ok(value_response(
                ctx.f,
                &format!("{title}: {}", v.param_name),
                &cr,
                &[],
                v,
            ))
        }
        _ => Err(ApiError::not_found(format!(
            "Resource {} not found",
            tail.join("/")
        ))),
    }
}

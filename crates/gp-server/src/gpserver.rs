//! `…/GPServer[/…]`: routes a GP service's resources to metadata, submit, jobs and
//! uploads.

use std::sync::Arc;

use axum::response::Response;

use crate::catalog::ServiceDef;
use crate::respond::ApiError;
use crate::state::{App, Ctx, eq};
use crate::{jobapi, meta, submit, upload_api};

/// `…/GPServer[/…]`.
pub(crate) async fn gpserver(
    app: &Arc<App>,
    ctx: &mut Ctx,
    svc: &ServiceDef,
    rest: &[&str],
) -> Result<Response, ApiError> {
    match rest {
        [] => Ok(meta::service_info(app, ctx, svc)),
        [u, tail @ ..] if eq(u, "uploads") => {
            if !svc.uploads {
                return Err(ApiError::not_found(
                    "Uploads are not enabled on this service",
                ));
            }
            upload_api::resource(app, ctx, svc, tail)
        }
        [j, id, tail @ ..] if eq(j, "jobs") => {
            jobapi::job_resource(app, ctx, svc, None, id, tail).await
        }
        [t, tail @ ..] => {
            let Some(task) = svc.task(t) else {
                return Err(ApiError::not_found(format!(
                    "Task {t} not found in service {}",
                    svc.qualified_name()
                )));
            };
            match tail {
                [] => Ok(meta::task_info(ctx, svc, task)),
                [op] if eq(op, "execute") => submit::execute(app, ctx, svc, task).await,
                [op] if eq(op, "submitJob") => submit::submit_job(app, ctx, svc, task),
                [j, id, tail @ ..] if eq(j, "jobs") => {
                    jobapi::job_resource(app, ctx, svc, Some(task), id, tail).await
                }
                _ => Err(ApiError::not_found(format!(
                    "Resource {} not found",
                    tail.join("/")
                ))),
            }
        }
    }
}

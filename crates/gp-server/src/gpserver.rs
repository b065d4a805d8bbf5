//! `…/GPServer[/…]`: routes a GP service's resources to metadata, submit, jobs and
//! uploads.

use std::sync::Arc;

use axum::response::Response;

use crate::catalog::ServiceDef;
use crate::respond::ApiError;
use crate::state::{App, Ctx, eq};
use crate::{jobapi, meta, submit, uploads};

/// `/arcgis/rest/services/<svc>/GPServer`.
pub(crate) fn svc_path(svc: &ServiceDef) -> String {
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

/// Breadcrumbs of the HTML pages: home, the service, the task.
pub(crate) fn crumbs(svc: &ServiceDef, task: Option<&str>) -> Vec<(String, String)> {
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
        [] => Ok(meta::service_info(app, ctx, svc)),
        [u, tail @ ..] if eq(u, "uploads") => {
            if !svc.uploads {
                return Err(ApiError::not_found(
                    "Uploads are not enabled on this service",
                ));
            }
            uploads::resource(app, ctx, svc, tail)
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

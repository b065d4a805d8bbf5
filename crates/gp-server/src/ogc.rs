//! The OGC API – Processes face (`/arcgis/ogc/…`): the same tasks as processes,
//! described with gp-model's [`gp_model::ogc`] documents. Jobs are the job
//! manager's: a job submitted here is a GP job too, and the other way round
//! ([`crate::ogc_jobs`]). Answers are JSON; errors are problem details.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use gp_model::ogc::{
    self, Conformance, Exception, LandingPage, Link, ProcessDescription, ProcessList,
};
use serde::Serialize;

use crate::catalog::{ServiceDef, TaskDef};
use crate::respond::ApiError;
use crate::state::{App, Ctx, eq};

/// Where the face is served.
pub(crate) const ROOT: &str = "/arcgis/ogc";

/// A JSON answer with `status`.
pub(crate) fn json<T: Serialize>(status: StatusCode, v: &T) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A problem-details answer.
pub(crate) fn problem(status: StatusCode, kind: &str, detail: impl Into<String>) -> Response {
    let e = Exception {
        kind: kind.to_string(),
        title: status.canonical_reason().map(str::to_string),
        status: Some(status.as_u16()),
        detail: Some(detail.into()),
        instance: None,
    };
    let mut r = json(status, &e);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// An error of the shared code (input checks, ownership) as problem details.
pub(crate) fn from_api(e: &ApiError) -> Response {
    // Envelopes travel with HTTP 200 as ArcGIS sends them; here the code is the status.
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = match status.as_u16() {
        400 => {
            "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/invalid-parameter-value"
        }
        403 => "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/forbidden",
        404 => "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/not-found",
        _ => "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/server-error",
    };
    let mut detail = e.message.clone();
    for d in &e.details {
        detail.push_str(": ");
        detail.push_str(d);
    }
    problem(status, kind, detail)
}

/// The process id of `task` of `svc`: the task's name, lower case, with the
/// service's in front when another service has a task of that name.
pub(crate) fn process_id(app: &App, svc: &ServiceDef, task: &TaskDef) -> String {
    let name = task.info.name.as_str();
    let shared = app
        .catalog
        .services
        .iter()
        .flat_map(|s| s.tasks.iter())
        .filter(|t| eq(t.info.name.as_str(), name))
        .count()
        > 1;
    if shared {
        format!("{}.{name}", svc.name).to_ascii_lowercase()
    } else {
        name.to_ascii_lowercase()
    }
}

/// Every process: (id, service, task).
pub(crate) fn processes(app: &App) -> Vec<(String, &ServiceDef, &TaskDef)> {
    app.catalog
        .services
        .iter()
        .flat_map(|s| s.tasks.iter().map(move |t| (s, t)))
        .map(|(s, t)| (process_id(app, s, t), s, t))
        .collect()
}

/// The process `id`, or a 404 problem.
pub(crate) fn find<'a>(
    app: &'a App,
    id: &str,
) -> Result<(String, &'a ServiceDef, &'a TaskDef), Box<Response>> {
    processes(app)
        .into_iter()
        .find(|(pid, ..)| eq(pid, id))
        .ok_or_else(|| {
            Box::new(problem(
                StatusCode::NOT_FOUND,
                ogc::EXC_NO_SUCH_PROCESS,
                format!("there is no process `{id}`"),
            ))
        })
}

fn description(ctx: &Ctx, id: &str, task: &TaskDef) -> ProcessDescription {
    let mut d = ogc::values::describe(&task.info, id, false);
    // Every task runs as a job of the job manager: both ways, and dismissable.
    d.summary.job_control_options = vec![
        "sync-execute".into(),
        "async-execute".into(),
        "dismiss".into(),
    ];
    let base = ctx.url(ROOT);
    d.summary.links = vec![
        Link::new(format!("{base}/processes/{id}"), "self", "application/json"),
        Link::new(
            format!("{base}/processes/{id}/execution"),
            ogc::REL_EXECUTE,
            "application/json",
        ),
    ];
    d
}

fn landing(ctx: &Ctx) -> LandingPage {
    let base = ctx.url(ROOT);
    LandingPage {
        title: Some("gp-server".into()),
        description: Some("The geoprocessing tasks of this server as OGC API – Processes.".into()),
        links: vec![
            Link::new(&base, "self", "application/json"),
            Link::new(
                format!("{base}/api"),
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.0",
            ),
            Link::new(
                format!("{base}/conformance"),
                "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                "application/json",
            ),
            Link::new(
                format!("{base}/processes"),
                ogc::REL_PROCESSES,
                "application/json",
            ),
            Link::new(
                format!("{base}/jobs"),
                ogc::REL_JOB_LIST,
                "application/json",
            ),
        ],
    }
}

/// `/arcgis/ogc[/…]`.
pub(crate) async fn ogc(
    app: &Arc<App>,
    ctx: &mut Ctx,
    tail: &[&str],
) -> Result<Response, ApiError> {
    let get = ctx.method == Method::GET || ctx.method == Method::HEAD;
    let not_allowed = || {
        // What the resource takes, in `Allow` (RFC 9110).
        let allow = match tail {
            [p, _, e] if eq(p, "processes") && eq(e, "execution") => "POST",
            [j, _] if eq(j, "jobs") => "GET, HEAD, DELETE",
            _ => "GET, HEAD",
        };
        let mut r = problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/method-not-allowed",
            format!("{} is not allowed here; {allow} is", ctx.method),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        r
    };
    Ok(match tail {
        [] if get => json(StatusCode::OK, &landing(ctx)),
        [c] if eq(c, "conformance") && get => json(
            StatusCode::OK,
            &Conformance {
                conforms_to: [
                    ogc::CONF_CORE,
                    ogc::CONF_OGC_PROCESS_DESCRIPTION,
                    ogc::CONF_JSON,
                    ogc::CONF_OAS30,
                    ogc::CONF_JOB_LIST,
                    ogc::CONF_DISMISS,
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            },
        ),
        [a] if eq(a, "api") && get => {
            let mut r = json(StatusCode::OK, &crate::ogc_api::document(&ctx.url(ROOT)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.oai.openapi+json;version=3.0"),
            );
            r
        }
        [p] if eq(p, "processes") && get => {
            let base = ctx.url(ROOT);
            let list = ProcessList {
                processes: processes(app)
                    .into_iter()
                    .map(|(id, _, t)| description(ctx, &id, t).summary)
                    .collect(),
                links: vec![Link::new(
                    format!("{base}/processes"),
                    "self",
                    "application/json",
                )],
            };
            json(StatusCode::OK, &list)
        }
        [p, id] if eq(p, "processes") && get => match find(app, id) {
            Ok((pid, _, t)) => json(StatusCode::OK, &description(ctx, &pid, t)),
            Err(r) => *r,
        },
        [p, id, e] if eq(p, "processes") && eq(e, "execution") => {
            if ctx.method != Method::POST {
                return Ok(not_allowed());
            }
            crate::ogc_jobs::execute(app, ctx, id).await
        }
        [j] if eq(j, "jobs") && get => crate::ogc_jobs::list(app, ctx),
        [j, id] if eq(j, "jobs") && get => crate::ogc_jobs::status(app, ctx, id),
        [j, id] if eq(j, "jobs") && ctx.method == Method::DELETE => {
            crate::ogc_jobs::dismiss(app, ctx, id)
        }
        [j, id, r] if eq(j, "jobs") && eq(r, "results") && get => {
            crate::ogc_jobs::results(app, ctx, id, None)
        }
        [j, id, r, name] if eq(j, "jobs") && eq(r, "results") && get => {
            crate::ogc_jobs::results(app, ctx, id, Some(name))
        }
        [] | [_] | [_, _] | [_, _, _] | [_, _, _, _]
            if matches!(
                tail.first().map(|s| s.to_ascii_lowercase()).as_deref(),
                None | Some("conformance" | "api" | "processes" | "jobs")
            ) =>
        {
            not_allowed()
        }
        _ => problem(
            StatusCode::NOT_FOUND,
            "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/not-found",
            format!("{ROOT}/{} is not a resource of this API", tail.join("/")),
        ),
    })
}

//! GPServer metadata: the service (`GpServiceInfo`) and its tasks (`TaskInfo`), as
//! gp-model types the client decodes.

use axum::response::Response;
use gp_model::{ExecutionType, GpServiceInfo, TaskName};

use crate::catalog::{ServiceDef, TaskDef};
use crate::paths::{crumbs, enc, svc_path};
use crate::respond::value_response;
use crate::state::{App, CURRENT_VERSION, Ctx};

fn execution(synchronous: bool) -> ExecutionType {
    if synchronous {
        ExecutionType::Synchronous
    } else {
        ExecutionType::Asynchronous
    }
}

/// `…/GPServer`.
pub(crate) fn service_info(app: &App, ctx: &Ctx, svc: &ServiceDef) -> Response {
    let v = GpServiceInfo {
        current_version: Some(CURRENT_VERSION),
        cim_version: Some("3.3.0".into()),
        service_description: Some(svc.description.into()),
        tasks: svc
            .tasks
            .iter()
            .map(|t| TaskName::new(t.info.name.as_str()))
            .collect(),
        execution_type: Some(execution(svc.synchronous)),
        result_map_server_name: Some(if svc.result_map { svc.name } else { "" }.into()),
        maximum_records: Some(app.max_records(svc)),
        capabilities: Some(if svc.uploads { "Uploads" } else { "" }.into()),
        schema: None,
        job_status_wait_seconds: (!svc.synchronous).then_some(crate::jobapi::MAX_STATUS_WAIT_SECS),
    };
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

/// `…/GPServer/<task>`: the catalog's `TaskInfo`, with `helpUrl` made absolute.
pub(crate) fn task_info(ctx: &Ctx, svc: &ServiceDef, task: &TaskDef) -> Response {
    let mut info = task.info.clone();
    info.execution_type = Some(execution(svc.synchronous));
    info.help_url = Some(ctx.url(&crate::paths::help_path(
        &svc.qualified_name(),
        task.info.name.as_str(),
    )));
    let op = if svc.synchronous {
        "execute"
    } else {
        "submitJob"
    };
    let links = vec![
        (
            op.to_string(),
            format!("{}/{}/{op}", svc_path(svc), enc(task.info.name.as_str())),
        ),
        (
            "Help".to_string(),
            crate::paths::help_path(&svc.qualified_name(), task.info.name.as_str()),
        ),
    ];
    value_response(
        ctx.f,
        &format!("Task: {}", task.info.name),
        &crumbs(svc, Some(task.info.name.as_str())),
        &links,
        &info,
    )
}

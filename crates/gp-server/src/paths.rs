//! The URL paths the server writes: services, tasks, breadcrumbs, job files and help
//! pages. A leaf: it imports no resource module.

use crate::catalog::ServiceDef;
use crate::record::JobRecord;
use crate::state::Ctx;

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

/// The URL of a file in a job's scratch folder.
pub(crate) fn scratch_url(ctx: &Ctx, svc: &ServiceDef, rec: &JobRecord, file: &str) -> String {
    let root = if rec.synchronous {
        "arcgisoutput"
    } else {
        "arcgisjobs"
    };
    ctx.url(&format!(
        "/arcgis/rest/directories/{root}/{}/{}/scratch/{}",
        svc.jobs_dir_name(),
        rec.job_id,
        enc(file)
    ))
}

/// The help path of a task, as ArcGIS Server writes `helpUrl`.
pub(crate) fn help_path(service: &str, task: &str) -> String {
    format!(
        "/arcgis/rest/directories/{}",
        help_segments(service, task).join("/")
    )
}

/// The segments of [`help_path`] after `directories/`, percent-encoded:
/// `arcgisoutput/<Folder>/<Service>_GPServer/<Folder>_<Service>/<Task>.htm`.
pub(crate) fn help_segments(service: &str, task: &str) -> Vec<String> {
    let parts: Vec<&str> = service.split('/').collect();
    let mut segs = vec!["arcgisoutput".to_string()];
    if let Some((name, folders)) = parts.split_last() {
        segs.extend(folders.iter().map(|f| enc(f)));
        segs.push(format!("{}_GPServer", enc(name)));
    }
    segs.push(enc(&parts.join("_")));
    segs.push(format!("{}.htm", enc(task)));
    segs
}

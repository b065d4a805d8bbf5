//! `/rest/directories/…`: job and output files, samples, and the tasks' help pages
//! (each task's `helpUrl`). A missing file is HTTP 404 with the error body, and no
//! answer shows a server path.

use axum::response::Response;
use serde::Serialize;

use crate::catalog::TaskDef;
use crate::names::directory_file;
use crate::paths::help_segments;
use crate::respond::{ApiError, bytes_response, esc, value_response};
use crate::state::{App, Ctx};

#[derive(Serialize)]
struct Directories {
    directories: [&'static str; 3],
}

/// `/rest/directories[/…]`.
pub(crate) async fn directories(app: &App, ctx: &Ctx, tail: &[&str]) -> Result<Response, ApiError> {
    if tail.is_empty() {
        let v = Directories {
            directories: ["arcgisjobs", "arcgisoutput", "samples"],
        };
        return Ok(value_response(ctx.f, "Directories", &[], &[], &v));
    }
    if let Some(page) = help_page(app, tail) {
        return Ok(page);
    }
    let path = directory_file(app, ctx.user.as_deref(), tail)?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::file_not_found(&tail.join("/")))?;
    let ct = match crate::tools::extension(&path).as_str() {
        "tif" | "tiff" => "image/tiff",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "json" => "application/json",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    };
    Ok(bytes_response(bytes, ct))
}

fn help_page(app: &App, tail: &[&str]) -> Option<Response> {
    if !tail.last().is_some_and(|f| f.ends_with(".htm")) {
        return None;
    }
    let same = |segs: Vec<String>| {
        segs.len() == tail.len()
            && segs.iter().zip(tail).all(|(a, b)| {
                percent_encoding::percent_decode_str(a)
                    .decode_utf8_lossy()
                    .eq_ignore_ascii_case(b)
            })
    };
    app.catalog.services.iter().find_map(|svc| {
        let task = svc
            .tasks
            .iter()
            .find(|t| same(help_segments(&svc.qualified_name(), t.info.name.as_str())))?;
        Some(render_help(&svc.qualified_name(), task))
    })
}

fn render_help(service: &str, task: &TaskDef) -> Response {
    let info = &task.info;
    let mut h = String::from("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>");
    h.push_str(&esc(info.name.as_str()));
    h.push_str(" (help)</title><style>body{font-family:sans-serif;margin:1.5em;max-width:70em}td,th{border:1px solid #ccc;padding:.3em;text-align:left;vertical-align:top}table{border-collapse:collapse}</style></head><body>");
    h.push_str(&format!(
        "<h1>{}</h1><p>Task of the geoprocessing service <b>{}</b>.</p><p>{}</p>",
        esc(info.name.as_str()),
        esc(service),
        esc(info.description.as_deref().unwrap_or_default())
    ));
    h.push_str("<h2>Parameters</h2><table><tr><th>Name</th><th>Data type</th><th>Direction</th><th>Required</th><th>Default</th><th>Choices</th><th>Description</th></tr>");
    for p in &info.parameters {
        let default = p
            .default()
            .map(|d| serde_json::to_string(d).unwrap_or_default())
            .unwrap_or_default();
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(p.name.as_str()),
            esc(&p.data_type.to_string()),
            if p.is_input() { "input" } else { "output" },
            if p.is_required() { "yes" } else { "no" },
            esc(&default),
            esc(&p.choices().map(|c| c.join(", ")).unwrap_or_default()),
            esc(p.description.as_deref().unwrap_or_default()),
        ));
    }
    h.push_str("</table></body></html>");
    bytes_response(h.into_bytes(), "text/html; charset=utf-8")
}

//! `…/GPServer/uploads`: multipart uploads, items, and files for `{"itemID": …}`.

use std::path::PathBuf;

use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use crate::app::{App, Ctx, safe_segment};
use crate::catalog::ServiceDef;
use crate::jobs::new_id;
use crate::respond::{ApiError, value_response};

fn item_id() -> String {
    let h = new_id("");
    format!(
        "i{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn item_dir(app: &App, id: &str) -> Option<PathBuf> {
    (safe_segment(id) && id.starts_with('i')).then(|| app.uploads_dir.join(id))
}

/// The uploaded file of item `id`.
pub(crate) fn item_file(app: &App, id: &str) -> Option<PathBuf> {
    let dir = item_dir(app, id)?;
    let item: Value = serde_json::from_slice(&std::fs::read(dir.join("item.json")).ok()?).ok()?;
    let name = item.get("itemName")?.as_str()?;
    let p = dir.join("file").join(name);
    p.is_file().then_some(p)
}

fn sanitize(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let s: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() {
        "upload.bin".to_string()
    } else {
        s
    }
}

/// `uploads`, `uploads/upload`, `uploads/<itemID>`.
pub(crate) fn uploads(
    app: &App,
    ctx: &mut Ctx,
    svc: &ServiceDef,
    tail: &[&str],
) -> Result<Response, ApiError> {
    match tail {
        [] => {
            let v = json!({"uploads": "POST a file to uploads/upload (multipart/form-data, field `file`)."});
            Ok(value_response(
                ctx.f,
                &format!("{} uploads", svc.qualified_name()),
                &[],
                &[],
                &v,
            ))
        }
        [u] if u.eq_ignore_ascii_case("upload") => {
            if ctx.method != Method::POST {
                return Err(ApiError::bad_request(
                    "uploads/upload accepts POST multipart/form-data only",
                ));
            }
            let Some((name, bytes)) = ctx.upload.take() else {
                return Err(ApiError::bad_param(
                    "file",
                    "no file in the multipart body (send it as the field `file`)",
                ));
            };
            let id = item_id();
            let dir = app.uploads_dir.join(&id);
            let file_name = sanitize(&name);
            let description = ctx
                .params
                .get("description")
                .unwrap_or_default()
                .to_string();
            let now = chrono::Utc::now().timestamp_millis();
            let item = json!({
                "itemID": id,
                "itemName": file_name,
                "description": description,
                "date": now,
                "committed": true,
                "serviceName": svc.qualified_name(),
                "size": bytes.len(),
            });
            let write = || -> std::io::Result<()> {
                std::fs::create_dir_all(dir.join("file"))?;
                let tmp = dir.join("file").join(format!(".{file_name}.tmp"));
                std::fs::write(&tmp, &bytes)?;
                std::fs::rename(&tmp, dir.join("file").join(&file_name))?;
                let tmp = dir.join(".item.json.tmp");
                std::fs::write(&tmp, serde_json::to_vec_pretty(&item).unwrap_or_default())?;
                std::fs::rename(&tmp, dir.join("item.json"))
            };
            if let Err(e) = write() {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(ApiError::internal(format!("storing the upload: {e}")));
            }
            let v = json!({"success": true, "item": item});
            Ok(value_response(
                if ctx.f == crate::request::F::Html {
                    crate::request::F::Pjson
                } else {
                    ctx.f
                },
                "Upload",
                &[],
                &[],
                &v,
            ))
        }
        [id] => {
            let dir = item_dir(app, id)
                .ok_or_else(|| ApiError::not_found(format!("Item {id} not found")))?;
            let bytes = std::fs::read(dir.join("item.json"))
                .map_err(|_| ApiError::not_found(format!("Item {id} not found")))?;
            let item: Value =
                serde_json::from_slice(&bytes).map_err(|e| ApiError::internal(e.to_string()))?;
            Ok(value_response(
                ctx.f,
                &format!("Item {id}"),
                &[],
                &[],
                &json!({"item": item}),
            ))
        }
        _ => Err(ApiError::not_found("Resource not found")),
    }
}

//! `…/GPServer/uploads[/…]`: the upload resources over the store in [`crate::uploads`].

use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use gp_model::{ItemId, OperationResult, UploadItem, UploadParts, UploadResponse};

use crate::catalog::ServiceDef;
use crate::request::F;
use crate::respond::{ApiError, bytes_response, value_response};
use crate::state::{App, Ctx, eq};
use crate::upload_parts::parse_parts;

/// `uploads`, `uploads/info`, `uploads/upload`, `uploads/register`, and
/// `uploads/<itemID>[/uploadPart|parts|commit|delete|download]`.
pub(crate) fn resource(
    app: &App,
    ctx: &mut Ctx,
    svc: &ServiceDef,
    tail: &[&str],
) -> Result<Response, ApiError> {
    let store = &app.uploads;
    let user = ctx.user.clone();
    let user = user.as_deref();
    let post_only = |what: &str| {
        ApiError::new(
            405,
            "Unable to complete operation.",
            vec![format!("{what} accepts POST requests only")],
        )
    };
    let must_post = |what: &str| {
        if ctx.method == Method::POST {
            Ok(())
        } else {
            Err(post_only(what))
        }
    };
    let json_f = if ctx.f == F::Html { F::Pjson } else { ctx.f };
    let title = format!("{} uploads", svc.qualified_name());
    let item_answer = |item: UploadItem| {
        let v = UploadResponse {
            success: true,
            item,
        };
        Ok(value_response(json_f, "Upload", &[], &[], &v))
    };
    match tail {
        [] => Ok(value_response(ctx.f, &title, &[], &[], &store.info())),
        [i] if eq(i, "info") => Ok(value_response(ctx.f, &title, &[], &[], &store.info())),
        [u] if eq(u, "upload") => {
            must_post("uploads/upload")?;
            let Some(incoming) = ctx.upload.take() else {
                return Err(ApiError::bad_param(
                    "file",
                    "no file in the multipart body (send it as the field `file`)",
                ));
            };
            let description = ctx.params.get("description").unwrap_or_default();
            item_answer(store.store_single(incoming, svc, description)?)
        }
        [r] if eq(r, "register") => {
            must_post("uploads/register")?;
            let Some(name) = ctx.params.get("itemName").filter(|n| !n.trim().is_empty()) else {
                return Err(ApiError::bad_param("itemName", "a value is required"));
            };
            let description = ctx.params.get("description").unwrap_or_default();
            item_answer(store.register(name, svc, description, user.map(str::to_string))?)
        }
        [id] => {
            let (_, s) = store.stored(id, user)?;
            item_answer(s.item)
        }
        [id, p] if eq(p, "uploadPart") => {
            must_post("uploadPart")?;
            let number = ctx
                .params
                .get("partId")
                .or_else(|| ctx.params.get("partNumber"))
                .ok_or_else(|| ApiError::bad_param("partId", "a value is required"))?;
            let number: u32 = number.trim().parse().map_err(|_| {
                ApiError::bad_param("partId", &format!("`{number}` is not a part number"))
            })?;
            let Some(incoming) = ctx.upload.take() else {
                return Err(ApiError::bad_param(
                    "file",
                    "no file in the multipart body (send it as the field `file`)",
                ));
            };
            item_answer(store.add_part(id, user, number, incoming)?)
        }
        [id, p] if eq(p, "parts") => {
            let v = UploadParts {
                item_id: Some(ItemId::new(*id)),
                parts: store.parts(id, user)?,
            };
            Ok(value_response(ctx.f, &format!("Item {id}"), &[], &[], &v))
        }
        [id, c] if eq(c, "commit") => {
            must_post("commit")?;
            let order = parse_parts(ctx.params.all("parts"))?;
            item_answer(store.commit_parts(id, user, order)?)
        }
        [id, d] if eq(d, "download") => {
            store.stored(id, user)?;
            let path = store
                .item_file(id, user)
                .ok_or_else(|| ApiError::file_not_found(id))?;
            let bytes = std::fs::read(&path).map_err(|_| ApiError::file_not_found(id))?;
            let mut r = bytes_response(bytes, "application/octet-stream");
            if let Some(name) = path.file_name().and_then(|n| n.to_str())
                && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
            {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(r)
        }
        [id, d] if eq(d, "delete") => {
            must_post("delete")?;
            let (dir, _) = store.stored(id, user)?;
            std::fs::remove_dir_all(&dir)
                .map_err(|e| ApiError::internal(format!("deleting the item: {}", e.kind())))?;
            Ok(value_response(
                json_f,
                "Deleted",
                &[],
                &[],
                &OperationResult { success: true },
            ))
        }
        _ => Err(ApiError::not_found("Resource not found")),
    }
}

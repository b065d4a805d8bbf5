//! `…/GPServer/uploads[/…]`: the upload resources over the store in [`crate::uploads`].

use axum::http::Method;
use axum::response::Response;
use gp_model::{UploadItem, UploadResponse};
use serde::Serialize;

use crate::catalog::ServiceDef;
use crate::request::F;
use crate::respond::{ApiError, value_response};
use crate::state::{App, Ctx, eq};

/// `uploads`, `uploads/info`, `uploads/upload`, `uploads/<itemID>[/delete]`.
pub(crate) fn resource(
    app: &App,
    ctx: &mut Ctx,
    svc: &ServiceDef,
    tail: &[&str],
) -> Result<Response, ApiError> {
    let store = &app.uploads;
    let post_only = |what: &str| {
        ApiError::new(
            405,
            "Unable to complete operation.",
            vec![format!("{what} accepts POST requests only")],
        )
    };
    let json_f = if ctx.f == F::Html { F::Pjson } else { ctx.f };
    let title = format!("{} uploads", svc.qualified_name());
    match tail {
        [] => Ok(value_response(ctx.f, &title, &[], &[], &store.info())),
        [i] if eq(i, "info") => Ok(value_response(ctx.f, &title, &[], &[], &store.info())),
        [u] if eq(u, "upload") => {
            if ctx.method != Method::POST {
                return Err(post_only("uploads/upload"));
            }
            let Some(incoming) = ctx.upload.take() else {
                return Err(ApiError::bad_param(
                    "file",
                    "no file in the multipart body (send it as the field `file`)",
                ));
            };
            let description = ctx.params.get("description").unwrap_or_default();
            let item = store.commit(incoming, svc, description)?;
            let v = UploadResponse {
                success: true,
                item,
            };
            Ok(value_response(json_f, "Upload", &[], &[], &v))
        }
        [id] => {
            let (_, s) = store.stored(id, ctx.user.as_deref())?;
            #[derive(Serialize)]
            struct ItemDoc<'a> {
                item: &'a UploadItem,
            }
            Ok(value_response(
                ctx.f,
                &format!("Item {id}"),
                &[],
                &[],
                &ItemDoc { item: &s.item },
            ))
        }
        [id, d] if eq(d, "delete") => {
            if ctx.method != Method::POST {
                return Err(post_only("delete"));
            }
            let (dir, _) = store.stored(id, ctx.user.as_deref())?;
            std::fs::remove_dir_all(&dir)
                .map_err(|e| ApiError::internal(format!("deleting the item: {}", e.kind())))?;
            #[derive(Serialize)]
            struct Deleted {
                success: bool,
            }
            Ok(value_response(
                json_f,
                "Deleted",
                &[],
                &[],
                &Deleted { success: true },
            ))
        }
        _ => Err(ApiError::not_found("Resource not found")),
    }
}

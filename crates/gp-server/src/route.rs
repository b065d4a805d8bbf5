//! Routing: one handler reads the path (case-insensitively, trailing slash or not),
//! checks the Host, merges query and form parameters (a body that stalls is refused),
//! checks tokens, and hands the request to the resource that owns it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use percent_encoding::percent_decode_str;

use crate::body::{body_error, stalled, timed_body};
use crate::request::{F, Params};
use crate::respond::{ApiError, status_response};
use crate::state::{App, Ctx, eq};
use crate::{directory, files, portal, tokens, uploads};

/// Splits a URL path into decoded segments, dropping empty ones.
pub(crate) fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect()
}

fn is_json(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"))
}

fn is_multipart(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Reads a multipart body: text fields into `params`; a file only on an upload
/// path, streamed to disk by [`uploads`] after the token (from the query, the
/// headers or the fields before it) is checked.
async fn read_multipart(
    app: &App,
    req: Request,
    params: &mut Params,
    headers: &HeaderMap,
    path: FilePath,
) -> Result<Option<uploads::Incoming>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|e| ApiError::bad_request(format!("malformed multipart body: {e}")))?;
    let mut file = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(body_error(&e, "malformed multipart body")),
        };
        let name = field.name().unwrap_or_default().to_string();
        if let Some(fname) = field.file_name().map(str::to_string) {
            if path == FilePath::No {
                return Err(ApiError::bad_request(
                    "files are accepted only by …/GPServer/uploads/upload and …/uploads/<itemID>/uploadPart",
                ));
            }
            if file.is_some() {
                return Err(ApiError::bad_request("send one file per upload"));
            }
            let user = app.auth.check(params, headers).map_err(|mut e| {
                e.details.push(
                    "Uploads read the token before the file: send it in the query string, a header, or a form field before the file.".into(),
                );
                e
            })?;
            let part = path == FilePath::Part;
            file = Some(
                app.uploads
                    .receive(field, &fname, user, declared, part)
                    .await?,
            );
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| body_error(&e, &format!("reading form field {name}")))?;
            params.push(name, text);
        }
    }
    Ok(file)
}

/// Where a request may carry a file: `…/uploads/upload` and `…/uploads/<id>/uploadPart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilePath {
    No,
    Upload,
    Part,
}

fn file_path(segs: &[String]) -> FilePath {
    let n = segs.len();
    if n >= 2 && eq(&segs[n - 1], "upload") && eq(&segs[n - 2], "uploads") {
        FilePath::Upload
    } else if n >= 3 && eq(&segs[n - 1], "uploadPart") && eq(&segs[n - 3], "uploads") {
        FilePath::Part
    } else {
        FilePath::No
    }
}

/// The single handler behind every path.
pub(crate) async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let job_fault = req
        .extensions()
        .get::<crate::fault_layer::InjectedJobFault>()
        .map(|f| f.0);
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_string);
    let mut params = Params::default();
    if let Some(q) = req.uri().query() {
        params.extend_urlencoded(q.as_bytes());
    }
    // Errors before the body is read answer in the query's format (JSON by default).
    let early_f = |params: &Params| match params.get("f") {
        Some(_) => F::from_params(params).unwrap_or(F::Json),
        None => F::Json,
    };
    let scheme = if app.tls { "https" } else { "http" };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let base = match app.hosts.base(scheme, host, &app.addr.to_string()) {
        Ok(b) => b,
        Err(e) => return e.respond(early_f(&params)),
    };
    let segs = segments(&path);
    let (parts, body) = req.into_parts();
    let req = Request::from_parts(parts, timed_body(body, app.body_timeout));
    let mut upload = None;
    let mut json_body = None;
    if is_multipart(&headers) {
        match read_multipart(&app, req, &mut params, &headers, file_path(&segs)).await {
            Ok(u) => upload = u,
            Err(e) => return close(e.respond(early_f(&params))),
        }
    } else {
        let limit = app.max_body;
        match axum::body::to_bytes(req.into_body(), limit).await {
            // A JSON document (OGC API – Processes execute requests) stays whole.
            Ok(body) if is_json(&headers) => json_body = Some(body),
            Ok(body) => params.extend_urlencoded(&body),
            Err(e) => {
                let err = match stalled(&e) {
                    Some(m) => ApiError::body_timeout(m),
                    None => ApiError::bad_request(format!(
                        "the request body is larger than this server's limit of {limit} bytes"
                    )),
                };
                // The rest of the body is unread: the connection cannot be reused.
                return close(err.respond(early_f(&params)));
            }
        }
    }
    let f = match F::from_params(&params) {
        Ok(f) => f,
        Err(e) => return ApiError::bad_request(e).respond(F::Json),
    };
    let mut ctx = Ctx {
        method,
        params,
        f,
        base,
        user: None,
        upload,
        peer,
        request_id,
        job_fault,
        json_body,
        headers: headers.clone(),
    };
    let answer = dispatch(&app, &mut ctx, &segs, &headers).await;
    if let Some(u) = ctx.upload.take() {
        // An upload that no handler kept (a refused request) is not left on disk.
        drop(u);
    }
    match answer {
        Ok(r) => r,
        Err(mut e) => {
            e.message = app.scrub.apply(&e.message);
            for d in &mut e.details {
                *d = app.scrub.apply(d);
            }
            e.respond(ctx.f)
        }
    }
}

/// Marks a response as the connection's last.
fn close(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    r
}

async fn dispatch(
    app: &Arc<App>,
    ctx: &mut Ctx,
    segs: &[String],
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let Some((first, rest)) = s.split_first() else {
        return Ok(redirect("/arcgis/rest/services"));
    };
    if !eq(first, "arcgis") {
        return Ok(status_response(
            StatusCode::NOT_FOUND,
            "not found: this server publishes under /arcgis/rest/services",
        ));
    }
    // Resources readable without a token.
    let public = matches!(
        rest,
        [] | ["info"]
            | ["rest"]
            | ["rest", "info"]
            | ["tokens", ..]
            | ["sharing", "rest"]
            | ["sharing", "rest", "info"]
            | ["ogc"]
            | ["ogc", "conformance"]
            | ["ogc", "api"]
    ) || matches!(rest, [a, b] | [a, b, ..] if eq(a, "tokens") || (eq(a, "rest") && eq(b, "info")));
    if !public {
        ctx.user = app.auth.check(&ctx.params, headers).inspect_err(|_| {
            // A refused token is answered as JSON unless a page was asked for:
            // a file download has no `f`, and its client must see the 498.
            if ctx.params.get("f").is_none() {
                ctx.f = F::Json;
            }
        })?;
    }
    match rest {
        [] => Ok(redirect("/arcgis/rest/services")),
        [r] if eq(r, "rest") => Ok(redirect("/arcgis/rest/services")),
        [i] if eq(i, "info") => Ok(directory::rest_info(app, ctx)),
        [r, i, ..] if eq(r, "rest") && eq(i, "info") => Ok(directory::rest_info(app, ctx)),
        [r, sv, tail @ ..] if eq(r, "rest") && eq(sv, "services") => {
            directory::services(app, ctx, tail).await
        }
        [r, d, tail @ ..] if eq(r, "rest") && eq(d, "directories") => {
            files::directories(app, ctx, tail).await
        }
        [t, tail @ ..] if eq(t, "tokens") => tokens::tokens(app, ctx, tail),
        [sh, r, tail @ ..] if eq(sh, "sharing") && eq(r, "rest") => portal::sharing(app, ctx, tail),
        [o, tail @ ..] if eq(o, "ogc") => crate::ogc::ogc(app, ctx, tail).await,
        _ => Err(ApiError::not_found(format!(
            "Resource {} not found",
            segs.join("/")
        ))),
    }
}

fn redirect(to: &str) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::FOUND;
    if let Ok(v) = header::HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_decode_spaces_and_ignore_trailing_slashes() {
        assert_eq!(
            segments("/arcgis/rest/services/911%20Calls%20Hotspot/GPServer/911%20Calls%20Hotspot/"),
            [
                "arcgis",
                "rest",
                "services",
                "911 Calls Hotspot",
                "GPServer",
                "911 Calls Hotspot"
            ]
        );
    }
}

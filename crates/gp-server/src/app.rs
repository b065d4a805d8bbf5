//! Request dispatch: one handler reads the path (case-insensitively, trailing slash
//! or not), merges query and form parameters, checks tokens, and answers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use gp_model::GpValue;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use crate::auth::Auth;
use crate::catalog::Catalog;
use crate::jobs::JobManager;
use crate::request::{F, Params};
use crate::respond::{ApiError, bytes_response, status_response, value_response};
use crate::samples::{SAMPLE_DEM, SAMPLE_DEM_FILE};
use crate::tools::{BadParam, Resolver};
use crate::{gp, mapserver, uploads};

/// Version reported as `currentVersion`.
pub(crate) const CURRENT_VERSION: f64 = 11.3;

/// Shared server state.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) catalog: Catalog,
    pub(crate) jobs: JobManager,
    pub(crate) auth: Auth,
    pub(crate) uploads_dir: PathBuf,
    pub(crate) samples_dir: PathBuf,
    pub(crate) maps_dir: PathBuf,
    pub(crate) max_body: usize,
    pub(crate) max_vertices: usize,
    pub(crate) maximum_records: u64,
    pub(crate) tls: bool,
    pub(crate) addr: std::net::SocketAddr,
}

/// One request, parsed.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) method: Method,
    pub(crate) params: Params,
    pub(crate) f: F,
    /// `http://host:port`, from the Host header.
    pub(crate) base: String,
    /// The authenticated user, when token security is on.
    pub(crate) user: Option<String>,
    /// An uploaded file (`uploads/upload`): name and bytes.
    pub(crate) upload: Option<(String, Vec<u8>)>,
}

impl Ctx {
    /// An absolute URL for a server path.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect()
}

fn is_multipart(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

async fn read_multipart(
    req: Request,
    params: &mut Params,
) -> Result<Option<(String, Vec<u8>)>, ApiError> {
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|e| ApiError::bad_request(format!("malformed multipart body: {e}")))?;
    let mut file = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(ApiError::bad_request(format!(
                    "malformed multipart body (or larger than the upload limit): {e}"
                )));
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if let Some(fname) = field.file_name().map(str::to_string) {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::bad_request(format!("reading the uploaded file: {e}")))?;
            file = Some((fname, bytes.to_vec()));
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| ApiError::bad_request(format!("reading form field {name}: {e}")))?;
            params.push(name, text);
        }
    }
    Ok(file)
}

/// The single handler behind every path.
pub(crate) async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let mut params = Params::default();
    if let Some(q) = req.uri().query() {
        params.extend_urlencoded(q.as_bytes());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| app.addr.to_string());
    let base = format!("{}://{host}", if app.tls { "https" } else { "http" });
    let mut upload = None;
    if is_multipart(&headers) {
        match read_multipart(req, &mut params).await {
            Ok(u) => upload = u,
            Err(e) => return e.respond(F::from_params(&params).unwrap_or(F::Json)),
        }
    } else {
        let limit = app.max_body;
        match axum::body::to_bytes(req.into_body(), limit).await {
            Ok(body) => params.extend_urlencoded(&body),
            Err(_) => {
                // The body (and its `f`) is unread: answer JSON unless the query asked otherwise.
                let f = if params.get("f").is_some() {
                    F::from_params(&params).unwrap_or(F::Json)
                } else {
                    F::Json
                };
                let mut r = ApiError::bad_request(format!(
                    "the request body is larger than this server's limit of {limit} bytes"
                ))
                .respond(f);
                // The rest of the body is unread: the connection cannot be reused.
                r.headers_mut().insert(
                    header::CONNECTION,
                    header::HeaderValue::from_static("close"),
                );
                return r;
            }
        }
    }
    let f = match F::from_params(&params) {
        Ok(f) => f,
        Err(e) => return ApiError::bad_request(e).respond(F::Json),
    };
    let segs = segments(&path);
    let mut ctx = Ctx {
        method,
        params,
        f,
        base,
        user: None,
        upload,
    };
    match dispatch(&app, &mut ctx, &segs, &headers).await {
        Ok(r) => r,
        Err(e) => e.respond(ctx.f),
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
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
    ) || matches!(rest, [a, b] | [a, b, ..] if eq(a, "tokens") || (eq(a, "rest") && eq(b, "info")));
    if !public {
        ctx.user = app.auth.check(&ctx.params, headers)?;
    }
    match rest {
        [] => Ok(redirect("/arcgis/rest/services")),
        [r] if eq(r, "rest") => Ok(redirect("/arcgis/rest/services")),
        [i] if eq(i, "info") => rest_info(app, ctx),
        [r, i, ..] if eq(r, "rest") && eq(i, "info") => rest_info(app, ctx),
        [r, sv, tail @ ..] if eq(r, "rest") && eq(sv, "services") => services(app, ctx, tail).await,
        [r, d, tail @ ..] if eq(r, "rest") && eq(d, "directories") => {
            directories(app, ctx, tail).await
        }
        [t, tail @ ..] if eq(t, "tokens") => tokens(app, ctx, tail),
        [sh, r, tail @ ..] if eq(sh, "sharing") && eq(r, "rest") => {
            Ok(crate::portal::sharing(app, ctx, tail))
        }
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

fn rest_info(app: &App, ctx: &Ctx) -> Result<Response, ApiError> {
    let mut auth = json!({"isTokenBasedSecurity": app.auth.enabled()});
    if app.auth.enabled() {
        auth["tokenServicesUrl"] = json!(ctx.url("/arcgis/tokens/"));
        auth["shortLivedTokenValidity"] = json!(60);
    }
    let v = json!({
        "currentVersion": CURRENT_VERSION,
        "fullVersion": "11.3.0",
        "soapUrl": ctx.url("/arcgis/services"),
        "secureSoapUrl": Value::Null,
        "owningSystemUrl": ctx.url("/arcgis"),
        "authInfo": auth,
    });
    Ok(value_response(ctx.f, "Server info", &[], &[], &v))
}

fn tokens(app: &App, ctx: &Ctx, tail: &[&str]) -> Result<Response, ApiError> {
    match tail {
        [] => {
            let v = json!({"generateTokenUrl": ctx.url("/arcgis/tokens/generateToken"), "tokenSecurity": app.auth.enabled()});
            Ok(value_response(ctx.f, "Tokens", &[], &[], &v))
        }
        [g] if eq(g, "generateToken") => {
            if !app.auth.enabled() {
                return Err(ApiError::new(400, "Unable to generate token.", vec!["Token security is not enabled on this server (start it with --token-auth USER:PASS).".into()]));
            }
            if ctx.method != Method::POST {
                return Err(ApiError::new(
                    405,
                    "Unable to generate token.",
                    vec!["generateToken accepts POST requests only.".into()],
                ));
            }
            let user = ctx.params.get("username").unwrap_or_default();
            let pass = ctx.params.get("password").unwrap_or_default();
            let exp = match ctx.params.get("expiration").filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => Some(s.trim().parse::<f64>().map_err(|_| {
                    ApiError::new(
                        400,
                        "Unable to generate token.",
                        vec![format!("expiration: `{s}` is not a number of minutes")],
                    )
                })?),
            };
            let t = app.auth.generate(user, pass, exp)?;
            let v = json!({"token": t.token, "expires": t.expires_ms, "ssl": app.tls});
            Ok(value_response(
                if ctx.f == F::Html { F::Json } else { ctx.f },
                "Token",
                &[],
                &[],
                &v,
            ))
        }
        _ => Err(ApiError::not_found("Resource not found")),
    }
}

fn crumbs_for(parts: &[(&str, String)]) -> Vec<(String, String)> {
    parts
        .iter()
        .map(|(l, h)| (l.to_string(), h.clone()))
        .collect()
}

async fn services(app: &Arc<App>, ctx: &mut Ctx, tail: &[&str]) -> Result<Response, ApiError> {
    let cat = &app.catalog;
    let is_type = |s: &str| eq(s, "GPServer") || eq(s, "MapServer");
    let listing = |folder: Option<&str>| -> Value {
        let mut services = Vec::new();
        for s in &cat.services {
            let matches = match (s.folder, folder) {
                (None, None) => true,
                (Some(a), Some(b)) => eq(a, b),
                _ => false,
            };
            if matches {
                services.push(json!({"name": s.qualified_name(), "type": "GPServer"}));
                if s.result_map {
                    services.push(json!({"name": s.qualified_name(), "type": "MapServer"}));
                }
            }
        }
        let folders: Vec<&str> = if folder.is_none() {
            cat.folders()
        } else {
            vec![]
        };
        json!({"currentVersion": CURRENT_VERSION, "folders": folders, "services": services})
    };
    let links = |v: &Value| -> Vec<(String, String)> {
        let mut l = Vec::new();
        for f in v["folders"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            l.push((format!("{f}/"), format!("/arcgis/rest/services/{f}")));
        }
        for s in v["services"].as_array().into_iter().flatten() {
            let n = s["name"].as_str().unwrap_or_default();
            let t = s["type"].as_str().unwrap_or_default();
            l.push((
                format!("{n} ({t})"),
                format!("/arcgis/rest/services/{n}/{t}"),
            ));
        }
        l
    };
    let home = ("Home", "/arcgis/rest/services".to_string());
    let (folder, name, kind, rest) = match tail {
        [] => {
            let v = listing(None);
            return Ok(value_response(
                ctx.f,
                "Folder: /",
                &crumbs_for(&[home]),
                &links(&v),
                &v,
            ));
        }
        [f] if cat.is_folder(f) => {
            let v = listing(Some(f));
            return Ok(value_response(
                ctx.f,
                &format!("Folder: {f}"),
                &crumbs_for(&[home]),
                &links(&v),
                &v,
            ));
        }
        [n, t, rest @ ..] if is_type(t) => (None, *n, *t, rest),
        [f, n, t, rest @ ..] if is_type(t) => (Some(*f), *n, *t, rest),
        _ => {
            return Err(ApiError::not_found(format!(
                "Service {} not found",
                tail.join("/")
            )));
        }
    };
    let Some(svc) = cat.service(folder, name) else {
        return Err(ApiError::not_found(format!(
            "Service {}{name}/{kind} not found",
            folder.map(|f| format!("{f}/")).unwrap_or_default()
        )));
    };
    if eq(kind, "GPServer") {
        gp::gpserver(app, ctx, svc, rest).await
    } else if svc.result_map {
        mapserver::mapserver(app, ctx, svc, rest)
    } else {
        Err(ApiError::not_found(format!(
            "Service {}/MapServer not found",
            svc.qualified_name()
        )))
    }
}

/// Checks that a path segment is a plain file or folder name.
pub(crate) fn safe_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']) && !s.starts_with('.')
}

/// Maps `/rest/directories/...` segments to a local file, checking job ownership.
pub(crate) fn directory_file(
    app: &App,
    user: Option<&str>,
    tail: &[&str],
) -> Result<PathBuf, ApiError> {
    if !tail.iter().all(|s| safe_segment(s)) {
        return Err(ApiError::not_found("File not found"));
    }
    let not_found = || ApiError::not_found(format!("File {} not found", tail.join("/")));
    let path = match tail {
        [root, svc, job, scratch, file]
            if (eq(root, "arcgisjobs") || eq(root, "arcgisoutput")) && eq(scratch, "scratch") =>
        {
            let base = if eq(root, "arcgisjobs") {
                app.jobs.jobs_root()
            } else {
                app.jobs.output_root()
            };
            let dir = base.join(svc.to_ascii_lowercase()).join(job);
            owner_check(&dir, user)?;
            dir.join("scratch").join(file)
        }
        [root, maps, file] if eq(root, "arcgisoutput") && eq(maps, "_ags_map") => {
            app.maps_dir.join(file)
        }
        [samples, file] if eq(samples, "samples") => app.samples_dir.join(file),
        _ => return Err(not_found()),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(not_found())
    }
}

fn owner_check(job_dir: &Path, user: Option<&str>) -> Result<(), ApiError> {
    let Ok(bytes) = std::fs::read(job_dir.join("job.json")) else {
        return Ok(());
    };
    let owner = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("owner").and_then(Value::as_str).map(str::to_string));
    match owner {
        Some(o) if Some(o.as_str()) != user => Err(ApiError::forbidden()),
        _ => Ok(()),
    }
}

async fn directories(app: &App, ctx: &Ctx, tail: &[&str]) -> Result<Response, ApiError> {
    if tail.is_empty() {
        let v = json!({"directories": ["arcgisjobs", "arcgisoutput", "samples"]});
        return Ok(value_response(ctx.f, "Directories", &[], &[], &v));
    }
    let path = directory_file(app, ctx.user.as_deref(), tail)?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError::internal(format!("reading {}: {e}", tail.join("/"))))?;
    let ext = crate::tools::extension(&path);
    let ct = match ext.as_str() {
        "tif" | "tiff" => "image/tiff",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "json" => "application/json",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    };
    Ok(bytes_response(bytes, ct))
}

/// Resolves data references for tools.
#[derive(Debug)]
pub(crate) struct AppResolver<'a> {
    pub(crate) app: &'a App,
    pub(crate) user: Option<&'a str>,
}

impl Resolver for AppResolver<'_> {
    fn resolve(&self, param: &str, value: &GpValue) -> Result<PathBuf, BadParam> {
        let sample = |name: &str| -> Option<PathBuf> {
            let n = name.trim();
            (eq(n, SAMPLE_DEM) || eq(n, SAMPLE_DEM_FILE))
                .then(|| self.app.samples_dir.join(SAMPLE_DEM_FILE))
        };
        match value {
            GpValue::String(s) => sample(s).ok_or_else(|| {
                BadParam::new(
                    param,
                    format!("`{s}` is not a sample name (the sample is `{SAMPLE_DEM}`)"),
                )
            }),
            GpValue::DataRef(r) => {
                if let Some(item) = &r.item_id {
                    return uploads::item_file(self.app, item.as_str()).ok_or_else(|| {
                        BadParam::new(param, format!("no uploaded item with itemID `{item}`"))
                    });
                }
                if let Some(url) = &r.url {
                    if let Some(p) = sample(url) {
                        return Ok(p);
                    }
                    let lower = url.to_ascii_lowercase();
                    if let Some(i) = lower.find("/rest/directories/") {
                        let tail = &url[i + "/rest/directories/".len()..];
                        let tail = tail.split(['?', '#']).next().unwrap_or_default();
                        let segs = segments(tail);
                        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
                        return directory_file(self.app, self.user, &segs)
                            .map_err(|e| BadParam::new(param, format!("{url}: {}", e.message)));
                    }
                    return Err(BadParam::new(
                        param,
                        format!(
                            "{url}: this server reads only its own files (…/rest/directories/…), uploaded items ({{\"itemID\": …}}) and the sample `{SAMPLE_DEM}`; it does not fetch other URLs"
                        ),
                    ));
                }
                Err(BadParam::new(
                    param,
                    "expected {\"url\": ...} or {\"itemID\": ...}",
                ))
            }
            _ => Err(BadParam::new(param, "expected a data reference")),
        }
    }
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
        assert!(!safe_segment(".."));
        assert!(!safe_segment(".hidden"));
        assert!(!safe_segment("a/b"));
        assert!(safe_segment("Output_Slope.tif"));
    }
}

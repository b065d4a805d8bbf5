//! The services directory: `/rest/info` and `/rest/services[/<folder>]`, then the
//! hand-off to a GPServer or its result MapServer.

use std::sync::Arc;

use axum::response::Response;
use gp_model::{AuthInfo, RestInfo, ServiceDirectory, ServiceEntry};

use crate::catalog::Catalog;
use crate::hosted::FOLDER;
use crate::respond::{ApiError, value_response};
use crate::state::{App, CURRENT_VERSION, Ctx, eq};
use crate::{featureserver, gpserver, mapserver};

/// `/rest/info`.
pub(crate) fn rest_info(app: &App, ctx: &Ctx) -> Response {
    let on = app.auth.enabled();
    let v = RestInfo {
        current_version: Some(CURRENT_VERSION),
        full_version: Some("11.3.0".into()),
        soap_url: Some(ctx.url("/arcgis/services")),
        secure_soap_url: None,
        owning_system_url: Some(ctx.url("/arcgis")),
        auth_info: Some(AuthInfo {
            is_token_based_security: on,
            token_services_url: on.then(|| ctx.url("/arcgis/tokens/")),
            short_lived_token_validity: on.then_some(60),
        }),
    };
    value_response(ctx.f, "Server info", &[], &[], &v)
}

fn listing(cat: &Catalog, folder: Option<&str>) -> ServiceDirectory {
    let mut services = Vec::new();
    for s in &cat.services {
        let here = match (s.folder, folder) {
            (None, None) => true,
            (Some(a), Some(b)) => eq(a, b),
            _ => false,
        };
        if here {
            let entry = |t: &str| ServiceEntry {
                name: s.qualified_name(),
                service_type: t.into(),
                url: None,
            };
            services.push(entry("GPServer"));
            if s.result_map {
                services.push(entry("MapServer"));
            }
        }
    }
    let folders = if folder.is_none() {
        cat.folders()
            .into_iter()
            .map(str::to_string)
            .chain([FOLDER.to_string()])
            .collect()
    } else {
        Vec::new()
    };
    ServiceDirectory {
        current_version: Some(CURRENT_VERSION),
        folders,
        services,
    }
}

fn links(v: &ServiceDirectory) -> Vec<(String, String)> {
    let folders = v
        .folders
        .iter()
        .map(|f| (format!("{f}/"), format!("/arcgis/rest/services/{f}")));
    let services = v.services.iter().map(|s| {
        (
            format!("{} ({})", s.name, s.service_type),
            format!("/arcgis/rest/services/{}/{}", s.name, s.service_type),
        )
    });
    folders.chain(services).collect()
}

/// `/rest/services[/…]`.
pub(crate) async fn services(
    app: &Arc<App>,
    ctx: &mut Ctx,
    tail: &[&str],
) -> Result<Response, ApiError> {
    let cat = &app.catalog;
    let is_type = |s: &str| eq(s, "GPServer") || eq(s, "MapServer");
    let home = vec![("Home".to_string(), "/arcgis/rest/services".to_string())];
    match tail {
        [f] if eq(f, FOLDER) => {
            let services = app
                .hosted
                .names(ctx.user.as_deref())
                .into_iter()
                .map(|n| ServiceEntry {
                    name: format!("{FOLDER}/{n}"),
                    service_type: "FeatureServer".into(),
                    url: None,
                })
                .collect();
            let v = ServiceDirectory {
                current_version: Some(CURRENT_VERSION),
                folders: Vec::new(),
                services,
            };
            return Ok(value_response(
                ctx.f,
                &format!("Folder: {FOLDER}"),
                &home,
                &links(&v),
                &v,
            ));
        }
        [f, n, t, rest @ ..] if eq(f, FOLDER) && eq(t, "FeatureServer") => {
            return featureserver::featureserver(app, ctx, n, rest);
        }
        _ => {}
    }
    let (folder, name, kind, rest) = match tail {
        [] => {
            let v = listing(cat, None);
            return Ok(value_response(ctx.f, "Folder: /", &home, &links(&v), &v));
        }
        [f] if cat.is_folder(f) => {
            let v = listing(cat, Some(f));
            return Ok(value_response(
                ctx.f,
                &format!("Folder: {f}"),
                &home,
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
        gpserver::gpserver(app, ctx, svc, rest).await
    } else if svc.result_map {
        mapserver::mapserver(app, ctx, svc, rest).await
    } else {
        Err(ApiError::not_found(format!(
            "Service {}/MapServer not found",
            svc.qualified_name()
        )))
    }
}

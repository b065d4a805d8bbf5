//! The minimal portal endpoints that `arcgis.gis.GIS(url)` reads before it will
//! talk to a server (`sharing/rest/info`, `portals/self`, `sharing/rest`).

use axum::response::Response;
use gp_model::{AuthInfo, PortalInfo, RestInfo, SharingInfo};

use crate::request::F;
use crate::respond::value_response;
use crate::state::{App, Ctx};

const PORTAL_VERSION: &str = "2024.1";

/// `/arcgis/sharing/rest[/…]`.
pub(crate) fn sharing(app: &App, ctx: &Ctx, tail: &[&str]) -> Response {
    let f = if ctx.f == F::Html { F::Json } else { ctx.f };
    let host = ctx.base.split("://").nth(1).unwrap_or_default().to_string();
    match tail {
        [i] if i.eq_ignore_ascii_case("info") => {
            let v = RestInfo {
                owning_system_url: Some(ctx.url("/arcgis")),
                auth_info: Some(AuthInfo {
                    is_token_based_security: app.auth.enabled(),
                    token_services_url: Some(ctx.url("/arcgis/sharing/rest/generateToken")),
                    short_lived_token_validity: None,
                }),
                ..Default::default()
            };
            value_response(f, "Portal", &[], &[], &v)
        }
        [p, s] if p.eq_ignore_ascii_case("portals") && s.eq_ignore_ascii_case("self") => {
            let v = PortalInfo {
                portal_name: Some("gp-server".into()),
                name: Some("gp-server".into()),
                id: Some("0123456789ABCDEF".into()),
                is_portal: true,
                portal_mode: Some("multitenant".into()),
                current_version: Some(PORTAL_VERSION.into()),
                all_ssl: app.tls,
                portal_hostname: Some(format!("{host}/arcgis")),
                url_key: None,
                custom_base_url: Some(host),
                helper_services: Some(serde_json::Value::Object(Default::default())),
                user: None,
                supports_o_auth: false,
                is_read_only: true,
            };
            value_response(f, "Portal", &[], &[], &v)
        }
        _ => {
            let v = SharingInfo {
                current_version: Some(PORTAL_VERSION.into()),
            };
            value_response(f, "Portal", &[], &[], &v)
        }
    }
}

//! The minimal portal endpoints that `arcgis.gis.GIS(url)` reads before it will
//! talk to a server (`sharing/rest/info`, `portals/self`, `sharing/rest`).

use axum::response::Response;
use serde_json::json;

use crate::request::F;
use crate::respond::value_response;
use crate::state::{App, Ctx};

/// `/arcgis/sharing/rest[/…]`.
pub(crate) fn sharing(app: &App, ctx: &Ctx, tail: &[&str]) -> Response {
    let f = if ctx.f == F::Html { F::Json } else { ctx.f };
    let host = ctx.base.split("://").nth(1).unwrap_or_default().to_string();
    let v = match tail {
        [i] if i.eq_ignore_ascii_case("info") => json!({
            "owningSystemUrl": ctx.url("/arcgis"),
            "authInfo": {"tokenServicesUrl": ctx.url("/arcgis/sharing/rest/generateToken"), "isTokenBasedSecurity": app.auth.enabled()},
        }),
        [p, s] if p.eq_ignore_ascii_case("portals") && s.eq_ignore_ascii_case("self") => json!({
            "portalName": "gp-server",
            "name": "gp-server",
            "id": "0123456789ABCDEF",
            "isPortal": true,
            "portalMode": "multitenant",
            "currentVersion": "2024.1",
            "allSSL": app.tls,
            "portalHostname": format!("{host}/arcgis"),
            "urlKey": Option::<String>::None,
            "customBaseUrl": host,
            "helperServices": {},
            "user": Option::<String>::None,
            "supportsOAuth": false,
            "isReadOnly": true,
        }),
        _ => json!({"currentVersion": "2024.1"}),
    };
    value_response(f, "Portal", &[], &[], &v)
}

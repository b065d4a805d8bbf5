//! The minimal portal endpoints that `arcgis.gis.GIS(url)` reads before it will
//! talk to a server (`sharing/rest/info`, `portals/self`, `sharing/rest`), and one
//! portal item per service (`sharing/rest/content/items/<id>`): a web tool's item
//! leads to its GPServer, a hosted layer's to its FeatureServer.

use axum::response::Response;
use gp_model::{AuthInfo, GP_SERVICE_ITEM, PortalInfo, PortalItem, RestInfo, SharingInfo};

use crate::hosted::FOLDER;
use crate::respond::ApiError;

use crate::request::F;
use crate::respond::value_response;
use crate::state::{App, Ctx};

const PORTAL_VERSION: &str = "2024.1";

/// The item id of a service: 32 hexadecimal digits, the same on every start
/// (two FNV-1a hashes of its kind and name).
pub(crate) fn item_id(kind: &str, name: &str) -> String {
    let text = format!("{kind}:{}", name.to_ascii_lowercase());
    let fnv = |seed: u64| {
        text.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x6c62_272e_07bb_0142)
    )
}

/// Every item `ctx`'s user may see.
fn items(app: &App, ctx: &Ctx) -> Vec<PortalItem> {
    let mut out: Vec<PortalItem> = app
        .catalog
        .services
        .iter()
        .map(|s| {
            let name = s.qualified_name();
            PortalItem {
                id: item_id("GPServer", &name),
                owner: Some("gp-server".into()),
                title: Some(s.name.to_string()),
                name: Some(name.clone()),
                item_type: GP_SERVICE_ITEM.into(),
                url: Some(ctx.url(&format!("/arcgis/rest/services/{name}/GPServer"))),
                access: Some("public".into()),
                type_keywords: vec!["Web Tool".into(), "Tool".into(), "Service".into()],
            }
        })
        .collect();
    for n in app.hosted.names(ctx.user.as_deref()) {
        let owner = app.hosted.get(&n).and_then(|l| l.owner.clone());
        out.push(PortalItem {
            id: item_id("FeatureServer", &n),
            access: Some(if owner.is_some() { "private" } else { "public" }.into()),
            owner: Some(owner.unwrap_or_else(|| "gp-server".into())),
            title: Some(n.clone()),
            item_type: "Feature Service".into(),
            url: Some(ctx.url(&format!("/arcgis/rest/services/{FOLDER}/{n}/FeatureServer"))),
            name: Some(n),
            type_keywords: vec!["Hosted Service".into(), "Service".into()],
        });
    }
    out
}

/// `/arcgis/sharing/rest[/…]`.
pub(crate) fn sharing(app: &App, ctx: &Ctx, tail: &[&str]) -> Result<Response, ApiError> {
    let f = if ctx.f == F::Html { F::Json } else { ctx.f };
    let host = ctx.base.split("://").nth(1).unwrap_or_default().to_string();
    Ok(match tail {
        [c, i, id] if c.eq_ignore_ascii_case("content") && i.eq_ignore_ascii_case("items") => {
            let item = items(app, ctx)
                .into_iter()
                .find(|it| it.id.eq_ignore_ascii_case(id))
                .ok_or_else(|| {
                    ApiError::new(
                        400,
                        "Item does not exist or is inaccessible.",
                        vec![format!("No item with id {id}.")],
                    )
                })?;
            value_response(f, "Item", &[], &[], &item)
        }
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
    })
}

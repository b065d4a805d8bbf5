//! Portal items: web tools are published under an item id; the item's `url` is the
//! service. `sharing/rest/content/items/<id>` is read with this client's credentials
//! (sent to the portal only).

use gp_model::PortalItem;

use crate::error::Error;
use crate::target::Creds;
use crate::{Client, wire};

/// A portal and an item id found in `text`: an item page
/// (`…/home/item.html?id=<id>`) or item resource (`…/sharing/rest/content/items/<id>`)
/// names its portal; a bare id takes `portal`.
fn item_ref(text: &str, portal: Option<&str>) -> Result<(String, String), Error> {
    let t = text.trim();
    let bad = |m: &str| Error::BadUrl {
        input: t.to_string(),
        message: m.to_string(),
    };
    if PortalItem::is_item_id(t) {
        let portal = portal.ok_or_else(|| {
            bad("a bare item id needs the portal it belongs to (--portal https://host/portal)")
        })?;
        return Ok((
            portal.trim().trim_end_matches('/').to_string(),
            t.to_string(),
        ));
    }
    let lower = t.to_ascii_lowercase();
    if let Some(i) = lower.find("/sharing/rest/content/items/") {
        let id = t[i + "/sharing/rest/content/items/".len()..]
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        if PortalItem::is_item_id(id) {
            return Ok((t[..i].to_string(), id.to_string()));
        }
    }
    if let Some(i) = lower.find("/home/item.html") {
        let id = t
            .split_once("id=")
            .map(|(_, rest)| rest.split(['&', '#']).next().unwrap_or_default())
            .unwrap_or_default();
        if PortalItem::is_item_id(id) {
            return Ok((t[..i].to_string(), id.to_string()));
        }
    }
    Err(bad(
        "it is not a portal item: give an item id (32 hexadecimal digits) with the portal, or an item URL",
    ))
}

/// True when `text` names a portal item rather than a service.
pub(crate) fn names_item(text: &str) -> bool {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    PortalItem::is_item_id(t)
        || lower.contains("/sharing/rest/content/items/")
        || lower.contains("/home/item.html")
}

impl Client {
    /// The portal item `id` of `portal` (`https://host/portal`).
    pub async fn portal_item(&self, portal: &str, id: &str) -> Result<PortalItem, Error> {
        let (portal, id) = item_ref(id, Some(portal))?;
        let client = self.for_root(&Creds::None, &portal);
        let url = format!("{portal}/sharing/rest/content/items/{id}");
        wire::get_json(&client.transport, &url, &[], "portal item").await
    }

    /// The service URL behind `text` when it names a portal item (an item id with
    /// `portal`, or an item URL); else `text` as it is. An item without a URL
    /// (a file, a web map) is an error that says its type.
    pub async fn resolve_item(&self, text: &str, portal: Option<&str>) -> Result<String, Error> {
        if !names_item(text) {
            return Ok(text.to_string());
        }
        let (portal, id) = item_ref(text, portal)?;
        let item = self.portal_item(&portal, &id).await?;
        item.url
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| Error::BadUrl {
                input: text.trim().to_string(),
                message: format!(
                    "the item is a {} without a service URL",
                    if item.item_type.is_empty() {
                        "item"
                    } else {
                        item.item_type.as_str()
                    }
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_found_in_what_users_paste() {
        let id = "0123456789abcdef0123456789ABCDEF";
        #[track_caller]
        fn check(text: &str, portal: Option<&str>, want: Option<(&str, &str)>) {
            let got = item_ref(text, portal).ok();
            assert_eq!(
                got.as_ref().map(|(p, i)| (p.as_str(), i.as_str())),
                want,
                "{text}"
            );
        }
        check(
            id,
            Some("https://h/portal/"),
            Some(("https://h/portal", id)),
        );
        check(id, None, None);
        check(
            &format!("https://h/portal/home/item.html?id={id}#overview"),
            None,
            Some(("https://h/portal", id)),
        );
        check(
            &format!("https://h/portal/sharing/rest/content/items/{id}?f=json"),
            None,
            Some(("https://h/portal", id)),
        );
        check("https://h/arcgis/rest/services/GP/X/GPServer", None, None);
        check("0123", Some("https://h/portal"), None);
        assert!(!names_item("https://h/arcgis/rest/services/GP/X/GPServer"));
    }
}

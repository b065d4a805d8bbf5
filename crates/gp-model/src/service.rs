//! Services directory, `/rest/info` and GPServer metadata.

use serde::{Deserialize, Serialize};

use crate::ids::TaskName;

crate::vocab::vocab! {
    /// `executionType` of a GP service or task.
    pub enum ExecutionType {
        /// `esriExecutionTypeSynchronous`: run with `execute`.
        Synchronous = "esriExecutionTypeSynchronous",
        /// `esriExecutionTypeAsynchronous`: run with `submitJob`.
        Asynchronous = "esriExecutionTypeAsynchronous",
    }
}

/// One entry of a services directory listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceEntry {
    /// Folder-qualified name (`Elevation/ESRI_Elevation_World`).
    pub name: String,
    /// `GPServer`, `MapServer`, ...
    #[serde(rename = "type")]
    pub service_type: String,
    /// Absolute URL, written by some servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `/rest/services[/<Folder>]?f=json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDirectory {
    /// Server version (`10.91`, `11.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<f64>,
    /// Sub-folders.
    #[serde(default)]
    pub folders: Vec<String>,
    /// Services.
    #[serde(default)]
    pub services: Vec<ServiceEntry>,
}

/// `authInfo` of `/rest/info`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthInfo {
    /// True when the server uses tokens.
    #[serde(default)]
    pub is_token_based_security: bool,
    /// Where to get tokens (`https://host/arcgis/tokens/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_services_url: Option<String>,
    /// Short-lived token validity in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_lived_token_validity: Option<u64>,
}

/// `/rest/info?f=json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestInfo {
    /// Server version number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<f64>,
    /// Full version text (`11.1.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_version: Option<String>,
    /// SOAP endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soap_url: Option<String>,
    /// SOAP endpoint over HTTPS, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_soap_url: Option<String>,
    /// Portal URL when federated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owning_system_url: Option<String>,
    /// Token settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_info: Option<AuthInfo>,
}

/// `schema` of an 11.1+ GPServer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSchema {
    /// `{"url": ...}` of the JSON schema.
    #[serde(
        rename = "json-schema",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub json_schema: Option<UrlRef>,
}

/// `{"url": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UrlRef {
    /// The URL.
    pub url: String,
}

/// `…/GPServer?f=json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GpServiceInfo {
    /// Server version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<f64>,
    /// Pro runtime version (`3.1.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cim_version: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_description: Option<String>,
    /// Task names (may contain spaces).
    #[serde(default)]
    pub tasks: Vec<TaskName>,
    /// Sync or async.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_type: Option<ExecutionType>,
    /// Name of the result map service, `""` when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_map_server_name: Option<String>,
    /// Maximum features returned per output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_records: Option<u64>,
    /// `""` or `"Uploads"` (comma-separated list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<String>,
    /// 11.1+ JSON schema reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<ServiceSchema>,
    /// A gp-server extension (ArcGIS servers do not send it): the longest time, in
    /// seconds, a job status request with [`STATUS_WAIT_PARAM`] is held until the
    /// job ends (long polling). Without it, clients poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_status_wait_seconds: Option<f64>,
}

/// The job status parameter that asks the server to hold the answer until the job
/// ends or this many seconds pass (servers that advertise
/// [`GpServiceInfo::job_status_wait_seconds`]).
pub const STATUS_WAIT_PARAM: &str = "waitSeconds";

impl GpServiceInfo {
    /// True when `execute` is the operation (synchronous service).
    pub fn is_synchronous(&self) -> bool {
        self.execution_type == Some(ExecutionType::Synchronous)
    }

    /// The result map service name, if one is published.
    pub fn result_map_server(&self) -> Option<&str> {
        self.result_map_server_name
            .as_deref()
            .filter(|s| !s.trim().is_empty())
    }

    /// True when `capabilities` lists `Uploads`.
    pub fn supports_uploads(&self) -> bool {
        self.capabilities.as_deref().is_some_and(|c| {
            c.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("uploads"))
        })
    }
}

/// `/arcgis/tokens?f=json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokensInfo {
    /// Where to POST for a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_token_url: Option<String>,
    /// True when token security is on.
    #[serde(default)]
    pub token_security: bool,
}

/// The answer of `generateToken`: `{"token", "expires", "ssl"}`.
///
/// ```
/// let t: gp_model::TokenResponse = gp_model::from_json_str("token", r#"{"token": "abc", "expires": 1700000000000, "ssl": false}"#)?;
/// assert_eq!(t.expires, Some(1_700_000_000_000));
/// # Ok::<(), gp_model::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The token.
    pub token: String,
    /// Expiry, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// True when the token must be used over HTTPS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl: Option<bool>,
}

/// `/sharing/rest/portals/self?f=json`: what a client reads of a portal before it talks
/// to the servers behind it (the ArcGIS API for Python's `GIS(url)` does).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalInfo {
    /// Portal name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal_name: Option<String>,
    /// Organisation name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Organisation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// True for ArcGIS Enterprise.
    #[serde(default)]
    pub is_portal: bool,
    /// `multitenant` or `singletenant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal_mode: Option<String>,
    /// Portal version (`2024.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<String>,
    /// True when only HTTPS is allowed.
    #[serde(default)]
    pub all_ssl: bool,
    /// `host/webadaptor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal_hostname: Option<String>,
    /// The organisation's URL key, when it has one.
    #[serde(default)]
    pub url_key: Option<String>,
    /// Custom base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_base_url: Option<String>,
    /// Helper services (geocode, routing, ...), kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper_services: Option<serde_json::Value>,
    /// The signed-in user, when there is one (kept as JSON).
    #[serde(default)]
    pub user: Option<serde_json::Value>,
    /// True when OAuth sign-in is offered.
    #[serde(default)]
    pub supports_o_auth: bool,
    /// True for a read-only portal.
    #[serde(default)]
    pub is_read_only: bool,
}

/// `/sharing/rest?f=json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharingInfo {
    /// Portal version (`2024.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<String>,
}

/// The portal item type of a geoprocessing service (a web tool's item).
pub const GP_SERVICE_ITEM: &str = "Geoprocessing Service";

/// A portal item (`sharing/rest/content/items/<id>?f=json`): the parts that lead
/// to a service. Web tools and hosted layers are found this way.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalItem {
    /// The item id (32 hexadecimal digits).
    #[serde(default)]
    pub id: String,
    /// Its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Name (the service's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Geoprocessing Service`, `Feature Service`, ...
    #[serde(rename = "type", default)]
    pub item_type: String,
    /// The service URL (`…/GPServer`, `…/FeatureServer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `private`, `org`, `public`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// Keywords (`Web Tool`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub type_keywords: Vec<String>,
}

impl PortalItem {
    /// True when `text` looks like an item id: 32 hexadecimal digits.
    pub fn is_item_id(text: &str) -> bool {
        text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// The request parameter that asks a web tool to publish its feature output as a
/// new hosted feature layer of that name (ArcGIS Enterprise 10.9+); the output's
/// value is then `{"url": ".../FeatureServer/0"}`.
pub const HOSTED_OUTPUT_PARAM: &str = "esri_out_feature_service_name";

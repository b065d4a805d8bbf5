//! `Toolbox::import` and `Tool`: the arcpy `ImportToolbox`, `IsSynchronous` and
//! `GetParameterValue`.

use std::sync::Arc;

use futures::StreamExt;
use gp_model::{GpServiceInfo, GpValue, ParameterInfo, TaskInfo};

use crate::client::Client;
use gp_model::did_you_mean as closest;

use crate::error::Error;
use crate::params::Params;
use crate::result::GpResult;
use crate::target::{Location, Target};
use crate::wire;

/// Converts a task name to the snake_case alias (`BufferPoints` → `buffer_points`).
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_alphanumeric() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = c.is_uppercase()
                && prev.is_some_and(|p| {
                    p.is_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
                });
            if boundary && !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// A GP service with its tools, fetched once.
#[derive(Debug, Clone)]
pub struct Toolbox {
    pub(crate) client: Client,
    pub(crate) url: String,
    pub(crate) info: Arc<GpServiceInfo>,
    tools: Vec<Tool>,
    /// The tool the imported URL named (a task, job or process URL).
    named: Option<String>,
}

impl Toolbox {
    /// Imports a toolbox: a GPServer URL, a task or job URL (the whole service is
    /// imported), or arcpy's `"http://host/arcgis/services;GP/BufferByVal"` with
    /// optional `;user;password` or `;token=T` (else the client's credentials are
    /// used, for this server only). The service and every task's metadata are
    /// fetched concurrently (bounded), once.
    pub async fn import(client: &Client, url: &str) -> Result<Toolbox, Error> {
        let target = match Target::parse(url) {
            Ok(t) => t,
            // Not an ArcGIS URL: an OGC API – Processes endpoint, if it says so.
            Err(e) if !url.contains(';') => {
                return match crate::ogc::probe(client, url).await {
                    Some(root) => crate::ogc::import(client, url, &root).await,
                    None => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let Some(service_url) = target.location.service_url() else {
            return Err(Error::BadUrl {
                input: url.split(';').next().unwrap_or_default().to_string(),
                message: format!(
                    "it is {}, not a GP service; list it with `services`",
                    target.location
                ),
            });
        };
        let mut tb = Toolbox::import_target(client, &target, service_url).await?;
        if let Location::Task { task, .. } | Location::Job { task, .. } = &target.location {
            tb.tool(task)?;
            tb.named = Some(task.clone());
        }
        Ok(tb)
    }

    /// Imports the service at `service_url` of a parsed target.
    pub(crate) async fn import_target(
        client: &Client,
        target: &Target,
        service_url: &str,
    ) -> Result<Toolbox, Error> {
        let client = client.for_target(target);
        let info: GpServiceInfo =
            wire::get_json(&client.transport, service_url, &[], "GPServer metadata").await?;
        let info = Arc::new(info);
        let names: Vec<String> = info.tasks.iter().map(|t| t.to_string()).collect();
        // Collected first: a future that holds the closure would not be `Send` for
        // callers that need it (Python's event loop, `tokio::spawn`).
        let fetches: Vec<_> = names
            .iter()
            .map(|name| {
                let client = client.clone();
                let url = format!("{service_url}/{}", encode_segment(name));
                async move {
                    let task: TaskInfo =
                        wire::get_json(&client.transport, &url, &[], "task metadata").await?;
                    Ok::<_, Error>((url, task))
                }
            })
            .collect();
        let results: Vec<Result<(String, TaskInfo), Error>> = futures::stream::iter(fetches)
            .buffered(client.concurrency.max(1))
            .collect()
            .await;
        let mut tools = Vec::with_capacity(results.len());
        let synchronous = info.is_synchronous();
        for r in results {
            let (url, task) = r?;
            tools.push(Tool {
                client: client.clone(),
                service_url: service_url.to_string(),
                service: info.clone(),
                synchronous: task.is_synchronous().unwrap_or(synchronous),
                url,
                info: Arc::new(task),
                ogc: None,
            });
        }
        Ok(Toolbox {
            client,
            url: service_url.to_string(),
            info,
            tools,
            named: None,
        })
    }

    /// A toolbox of `tools` (OGC processes).
    pub(crate) fn from_parts(
        client: Client,
        url: String,
        info: Arc<GpServiceInfo>,
        tools: Vec<Tool>,
        named: Option<String>,
    ) -> Toolbox {
        Toolbox {
            client,
            url,
            info,
            tools,
            named,
        }
    }

    /// The tool the imported URL named (`…/GPServer/<task>`, a job URL, or an OGC
    /// `…/processes/{id}`), if it named one.
    pub fn named_tool(&self) -> Option<&Tool> {
        self.named.as_deref().and_then(|n| self.tool(n).ok())
    }

    /// Imports an OGC API – Processes endpoint (its landing page, `/processes` or a
    /// `/processes/{id}` URL): every process becomes a tool.
    pub async fn import_ogc(client: &Client, url: &str) -> Result<Toolbox, Error> {
        let root = crate::ogc::root_of(url);
        crate::ogc::import(client, url, &root).await
    }

    /// Imports service `name` (`GP/BufferByVal`) of the services directory at
    /// `directory_url` (`https://host/arcgis/rest/services`).
    pub async fn import_from(
        client: &Client,
        directory_url: &str,
        name: &str,
    ) -> Result<Toolbox, Error> {
        let dir = directory_url
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        let name = name.trim().trim_matches('/');
        let name = name.strip_suffix("/GPServer").unwrap_or(name);
        Toolbox::import(client, &format!("{dir}/{name}/GPServer")).await
    }

    /// The GPServer URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The client, with the credentials of the import string when it had some.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The service metadata.
    pub fn info(&self) -> &GpServiceInfo {
        &self.info
    }

    /// True for a synchronous (execute) service.
    pub fn is_synchronous(&self) -> bool {
        self.info.is_synchronous()
    }

    /// The tools, in the service's order.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// The tool called `name`, or by its snake_case alias (`buffer_points`).
    pub fn tool(&self, name: &str) -> Result<&Tool, Error> {
        self.tools
            .iter()
            .find(|t| t.name() == name)
            .or_else(|| {
                self.tools
                    .iter()
                    .find(|t| t.name().eq_ignore_ascii_case(name) || snake_case(t.name()) == name)
            })
            .ok_or_else(|| Error::UnknownTool {
                service: self.url.clone(),
                name: name.to_string(),
                did_you_mean: closest(name, self.tools.iter().map(|t| t.name())),
            })
    }
}

pub(crate) fn encode_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// How a parameter is named: by position or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamRef {
    /// 0-based position among all parameters (inputs and outputs), as arcpy counts.
    Index(usize),
    /// Name (exact, case-insensitive, or snake_case).
    Name(String),
}

impl From<usize> for ParamRef {
    fn from(i: usize) -> Self {
        ParamRef::Index(i)
    }
}

impl From<&str> for ParamRef {
    fn from(s: &str) -> Self {
        ParamRef::Name(s.to_string())
    }
}

impl From<String> for ParamRef {
    fn from(s: String) -> Self {
        ParamRef::Name(s)
    }
}

/// One tool (task) of a toolbox.
#[derive(Debug, Clone)]
pub struct Tool {
    pub(crate) client: Client,
    pub(crate) service_url: String,
    pub(crate) service: Arc<GpServiceInfo>,
    pub(crate) url: String,
    pub(crate) info: Arc<TaskInfo>,
    pub(crate) synchronous: bool,
    /// When the tool is an OGC API – Processes process.
    pub(crate) ogc: Option<Arc<crate::ogc::OgcProcess>>,
}

impl Tool {
    /// The task name.
    pub fn name(&self) -> &str {
        self.info.name.as_str()
    }

    /// The task URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The task metadata.
    pub fn info(&self) -> &TaskInfo {
        &self.info
    }

    /// True when the tool is an OGC API – Processes process.
    pub fn is_ogc(&self) -> bool {
        self.ogc.is_some()
    }

    /// arcpy `IsSynchronous`.
    pub fn is_synchronous(&self) -> bool {
        self.synchronous
    }

    /// All parameters, in order.
    pub fn parameters(&self) -> &[ParameterInfo] {
        &self.info.parameters
    }

    /// A parameter by position or name.
    pub fn parameter(&self, p: impl Into<ParamRef>) -> Result<&ParameterInfo, Error> {
        crate::lookup::find(self, crate::lookup::Among::All, &p.into())
    }

    /// arcpy `GetParameterValue`: the default value, for a feature input the empty
    /// FeatureSet that carries the schema. `None` when there is no default.
    pub fn parameter_value(&self, p: impl Into<ParamRef>) -> Result<Option<GpValue>, Error> {
        Ok(self.parameter(p)?.default_gp_value()?)
    }

    /// Parameters with every input pre-filled with its default, to change and run.
    pub fn default_parameters(&self) -> Params {
        let mut params = Params::new();
        for p in self.info.inputs() {
            if let Ok(Some(v)) = p.default_gp_value() {
                params.set_value(p.name.as_str(), v);
            }
        }
        params
    }

    /// Runs the tool: `execute` for synchronous services, `submitJob` otherwise.
    /// Inputs are validated against the metadata before any request. For an
    /// asynchronous tool the returned result is still running: call
    /// [`GpResult::wait`].
    pub async fn run(&self, params: Params) -> Result<GpResult, Error> {
        crate::result::run(self, params).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_aliases() {
        assert_eq!(snake_case("BufferPoints"), "buffer_points");
        assert_eq!(snake_case("RunSlope"), "run_slope");
        assert_eq!(snake_case("911 Calls Hotspot"), "911_calls_hotspot");
        assert_eq!(snake_case("Input_DEM"), "input_dem");
        assert_eq!(snake_case("EchoTypes"), "echo_types");
        assert_eq!(snake_case("GPServerURL"), "gp_server_url");
    }
}

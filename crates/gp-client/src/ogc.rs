//! OGC API – Processes servers through the same [`Toolbox`], [`Tool`] and
//! [`GpResult`]: a process becomes a task (gp-model's
//! [`gp_model::ogc::values::task_info`]), inputs go as JSON values, a job is
//! followed at its `Location` and its statusInfo mapped onto the job status, and
//! results are read by each output's type (GeoJSON feature collections as feature
//! sets, links as data references).
//!
//! Servers as they are: answers are asked for as JSON (`f=json` and `Accept`), an
//! asynchronous execute may answer 201 with a `null` body (pygeoapi 0.21: the job is
//! only in `Location`), results come as a document, pygeoapi's raw `{"id", "value"}`
//! or the pre-1.0 `{"outputs": [...]}`, and error `type`s may be bare words.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use gp_model::ogc::{self, Conformance, ProcessDescription, ProcessList, StatusInfo, values};
use gp_model::{
    ExecutionType, GpServiceInfo, GpValue, JobMessage, JobStatus, MessageType, Progress,
};
use gp_transport::Idempotency;
use indexmap::IndexMap;

use crate::client::Client;
use crate::error::Error;
use crate::params::{Params, checked_values};
use crate::result::GpResult;
use crate::toolbox::{Tool, Toolbox, encode_segment};
use crate::wire;

/// A tool that is an OGC process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OgcProcess {
    /// The API's root (the landing page).
    pub(crate) root: String,
    /// The process id.
    pub(crate) id: String,
    /// It runs synchronously when asked (`sync-execute`).
    pub(crate) sync_ok: bool,
}

/// The API root of an OGC URL: everything before `/processes` or `/jobs`.
pub(crate) fn root_of(url: &str) -> String {
    let base = url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let segs: Vec<&str> = base.split('/').collect();
    // Past `scheme://host`: the first `processes` or `jobs` segment ends the root.
    match segs
        .iter()
        .enumerate()
        .skip(3)
        .find(|(_, s)| s.eq_ignore_ascii_case("processes") || s.eq_ignore_ascii_case("jobs"))
    {
        Some((i, _)) => segs[..i].join("/"),
        None => base.to_string(),
    }
}

/// The process id in a `…/processes/{id}[/…]` URL.
fn process_in(url: &str) -> Option<String> {
    let base = url.split(['?', '#']).next().unwrap_or_default();
    let segs: Vec<&str> = base.split('/').collect();
    let i = segs
        .iter()
        .position(|s| s.eq_ignore_ascii_case("processes"))?;
    segs.get(i + 1)
        .filter(|s| !s.is_empty())
        .map(|s| crate::target::percent_decode(s))
}

/// One request with `Accept: application/json`; the body of a 2xx answer, or the
/// server's problem details as an error.
async fn send(
    client: &Client,
    method: http::Method,
    url: &str,
    body: Option<Vec<u8>>,
    headers: &[(&'static str, &str)],
) -> Result<http::Response<Bytes>, Error> {
    let idem = if method == http::Method::POST {
        Idempotency::NotIdempotent
    } else {
        Idempotency::Idempotent
    };
    let with_f = if method == http::Method::GET {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}f=json")
    } else {
        url.to_string()
    };
    let mut b = http::Request::builder()
        .method(method)
        .uri(&with_f)
        .header("accept", "application/json");
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b
        .body(Bytes::from(body.unwrap_or_default()))
        .map_err(|e| Error::BadUrl {
            input: wire::redact(url),
            message: e.to_string(),
        })?;
    req.extensions_mut().insert(idem);
    let r = client.transport.send(req).await?;
    let status = r.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(r);
    }
    let body = r.into_body();
    let detail = serde_json::from_slice::<ogc::Exception>(&body)
        .ok()
        .map(|e| {
            let kind = e.kind.rsplit('/').next().unwrap_or_default().to_string();
            format!("{kind}: {}", e.detail.or(e.title).unwrap_or_default())
        })
        .unwrap_or_else(|| wire::excerpt(&body));
    Err(Error::Server {
        url: wire::redact(url),
        code: i64::from(status),
        message: detail,
        details: Vec::new(),
    })
}

async fn get<T: serde::de::DeserializeOwned>(
    client: &Client,
    url: &str,
    what: &'static str,
) -> Result<T, Error> {
    wire::retry_read(url, || async {
        let r = send(client, http::Method::GET, url, None, &[]).await?;
        wire::decode(what, url, r.body())
    })
    .await
}

/// The API root when `url` is an OGC API – Processes endpoint (its `/conformance`
/// lists the core class), else `None`.
pub(crate) async fn probe(client: &Client, url: &str) -> Option<String> {
    let root = root_of(url);
    let c: Conformance = get(client, &format!("{root}/conformance"), "conformance")
        .await
        .ok()?;
    c.is_processes().then_some(root)
}

/// The processes of the API at `root` as a toolbox (descriptions fetched
/// concurrently, bounded); with a `…/processes/{id}` URL, that process must exist.
pub(crate) async fn import(client: &Client, url: &str, root: &str) -> Result<Toolbox, Error> {
    let list: ProcessList = get(client, &format!("{root}/processes"), "process list").await?;
    // Collected first: a future that holds the closure would not be `Send` for
    // callers that need it (Python's event loop, `tokio::spawn`).
    let fetches: Vec<_> = list
        .processes
        .iter()
        .map(|p| {
            let client = client.clone();
            let url = format!("{root}/processes/{}", encode_segment(&p.id));
            async move {
                let d: ProcessDescription = get(&client, &url, "process description").await?;
                Ok::<_, Error>((url, d))
            }
        })
        .collect();
    let results: Vec<Result<(String, ProcessDescription), Error>> = futures::stream::iter(fetches)
        .buffered(client.concurrency.max(1))
        .collect()
        .await;
    let info = Arc::new(GpServiceInfo {
        service_description: Some(format!("OGC API – Processes at {root}")),
        tasks: list
            .processes
            .iter()
            .map(|p| gp_model::TaskName::new(p.id.clone()))
            .collect(),
        execution_type: Some(ExecutionType::Asynchronous),
        ..Default::default()
    });
    let mut tools = Vec::new();
    for r in results {
        let (url, d) = r?;
        let task = values::task_info(&d);
        tools.push(Tool {
            client: client.clone(),
            service_url: root.to_string(),
            service: info.clone(),
            synchronous: task.is_synchronous().unwrap_or(false),
            url,
            info: Arc::new(task),
            ogc: Some(Arc::new(OgcProcess {
                root: root.to_string(),
                id: d.summary.id.clone(),
                sync_ok: d
                    .summary
                    .job_control_options
                    .iter()
                    .any(|j| j == "sync-execute"),
            })),
        });
    }
    let named = process_in(url);
    let tb = Toolbox::from_parts(client.clone(), root.to_string(), info, tools, named.clone());
    if let Some(id) = &named {
        tb.tool(id)?;
    }
    Ok(tb)
}

/// Runs `tool` (an OGC process): the inputs checked as for ArcGIS, sent as JSON; a
/// job when the process runs as one (`Prefer: respond-async`), else the results.
pub(crate) async fn run(
    tool: &Tool,
    process: &OgcProcess,
    params: Params,
) -> Result<GpResult, Error> {
    let set = checked_values(tool, &params).await?;
    let inputs: serde_json::Map<String, serde_json::Value> = set
        .iter()
        .filter(|(_, v)| !matches!(v, GpValue::Null))
        .map(|(p, v)| (p.name.to_string(), values::output_value(v)))
        .collect();
    let body = serde_json::json!({"inputs": inputs, "response": "document"});
    let url = format!(
        "{}/processes/{}/execution",
        process.root,
        encode_segment(&process.id)
    );
    let sync = tool.synchronous || (params.synchronous && process.sync_ok);
    let prefer: &[(&'static str, &str)] = if sync {
        &[]
    } else {
        &[("prefer", "respond-async")]
    };
    let r = send(
        &tool.client,
        http::Method::POST,
        &url,
        Some(body.to_string().into_bytes()),
        prefer,
    )
    .await?;
    let location = r
        .headers()
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| absolute(&url, l));
    if r.status().as_u16() == 201 {
        let job_url = location.ok_or_else(|| Error::Protocol {
            url: wire::redact(&url),
            status: 201,
            message: "the server made a job but said nowhere where (no Location)".into(),
        })?;
        let job_id = job_url.rsplit('/').next().unwrap_or_default().to_string();
        // pygeoapi 0.21 answers `null`: the status comes with the first poll.
        let status = serde_json::from_slice::<StatusInfo>(r.body())
            .map(|s| s.status.job_status())
            .unwrap_or(JobStatus::Submitted);
        return Ok(GpResult::submitted(tool.clone(), job_id, job_url, status));
    }
    let body: serde_json::Value = wire::decode("execute results", &url, r.body())?;
    let outputs = read_results(tool, &body)?;
    Ok(GpResult::finished(tool.clone(), outputs, Vec::new()))
}

/// `Location` made absolute against the request URL.
fn absolute(request: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let origin = gp_transport::origin_of(request).unwrap_or_default();
    format!("{origin}/{}", location.trim_start_matches('/'))
}

/// The outputs of `tool` in a results answer, each read by its type.
fn read_results(tool: &Tool, body: &serde_json::Value) -> Result<IndexMap<String, GpValue>, Error> {
    let outputs: Vec<_> = tool.info.outputs().collect();
    let only = (outputs.len() == 1).then(|| outputs[0].name.as_str());
    let map = values::results_map(body, only);
    let mut out = IndexMap::new();
    for p in outputs {
        if let Some(v) = map.get(p.name.as_str()) {
            let value = values::input_value(p, v).map_err(|e| Error::Protocol {
                url: tool.url.clone(),
                status: 200,
                message: format!("output {}: {e}", p.name),
            })?;
            out.insert(p.name.to_string(), value);
        }
    }
    Ok(out)
}

/// The status of the job at `job_url`: its status, progress and message.
pub(crate) async fn status(
    tool: &Tool,
    job_url: &str,
) -> Result<(JobStatus, Option<Progress>, Option<JobMessage>), Error> {
    let s: StatusInfo = get(&tool.client, job_url, "statusInfo").await?;
    let progress = s.progress.map(|p| Progress {
        progress_type: "step".into(),
        message: s.message.clone().unwrap_or_default(),
        percent: Some(f64::from(p)),
    });
    // The OGC name is kept in the message; a failed job's message is its error.
    let kind = if s.status == ogc::OgcStatus::Failed {
        MessageType::Error
    } else {
        MessageType::Informative
    };
    let message = s
        .message
        .map(|m| JobMessage::new(kind, format!("{}: {m}", s.status.as_str())));
    Ok((s.status.job_status(), progress, message))
}

/// The results of the job at `job_url`.
pub(crate) async fn results(
    tool: &Tool,
    job_url: &str,
) -> Result<IndexMap<String, GpValue>, Error> {
    let body: serde_json::Value =
        get(&tool.client, &format!("{job_url}/results"), "results").await?;
    read_results(tool, &body)
}

/// The job at `job_url` of the API at `root`, followed again: its statusInfo names
/// its process, which becomes the tool.
pub(crate) async fn reopen(client: &Client, root: &str, job_url: &str) -> Result<GpResult, Error> {
    let job_url = job_url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let s: StatusInfo = get(client, job_url, "statusInfo").await?;
    let id = s.process_id.clone().ok_or_else(|| Error::Protocol {
        url: wire::redact(job_url),
        status: 200,
        message: "the job's status does not say its process (processID)".into(),
    })?;
    let tb = import(client, &format!("{root}/processes/{id}"), root).await?;
    let tool = tb.tool(&id)?.clone();
    Ok(GpResult::submitted(
        tool,
        s.job_id.clone(),
        job_url.to_string(),
        s.status.job_status(),
    ))
}

/// Dismisses the job at `job_url` (`DELETE`): cancelled and removed.
pub(crate) async fn dismiss(tool: &Tool, job_url: &str) -> Result<JobStatus, Error> {
    let r = send(&tool.client, http::Method::DELETE, job_url, None, &[]).await?;
    Ok(serde_json::from_slice::<StatusInfo>(r.body())
        .map(|s| s.status.job_status())
        .unwrap_or(JobStatus::Cancelled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_process_ids_are_found_in_urls() {
        assert_eq!(
            root_of("http://h:5000/processes/hello-world"),
            "http://h:5000"
        );
        assert_eq!(root_of("http://h/arcgis/ogc/"), "http://h/arcgis/ogc");
        assert_eq!(
            root_of("http://h/arcgis/ogc/jobs/j1?f=json"),
            "http://h/arcgis/ogc"
        );
        assert_eq!(
            process_in("http://h/ogc/processes/hello-world/execution").as_deref(),
            Some("hello-world")
        );
        assert_eq!(process_in("http://h/ogc"), None);
        assert_eq!(
            absolute("http://h:5000/processes/x/execution", "/jobs/1"),
            "http://h:5000/jobs/1"
        );
    }
}

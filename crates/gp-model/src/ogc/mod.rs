//! OGC API – Processes (Part 1: Core, OGC 18-062r2): the documents a server
//! answers and a client reads, and how a geoprocessing task is described as a
//! process ([`values`]). Field names are the standard's (`jobID`, `processID`,
//! `conformsTo`, `jobControlOptions`).

pub mod values;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::job::JobStatus;

/// The core conformance class.
pub const CONF_CORE: &str = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core";
/// Process descriptions in the OGC process description model.
pub const CONF_OGC_PROCESS_DESCRIPTION: &str =
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description";
/// JSON encodings.
pub const CONF_JSON: &str = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json";
/// An OpenAPI 3.0 definition of the API.
pub const CONF_OAS30: &str = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30";
/// `GET /jobs`.
pub const CONF_JOB_LIST: &str = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list";
/// `DELETE /jobs/{id}`.
pub const CONF_DISMISS: &str = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss";
/// The link relation of the process list.
pub const REL_PROCESSES: &str = "http://www.opengis.net/def/rel/ogc/1.0/processes";
/// The link relation of the job list.
pub const REL_JOB_LIST: &str = "http://www.opengis.net/def/rel/ogc/1.0/job-list";
/// The link relation of a job's results.
pub const REL_RESULTS: &str = "http://www.opengis.net/def/rel/ogc/1.0/results";
/// The link relation of a process's execution endpoint.
pub const REL_EXECUTE: &str = "http://www.opengis.net/def/rel/ogc/1.0/execute";
/// The exception type of results asked for before the job ended.
pub const EXC_RESULT_NOT_READY: &str =
    "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/result-not-ready";
/// The exception type of an unknown process.
pub const EXC_NO_SUCH_PROCESS: &str =
    "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-process";
/// The exception type of an unknown job.
pub const EXC_NO_SUCH_JOB: &str =
    "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job";

/// A link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// Where it leads.
    pub href: String,
    /// The relation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel: Option<String>,
    /// The media type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// A title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Link {
    /// A link to `href` with relation `rel` and media type `media_type`.
    pub fn new(href: impl Into<String>, rel: &str, media_type: &str) -> Link {
        Link {
            href: href.into(),
            rel: Some(rel.to_string()),
            media_type: Some(media_type.to_string()),
            title: None,
        }
    }
}

/// The landing page (`/`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LandingPage {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Links: `service-desc`, `conformance`, processes, job list.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// `/conformance`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conformance {
    /// The conformance classes.
    #[serde(default)]
    pub conforms_to: Vec<String>,
}

impl Conformance {
    /// True when the core class is listed (the sign of an OGC API – Processes server).
    pub fn is_processes(&self) -> bool {
        self.conforms_to
            .iter()
            .any(|c| c.trim_end_matches('/') == CONF_CORE)
    }
}

/// How a process may be run: `sync-execute`, `async-execute`, `dismiss`.
pub type JobControl = String;

/// A process in the list (`/processes`), and the head of its description.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessSummary {
    /// The process id.
    pub id: String,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Version.
    #[serde(default)]
    pub version: String,
    /// `sync-execute`, `async-execute`, `dismiss`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_control_options: Vec<JobControl>,
    /// `value`, `reference`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_transmission: Vec<String>,
    /// Links (the description, the execution endpoint).
    #[serde(default)]
    pub links: Vec<Link>,
}

/// `/processes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessList {
    /// The processes.
    #[serde(default)]
    pub processes: Vec<ProcessSummary>,
    /// Links (self, next).
    #[serde(default)]
    pub links: Vec<Link>,
}

/// An input of a process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputDescription {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema of a value.
    #[serde(default)]
    pub schema: serde_json::Value,
    /// Fewest values (0: optional).
    #[serde(default = "one")]
    pub min_occurs: u64,
    /// Most values: a number or `"unbounded"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_occurs: Option<serde_json::Value>,
    /// Keys this crate does not model, kept as written (pygeoapi writes an input's
    /// `enum` here rather than in its schema).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn one() -> u64 {
    1
}

/// An output of a process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputDescription {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema of the value.
    #[serde(default)]
    pub schema: serde_json::Value,
}

/// `/processes/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessDescription {
    /// Id, title, job control options, links.
    #[serde(flatten)]
    pub summary: ProcessSummary,
    /// The inputs, in order.
    #[serde(default)]
    pub inputs: IndexMap<String, InputDescription>,
    /// The outputs, in order.
    #[serde(default)]
    pub outputs: IndexMap<String, OutputDescription>,
}

/// The body of `POST /processes/{id}/execution`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecuteRequest {
    /// Input values by id: plain, qualified (`{"value", "mediaType"}`), links
    /// (`{"href"}`), bounding boxes (`{"bbox", "crs"}`), or arrays of them.
    #[serde(default)]
    pub inputs: IndexMap<String, serde_json::Value>,
    /// The outputs wanted, with `transmissionMode` (`value` or `reference`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<IndexMap<String, serde_json::Value>>,
    /// `raw` or `document` (1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

impl ExecuteRequest {
    /// The outputs asked for by reference (`"transmissionMode": "reference"`).
    pub fn by_reference(&self) -> Vec<String> {
        self.outputs
            .iter()
            .flatten()
            .filter(|(_, o)| {
                o.get("transmissionMode")
                    .and_then(serde_json::Value::as_str)
                    == Some("reference")
            })
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// A job's status as OGC names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OgcStatus {
    /// Waiting to run.
    Accepted,
    /// Running.
    Running,
    /// Ended with results.
    Successful,
    /// Ended without results.
    Failed,
    /// Cancelled and removed.
    Dismissed,
}

impl OgcStatus {
    /// The OGC name of a job status: new, submitted and waiting are `accepted`;
    /// executing and cancelling `running`; timed out `failed`; cancelled, deleting
    /// and deleted `dismissed`.
    pub fn of(s: JobStatus) -> OgcStatus {
        match s {
            JobStatus::New | JobStatus::Submitted | JobStatus::Waiting => OgcStatus::Accepted,
            JobStatus::Executing | JobStatus::Cancelling => OgcStatus::Running,
            JobStatus::Succeeded => OgcStatus::Successful,
            JobStatus::Failed | JobStatus::TimedOut => OgcStatus::Failed,
            JobStatus::Cancelled | JobStatus::Deleting | JobStatus::Deleted => OgcStatus::Dismissed,
            // A status this crate does not know: still going.
            _ => OgcStatus::Running,
        }
    }

    /// The OGC name (`accepted`, `running`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            OgcStatus::Accepted => "accepted",
            OgcStatus::Running => "running",
            OgcStatus::Successful => "successful",
            OgcStatus::Failed => "failed",
            OgcStatus::Dismissed => "dismissed",
        }
    }

    /// The job status an OGC status stands for.
    pub fn job_status(self) -> JobStatus {
        match self {
            OgcStatus::Accepted => JobStatus::Submitted,
            OgcStatus::Running => JobStatus::Executing,
            OgcStatus::Successful => JobStatus::Succeeded,
            OgcStatus::Failed => JobStatus::Failed,
            OgcStatus::Dismissed => JobStatus::Cancelled,
        }
    }
}

/// A job's status (`statusInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusInfo {
    /// The process.
    #[serde(rename = "processID", default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<String>,
    /// Always `process`.
    #[serde(rename = "type", default = "process")]
    pub job_type: String,
    /// The job id.
    #[serde(rename = "jobID")]
    pub job_id: String,
    /// The status.
    pub status: OgcStatus,
    /// A message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// When it last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Percent done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// Links (self, results).
    #[serde(default)]
    pub links: Vec<Link>,
}

fn process() -> String {
    "process".into()
}

/// `/jobs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    /// The jobs.
    #[serde(default)]
    pub jobs: Vec<StatusInfo>,
    /// Links.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// An error as problem details (`{type, title, status, detail}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    /// A URI naming the kind of error (some servers write a bare word).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Which request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_both_ways_and_keep_their_ogc_names() {
        for s in [
            OgcStatus::Accepted,
            OgcStatus::Running,
            OgcStatus::Successful,
            OgcStatus::Failed,
            OgcStatus::Dismissed,
        ] {
            assert_eq!(OgcStatus::of(s.job_status()), s);
        }
        assert_eq!(OgcStatus::of(JobStatus::TimedOut), OgcStatus::Failed);
        assert_eq!(
            serde_json::to_string(&OgcStatus::Successful)
                .ok()
                .as_deref(),
            Some("\"successful\"")
        );
    }

    #[test]
    fn a_status_info_reads_as_pygeoapi_writes_it() {
        let s: StatusInfo = crate::from_json_str(
            "statusInfo",
            r#"{"type": "process", "processID": "hello-world", "jobID": "4f2e", "status": "accepted",
                "message": "Job accepted", "progress": 5, "links": [{"href": "http://h/jobs/4f2e/results", "rel": "results"}]}"#,
        )
        .expect("decodes");
        assert_eq!(s.status, OgcStatus::Accepted);
        assert_eq!(s.progress, Some(5));
        let c: Conformance = crate::from_json_str(
            "conformance",
            r#"{"conformsTo": ["http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core/"]}"#,
        )
        .expect("decodes");
        assert!(c.is_processes());
    }
}

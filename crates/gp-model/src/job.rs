//! Jobs: status, messages, progress, and the result/input maps.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{JobId, ParamName};

crate::vocab::vocab! {
    /// `jobStatus`: all 11 `esriJob*` values, plus `Unknown` for anything new.
    pub enum JobStatus {
        /// `esriJobNew` (arcpy 0).
        New = "esriJobNew",
        /// `esriJobSubmitted` (1).
        Submitted = "esriJobSubmitted",
        /// `esriJobWaiting` (2).
        Waiting = "esriJobWaiting",
        /// `esriJobExecuting` (3).
        Executing = "esriJobExecuting",
        /// `esriJobSucceeded` (4).
        Succeeded = "esriJobSucceeded",
        /// `esriJobFailed` (5).
        Failed = "esriJobFailed",
        /// `esriJobTimedOut` (6).
        TimedOut = "esriJobTimedOut",
        /// `esriJobCancelling` (7).
        Cancelling = "esriJobCancelling",
        /// `esriJobCancelled` (8).
        Cancelled = "esriJobCancelled",
        /// `esriJobDeleting` (9).
        Deleting = "esriJobDeleting",
        /// `esriJobDeleted` (10).
        Deleted = "esriJobDeleted",
    }
}

impl JobStatus {
    /// True when the job will not change any more: Succeeded, Failed, TimedOut,
    /// Cancelled, Deleted. An `Unknown` status is not terminal.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded
                | JobStatus::Failed
                | JobStatus::TimedOut
                | JobStatus::Cancelled
                | JobStatus::Deleted
        )
    }

    /// True only for `esriJobSucceeded`.
    pub fn is_success(&self) -> bool {
        *self == JobStatus::Succeeded
    }

    /// The arcpy `Result.status` integer (0 New … 10 Deleted); `None` for `Unknown`.
    pub fn code(&self) -> Option<u8> {
        Some(match self {
            JobStatus::New => 0,
            JobStatus::Submitted => 1,
            JobStatus::Waiting => 2,
            JobStatus::Executing => 3,
            JobStatus::Succeeded => 4,
            JobStatus::Failed => 5,
            JobStatus::TimedOut => 6,
            JobStatus::Cancelling => 7,
            JobStatus::Cancelled => 8,
            JobStatus::Deleting => 9,
            JobStatus::Deleted => 10,
            JobStatus::Unknown(_) => return None,
        })
    }

    /// The status for an arcpy integer code.
    ///
    /// ```
    /// use gp_model::JobStatus;
    /// assert_eq!(JobStatus::from_code(4).unwrap(), JobStatus::Succeeded);
    /// assert!(JobStatus::from_code(11).is_err());
    /// ```
    pub fn from_code(code: u8) -> Result<JobStatus> {
        JobStatus::KNOWN
            .get(usize::from(code))
            .cloned()
            .ok_or_else(|| Error::Vocabulary {
                what: "job status code",
                input: code.to_string(),
                reason: "arcpy status codes run from 0 (New) to 10 (Deleted)".into(),
            })
    }

    /// The arcpy label (`New`, `Timed out`, ...).
    pub fn label(&self) -> &str {
        match self {
            JobStatus::TimedOut => "Timed out",
            JobStatus::Unknown(s) => s,
            other => other.as_str().trim_start_matches("esriJob"),
        }
    }
}

crate::vocab::vocab! {
    /// `type` of a job message.
    pub enum MessageType {
        /// `esriJobMessageTypeInformative`.
        Informative = "esriJobMessageTypeInformative",
        /// `esriJobMessageTypeWarning`.
        Warning = "esriJobMessageTypeWarning",
        /// `esriJobMessageTypeError`.
        Error = "esriJobMessageTypeError",
        /// `esriJobMessageTypeEmpty`.
        Empty = "esriJobMessageTypeEmpty",
        /// `esriJobMessageTypeAbort`.
        Abort = "esriJobMessageTypeAbort",
        /// `esriJobMessageTypeProcessDefinition`.
        ProcessDefinition = "esriJobMessageTypeProcessDefinition",
        /// `esriJobMessageTypeProcessStart`.
        ProcessStart = "esriJobMessageTypeProcessStart",
        /// `esriJobMessageTypeProcessStop`.
        ProcessStop = "esriJobMessageTypeProcessStop",
    }
}

/// arcpy message severity: 0 informative, 1 warning, 2 error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    /// 0: informative (and process/empty messages).
    #[default]
    Informative = 0,
    /// 1: warning.
    Warning = 1,
    /// 2: error (and abort).
    Error = 2,
}

impl Severity {
    /// The arcpy number.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl MessageType {
    /// arcpy severity of this message type.
    pub fn severity(&self) -> Severity {
        match self {
            MessageType::Warning => Severity::Warning,
            MessageType::Error | MessageType::Abort => Severity::Error,
            _ => Severity::Informative,
        }
    }
}

/// One server message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobMessage {
    /// Message type.
    #[serde(rename = "type")]
    pub message_type: MessageType,
    /// Text.
    #[serde(default)]
    pub description: String,
}

impl JobMessage {
    /// A message of a type.
    pub fn new(message_type: MessageType, description: impl Into<String>) -> Self {
        JobMessage {
            message_type,
            description: description.into(),
        }
    }

    /// arcpy severity.
    pub fn severity(&self) -> Severity {
        self.message_type.severity()
    }
}

/// arcpy `Result.maxSeverity` of a list of messages.
pub fn max_severity(messages: &[JobMessage]) -> Severity {
    messages
        .iter()
        .map(JobMessage::severity)
        .max()
        .unwrap_or_default()
}

/// `progress` while a job executes (10.8.1+).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// `default` or `step`.
    #[serde(rename = "type", default)]
    pub progress_type: String,
    /// Text.
    #[serde(default)]
    pub message: String,
    /// 0–100 for step progressors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
}

/// `{"paramUrl": "results/<name>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamUrl {
    /// Path relative to the job URL.
    pub param_url: String,
}

/// `submitJob` response: `{"jobId", "jobStatus"}`; also the `cancel` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitJobResponse {
    /// Job id.
    pub job_id: JobId,
    /// Initial status.
    pub job_status: JobStatus,
}

/// `…/jobs/<jobId>?f=json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    /// Job id.
    pub job_id: JobId,
    /// Status.
    pub job_status: JobStatus,
    /// Progress while executing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// Output parameter URLs, once succeeded.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub results: IndexMap<ParamName, ParamUrl>,
    /// Input parameter URLs, once succeeded.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub inputs: IndexMap<ParamName, ParamUrl>,
    /// Messages (absent with `returnMessages=false`; not written when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<JobMessage>,
}

impl JobInfo {
    /// Highest severity among the messages.
    pub fn max_severity(&self) -> Severity {
        max_severity(&self.messages)
    }

    /// Messages of at least `severity`.
    pub fn messages_with(&self, severity: Severity) -> impl Iterator<Item = &JobMessage> {
        self.messages
            .iter()
            .filter(move |m| m.severity() >= severity)
    }
}

//! What a job is on disk (`job.json`) and in snapshots: its record, with inputs and
//! outputs as typed values shared between snapshots.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use gp_model::{DataType, JobMessage, JobStatus, ResultParameter};
use serde::{Deserialize, Serialize};

use crate::tools::Output;

/// A result as stored: a value (kept decoded, as the tool made it), or a file in the
/// job's scratch folder whose URL is built per request from the request's host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum StoredOutput {
    /// `{"paramName", "dataType", "value"}`.
    Value(Box<ResultParameter>),
    /// A file under the job's scratch folder.
    #[serde(rename_all = "camelCase")]
    File {
        /// The output parameter.
        param_name: String,
        /// Its data type.
        data_type: DataType,
        /// File name.
        name: String,
        /// `format`.
        format: String,
    },
    /// A hosted feature layer the tool wrote (`Hosted/<service>/FeatureServer/0`).
    #[serde(rename_all = "camelCase")]
    Hosted {
        /// The output parameter.
        param_name: String,
        /// Its data type.
        data_type: DataType,
        /// The hosted service's name.
        service: String,
    },
}

impl StoredOutput {
    /// What a tool's output `name` of type `data_type` is kept as.
    pub(crate) fn from_output(name: String, data_type: DataType, out: Output) -> StoredOutput {
        match out {
            Output::Value(v) => StoredOutput::Value(Box::new(ResultParameter {
                param_name: gp_model::ParamName::new(name),
                data_type,
                value: *v,
            })),
            Output::File { name: f, format } => StoredOutput::File {
                param_name: name,
                data_type,
                name: f,
                format,
            },
            Output::Hosted { service } => StoredOutput::Hosted {
                param_name: name,
                data_type,
                service,
            },
        }
    }

    /// The output parameter's name.
    pub(crate) fn name(&self) -> &str {
        match self {
            StoredOutput::Value(r) => r.param_name.as_str(),
            StoredOutput::File { param_name, .. } | StoredOutput::Hosted { param_name, .. } => {
                param_name
            }
        }
    }

    /// The output parameter's data type.
    pub(crate) fn data_type(&self) -> &DataType {
        match self {
            StoredOutput::Value(r) => &r.data_type,
            StoredOutput::File { data_type, .. } | StoredOutput::Hosted { data_type, .. } => {
                data_type
            }
        }
    }
}

/// What is persisted in `job.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JobRecord {
    pub(crate) job_id: String,
    pub(crate) service: String,
    pub(crate) task: String,
    pub(crate) owner: Option<String>,
    pub(crate) synchronous: bool,
    pub(crate) status: JobStatus,
    pub(crate) submitted: DateTime<Utc>,
    pub(crate) ended: Option<DateTime<Utc>>,
    /// The inputs as the run saw them (defaults filled), shared by snapshots.
    pub(crate) inputs: Arc<Vec<ResultParameter>>,
    /// The outputs, shared by snapshots (a large feature set is not copied per request).
    pub(crate) results: Arc<Vec<StoredOutput>>,
    pub(crate) messages: Vec<JobMessage>,
}

impl JobRecord {
    /// The result called `name` (case-insensitive).
    pub(crate) fn result(&self, name: &str) -> Option<&StoredOutput> {
        self.results
            .iter()
            .find(|r| r.name().eq_ignore_ascii_case(name))
    }
}

/// Writes `job.json` into a job folder (temp file, data flushed, then rename: a
/// restart never finds a half-written record).
pub(crate) fn write_record(dir: &Path, r: &JobRecord) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(r).map_err(std::io::Error::other)?;
    gp_fs::write_atomic(
        &dir.join("job.json"),
        &bytes,
        gp_fs::Options::new(true, gp_fs::Flush::Data),
    )
    .map_err(std::io::Error::other)?;
    Ok(())
}

//! Result parameters and `execute` responses.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::datatype::DataType;
use crate::ids::ParamName;
use crate::job::{JobMessage, Severity, max_severity};
use crate::value::GpValue;

/// `{"paramName", "dataType", "value"}`: one output (or input) of a job, decoded by its
/// `dataType`. The `value` is read straight into its type (no JSON tree of it is built).
#[derive(Debug, Clone, PartialEq)]
pub struct ResultParameter {
    /// Parameter name.
    pub param_name: ParamName,
    /// Data type as the server reported it.
    pub data_type: DataType,
    /// The decoded value.
    pub value: GpValue,
}

impl Serialize for ResultParameter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("paramName", &self.param_name)?;
        m.serialize_entry("dataType", &self.data_type)?;
        m.serialize_entry("value", &self.value)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for ResultParameter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            param_name: ParamName,
            #[serde(default)]
            data_type: Option<DataType>,
            #[serde(default)]
            value: Option<Box<serde_json::value::RawValue>>,
        }
        let raw = Raw::deserialize(d)?;
        let data_type = raw
            .data_type
            .unwrap_or_else(|| DataType::Unknown(String::new()));
        let value = match raw.value {
            None => GpValue::Null,
            Some(r) => GpValue::decode(&data_type, r.get()).map_err(|e| {
                serde::de::Error::custom(format!("value of `{}`: {e}", raw.param_name))
            })?,
        };
        Ok(ResultParameter {
            param_name: raw.param_name,
            data_type,
            value,
        })
    }
}

/// `execute` response: `{"results": [...], "messages": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecuteResponse {
    /// One entry per output parameter, in task order.
    #[serde(default)]
    pub results: Vec<ResultParameter>,
    /// Messages (may be empty by publishing setting).
    #[serde(default)]
    pub messages: Vec<JobMessage>,
}

impl ExecuteResponse {
    /// The result called `name`.
    pub fn result(&self, name: &str) -> Option<&ResultParameter> {
        self.results.iter().find(|r| r.param_name.as_str() == name)
    }

    /// Highest message severity.
    pub fn max_severity(&self) -> Severity {
        max_severity(&self.messages)
    }
}

/// `uploads/upload` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadResponse {
    /// True when stored.
    #[serde(default)]
    pub success: bool,
    /// The stored item.
    pub item: UploadItem,
}

/// An uploaded item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadItem {
    /// `itemID` to pass as `{"itemID": ...}`.
    #[serde(rename = "itemID")]
    pub item_id: crate::ids::ItemId,
    /// Original file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Upload time, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
    /// True once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed: Option<bool>,
    /// The GP service it was uploaded to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// `uploads/<itemID>/parts?f=json`: the parts of an item uploaded by parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadParts {
    /// The item.
    #[serde(rename = "itemID", default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<crate::ids::ItemId>,
    /// Part numbers, ascending.
    #[serde(default)]
    pub parts: Vec<u32>,
}

/// `{"success": true}`: the answer of operations without a result (`delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationResult {
    /// True when the operation was done.
    #[serde(default)]
    pub success: bool,
}

/// `uploads/info?f=json`: what a service's uploads accept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadsInfo {
    /// Largest file accepted, in MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_upload_file_size: Option<u64>,
    /// Accepted file extensions, comma-separated (`tif,zip,json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_upload_file_types: Option<String>,
}

impl UploadsInfo {
    /// True when `extension` (without the dot, any case) is on the list; a service
    /// without a list accepts any.
    pub fn allows(&self, extension: &str) -> bool {
        match self.allowed_upload_file_types.as_deref() {
            None => true,
            Some(list) => list
                .split(',')
                .map(|x| x.trim().trim_start_matches('.'))
                .any(|x| !x.is_empty() && x.eq_ignore_ascii_case(extension)),
        }
    }
}

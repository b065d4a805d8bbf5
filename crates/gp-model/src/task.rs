//! GP task (tool) metadata: `…/GPServer/<Task>?f=json`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::datatype::DataType;
use crate::error::Result;
use crate::fields::FieldType;
use crate::geometry::GeometryType;
use crate::ids::{ParamName, TaskName};
use crate::service::ExecutionType;
use crate::value::GpValue;

crate::vocab::vocab! {
    /// `direction` of a parameter.
    pub enum Direction {
        /// `esriGPParameterDirectionInput`.
        Input = "esriGPParameterDirectionInput",
        /// `esriGPParameterDirectionOutput`.
        Output = "esriGPParameterDirectionOutput",
    }
}

crate::vocab::vocab! {
    /// `parameterType` of a parameter.
    pub enum ParameterType {
        /// `esriGPParameterTypeRequired`.
        Required = "esriGPParameterTypeRequired",
        /// `esriGPParameterTypeOptional`.
        Optional = "esriGPParameterTypeOptional",
        /// `esriGPParameterTypeDerived` (outputs).
        Derived = "esriGPParameterTypeDerived",
    }
}

/// One entry of a `codedValue` filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodedValue {
    /// Data type of the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<DataType>,
    /// Label.
    pub name: String,
    /// Value.
    pub value: serde_json::Value,
}

/// A parameter `filter` (10.7+).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Filter {
    /// `{"type": "range", "minimum", "maximum"}`.
    Range {
        /// Lower bound.
        minimum: Option<f64>,
        /// Upper bound.
        maximum: Option<f64>,
    },
    /// `{"type": "featureClass", "list": [geometry types]}`.
    FeatureClass {
        /// Accepted geometry types.
        list: Vec<GeometryType>,
    },
    /// `{"type": "file", "list": [extensions]}`.
    File {
        /// Accepted file extensions.
        list: Vec<String>,
    },
    /// `{"type": "field", "list": [field types]}`.
    Field {
        /// Accepted field types.
        list: Vec<FieldType>,
    },
    /// `{"type": "codedValue", "list": [{dataType, name, value}]}` (12.0+).
    CodedValue {
        /// The coded values.
        list: Vec<CodedValue>,
    },
    /// `{"type": "composite", "list": [filter or null per member]}` (12.0+).
    Composite {
        /// One optional filter per composite member.
        list: Vec<Option<Filter>>,
    },
    /// A filter this crate does not know, kept as JSON.
    Other(serde_json::Value),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum FilterRepr {
    Range {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minimum: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        maximum: Option<f64>,
    },
    FeatureClass {
        #[serde(default)]
        list: Vec<GeometryType>,
    },
    File {
        #[serde(default)]
        list: Vec<String>,
    },
    Field {
        #[serde(default)]
        list: Vec<FieldType>,
    },
    CodedValue {
        #[serde(default)]
        list: Vec<CodedValue>,
    },
    Composite {
        #[serde(default)]
        list: Vec<Option<Filter>>,
    },
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let known = matches!(
            v.get("type").and_then(|t| t.as_str()),
            Some("range" | "featureClass" | "file" | "field" | "codedValue" | "composite")
        );
        if !known {
            return Ok(Filter::Other(v));
        }
        let r = FilterRepr::deserialize(v).map_err(serde::de::Error::custom)?;
        Ok(match r {
            FilterRepr::Range { minimum, maximum } => Filter::Range { minimum, maximum },
            FilterRepr::FeatureClass { list } => Filter::FeatureClass { list },
            FilterRepr::File { list } => Filter::File { list },
            FilterRepr::Field { list } => Filter::Field { list },
            FilterRepr::CodedValue { list } => Filter::CodedValue { list },
            FilterRepr::Composite { list } => Filter::Composite { list },
        })
    }
}

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let r = match self.clone() {
            Filter::Range { minimum, maximum } => FilterRepr::Range { minimum, maximum },
            Filter::FeatureClass { list } => FilterRepr::FeatureClass { list },
            Filter::File { list } => FilterRepr::File { list },
            Filter::Field { list } => FilterRepr::Field { list },
            Filter::CodedValue { list } => FilterRepr::CodedValue { list },
            Filter::Composite { list } => FilterRepr::Composite { list },
            Filter::Other(v) => return v.serialize(s),
        };
        r.serialize(s)
    }
}

fn lenient_strings<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<String>>, D::Error> {
    let v = Option::<Vec<serde_json::Value>>::deserialize(d)?;
    Ok(v.map(|items| {
        items
            .into_iter()
            .map(|i| match i {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect()
    }))
}

/// A member (column) description of a value table, multivalue or composite (`parameterInfos`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterMember {
    /// Column name.
    #[serde(default)]
    pub name: String,
    /// Column data type.
    pub data_type: DataType,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// Value list.
    #[serde(
        default,
        deserialize_with = "lenient_strings",
        skip_serializing_if = "Option::is_none"
    )]
    pub choice_list: Option<Vec<String>>,
    /// Nested members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_infos: Option<Vec<ParameterMember>>,
    /// Keys this crate does not model, kept as written.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One parameter of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterInfo {
    /// Form-field name.
    pub name: ParamName,
    /// Data type.
    pub data_type: DataType,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Input or output.
    pub direction: Direction,
    /// Default value as the server wrote it (see [`ParameterInfo::default_gp_value`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<serde_json::Value>,
    /// Required, optional or derived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_type: Option<ParameterType>,
    /// Category, usually empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Value list filter.
    #[serde(
        default,
        deserialize_with = "lenient_strings",
        skip_serializing_if = "Option::is_none"
    )]
    pub choice_list: Option<Vec<String>>,
    /// Filter (10.7+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// Name of the parameter this one depends on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency: Option<String>,
    /// Member descriptions (value tables, multivalues, composites; 11.0+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_infos: Option<Vec<ParameterMember>>,
    /// Keys this crate does not model, kept as written.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ParameterInfo {
    /// True for input parameters.
    pub fn is_input(&self) -> bool {
        self.direction == Direction::Input
    }

    /// True for output parameters.
    pub fn is_output(&self) -> bool {
        self.direction == Direction::Output
    }

    /// True when an input must be given (`esriGPParameterTypeRequired`).
    pub fn is_required(&self) -> bool {
        self.is_input() && self.parameter_type == Some(ParameterType::Required)
    }

    /// The default value decoded by the parameter's data type (arcpy's
    /// `GetParameterValue`): for a feature input, the empty FeatureSet that carries
    /// the schema. `Ok(None)` when there is no default.
    pub fn default_gp_value(&self) -> Result<Option<GpValue>> {
        match &self.default_value {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => GpValue::from_json(&self.data_type, v).map(Some),
        }
    }

    /// The choice list, when the server gave a non-empty one.
    pub fn choices(&self) -> Option<&[String]> {
        self.choice_list.as_deref().filter(|c| !c.is_empty())
    }
}

/// `…/GPServer/<Task>?f=json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInfo {
    /// Task name.
    pub name: TaskName,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Help page URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_url: Option<String>,
    /// Sync or async (9.3 SP1+; may be absent on old servers: ask the service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_type: Option<ExecutionType>,
    /// The parameters, in order.
    #[serde(default)]
    pub parameters: Vec<ParameterInfo>,
    /// Keys this crate does not model, kept as written.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl TaskInfo {
    /// The parameter called `name` (exact match first, then case-insensitive).
    pub fn parameter(&self, name: &str) -> Option<&ParameterInfo> {
        self.parameters
            .iter()
            .find(|p| p.name.as_str() == name)
            .or_else(|| {
                self.parameters
                    .iter()
                    .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
            })
    }

    /// Input parameters, in order.
    pub fn inputs(&self) -> impl Iterator<Item = &ParameterInfo> {
        self.parameters.iter().filter(|p| p.is_input())
    }

    /// Output parameters, in order.
    pub fn outputs(&self) -> impl Iterator<Item = &ParameterInfo> {
        self.parameters.iter().filter(|p| p.is_output())
    }

    /// True when the task declares itself synchronous.
    pub fn is_synchronous(&self) -> Option<bool> {
        self.execution_type
            .as_ref()
            .map(|e| *e == ExecutionType::Synchronous)
    }
}

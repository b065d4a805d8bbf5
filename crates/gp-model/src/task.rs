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

impl ParameterMember {
    /// A member with a name and a type (the display name is the name).
    pub fn new(name: &str, data_type: DataType) -> Self {
        ParameterMember {
            name: name.to_string(),
            data_type,
            display_name: Some(name.to_string()),
            filter: None,
            choice_list: None,
            parameter_infos: None,
            extra: serde_json::Map::new(),
        }
    }
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

/// One parameter of a task. Its default value is decoded by the parameter's data
/// type once, when the metadata is read (value tables with their columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "RawParameterInfo")]
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
    /// Default value, decoded by the data type (arcpy's `GetParameterValue`; for a
    /// feature input the empty FeatureSet that carries the schema). A default that
    /// does not decode as its type is kept as [`GpValue::Json`] and
    /// [`ParameterInfo::default_gp_value`] reports why. Written as `null` when absent,
    /// as real servers write it.
    pub default_value: Option<GpValue>,
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

/// [`ParameterInfo`] as written, before its default is decoded.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawParameterInfo {
    name: ParamName,
    data_type: DataType,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    direction: Direction,
    #[serde(default)]
    default_value: Option<serde_json::Value>,
    #[serde(default)]
    parameter_type: Option<ParameterType>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default, deserialize_with = "lenient_strings")]
    choice_list: Option<Vec<String>>,
    #[serde(default)]
    filter: Option<Filter>,
    #[serde(default)]
    dependency: Option<String>,
    #[serde(default)]
    parameter_infos: Option<Vec<ParameterMember>>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

impl From<RawParameterInfo> for ParameterInfo {
    fn from(r: RawParameterInfo) -> Self {
        let default_value = match r.default_value {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(decode_default(
                &r.data_type,
                r.parameter_infos.as_deref(),
                v,
            )),
        };
        ParameterInfo {
            name: r.name,
            data_type: r.data_type,
            display_name: r.display_name,
            description: r.description,
            direction: r.direction,
            default_value,
            parameter_type: r.parameter_type,
            category: r.category,
            choice_list: r.choice_list,
            filter: r.filter,
            dependency: r.dependency,
            parameter_infos: r.parameter_infos,
            extra: r.extra,
        }
    }
}

/// Decodes a default by type (value tables by their columns); one that does not
/// decode is kept as JSON so the metadata still reads.
fn decode_default(
    dt: &DataType,
    members: Option<&[ParameterMember]>,
    v: serde_json::Value,
) -> GpValue {
    let decoded = match (dt, members) {
        (DataType::ValueTable, Some(m)) if !m.is_empty() => {
            GpValue::value_table_with_columns(&v, m)
        }
        _ => GpValue::from_json(dt, &v),
    };
    decoded.unwrap_or(GpValue::Json(v))
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
            // Kept as JSON because it did not decode: say why (unknown types decode as JSON).
            Some(GpValue::Json(v)) if !matches!(self.data_type, DataType::Unknown(_)) => {
                GpValue::from_json(&self.data_type, v).map(Some)
            }
            other => Ok(other.clone()),
        }
    }

    /// A parameter with a name, a type and a direction; the rest empty (`parameterType`
    /// required for outputs, optional for inputs, as servers publish them).
    ///
    /// ```
    /// use gp_model::{DataType, Direction, GpValue, ParameterInfo};
    /// let p = ParameterInfo::new("Dissolve", DataType::String, Direction::Input)
    ///     .with_default(GpValue::String("NONE".into()))
    ///     .with_choices(["NONE", "ALL"]);
    /// assert!(!p.is_required());
    /// assert_eq!(p.choices().map(<[String]>::len), Some(2));
    /// ```
    pub fn new(name: &str, data_type: DataType, direction: Direction) -> Self {
        let output = direction == Direction::Output;
        ParameterInfo {
            name: ParamName::new(name),
            data_type,
            display_name: Some(name.replace('_', " ")),
            description: None,
            direction,
            default_value: None,
            parameter_type: Some(if output {
                ParameterType::Required
            } else {
                ParameterType::Optional
            }),
            category: Some(String::new()),
            choice_list: None,
            filter: None,
            dependency: None,
            parameter_infos: None,
            extra: serde_json::Map::new(),
        }
    }

    /// Marks the parameter required.
    pub fn required(mut self) -> Self {
        self.parameter_type = Some(ParameterType::Required);
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, text: &str) -> Self {
        self.description = Some(text.to_string());
        self
    }

    /// Sets the default value.
    pub fn with_default(mut self, v: GpValue) -> Self {
        self.default_value = (!matches!(v, GpValue::Null)).then_some(v);
        self
    }

    /// Sets the choice list.
    pub fn with_choices<S: Into<String>>(mut self, choices: impl IntoIterator<Item = S>) -> Self {
        self.choice_list = Some(choices.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the filter.
    pub fn with_filter(mut self, f: Filter) -> Self {
        self.filter = Some(f);
        self
    }

    /// Sets the member (column) descriptions.
    pub fn with_members(mut self, m: Vec<ParameterMember>) -> Self {
        self.parameter_infos = Some(m);
        self
    }

    /// The decoded default, borrowed (`None` when there is none).
    pub fn default(&self) -> Option<&GpValue> {
        self.default_value.as_ref()
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
    /// A task with a name, an execution type and parameters; a display name equal
    /// to the name, an empty category.
    pub fn new(name: &str, execution: ExecutionType, parameters: Vec<ParameterInfo>) -> Self {
        TaskInfo {
            name: TaskName::new(name),
            display_name: Some(name.to_string()),
            description: None,
            category: Some(String::new()),
            help_url: None,
            execution_type: Some(execution),
            parameters,
            extra: serde_json::Map::new(),
        }
    }

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

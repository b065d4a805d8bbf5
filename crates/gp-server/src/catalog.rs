//! The published services and tasks, described with gp-model's metadata types
//! (the shared truth that clients decode).

use std::time::Duration;

use gp_model::{TaskInfo, from_json_value};
use serde_json::{Value, json};

use crate::tools::ToolKind;
use crate::tools::buffer::default_schema;

/// One published GP service.
#[derive(Debug, Clone)]
pub(crate) struct ServiceDef {
    /// Folder, if any (`GP`).
    pub(crate) folder: Option<&'static str>,
    /// Service name without folder (`BufferByVal`).
    pub(crate) name: &'static str,
    /// Description.
    pub(crate) description: &'static str,
    /// Synchronous (execute) or asynchronous (submitJob).
    pub(crate) synchronous: bool,
    /// Has a result map service.
    pub(crate) result_map: bool,
    /// Accepts uploads.
    pub(crate) uploads: bool,
    /// The tasks.
    pub(crate) tasks: Vec<TaskDef>,
}

/// One task of a service.
#[derive(Debug, Clone)]
pub(crate) struct TaskDef {
    /// Metadata as served.
    pub(crate) info: TaskInfo,
    /// The tool that runs.
    pub(crate) tool: ToolKind,
    /// Execution timeout.
    pub(crate) timeout: Duration,
}

impl ServiceDef {
    /// `GP/BufferByVal`.
    pub(crate) fn qualified_name(&self) -> String {
        match self.folder {
            Some(f) => format!("{f}/{}", self.name),
            None => self.name.to_string(),
        }
    }

    /// The task called `name`, case-insensitively.
    pub(crate) fn task(&self, name: &str) -> Option<&TaskDef> {
        self.tasks
            .iter()
            .find(|t| t.info.name.as_str().eq_ignore_ascii_case(name))
    }

    /// The directory name of its jobs: `gp_bufferbyval_gpserver` style, as ArcGIS
    /// lower-cases it.
    pub(crate) fn jobs_dir_name(&self) -> String {
        format!("{}_gpserver", self.qualified_name().replace('/', "_")).to_ascii_lowercase()
    }
}

/// Everything published.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    pub(crate) services: Vec<ServiceDef>,
}

fn param(
    name: &str,
    data_type: &str,
    direction: &str,
    required: bool,
    default: Value,
    description: &str,
) -> Value {
    // Every parameter carries `defaultValue` (null when there is none): the ArcGIS API
    // for Python reads the key unconditionally (the task resource adds it back after
    // the model drops nulls).
    json!({
        "name": name,
        "dataType": data_type,
        "displayName": name.replace('_', " "),
        "description": description,
        "direction": if direction == "in" { "esriGPParameterDirectionInput" } else { "esriGPParameterDirectionOutput" },
        "defaultValue": default,
        "parameterType": if direction == "out" || required { "esriGPParameterTypeRequired" } else { "esriGPParameterTypeOptional" },
        "category": "",
    })
}

fn task(
    name: &str,
    description: &str,
    synchronous: bool,
    service: &str,
    params: Vec<Value>,
) -> TaskInfo {
    let v = json!({
        "name": name,
        "displayName": name,
        "description": description,
        "category": "",
        "helpUrl": format!("/arcgis/rest/directories/arcgisoutput/{service}_GPServer/{name}.htm"),
        "executionType": if synchronous { "esriExecutionTypeSynchronous" } else { "esriExecutionTypeAsynchronous" },
        "parameters": params,
    });
    // The JSON above is written by hand here; the model type checks it once at start.
    match from_json_value::<TaskInfo>("task metadata", &v) {
        Ok(t) => t,
        Err(e) => unreachable_task(name, &e.to_string()),
    }
}

#[allow(clippy::panic)] // reason: the catalog is static data; a typo must fail every test at once
fn unreachable_task(name: &str, e: &str) -> ! {
    panic!("built-in task {name} does not match the model: {e}")
}

fn buffer_task(synchronous: bool, service: &str) -> TaskDef {
    let schema = serde_json::to_value(default_schema()).unwrap_or(Value::Null);
    let mut dissolve = param(
        "Dissolve",
        "GPString",
        "in",
        false,
        json!("NONE"),
        "NONE: one buffer per point. ALL: one polygon, the union of all buffers.",
    );
    dissolve["choiceList"] = json!(["NONE", "ALL"]);
    let mut output = param(
        "Output_Polygons",
        "GPFeatureRecordSetLayer",
        "out",
        true,
        json!({"geometryType": "esriGeometryPolygon", "spatialReference": {"wkid": 4326}, "fields": [], "features": []}),
        "The buffer polygons.",
    );
    if let Some(o) = output.as_object_mut() {
        o.insert("parameterType".into(), json!("esriGPParameterTypeRequired"));
    }
    let mut features = param(
        "Input_Features",
        "GPFeatureRecordSetLayer",
        "in",
        true,
        schema,
        "The points to buffer.",
    );
    features["filter"] =
        json!({"type": "featureClass", "list": ["esriGeometryPoint", "esriGeometryMultipoint"]});
    TaskDef {
        info: task(
            "BufferPoints",
            "Buffers points by a distance: geodesic circles for geographic coordinates, planar circles for projected ones.",
            synchronous,
            service,
            vec![
                features,
                param(
                    "Distance",
                    "GPLinearUnit",
                    "in",
                    true,
                    json!({"distance": 5.0, "units": "esriFeet"}),
                    "The buffer distance.",
                ),
                dissolve,
                output,
            ],
        ),
        tool: ToolKind::Buffer,
        timeout: Duration::from_secs(600),
    }
}

fn echo_params() -> Vec<Value> {
    let types: [(&str, &str, Value); 17] = [
        ("String", "GPString", json!("text")),
        ("Long", "GPLong", json!(42)),
        ("Double", "GPDouble", json!(2.5)),
        ("Boolean", "GPBoolean", json!(true)),
        ("Date", "GPDate", json!(1_714_521_600_000_i64)),
        (
            "LinearUnit",
            "GPLinearUnit",
            json!({"distance": 5.0, "units": "esriFeet"}),
        ),
        (
            "ArealUnit",
            "GPArealUnit",
            json!({"area": 2.0, "units": "esriSquareKilometers"}),
        ),
        (
            "TimeUnit",
            "GPTimeUnit",
            json!({"time": 3.0, "units": "esriTimeUnitsDays"}),
        ),
        (
            "Field",
            "Field",
            json!({"name": "Name", "type": "esriFieldTypeString"}),
        ),
        ("DataFile", "GPDataFile", Value::Null),
        (
            "RecordSet",
            "GPRecordSet",
            json!({"fields": [{"name": "Value", "type": "esriFieldTypeDouble", "alias": "Value"}], "features": []}),
        ),
        (
            "FeatureSet",
            "GPFeatureRecordSetLayer",
            json!({"geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 4326}, "fields": [], "features": []}),
        ),
        ("Raster", "GPRasterDataLayer", Value::Null),
        ("MultiValue", "GPMultiValue:GPString", json!(["a", "b"])),
        ("ValueTable", "GPValueTable", json!([["a", 1]])),
        (
            "SpatialReference",
            "GPSpatialReference",
            json!({"wkid": 4326}),
        ),
        (
            "Extent",
            "GPExtent",
            json!({"xmin": 0.0, "ymin": 0.0, "xmax": 1.0, "ymax": 1.0, "spatialReference": {"wkid": 4326}}),
        ),
    ];
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for (name, dt, default) in types {
        let mut p = param(
            &format!("In_{name}"),
            dt,
            "in",
            false,
            default,
            &format!("Any {dt} value; it is echoed as Out_{name}."),
        );
        if dt == "GPValueTable" {
            p["parameterInfos"] = json!([
                {"name": "Key", "dataType": "GPString", "displayName": "Key"},
                {"name": "Count", "dataType": "GPLong", "displayName": "Count"}
            ]);
        }
        inputs.push(p);
        outputs.push(param(
            &format!("Out_{name}"),
            dt,
            "out",
            true,
            Value::Null,
            &format!("The value given as In_{name}."),
        ));
    }
    inputs.extend(outputs);
    inputs
}

impl Catalog {
    /// The services of the seed examples.
    pub(crate) fn builtin() -> Catalog {
        let slope_params = vec![
            param(
                "Input_DEM",
                "GPRasterDataLayer",
                "in",
                true,
                Value::Null,
                "The elevation raster: {\"url\": ...} of a GeoTIFF on this server, {\"itemID\": ...} of an upload, or the sample name \"sample_dem\".",
            ),
            {
                let mut p = param(
                    "Output_Measurement",
                    "GPString",
                    "in",
                    false,
                    json!("DEGREE"),
                    "DEGREE or PERCENT_RISE.",
                );
                p["choiceList"] = json!(["DEGREE", "PERCENT_RISE"]);
                p
            },
            param(
                "Z_Factor",
                "GPDouble",
                "in",
                false,
                json!(1.0),
                "Multiplies the elevations (e.g. 0.3048 for feet over metre ground units).",
            ),
            param(
                "Output_Slope",
                "GPRasterDataLayer",
                "out",
                true,
                Value::Null,
                "Slope raster, float32 GeoTIFF with the input's georeferencing and nodata.",
            ),
        ];
        Catalog {
            services: vec![
                ServiceDef {
                    folder: Some("GP"),
                    name: "BufferByVal",
                    description: "Buffers points (asynchronous, with a result map service).",
                    synchronous: false,
                    result_map: true,
                    uploads: true,
                    tasks: vec![buffer_task(false, "GP/BufferByVal")],
                },
                ServiceDef {
                    folder: Some("GP"),
                    name: "BufferSync",
                    description: "Buffers points (synchronous).",
                    synchronous: true,
                    result_map: false,
                    uploads: true,
                    tasks: vec![buffer_task(true, "GP/BufferSync")],
                },
                ServiceDef {
                    folder: Some("GP"),
                    name: "Utilities",
                    description: "Tools for testing clients: waiting with progress, failing, echoing every data type.",
                    synchronous: false,
                    result_map: false,
                    uploads: true,
                    tasks: vec![
                        TaskDef {
                            info: task(
                                "Wait",
                                "Waits a number of seconds, reporting progress; stops promptly when cancelled.",
                                false,
                                "GP/Utilities",
                                vec![
                                    param(
                                        "Seconds",
                                        "GPDouble",
                                        "in",
                                        true,
                                        Value::Null,
                                        "How long to wait.",
                                    ),
                                    param(
                                        "Elapsed",
                                        "GPDouble",
                                        "out",
                                        true,
                                        Value::Null,
                                        "Seconds actually waited.",
                                    ),
                                ],
                            ),
                            tool: ToolKind::Wait,
                            timeout: Duration::from_secs(86_400),
                        },
                        TaskDef {
                            info: task(
                                "Fail",
                                "Always fails with an error message.",
                                false,
                                "GP/Utilities",
                                vec![],
                            ),
                            tool: ToolKind::Fail,
                            timeout: Duration::from_secs(60),
                        },
                        TaskDef {
                            info: task(
                                "EchoTypes",
                                "Echoes one value of every GP data type.",
                                false,
                                "GP/Utilities",
                                echo_params(),
                            ),
                            tool: ToolKind::Echo,
                            timeout: Duration::from_secs(60),
                        },
                    ],
                },
                ServiceDef {
                    folder: None,
                    name: "SlopeByVal",
                    description: "Slope of a DEM by Horn's method (asynchronous, with a result map service).",
                    synchronous: false,
                    result_map: true,
                    uploads: true,
                    tasks: vec![TaskDef {
                        info: task(
                            "RunSlope",
                            "Computes the slope of a DEM in degrees or percent rise (Horn's method).",
                            false,
                            "SlopeByVal",
                            slope_params,
                        ),
                        tool: ToolKind::Slope,
                        timeout: Duration::from_secs(600),
                    }],
                },
            ],
        }
    }

    /// Sets every task's execution timeout (for tests of `esriJobTimedOut`).
    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        for s in &mut self.services {
            for t in &mut s.tasks {
                t.timeout = t.timeout.min(timeout);
            }
        }
    }

    /// The folders.
    pub(crate) fn folders(&self) -> Vec<&'static str> {
        let mut f: Vec<&'static str> = self.services.iter().filter_map(|s| s.folder).collect();
        f.sort_unstable();
        f.dedup();
        f
    }

    /// The service at `folder/name` (case-insensitive).
    pub(crate) fn service(&self, folder: Option<&str>, name: &str) -> Option<&ServiceDef> {
        self.services.iter().find(|s| {
            s.name.eq_ignore_ascii_case(name)
                && match (s.folder, folder) {
                    (None, None) => true,
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    _ => false,
                }
        })
    }

    /// True when `name` is a folder (case-insensitive).
    pub(crate) fn is_folder(&self, name: &str) -> bool {
        self.folders().iter().any(|f| f.eq_ignore_ascii_case(name))
    }
}

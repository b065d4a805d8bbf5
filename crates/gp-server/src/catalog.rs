//! The published services and tasks, described with gp-model's metadata types
//! (the shared truth that clients decode).

use std::time::Duration;

use gp_model::{
    DataType, Direction, ExecutionType, FeatureSet, Field, FieldType, Filter, GeometryType,
    GpValue, ParameterInfo, ParameterMember, SpatialReference, TaskInfo,
};

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
    /// `maximumRecords` when set for this service alone.
    pub(crate) maximum_records: Option<u64>,
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

fn input(name: &str, dt: DataType, description: &str) -> ParameterInfo {
    ParameterInfo::new(name, dt, Direction::Input).with_description(description)
}

fn output(name: &str, dt: DataType, description: &str) -> ParameterInfo {
    ParameterInfo::new(name, dt, Direction::Output).with_description(description)
}

/// A default written as arcpy text (`5 feet`, `2024-05-01`), read by the parameter's
/// own rules.
fn default_text(p: ParameterInfo, text: &str) -> ParameterInfo {
    match p.parse_text(text) {
        Ok(v) => p.with_default(v),
        Err(e) => bad_catalog(p.name.as_str(), &e.to_string()),
    }
}

#[allow(clippy::panic)] // reason: the catalog is static data; a typo must fail every test at once
fn bad_catalog(name: &str, e: &str) -> ! {
    panic!("built-in parameter {name} has a bad default: {e}")
}

fn wgs84() -> Option<SpatialReference> {
    Some(SpatialReference::from_wkid(4326))
}

fn task(name: &str, description: &str, synchronous: bool, params: Vec<ParameterInfo>) -> TaskInfo {
    let execution = if synchronous {
        ExecutionType::Synchronous
    } else {
        ExecutionType::Asynchronous
    };
    let mut t = TaskInfo::new(name, execution, params);
    t.description = Some(description.to_string());
    t
}

fn buffer_task(synchronous: bool) -> TaskDef {
    TaskDef {
        info: task(
            "BufferPoints",
            "Buffers points by a distance: geodesic circles for geographic coordinates, planar circles for projected ones.",
            synchronous,
            vec![
                input(
                    "Input_Features",
                    DataType::FeatureRecordSetLayer,
                    "The points to buffer.",
                )
                .required()
                .with_default(GpValue::FeatureSet(default_schema()))
                .with_filter(Filter::FeatureClass {
                    list: vec![GeometryType::Point, GeometryType::Multipoint],
                }),
                default_text(
                    input("Distance", DataType::LinearUnit, "The buffer distance.").required(),
                    "5 Feet",
                ),
                input(
                    "Dissolve",
                    DataType::String,
                    "NONE: one buffer per point. ALL: one polygon, the union of all buffers.",
                )
                .with_default(GpValue::String("NONE".into()))
                .with_choices(["NONE", "ALL"]),
                output(
                    "Output_Polygons",
                    DataType::FeatureRecordSetLayer,
                    "The buffer polygons.",
                )
                .with_default(GpValue::FeatureSet(FeatureSet::with_schema(
                    Some(GeometryType::Polygon),
                    wgs84(),
                    vec![],
                ))),
            ],
        ),
        tool: ToolKind::Buffer,
        timeout: Duration::from_secs(600),
    }
}

/// The inputs of OGC's `echo` process, each echoed to `<x>Output`.
fn ogc_echo_params() -> Vec<ParameterInfo> {
    let pairs = [
        ("string", DataType::String),
        ("double", DataType::Double),
        ("date", DataType::Date),
        ("array", DataType::MultiValue(Box::new(DataType::Long))),
        ("boundingBox", DataType::Extent),
        ("featureCollection", DataType::FeatureRecordSetLayer),
    ];
    let mut params: Vec<ParameterInfo> = pairs
        .iter()
        .map(|(n, dt)| input(&format!("{n}Input"), dt.clone(), "Echoed as it came."))
        .collect();
    params.extend(
        pairs
            .iter()
            .map(|(n, dt)| output(&format!("{n}Output"), dt.clone(), "The input, echoed.")),
    );
    params
}

/// One input of every data type, with a default, and the output it is echoed to.
fn echo_params() -> Vec<ParameterInfo> {
    let schema = |gt, sr, fields| GpValue::FeatureSet(FeatureSet::with_schema(gt, sr, fields));
    let record_set = GpValue::RecordSet(FeatureSet::with_schema(
        None,
        None,
        vec![Field::new("Value", FieldType::Double).with_alias("Value")],
    ));
    let extent = {
        let mut e = gp_model::Envelope::new(0.0, 0.0, 1.0, 1.0);
        e.spatial_reference = wgs84().map(Box::new);
        GpValue::Extent(e)
    };
    // (name, data type, default as a value or as arcpy text)
    enum D {
        V(Box<GpValue>),
        T(&'static str),
        None,
    }
    let types: [(&str, DataType, D); 17] = [
        ("String", DataType::String, D::T("text")),
        ("Long", DataType::Long, D::T("42")),
        ("Double", DataType::Double, D::T("2.5")),
        ("Boolean", DataType::Boolean, D::T("true")),
        ("Date", DataType::Date, D::T("2024-05-01")),
        ("LinearUnit", DataType::LinearUnit, D::T("5 Feet")),
        ("ArealUnit", DataType::ArealUnit, D::T("2 SquareKilometers")),
        ("TimeUnit", DataType::TimeUnit, D::T("3 Days")),
        (
            "Field",
            DataType::Field,
            D::V(Box::new(GpValue::Field(Field::new(
                "Name",
                FieldType::String,
            )))),
        ),
        ("DataFile", DataType::DataFile, D::None),
        ("RecordSet", DataType::RecordSet, D::V(Box::new(record_set))),
        (
            "FeatureSet",
            DataType::FeatureRecordSetLayer,
            D::V(Box::new(schema(Some(GeometryType::Point), wgs84(), vec![]))),
        ),
        ("Raster", DataType::RasterDataLayer, D::None),
        (
            "MultiValue",
            DataType::parse("GPMultiValue:GPString"),
            D::T("a;b"),
        ),
        ("ValueTable", DataType::ValueTable, D::T("a 1")),
        ("SpatialReference", DataType::SpatialReference, D::T("4326")),
        ("Extent", DataType::Extent, D::V(Box::new(extent))),
    ];
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for (name, dt, default) in types {
        let mut p = input(
            &format!("In_{name}"),
            dt.clone(),
            &format!("Any {dt} value; it is echoed as Out_{name}."),
        );
        if dt == DataType::ValueTable {
            p = p.with_members(vec![
                ParameterMember::new("Key", DataType::String),
                ParameterMember::new("Count", DataType::Long),
            ]);
        }
        let p = match default {
            D::V(v) => p.with_default(*v),
            D::T(t) => default_text(p, t),
            D::None => p,
        };
        inputs.push(p);
        outputs.push(output(
            &format!("Out_{name}"),
            dt,
            &format!("The value given as In_{name}."),
        ));
    }
    inputs.extend(outputs);
    inputs
}

fn slope_params() -> Vec<ParameterInfo> {
    vec![
        input(
            "Input_DEM",
            DataType::RasterDataLayer,
            "The elevation raster: {\"url\": ...} of a GeoTIFF on this server, {\"itemID\": ...} of an upload, or the sample name \"sample_dem\".",
        )
        .required(),
        input("Output_Measurement", DataType::String, "DEGREE or PERCENT_RISE.")
            .with_default(GpValue::String("DEGREE".into()))
            .with_choices(["DEGREE", "PERCENT_RISE"]),
        input(
            "Z_Factor",
            DataType::Double,
            "Multiplies the elevations (e.g. 0.3048 for feet over metre ground units).",
        )
        .with_default(GpValue::Double(1.0)),
        output(
            "Output_Slope",
            DataType::RasterDataLayer,
            "Slope raster, float32 GeoTIFF with the input's georeferencing and nodata.",
        ),
    ]
}

impl Catalog {
    /// The services of the seed examples.
    pub(crate) fn builtin() -> Catalog {
        Catalog {
            services: vec![
                ServiceDef {
                    folder: Some("GP"),
                    name: "BufferByVal",
                    description: "Buffers points (asynchronous, with a result map service).",
                    synchronous: false,
                    result_map: true,
                    uploads: true,
                    tasks: vec![buffer_task(false)],
                    maximum_records: None,
                },
                ServiceDef {
                    folder: Some("GP"),
                    name: "BufferSync",
                    description: "Buffers points (synchronous).",
                    synchronous: true,
                    result_map: false,
                    uploads: true,
                    tasks: vec![buffer_task(true)],
                    maximum_records: None,
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
                                vec![
                                    input("Seconds", DataType::Double, "How long to wait.")
                                        .required(),
                                    output("Elapsed", DataType::Double, "Seconds actually waited."),
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
                                vec![],
                            ),
                            tool: ToolKind::Fail,
                            timeout: Duration::from_secs(60),
                        },
                        TaskDef {
                            info: task(
                                "Echo",
                                "Echoes its inputs: the process the OGC API – Processes conformance suite runs (`echo`).",
                                false,
                                ogc_echo_params(),
                            ),
                            tool: ToolKind::Echo,
                            timeout: Duration::from_secs(60),
                        },
                        TaskDef {
                            info: task(
                                "EchoTypes",
                                "Echoes one value of every GP data type.",
                                false,
                                echo_params(),
                            ),
                            tool: ToolKind::Echo,
                            timeout: Duration::from_secs(60),
                        },
                    ],
                    maximum_records: None,
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
                            slope_params(),
                        ),
                        tool: ToolKind::Slope,
                        timeout: Duration::from_secs(600),
                    }],
                    maximum_records: None,
                },
            ],
        }
    }

    /// Sets `maximumRecords` of the service `name` (`GP/BufferByVal`).
    pub(crate) fn set_maximum_records(&mut self, name: &str, n: u64) -> Result<(), String> {
        let s = self
            .services
            .iter_mut()
            .find(|s| s.qualified_name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                format!("maximum records: there is no service `{name}` (names are FOLDER/NAME, as GP/BufferByVal)")
            })?;
        s.maximum_records = Some(n);
        Ok(())
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

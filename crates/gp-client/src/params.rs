//! Parameters: set by name or position from typed values, arcpy-style text or local
//! files; validated against the task metadata before any request; encoded as the
//! form fields of `execute`/`submitJob`.

use std::path::{Path, PathBuf};

use gp_model::Filter;
use gp_model::geometry::Envelope;
use gp_model::{DataRef, DataType, GpValue, HOSTED_OUTPUT_PARAM, ParameterInfo, SpatialReference};
use gp_transport::TransportExt;

use crate::error::Error;
use crate::toolbox::{ParamRef, Tool};
use crate::wire;

/// One input as given.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A typed value.
    Value(Box<GpValue>),
    /// Text as arcpy takes it (`"5 feet"`, `"true"`, `"2024-05-01"`, JSON, or a
    /// path to a local file for feature, raster and file inputs).
    Text(String),
    /// A local file: feature files are loaded into the parameter's schema and sent
    /// inline; rasters and other files are uploaded (the service needs `Uploads`).
    File(PathBuf),
}

/// Output and processing settings, sent as `context` (or `env:` for servers older
/// than 10.6.1) and `returnZ`/`returnM`/`returnTrueCurves`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Env {
    /// Output spatial reference.
    pub out_sr: Option<SpatialReference>,
    /// Processing spatial reference.
    pub process_sr: Option<SpatialReference>,
    /// Processing extent.
    pub extent: Option<Envelope>,
    /// `returnZ`.
    pub return_z: Option<bool>,
    /// `returnM`.
    pub return_m: Option<bool>,
    /// `returnTrueCurves`.
    pub return_true_curves: Option<bool>,
    /// `returnFeatureCollection` (10.6+): feature outputs of `execute` come as a
    /// layer definition (drawing info kept) and a feature set,
    /// [`GpValue::FeatureCollection`].
    pub return_feature_collection: Option<bool>,
}

/// The inputs of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    pub(crate) values: Vec<(ParamRef, Input)>,
    /// Output and processing settings.
    pub env: Env,
    /// Publish the feature output as a new hosted feature layer of this name
    /// (`esri_out_feature_service_name`, ArcGIS Enterprise web tools); the result's
    /// value is then the layer's URL, which [`crate::GpResult::output`] and the
    /// savers read in pages.
    pub hosted_output: Option<String>,
    /// Run synchronously where the server lets the caller choose (an OGC process
    /// that offers both `sync-execute` and `async-execute`); ArcGIS services decide
    /// for themselves.
    pub synchronous: bool,
}

impl Params {
    /// No inputs (the server's defaults apply).
    pub fn new() -> Self {
        Params::default()
    }

    /// Sets an input from text, arcpy style (`"5 feet"`, a file path, JSON).
    pub fn set(mut self, p: impl Into<ParamRef>, text: impl Into<String>) -> Self {
        self.values.push((p.into(), Input::Text(text.into())));
        self
    }

    /// Sets an input as given (a typed value, text or a local file).
    pub fn input(mut self, p: impl Into<ParamRef>, input: Input) -> Self {
        self.values.push((p.into(), input));
        self
    }

    /// Sets an input to a typed value.
    pub fn value(mut self, p: impl Into<ParamRef>, v: GpValue) -> Self {
        self.values.push((p.into(), Input::Value(Box::new(v))));
        self
    }

    /// Sets an input to a typed value (in place).
    pub fn set_value(&mut self, p: impl Into<ParamRef>, v: GpValue) {
        self.values.push((p.into(), Input::Value(Box::new(v))));
    }

    /// Sets an input to a local file.
    pub fn file(mut self, p: impl Into<ParamRef>, path: impl Into<PathBuf>) -> Self {
        self.values.push((p.into(), Input::File(path.into())));
        self
    }

    /// Output spatial reference by wkid.
    pub fn out_sr(mut self, wkid: i32) -> Self {
        self.env.out_sr = Some(SpatialReference::from_wkid(wkid));
        self
    }

    /// Processing spatial reference by wkid.
    pub fn process_sr(mut self, wkid: i32) -> Self {
        self.env.process_sr = Some(SpatialReference::from_wkid(wkid));
        self
    }

    /// Processing extent.
    pub fn extent(mut self, e: Envelope) -> Self {
        self.env.extent = Some(e);
        self
    }

    /// `returnZ`.
    pub fn return_z(mut self, on: bool) -> Self {
        self.env.return_z = Some(on);
        self
    }

    /// `returnM`.
    pub fn return_m(mut self, on: bool) -> Self {
        self.env.return_m = Some(on);
        self
    }

    /// Asks for a synchronous run where the server lets the caller choose (see
    /// [`Params::synchronous`](struct.Params.html#structfield.synchronous)).
    pub fn synchronous(mut self, on: bool) -> Self {
        self.synchronous = on;
        self
    }

    /// Publishes the feature output as the hosted layer `name` (see
    /// [`Params::hosted_output`](struct.Params.html#structfield.hosted_output)).
    pub fn hosted_output(mut self, name: impl Into<String>) -> Self {
        self.hosted_output = Some(name.into());
        self
    }
}

fn invalid(tool: &Tool, p: &ParameterInfo, m: impl Into<String>) -> Error {
    Error::InvalidValue {
        tool: tool.name().to_string(),
        param: p.name.to_string(),
        message: m.into(),
    }
}

/// True when text given for a feature or file input reads as a path (a separator
/// or a file extension) rather than a value: not JSON, not a URL.
fn names_a_file(t: &str) -> bool {
    let t = t.trim();
    if t.starts_with(['{', '[']) || t.contains("://") || t.is_empty() {
        return false;
    }
    let ext = Path::new(t)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric()));
    t.contains(['/', '\\']) || ext
}

fn is_feature(dt: &DataType) -> bool {
    matches!(dt, DataType::FeatureRecordSetLayer | DataType::RecordSet)
}

fn is_file(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::RasterDataLayer | DataType::RasterData | DataType::DataFile
    )
}

async fn from_file(tool: &Tool, p: &ParameterInfo, path: &Path) -> Result<GpValue, Error> {
    if is_feature(&p.data_type) {
        let schema = match p.default_gp_value() {
            Ok(Some(GpValue::FeatureSet(fs) | GpValue::RecordSet(fs))) => fs,
            _ => gp_model::FeatureSet::default(),
        };
        let fs =
            gp_features::load_into(path, &schema).map_err(|e| invalid(tool, p, e.to_string()))?;
        return Ok(if p.data_type == DataType::RecordSet {
            GpValue::RecordSet(fs)
        } else {
            GpValue::FeatureSet(fs)
        });
    }
    if !is_file(&p.data_type) {
        return Err(invalid(
            tool,
            p,
            format!("a {} cannot come from a file", p.data_type),
        ));
    }
    if let Some(Filter::File { list }) = &p.filter {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !list.is_empty() && !list.iter().any(|x| x.eq_ignore_ascii_case(&ext)) {
            return Err(invalid(
                tool,
                p,
                format!(
                    "`.{ext}` files are not accepted (accepted: {})",
                    list.join(", ")
                ),
            ));
        }
    }
    if tool.is_ogc() {
        return inline_file(tool, p, path).await;
    }
    if !tool.service.supports_uploads() {
        return Err(invalid(
            tool,
            p,
            "the service has no Uploads capability, so a local file cannot be sent; give the URL of a file the server can read",
        ));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| invalid(tool, p, format!("reading {}: {e}", path.display())))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("upload.bin");
    let url = format!("{}/uploads/upload", tool.service_url);
    let r = tool
        .client
        .transport
        .post_multipart(&url, &[("f", "json")], "file", name, &bytes)
        .await?;
    let up: gp_model::UploadResponse = wire::answer("upload response", &url, r)?;
    if !up.success {
        return Err(invalid(tool, p, "the server did not accept the upload"));
    }
    Ok(GpValue::DataRef(DataRef::item(up.item.item_id)))
}

/// The largest file sent inline to an OGC process (base64 in the request body).
const MAX_INLINE_FILE: u64 = 64 << 20;

/// A local file for an OGC process: OGC has no uploads, so it goes inline, base64
/// encoded with its media type.
async fn inline_file(tool: &Tool, p: &ParameterInfo, path: &Path) -> Result<GpValue, Error> {
    use base64::Engine;
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|e| invalid(tool, p, format!("reading {}: {e}", path.display())))?
        .len();
    if size > MAX_INLINE_FILE {
        return Err(invalid(
            tool,
            p,
            format!(
                "{} is {} MB; files over {} MB are not sent inline: give a URL the server can read",
                path.display(),
                size >> 20,
                MAX_INLINE_FILE >> 20
            ),
        ));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| invalid(tool, p, format!("reading {}: {e}", path.display())))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    Ok(gp_model::ogc::values::inline_file(
        base64::engine::general_purpose::STANDARD.encode(bytes),
        gp_model::ogc::values::media_type(ext),
    ))
}

/// Validates and encodes `params` for `tool` into form fields.
/// The inputs of `params`, each read and checked by its parameter's rules, the
/// required ones all given (or with a usable default).
pub(crate) async fn checked_values<'a>(
    tool: &'a Tool,
    params: &Params,
) -> Result<Vec<(&'a ParameterInfo, GpValue)>, Error> {
    let mut set: Vec<(&ParameterInfo, GpValue)> = Vec::new();
    for (r, input) in &params.values {
        let p = crate::lookup::find(tool, crate::lookup::Among::All, r)?;
        if !p.is_input() {
            return Err(invalid(tool, p, "is an output; it cannot be set"));
        }
        let mut v = match input {
            Input::Value(v) => (**v).clone(),
            Input::File(path) => from_file(tool, p, path).await?,
            Input::Text(t) => {
                let looks_path = (is_feature(&p.data_type) || is_file(&p.data_type))
                    && !t.trim_start().starts_with(['{', '['])
                    && Path::new(t).is_file();
                if looks_path {
                    from_file(tool, p, Path::new(t)).await?
                } else if (is_feature(&p.data_type) || is_file(&p.data_type)) && names_a_file(t) {
                    return Err(invalid(
                        tool,
                        p,
                        format!(
                            "the file `{t}` does not exist (give an existing local file, a JSON value or a URL)"
                        ),
                    ));
                } else {
                    p.parse_text(t)
                        .map_err(|e| invalid(tool, p, e.to_string()))?
                }
            }
        };
        p.check(&mut v).map_err(|m| invalid(tool, p, m))?;
        set.retain(|(q, _)| q.name != p.name);
        set.push((p, v));
    }
    for p in tool.info.inputs().filter(|p| p.is_required()) {
        let given = set
            .iter()
            .any(|(q, v)| q.name == p.name && !matches!(v, GpValue::Null));
        if !given && !p.has_usable_default() {
            return Err(invalid(tool, p, "a value is required"));
        }
    }
    Ok(set)
}

pub(crate) async fn encode(tool: &Tool, params: &Params) -> Result<Vec<(String, String)>, Error> {
    let set = checked_values(tool, params).await?;
    let mut form: Vec<(String, String)> = set
        .into_iter()
        .map(|(p, v)| (p.name.to_string(), v.to_form_text()))
        .collect();
    let env = &params.env;
    // `context` since 10.6.1; `env:` before (and on servers that do not say).
    let modern = tool.service.current_version.is_some_and(|v| v >= 10.61);
    let context = gp_model::RunContext {
        out_sr: env.out_sr.clone(),
        process_sr: env.process_sr.clone(),
        extent: env.extent.clone(),
    };
    form.extend(context.to_form(modern));
    if let Some(name) = params.hosted_output.as_deref().map(str::trim) {
        if name.is_empty() {
            return Err(Error::Config {
                message: "the hosted output needs a service name".into(),
            });
        }
        form.push((HOSTED_OUTPUT_PARAM.into(), name.to_string()));
    }
    for (k, v) in [
        ("returnZ", env.return_z),
        ("returnM", env.return_m),
        ("returnTrueCurves", env.return_true_curves),
        ("returnFeatureCollection", env.return_feature_collection),
    ] {
        if let Some(b) = v {
            form.push((k.into(), b.to_string()));
        }
    }
    Ok(form)
}

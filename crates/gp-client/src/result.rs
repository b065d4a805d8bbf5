//! `GpResult`: the arcpy Result. Running a tool, status, outputs by position or
//! name, inputs, messages, cancel, map images of the result map service. Waiting is
//! in `poll`, downloads in `download`, saving every output in `save`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use gp_model::{
    ExecuteResponse, GpValue, JobInfo, JobMessage, JobStatus, ParameterInfo, Progress,
    ResultParameter, Severity, SubmitJobResponse,
};
use gp_transport::TransportExt;
use indexmap::IndexMap;

use crate::error::Error;
use crate::params::{Params, encode};
use crate::toolbox::{ParamRef, Tool, encode_segment};
use crate::wire;

/// Options of a map image (`results/<param>` with image parameters).
#[derive(Debug, Clone, PartialEq)]
pub struct MapImageOptions {
    /// Width and height in pixels. Default 400×400.
    pub size: (u32, u32),
    /// `xmin,ymin,xmax,ymax` (in `bbox_sr`); default: the result's extent.
    pub bbox: Option<[f64; 4]>,
    /// wkid of `bbox`.
    pub bbox_sr: Option<i32>,
    /// wkid of the image.
    pub image_sr: Option<i32>,
    /// Resolution. Default 96.
    pub dpi: u32,
    /// `png`, `png32`, `jpg`. Default `png`.
    pub format: String,
    /// Transparent background (PNG).
    pub transparent: bool,
}

impl Default for MapImageOptions {
    fn default() -> Self {
        MapImageOptions {
            size: (400, 400),
            bbox: None,
            bbox_sr: None,
            image_sr: None,
            dpi: 96,
            format: "png".into(),
            transparent: false,
        }
    }
}

/// What a result learns as the job goes on.
#[derive(Debug)]
pub(crate) struct State {
    status: JobStatus,
    messages: Vec<JobMessage>,
    progress: Option<Progress>,
    outputs: IndexMap<String, GpValue>,
    /// Feature outputs read as Arrow, by name (`GpResult::output_arrow`).
    #[cfg(feature = "arrow")]
    pub(crate) tables: std::collections::HashMap<
        String,
        (gp_model::FeatureSet, gp_features::arrow::ArrowFeatures),
    >,
}

impl State {
    fn new(
        status: JobStatus,
        messages: Vec<JobMessage>,
        outputs: IndexMap<String, GpValue>,
    ) -> State {
        State {
            status,
            messages,
            progress: None,
            outputs,
            #[cfg(feature = "arrow")]
            tables: Default::default(),
        }
    }
}

/// The result of running a tool (arcpy's `Result`).
#[derive(Debug)]
pub struct GpResult {
    tool: Tool,
    job_id: Option<String>,
    job_url: Option<String>,
    started: Instant,
    state: Mutex<State>,
}

/// A failure of a request that is never repeated (`execute`, `submitJob`): when
/// the request may have reached the server (no answer, a cut one, one that cannot be
/// read), the answer was lost, not the job.
fn lost(url: &str, request_id: &str, e: Error) -> Error {
    match e {
        Error::Transport(
            t @ (gp_transport::Error::Timeout { .. }
            | gp_transport::Error::NoAnswer { .. }
            | gp_transport::Error::Body { .. }),
        ) => Error::AnswerLost {
            url: wire::redact(url),
            message: t.to_string(),
            request_id: request_id.to_string(),
        },
        // An answer that arrived but cannot be read (corrupted on the way): the
        // server took the request, so a job may exist.
        Error::Protocol {
            status, message, ..
        } if (200..300).contains(&status) => Error::AnswerLost {
            url: wire::redact(url),
            message: format!("the answer could not be read: {message}"),
            request_id: request_id.to_string(),
        },
        other => other,
    }
}

pub(crate) async fn run(tool: &Tool, params: Params) -> Result<GpResult, Error> {
    if let Some(p) = &tool.ogc {
        return crate::ogc::run(tool, p, params).await;
    }
    let form = encode(tool, &params).await?;
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // One id for the request and any resend of it, in the `X-Request-Id` header:
    // the server can log it with the job it creates.
    let request_id = wire::new_request_id();
    if tool.synchronous {
        let url = format!("{}/execute", tool.url);
        let r: ExecuteResponse = wire::submit_json(
            &tool.client.transport,
            &url,
            &pairs,
            &request_id,
            "execute response",
        )
        .await
        .map_err(|e| lost(&url, &request_id, e))?;
        let outputs = r
            .results
            .into_iter()
            .map(|p| (p.param_name.to_string(), p.value))
            .collect();
        return Ok(GpResult {
            tool: tool.clone(),
            job_id: None,
            job_url: None,
            started: Instant::now(),
            state: Mutex::new(State::new(JobStatus::Succeeded, r.messages, outputs)),
        });
    }
    let url = format!("{}/submitJob", tool.url);
    let r: SubmitJobResponse = wire::submit_json(
        &tool.client.transport,
        &url,
        &pairs,
        &request_id,
        "submitJob response",
    )
    .await
    .map_err(|e| lost(&url, &request_id, e))?;
    let id = r.job_id.to_string();
    Ok(GpResult {
        tool: tool.clone(),
        job_url: Some(format!("{}/jobs/{}", tool.url, encode_segment(&id))),
        job_id: Some(id),
        started: Instant::now(),
        state: Mutex::new(State::new(r.job_status, Vec::new(), IndexMap::new())),
    })
}

impl GpResult {
    /// A job that was started at `job_url`.
    pub(crate) fn submitted(
        tool: Tool,
        job_id: String,
        job_url: String,
        status: JobStatus,
    ) -> GpResult {
        GpResult {
            tool,
            job_id: Some(job_id),
            job_url: Some(job_url),
            started: Instant::now(),
            state: Mutex::new(State::new(status, Vec::new(), IndexMap::new())),
        }
    }

    /// A run that ended with `outputs` (synchronous).
    pub(crate) fn finished(
        tool: Tool,
        outputs: IndexMap<String, GpValue>,
        messages: Vec<JobMessage>,
    ) -> GpResult {
        GpResult {
            tool,
            job_id: None,
            job_url: None,
            started: Instant::now(),
            state: Mutex::new(State::new(JobStatus::Succeeded, messages, outputs)),
        }
    }
}

impl GpResult {
    /// The names of the outputs, in order.
    pub fn output_names(&self) -> Vec<String> {
        self.tool
            .info
            .outputs()
            .map(|p| p.name.to_string())
            .collect()
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the job was submitted (or reopened).
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// The progress and the messages, under one lock.
    pub(crate) fn progress_and_messages(&self) -> (Option<Progress>, Vec<JobMessage>) {
        let s = self.lock();
        (s.progress.clone(), s.messages.clone())
    }

    /// Notes among the messages that output `name` came back cut at the server's
    /// transfer limit.
    pub(crate) fn warn_truncated(&self, name: &str, features: usize) {
        self.lock().messages.push(JobMessage::new(
            gp_model::MessageType::Warning,
            format!("{name}: the server's transfer limit (maximumRecords) was exceeded; {features} feature(s) came back"),
        ));
    }

    /// The output decoded already (an `execute` answer, or fetched before).
    pub(crate) fn cached_output(&self, name: &str) -> Option<GpValue> {
        self.lock().outputs.get(name).cloned()
    }

    /// The tool that ran.
    pub fn tool(&self) -> &Tool {
        &self.tool
    }

    /// The job id (arcpy `resultID`); `None` for a synchronous execute.
    pub fn result_id(&self) -> Option<&str> {
        self.job_id.as_deref()
    }

    /// The job URL (`<task>/jobs/<id>`); `None` for a synchronous execute.
    pub fn job_url(&self) -> Option<&str> {
        self.job_url.as_deref()
    }

    /// The last known status (use [`GpResult::refresh`] to ask the server).
    pub fn status(&self) -> JobStatus {
        self.lock().status.clone()
    }

    /// The last known progress.
    pub fn progress(&self) -> Option<Progress> {
        self.lock().progress.clone()
    }

    /// The messages so far.
    pub fn messages(&self) -> Vec<JobMessage> {
        self.lock().messages.clone()
    }

    /// Messages of at least `severity` (arcpy `getMessages(severity)`).
    pub fn messages_with(&self, severity: Severity) -> Vec<JobMessage> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.severity() >= severity)
            .cloned()
            .collect()
    }

    /// The highest message severity (arcpy `maxSeverity`).
    pub fn max_severity(&self) -> Severity {
        gp_model::max_severity(&self.lock().messages)
    }

    /// Asks the server for the job's status and messages.
    pub async fn refresh(&self) -> Result<JobStatus, Error> {
        self.refresh_held(None).await
    }

    /// Asks for the status; with `hold`, asks the server to answer only when the job
    /// ends or `hold` passes (long polling, on servers that advertise it).
    pub(crate) async fn refresh_held(&self, hold: Option<Duration>) -> Result<JobStatus, Error> {
        let Some(url) = &self.job_url else {
            return Ok(self.status());
        };
        if self.tool.ogc.is_some() {
            let (status, progress, message) = crate::ogc::status(&self.tool, url).await?;
            let mut s = self.lock();
            s.status = status.clone();
            s.progress = progress;
            if let Some(m) = message
                && s.messages.last() != Some(&m)
            {
                s.messages.push(m);
            }
            return Ok(status);
        }
        let secs = hold.map(|h| format!("{:.3}", h.as_secs_f64()));
        let mut query = vec![("returnMessages", "true")];
        if let Some(s) = &secs {
            query.push((gp_model::STATUS_WAIT_PARAM, s.as_str()));
        }
        let info: JobInfo =
            wire::get_json(&self.tool.client.transport, url, &query, "job status").await?;
        let mut s = self.lock();
        s.status = info.job_status.clone();
        s.progress = info.progress;
        s.messages = info.messages;
        Ok(info.job_status)
    }

    /// The last known status; an error (with the server's messages) when the job
    /// ended without success (failed, cancelled, timed out, deleted).
    pub fn outcome(&self) -> Result<JobStatus, Error> {
        self.ended(self.status())
    }

    pub(crate) fn ended(&self, status: JobStatus) -> Result<JobStatus, Error> {
        if status.is_success() {
            Ok(status)
        } else {
            Err(Error::JobFailed {
                tool: self.tool.name().to_string(),
                job_id: self.job_id.clone().unwrap_or_default(),
                status,
                messages: self.messages(),
            })
        }
    }

    /// Cancels the job; returns the status the server reports.
    pub async fn cancel(&self) -> Result<JobStatus, Error> {
        let Some(url) = &self.job_url else {
            return Ok(self.status());
        };
        if self.tool.ogc.is_some() {
            let st = crate::ogc::dismiss(&self.tool, url).await?;
            self.lock().status = st.clone();
            return Ok(st);
        }
        let url = format!("{url}/cancel");
        let r: SubmitJobResponse =
            wire::get_json(&self.tool.client.transport, &url, &[], "cancel response").await?;
        self.lock().status = r.job_status.clone();
        Ok(r.job_status)
    }

    /// The number of outputs.
    pub fn output_count(&self) -> usize {
        self.tool.info.outputs().count()
    }

    pub(crate) fn output_param(&self, p: ParamRef) -> Result<&ParameterInfo, Error> {
        crate::lookup::find(&self.tool, crate::lookup::Among::Outputs, &p)
    }

    pub(crate) fn require_success(&self) -> Result<(), Error> {
        self.ended(self.status()).map(|_| ())
    }

    /// An output by position (among outputs, as arcpy `getOutput(i)`) or name,
    /// decoded by its data type (`returnType=data`). A feature output comes whole:
    /// a hosted output (`{"url": ".../FeatureServer/0"}`) is read from its layer,
    /// and one the server cut at `maximumRecords` from the result map service's
    /// layer for the job, in pages; where no such layer exists it stays cut, with
    /// `exceededTransferLimit` and a warning.
    pub async fn output(&self, p: impl Into<ParamRef>) -> Result<GpValue, Error> {
        let param = self.output_param(p.into())?;
        let name = param.name.to_string();
        let cached = self.lock().outputs.get(&name).cloned();
        let raw = match cached {
            Some(v) if !needs_more(&v) => return Ok(v),
            Some(v) => v,
            None => self.output_raw(&name).await?,
        };
        let v = self.whole_output(&name, raw).await?;
        if let GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) = &v
            && fs.exceeded_transfer_limit == Some(true)
        {
            self.warn_truncated(&name, fs.features.len());
        }
        self.lock().outputs.insert(name, v.clone());
        Ok(v)
    }

    /// Output `name` as the result resource answers it (`returnType=data`).
    pub(crate) async fn output_raw(&self, name: &str) -> Result<GpValue, Error> {
        if let Some(v) = self.lock().outputs.get(name) {
            return Ok(v.clone());
        }
        self.require_success()?;
        let Some(job) = &self.job_url else {
            return Err(Error::Protocol {
                url: self.tool.url.clone(),
                status: 200,
                message: format!("execute returned no {name}"),
            });
        };
        let name = name.to_string();
        if self.tool.ogc.is_some() {
            let all = crate::ogc::results(&self.tool, job).await?;
            let mut s = self.lock();
            for (k, v) in &all {
                s.outputs.entry(k.clone()).or_insert_with(|| v.clone());
            }
            return all.get(&name).cloned().ok_or_else(|| Error::Protocol {
                url: wire::redact(job),
                status: 200,
                message: format!("the results have no {name}"),
            });
        }
        let url = format!("{job}/results/{}", encode_segment(&name));
        let r: ResultParameter = wire::get_json(
            &self.tool.client.transport,
            &url,
            &[("returnType", "data")],
            "result parameter",
        )
        .await?;
        Ok(r.value)
    }

    /// An input as the server recorded it (arcpy `getInput(i)`; position among inputs).
    pub async fn input(&self, p: impl Into<ParamRef>) -> Result<GpValue, Error> {
        let param = crate::lookup::find(&self.tool, crate::lookup::Among::Inputs, &p.into())?;
        let Some(job) = &self.job_url else {
            return Err(Error::Protocol {
                url: self.tool.url.clone(),
                status: 200,
                message: "a synchronous execute has no job inputs".into(),
            });
        };
        let url = format!("{job}/inputs/{}", encode_segment(param.name.as_str()));
        let r: ResultParameter =
            wire::get_json(&self.tool.client.transport, &url, &[], "input parameter").await?;
        Ok(r.value)
    }

    /// The URL of a map image of output `p` from the result map service (arcpy
    /// `getMapImageURL`).
    pub async fn map_image_url(
        &self,
        p: impl Into<ParamRef>,
        opts: &MapImageOptions,
    ) -> Result<String, Error> {
        let param = self.output_param(p.into())?;
        self.require_success()?;
        let (Some(job), Some(_)) = (&self.job_url, self.tool.service.result_map_server()) else {
            return Err(Error::Protocol {
                url: self.tool.service_url.clone(),
                status: 200,
                message: "the service has no result map service (resultMapServerName is empty)"
                    .into(),
            });
        };
        let url = format!("{job}/results/{}", encode_segment(param.name.as_str()));
        let size = format!("{},{}", opts.size.0, opts.size.1);
        let dpi = opts.dpi.to_string();
        let transparent = opts.transparent.to_string();
        let bbox = opts
            .bbox
            .map(|b| format!("{},{},{},{}", b[0], b[1], b[2], b[3]));
        let bbox_sr = opts.bbox_sr.map(|w| w.to_string());
        let image_sr = opts.image_sr.map(|w| w.to_string());
        let mut q: Vec<(&str, &str)> = vec![
            ("size", &size),
            ("dpi", &dpi),
            ("format", &opts.format),
            ("transparent", &transparent),
        ];
        if let Some(b) = &bbox {
            q.push(("bbox", b));
        }
        if let Some(s) = &bbox_sr {
            q.push(("bboxSR", s));
        }
        if let Some(s) = &image_sr {
            q.push(("imageSR", s));
        }
        let r: ResultParameter =
            wire::get_json(&self.tool.client.transport, &url, &q, "map image result").await?;
        match r.value {
            GpValue::MapImage(m) => Ok(m.href),
            _ => Err(Error::Protocol {
                url,
                status: 200,
                message: "the answer has no mapImage".into(),
            }),
        }
    }

    /// The map image of output `p`, downloaded.
    pub async fn map_image(
        &self,
        p: impl Into<ParamRef>,
        opts: &MapImageOptions,
    ) -> Result<gp_raster::MapImage, Error> {
        let href = self.map_image_url(p, opts).await?;
        let r = self.tool.client.transport.get(&href, &[]).await?;
        let body = wire::check(&href, r)?;
        let name =
            gp_fs::file_name_from_url(&href).unwrap_or_else(|_| format!("map.{}", opts.format));
        Ok(gp_raster::MapImage::from_bytes(body.to_vec(), &name)?)
    }
}

/// True when a value is not the whole output yet: a layer reference, or a feature
/// set cut at the transfer limit.
pub(crate) fn needs_more(v: &GpValue) -> bool {
    match v {
        GpValue::DataRef(d) => d.url.as_deref().is_some_and(crate::whole::is_layer_url),
        GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) => {
            fs.exceeded_transfer_limit == Some(true)
        }
        _ => false,
    }
}

//! Running one logical job with gp-client, as a user's script would: import the
//! toolbox, run the tool, wait with a deadline, save the outputs; and what came of it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gp_client::{Client, Params, PollPolicy, SaveOptions, Saved};
use gp_fs::ScratchWorkspace;
use gp_model::{GpValue, JobStatus};

use crate::plan::Kind;
use crate::watch::JOB;

/// How a logical job ended, as the client saw it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The job succeeded and its outputs were delivered (files written).
    Delivered {
        /// Files written, with the features each holds (`None` for rasters).
        files: Vec<(PathBuf, Option<usize>)>,
    },
    /// The client reported that the job ended without success, with this status.
    JobEnded(JobStatus),
    /// The client reported an error it could not get past (its kind).
    Reported(String),
    /// Nothing came back within the soak's guard time.
    Hung,
}

/// One logical job's record.
#[derive(Debug, Clone)]
pub(crate) struct JobRun {
    /// Its index.
    pub(crate) index: usize,
    /// What it ran.
    pub(crate) kind: Kind,
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// True when a wait returned later than its deadline allows.
    pub(crate) overdue: bool,
    /// `Display` and `Debug` of every error, to look for tokens in.
    pub(crate) texts: Vec<String>,
}

/// Settings shared by every job.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    /// The client.
    pub(crate) client: Client,
    /// `http://host:port/arcgis/rest/services`.
    pub(crate) services: String,
    /// Where outputs go (a folder per job).
    pub(crate) out: PathBuf,
    /// The longest time a wait may take past its deadline.
    pub(crate) slack: Duration,
}

/// The short kind of a client error, for tables and the lost/not-lost decision.
pub(crate) fn error_kind(e: &gp_client::Error) -> String {
    use gp_client::Error as E;
    match e {
        E::JobFailed { status, .. } => format!("job ended {status}"),
        E::AnswerLost { .. } => "answer lost".into(),
        E::PollGaveUp { .. } => "status polls gave up".into(),
        E::WaitTimeout { .. } => "wait timed out".into(),
        E::Server { code, .. } => format!("server error {code}"),
        E::Protocol { status, .. } => format!("bad answer (HTTP {status})"),
        E::BadDownload { .. } => "bad download".into(),
        E::Transport(t) => match t {
            gp_transport::Error::Timeout { .. } => "request timed out".into(),
            gp_transport::Error::Connect { .. } => "no connection".into(),
            gp_transport::Error::NoAnswer { .. } => "no answer".into(),
            gp_transport::Error::Body { .. } => "answer cut short".into(),
            gp_transport::Error::Auth { .. } => "authentication failed".into(),
            _ => "transport".into(),
        },
        E::File(_) => "file".into(),
        E::Features(_) => "features".into(),
        E::Raster(_) => "raster".into(),
        _ => "other".into(),
    }
}

/// Five points around Vienna as an Esri JSON feature set.
fn points() -> String {
    let pts: Vec<String> = (0..5)
        .map(|i| {
            format!(
                r#"{{"geometry":{{"x":{},"y":{}}},"attributes":{{"id":{i}}}}}"#,
                16.3 + 0.01 * f64::from(i),
                48.2 + 0.005 * f64::from(i)
            )
        })
        .collect();
    format!(
        r#"{{"geometryType":"esriGeometryPoint","spatialReference":{{"wkid":4326}},"fields":[{{"name":"id","type":"esriFieldTypeInteger"}}],"features":[{}]}}"#,
        pts.join(",")
    )
}

struct Step {
    overdue: bool,
    texts: Vec<String>,
}

impl Step {
    fn fail(&mut self, e: &gp_client::Error) -> Outcome {
        self.texts.push(e.to_string());
        self.texts.push(format!("{e:?}"));
        match e {
            gp_client::Error::JobFailed { status, .. } => Outcome::JobEnded(status.clone()),
            other => Outcome::Reported(error_kind(other)),
        }
    }
}

/// Runs logical job `index` of `kind`, within `guard`.
pub(crate) async fn run_job(setup: &Setup, index: usize, kind: Kind, guard: Duration) -> JobRun {
    let mut step = Step {
        overdue: false,
        texts: Vec::new(),
    };
    let work = JOB.scope(index, run(setup, index, kind, &mut step));
    let outcome = tokio::time::timeout(guard, work)
        .await
        .unwrap_or(Outcome::Hung);
    JobRun {
        index,
        kind,
        outcome,
        overdue: step.overdue,
        texts: step.texts,
    }
}

async fn run(setup: &Setup, index: usize, kind: Kind, step: &mut Step) -> Outcome {
    let (service, tool, params) = match kind {
        Kind::Wait(s) => (
            "GP/Utilities",
            "Wait",
            Params::new().set("Seconds", s.to_string()),
        ),
        Kind::Cancel => ("GP/Utilities", "Wait", Params::new().set("Seconds", "5")),
        Kind::Fail => ("GP/Utilities", "Fail", Params::new()),
        Kind::BufferAsync(_) | Kind::BufferSync(_) => (
            if matches!(kind, Kind::BufferAsync(_)) {
                "GP/BufferByVal"
            } else {
                "GP/BufferSync"
            },
            "BufferPoints",
            Params::new()
                .set("Input_Features", points())
                .set("Distance", "100 meters"),
        ),
        Kind::Slope => (
            "SlopeByVal",
            "RunSlope",
            Params::new().set("Input_DEM", "sample_dem"),
        ),
    };
    let url = format!("{}/{service}/GPServer", setup.services);
    let tb = match setup.client.import(&url).await {
        Ok(tb) => tb,
        Err(e) => return step.fail(&e),
    };
    let tool = match tb.tool(tool) {
        Ok(t) => t,
        Err(e) => return step.fail(&e),
    };
    let result = match tool.run(params).await {
        Ok(r) => r,
        Err(e) => return step.fail(&e),
    };
    if kind == Kind::Cancel {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Err(e) = result.cancel().await {
            // A cancel that did not get through is not an outcome: the wait tells.
            step.texts.push(e.to_string());
        }
    }
    let deadline = Duration::from_secs_f64(kind.length_secs() + 20.0);
    let policy = PollPolicy {
        max: Duration::from_secs(1),
        timeout: Some(deadline),
        give_up_after: Duration::from_secs(30),
        ..Default::default()
    };
    let t = Instant::now();
    let waited = result.wait_with(policy).await;
    if t.elapsed() > deadline + setup.slack {
        step.overdue = true;
    }
    if let Err(e) = waited {
        return step.fail(&e);
    }
    let dir = setup.out.join(format!("job{index:05}"));
    let format = match kind {
        Kind::BufferAsync(f) | Kind::BufferSync(f) => f,
        _ => gp_features::Format::GeoJson,
    };
    let opts = SaveOptions {
        format,
        scratch: Some(ScratchWorkspace::at(&dir)),
        sync: false,
        ..Default::default()
    };
    match result.save_outputs(&dir, &opts).await {
        Ok(saved) => {
            let mut files = Vec::new();
            for s in saved {
                match s.saved {
                    Saved::Features {
                        path,
                        layer,
                        features,
                        ..
                    } => {
                        // A container's layer is read as `file.gpkg/layer`.
                        let at = layer.map_or(path.clone(), |l| path.join(l));
                        files.push((at, Some(features)));
                    }
                    Saved::File { path } => files.push((path, None)),
                    Saved::Value(v) if matches!(*v, GpValue::Double(_)) => {}
                    other => {
                        return Outcome::Reported(format!("unexpected output {other:?}"));
                    }
                }
            }
            Outcome::Delivered { files }
        }
        Err(e) => step.fail(&e),
    }
}

/// True when `path` holds a whole output: a TIFF that decodes, a feature file that
/// loads with the number of features that was saved.
pub(crate) fn file_is_whole(path: &Path, features: Option<usize>) -> bool {
    let is_tif = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tif"));
    if is_tif {
        return gp_raster::read_tiff(path, &gp_raster::DecodeLimits::default())
            .is_ok_and(|r| r.width > 0 && r.height > 0);
    }
    match gp_features::load(path) {
        Ok(fs) => features.is_none_or(|n| fs.features.len() == n),
        Err(_) => false,
    }
}

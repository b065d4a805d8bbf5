//! Following a job again after a restart: its URL, a job file, or its id with the
//! task (`GpResult::reopen*`), and the job file written for it (`JobFile`).

use gp_model::JobStatus;

use crate::error::Error;
use crate::result::GpResult;
use crate::target::{Location, Target};
use crate::toolbox::{Toolbox, encode_segment};
use crate::wire;

/// What is needed to reopen a job after a restart: no credentials.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobFile {
    /// `…/GPServer/<task>/jobs/<jobId>`.
    pub job_url: String,
    /// The job id.
    pub job_id: String,
    /// The GPServer URL.
    pub service_url: String,
    /// The task name.
    pub task: String,
}

impl JobFile {
    /// Writes the job file (to a temporary file renamed into place).
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let io = |e: std::io::Error| Error::Protocol {
            url: path.display().to_string(),
            status: 0,
            message: format!("writing the job file: {e}"),
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        // Durable: the file is how a detached job is found again after a crash.
        gp_fs::write_atomic(
            path,
            text.as_bytes(),
            gp_fs::Options::new(true, gp_fs::Flush::Durable),
        )
        .map_err(|e| io(std::io::Error::other(e)))?;
        Ok(())
    }

    /// Reads a job file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<JobFile, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Protocol {
            url: path.display().to_string(),
            status: 0,
            message: format!("reading the job file: {e}"),
        })?;
        wire::decode("job file", &path.display().to_string(), text.as_bytes())
    }
}

impl GpResult {
    /// Reopens a job from its URL (`…/GPServer/<task>/jobs/<jobId>`), e.g. after the
    /// process restarted: imports the toolbox and reads the job's status.
    pub async fn reopen(client: &crate::Client, job_url: &str) -> Result<GpResult, Error> {
        let target = match Target::parse(job_url) {
            Ok(t) => t,
            // An OGC API – Processes job (`…/jobs/{id}`), if the server is one.
            Err(e) => {
                return match crate::ogc::probe(client, job_url).await {
                    Some(root) => crate::ogc::reopen(client, &root, job_url).await,
                    None => Err(e),
                };
            }
        };
        let Location::Job {
            service_url,
            task,
            job_id,
        } = &target.location
        else {
            return Err(Error::BadUrl {
                input: wire::redact(job_url.split(';').next().unwrap_or_default()),
                message: format!(
                    "it is {}; a job URL ends in …/GPServer/<task>/jobs/<jobId>",
                    target.location
                ),
            });
        };
        let tb = Toolbox::import_target(client, &target, service_url).await?;
        GpResult::reopen_in(&tb, task, job_id).await
    }

    /// Reopens job `job_id` of `task` on the service at `service_url`.
    pub async fn reopen_parts(
        client: &crate::Client,
        service_url: &str,
        task: &str,
        job_id: &str,
    ) -> Result<GpResult, Error> {
        let tb = crate::Toolbox::import(client, service_url).await?;
        GpResult::reopen_in(&tb, task, job_id).await
    }

    /// Reopens job `job_id` of `task` of an imported toolbox.
    pub async fn reopen_in(tb: &Toolbox, task: &str, job_id: &str) -> Result<GpResult, Error> {
        let tool = tb.tool(task)?.clone();
        // An OGC job lives at the API's `/jobs/{id}`, not under its process.
        let job_url = match &tool.ogc {
            Some(p) => format!("{}/jobs/{}", p.root, encode_segment(job_id)),
            None => format!("{}/jobs/{}", tool.url, encode_segment(job_id)),
        };
        let r = GpResult::submitted(tool, job_id.to_string(), job_url, JobStatus::Submitted);
        r.refresh().await?;
        Ok(r)
    }

    /// Reopens the job of a job file.
    pub async fn reopen_file(client: &crate::Client, file: &JobFile) -> Result<GpResult, Error> {
        GpResult::reopen_parts(client, &file.service_url, &file.task, &file.job_id).await
    }

    /// The job file of this job (`None` for a synchronous execute).
    pub fn job_file(&self) -> Option<JobFile> {
        Some(JobFile {
            job_url: self.job_url()?.to_string(),
            job_id: self.result_id()?.to_string(),
            service_url: self.tool().service_url.clone(),
            task: self.tool().name().to_string(),
        })
    }
}

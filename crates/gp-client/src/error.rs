//! The crate's error.

use gp_model::{JobMessage, JobStatus};

/// Everything that can go wrong talking to a GP service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No response (connection, timeout, TLS, token refused by policy).
    #[error(transparent)]
    Transport(#[from] gp_transport::Error),
    /// The server answered with its error envelope.
    #[error(
        "{url}: the server answered error {code}: {message}{}",
        details_text(details)
    )]
    Server {
        /// The resource (without query).
        url: String,
        /// Envelope code (400, 404, 498, 499, 500, ...).
        code: i64,
        /// Message.
        message: String,
        /// Details.
        details: Vec<String>,
    },
    /// The server answered something that is not what the protocol says.
    #[error("{url}: unexpected answer (HTTP {status}): {message}")]
    Protocol {
        /// The resource.
        url: String,
        /// HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
    },
    /// The URL given to `import` is not a GP service, task or arcpy toolbox string.
    #[error("`{input}` is not a GP service URL: {message}")]
    BadUrl {
        /// What was given.
        input: String,
        /// Why, and what is accepted.
        message: String,
    },
    /// A client setting is not usable (a certificate file, an option).
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// No such tool in the toolbox.
    #[error("no tool `{name}` in {service}{}", suggestion(did_you_mean))]
    UnknownTool {
        /// The service.
        service: String,
        /// The name asked for.
        name: String,
        /// The closest name.
        did_you_mean: Option<String>,
    },
    /// No such parameter in the tool.
    #[error("tool {tool} has no parameter `{name}`{}", suggestion(did_you_mean))]
    UnknownParameter {
        /// The tool.
        tool: String,
        /// The name or index asked for.
        name: String,
        /// The closest name.
        did_you_mean: Option<String>,
    },
    /// A parameter value is not acceptable; checked before any request.
    #[error("tool {tool}, parameter {param}: {message}")]
    InvalidValue {
        /// The tool.
        tool: String,
        /// The parameter.
        param: String,
        /// What is wrong.
        message: String,
    },
    /// The job ended without success.
    #[error("job {job_id} of {tool} ended {status}{}", messages_text(messages))]
    JobFailed {
        /// The tool.
        tool: String,
        /// Job id.
        job_id: String,
        /// Final status (failed, cancelled, timed out).
        status: JobStatus,
        /// The server's messages.
        messages: Vec<JobMessage>,
    },
    /// Waiting took longer than the poll policy allows. The job goes on.
    #[error("job {job_id} still {status} after {seconds:.0} s; it goes on at {job_url}")]
    WaitTimeout {
        /// Job id.
        job_id: String,
        /// The job URL, to resume waiting.
        job_url: String,
        /// Last status.
        status: JobStatus,
        /// Seconds waited.
        seconds: f64,
    },
    /// Status polls kept failing (no answer, bad answers) for longer than the poll
    /// policy allows. The job may still run: wait on its URL again later.
    #[error(
        "gave up asking for the status of {job_url} after {seconds:.0} s of failures (last: {last}); the job may still be running there"
    )]
    PollGaveUp {
        /// The job URL, to resume waiting.
        job_url: String,
        /// Seconds of failures in a row.
        seconds: f64,
        /// The last failure.
        last: String,
    },
    /// A `submitJob` or `execute` went out but its answer was lost: the job may
    /// exist on the server. It is never sent again by this crate.
    #[error(
        "{url}: the request was sent but its answer was lost ({message}); a job may have started on the server: look for it among the service's jobs (ArcGIS Server Manager, or the admin API's services/<service>.GPServer/jobs; gp-server logs the request id {request_id} with the job) before running the tool again"
    )]
    AnswerLost {
        /// The request.
        url: String,
        /// What happened.
        message: String,
        /// The `X-Request-Id` the request carried.
        request_id: String,
    },
    /// A download is not what the output says it is (an HTML page, an error
    /// envelope, JSON where a TIFF was expected); nothing was saved.
    #[error("{url}: the download is not {expected}: {found}; nothing was saved")]
    BadDownload {
        /// The URL (without query).
        url: String,
        /// What was expected.
        expected: String,
        /// What came instead.
        found: String,
    },
    /// A value could not be decoded.
    #[error(transparent)]
    Model(#[from] gp_model::Error),
    /// A local feature file could not be read.
    #[error(transparent)]
    Features(#[from] gp_features::Error),
    /// A raster or image could not be written or read.
    #[error(transparent)]
    Raster(#[from] gp_raster::Error),
    /// A file could not be written into place (it exists, a download was cut short,
    /// an unsafe name).
    #[error(transparent)]
    File(#[from] gp_fs::Error),
}

fn details_text(d: &[String]) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(" ({})", d.join("; "))
    }
}

fn suggestion(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

fn messages_text(m: &[JobMessage]) -> String {
    let errors: Vec<&str> = m
        .iter()
        .filter(|x| x.severity() >= gp_model::Severity::Error)
        .map(|x| x.description.as_str())
        .collect();
    if errors.is_empty() {
        String::new()
    } else {
        format!(": {}", errors.join(" | "))
    }
}

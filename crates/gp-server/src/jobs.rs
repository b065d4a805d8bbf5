//! The job manager: a bounded worker pool with a queue, statuses, messages,
//! progress, cancellation, execution timeouts, persistence and expiry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use gp_model::{
    DataType, GpValue, JobMessage, JobStatus, MessageType, ResultParameter, RunContext,
};
use indexmap::IndexMap;
use tokio::sync::{Notify, Semaphore};

mod listing;

use crate::faults::{Fault, JobEntry};
use crate::ids::new_id;
use crate::joblog::JobLog;
use crate::record::{JobRecord, StoredOutput, write_record};
use crate::tools::{Prepared, ToolCtx, ToolError};

/// One job.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) dir: PathBuf,
    record: Mutex<JobRecord>,
    pub(crate) log: Arc<JobLog>,
    cancel: Arc<AtomicBool>,
    cancel_notify: Notify,
    finished: Notify,
}

impl Job {
    fn lock(&self) -> std::sync::MutexGuard<'_, JobRecord> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A snapshot of the record with the live messages.
    pub(crate) fn snapshot(&self) -> JobRecord {
        let mut r = self.lock().clone();
        if !r.status.is_terminal() {
            r.messages = self.log.messages();
        }
        r
    }

    /// Status.
    pub(crate) fn status(&self) -> JobStatus {
        self.lock().status.clone()
    }

    /// The job folder's scratch directory.
    pub(crate) fn scratch(&self) -> PathBuf {
        self.dir.join("scratch")
    }

    fn set_status(&self, s: JobStatus) {
        self.lock().status = s;
    }

    fn persist(&self) {
        let r = self.snapshot();
        if let Err(e) = write_record(&self.dir, &r) {
            tracing::warn!(job = %r.job_id, "cannot save the job record: {e}");
        }
    }

    /// Waits until the job ends.
    pub(crate) async fn wait_finished(&self) {
        loop {
            let notified = self.finished.notified();
            if self.status().is_terminal() {
                return;
            }
            notified.await;
        }
    }
}

/// Everything a new job needs.
#[derive(Debug)]
pub(crate) struct NewJob {
    pub(crate) service: String,
    pub(crate) jobs_dir: String,
    pub(crate) task: String,
    pub(crate) owner: Option<String>,
    pub(crate) synchronous: bool,
    pub(crate) inputs: Vec<ResultParameter>,
    pub(crate) output_types: IndexMap<String, DataType>,
    pub(crate) prepared: Prepared,
    pub(crate) env: RunContext,
    pub(crate) timeout: Duration,
    /// The client's `X-Request-Id`.
    pub(crate) request_id: Option<String>,
    /// A job fault to inject.
    pub(crate) fault: Option<Fault>,
}

/// A job created while faults were on, for the fault report.
#[derive(Debug)]
struct LedgerRow {
    request_id: Option<String>,
    job: Arc<Job>,
    task: String,
    synchronous: bool,
    fault: Option<Fault>,
    deleted: Arc<AtomicBool>,
}

type JobMap = Arc<RwLock<HashMap<String, Arc<Job>>>>;

/// The manager.
#[derive(Debug)]
pub(crate) struct JobManager {
    jobs: JobMap,
    /// Every job created, when faults are on.
    ledger: Option<Mutex<Vec<LedgerRow>>>,
    pool: Arc<Semaphore>,
    jobs_root: PathBuf,
    output_root: PathBuf,
    expiry: Duration,
    stopping: Arc<AtomicBool>,
    scrub: Arc<crate::scrub::Scrub>,
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%A, %B %-d, %Y %-I:%M:%S %p").to_string()
}

impl JobManager {
    /// A manager with `workers` concurrent jobs, keeping files under `data_dir`, and
    /// loading the jobs a previous run left there; with `ledger`, every job created
    /// is kept for [`JobManager::ledger`].
    pub(crate) fn new(
        data_dir: &Path,
        workers: usize,
        expiry: Duration,
        ledger: bool,
    ) -> std::io::Result<Self> {
        let jobs_root = data_dir.join("arcgisjobs");
        let output_root = data_dir.join("arcgisoutput");
        std::fs::create_dir_all(&jobs_root)?;
        std::fs::create_dir_all(&output_root)?;
        let m = JobManager {
            jobs: Arc::new(RwLock::new(HashMap::new())),
            ledger: ledger.then(|| Mutex::new(Vec::new())),
            pool: Arc::new(Semaphore::new(workers.max(1))),
            jobs_root,
            output_root,
            expiry,
            stopping: Arc::new(AtomicBool::new(false)),
            scrub: Arc::new(crate::scrub::Scrub::new(data_dir)),
        };
        m.load_existing();
        Ok(m)
    }

    /// Folder of asynchronous jobs (`arcgisjobs`).
    pub(crate) fn jobs_root(&self) -> &Path {
        &self.jobs_root
    }

    /// Folder of synchronous outputs (`arcgisoutput`).
    pub(crate) fn output_root(&self) -> &Path {
        &self.output_root
    }

    fn load_existing(&self) {
        let Ok(services) = std::fs::read_dir(&self.jobs_root) else {
            return;
        };
        let mut map = self.jobs.write().unwrap_or_else(|p| p.into_inner());
        for svc in services.flatten() {
            let Ok(entries) = std::fs::read_dir(svc.path()) else {
                continue;
            };
            for e in entries.flatten() {
                let dir = e.path();
                let Ok(bytes) = std::fs::read(dir.join("job.json")) else {
                    continue;
                };
                let Ok(mut rec) = serde_json::from_slice::<JobRecord>(&bytes) else {
                    tracing::warn!("ignoring an unreadable job record in {}", dir.display());
                    continue;
                };
                let restarted = !rec.status.is_terminal();
                if restarted {
                    rec.status = JobStatus::Failed;
                    rec.ended = Some(Utc::now());
                    rec.messages
                        .push(JobMessage::new(MessageType::Error, STOPPED));
                }
                let job = Arc::new(Job {
                    dir: dir.clone(),
                    record: Mutex::new(rec.clone()),
                    log: Arc::new(JobLog::default()),
                    cancel: Arc::new(AtomicBool::new(false)),
                    cancel_notify: Notify::new(),
                    finished: Notify::new(),
                });
                if restarted {
                    job.persist();
                }
                map.insert(rec.job_id.clone(), job);
            }
        }
    }

    /// The job `id`.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Creates a job and starts it (queued behind the pool).
    pub(crate) fn submit(&self, new: NewJob) -> std::io::Result<Arc<Job>> {
        let id = new_id("j");
        let root = if new.synchronous {
            &self.output_root
        } else {
            &self.jobs_root
        };
        let dir = root.join(&new.jobs_dir).join(&id);
        std::fs::create_dir_all(dir.join("scratch"))?;
        let log = Arc::new(JobLog::default());
        log.info("Submitted.".to_string());
        let record = JobRecord {
            job_id: id.clone(),
            service: new.service.clone(),
            task: new.task.clone(),
            owner: new.owner.clone(),
            synchronous: new.synchronous,
            status: JobStatus::Submitted,
            submitted: Utc::now(),
            ended: None,
            inputs: Arc::new(new.inputs.clone()),
            results: Arc::new(Vec::new()),
            messages: Vec::new(),
        };
        let job = Arc::new(Job {
            dir,
            record: Mutex::new(record),
            log,
            cancel: Arc::new(AtomicBool::new(false)),
            cancel_notify: Notify::new(),
            finished: Notify::new(),
        });
        job.persist();
        if !new.synchronous {
            self.jobs
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id.clone(), job.clone());
        }
        tracing::info!(job = %id, task = %new.task, request_id = ?new.request_id, fault = ?new.fault.map(Fault::name), "job created");
        let deleted = Arc::new(AtomicBool::new(false));
        if let Some(ledger) = &self.ledger {
            ledger
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(LedgerRow {
                    request_id: new.request_id.clone(),
                    job: job.clone(),
                    task: new.task.clone(),
                    synchronous: new.synchronous,
                    fault: new.fault,
                    deleted: deleted.clone(),
                });
        }
        if new.fault == Some(Fault::JobDelete) {
            // Injected: the job and its files are deleted as soon as it ends.
            let (j, map) = (job.clone(), self.jobs.clone());
            tokio::spawn(async move {
                j.wait_finished().await;
                let id = j.lock().job_id.clone();
                map.write().unwrap_or_else(|p| p.into_inner()).remove(&id);
                deleted.store(true, Ordering::SeqCst);
                if let Err(e) = std::fs::remove_dir_all(&j.dir) {
                    tracing::warn!(job = %id, "cannot remove a deleted job's folder: {e}");
                }
            });
        }
        let pool = self.pool.clone();
        let j = job.clone();
        let stopping = self.stopping.clone();
        let scrub = self.scrub.clone();
        tokio::spawn(async move { run_job(j, pool, new, stopping, scrub).await });
        Ok(job)
    }

    /// Every job created while faults were on, with its status now (`None` once
    /// deleted); empty when faults are off.
    pub(crate) fn ledger(&self) -> Vec<JobEntry> {
        let Some(ledger) = &self.ledger else {
            return Vec::new();
        };
        ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|row| {
                // One lock of the record at a time: a guard lives to the end of
                // the statement that takes it.
                let (job_id, status) = {
                    let r = row.job.lock();
                    (r.job_id.clone(), r.status.clone())
                };
                JobEntry {
                    request_id: row.request_id.clone(),
                    job_id,
                    task: row.task.clone(),
                    synchronous: row.synchronous,
                    fault: row.fault,
                    status: (!row.deleted.load(Ordering::SeqCst)).then_some(status),
                }
            })
            .collect()
    }

    /// Cancels a job that has not ended. Returns the status after the request, or
    /// `None` when the job had already ended.
    pub(crate) fn cancel(&self, job: &Job) -> Option<JobStatus> {
        let mut r = job.lock();
        match r.status {
            JobStatus::New | JobStatus::Submitted | JobStatus::Waiting | JobStatus::Executing => {
                r.status = JobStatus::Cancelling;
                drop(r);
                job.cancel.store(true, Ordering::SeqCst);
                job.cancel_notify.notify_one();
                job.log.info("Cancel requested.".to_string());
                Some(JobStatus::Cancelling)
            }
            JobStatus::Cancelling => Some(JobStatus::Cancelling),
            _ => None,
        }
    }

    /// Stops every job that has not ended (the server is shutting down): each is
    /// told to stop at its next cancel point and recorded as failed. Waits up to
    /// `grace` for them to write their records.
    pub(crate) async fn stop_all(&self, grace: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        let running: Vec<Arc<Job>> = self
            .jobs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|j| !j.status().is_terminal())
            .cloned()
            .collect();
        for j in &running {
            j.cancel.store(true, Ordering::SeqCst);
            j.cancel_notify.notify_one();
        }
        let all = async {
            for j in &running {
                j.wait_finished().await;
            }
        };
        let _ = tokio::time::timeout(grace, all).await;
    }

    /// Removes jobs that ended longer ago than the expiry, with their files.
    pub(crate) fn expire(&self) -> usize {
        let now = Utc::now();
        let expiry = chrono::Duration::from_std(self.expiry).unwrap_or(chrono::Duration::MAX);
        let old: Vec<(String, PathBuf)> = self
            .jobs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(|(id, j)| {
                let r = j.lock();
                let ended = r.ended?;
                (r.status.is_terminal() && now - ended >= expiry)
                    .then(|| (id.clone(), j.dir.clone()))
            })
            .collect();
        let mut map = self.jobs.write().unwrap_or_else(|p| p.into_inner());
        for (id, dir) in &old {
            map.remove(id);
            if let Err(e) = std::fs::remove_dir_all(dir) {
                tracing::warn!(job = %id, "cannot remove an expired job folder: {e}");
            }
        }
        old.len()
    }
}

fn finish(
    job: &Job,
    status: JobStatus,
    results: Vec<StoredOutput>,
    started: Option<Instant>,
    task: &str,
) {
    let now = Utc::now();
    let elapsed = started.map(|s| s.elapsed().as_secs_f64()).unwrap_or(0.0);
    match status {
        JobStatus::Succeeded => job.log.info(format!(
            "Succeeded at {} (Elapsed Time: {elapsed:.2} seconds)",
            fmt_time(now)
        )),
        JobStatus::Cancelled => job.log.info("Cancel complete.".to_string()),
        JobStatus::TimedOut => job.log.error(format!(
            "Failed to execute ({task}): the task's execution timeout passed (Elapsed Time: {elapsed:.2} seconds)."
        )),
        _ => job.log.error(format!(
            "Failed to execute ({task}). Failed at {} (Elapsed Time: {elapsed:.2} seconds)",
            fmt_time(now)
        )),
    }
    job.log.clear_progress();
    {
        let mut r = job.lock();
        r.messages = job.log.messages();
        r.results = Arc::new(results);
        r.ended = Some(now);
        r.status = status;
    }
    job.persist();
    job.finished.notify_waiters();
}

const STOPPED: &str = "The server stopped while this job was running; it did not finish.";

async fn run_job(
    job: Arc<Job>,
    pool: Arc<Semaphore>,
    new: NewJob,
    stopping: Arc<AtomicBool>,
    scrub: Arc<crate::scrub::Scrub>,
) {
    let cancelled_status = |job: &Job| {
        if stopping.load(Ordering::SeqCst) {
            job.log.error(STOPPED.to_string());
            JobStatus::Failed
        } else {
            JobStatus::Cancelled
        }
    };
    job.set_status(JobStatus::Waiting);
    let permit = tokio::select! {
        p = pool.acquire_owned() => p.ok(),
        () = job.cancel_notify.notified() => None,
    };
    // Cancelled while waiting in the queue (or just as the permit came).
    let permit = match permit {
        Some(p) if !job.cancel.load(Ordering::SeqCst) => p,
        _ => {
            finish(&job, cancelled_status(&job), Vec::new(), None, &new.task);
            return;
        }
    };
    {
        let mut r = job.lock();
        if r.status == JobStatus::Waiting {
            r.status = JobStatus::Executing;
        }
    }
    let started = Instant::now();
    let summary: Vec<String> = new
        .inputs
        .iter()
        .map(|r| {
            let mut s = match &r.value {
                GpValue::String(s) => s.clone(),
                other => serde_json::to_string(other).unwrap_or_default(),
            };
            if s.len() > 60 {
                let cut = (0..=60).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                s.truncate(cut);
                s.push('…');
            }
            format!("{}={s}", r.param_name)
        })
        .collect();
    job.log.info(format!(
        "Executing ({}): {} {}",
        new.task,
        new.task,
        summary.join(" ")
    ));
    job.log
        .info(format!("Start Time: {}", fmt_time(Utc::now())));
    job.log.set_progress(None, "Executing...".to_string());
    let ctx = ToolCtx {
        cancel: job.cancel.clone(),
        deadline: Some(started + new.timeout),
        scratch: job.scratch(),
        env: new.env.clone(),
        log: job.log.clone(),
    };
    let prepared = new.prepared;
    let handle = tokio::task::spawn_blocking(move || prepared.run(&ctx));
    let outcome = match tokio::time::timeout(new.timeout + Duration::from_millis(500), handle).await
    {
        Ok(Ok(r)) => r,
        Ok(Err(join)) => Err(ToolError::Failed(format!(
            "the tool stopped unexpectedly: {join}"
        ))),
        Err(_) => {
            // The tool did not reach a cancel point in time; it is told to stop.
            job.cancel.store(true, Ordering::SeqCst);
            Err(ToolError::TimedOut)
        }
    };
    drop(permit);
    match outcome {
        Ok(outputs) => {
            let mut results = Vec::new();
            for (name, out) in outputs {
                let data_type = new
                    .output_types
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| DataType::Unknown(String::new()));
                results.push(StoredOutput::from_output(name, data_type, out));
            }
            let cancelled = job.cancel.load(Ordering::SeqCst);
            let injected = match new.fault {
                Some(Fault::JobFail) => {
                    job.log
                        .error("The job failed (injected fault: job-fail).".to_string());
                    Some(JobStatus::Failed)
                }
                Some(Fault::JobTimeout) => Some(JobStatus::TimedOut),
                Some(Fault::JobCancel) => {
                    job.log.info(
                        "The server cancelled the job (injected fault: job-cancel).".to_string(),
                    );
                    Some(JobStatus::Cancelled)
                }
                _ => None,
            };
            if let (Some(status), false) = (injected, cancelled) {
                finish(&job, status, Vec::new(), Some(started), &new.task);
            } else if cancelled {
                finish(
                    &job,
                    cancelled_status(&job),
                    Vec::new(),
                    Some(started),
                    &new.task,
                );
            } else {
                finish(
                    &job,
                    JobStatus::Succeeded,
                    results,
                    Some(started),
                    &new.task,
                );
            }
        }
        Err(ToolError::Cancelled) => finish(
            &job,
            cancelled_status(&job),
            Vec::new(),
            Some(started),
            &new.task,
        ),
        Err(ToolError::TimedOut) => finish(
            &job,
            JobStatus::TimedOut,
            Vec::new(),
            Some(started),
            &new.task,
        ),
        Err(ToolError::Failed(msg)) => {
            // A library's error may name a file in the data directory.
            job.log.error(scrub.apply(&msg));
            finish(
                &job,
                JobStatus::Failed,
                Vec::new(),
                Some(started),
                &new.task,
            )
        }
    }
}

//! Every job at once, and dismissing one (OGC API – Processes `GET /jobs` and
//! `DELETE /jobs/{id}`): cancelled if it runs, then removed with its files.

use std::sync::Arc;

use super::{Job, JobManager};

impl JobManager {
    /// Every job, oldest first.
    pub(crate) fn list(&self) -> Vec<Arc<Job>> {
        let mut all: Vec<Arc<Job>> = self
            .jobs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by_key(|j| j.lock().submitted);
        all
    }

    /// Cancels `job` if it has not ended and removes it and its folder once it
    /// has (in the background when it still has to stop).
    pub(crate) fn dismiss(&self, job: &Arc<Job>) {
        self.cancel(job);
        let jobs = self.jobs.clone();
        let job = job.clone();
        tokio::spawn(async move {
            job.wait_finished().await;
            let id = job.lock().job_id.clone();
            jobs.write().unwrap_or_else(|p| p.into_inner()).remove(&id);
            if let Err(e) = std::fs::remove_dir_all(&job.dir) {
                tracing::warn!(job = %id, "cannot remove a dismissed job's folder: {e}");
            }
        });
    }
}

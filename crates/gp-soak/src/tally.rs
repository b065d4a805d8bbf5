//! The comparison: what the server says it created and how those jobs ended,
//! against what the client did and reported.

use std::collections::{BTreeMap, HashMap};

use gp_model::JobStatus;
use gp_server::faults::JobEntry;

use crate::run::{JobRun, Outcome};

/// The soak's counts; all but `submitted` and `terminal` must be 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Logical jobs started.
    pub(crate) submitted: usize,
    /// Logical jobs that came to an end the client reported (delivered or an error).
    pub(crate) terminal: usize,
    /// Server jobs beyond the first of a logical job, and server jobs no logical job sent.
    pub(crate) duplicates: usize,
    /// Jobs that succeeded on the server whose outputs the client neither delivered
    /// nor reported as failed (it hung, or said the job itself failed).
    pub(crate) lost: usize,
    /// Waits that passed their deadline.
    pub(crate) overdue: usize,
    /// Files under a final name that are not whole.
    pub(crate) partial_files: usize,
    /// Panics anywhere in the process.
    pub(crate) panics: u64,
}

impl Tally {
    /// The soak's last line.
    pub(crate) fn line(&self) -> String {
        format!(
            "soak: submitted={} terminal={} duplicates={} lost={} overdue={} partial_files={} panics={}",
            self.submitted,
            self.terminal,
            self.duplicates,
            self.lost,
            self.overdue,
            self.partial_files,
            self.panics
        )
    }

    /// True when nothing was lost, duplicated, late, partial or panicked.
    pub(crate) fn clean(&self) -> bool {
        self.submitted == self.terminal
            && self.duplicates == 0
            && self.lost == 0
            && self.overdue == 0
            && self.partial_files == 0
            && self.panics == 0
    }
}

/// Compares the client's runs and submits (request ids per logical job) with the
/// server's jobs. `partial_files` and `panics` are counted elsewhere.
/// The server's jobs of each logical job (by the request ids it sent), and the
/// number of server jobs no logical job sent.
fn by_logical_job<'a>(
    submits: &BTreeMap<usize, Vec<String>>,
    server: &'a [JobEntry],
) -> (BTreeMap<usize, Vec<&'a JobEntry>>, usize) {
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (job, ids) in submits {
        for id in ids {
            owner.insert(id.as_str(), *job);
        }
    }
    let mut per_job: BTreeMap<usize, Vec<&JobEntry>> = BTreeMap::new();
    let mut orphans = 0;
    for e in server {
        match e
            .request_id
            .as_deref()
            .and_then(|id| owner.get(id).copied())
        {
            Some(job) => per_job.entry(job).or_default().push(e),
            None => orphans += 1,
        }
    }
    (per_job, orphans)
}

/// Jobs that succeeded on the server whose client reported an error instead of
/// the outputs (not lost: the user was told), by the error's kind.
pub(crate) fn reported_after_success(
    runs: &[JobRun],
    submits: &BTreeMap<usize, Vec<String>>,
    server: &[JobEntry],
) -> BTreeMap<String, u64> {
    let (per_job, _) = by_logical_job(submits, server);
    let mut out = BTreeMap::new();
    for run in runs {
        let succeeded = per_job
            .get(&run.index)
            .is_some_and(|v| v.iter().any(|e| e.status == Some(JobStatus::Succeeded)));
        if let (true, Outcome::Reported(kind)) = (succeeded, &run.outcome) {
            *out.entry(kind.clone()).or_default() += 1;
        }
    }
    out
}

pub(crate) fn compare(
    runs: &[JobRun],
    submits: &BTreeMap<usize, Vec<String>>,
    server: &[JobEntry],
) -> Tally {
    let (per_job, mut duplicates) = by_logical_job(submits, server);
    duplicates += per_job
        .values()
        .map(|v| v.len().saturating_sub(1))
        .sum::<usize>();
    let mut lost = 0;
    for run in runs {
        let succeeded = per_job
            .get(&run.index)
            .is_some_and(|v| v.iter().any(|e| e.status == Some(JobStatus::Succeeded)));
        if succeeded && matches!(run.outcome, Outcome::Hung | Outcome::JobEnded(_)) {
            lost += 1;
        }
    }
    Tally {
        submitted: runs.len(),
        terminal: runs.iter().filter(|r| r.outcome != Outcome::Hung).count(),
        duplicates,
        lost,
        overdue: runs.iter().filter(|r| r.overdue).count(),
        partial_files: 0,
        panics: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Kind;

    fn run(index: usize, outcome: Outcome) -> JobRun {
        JobRun {
            index,
            kind: Kind::Wait(0.2),
            outcome,
            overdue: false,
            texts: Vec::new(),
        }
    }

    fn entry(id: &str, status: Option<JobStatus>) -> JobEntry {
        JobEntry {
            request_id: Some(id.into()),
            job_id: format!("j{id}"),
            task: "Wait".into(),
            synchronous: false,
            fault: None,
            status,
        }
    }

    #[test]
    fn duplicates_and_lost_jobs_are_counted() {
        let delivered = Outcome::Delivered { files: Vec::new() };
        let runs = vec![
            run(0, delivered.clone()),
            run(1, Outcome::Reported("answer lost".into())),
            run(2, Outcome::JobEnded(JobStatus::Failed)),
            run(3, Outcome::Hung),
            run(4, Outcome::JobEnded(JobStatus::Failed)),
        ];
        let submits: BTreeMap<usize, Vec<String>> = [
            (0, vec!["a".to_string()]),
            (1, vec!["b".to_string()]),
            (2, vec!["c".to_string()]),
            (3, vec!["d".to_string()]),
            (4, vec!["e".to_string(), "e2".to_string()]),
        ]
        .into();
        let ok = Some(JobStatus::Succeeded);
        let server = vec![
            entry("a", ok.clone()),
            // An answer lost on the way back: reported, so not lost.
            entry("b", ok.clone()),
            // The client says failed, the server says succeeded: lost.
            entry("c", ok.clone()),
            // Hung while the job succeeded: lost, and not terminal.
            entry("d", ok.clone()),
            // Sent twice (two ids): one duplicate; really failed, so not lost.
            entry("e", Some(JobStatus::Failed)),
            entry("e2", Some(JobStatus::Failed)),
            // Nobody's: a duplicate.
            entry("zz", ok),
        ];
        let t = compare(&runs, &submits, &server);
        assert_eq!(
            t,
            Tally {
                submitted: 5,
                terminal: 4,
                duplicates: 2,
                lost: 2,
                overdue: 0,
                partial_files: 0,
                panics: 0,
            }
        );
        assert!(!t.clean());
        let told = reported_after_success(&runs, &submits, &server);
        assert_eq!(
            told.into_iter().collect::<Vec<_>>(),
            [("answer lost".to_string(), 1)]
        );
        assert_eq!(
            t.line(),
            "soak: submitted=5 terminal=4 duplicates=2 lost=2 overdue=0 partial_files=0 panics=0"
        );
    }
}

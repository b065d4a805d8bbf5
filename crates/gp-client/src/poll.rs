//! Following a job: one polling stream. [`GpResult::progress_stream`] yields an event
//! per status answer, the last one terminal; [`GpResult::wait_with`] is that stream
//! run to its end. Both keep the deadline, the cap on unknown statuses and the
//! schedule (first look no earlier than [`PollPolicy::min`] after submission, no
//! request after the terminal status), and both ride out transient failures.

use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use gp_model::{JobMessage, JobStatus, Progress};

use crate::error::Error;
use crate::result::GpResult;

/// How to poll a job. The wait between polls is a fraction of the time since the
/// job was submitted (so a finished job is noticed within that fraction of its run
/// time), never less than `min` nor more than `max`, with jitter below the bound.
/// One request is in flight at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollPolicy {
    /// Shortest wait, also the time from submission to the first status request
    /// (with long polling the first request goes at once). Default 100 ms.
    pub min: Duration,
    /// Longest wait (the server's progress interval). Default 5 s.
    pub max: Duration,
    /// Wait as a fraction of the time since submission. Default 0.14.
    pub fraction: f64,
    /// Random reduction of each wait, up to this fraction. Default 0.1.
    pub jitter: f64,
    /// Give up after this long (none by default).
    pub timeout: Option<Duration>,
    /// Polls in a row with a status this crate does not know before giving up. Default 30.
    pub max_unknown: u32,
    /// How long status polls may fail in a row (no answer, a cut or invalid body, an
    /// HTML page, HTTP 429/502/503/504) before waiting gives up; they are retried
    /// with backoff until then. Default 2 minutes.
    pub give_up_after: Duration,
    /// Use the server's long polling when its service metadata advertises it
    /// (`jobStatusWaitSeconds`, gp-server): each status request is held by the
    /// server until the job ends or a hold passes (a third of the job's age, from
    /// 0.5 s up to `max`), so the end is seen at once, progress still comes early,
    /// and a long job costs a request every `max`. ArcGIS servers do not offer it;
    /// then the job is polled. Keep the transport's request timeout above `max`.
    /// Default true.
    pub long_poll: bool,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            min: Duration::from_millis(100),
            max: Duration::from_secs(5),
            fraction: 0.14,
            jitter: 0.1,
            timeout: None,
            max_unknown: 30,
            give_up_after: Duration::from_secs(120),
            long_poll: true,
        }
    }
}

fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_ok() {
        (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
    } else {
        0.5
    }
}

impl PollPolicy {
    /// The wait after `elapsed` since submission.
    pub fn delay(&self, elapsed: Duration) -> Duration {
        let r = random_unit();
        let d = elapsed.mul_f64((self.fraction * (1.0 - self.jitter.clamp(0.0, 1.0) * r)).max(0.0));
        d.clamp(self.min, self.max.max(self.min))
    }

    /// The wait after the `n`th failed poll in a row (from 1): doubling from
    /// 250 ms up to `max` (at least 1 s), with jitter.
    pub fn retry_delay(&self, n: u32) -> Duration {
        let base = Duration::from_millis(250).saturating_mul(1 << n.clamp(1, 8).saturating_sub(1));
        let cap = self.max.max(Duration::from_secs(1));
        base.min(cap).mul_f64(1.0 - 0.25 * random_unit())
    }
}

/// The shortest hold of a long-polled status request.
const MIN_HOLD: Duration = Duration::from_millis(500);
/// A long-polled status request is held up to this fraction of the job's age.
const HOLD_FRACTION: f64 = 0.33;

/// One observation of a running job, for progress displays.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressEvent {
    /// Status.
    pub status: JobStatus,
    /// The server's progress (percent and message), while executing.
    pub progress: Option<Progress>,
    /// Messages that arrived since the previous event.
    pub new_messages: Vec<JobMessage>,
}

/// True for a failed status poll worth repeating: no answer or a cut one, a body
/// that is not the JSON asked for (an HTML page from a proxy), a status that
/// says "later" (429, 502, 503, 504), or a passing server error (an envelope with
/// code 500: ArcGIS answers "Unable to complete operation" for a moment).
pub(crate) fn is_transient(e: &Error) -> bool {
    // What any read asks again for at once, and also what the transport already
    // retried (no answer, refusals): a poll goes on trying those for longer.
    crate::wire::is_passing(e)
        || match e {
            Error::Transport(t) => matches!(
                t,
                gp_transport::Error::Connect { .. }
                    | gp_transport::Error::NoAnswer { .. }
                    | gp_transport::Error::Timeout { .. }
            ),
            Error::Protocol { status, .. } => matches!(status, 408 | 429 | 502 | 503 | 504),
            Error::Server { code, .. } => *code == 429,
            _ => false,
        }
}

struct PollState {
    seen: usize,
    unknown: u32,
    failures: u32,
    failing_since: Option<Instant>,
    start: Instant,
    first: bool,
    done: bool,
}

impl GpResult {
    fn event(&self, seen: &mut usize, status: JobStatus) -> ProgressEvent {
        let (progress, msgs) = self.progress_and_messages();
        let new_messages = msgs
            .get(*seen..)
            .map(<[JobMessage]>::to_vec)
            .unwrap_or_default();
        *seen = msgs.len();
        ProgressEvent {
            status,
            progress,
            new_messages,
        }
    }

    /// Status, progress and new messages at every poll until the job ends: the last
    /// item is the terminal status (or the error that ended the polling: the
    /// deadline, too many unknown statuses, failures for longer than
    /// [`PollPolicy::give_up_after`]). A synchronous result, or a job already known
    /// to be over, gives one event without a request.
    pub fn progress_stream(
        &self,
        policy: PollPolicy,
    ) -> impl Stream<Item = Result<ProgressEvent, Error>> + '_ {
        let state = PollState {
            seen: 0,
            unknown: 0,
            failures: 0,
            failing_since: None,
            start: Instant::now(),
            first: true,
            done: false,
        };
        futures::stream::unfold(state, move |mut st| async move {
            if st.done {
                return None;
            }
            if st.first && (self.job_url().is_none() || self.status().is_terminal()) {
                st.done = true;
                let ev = self.event(&mut st.seen, self.status());
                return Some((Ok(ev), st));
            }
            // How long the server may hold each status request, when it offers to.
            let hold = self
                .tool()
                .service
                .job_status_wait_seconds
                .filter(|s| policy.long_poll && s.is_finite() && *s > 0.0)
                .map(|s| Duration::from_secs_f64(s).min(policy.max.max(Duration::from_secs(1))));
            loop {
                let mut wait = if st.first && hold.is_some() {
                    // A held request may go at once: the server answers at the end.
                    Duration::ZERO
                } else if st.first {
                    policy.min.saturating_sub(self.started().elapsed())
                } else if st.failures > 0 {
                    policy.retry_delay(st.failures)
                } else if hold.is_some() {
                    Duration::ZERO
                } else {
                    policy.delay(self.started().elapsed())
                };
                st.first = false;
                if let Some(t) = policy.timeout {
                    wait = wait.min(t.saturating_sub(st.start.elapsed()));
                }
                tokio::time::sleep(wait).await;
                // The deadline holds during a request too: a status request that
                // hangs (retried by the transport) is cut off when it passes.
                let left = policy
                    .timeout
                    .map(|t| t.saturating_sub(st.start.elapsed()));
                // Each hold grows with the job's age, from 0.5 s up to the longest
                // (a third of the time since submission): progress is still shown
                // early, and a long job costs few requests.
                let held = hold.map(|longest| {
                    let h = self
                        .started()
                        .elapsed()
                        .mul_f64(HOLD_FRACTION)
                        .clamp(MIN_HOLD.min(longest), longest);
                    left.map_or(h, |l| h.min(l))
                });
                let refreshed = match left {
                    Some(left) => {
                        match tokio::time::timeout(left, self.refresh_held(held)).await {
                            Ok(r) => r,
                            Err(_) => {
                                st.done = true;
                                return Some((Err(self.timed_out(st.start)), st));
                            }
                        }
                    }
                    None => self.refresh_held(held).await,
                };
                let status = match refreshed {
                    Ok(s) => s,
                    Err(e) if is_transient(&e) => {
                        let since = *st.failing_since.get_or_insert_with(Instant::now);
                        st.failures += 1;
                        if since.elapsed() >= policy.give_up_after {
                            st.done = true;
                            let err = Error::PollGaveUp {
                                job_url: self.job_url().unwrap_or_default().to_string(),
                                seconds: since.elapsed().as_secs_f64(),
                                last: e.to_string(),
                            };
                            return Some((Err(err), st));
                        }
                        tracing::warn!(error = %e, attempt = st.failures, "status poll failed; retrying");
                        if policy.timeout.is_some_and(|t| st.start.elapsed() >= t) {
                            st.done = true;
                            return Some((Err(self.timed_out(st.start)), st));
                        }
                        continue;
                    }
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                };
                st.failures = 0;
                st.failing_since = None;
                if let JobStatus::Unknown(s) = &status {
                    st.unknown += 1;
                    if st.unknown >= policy.max_unknown {
                        st.done = true;
                        let err = Error::Protocol {
                            url: self.job_url().unwrap_or_default().to_string(),
                            status: 200,
                            message: format!(
                                "the job status `{s}` is not one of the 11 ArcGIS job statuses ({} polls in a row)",
                                st.unknown
                            ),
                        };
                        return Some((Err(err), st));
                    }
                } else {
                    st.unknown = 0;
                }
                if status.is_terminal() {
                    st.done = true;
                } else if policy.timeout.is_some_and(|t| st.start.elapsed() >= t) {
                    st.done = true;
                    return Some((Err(self.timed_out(st.start)), st));
                }
                let ev = self.event(&mut st.seen, status);
                return Some((Ok(ev), st));
            }
        })
        .boxed()
    }

    fn timed_out(&self, start: Instant) -> Error {
        Error::WaitTimeout {
            job_id: self.result_id().unwrap_or_default().to_string(),
            job_url: self.job_url().unwrap_or_default().to_string(),
            status: self.status(),
            seconds: start.elapsed().as_secs_f64(),
        }
    }

    /// Waits until the job ends with the default [`PollPolicy`]; an error when it
    /// failed, was cancelled or timed out (with the server's messages).
    pub async fn wait(&self) -> Result<JobStatus, Error> {
        self.wait_with(PollPolicy::default()).await
    }

    /// Waits with `policy`: [`GpResult::progress_stream`] run to its end.
    pub async fn wait_with(&self, policy: PollPolicy) -> Result<JobStatus, Error> {
        let mut events = self.progress_stream(policy);
        let mut last = self.status();
        while let Some(ev) = events.next().await {
            last = ev?.status;
        }
        self.ended(last)
    }
}

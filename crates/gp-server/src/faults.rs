//! Fault injection, off by default: which faults to inject on which routes and how
//! often ([`FaultSpec`], the text of `--faults`), the seeded decisions, and what was
//! received and injected ([`FaultReport`]). The faults themselves are applied by the
//! tower layer in `fault_layer` (HTTP) and by the job manager (jobs).
//!
//! The SPEC is a comma-separated list of rules `[ROUTE:]KIND=RATE` and settings:
//!
//! - ROUTE: `meta` (services directory, service, task and map service GETs),
//!   `submit` (`submitJob`, `execute`), `status` (a job's status and cancel),
//!   `results` (a job's results and inputs), `files` (downloads under
//!   `/arcgis/rest/directories`), or `*` for all (the default). Tokens, uploads and
//!   the portal are never faulted.
//! - KIND: `http-502`, `http-503`, `http-503-retry-after`, `http-429` (answered
//!   without passing the request on), `reset-before-body` (the connection is closed
//!   before the request body is read), `reset-after-body` (the request is handled,
//!   then the connection is closed without an answer), `stall` (no answer for the
//!   stall time, then the answer), `truncate` (the answer is cut half way, its full
//!   length announced), `corrupt-json` (a byte of a JSON answer is replaced by NUL),
//!   `error-200` (an error envelope with HTTP 200, without passing the request on),
//!   `token-expired` (the caller's token is expired on the spot and 498 answered),
//!   and on `submit` only the job faults `job-fail`, `job-timeout`, `job-cancel`
//!   (the job runs, then ends failed, timed out or cancelled by the server) and
//!   `job-delete` (the job is deleted when it ends, with its files); or `any`: every
//!   kind the route allows, the rate shared evenly.
//! - RATE: a probability from 0 to 1. Rules for a route add up (capped at 1); each
//!   request gets at most one fault.
//! - Settings: `stall=SECONDS` (default 30).
//!
//! `any=0.1` faults one request in ten on every route, with every kind.
//! `status:truncate=0.2,submit:job-fail=0.05,stall=3` cuts a fifth of status
//! answers, fails one job in twenty, and stalls for 3 s.
//!
//! Decisions come from a counter-based generator seeded by `--fault-seed`: the same
//! seed gives the same sequence of decisions (which request gets which decision
//! depends on the order requests arrive in).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gp_model::JobStatus;

/// A route class, as faults see requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    /// Services directory, service, task and map service metadata.
    Meta,
    /// `submitJob` and `execute`.
    Submit,
    /// A job's status (and cancel).
    Status,
    /// A job's results and inputs.
    Results,
    /// Files under `/arcgis/rest/directories`.
    Files,
}

impl Route {
    /// All routes.
    pub const ALL: [Route; 5] = [
        Route::Meta,
        Route::Submit,
        Route::Status,
        Route::Results,
        Route::Files,
    ];

    /// The SPEC name.
    pub fn name(self) -> &'static str {
        match self {
            Route::Meta => "meta",
            Route::Submit => "submit",
            Route::Status => "status",
            Route::Results => "results",
            Route::Files => "files",
        }
    }

    fn parse(s: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|r| r.name() == s)
    }

    /// The route of a request path, `None` for paths never faulted (tokens,
    /// uploads, the portal, info).
    pub fn of_path(path: &str) -> Option<Route> {
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        match s.as_slice() {
            ["arcgis", "rest", "directories", ..] => Some(Route::Files),
            ["arcgis", "rest", "services", rest @ ..] => {
                if rest.contains(&"uploads") {
                    return None;
                }
                match rest.iter().position(|x| *x == "jobs") {
                    Some(i) if rest.get(i + 2).is_some_and(|x| *x == "cancel") => {
                        Some(Route::Status)
                    }
                    Some(i) if rest.len() > i + 2 => Some(Route::Results),
                    Some(i) if rest.len() == i + 2 => Some(Route::Status),
                    _ => match rest.last() {
                        Some(&"submitjob") | Some(&"execute") => Some(Route::Submit),
                        _ => Some(Route::Meta),
                    },
                }
            }
            _ => None,
        }
    }
}

/// A fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// HTTP 502, not passed on.
    Http502,
    /// HTTP 503 without `Retry-After`, not passed on.
    Http503,
    /// HTTP 503 with `Retry-After: 1`, not passed on.
    Http503RetryAfter,
    /// HTTP 429 with `Retry-After: 1`, not passed on.
    Http429,
    /// The connection closed before the request body is read.
    ResetBeforeBody,
    /// The request handled, then the connection closed without an answer.
    ResetAfterBody,
    /// No answer for the stall time.
    Stall,
    /// The answer cut half way, its whole length announced.
    Truncate,
    /// A byte of a JSON answer replaced by NUL.
    CorruptJson,
    /// An error envelope with HTTP 200, not passed on.
    Error200,
    /// The caller's token expired on the spot, 498 answered.
    TokenExpired,
    /// The job runs, then fails.
    JobFail,
    /// The job runs, then times out.
    JobTimeout,
    /// The job runs, then the server cancels it.
    JobCancel,
    /// The job is deleted when it ends.
    JobDelete,
}

impl Fault {
    /// Every kind.
    pub const ALL: [Fault; 15] = [
        Fault::Http502,
        Fault::Http503,
        Fault::Http503RetryAfter,
        Fault::Http429,
        Fault::ResetBeforeBody,
        Fault::ResetAfterBody,
        Fault::Stall,
        Fault::Truncate,
        Fault::CorruptJson,
        Fault::Error200,
        Fault::TokenExpired,
        Fault::JobFail,
        Fault::JobTimeout,
        Fault::JobCancel,
        Fault::JobDelete,
    ];

    /// The SPEC name.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Http502 => "http-502",
            Fault::Http503 => "http-503",
            Fault::Http503RetryAfter => "http-503-retry-after",
            Fault::Http429 => "http-429",
            Fault::ResetBeforeBody => "reset-before-body",
            Fault::ResetAfterBody => "reset-after-body",
            Fault::Stall => "stall",
            Fault::Truncate => "truncate",
            Fault::CorruptJson => "corrupt-json",
            Fault::Error200 => "error-200",
            Fault::TokenExpired => "token-expired",
            Fault::JobFail => "job-fail",
            Fault::JobTimeout => "job-timeout",
            Fault::JobCancel => "job-cancel",
            Fault::JobDelete => "job-delete",
        }
    }

    fn parse(s: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == s)
    }

    /// True for the faults applied to the job rather than to the HTTP exchange.
    pub fn is_job(self) -> bool {
        matches!(
            self,
            Fault::JobFail | Fault::JobTimeout | Fault::JobCancel | Fault::JobDelete
        )
    }

    /// True when the fault can be injected on `route`.
    pub fn applies_to(self, route: Route) -> bool {
        match self {
            f if f.is_job() => route == Route::Submit,
            // A file download is not JSON: corrupting bytes of a TIFF cannot be
            // told from a real file, so downloads are cut, not corrupted.
            Fault::CorruptJson => route != Route::Files,
            _ => true,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which faults, where, how often: the parsed `--faults` SPEC and its seed.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Rate of each fault on each route.
    rates: BTreeMap<(Route, Fault), f64>,
    /// How long a stalled answer waits.
    pub stall: Duration,
    /// The generator's seed.
    pub seed: u64,
}

impl FaultSpec {
    /// Parses a SPEC (see the module docs); errors name the rule that is wrong.
    pub fn parse(spec: &str, seed: u64) -> Result<FaultSpec, String> {
        let mut rates: BTreeMap<(Route, Fault), f64> = BTreeMap::new();
        let mut stall = Duration::from_secs(30);
        for rule in spec.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let Some((lhs, value)) = rule.split_once('=') else {
                return Err(format!(
                    "fault rule `{rule}`: expected [ROUTE:]KIND=RATE or stall=SECONDS"
                ));
            };
            let (lhs, value) = (lhs.trim().to_ascii_lowercase(), value.trim());
            let number: f64 = value
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    format!("fault rule `{rule}`: `{value}` is not a non-negative number")
                })?;
            if lhs == "stall" {
                stall = Duration::from_secs_f64(number.min(86_400.0));
                continue;
            }
            if number > 1.0 {
                return Err(format!(
                    "fault rule `{rule}`: a rate is a probability from 0 to 1"
                ));
            }
            let (route, kind) = match lhs.split_once(':') {
                Some((r, k)) => (r.trim(), k.trim()),
                None => ("*", lhs.as_str()),
            };
            let routes: Vec<Route> = if route == "*" {
                Route::ALL.to_vec()
            } else {
                vec![Route::parse(route).ok_or_else(|| {
                    format!(
                        "fault rule `{rule}`: unknown route `{route}` (meta, submit, status, results, files or *)"
                    )
                })?]
            };
            for r in routes {
                let kinds: Vec<Fault> = if kind == "any" {
                    Fault::ALL.into_iter().filter(|f| f.applies_to(r)).collect()
                } else {
                    let f = Fault::parse(kind).ok_or_else(|| {
                        format!(
                            "fault rule `{rule}`: unknown fault `{kind}` (one of {} or any)",
                            Fault::ALL.map(Fault::name).join(", ")
                        )
                    })?;
                    if !f.applies_to(r) {
                        if route == "*" {
                            continue;
                        }
                        return Err(format!(
                            "fault rule `{rule}`: `{kind}` cannot be injected on `{route}`"
                        ));
                    }
                    vec![f]
                };
                let share = number / kinds.len().max(1) as f64;
                for f in kinds {
                    *rates.entry((r, f)).or_default() += share;
                }
            }
        }
        Ok(FaultSpec { rates, stall, seed })
    }

    /// The rate of `fault` on `route`.
    pub fn rate(&self, route: Route, fault: Fault) -> f64 {
        self.rates.get(&(route, fault)).copied().unwrap_or(0.0)
    }
}

/// SplitMix64: a counter-based generator, one draw per (seed, counter).
fn splitmix(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fault decided for one request, with its own random numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) fault: Fault,
    /// A random number for where to cut or corrupt.
    pub(crate) draw: u64,
}

/// The live state: the spec, the counter and the counts.
#[derive(Debug)]
pub(crate) struct FaultState {
    pub(crate) spec: FaultSpec,
    counter: AtomicU64,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    requests: BTreeMap<Route, u64>,
    injected: BTreeMap<(Route, Fault), u64>,
}

impl FaultState {
    pub(crate) fn new(spec: FaultSpec) -> Self {
        FaultState {
            spec,
            counter: AtomicU64::new(0),
            counts: Mutex::new(Counts::default()),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a request on `route` and decides its fault, if any.
    pub(crate) fn decide(&self, route: Route) -> Option<Decision> {
        *self.counts().requests.entry(route).or_default() += 1;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let a = splitmix(self.spec.seed, 2 * n);
        let draw = splitmix(self.spec.seed, 2 * n + 1);
        let u = (a >> 11) as f64 / (1u64 << 53) as f64;
        let mut acc = 0.0;
        for f in Fault::ALL {
            acc += self.spec.rate(route, f);
            if u < acc {
                return Some(Decision { fault: f, draw });
            }
        }
        None
    }

    /// Records that `fault` was injected on `route`.
    pub(crate) fn injected(&self, route: Route, fault: Fault) {
        *self.counts().injected.entry((route, fault)).or_default() += 1;
    }

    /// Requests and injected faults so far.
    pub(crate) fn tallies(&self) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
        let c = self.counts();
        let requests = c
            .requests
            .iter()
            .map(|(r, n)| (r.name().to_string(), *n))
            .collect();
        let injected = c
            .injected
            .iter()
            .map(|((r, f), n)| (format!("{}:{}", r.name(), f.name()), *n))
            .collect();
        (requests, injected)
    }
}

/// One job the server created while faults were on.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEntry {
    /// The client's `X-Request-Id` of the request that created it.
    pub request_id: Option<String>,
    /// Job id.
    pub job_id: String,
    /// Task name.
    pub task: String,
    /// Created by `execute`.
    pub synchronous: bool,
    /// The job fault injected, if any.
    pub fault: Option<Fault>,
    /// The status now; `None` when the job was deleted.
    pub status: Option<JobStatus>,
}

/// What the server received and injected while faults were on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultReport {
    /// Requests per route.
    pub requests: BTreeMap<String, u64>,
    /// Faults injected, keyed `route:kind`.
    pub injected: BTreeMap<String, u64>,
    /// Every job created, in order.
    pub jobs: Vec<JobEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_route(path: &str, route: Option<Route>) {
        assert_eq!(Route::of_path(path), route, "{path}");
    }

    #[test]
    fn routes_of_paths() {
        check_route("/arcgis/rest/services", Some(Route::Meta));
        check_route(
            "/arcgis/rest/services/GP/BufferByVal/GPServer",
            Some(Route::Meta),
        );
        check_route(
            "/arcgis/rest/services/GP/BufferByVal/GPServer/BufferPoints/submitJob",
            Some(Route::Submit),
        );
        check_route(
            "/arcgis/rest/services/GP/BufferSync/GPServer/BufferPoints/execute",
            Some(Route::Submit),
        );
        check_route(
            "/arcgis/rest/services/GP/BufferByVal/GPServer/BufferPoints/jobs/j1",
            Some(Route::Status),
        );
        check_route(
            "/arcgis/rest/services/GP/BufferByVal/GPServer/BufferPoints/jobs/j1/cancel",
            Some(Route::Status),
        );
        check_route(
            "/arcgis/rest/services/GP/BufferByVal/GPServer/BufferPoints/jobs/j1/results/Out",
            Some(Route::Results),
        );
        check_route(
            "/arcgis/rest/directories/arcgisjobs/x/j1/scratch/slope.tif",
            Some(Route::Files),
        );
        check_route(
            "/arcgis/rest/services/GP/BufferByVal/GPServer/uploads/upload",
            None,
        );
        check_route("/arcgis/tokens/generateToken", None);
        check_route("/arcgis/sharing/rest", None);
    }

    #[test]
    fn specs_parse_and_errors_name_the_rule() {
        let s = FaultSpec::parse("any=0.15, status:truncate=0.2,stall=3", 7).unwrap();
        assert_eq!(s.stall, Duration::from_secs(3));
        let submit_kinds = Fault::ALL
            .iter()
            .filter(|f| f.applies_to(Route::Submit))
            .count() as f64;
        assert!((s.rate(Route::Submit, Fault::JobFail) - 0.15 / submit_kinds).abs() < 1e-12);
        assert_eq!(s.rate(Route::Files, Fault::CorruptJson), 0.0);
        assert!(s.rate(Route::Status, Fault::Truncate) > 0.2);
        for (bad, needle) in [
            ("status:job-fail=0.1", "cannot be injected"),
            ("nowhere:stall=0.1", "unknown route"),
            ("status:boom=0.1", "unknown fault"),
            ("stall", "expected"),
            ("any=1.5", "probability"),
            ("any=-1", "non-negative"),
        ] {
            let e = FaultSpec::parse(bad, 0).unwrap_err();
            assert!(e.contains(needle) && e.contains(bad), "{bad}: {e}");
        }
        // A job fault on every route means on submit only.
        let s = FaultSpec::parse("job-delete=0.5", 0).unwrap();
        assert_eq!(s.rate(Route::Submit, Fault::JobDelete), 0.5);
        assert_eq!(s.rate(Route::Status, Fault::JobDelete), 0.0);
    }

    #[test]
    fn decisions_follow_the_rates_and_the_seed() {
        let state = FaultState::new(FaultSpec::parse("status:http-503=0.25", 42).unwrap());
        let hits = (0..20_000)
            .filter(|_| state.decide(Route::Status).is_some())
            .count();
        assert!((4_500..5_500).contains(&hits), "{hits}");
        assert!((0..1000).all(|_| state.decide(Route::Meta).is_none()));
        let again = FaultState::new(FaultSpec::parse("status:http-503=0.25", 42).unwrap());
        let other = FaultState::new(FaultSpec::parse("status:http-503=0.25", 43).unwrap());
        let seq = |s: &FaultState| {
            (0..64)
                .map(|_| s.decide(Route::Status).is_some())
                .collect::<Vec<_>>()
        };
        let first = FaultState::new(FaultSpec::parse("status:http-503=0.25", 42).unwrap());
        assert_eq!(seq(&first), seq(&again));
        assert_ne!(seq(&first), seq(&other));
        let (requests, _) = state.tallies();
        assert_eq!(requests["status"], 20_000);
    }
}

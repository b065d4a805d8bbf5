//! The fault layer seen from a plain HTTP client (reqwest) over real sockets: each
//! fault kind at rate 1 on one route, what arrives, what the server counted, and
//! the job faults as the job's status shows them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::time::{Duration, Instant};

use gp_server::ServerConfig;
use gp_server::faults::{Fault, FaultSpec};

async fn start(spec: &str, users: bool) -> common::Srv {
    common::start(ServerConfig {
        faults: Some(FaultSpec::parse(spec, 7).unwrap()),
        users: if users {
            vec![("u".into(), "p4ssword".into())]
        } else {
            Vec::new()
        },
        ..Default::default()
    })
    .await
}

const META: &str = "/arcgis/rest/services/GP/Utilities/GPServer";

/// What a GET of the Utilities service got.
#[derive(Debug)]
enum Got {
    Status(u16, Option<String>, Vec<u8>),
    /// The connection failed before or while the body came (why, for messages).
    Broken(#[allow(dead_code)] String), // reason: read through Debug in assertion messages
}

async fn get(url: &str, token: Option<&str>) -> Got {
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut req = c.get(url).query(&[("f", "json")]);
    if let Some(t) = token {
        req = req.header("X-Esri-Authorization", format!("Bearer {t}"));
    }
    match req.send().await {
        Err(e) => Got::Broken(format!("{e:?}")),
        Ok(r) => {
            let status = r.status().as_u16();
            let ra = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            match r.bytes().await {
                Ok(b) => Got::Status(status, ra, b.to_vec()),
                Err(e) => Got::Broken(format!("{e:?}")),
            }
        }
    }
}

#[track_caller]
fn check_http(got: &Got, status: u16, retry_after: Option<&str>) {
    match got {
        Got::Status(s, ra, _) => {
            assert_eq!(*s, status, "{got:?}");
            assert_eq!(ra.as_deref(), retry_after, "{got:?}");
        }
        other => panic!("{other:?}"),
    }
}

async fn injected(s: &common::Srv, key: &str) -> u64 {
    let r = s.server.fault_report().unwrap();
    r.injected.get(key).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_answered_without_passing_the_request_on() {
    for (kind, status, ra) in [
        ("http-502", 502, None),
        ("http-503", 503, None),
        ("http-503-retry-after", 503, Some("1")),
        ("http-429", 429, Some("1")),
    ] {
        let s = start(&format!("meta:{kind}=1"), false).await;
        let got = get(&s.url(META), None).await;
        check_http(&got, status, ra);
        assert_eq!(injected(&s, &format!("meta:{kind}")).await, 1, "{kind}");
        // Other routes are untouched.
        let r = s
            .http
            .get(s.url("/arcgis/rest/info?f=json"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_close_the_connection_without_an_answer() {
    for kind in ["reset-before-body", "reset-after-body"] {
        let s = start(&format!("meta:{kind}=1"), false).await;
        let got = get(&s.url(META), None).await;
        assert!(matches!(got, Got::Broken(_)), "{kind}: {got:?}");
        assert_eq!(injected(&s, &format!("meta:{kind}")).await, 1);
    }
}

/// A submitJob reset after its body was read created the job: the report has it,
/// with the request id the client sent. Reset before the body: no job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_reset_after_its_body_created_the_job() {
    for (kind, jobs) in [("reset-after-body", 1), ("reset-before-body", 0)] {
        let s = start(&format!("submit:{kind}=1"), false).await;
        let r = s
            .http
            .post(s.url(&format!("{META}/Wait/submitJob")))
            .header("X-Request-Id", "req-42")
            .form(&[("f", "json"), ("Seconds", "0.1")])
            .send()
            .await;
        assert!(r.is_err(), "{kind}: {r:?}");
        let report = s.server.fault_report().unwrap();
        assert_eq!(report.jobs.len(), jobs, "{kind}");
        if let Some(j) = report.jobs.first() {
            assert_eq!(j.request_id.as_deref(), Some("req-42"));
            assert_eq!(j.task, "Wait");
        }
        assert_eq!(report.requests.get("submit"), Some(&1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_answer_announces_more_than_it_sends() {
    let s = start("meta:truncate=1", false).await;
    let got = get(&s.url(META), None).await;
    assert!(matches!(got, Got::Broken(_)), "{got:?}");
    assert_eq!(injected(&s, "meta:truncate").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_json_is_never_valid_json() {
    let s = start("meta:corrupt-json=1", false).await;
    for _ in 0..20 {
        let Got::Status(200, _, body) = get(&s.url(META), None).await else {
            panic!()
        };
        assert!(body.contains(&0), "a NUL byte");
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
    }
    assert_eq!(injected(&s, "meta:corrupt-json").await, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_envelope_comes_with_http_200() {
    let s = start("status:error-200=1", false).await;
    let job = s
        .submit(&s.url(&format!("{META}/Wait")), &[("Seconds", "0.1")])
        .await;
    let Got::Status(200, None, body) = get(&job, None).await else {
        panic!()
    };
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["code"], 500, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_answers_after_the_stall_time() {
    let s = start("meta:stall=1,stall=0.6", false).await;
    let t = Instant::now();
    let got = get(&s.url(META), None).await;
    check_http(&got, 200, None);
    // A lower bound: the answer cannot come before the stall ends.
    assert!(
        t.elapsed() >= Duration::from_millis(600),
        "{:?}",
        t.elapsed()
    );
}

/// The caller's token is expired on the spot: 498 now, and 498 for the next
/// request with it too, until a new token is asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expired_expires_the_callers_token() {
    let s = start("meta:token-expired=1", true).await;
    let token_of = |v: serde_json::Value| v["token"].as_str().unwrap().to_string();
    let t = token_of(
        s.post(
            &s.url("/arcgis/tokens/generateToken"),
            &[("username", "u"), ("password", "p4ssword"), ("f", "json")],
        )
        .await,
    );
    let Got::Status(200, None, body) = get(&s.url(META), Some(&t)).await else {
        panic!()
    };
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["code"], 498, "{v}");
    // The token is gone for every route, faulted or not.
    let job = s
        .http
        .get(s.url(&format!("{META}/Wait/jobs/jx?f=json")))
        .header("X-Esri-Authorization", format!("Bearer {t}"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(job["error"]["code"], 498, "{job}");
    // Without a token there is nothing to expire: the request goes through to auth.
    let Got::Status(200, None, body) = get(&s.url(META), None).await else {
        panic!()
    };
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["code"], 499, "{v}");
    assert_eq!(injected(&s, "meta:token-expired").await, 1);
}

/// Job faults: the job runs, then ends as the fault says; a deleted job is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_faults_end_jobs_as_they_say() {
    for (kind, status) in [
        ("job-fail", Some("esriJobFailed")),
        ("job-timeout", Some("esriJobTimedOut")),
        ("job-cancel", Some("esriJobCancelled")),
        ("job-delete", None),
    ] {
        let s = start(&format!("submit:{kind}=1"), false).await;
        let job = s
            .submit(&s.url(&format!("{META}/Wait")), &[("Seconds", "0.1")])
            .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let last = loop {
            let v = s.get(&format!("{job}?f=json")).await;
            let ended = v["jobStatus"].as_str().is_none_or(|st| {
                !matches!(
                    st,
                    "esriJobSubmitted" | "esriJobWaiting" | "esriJobExecuting"
                )
            });
            if ended || Instant::now() > deadline {
                break v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        match status {
            Some(st) => {
                assert_eq!(last["jobStatus"], st, "{kind}: {last}");
            }
            None => {
                // Deleted once it ended: the job is not found.
                let mut v = last;
                while v["error"].is_null() && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    v = s.get(&format!("{job}?f=json")).await;
                }
                assert!(!v["error"].is_null(), "{kind}: {v}");
            }
        }
        let report = s.server.fault_report().unwrap();
        assert_eq!(report.jobs.len(), 1);
        let fault = Fault::ALL.into_iter().find(|f| f.name() == kind);
        assert_eq!(report.jobs[0].fault, fault);
        if status.is_none() {
            assert_eq!(report.jobs[0].status, None, "deleted");
        }
        assert_eq!(injected(&s, &format!("submit:{kind}")).await, 1);
    }
}

/// Faults off (the default): no report, nothing injected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_off_by_default() {
    let s = common::start_default().await;
    assert!(s.server.fault_report().is_none());
    let got = get(&s.url(META), None).await;
    check_http(&got, 200, None);
}

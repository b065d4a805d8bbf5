//! `gp-soak` (run by `cargo xtask soak`): N jobs of mixed tools through gp-server's
//! fault layer with the real HTTP client, C at a time, token security on. The
//! server counts what it received and the jobs it created (with the client's
//! `X-Request-Id`); the client side counts what it sent and how each job ended; the
//! soak compares the two. Its last line is
//!
//! `soak: submitted=N terminal=N duplicates=N lost=N overdue=N partial_files=N panics=N`
//!
//! and it exits 1 unless every count but the first two is 0, every job came to an
//! end, and no token or password appears in the logs (every level of gp's crates),
//! the server's job files, the outputs, error messages or panic messages.
//!
//! Which crate does what: gp-server serves and injects the faults, gp-client and
//! gp-transport are the client under test, gp-features and gp-raster check the
//! files written, [memchr] searches for tokens, [tracing_subscriber] writes the log.

#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: a command-line tool reports on the terminal

mod files;
mod plan;
mod run;
mod tally;
mod watch;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use futures::StreamExt;
use gp_server::faults::FaultSpec;
use gp_transport::{HttpConfig, HttpTransport, RetryPolicy, UserPassword};

use crate::run::{JobRun, Outcome, Setup};
use crate::watch::{ClientLedger, Panics, Recorder, RememberTokens};

/// Jobs through a misbehaving server, counted.
#[derive(Debug, Parser)]
#[command(name = "gp-soak")]
struct Args {
    /// Logical jobs to run.
    #[arg(long, default_value_t = 500)]
    jobs: usize,
    /// Share of requests that get a fault (every kind, every route).
    #[arg(long, default_value_t = 0.1)]
    fault_rate: f64,
    /// Seed of the job mix and the server's fault decisions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Jobs in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Where the log, the server's data and the outputs go (emptied first).
    #[arg(long, default_value = "target/soak")]
    out: PathBuf,
    /// The client's request timeout in seconds (stalls last 1.5 times as long).
    #[arg(long, default_value_t = 2.0)]
    request_timeout_secs: f64,
}

/// The log file, shared so it can be flushed at the end.
#[derive(Clone)]
struct Log(Arc<Mutex<std::io::BufWriter<std::fs::File>>>);

impl Write for Log {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).write(b)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).flush()
    }
}

fn random_hex() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.fault_rate) {
        anyhow::bail!("--fault-rate must be from 0 to 1");
    }
    let _ = std::fs::remove_dir_all(&args.out);
    std::fs::create_dir_all(args.out.join("outputs"))
        .with_context(|| format!("creating {}", args.out.display()))?;
    let log_path = args.out.join("soak.log");
    let log = Log(Arc::new(Mutex::new(std::io::BufWriter::new(
        std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?,
    ))));
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,gp_client=trace,gp_transport=trace,gp_server=trace,gp_features=trace,gp_raster=trace,gp_fs=trace,gp_soak=trace",
        ))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let panics = Panics::install();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let clean = rt.block_on(soak(&args, &panics, &log, &log_path))?;
    if !clean {
        std::process::exit(1);
    }
    Ok(())
}

fn counts(m: &BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn soak(args: &Args, panics: &Panics, log: &Log, log_path: &Path) -> anyhow::Result<bool> {
    let started = Instant::now();
    let timeout = Duration::from_secs_f64(args.request_timeout_secs);
    let password = random_hex();
    let spec = FaultSpec::parse(
        &format!(
            "any={},stall={}",
            args.fault_rate,
            1.5 * args.request_timeout_secs
        ),
        args.seed,
    )
    .map_err(anyhow::Error::msg)?;
    let server = gp_server::Server::start(gp_server::ServerConfig {
        users: vec![("soak".into(), password.clone())],
        workers: args.concurrency.max(2),
        data_dir: Some(args.out.join("server")),
        faults: Some(spec),
        ..Default::default()
    })
    .await
    .context("starting gp-server")?;
    let ledger = Arc::new(ClientLedger::default());
    let http = HttpTransport::new(HttpConfig {
        connect_timeout: timeout,
        timeout,
        read_timeout: timeout,
        retry: RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        },
        ..Default::default()
    })?;
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let provider = RememberTokens {
        inner: Arc::new(UserPassword::new(
            server.url("/arcgis"),
            "soak",
            password.clone(),
        )),
        seen: tokens.clone(),
    };
    let client = gp_client::Client::builder()
        .transport(Arc::new(Recorder {
            inner: http,
            ledger: ledger.clone(),
        }))
        .token_provider(Arc::new(provider))
        .build()?;
    let setup = Setup {
        client,
        services: server.url("/arcgis/rest/services"),
        out: args.out.join("outputs"),
        slack: Duration::from_secs(1),
    };
    eprintln!(
        "soak: {} jobs, fault rate {}, seed {}, concurrency {}, request timeout {} s",
        args.jobs, args.fault_rate, args.seed, args.concurrency, args.request_timeout_secs
    );
    let step = (args.jobs / 10).max(1);
    let setup_ref = &setup;
    let mut runs: Vec<JobRun> = futures::stream::iter(0..args.jobs)
        .map(|i| {
            let kind = plan::kind(args.seed, i);
            let guard = Duration::from_secs_f64(kind.length_secs() + 120.0);
            run::run_job(setup_ref, i, kind, guard)
        })
        .buffer_unordered(args.concurrency.max(1))
        .inspect(|r| {
            if (r.index + 1) % step == 0 {
                eprintln!(
                    "soak: job {} done ({:.0} s)",
                    r.index + 1,
                    started.elapsed().as_secs_f64()
                );
            }
        })
        .collect()
        .await;
    runs.sort_by_key(|r| r.index);
    // Jobs whose answers were lost run on: let them end before counting.
    let waited = Instant::now();
    let report = loop {
        let r = server
            .fault_report()
            .context("the server has no fault report")?;
        let running = r
            .jobs
            .iter()
            .filter(|j| j.status.as_ref().is_some_and(|s| !s.is_terminal()))
            .count();
        if running == 0 || waited.elapsed() > Duration::from_secs(60) {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let elapsed = started.elapsed();
    let mut tally = tally::compare(&runs, &ledger.submits(), &report.jobs);
    let files = files::check(&setup.out, &runs);
    tally.partial_files = files.partial.len();
    tally.panics = panics.count();
    server.shutdown().await;
    let _ = log.clone().flush();

    // What each side counted.
    eprintln!(
        "server received: {}; injected {} faults: {}",
        counts(&report.requests),
        report.injected.values().sum::<u64>(),
        counts(&report.injected)
    );
    let client_requests: BTreeMap<String, u64> = ledger
        .requests()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    eprintln!(
        "client sent (before HTTP retries): {}",
        counts(&client_requests)
    );
    let mut server_status: BTreeMap<String, u64> = BTreeMap::new();
    for j in &report.jobs {
        let s = j
            .status
            .as_ref()
            .map_or("deleted".to_string(), |s| s.to_string());
        *server_status.entry(s).or_default() += 1;
    }
    eprintln!(
        "server jobs: {} created: {}",
        report.jobs.len(),
        counts(&server_status)
    );
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for r in &runs {
        let o = match &r.outcome {
            Outcome::Delivered { .. } => "delivered".to_string(),
            Outcome::JobEnded(s) => format!("job ended {s}"),
            Outcome::Reported(k) => format!("reported: {k}"),
            Outcome::Hung => "hung".to_string(),
        };
        *outcomes.entry(o).or_default() += 1;
    }
    eprintln!("client outcomes: {}", counts(&outcomes));
    let told = tally::reported_after_success(&runs, &ledger.submits(), &report.jobs);
    eprintln!(
        "succeeded on the server, an error reported by the client instead of the outputs: {} ({})",
        told.values().sum::<u64>(),
        counts(&told)
    );
    // Every job's outcome and errors, for reading after a run.
    let mut detail = String::new();
    for r in &runs {
        detail.push_str(&format!(
            "job {} {}: {:?}\n",
            r.index,
            r.kind.name(),
            r.outcome
        ));
        for t in r.texts.iter().step_by(2) {
            detail.push_str(&format!("  {t}\n"));
        }
    }
    let runs_path = args.out.join("runs.txt");
    std::fs::write(&runs_path, detail)
        .with_context(|| format!("writing {}", runs_path.display()))?;
    eprintln!(
        "files: {} checked, {} partial, {} temporary files left",
        files.checked,
        files.partial.len(),
        files.leftovers.len()
    );
    for p in files.partial.iter().chain(&files.leftovers).take(10) {
        eprintln!("  {}", p.display());
    }
    for m in panics.messages().iter().take(5) {
        eprintln!("panic: {m}");
    }
    for r in runs.iter().filter(|r| r.overdue).take(5) {
        eprintln!("overdue: job {} ({})", r.index, r.kind.name());
    }
    // No token or password anywhere.
    let mut secrets = tokens.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let token_count = secrets.len();
    secrets.push(password);
    let mut messages: Vec<String> = runs.iter().flat_map(|r| r.texts.clone()).collect();
    messages.extend(panics.messages());
    let log_dir = log_path.parent().unwrap_or(Path::new("."));
    let scan = files::scan_secrets(&secrets, &[log_dir], &messages);
    eprintln!(
        "secrets: {token_count} tokens and the password looked for in {} files ({:.1} MB: the log, job files, outputs) and {} messages: {} hits{}",
        scan.files,
        scan.bytes as f64 / 1e6,
        scan.messages,
        scan.hits.len(),
        if scan.hits.is_empty() {
            String::new()
        } else {
            format!(" ({})", scan.hits.join(", "))
        }
    );
    eprintln!("soak: {:.1} s", elapsed.as_secs_f64());
    println!("{}", tally.line());
    Ok(tally.clean() && scan.hits.is_empty() && token_count > 0)
}

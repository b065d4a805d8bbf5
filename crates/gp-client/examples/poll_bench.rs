//! Polling benchmark (run by `cargo xtask bench poll`): `Wait` jobs of 0.2–30 s on
//! the embedded server; for each, how long after the job finished `wait()` returned
//! and how many status requests it made, next to a fixed 0.2 s polling loop.
//! Target: latency at most max(100 ms, 15% of the run time), far fewer requests.
#![allow(clippy::print_stdout)] // reason: a benchmark prints its table

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use gp_client::{Client, Params, PollPolicy};
use gp_model::GpValue;
use gp_transport::{HttpTransport, Transport};

/// Counts job-status requests.
#[derive(Debug)]
struct Counting {
    inner: HttpTransport,
    status: AtomicUsize,
}

#[async_trait]
impl Transport for Counting {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, gp_transport::Error> {
        let p = req.uri().path();
        if p.contains("/jobs/") && !p.contains("/results/") {
            self.status.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.send(req).await
    }
}

async fn one(
    tool: &gp_client::Tool,
    counter: &Counting,
    seconds: f64,
    fixed: bool,
) -> anyhow::Result<(f64, usize)> {
    counter.status.store(0, Ordering::SeqCst);
    let t0 = Instant::now();
    let r = tool
        .run(Params::new().set("Seconds", seconds.to_string()))
        .await?;
    if fixed {
        loop {
            if r.refresh().await?.is_terminal() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    } else {
        r.wait_with(PollPolicy::default()).await?;
    }
    let total = t0.elapsed().as_secs_f64();
    let requests = counter.status.load(Ordering::SeqCst);
    let GpValue::Double(ran) = r.output("Elapsed").await? else {
        anyhow::bail!("no Elapsed")
    };
    Ok(((total - ran).max(0.0), requests))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = gp_server::Server::start(gp_server::ServerConfig {
        workers: 4,
        ..Default::default()
    })
    .await?;
    let counter = Arc::new(Counting {
        inner: HttpTransport::new(Default::default())?,
        status: AtomicUsize::new(0),
    });
    let client = Client::new(counter.clone());
    let tb = client
        .import(&server.url("/arcgis/rest/services/GP/Utilities/GPServer"))
        .await?;
    let tool = tb.tool("Wait")?;
    println!(
        "| job run time | gp-client latency | bound max(100 ms, 15%) | status requests | fixed 0.2 s loop: latency | requests | request ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    for seconds in [0.2, 1.0, 3.0, 10.0, 30.0] {
        let (lat, req) = one(tool, &counter, seconds, false).await?;
        let (flat, freq) = one(tool, &counter, seconds, true).await?;
        let bound = (0.1f64).max(0.15 * seconds);
        println!(
            "| {seconds} s | {:.0} ms | {:.0} ms{} | {req} | {:.0} ms | {freq} | {:.2}x |",
            lat * 1000.0,
            bound * 1000.0,
            if lat <= bound { "" } else { " (over)" },
            flat * 1000.0,
            freq as f64 / req.max(1) as f64
        );
    }
    server.shutdown().await;
    Ok(())
}

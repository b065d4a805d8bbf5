//! Warm round trips (run by `cargo xtask bench roundtrip`): one client, toolboxes
//! imported once, then the median of RUNS calls of each: a synchronous
//! `BufferPoints` of 100 points with its output decoded, an asynchronous one
//! (submit, wait, output decoded), and a `Wait` job of 0.2 s with its output.
//! Usage: `roundtrip_bench SERVICES_URL CA_CERT_PEM RUNS POINTS_JSON`; prints JSON.
#![allow(clippy::print_stdout)] // reason: a benchmark prints its results

use std::time::Instant;

use anyhow::{Context, bail};
use gp_client::{Client, Params};
use gp_model::GpValue;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, cert, runs, points] = args.as_slice() else {
        bail!("usage: roundtrip_bench SERVICES_URL CA_CERT_PEM RUNS POINTS_JSON");
    };
    let runs: usize = runs.parse().context("RUNS")?;
    let points = std::fs::read_to_string(points).context("POINTS_JSON")?;
    let client = Client::builder().ca_cert_file(cert)?.build()?;
    let sync_tb = client
        .import(&format!("{url}/GP/BufferSync/GPServer"))
        .await?;
    let async_tb = client
        .import(&format!("{url}/GP/BufferByVal/GPServer"))
        .await?;
    let util = client
        .import(&format!("{url}/GP/Utilities/GPServer"))
        .await?;
    let buffer = |sync: bool| {
        let tool = if sync {
            sync_tb.tool("BufferPoints")
        } else {
            async_tb.tool("BufferPoints")
        };
        let points = points.clone();
        async move {
            let tool = tool?;
            let r = tool
                .run(
                    Params::new()
                        .set("Input_Features", points)
                        .set("Distance", "100 meters"),
                )
                .await?;
            r.wait().await?;
            let GpValue::FeatureSet(fs) = r.output("Output_Polygons").await? else {
                bail!("no feature set");
            };
            anyhow::ensure!(fs.features.len() == 100, "{} polygons", fs.features.len());
            Ok(())
        }
    };
    let (mut sync, mut asynch, mut wait) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        buffer(true).await?;
        sync.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        buffer(false).await?;
        asynch.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let r = util
            .tool("Wait")?
            .run(Params::new().set("Seconds", "0.2"))
            .await?;
        r.wait().await?;
        r.output("Elapsed").await?;
        wait.push(t.elapsed().as_secs_f64());
    }
    println!(
        "{}",
        serde_json::json!({
            "sync_buffer_s": median(sync),
            "async_buffer_s": median(asynch),
            "wait_0_2_s": median(wait),
        })
    );
    Ok(())
}

//! A GP service on loopback whose one finished job has one feature output, answered
//! from a file as it is: for benchmarking clients on the output path alone
//! (`cargo xtask bench outputs`), without a server's own cost in the figures.
//!
//! `serve_gp_output RESULT.json` serves `…/arcgis/rest/services/Bench/GPServer` with
//! task `Echo` (output `Out`, a feature set), job `j1` (succeeded), and
//! `…/jobs/j1/results/Out` = the bytes of RESULT.json (a GP result parameter
//! `{"paramName", "dataType", "value"}`). Prints `{"job_url": …}` on its first line
//! and serves until killed.

#![allow(clippy::print_stdout)] // reason: the first line is the protocol with the caller

use gp_transport::testing::{Reply, ScriptedServer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: serve_gp_output RESULT.json")?;
    let body = std::fs::read(&path)?;
    let server = ScriptedServer::start(move |r| {
        let p = r.path.as_str();
        if p.ends_with("/Bench/GPServer") {
            Reply::json(
                r#"{"currentVersion": 11.3, "tasks": ["Echo"], "executionType": "esriExecutionTypeAsynchronous", "resultMapServerName": "", "maximumRecords": 2000000}"#,
            )
        } else if p.ends_with("/Bench/GPServer/Echo") {
            Reply::json(
                r#"{"name": "Echo", "executionType": "esriExecutionTypeAsynchronous", "parameters": [{"name": "Out", "dataType": "GPFeatureRecordSetLayer", "direction": "esriGPParameterDirectionOutput", "parameterType": "esriGPParameterTypeRequired"}]}"#,
            )
        } else if p.ends_with("/Echo/jobs/j1") {
            Reply::json(
                r#"{"jobId": "j1", "jobStatus": "esriJobSucceeded", "results": {"Out": {"paramUrl": "results/Out"}}, "messages": []}"#,
            )
        } else if p.ends_with("/Echo/jobs/j1/results/Out") {
            Reply::with(200, "application/json", body.clone())
        } else {
            Reply::with(
                404,
                "application/json",
                r#"{"error": {"code": 404, "message": "not found"}}"#,
            )
        }
    })
    .await?;
    let job = server.url("/arcgis/rest/services/Bench/GPServer/Echo/jobs/j1");
    println!("{}", serde_json::json!({ "job_url": job }));
    use std::io::Write;
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}

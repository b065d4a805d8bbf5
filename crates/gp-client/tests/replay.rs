//! Recorded real-server answers (the LANDFIRE job in gp-model's fixtures) replayed
//! through gp-transport's replay backend, driven by the client as a user would.
//! The GPServer and task metadata of that service were not recorded; the two
//! metadata lines below are written from its documented parameters and marked so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gp_client::*;
use gp_model::{GpValue, JobStatus};

const SVC: &str = "https://lfps.usgs.gov/arcgis/rest/services/LandfireProductService/GPServer";

fn fixture(name: &str) -> String {
    let p = format!(
        "{}/../gp-model/tests/fixtures/arcgis-rest/landfire-python/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn line(method: &str, url: &str, params: &[(&str, &str)], body: &str) -> String {
    let params: BTreeMap<&str, &str> = params.iter().copied().collect();
    serde_json::json!({"method": method, "url": url, "params": params, "status": 200, "content_type": "application/json", "body": body}).to_string()
}

#[tokio::test]
async fn the_landfire_job_replays_through_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let task = format!("{SVC}/LandfireProductService");
    let job = format!("{task}/jobs/j2c9bd85a11324adb8b763747f2eafebb");
    // Written from the service's documented parameters (not recorded):
    let svc_meta = r#"{"currentVersion": 10.81, "tasks": ["LandfireProductService"], "executionType": "esriExecutionTypeAsynchronous", "resultMapServerName": "", "maximumRecords": 1000, "capabilities": ""}"#;
    let task_meta = r#"{"name": "LandfireProductService", "executionType": "esriExecutionTypeAsynchronous", "parameters": [
        {"name": "Layer_List", "dataType": "GPString", "direction": "esriGPParameterDirectionInput", "parameterType": "esriGPParameterTypeRequired"},
        {"name": "Area_of_Interest", "dataType": "GPString", "direction": "esriGPParameterDirectionInput", "parameterType": "esriGPParameterTypeRequired"},
        {"name": "Output_Projection", "dataType": "GPString", "direction": "esriGPParameterDirectionInput", "parameterType": "esriGPParameterTypeOptional"},
        {"name": "Output_File", "dataType": "GPDataFile", "direction": "esriGPParameterDirectionOutput", "parameterType": "esriGPParameterTypeRequired"}]}"#;
    let rec = [
        line("GET", SVC, &[("f", "json")], svc_meta),
        line("GET", &task, &[("f", "json")], task_meta),
        // Recorded from the real server:
        line(
            "POST",
            &format!("{task}/submitJob"),
            &[
                ("f", "json"),
                ("Layer_List", "ENV;ASP2020"),
                ("Area_of_Interest", "-107.7 46.6 -106.7 47.1"),
            ],
            &fixture("test_landfire.submitJob.json"),
        ),
        line(
            "GET",
            &job,
            &[("f", "json"), ("returnMessages", "true")],
            &fixture("test_landfire.jobStatus.esriJobSucceeded.json"),
        ),
        line(
            "GET",
            &format!("{job}/results/Output_File"),
            &[("f", "json"), ("returnType", "data")],
            &fixture("test_landfire.results.Output_File.json"),
        ),
    ];
    let path = dir.path().join("landfire.jsonl");
    std::fs::write(&path, rec.join("\n")).unwrap();
    let replay = gp_transport::ReplayTransport::from_file(&path).unwrap();
    let client = Client::new(Arc::new(replay));
    let tb = client.import(SVC).await.unwrap();
    let tool = tb.tool("landfire_product_service").unwrap();
    let r = tool
        .run(
            Params::new()
                .set("Layer_List", "ENV;ASP2020")
                .set("Area_of_Interest", "-107.7 46.6 -106.7 47.1"),
        )
        .await
        .unwrap();
    assert_eq!(r.result_id(), Some("j2c9bd85a11324adb8b763747f2eafebb"));
    let st = r
        .wait_with(PollPolicy {
            min: Duration::from_millis(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(st, JobStatus::Succeeded);
    let msgs = r.messages();
    assert_eq!(msgs.len(), 21);
    assert!(msgs.last().unwrap().description.starts_with("Succeeded at"));
    let GpValue::DataRef(d) = r.output("Output_File").await.unwrap() else {
        panic!()
    };
    assert!(
        d.url
            .unwrap()
            .ends_with("/scratch/j2c9bd85a11324adb8b763747f2eafebb.zip")
    );
    // A request that was not recorded is a clear error.
    let e = r.input("Layer_List").await.unwrap_err();
    assert!(e.to_string().contains("no recorded response"), "{e}");
}

//! Seed script 1, line for line: import the toolbox, get the input FeatureSet
//! (GetParameterValue), load local points into it, run BufferPoints with "5 feet",
//! follow the job, and save the output FeatureSet into a local geodatabase
//! (GeoPackage). `cargo run -p gp-client --example buffer_points -- OUT_DIR`
#![allow(clippy::print_stdout)] // reason: an example reports what it does

mod common;

use gp_client::{Client, Params};
use gp_model::GpValue;
use gp_transport::TransportExt;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (root, _server) = common::server().await?;
    let out = common::out_dir()?;
    let client = Client::http()?;
    // arcpy.ImportToolbox("http://host/arcgis/services;GP/BufferByVal")
    let tb = client
        .import(&format!("{root}/services;GP/BufferByVal"))
        .await?;
    let tool = tb.tool("BufferPoints")?;
    // inFeatures = arcpy.GetParameterValue("BufferPoints", 0)
    let Some(GpValue::FeatureSet(schema)) = tool.parameter_value(0)? else {
        anyhow::bail!("BufferPoints' first parameter has no FeatureSet default");
    };
    // The local points (the server's sample Shapefile, downloaded here).
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        let r = client
            .transport()
            .get(
                &format!("{root}/rest/directories/samples/naturalearth_cities.{ext}"),
                &[],
            )
            .await?;
        std::fs::write(out.join(format!("towers.{ext}")), r.body())?;
    }
    // inFeatures.load("towers.shp")
    let features = gp_features::load_into(out.join("towers.shp"), &schema)?;
    println!(
        "loaded {} points into the schema of Input_Features",
        features.features.len()
    );
    // result = arcpy.BufferPoints_mytools(inFeatures, "5 feet")
    let result = tool
        .run(
            Params::new()
                .value("Input_Features", GpValue::FeatureSet(features))
                .set("Distance", "5 feet"),
        )
        .await?;
    println!("job {}", result.result_id().unwrap_or("-"));
    // while result.status < 4: time.sleep(0.2)
    let status = result.wait().await?;
    println!("status: {status}");
    // result.getOutput(0).save("base.gdb/towers_buffer")
    let GpValue::FeatureSet(polygons) = result.output(0).await? else {
        anyhow::bail!("Output_Polygons is not a FeatureSet");
    };
    let target = out.join("base.gdb/towers_buffer");
    gp_features::save(&polygons, &target)?;
    println!(
        "wrote {} polygons to {}",
        polygons.features.len(),
        target.display()
    );
    Ok(())
}

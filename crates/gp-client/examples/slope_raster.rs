//! Seed script 2: set the scratch workspace, run RunSlope on a DEM, and get the TIFF
//! written into the scratch folder. `cargo run -p gp-client --example slope_raster -- OUT_DIR`
#![allow(clippy::print_stdout)] // reason: an example reports what it does

mod common;

use gp_client::{Client, Params};
use gp_fs::ScratchWorkspace;
use gp_raster::RasterInfo;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (root, _server) = common::server().await?;
    let out = common::out_dir()?;
    // arcpy.env.scratchWorkspace = "rasteroutput"
    let scratch = ScratchWorkspace::at(out.join("rasteroutput"));
    let tb = Client::http()?
        .import(&format!("{root}/rest/services/SlopeByVal/GPServer"))
        .await?;
    // result = arcpy.RunSlope_slope("dem")
    let result = tb
        .tool("RunSlope")?
        .run(Params::new().set("Input_DEM", "sample_dem"))
        .await?;
    result.wait().await?;
    // The raster output lands in the scratch workspace.
    let tif = result.download("Output_Slope", &scratch).await?;
    let info = RasterInfo::read(&tif, true, &Default::default())?;
    println!(
        "wrote {} ({}x{})",
        tif.display(),
        info.tiff.width,
        info.tiff.height
    );
    if let Some(Some(s)) = info.stats.as_ref().and_then(|s| s.first()) {
        println!(
            "slope in degrees: min {:.2}, max {:.2}, mean {:.2}",
            s.min, s.max, s.mean
        );
    }
    Ok(())
}

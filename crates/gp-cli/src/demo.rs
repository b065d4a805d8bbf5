//! `gp demo`: the seed's three workflows through the real HTTP client against an
//! embedded server on a free loopback port.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use gp_client::{Client, MapImageOptions, Params};
use gp_fs::ScratchWorkspace;
use gp_model::GpValue;
use gp_raster::RasterInfo;
use gp_transport::TransportExt;

/// The buffer distance of the demo: large enough to see on a world map image.
const DISTANCE: &str = "100 kilometers";

/// Runs the demo into `out`.
pub(crate) async fn run(out: &Path, quiet: bool) -> anyhow::Result<()> {
    let t0 = Instant::now();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let server = gp_server::Server::start(gp_server::ServerConfig::default()).await?;
    let root = server.url("/arcgis");
    println!(
        "gp demo: embedded server at {}",
        server.url("/arcgis/rest/services")
    );
    let client = Client::http()?;
    let mut written = Vec::new();

    println!("\n1. Buffer points and save the result locally");
    let tb = client
        .import(&format!("{root}/services;GP/BufferByVal"))
        .await?;
    let tool = tb.tool("BufferPoints")?;
    println!(
        "   imported GP/BufferByVal: BufferPoints is {}",
        if tool.is_synchronous() {
            "synchronous"
        } else {
            "asynchronous"
        }
    );
    let Some(GpValue::FeatureSet(schema)) = tool.parameter_value(0)? else {
        anyhow::bail!("BufferPoints' first parameter has no default FeatureSet");
    };
    let fields: Vec<&str> = schema
        .fields
        .iter()
        .flatten()
        .map(|f| f.name.as_str())
        .collect();
    println!(
        "   default FeatureSet of Input_Features: {} with fields {}",
        schema
            .geometry_type
            .as_ref()
            .map(|g| g.to_string())
            .unwrap_or_default(),
        fields.join(", ")
    );
    let samples = out.join("samples");
    std::fs::create_dir_all(&samples)?;
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        let r = client
            .transport()
            .get(
                &format!("{root}/rest/directories/samples/naturalearth_cities.{ext}"),
                &[],
            )
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "downloading the sample points failed (HTTP {})",
            r.status()
        );
        std::fs::write(samples.join(format!("towers.{ext}")), r.body())?;
    }
    let towers = gp_features::load_into(samples.join("towers.shp"), &schema)?;
    println!(
        "   loaded {} sample points (Natural Earth populated places) into it",
        towers.features.len()
    );
    let result = tool
        .run(
            Params::new()
                .value("Input_Features", GpValue::FeatureSet(towers))
                .set("Distance", DISTANCE),
        )
        .await?;
    println!(
        "   submitted job {} with Distance=\"{DISTANCE}\" (visible at world scale)",
        result.result_id().unwrap_or("-")
    );
    let status = result.wait().await?;
    println!("   {status}");
    if !quiet {
        for m in result.messages() {
            println!("     {}", m.description);
        }
    }
    let GpValue::FeatureSet(polygons) = result.output("Output_Polygons").await? else {
        anyhow::bail!("Output_Polygons is not a FeatureSet");
    };
    // As the seed saves it, into a File Geodatabase, and into a GeoPackage too.
    for container in ["base.gdb", "base.gpkg"] {
        let target = out.join(container).join("towers_buffer");
        gp_features::save_with(
            &polygons,
            &target,
            &gp_features::SaveOptions {
                overwrite: true,
                ..Default::default()
            },
        )?;
        println!(
            "   saved {} polygons to {}",
            polygons.features.len(),
            target.display()
        );
        written.push(target.display().to_string());
    }

    println!("\n2. Slope raster into a scratch workspace");
    let scratch = ScratchWorkspace::at(out.join("rasteroutput"));
    let slope = client
        .import(&format!("{root}/rest/services/SlopeByVal/GPServer"))
        .await?;
    let r = slope
        .tool("RunSlope")?
        .run(Params::new().set("Input_DEM", "sample_dem"))
        .await?;
    println!(
        "   submitted job {} on the bundled DEM (sample_dem)",
        r.result_id().unwrap_or("-")
    );
    r.wait().await?;
    let tif = r.download("Output_Slope", &scratch).await?;
    let info = RasterInfo::read(&tif, true, &Default::default())?;
    println!(
        "   wrote {} ({}x{} float32)",
        tif.display(),
        info.tiff.width,
        info.tiff.height
    );
    if let Some(Some(s)) = info.stats.as_ref().and_then(|s| s.first()) {
        println!(
            "   slope in degrees: min {:.2}, max {:.2}, mean {:.2}, stddev {:.2}",
            s.min, s.max, s.mean, s.stddev
        );
    }
    written.push(tif.display().to_string());

    println!("\n3. Map image of the buffer result");
    let opts = MapImageOptions {
        size: (800, 500),
        format: "jpg".into(),
        ..Default::default()
    };
    let url = result.map_image_url(0, &opts).await?;
    println!("   map image URL: {url}");
    let img = result.map_image(0, &opts).await?;
    let jpg = img.save(out.join("road_buffer.jpg"), true)?;
    println!(
        "   downloaded {} ({}x{})",
        jpg.display(),
        img.width(),
        img.height()
    );
    written.push(jpg.display().to_string());

    server.shutdown().await;
    println!(
        "\nDone in {:.1} s. Files written:",
        t0.elapsed().as_secs_f64()
    );
    for w in &written {
        println!("  {w}");
    }
    Ok(())
}

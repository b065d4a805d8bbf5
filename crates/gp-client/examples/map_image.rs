//! Seed script 3: the map image of a job's result from the service's result map
//! service (arcpy `getMapImageURL`), downloaded.
//! `cargo run -p gp-client --example map_image -- OUT_DIR`
#![allow(clippy::print_stdout)] // reason: an example reports what it does

mod common;

use gp_client::{Client, MapImageOptions, Params};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (root, _server) = common::server().await?;
    let out = common::out_dir()?;
    let tb = Client::http()?
        .import(&format!("{root}/rest/services/GP/BufferByVal/GPServer"))
        .await?;
    let points = r#"{"features": [
        {"geometry": {"x": 10.0, "y": 50.0}, "attributes": {"Name": "tower 1"}},
        {"geometry": {"x": 10.02, "y": 50.01}, "attributes": {"Name": "tower 2"}}]}"#;
    // A distance that makes a visible result: 1 kilometre.
    let result = tb
        .tool("BufferPoints")?
        .run(
            Params::new()
                .set("Input_Features", points)
                .set("Distance", "1 kilometers"),
        )
        .await?;
    result.wait().await?;
    let opts = MapImageOptions {
        size: (600, 400),
        format: "jpg".into(),
        ..Default::default()
    };
    // mapURL = result.getMapImageURL(0)
    let url = result.map_image_url(0, &opts).await?;
    println!("map image: {url}");
    let image = result.map_image(0, &opts).await?;
    let path = image.save(out.join("road_buffer.jpg"), true)?;
    println!(
        "wrote {} ({}x{})",
        path.display(),
        image.width(),
        image.height()
    );
    Ok(())
}

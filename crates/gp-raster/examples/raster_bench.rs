//! Helper of `cargo xtask bench raster`.
//!
//! - `raster_bench generate PATH SIZE`: writes a SIZE x SIZE float32 DEM-like GeoTIFF,
//!   tiled 256x256, Deflate with the floating-point predictor (deterministic).
//! - `raster_bench decode PATH OUT`: decodes PATH and writes the band-sequential
//!   samples to OUT, the same work as `gdal_translate -of ENVI PATH OUT`.
//! - `raster_bench stats PATH`: band statistics streamed over the tiles, printed as
//!   `min max mean stddev` (the work of `gdalinfo -stats`).

#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: a command-line helper

use std::io::Write;

use gp_raster::{
    DecodeLimits, GeoReference, Raster, RasterData, WriteOptions, read_tiff, tiff_stats,
    write_geotiff,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("generate") if args.len() == 4 => {
            let size: u32 = args[3].parse()?;
            let mut seed = 0x2545_F491_4F6C_DD1Du64;
            let data: Vec<f32> = (0..u64::from(size) * u64::from(size))
                .map(|i| {
                    let (x, y) = ((i % u64::from(size)) as f32, (i / u64::from(size)) as f32);
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let noise = (seed % 1000) as f32 / 1000.0;
                    1500.0 + 300.0 * (x / 700.0).sin() * (y / 500.0).cos() + 0.02 * x - 0.01 * y
                        + noise
                })
                .collect();
            let mut r = Raster::new(size, size, 1, RasterData::F32(data))?;
            r.georef = GeoReference::north_up(400_000.0, 4_500_000.0, 10.0, 32611);
            r.nodata = Some(-9999.0);
            write_geotiff(&args[2], &r, &WriteOptions::default())?;
            Ok(())
        }
        Some("decode") if args.len() == 4 => {
            let r = read_tiff(&args[2], &DecodeLimits::default())?;
            let mut f = std::io::BufWriter::new(std::fs::File::create(&args[3])?);
            f.write_all(r.data.as_bytes())?;
            f.flush()?;
            Ok(())
        }
        Some("stats") if args.len() == 3 => {
            for s in tiff_stats(&args[2], &DecodeLimits::default())?
                .into_iter()
                .flatten()
            {
                println!("{} {} {} {}", s.min, s.max, s.mean, s.stddev);
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: raster_bench generate PATH SIZE | decode PATH OUT | stats PATH");
            std::process::exit(2);
        }
    }
}

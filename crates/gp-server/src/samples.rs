//! Built-in sample data, written into the data dir at start.
//!
//! `sample_dem`: a 256 × 256 float32 DEM with 30 m cells in WGS 84 / UTM zone 33N
//! (EPSG:32633), generated deterministically (no real DEM could be bundled from the
//! package registries this project may use): an inclined plane rising 2% to the
//! east, five Gaussian hills, a sinusoidal ridge pattern, and a 16 × 16 nodata
//! block (-9999) in the south-west corner so nodata handling is exercised. The
//! generator below is the whole definition; the same code always writes the same
//! values.
//!
//! `naturalearth_cities.*`: the 243 Natural Earth populated places (public domain) as
//! a Shapefile, embedded from `data/naturalearth_cities/` (origin in `data/SOURCES.md`)
//! and served under `/arcgis/rest/directories/samples/`.
//!
//! `naturalearth_lowres.*`: the 177 Natural Earth 1:110m countries (public domain), the
//! base layer of result map images, embedded from `data/naturalearth_lowres/`.

use std::path::{Path, PathBuf};

use gp_raster::{GeoReference, Raster, RasterData, WriteOptions, write_geotiff};

/// Name of the sample DEM as accepted by `Input_DEM`.
pub(crate) const SAMPLE_DEM: &str = "sample_dem";
/// File name of the sample DEM.
pub(crate) const SAMPLE_DEM_FILE: &str = "sample_dem.tif";
/// Size of the sample DEM.
pub(crate) const DEM_SIZE: u32 = 256;
/// Cell size of the sample DEM in metres.
pub(crate) const DEM_CELL: f64 = 30.0;
/// Top-left corner of the sample DEM (UTM 33N).
pub(crate) const DEM_ORIGIN: (f64, f64) = (500_000.0, 5_200_000.0);
/// Nodata value of the sample DEM.
pub(crate) const DEM_NODATA: f64 = -9999.0;

/// The elevation at cell (col, row) of the sample DEM.
pub(crate) fn dem_value(col: u32, row: u32) -> f32 {
    if col < 16 && row >= DEM_SIZE - 16 {
        return DEM_NODATA as f32;
    }
    let x = col as f64 * DEM_CELL;
    let y = row as f64 * DEM_CELL;
    let hills = [
        (1500.0, 2000.0, 900.0, 420.0),
        (5200.0, 1800.0, 1200.0, 610.0),
        (3000.0, 5000.0, 700.0, 300.0),
        (6500.0, 6200.0, 1500.0, 520.0),
        (4200.0, 3300.0, 500.0, 180.0),
    ];
    let mut z = 400.0 + 0.02 * x;
    for (cx, cy, s, hgt) in hills {
        let d2 = (x - cx).powi(2) + (y - cy).powi(2);
        z += hgt * (-d2 / (2.0 * s * s)).exp();
    }
    z += 12.0 * (x / 370.0).sin() * (y / 510.0).cos();
    z as f32
}

/// The embedded Natural Earth cities Shapefile: (file name, bytes).
const CITIES: [(&str, &[u8]); 5] = [
    (
        "naturalearth_cities.shp",
        include_bytes!("../data/naturalearth_cities/naturalearth_cities.shp"),
    ),
    (
        "naturalearth_cities.shx",
        include_bytes!("../data/naturalearth_cities/naturalearth_cities.shx"),
    ),
    (
        "naturalearth_cities.dbf",
        include_bytes!("../data/naturalearth_cities/naturalearth_cities.dbf"),
    ),
    (
        "naturalearth_cities.prj",
        include_bytes!("../data/naturalearth_cities/naturalearth_cities.prj"),
    ),
    (
        "naturalearth_cities.cpg",
        include_bytes!("../data/naturalearth_cities/naturalearth_cities.cpg"),
    ),
];

/// The embedded Natural Earth countries Shapefile: (file name, bytes).
const COUNTRIES: [(&str, &[u8]); 5] = [
    (
        "naturalearth_lowres.shp",
        include_bytes!("../data/naturalearth_lowres/naturalearth_lowres.shp"),
    ),
    (
        "naturalearth_lowres.shx",
        include_bytes!("../data/naturalearth_lowres/naturalearth_lowres.shx"),
    ),
    (
        "naturalearth_lowres.dbf",
        include_bytes!("../data/naturalearth_lowres/naturalearth_lowres.dbf"),
    ),
    (
        "naturalearth_lowres.prj",
        include_bytes!("../data/naturalearth_lowres/naturalearth_lowres.prj"),
    ),
    (
        "naturalearth_lowres.cpg",
        include_bytes!("../data/naturalearth_lowres/naturalearth_lowres.cpg"),
    ),
];

/// File name of the countries written among the samples.
pub(crate) const COUNTRIES_FILE: &str = "naturalearth_lowres.shp";

/// The base layer of map images: the Natural Earth countries in WGS 84, latitudes
/// kept within Web Mercator's ±85.05° so every map projection can draw them.
pub(crate) fn base_layer(samples: &Path) -> Result<gp_model::FeatureSet, String> {
    let path = samples.join(COUNTRIES_FILE);
    let mut fs = gp_features::load(&path).map_err(|e| format!("the base layer: {e}"))?;
    for f in &mut fs.features {
        if let Some(gp_model::Geometry::Polygon(p)) = &mut f.geometry {
            for c in p.rings.iter_mut().flatten() {
                c.y = c.y.clamp(-85.05, 85.05);
            }
        }
    }
    Ok(fs)
}

/// Writes the sample files into `dir` (once; existing files are kept).
pub(crate) fn write_samples(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for (name, bytes) in CITIES.into_iter().chain(COUNTRIES) {
        let p = dir.join(name);
        if !p.exists() {
            // Another server starting on the same folder may have written it: fine.
            match gp_fs::write_atomic(&p, bytes, gp_fs::Options::new(false, gp_fs::Flush::Data)) {
                Ok(_) | Err(gp_fs::Error::Exists { .. }) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }
    let path = dir.join(SAMPLE_DEM_FILE);
    if path.exists() {
        return Ok(path);
    }
    let data: Vec<f32> = (0..DEM_SIZE)
        .flat_map(|row| (0..DEM_SIZE).map(move |col| dem_value(col, row)))
        .collect();
    let mut r =
        Raster::new(DEM_SIZE, DEM_SIZE, 1, RasterData::F32(data)).map_err(|e| e.to_string())?;
    r.georef = GeoReference::north_up(DEM_ORIGIN.0, DEM_ORIGIN.1, DEM_CELL, 32633);
    r.nodata = Some(DEM_NODATA);
    write_geotiff(&path, &r, &WriteOptions::default()).map_err(|e| e.to_string())?;
    Ok(path)
}

/// Publishes the sample layers as hosted feature layers:
/// `Hosted/naturalearth_cities/FeatureServer/0` (243 points) and
/// `Hosted/naturalearth_countries/FeatureServer/0` (177 polygons).
pub(crate) fn publish_samples(samples: &Path, hosted: &crate::hosted::Hosted) {
    for (name, file) in [
        ("naturalearth_cities", "naturalearth_cities.shp"),
        ("naturalearth_countries", COUNTRIES_FILE),
    ] {
        match gp_features::load(samples.join(file)) {
            Ok(fs) => hosted.publish_sample(name, fs),
            Err(e) => tracing::warn!("the sample layer {name} is not published: {e}"),
        }
    }
}

//! `RunSlope`: slope of a DEM by Horn's method (the method of ArcGIS's Slope tool).
//!
//! For each cell the 3×3 neighbourhood gives `dz/dx = ((c + 2f + i) − (a + 2d + g)) / (8·Δx)`
//! and `dz/dy = ((g + 2h + i) − (a + 2b + c)) / (8·Δy)`; a neighbour that is outside
//! the raster or nodata takes the centre cell's value (as ArcGIS does); a nodata
//! centre gives nodata. Geographic DEMs convert the cell size in degrees to metres
//! at each row's latitude on the WGS 84 ellipsoid.

use std::path::PathBuf;

use gp_model::GpValue;
use gp_raster::{
    DecodeLimits, GeoReference, ModelType, Raster, RasterData, WriteOptions, read_tiff,
    read_tiff_info, write_geotiff,
};

use super::{BadParam, Inputs, Output, Resolver, ToolCtx, ToolError, buffer::kind_name, required};

/// The nodata value written when the input has none.
pub(crate) const OUT_NODATA: f64 = -3.402_823_466e38;

/// Slope units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measurement {
    /// Degrees, 0–90.
    Degree,
    /// Percent rise, 100·rise/run.
    PercentRise,
}

/// A checked slope request.
#[derive(Debug)]
pub(crate) struct SlopeJob {
    path: PathBuf,
    measurement: Measurement,
    z_factor: f64,
}

/// Checks the inputs of `RunSlope`.
pub(crate) fn prepare(inputs: &Inputs, resolver: &dyn Resolver) -> Result<SlopeJob, BadParam> {
    const DEM: &str = "Input_DEM";
    let v = required(inputs, DEM)?;
    let path = match v {
        GpValue::DataRef(_) | GpValue::String(_) => resolver.resolve(DEM, v)?,
        other => {
            return Err(BadParam::new(
                DEM,
                format!(
                    "expected {{\"url\": ...}}, {{\"itemID\": ...}} or a sample name, got {}",
                    kind_name(other)
                ),
            ));
        }
    };
    let info = read_tiff_info(&path)
        .map_err(|e| BadParam::new(DEM, format!("not a readable GeoTIFF: {e}")))?;
    if let Some(gt) = info.georef.geotransform
        && (gt[2] != 0.0 || gt[4] != 0.0)
    {
        return Err(BadParam::new(DEM, "rotated rasters are not supported"));
    }
    let measurement = match inputs.get("Output_Measurement") {
        None | Some(GpValue::Null) => Measurement::Degree,
        Some(GpValue::String(s)) if s.eq_ignore_ascii_case("DEGREE") => Measurement::Degree,
        Some(GpValue::String(s)) if s.eq_ignore_ascii_case("PERCENT_RISE") => {
            Measurement::PercentRise
        }
        Some(other) => {
            return Err(BadParam::new(
                "Output_Measurement",
                format!(
                    "expected DEGREE or PERCENT_RISE, got {}",
                    other.to_form_text()
                ),
            ));
        }
    };
    let z_factor = match inputs.get("Z_Factor") {
        None | Some(GpValue::Null) => 1.0,
        Some(GpValue::Double(z)) => *z,
        Some(GpValue::Long(z)) => *z as f64,
        Some(other) => {
            return Err(BadParam::new(
                "Z_Factor",
                format!("expected a number, got {}", kind_name(other)),
            ));
        }
    };
    if !z_factor.is_finite() || z_factor <= 0.0 {
        return Err(BadParam::new(
            "Z_Factor",
            format!("must be a positive number, got {z_factor}"),
        ));
    }
    Ok(SlopeJob {
        path,
        measurement,
        z_factor,
    })
}

/// WGS 84 metres per degree of longitude and latitude at `lat` degrees.
pub(crate) fn meters_per_degree(lat: f64) -> (f64, f64) {
    const A: f64 = 6_378_137.0;
    const E2: f64 = 0.006_694_379_990_141_316;
    let phi = lat.to_radians();
    let s2 = 1.0 - E2 * phi.sin().powi(2);
    let lon = std::f64::consts::PI / 180.0 * A * phi.cos() / s2.sqrt();
    let lat_m = std::f64::consts::PI / 180.0 * A * (1.0 - E2) / s2.powf(1.5);
    (lon, lat_m)
}

/// An elevation grid: row-major values, size, nodata, and cell size (x, y) in
/// metres for each row.
pub(crate) struct Grid<'a> {
    pub(crate) z: &'a [f64],
    pub(crate) w: usize,
    pub(crate) h: usize,
    pub(crate) nodata: Option<f64>,
    pub(crate) cell: &'a dyn Fn(usize) -> (f64, f64),
}

/// How to compute and write the slope.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlopeOptions {
    pub(crate) z_factor: f64,
    pub(crate) measurement: Measurement,
    pub(crate) out_nodata: f64,
}

/// Slope of a grid; `check(row)` is called before each row (cancel points).
pub(crate) fn horn_slope(
    grid: &Grid<'_>,
    opts: SlopeOptions,
    check: &mut dyn FnMut(usize) -> Result<(), ToolError>,
) -> Result<Vec<f64>, ToolError> {
    let Grid {
        z,
        w,
        h,
        nodata,
        cell,
    } = *grid;
    let SlopeOptions {
        z_factor,
        measurement,
        out_nodata,
    } = opts;
    let is_nodata = |v: f64| v.is_nan() || nodata.is_some_and(|n| v == n);
    let mut out = vec![out_nodata; w * h];
    for row in 0..h {
        check(row)?;
        let (dx, dy) = cell(row);
        for col in 0..w {
            let center = z[row * w + col];
            if is_nodata(center) {
                continue;
            }
            let at = |dr: isize, dc: isize| -> f64 {
                let r = row as isize + dr;
                let c = col as isize + dc;
                if r < 0 || c < 0 || r >= h as isize || c >= w as isize {
                    return center;
                }
                let v = z[r as usize * w + c as usize];
                if is_nodata(v) { center } else { v }
            };
            let (a, b, c) = (at(-1, -1), at(-1, 0), at(-1, 1));
            let (d, f) = (at(0, -1), at(0, 1));
            let (g, hh, i) = (at(1, -1), at(1, 0), at(1, 1));
            let dzdx = ((c + 2.0 * f + i) - (a + 2.0 * d + g)) / (8.0 * dx) * z_factor;
            let dzdy = ((g + 2.0 * hh + i) - (a + 2.0 * b + c)) / (8.0 * dy) * z_factor;
            let rise = (dzdx * dzdx + dzdy * dzdy).sqrt();
            out[row * w + col] = match measurement {
                Measurement::Degree => rise.atan().to_degrees(),
                Measurement::PercentRise => rise * 100.0,
            };
        }
    }
    Ok(out)
}

fn is_geographic(g: &GeoReference) -> bool {
    match g.model_type {
        Some(ModelType::Geographic) => true,
        Some(_) => false,
        None => g.epsg.is_some_and(|e| (4000..5000).contains(&e)),
    }
}

/// Runs the slope.
pub(crate) fn run(job: SlopeJob, ctx: &ToolCtx) -> Result<Vec<(String, Output)>, ToolError> {
    if ctx.env.out_sr.is_some() || ctx.env.process_sr.is_some() || ctx.env.extent.is_some() {
        ctx.warn("RunSlope keeps the DEM's grid: outSR, processSR and the processing extent are not applied to rasters.");
    }
    ctx.progress(Some(0.0), "Reading the DEM");
    let dem = read_tiff(&job.path, &DecodeLimits::default())
        .map_err(|e| ToolError::Failed(format!("Input_DEM: {e}")))?;
    ctx.check()?;
    let w = dem.width as usize;
    let h = dem.height as usize;
    if dem.bands > 1 {
        ctx.warn(format!(
            "The DEM has {} bands; the slope is computed from band 1.",
            dem.bands
        ));
    }
    let z: Vec<f64> = (0..w * h)
        .map(|i| dem.data.get_f64(i).unwrap_or(f64::NAN))
        .collect();
    let gt = dem.georef.geotransform;
    let geographic = is_geographic(&dem.georef);
    let (px, py) = match gt {
        Some(t) => (t[1].abs(), t[5].abs()),
        None => {
            ctx.warn("The DEM has no georeferencing; a cell size of 1 is assumed.");
            (1.0, 1.0)
        }
    };
    let (y0, sy) = gt.map(|t| (t[3], t[5])).unwrap_or((0.0, -1.0));
    let cell = move |row: usize| -> (f64, f64) {
        if geographic {
            let lat = y0 + (row as f64 + 0.5) * sy;
            let (mx, my) = meters_per_degree(lat);
            (px * mx, py * my)
        } else {
            (px, py)
        }
    };
    if geographic {
        ctx.info("Geographic DEM: cell sizes are converted to metres by latitude (WGS 84).");
    }
    let out_nodata = dem
        .nodata
        .filter(|n| n.is_finite() && (*n as f32) as f64 == *n)
        .unwrap_or(OUT_NODATA);
    let mut check = |row: usize| -> Result<(), ToolError> {
        if row.is_multiple_of(64) {
            ctx.check()?;
            ctx.progress(
                Some(5.0 + 90.0 * row as f64 / h.max(1) as f64),
                format!("Computing slope, row {} of {h}", row + 1),
            );
        }
        Ok(())
    };
    let grid = Grid {
        z: &z,
        w,
        h,
        nodata: dem.nodata,
        cell: &cell,
    };
    let opts = SlopeOptions {
        z_factor: job.z_factor,
        measurement: job.measurement,
        out_nodata,
    };
    let slope = horn_slope(&grid, opts, &mut check)?;
    let data: Vec<f32> = slope.iter().map(|&v| v as f32).collect();
    let mut out = Raster::new(dem.width, dem.height, 1, RasterData::F32(data))
        .map_err(|e| ToolError::Failed(e.to_string()))?;
    out.georef = dem.georef.clone();
    out.nodata = Some(out_nodata);
    ctx.check()?;
    ctx.progress(Some(96.0), "Writing the slope raster");
    let name = "Output_Slope.tif";
    write_geotiff(ctx.scratch_path(name), &out, &WriteOptions::default())
        .map_err(|e| ToolError::Failed(format!("writing the slope raster: {e}")))?;
    if let Some(s) = out.stats(0) {
        ctx.info(format!(
            "Slope ({}): min {:.3}, max {:.3}, mean {:.3}.",
            match job.measurement {
                Measurement::Degree => "degrees",
                Measurement::PercentRise => "percent rise",
            },
            s.min,
            s.max,
            s.mean
        ));
    }
    Ok(vec![(
        "Output_Slope".to_string(),
        Output::File {
            name: name.to_string(),
            format: "tif".to_string(),
        },
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slope(
        z: &[f64],
        w: usize,
        h: usize,
        nodata: Option<f64>,
        cell: f64,
        z_factor: f64,
        measurement: Measurement,
    ) -> Vec<f64> {
        let grid = Grid {
            z,
            w,
            h,
            nodata,
            cell: &|_| (cell, cell),
        };
        let opts = SlopeOptions {
            z_factor,
            measurement,
            out_nodata: -1.0,
        };
        horn_slope(&grid, opts, &mut |_| Ok(())).unwrap()
    }

    #[test]
    fn inclined_plane_has_exact_slope() {
        // z = 0.5 * x (rise of 0.5 per metre eastwards), 10 m cells.
        let (w, h) = (7, 5);
        let z: Vec<f64> = (0..w * h).map(|i| 0.5 * ((i % w) as f64 * 10.0)).collect();
        let deg = slope(&z, w, h, None, 10.0, 1.0, Measurement::Degree);
        let want = 0.5f64.atan().to_degrees();
        // Interior cells (edges borrow the centre value, as ArcGIS does).
        for r in 1..h - 1 {
            for c in 1..w - 1 {
                assert!(
                    (deg[r * w + c] - want).abs() < 1e-12,
                    "{r},{c}: {}",
                    deg[r * w + c]
                );
            }
        }
        let pct = slope(&z, w, h, None, 10.0, 1.0, Measurement::PercentRise);
        assert!((pct[2 * w + 3] - 50.0).abs() < 1e-12);
        // Z factor scales the rise.
        let z2 = slope(&z, w, h, None, 10.0, 2.0, Measurement::PercentRise);
        assert!((z2[2 * w + 3] - 100.0).abs() < 1e-12);
    }

    #[test]
    fn nodata_centre_stays_nodata_and_neighbours_use_centre() {
        let mut z = vec![1.0; 9];
        z[4] = -9999.0;
        let out = slope(&z, 3, 3, Some(-9999.0), 1.0, 1.0, Measurement::Degree);
        assert_eq!(out[4], -1.0);
        // A flat surface with a nodata hole is still flat around it.
        assert_eq!(out[0], 0.0);
    }

    #[test]
    fn degrees_to_metres_by_latitude() {
        let (lon0, lat0) = meters_per_degree(0.0);
        assert!((lon0 - 111_319.49).abs() < 0.01, "{lon0}");
        assert!((lat0 - 110_574.27).abs() < 0.1, "{lat0}");
        let (lon60, _) = meters_per_degree(60.0);
        assert!((lon60 - 55_800.0).abs() < 20.0, "{lon60}");
    }
}

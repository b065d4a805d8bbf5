//! Spatial references and reprojection of Esri JSON geometries (proj4rs with the
//! EPSG definitions of crs-definitions).

use gp_model::geometry::{DEFAULT_DENSIFY_ANGLE, Geometry};
use gp_model::{Coord, FeatureSet, SpatialReference};
use proj4rs::Proj;

/// A spatial reference the server can compute with.
pub(crate) struct Crs {
    /// The EPSG code used for the definition (102100 is mapped to 3857).
    pub(crate) code: u16,
    proj: Proj,
}

impl std::fmt::Debug for Crs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EPSG:{}", self.code)
    }
}

impl Crs {
    /// The system for an Esri well-known id.
    pub(crate) fn from_wkid(wkid: i32) -> Result<Crs, String> {
        let code = match wkid {
            102100 | 102113 | 900913 => 3857,
            other => other,
        };
        let code = u16::try_from(code).map_err(|_| {
            format!("spatial reference {wkid} is not supported (EPSG codes up to 65535 are)")
        })?;
        let def = crs_definitions::from_code(code)
            .ok_or_else(|| format!("spatial reference {wkid} is not a known EPSG code"))?;
        let proj = Proj::from_proj_string(def.proj4)
            .map_err(|e| format!("spatial reference {wkid} cannot be used: {e}"))?;
        Ok(Crs { code, proj })
    }

    /// The system of an Esri JSON spatial reference (`wkid`/`latestWkid`; WKT is not supported).
    pub(crate) fn from_sr(sr: &SpatialReference) -> Result<Crs, String> {
        match sr.latest_wkid.or(sr.wkid) {
            Some(w) => Crs::from_wkid(w),
            None if sr.wkt.is_some() || sr.wkt2.is_some() => {
                Err("spatial references given as WKT are not supported; give a wkid".into())
            }
            None => Err("the spatial reference has no wkid".into()),
        }
    }

    /// True for geographic (longitude/latitude) systems.
    pub(crate) fn is_geographic(&self) -> bool {
        self.proj.is_latlong()
    }

    /// Metres per unit of a projected system (1 for degrees is meaningless: check
    /// [`Crs::is_geographic`] first).
    pub(crate) fn meters_per_unit(&self) -> f64 {
        self.proj.to_meter()
    }

    /// Transforms one coordinate (degrees for geographic systems).
    pub(crate) fn transform_xy(&self, to: &Crs, x: f64, y: f64) -> Result<(f64, f64), String> {
        let mut p = if self.is_geographic() {
            (x.to_radians(), y.to_radians(), 0.0)
        } else {
            (x, y, 0.0)
        };
        proj4rs::transform::transform(&self.proj, &to.proj, &mut p)
            .map_err(|e| format!("cannot project ({x}, {y}): {e}"))?;
        let (ox, oy) = if to.is_geographic() {
            (p.0.to_degrees(), p.1.to_degrees())
        } else {
            (p.0, p.1)
        };
        if ox.is_finite() && oy.is_finite() {
            Ok((ox, oy))
        } else {
            Err(format!("({x}, {y}) has no position in EPSG:{}", to.code))
        }
    }
}

fn map_coords(
    coords: &mut [Coord],
    f: &mut dyn FnMut(f64, f64) -> Result<(f64, f64), String>,
) -> Result<(), String> {
    for c in coords {
        let (x, y) = f(c.x, c.y)?;
        c.x = x;
        c.y = y;
    }
    Ok(())
}

/// Replaces true curves by densified vertices (projection does not keep arcs).
pub(crate) fn linearize(g: &mut Geometry) {
    match g {
        Geometry::Polyline(p) if p.curve_paths.is_some() => {
            p.paths = p.linear_paths(DEFAULT_DENSIFY_ANGLE).into_owned();
            p.curve_paths = None;
        }
        Geometry::Polygon(p) if p.curve_rings.is_some() => {
            p.rings = p.linear_rings(DEFAULT_DENSIFY_ANGLE).into_owned();
            p.curve_rings = None;
        }
        _ => {}
    }
}

/// Applies `f` to every vertex of `g` (curves are linearized first).
pub(crate) fn map_geometry(
    g: &mut Geometry,
    f: &mut dyn FnMut(f64, f64) -> Result<(f64, f64), String>,
) -> Result<(), String> {
    linearize(g);
    match g {
        Geometry::Point(p) => {
            if let Some(c) = &mut p.coord {
                map_coords(std::slice::from_mut(c), f)?;
            }
        }
        Geometry::Multipoint(m) => map_coords(&mut m.points, f)?,
        Geometry::Polyline(p) => {
            for path in &mut p.paths {
                map_coords(path, f)?;
            }
        }
        Geometry::Polygon(p) => {
            for ring in &mut p.rings {
                map_coords(ring, f)?;
            }
        }
        Geometry::Envelope(e) => {
            if let Some([a, b, c, d]) = e.bounds() {
                let corners = [(a, b), (a, d), (c, b), (c, d)];
                let mut xs = Vec::with_capacity(4);
                for (x, y) in corners {
                    xs.push(f(x, y)?);
                }
                e.xmin = xs.iter().map(|p| p.0).reduce(f64::min);
                e.ymin = xs.iter().map(|p| p.1).reduce(f64::min);
                e.xmax = xs.iter().map(|p| p.0).reduce(f64::max);
                e.ymax = xs.iter().map(|p| p.1).reduce(f64::max);
            }
        }
        _ => return Err("unsupported geometry kind".into()),
    }
    Ok(())
}

/// Drops per-geometry spatial references (the feature set carries one).
fn clear_sr(g: &mut Geometry) {
    match g {
        Geometry::Point(p) => p.spatial_reference = None,
        Geometry::Multipoint(p) => p.spatial_reference = None,
        Geometry::Polyline(p) => p.spatial_reference = None,
        Geometry::Polygon(p) => p.spatial_reference = None,
        Geometry::Envelope(p) => p.spatial_reference = None,
        _ => {}
    }
}

/// Projects every geometry of `fs` into `to`. A set without a spatial reference is
/// taken to be in `default_from`.
pub(crate) fn project_feature_set(
    fs: &mut FeatureSet,
    to: &SpatialReference,
    default_from: &SpatialReference,
) -> Result<(), String> {
    let from_sr = fs
        .spatial_reference
        .clone()
        .unwrap_or_else(|| default_from.clone());
    let from = Crs::from_sr(&from_sr)?;
    let target = Crs::from_sr(to)?;
    if from.code != target.code {
        for (i, feat) in fs.features.iter_mut().enumerate() {
            if let Some(g) = &mut feat.geometry {
                map_geometry(g, &mut |x, y| from.transform_xy(&target, x, y))
                    .map_err(|e| format!("feature {i}: {e}"))?;
                clear_sr(g);
            }
        }
    }
    fs.spatial_reference = Some(to.clone());
    Ok(())
}

/// Drops Z and/or M values from every geometry (`returnZ=false`, `returnM=false`).
pub(crate) fn strip_dims(fs: &mut FeatureSet, keep_z: bool, keep_m: bool) {
    if (keep_z || !fs.has_z) && (keep_m || !fs.has_m) {
        return;
    }
    let strip = |c: &mut Coord| {
        if !keep_z {
            c.z = None;
        }
        if !keep_m {
            c.m = None;
        }
    };
    for feat in &mut fs.features {
        if let Some(g) = &mut feat.geometry {
            linearize(g);
            match g {
                Geometry::Point(p) => p.coord.iter_mut().for_each(strip),
                Geometry::Multipoint(m) => {
                    m.points.iter_mut().for_each(strip);
                    m.has_z &= keep_z;
                    m.has_m &= keep_m;
                }
                Geometry::Polyline(p) => {
                    p.paths.iter_mut().flatten().for_each(strip);
                    p.has_z &= keep_z;
                    p.has_m &= keep_m;
                }
                Geometry::Polygon(p) => {
                    p.rings.iter_mut().flatten().for_each(strip);
                    p.has_z &= keep_z;
                    p.has_m &= keep_m;
                }
                _ => {}
            }
        }
    }
    fs.has_z &= keep_z;
    fs.has_m &= keep_m;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_mercator_round_trip() {
        let wgs = Crs::from_wkid(4326).unwrap();
        let merc = Crs::from_wkid(102100).unwrap();
        let (x, y) = wgs.transform_xy(&merc, 10.0, 50.0).unwrap();
        assert!((x - 1_113_194.907_932_735_7).abs() < 1e-3, "{x}");
        assert!((y - 6_446_275.841_017_158).abs() < 1e-3, "{y}");
        let (lon, lat) = merc.transform_xy(&wgs, x, y).unwrap();
        assert!((lon - 10.0).abs() < 1e-9 && (lat - 50.0).abs() < 1e-9);
    }

    #[test]
    fn utm_zone_and_units() {
        let wgs = Crs::from_wkid(4326).unwrap();
        let utm = Crs::from_wkid(32633).unwrap();
        assert!(!utm.is_geographic());
        assert_eq!(utm.meters_per_unit(), 1.0);
        // The central meridian of zone 33 maps to the false easting.
        let (x, _) = wgs.transform_xy(&utm, 15.0, 45.0).unwrap();
        assert!((x - 500_000.0).abs() < 1e-6, "{x}");
        let nad83 = Crs::from_wkid(4269).unwrap();
        assert!(nad83.is_geographic());
        assert!(Crs::from_wkid(123_456_789).is_err());
        assert!(Crs::from_wkid(1).is_err());
    }
}

//! Writing geometries as Esri JSON.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::coord::{CoordsSer, Dims, PathsSer, effective_dims};
use super::curve::CurvePathsSer;
use super::{Envelope, Geometry, Multipoint, Point, Polygon, Polyline};

pub(crate) fn polyline_dims(g: &Polyline) -> Dims {
    let declared = Dims {
        has_z: g.has_z,
        has_m: g.has_m,
    };
    let d = effective_dims(declared, g.paths.iter().flatten());
    match &g.curve_paths {
        Some(c) => effective_dims(d, c.iter().flatten().flat_map(|e| e.coords())),
        None => d,
    }
}

pub(crate) fn polygon_dims(g: &Polygon) -> Dims {
    let declared = Dims {
        has_z: g.has_z,
        has_m: g.has_m,
    };
    let d = effective_dims(declared, g.rings.iter().flatten());
    match &g.curve_rings {
        Some(c) => effective_dims(d, c.iter().flatten().flat_map(|e| e.coords())),
        None => d,
    }
}

fn flags<M: SerializeMap>(m: &mut M, d: Dims) -> Result<(), M::Error> {
    // `hasM` alone is written with an explicit `hasZ: false`, so that a set-level
    // `hasZ` cannot turn this geometry's third values into Z when read back.
    if d.has_z || d.has_m {
        m.serialize_entry("hasZ", &d.has_z)?;
    }
    if d.has_m {
        m.serialize_entry("hasM", &true)?;
    }
    Ok(())
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match &self.coord {
            Some(c) => {
                m.serialize_entry("x", &c.x)?;
                m.serialize_entry("y", &c.y)?;
                if let Some(z) = c.z {
                    m.serialize_entry("z", &z)?;
                }
                if let Some(mv) = c.m {
                    m.serialize_entry("m", &mv)?;
                }
            }
            None => m.serialize_entry("x", &None::<f64>)?,
        }
        if let Some(sr) = &self.spatial_reference {
            m.serialize_entry("spatialReference", sr)?;
        }
        m.end()
    }
}

impl Serialize for Multipoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let declared = Dims {
            has_z: self.has_z,
            has_m: self.has_m,
        };
        let d = effective_dims(declared, self.points.iter());
        let mut m = s.serialize_map(None)?;
        flags(&mut m, d)?;
        m.serialize_entry("points", &CoordsSer(&self.points, d))?;
        if let Some(sr) = &self.spatial_reference {
            m.serialize_entry("spatialReference", sr)?;
        }
        m.end()
    }
}

impl Serialize for Polyline {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = polyline_dims(self);
        let mut m = s.serialize_map(None)?;
        flags(&mut m, d)?;
        if !self.paths.is_empty() || self.curve_paths.is_none() {
            m.serialize_entry("paths", &PathsSer(&self.paths, d))?;
        }
        if let Some(c) = &self.curve_paths {
            m.serialize_entry("curvePaths", &CurvePathsSer(c, d))?;
        }
        if let Some(sr) = &self.spatial_reference {
            m.serialize_entry("spatialReference", sr)?;
        }
        m.end()
    }
}

impl Serialize for Polygon {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = polygon_dims(self);
        let mut m = s.serialize_map(None)?;
        flags(&mut m, d)?;
        if !self.rings.is_empty() || self.curve_rings.is_none() {
            m.serialize_entry("rings", &PathsSer(&self.rings, d))?;
        }
        if let Some(c) = &self.curve_rings {
            m.serialize_entry("curveRings", &CurvePathsSer(c, d))?;
        }
        if let Some(sr) = &self.spatial_reference {
            m.serialize_entry("spatialReference", sr)?;
        }
        m.end()
    }
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.bounds() {
            Some([a, b, c, d]) => {
                m.serialize_entry("xmin", &a)?;
                m.serialize_entry("ymin", &b)?;
                m.serialize_entry("xmax", &c)?;
                m.serialize_entry("ymax", &d)?;
                for (k, v) in [
                    ("zmin", self.zmin),
                    ("zmax", self.zmax),
                    ("mmin", self.mmin),
                    ("mmax", self.mmax),
                ] {
                    if let Some(v) = v {
                        m.serialize_entry(k, &v)?;
                    }
                }
            }
            None => m.serialize_entry("xmin", &None::<f64>)?,
        }
        if let Some(sr) = &self.spatial_reference {
            m.serialize_entry("spatialReference", sr)?;
        }
        m.end()
    }
}

impl Serialize for Geometry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Geometry::Point(g) => g.serialize(s),
            Geometry::Multipoint(g) => g.serialize(s),
            Geometry::Polyline(g) => g.serialize(s),
            Geometry::Polygon(g) => g.serialize(s),
            Geometry::Envelope(g) => g.serialize(s),
        }
    }
}

//! Geometry as written in the document, resolved into [`Geometry`] once the
//! hasZ/hasM context is known (a feature set may declare it after its features).

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

use super::coord::{Coord, Dims, RawCoord};
use super::curve::{CurveElement, RawCurveElement, check_curve_start};
use super::sr::SpatialReference;
use super::{Envelope, Geometry, Multipoint, Point, Polygon, Polyline};
use crate::error::{Error, Result};

/// A number that may also be `null` or the string `"NaN"` (empty geometries).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LooseNum(pub(crate) Option<f64>);

impl<'de> Deserialize<'de> for LooseNum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseNum;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, null or \"NaN\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<LooseNum, E> {
                if v.is_finite() {
                    Ok(LooseNum(Some(v)))
                } else {
                    Err(E::custom("coordinate values must be finite"))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<LooseNum, E> {
                Ok(LooseNum(Some(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<LooseNum, E> {
                Ok(LooseNum(Some(v as f64)))
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<LooseNum, E> {
                Ok(LooseNum(None))
            }
            fn visit_none<E: de::Error>(self) -> std::result::Result<LooseNum, E> {
                Ok(LooseNum(None))
            }
            fn visit_some<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<LooseNum, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<LooseNum, E> {
                if v.eq_ignore_ascii_case("nan") {
                    Ok(LooseNum(None))
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A key that is present, even with a `null` value, is `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<LooseNum>, D::Error> {
    LooseNum::deserialize(d).map(Some)
}

/// Every key a geometry object may have.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawGeometry {
    #[serde(default, deserialize_with = "present")]
    x: Option<LooseNum>,
    #[serde(default, deserialize_with = "present")]
    y: Option<LooseNum>,
    #[serde(default, deserialize_with = "present")]
    z: Option<LooseNum>,
    #[serde(default, deserialize_with = "present")]
    m: Option<LooseNum>,
    #[serde(default)]
    points: Option<Vec<RawCoord>>,
    #[serde(default)]
    paths: Option<Vec<Vec<RawCoord>>>,
    #[serde(default)]
    curve_paths: Option<Vec<Vec<RawCurveElement>>>,
    #[serde(default)]
    rings: Option<Vec<Vec<RawCoord>>>,
    #[serde(default)]
    curve_rings: Option<Vec<Vec<RawCurveElement>>>,
    #[serde(default, deserialize_with = "present")]
    xmin: Option<LooseNum>,
    #[serde(default, deserialize_with = "present")]
    ymin: Option<LooseNum>,
    #[serde(default, deserialize_with = "present")]
    xmax: Option<LooseNum>,
    #[serde(default, deserialize_with = "present")]
    ymax: Option<LooseNum>,
    #[serde(default, deserialize_with = "present")]
    zmin: Option<LooseNum>,
    #[serde(default, deserialize_with = "present")]
    zmax: Option<LooseNum>,
    #[serde(default, deserialize_with = "present")]
    mmin: Option<LooseNum>,
    #[serde(default, deserialize_with = "present")]
    mmax: Option<LooseNum>,
    #[serde(default)]
    has_z: Option<bool>,
    #[serde(default)]
    has_m: Option<bool>,
    #[serde(default, alias = "spatial_reference")]
    spatial_reference: Option<Box<SpatialReference>>,
}

fn resolve_paths(
    raw: Vec<Vec<RawCoord>>,
    dims: Dims,
    key: &str,
    at: &dyn Fn() -> String,
) -> Result<Vec<Vec<Coord>>> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, p) in raw.into_iter().enumerate() {
        let mut path = Vec::with_capacity(p.len());
        for (j, c) in p.iter().enumerate() {
            path.push(c.resolve(dims, &|| format!("{}.{key}[{i}][{j}]", at()))?);
        }
        out.push(path);
    }
    Ok(out)
}

fn resolve_curves(
    raw: Vec<Vec<RawCurveElement>>,
    dims: Dims,
    key: &str,
    at: &dyn Fn() -> String,
) -> Result<Vec<Vec<CurveElement>>> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, p) in raw.into_iter().enumerate() {
        let mut path = Vec::with_capacity(p.len());
        for (j, c) in p.iter().enumerate() {
            path.push(c.resolve(dims, &|| format!("{}.{key}[{i}][{j}]", at()))?);
        }
        check_curve_start(&path, &|| format!("{}.{key}[{i}]", at()))?;
        out.push(path);
    }
    Ok(out)
}

impl RawGeometry {
    /// True when the object has no geometry key at all (`{}`), a null geometry.
    pub(crate) fn is_blank(&self) -> bool {
        self.x.is_none()
            && self.points.is_none()
            && self.paths.is_none()
            && self.curve_paths.is_none()
            && self.rings.is_none()
            && self.curve_rings.is_none()
            && self.xmin.is_none()
    }

    /// True when a 3-value coordinate's meaning depends on set-level flags that may not
    /// be known yet (the geometry has neither own `hasZ` nor `hasM`).
    pub(crate) fn needs_dims(&self) -> bool {
        // Own flags settle a 3-value coordinate only when they say Z, or say both.
        let settled = self.has_z == Some(true) || (self.has_z.is_some() && self.has_m.is_some());
        if settled {
            return false;
        }
        let three = |c: &RawCoord| c.len() == 3;
        let curve_three = |e: &RawCurveElement| e.coords().any(three);
        self.points.iter().flatten().any(three)
            || self.paths.iter().flatten().flatten().any(three)
            || self.rings.iter().flatten().flatten().any(three)
            || self.curve_paths.iter().flatten().flatten().any(curve_three)
            || self.curve_rings.iter().flatten().flatten().any(curve_three)
    }

    /// Which flags the geometry takes from the feature set: (`hasZ`, `hasM`).
    pub(crate) fn inherits_dims(&self) -> (bool, bool) {
        (self.has_z.is_none(), self.has_m.is_none())
    }

    /// Resolves coordinates with the geometry's own flags, falling back to `parent`.
    /// `at` names the geometry in errors (`features[3].geometry`).
    pub(crate) fn resolve(self, parent: Dims, at: &dyn Fn() -> String) -> Result<Geometry> {
        let dims = Dims::inherit(self.has_z, self.has_m, parent);
        let sr = self.spatial_reference;
        if let Some(x) = self.x {
            let coord = match (x.0, self.y.and_then(|y| y.0)) {
                (Some(x), Some(y)) => Some(Coord {
                    x,
                    y,
                    z: self.z.and_then(|v| v.0),
                    m: self.m.and_then(|v| v.0),
                }),
                (None, _) => None,
                (Some(_), None) => {
                    return Err(Error::Geometry {
                        path: at(),
                        reason: "point has x but no y".into(),
                    });
                }
            };
            return Ok(Geometry::Point(Point {
                coord,
                spatial_reference: sr,
            }));
        }
        if let Some(points) = self.points {
            let mut pts = Vec::with_capacity(points.len());
            for (i, c) in points.iter().enumerate() {
                pts.push(c.resolve(dims, &|| format!("{}.points[{i}]", at()))?);
            }
            return Ok(Geometry::Multipoint(Multipoint {
                has_z: dims.has_z,
                has_m: dims.has_m,
                points: pts,
                spatial_reference: sr,
            }));
        }
        if self.paths.is_some() || self.curve_paths.is_some() {
            return Ok(Geometry::Polyline(Polyline {
                has_z: dims.has_z,
                has_m: dims.has_m,
                paths: resolve_paths(self.paths.unwrap_or_default(), dims, "paths", at)?,
                curve_paths: self
                    .curve_paths
                    .map(|c| resolve_curves(c, dims, "curvePaths", at))
                    .transpose()?,
                spatial_reference: sr,
            }));
        }
        if self.rings.is_some() || self.curve_rings.is_some() {
            return Ok(Geometry::Polygon(Polygon {
                has_z: dims.has_z,
                has_m: dims.has_m,
                rings: resolve_paths(self.rings.unwrap_or_default(), dims, "rings", at)?,
                curve_rings: self
                    .curve_rings
                    .map(|c| resolve_curves(c, dims, "curveRings", at))
                    .transpose()?,
                spatial_reference: sr,
            }));
        }
        if let Some(xmin) = self.xmin {
            let v = |o: Option<LooseNum>| o.and_then(|n| n.0);
            let mut e = Envelope {
                xmin: xmin.0,
                ymin: v(self.ymin),
                xmax: v(self.xmax),
                ymax: v(self.ymax),
                zmin: v(self.zmin),
                zmax: v(self.zmax),
                mmin: v(self.mmin),
                mmax: v(self.mmax),
                spatial_reference: sr,
            };
            if e.bounds().is_none() {
                // A partly-null envelope is the empty envelope.
                e.xmin = None;
                e.ymin = None;
                e.xmax = None;
                e.ymax = None;
            }
            return Ok(Geometry::Envelope(e));
        }
        Err(Error::Geometry {
            path: at(),
            reason: "object has none of the geometry keys x, points, paths, curvePaths, rings, \
                     curveRings, xmin"
                .into(),
        })
    }
}

impl<'de> Deserialize<'de> for Geometry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = RawGeometry::deserialize(d)?;
        raw.resolve(Dims::default(), &|| "geometry".to_string())
            .map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for super::Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Geometry::deserialize(d)? {
            Geometry::Envelope(e) => Ok(e),
            other => Err(de::Error::custom(format!(
                "expected an envelope {{xmin, ymin, xmax, ymax}}, got a {}",
                other.geometry_type()
            ))),
        }
    }
}

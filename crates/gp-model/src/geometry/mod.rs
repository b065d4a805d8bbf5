//! Esri JSON geometry: point, multipoint, polyline, polygon, envelope.
//!
//! Coordinates follow the 2/3/4-value rule: 2 values are XY, 3 are XYZ when `hasZ`
//! (else XYM when only `hasM`, else an error), 4 are XYZM. `null` M values are kept
//! as `None`. True curves (`curvePaths`, `curveRings`) are kept losslessly and can be
//! densified into plain paths and rings.

mod coord;
mod curve;
mod raw;
mod ser;
mod types;

pub use coord::{Coord, Dims};
pub use curve::{CurveElement, Ellipse, densify_path};
pub use types::GeometryType;

pub(crate) use coord::{check_finite, effective_dims};
pub(crate) use raw::RawGeometry;

use crate::geometry::sr::SpatialReference;

pub mod sr;

/// Default densification step for arcs: 5 degrees.
pub const DEFAULT_DENSIFY_ANGLE: f64 = std::f64::consts::PI / 36.0;

/// Any Esri JSON geometry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Geometry {
    /// `{"x", "y"(, "z")(, "m")}`.
    Point(Point),
    /// `{"points": [...]}`.
    Multipoint(Multipoint),
    /// `{"paths": [...]}` or `{"curvePaths": [...]}`.
    Polyline(Polyline),
    /// `{"rings": [...]}` or `{"curveRings": [...]}`.
    Polygon(Polygon),
    /// `{"xmin", "ymin", "xmax", "ymax"}`.
    Envelope(Envelope),
}

/// A point; `coord` is `None` for the empty point `{"x": null}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Point {
    /// The position, or `None` when empty.
    pub coord: Option<Coord>,
    /// Spatial reference written on the geometry itself.
    pub spatial_reference: Option<Box<SpatialReference>>,
}

/// A multipoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Multipoint {
    /// `hasZ`.
    pub has_z: bool,
    /// `hasM`.
    pub has_m: bool,
    /// The points (empty for an empty multipoint).
    pub points: Vec<Coord>,
    /// Spatial reference written on the geometry itself.
    pub spatial_reference: Option<Box<SpatialReference>>,
}

/// A polyline of one or more paths.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Polyline {
    /// `hasZ`.
    pub has_z: bool,
    /// `hasM`.
    pub has_m: bool,
    /// Plain paths (`paths`).
    pub paths: Vec<Vec<Coord>>,
    /// True-curve paths (`curvePaths`), when the server sent them.
    pub curve_paths: Option<Vec<Vec<CurveElement>>>,
    /// Spatial reference written on the geometry itself.
    pub spatial_reference: Option<Box<SpatialReference>>,
}

/// A polygon of rings: exterior rings clockwise, holes counter-clockwise.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Polygon {
    /// `hasZ`.
    pub has_z: bool,
    /// `hasM`.
    pub has_m: bool,
    /// Plain rings (`rings`).
    pub rings: Vec<Vec<Coord>>,
    /// True-curve rings (`curveRings`), when the server sent them.
    pub curve_rings: Option<Vec<Vec<CurveElement>>>,
    /// Spatial reference written on the geometry itself.
    pub spatial_reference: Option<Box<SpatialReference>>,
}

/// An envelope; all of `xmin..ymax` are `None` when empty (`{"xmin": null}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    /// Minimum x.
    pub xmin: Option<f64>,
    /// Minimum y.
    pub ymin: Option<f64>,
    /// Maximum x.
    pub xmax: Option<f64>,
    /// Maximum y.
    pub ymax: Option<f64>,
    /// Minimum z.
    pub zmin: Option<f64>,
    /// Maximum z.
    pub zmax: Option<f64>,
    /// Minimum m.
    pub mmin: Option<f64>,
    /// Maximum m.
    pub mmax: Option<f64>,
    /// Spatial reference.
    pub spatial_reference: Option<Box<SpatialReference>>,
}

impl Envelope {
    /// An envelope from its corners.
    pub fn new(xmin: f64, ymin: f64, xmax: f64, ymax: f64) -> Self {
        Envelope {
            xmin: Some(xmin),
            ymin: Some(ymin),
            xmax: Some(xmax),
            ymax: Some(ymax),
            ..Default::default()
        }
    }

    /// The four corners, or `None` for an empty envelope.
    pub fn bounds(&self) -> Option<[f64; 4]> {
        Some([self.xmin?, self.ymin?, self.xmax?, self.ymax?])
    }
}

impl Point {
    /// A 2D point.
    pub fn new(x: f64, y: f64) -> Self {
        Point {
            coord: Some(Coord::xy(x, y)),
            spatial_reference: None,
        }
    }
}

impl Polyline {
    /// The paths as plain vertices: `paths`, or `curvePaths` densified every `max_angle` radians.
    pub fn linear_paths(&self, max_angle: f64) -> std::borrow::Cow<'_, [Vec<Coord>]> {
        match &self.curve_paths {
            Some(c) if self.paths.is_empty() => {
                std::borrow::Cow::Owned(c.iter().map(|p| densify_path(p, max_angle)).collect())
            }
            _ => std::borrow::Cow::Borrowed(&self.paths),
        }
    }
}

impl Polygon {
    /// The rings as plain vertices: `rings`, or `curveRings` densified every `max_angle` radians.
    pub fn linear_rings(&self, max_angle: f64) -> std::borrow::Cow<'_, [Vec<Coord>]> {
        match &self.curve_rings {
            Some(c) if self.rings.is_empty() => {
                std::borrow::Cow::Owned(c.iter().map(|p| densify_path(p, max_angle)).collect())
            }
            _ => std::borrow::Cow::Borrowed(&self.rings),
        }
    }
}

/// Signed area of a ring by the shoelace formula: negative for clockwise rings
/// (Esri exterior rings), positive for counter-clockwise ones (holes).
pub fn ring_signed_area(ring: &[Coord]) -> f64 {
    if ring.len() < 3 {
        return 0.0;
    }
    let mut s = 0.0;
    for w in ring.windows(2) {
        s += (w[0].x * w[1].y) - (w[1].x * w[0].y);
    }
    if let (Some(f), Some(l)) = (ring.first(), ring.last()) {
        s += (l.x * f.y) - (f.x * l.y);
    }
    s / 2.0
}

impl Geometry {
    /// The geometry type of this value.
    pub fn geometry_type(&self) -> GeometryType {
        match self {
            Geometry::Point(_) => GeometryType::Point,
            Geometry::Multipoint(_) => GeometryType::Multipoint,
            Geometry::Polyline(_) => GeometryType::Polyline,
            Geometry::Polygon(_) => GeometryType::Polygon,
            Geometry::Envelope(_) => GeometryType::Envelope,
        }
    }

    /// The spatial reference written on the geometry, if any.
    pub fn spatial_reference(&self) -> Option<&SpatialReference> {
        match self {
            Geometry::Point(g) => g.spatial_reference.as_deref(),
            Geometry::Multipoint(g) => g.spatial_reference.as_deref(),
            Geometry::Polyline(g) => g.spatial_reference.as_deref(),
            Geometry::Polygon(g) => g.spatial_reference.as_deref(),
            Geometry::Envelope(g) => g.spatial_reference.as_deref(),
        }
    }

    /// True for an empty geometry (`{"x": null}`, `{"paths": []}`, ...).
    pub fn is_empty(&self) -> bool {
        match self {
            Geometry::Point(g) => g.coord.is_none(),
            Geometry::Multipoint(g) => g.points.is_empty(),
            Geometry::Polyline(g) => {
                g.paths.iter().all(Vec::is_empty)
                    && g.curve_paths
                        .as_ref()
                        .is_none_or(|c| c.iter().all(Vec::is_empty))
            }
            Geometry::Polygon(g) => {
                g.rings.iter().all(Vec::is_empty)
                    && g.curve_rings
                        .as_ref()
                        .is_none_or(|c| c.iter().all(Vec::is_empty))
            }
            Geometry::Envelope(g) => g.bounds().is_none(),
        }
    }

    /// The dimensions the geometry carries (declared flags or values present).
    pub fn dims(&self) -> Dims {
        match self {
            Geometry::Point(p) => Dims {
                has_z: p.coord.is_some_and(|c| c.z.is_some()),
                has_m: p.coord.is_some_and(|c| c.m.is_some()),
            },
            Geometry::Multipoint(g) => effective_dims(
                Dims {
                    has_z: g.has_z,
                    has_m: g.has_m,
                },
                g.points.iter(),
            ),
            Geometry::Polyline(g) => ser::polyline_dims(g),
            Geometry::Polygon(g) => ser::polygon_dims(g),
            Geometry::Envelope(e) => Dims {
                has_z: e.zmin.is_some() || e.zmax.is_some(),
                has_m: e.mmin.is_some() || e.mmax.is_some(),
            },
        }
    }

    /// Parses a standalone geometry (its own `hasZ`/`hasM` decide 3-value coordinates).
    pub fn from_json(s: &str) -> crate::Result<Geometry> {
        crate::decode::from_json_str("geometry", s)
    }

    /// Checks every coordinate is finite (for geometries built in code).
    pub fn validate(&self) -> crate::Result<()> {
        let at = || "geometry".to_string();
        let mut res = Ok(());
        self.for_each_coord(&mut |c| {
            if res.is_ok() {
                res = check_finite(c, &at);
            }
        });
        res
    }

    /// Calls `f` with every stored vertex (curve control points included, envelope
    /// corners for envelopes).
    pub fn for_each_coord_pub(&self, f: &mut dyn FnMut(&Coord)) {
        self.for_each_coord(f)
    }

    pub(crate) fn for_each_coord(&self, f: &mut dyn FnMut(&Coord)) {
        match self {
            Geometry::Point(p) => {
                if let Some(c) = &p.coord {
                    f(c)
                }
            }
            Geometry::Multipoint(g) => g.points.iter().for_each(f),
            Geometry::Polyline(g) => {
                g.paths.iter().flatten().for_each(&mut *f);
                if let Some(c) = &g.curve_paths {
                    c.iter().flatten().flat_map(|e| e.coords()).for_each(f);
                }
            }
            Geometry::Polygon(g) => {
                g.rings.iter().flatten().for_each(&mut *f);
                if let Some(c) = &g.curve_rings {
                    c.iter().flatten().flat_map(|e| e.coords()).for_each(f);
                }
            }
            Geometry::Envelope(e) => {
                if let Some([a, b, c, d]) = e.bounds() {
                    f(&Coord::xy(a, b));
                    f(&Coord::xy(c, d));
                }
            }
        }
    }
}

impl From<Point> for Geometry {
    fn from(g: Point) -> Self {
        Geometry::Point(g)
    }
}
impl From<Multipoint> for Geometry {
    fn from(g: Multipoint) -> Self {
        Geometry::Multipoint(g)
    }
}
impl From<Polyline> for Geometry {
    fn from(g: Polyline) -> Self {
        Geometry::Polyline(g)
    }
}
impl From<Polygon> for Geometry {
    fn from(g: Polygon) -> Self {
        Geometry::Polygon(g)
    }
}
impl From<Envelope> for Geometry {
    fn from(g: Envelope) -> Self {
        Geometry::Envelope(g)
    }
}

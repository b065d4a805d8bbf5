//! Geometry blobs: the shape type, then coordinates as integers on the spatial
//! reference's grid (`(x - origin) * scale`), the first absolute and the others as
//! differences, in variable-length integers.

use gp_model::{Coord, CurveElement, Geometry, Multipoint, Point, Polygon, Polyline};

use super::bytes::{Bad, Reader, put_varint, put_varuint};
use crate::flat::{FlatGeom, Kind};

/// The origins and scales of a layer's coordinates (its spatial reference's grid).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Grid {
    pub(crate) x0: f64,
    pub(crate) y0: f64,
    pub(crate) xy: f64,
    pub(crate) z0: f64,
    pub(crate) z: f64,
    pub(crate) m0: f64,
    pub(crate) m: f64,
}

impl Grid {
    /// ArcGIS's default high-precision grid for a geographic or a projected (or
    /// unknown) system, as ArcGIS Pro and GDAL choose it.
    pub(crate) fn default_for(geographic: bool) -> Grid {
        let (x0, xy) = if geographic {
            (-400.0, 1e9)
        } else {
            (-2_147_483_647.0, 10_000.0)
        };
        Grid {
            x0,
            y0: x0,
            xy,
            z0: -100_000.0,
            z: 10_000.0,
            m0: -100_000.0,
            m: 10_000.0,
        }
    }

    /// The default XY tolerance that goes with [`Grid::default_for`].
    pub(crate) fn default_tolerance(geographic: bool) -> f64 {
        if geographic { 8.983_153e-9 } else { 0.001 }
    }
}

/// Shape types: (2-D, Z, M, ZM) for point, multipoint, polyline, polygon.
const TYPES: [[u64; 4]; 4] = [
    [1, 9, 21, 11],
    [8, 20, 28, 18],
    [3, 10, 23, 13],
    [5, 19, 25, 15],
];

/// The shape type of a kind with or without Z and M.
fn shape_type(kind: Kind, z: bool, m: bool) -> u64 {
    let k = match kind {
        Kind::Point => 0,
        Kind::Multipoint => 1,
        Kind::Polyline => 2,
        Kind::Polygon => 3,
    };
    TYPES[k][usize::from(z) + 2 * usize::from(m)]
}

/// One coordinate on a grid axis, checked to lie in the grid's domain.
fn on_grid(v: f64, origin: f64, scale: f64, axis: &str) -> Result<u64, Bad> {
    grid_value((v * scale - origin * scale).round(), v, origin, scale, axis)
}

/// The grid value below `v` (a box's corner).
fn grid_floor(v: f64, origin: f64, scale: f64, axis: &str) -> Result<u64, Bad> {
    grid_value((v * scale - origin * scale).floor(), v, origin, scale, axis)
}

fn grid_value(q: f64, v: f64, origin: f64, scale: f64, axis: &str) -> Result<u64, Bad> {
    if !(0.0..9.0e18).contains(&q) {
        return Err(format!(
            "{axis} = {v} is outside the spatial reference's domain (origin {origin}, scale {scale})"
        ));
    }
    Ok(q as u64)
}

fn i(v: u64) -> i64 {
    // Grid values are below 9e18 (checked by `on_grid`), so this cannot wrap.
    v as i64
}

/// Appends the geometry's blob (without its length) to `out`, with Z and M as the
/// layer declares them (0 for a missing Z, and no M array when no point has an M).
/// Returns the box. An empty geometry writes nothing and returns `None`.
pub(crate) fn encode(
    out: &mut Vec<u8>,
    g: &FlatGeom<'_>,
    grid: &Grid,
    z: bool,
    m: bool,
) -> Result<Option<[f64; 4]>, Bad> {
    if g.is_empty() {
        return Ok(None);
    }
    let b = g.bbox();
    put_varuint(out, shape_type(g.kind, z, m));
    let coords = g.coords();
    if g.kind == Kind::Point {
        let c = coords[0];
        put_varuint(out, on_grid(c.x, grid.x0, grid.xy, "x")? + 1);
        put_varuint(out, on_grid(c.y, grid.y0, grid.xy, "y")? + 1);
        if z {
            put_varuint(out, on_grid(c.z.unwrap_or(0.0), grid.z0, grid.z, "z")? + 1);
        }
        if m {
            match c.m {
                Some(v) => put_varuint(out, on_grid(v, grid.m0, grid.m, "m")? + 1),
                None => put_varuint(out, 0),
            }
        }
        return Ok(Some(b));
    }
    let parts: Vec<&[Coord]> = if g.kind == Kind::Multipoint {
        vec![coords]
    } else {
        g.parts().collect()
    };
    put_varuint(out, coords.len() as u64);
    if g.kind != Kind::Multipoint {
        put_varuint(out, parts.len() as u64);
    }
    let qx0 = grid_floor(b[0], grid.x0, grid.xy, "x")?;
    let qy0 = grid_floor(b[1], grid.y0, grid.xy, "y")?;
    let qx1 = on_grid(b[2], grid.x0, grid.xy, "x")?.max(qx0);
    let qy1 = on_grid(b[3], grid.y0, grid.xy, "y")?.max(qy0);
    for v in [qx0, qy0, qx1 - qx0, qy1 - qy0] {
        put_varuint(out, v);
    }
    if g.kind != Kind::Multipoint {
        for p in &parts[..parts.len() - 1] {
            put_varuint(out, p.len() as u64);
        }
    }
    let (mut px, mut py) = (0i64, 0i64);
    for c in coords {
        let (x, y) = (
            i(on_grid(c.x, grid.x0, grid.xy, "x")?),
            i(on_grid(c.y, grid.y0, grid.xy, "y")?),
        );
        put_varint(out, x - px);
        put_varint(out, y - py);
        (px, py) = (x, y);
    }
    if z {
        let mut pz = 0i64;
        for c in coords {
            let v = i(on_grid(c.z.unwrap_or(0.0), grid.z0, grid.z, "z")?);
            put_varint(out, v - pz);
            pz = v;
        }
    }
    if m {
        if coords.iter().all(|c| c.m.is_none()) {
            // No measures at all: the marker that stands for an absent M array.
            out.push(0x42);
        } else {
            let mut pm = 0i64;
            for c in coords {
                let Some(v) = c.m else {
                    return Err("a measured geometry with M on some vertices but not all (the format has no null M)".into());
                };
                let v = i(on_grid(v, grid.m0, grid.m, "m")?);
                put_varint(out, v - pm);
                pm = v;
            }
        }
    }
    Ok(Some(b))
}

/// What a shape type says: the kind, Z, M, and curves.
fn kind_of(t: u64) -> Result<(Kind, bool, bool, bool), Bad> {
    for (k, row) in TYPES.iter().enumerate() {
        if let Some(j) = row.iter().position(|&v| v == t) {
            let kind = [Kind::Point, Kind::Multipoint, Kind::Polyline, Kind::Polygon][k];
            return Ok((kind, j & 1 != 0, j & 2 != 0, false));
        }
    }
    // The "general" shape types, with flags in the high bits.
    let (z, m, curves) = (
        t & 0x8000_0000 != 0,
        t & 0x4000_0000 != 0,
        t & 0x2000_0000 != 0,
    );
    let kind = match t & 0xff {
        52 => Kind::Point,
        53 => Kind::Multipoint,
        50 => Kind::Polyline,
        51 => Kind::Polygon,
        54 => return Err("multipatch geometry is not supported".into()),
        other => return Err(format!("unknown shape type {other}")),
    };
    Ok((kind, z, m, curves))
}

/// Decodes a geometry blob (without its length). `None` for a null shape.
pub(crate) fn decode(blob: &[u8], base: u64, grid: &Grid) -> Result<Option<Geometry>, Bad> {
    let mut r = Reader::new(blob, base);
    let t = r.varuint("shape type")?;
    if t == 0 {
        return Ok(None);
    }
    let (kind, z, m, curves) = kind_of(t)?;
    let xy = |v: u64, o: f64, s: f64| at(v as f64, o, s);
    if kind == Kind::Point {
        let (qx, qy) = (r.varuint("x")?, r.varuint("y")?);
        if qx == 0 {
            return Ok(Some(Geometry::Point(Point::default())));
        }
        let mut c = Coord::xy(
            xy(qx - 1, grid.x0, grid.xy),
            xy(qy.saturating_sub(1), grid.y0, grid.xy),
        );
        if z {
            c.z = Some(xy(r.varuint("z")?.saturating_sub(1), grid.z0, grid.z));
        }
        if m {
            let q = r.varuint("m")?;
            c.m = (q > 0).then(|| xy(q - 1, grid.m0, grid.m));
        }
        return Ok(Some(Geometry::Point(Point {
            coord: Some(c),
            spatial_reference: None,
        })));
    }
    let n = r.varuint("point count")?;
    // Every point takes at least two bytes: a count the blob cannot hold is refused
    // before anything is allocated for it.
    if n > (r.left() as u64) / 2 + 1 {
        return r.bad(&format!(
            "a point count of {n} in a blob of {} bytes",
            blob.len()
        ));
    }
    let n = n as usize;
    let nparts = if kind == Kind::Multipoint {
        1
    } else {
        r.varuint("part count")?
    };
    if n == 0 {
        return Ok(Some(empty(kind)));
    }
    if nparts == 0 || nparts > n as u64 {
        return r.bad(&format!("{nparts} parts for {n} points"));
    }
    let nparts = nparts as usize;
    let ncurves = if curves { r.varuint("curve count")? } else { 0 };
    for what in ["xmin", "ymin", "width", "height"] {
        r.varuint(what)?;
    }
    let mut counts = Vec::with_capacity(nparts);
    let mut sum = 0usize;
    for _ in 1..nparts {
        let c = r.varuint("part point count")?;
        if c > (n - sum) as u64 {
            return r.bad("part point counts beyond the point count");
        }
        sum += c as usize;
        counts.push(c as usize);
    }
    counts.push(n - sum);
    let mut coords = Vec::with_capacity(n);
    let (mut px, mut py) = (0i64, 0i64);
    for _ in 0..n {
        px = px.wrapping_add(r.varint("x")?);
        py = py.wrapping_add(r.varint("y")?);
        coords.push(Coord::xy(
            at(px as f64, grid.x0, grid.xy),
            at(py as f64, grid.y0, grid.xy),
        ));
    }
    if z {
        let mut pz = 0i64;
        for c in &mut coords {
            pz = pz.wrapping_add(r.varint("z")?);
            c.z = Some(at(pz as f64, grid.z0, grid.z));
        }
    }
    if m && r.left() > 0 {
        if r.peek() == Some(0x42) {
            r.u8("m marker")?;
        } else {
            let mut pm = 0i64;
            for c in &mut coords {
                pm = pm.wrapping_add(r.varint("m")?);
                c.m = Some(at(pm as f64, grid.m0, grid.m));
            }
        }
    }
    let segments = read_curves(&mut r, ncurves, n)?;
    let mut parts = Vec::with_capacity(nparts);
    let mut rest = coords.as_slice();
    let mut first = 0;
    let mut curve_parts = Vec::new();
    for c in counts {
        let (a, b) = rest.split_at(c);
        if !segments.is_empty() {
            curve_parts.push(curve_part(a, first, &segments));
        }
        parts.push(a.to_vec());
        first += c;
        rest = b;
    }
    // With true curves, the parts are given as curves only (the model densifies
    // them where plain vertices are needed).
    let curved = (!segments.is_empty()).then_some(curve_parts);
    if curved.is_some() {
        parts.clear();
    }
    Ok(Some(match kind {
        Kind::Multipoint => Geometry::Multipoint(Multipoint {
            has_z: z,
            has_m: m,
            points: coords,
            spatial_reference: None,
        }),
        Kind::Polyline => Geometry::Polyline(Polyline {
            has_z: z,
            has_m: m,
            paths: parts,
            curve_paths: curved,
            spatial_reference: None,
        }),
        _ => Geometry::Polygon(Polygon {
            has_z: z,
            has_m: m,
            rings: parts,
            curve_rings: curved,
            spatial_reference: None,
        }),
    }))
}

/// A curve segment from a vertex to the next.
#[derive(Debug, Clone, Copy)]
enum Segment {
    /// A circular arc through this point, counter-clockwise or not.
    Through(Coord, bool),
    /// A circular arc around this centre.
    Around {
        center: Coord,
        minor: bool,
        clockwise: bool,
    },
    /// A cubic Bézier with these control points.
    Bezier(Coord, Coord),
}

/// The curve segments that follow the coordinates, by the vertex they start at.
/// Elliptic arcs, and arcs flagged as lines or points, are read as straight.
fn read_curves(r: &mut Reader<'_>, count: u64, n: usize) -> Result<Vec<Option<Segment>>, Bad> {
    if count == 0 {
        return Ok(Vec::new());
    }
    // A segment takes at least 22 bytes: a count the blob cannot hold is refused.
    if count > (r.left() / 22) as u64 {
        return r.bad(&format!("{count} curve segments in {} bytes", r.left()));
    }
    let mut segments = vec![None; n];
    for _ in 0..count {
        let start = r.varuint("curve start")?;
        if start >= n as u64 {
            return r.bad(&format!("a curve starting at vertex {start} of {n}"));
        }
        let seg = match r.varuint("curve type")? {
            1 => {
                let (a, b) = (r.f64("arc point x")?, r.f64("arc point y")?);
                let bits = r.u32("arc flags")?;
                let p = Coord::xy(a, b);
                if bits & 0x60 != 0 {
                    None
                } else if bits & 0x80 != 0 {
                    Some(Segment::Through(p, bits & 0x08 != 0))
                } else {
                    Some(Segment::Around {
                        center: p,
                        minor: bits & 0x10 != 0,
                        clockwise: bits & 0x08 == 0,
                    })
                }
            }
            4 => {
                let c1 = Coord::xy(r.f64("control x")?, r.f64("control y")?);
                let c2 = Coord::xy(r.f64("control x")?, r.f64("control y")?);
                Some(Segment::Bezier(c1, c2))
            }
            5 => {
                for what in ["ellipse", "ellipse", "ellipse", "ellipse", "ellipse"] {
                    r.f64(what)?;
                }
                r.u32("ellipse flags")?;
                None
            }
            other => return r.bad(&format!("curve segment type {other}")),
        };
        segments[start as usize] = seg;
    }
    Ok(segments)
}

/// One part as curve elements: its first vertex, then each next vertex reached by
/// a straight line or by the curve segment that starts before it.
fn curve_part(vertices: &[Coord], first: usize, segments: &[Option<Segment>]) -> Vec<CurveElement> {
    let mut out = Vec::with_capacity(vertices.len());
    for (j, &v) in vertices.iter().enumerate() {
        let seg = if j == 0 {
            None
        } else {
            segments.get(first + j - 1).copied().flatten()
        };
        out.push(match seg {
            None => CurveElement::Point(v),
            // A whole circle (back to its start): around the middle of the start and
            // the point across from it.
            Some(Segment::Through(across, ccw)) if j > 0 && vertices[j - 1] == v => {
                CurveElement::Arc {
                    end: v,
                    center: Coord::xy((v.x + across.x) / 2.0, (v.y + across.y) / 2.0),
                    minor: false,
                    clockwise: !ccw,
                    ellipse: None,
                }
            }
            Some(Segment::Through(interior, _)) => CurveElement::CircularArc { end: v, interior },
            Some(Segment::Around {
                center,
                minor,
                clockwise,
            }) => CurveElement::Arc {
                end: v,
                center,
                minor,
                clockwise,
                ellipse: None,
            },
            Some(Segment::Bezier(control1, control2)) => CurveElement::Bezier {
                end: v,
                control1,
                control2,
            },
        });
    }
    out
}

/// The coordinate at grid value `q`: `(q + origin * scale) / scale`, one rounding
/// (the division) when `origin * scale` is a whole number, as with ArcGIS's grids,
/// so a value written on the grid (a decimal with no more places than the scale
/// has) reads back as the same double.
fn at(q: f64, origin: f64, scale: f64) -> f64 {
    (q + origin * scale) / scale
}

fn empty(kind: Kind) -> Geometry {
    match kind {
        Kind::Multipoint => Geometry::Multipoint(Multipoint::default()),
        Kind::Polyline => Geometry::Polyline(Polyline::default()),
        _ => Geometry::Polygon(Polygon::default()),
    }
}

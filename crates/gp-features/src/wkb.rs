//! ISO WKB (little endian) of a flat geometry: the body of a GeoPackage geometry
//! blob and the GeoArrow `geoarrow.wkb` encoding. Polylines are written as
//! MultiLineString and polygons as MultiPolygon (exterior rings counter-clockwise,
//! holes clockwise, as OGC simple features have them).

use gp_model::Coord;

use crate::flat::{FlatGeom, Kind};

fn wkb_coord(out: &mut Vec<u8>, c: &Coord, z: bool, m: bool) {
    out.extend_from_slice(&c.x.to_le_bytes());
    out.extend_from_slice(&c.y.to_le_bytes());
    if z {
        out.extend_from_slice(&c.z.unwrap_or(0.0).to_le_bytes());
    }
    if m {
        out.extend_from_slice(&c.m.unwrap_or(f64::NAN).to_le_bytes());
    }
}

fn wkb_type(out: &mut Vec<u8>, base: u32, z: bool, m: bool) {
    out.push(1);
    let t = base
        + if z && m {
            3000
        } else if z {
            1000
        } else if m {
            2000
        } else {
            0
        };
    out.extend_from_slice(&t.to_le_bytes());
}

fn wkb_ring(out: &mut Vec<u8>, pts: &[Coord], z: bool, m: bool) {
    out.extend_from_slice(&(pts.len() as u32).to_le_bytes());
    for c in pts {
        wkb_coord(out, c, z, m);
    }
}

/// Appends the WKB of `g` to `out`, with Z and M ordinates when `z` and `m` say
/// (a missing Z is 0, a missing M NaN). An empty point is `POINT (NaN NaN)`.
pub(crate) fn put_wkb(out: &mut Vec<u8>, g: &FlatGeom<'_>, z: bool, m: bool) {
    match g.kind {
        Kind::Point => {
            wkb_type(out, 1, z, m);
            let nan = Coord {
                x: f64::NAN,
                y: f64::NAN,
                z: Some(f64::NAN),
                m: Some(f64::NAN),
            };
            wkb_coord(out, g.coords().first().unwrap_or(&nan), z, m);
        }
        Kind::Multipoint => {
            wkb_type(out, 4, z, m);
            out.extend_from_slice(&(g.coords().len() as u32).to_le_bytes());
            for c in g.coords() {
                wkb_type(out, 1, z, m);
                wkb_coord(out, c, z, m);
            }
        }
        Kind::Polyline => {
            wkb_type(out, 5, z, m);
            out.extend_from_slice(&(g.parts().len() as u32).to_le_bytes());
            for p in g.parts() {
                wkb_type(out, 2, z, m);
                wkb_ring(out, p, z, m);
            }
        }
        Kind::Polygon => {
            let polys = g.polygons();
            wkb_type(out, 6, z, m);
            out.extend_from_slice(&(polys.len() as u32).to_le_bytes());
            for poly in polys {
                wkb_type(out, 3, z, m);
                out.extend_from_slice(&(poly.len() as u32).to_le_bytes());
                for (i, r) in poly.iter().enumerate() {
                    out.extend_from_slice(&(r.len() as u32).to_le_bytes());
                    // OGC orientation: exterior counter-clockwise, holes clockwise.
                    let ccw = gp_model::geometry::ring_signed_area(r) > 0.0;
                    if (i == 0) == ccw {
                        r.iter().for_each(|c| wkb_coord(out, c, z, m));
                    } else {
                        r.iter().rev().for_each(|c| wkb_coord(out, c, z, m));
                    }
                }
            }
        }
    }
}

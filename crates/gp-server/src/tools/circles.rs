//! The circles of `BufferPoints`: geodesic (each vertex the WGS 84 geodesic
//! destination, geographiclib through `geo`) or planar, and geographic rings cut at
//! the antimeridian as ArcGIS returns them.

use geo::{
    BooleanOps, Destination, Geodesic, MultiPolygon, Polygon as GeoPolygon, Rect, Translate,
};
use gp_model::Coord;

use crate::shapes::{from_geo, split_polygons};

/// Vertices of one circle. An inscribed 96-gon has 99.93% of the circle's area.
pub(crate) const CIRCLE_VERTICES: usize = 96;

/// A geodesic circle around (lon, lat): exterior ring, clockwise, closed.
pub(crate) fn geodesic_circle(lon: f64, lat: f64, meters: f64) -> Vec<Coord> {
    let center = geo::Point::new(lon, lat);
    let mut ring: Vec<Coord> = (0..CIRCLE_VERTICES)
        .map(|i| {
            // Clockwise: bearings increase clockwise from north.
            let bearing = i as f64 * 360.0 / CIRCLE_VERTICES as f64;
            let p = Geodesic.destination(center, bearing, meters);
            // Keep the ring continuous across the antimeridian.
            let mut x = p.x();
            while x - lon > 180.0 {
                x -= 360.0;
            }
            while lon - x > 180.0 {
                x += 360.0;
            }
            Coord::xy(x, p.y())
        })
        .collect();
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    ring
}

/// A planar circle: exterior ring, clockwise, closed.
pub(crate) fn planar_circle(x: f64, y: f64, r: f64) -> Vec<Coord> {
    let mut ring: Vec<Coord> = (0..CIRCLE_VERTICES)
        .map(|i| {
            let a = -(i as f64) * std::f64::consts::TAU / CIRCLE_VERTICES as f64;
            Coord::xy(x + r * a.cos(), y + r * a.sin())
        })
        .collect();
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    ring
}

/// Cuts geographic rings that reach past ±180° longitude (a geodesic circle is kept
/// continuous, so one near the antimeridian reaches 181°) at the antimeridian, and
/// moves the part beyond it to the other side, as ArcGIS returns such buffers: every
/// longitude within [-180, 180], so projections and map images see two pieces at the
/// map's edges rather than one polygon around the world.
pub(crate) fn split_at_antimeridian(rings: Vec<Vec<Coord>>) -> Vec<Vec<Coord>> {
    let beyond = rings.iter().flatten().any(|c| c.x.abs() > 180.0);
    if !beyond {
        return rings;
    }
    let mp = MultiPolygon::new(split_polygons(&rings));
    let window = |x0: f64, shift: f64| {
        let cut = mp.intersection(&Rect::new((x0, -90.0), (x0 + 360.0, 90.0)).to_polygon());
        cut.translate(shift, 0.0)
    };
    let parts = [
        window(-180.0, 0.0),
        window(180.0, -360.0),
        window(-540.0, 360.0),
    ];
    let polys: Vec<GeoPolygon<f64>> = parts.into_iter().flat_map(|m| m.0).collect();
    let mut out = from_geo(&geo::unary_union(&polys));
    // The cut is exact up to rounding: 180.00000000000003 is 180.
    for c in out.iter_mut().flatten() {
        c.x = c.x.clamp(-180.0, 180.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::to_geo;
    use geo::GeodesicArea;
    use geo::algorithm::orient::{Direction, Orient};

    #[test]
    fn circles_across_the_antimeridian_are_cut_into_two_parts() {
        let ring = geodesic_circle(179.99, -33.0, 50_000.0);
        assert!(ring.iter().any(|c| c.x > 180.0));
        let area = |rings: &[Vec<Coord>]| -> f64 {
            split_polygons(rings)
                .iter()
                .map(|p| p.orient(Direction::Default).geodesic_area_unsigned())
                .sum()
        };
        let whole = area(std::slice::from_ref(&ring));
        let cut = split_at_antimeridian(vec![ring]);
        assert_eq!(split_polygons(&cut).len(), 2, "{cut:?}");
        assert!(cut.iter().flatten().all(|c| c.x.abs() <= 180.0));
        // East of 180 and west of -180 both reached, and nothing lost.
        assert!(cut.iter().flatten().any(|c| c.x > 179.5));
        assert!(cut.iter().flatten().any(|c| c.x < -179.5));
        assert!((area(&cut) - whole).abs() / whole < 1e-6);
        // A circle that stays inside is left as it is.
        let inside = geodesic_circle(10.0, 50.0, 1000.0);
        assert_eq!(split_at_antimeridian(vec![inside.clone()]), vec![inside]);
    }

    #[test]
    fn geodesic_circle_area_matches_pi_r_squared() {
        for (lon, lat) in [(0.0, 0.0), (10.0, 50.0), (-120.0, 70.0), (179.99, -33.0)] {
            let ring = geodesic_circle(lon, lat, 1000.0);
            // geo's geodesic area wants counter-clockwise exteriors (Esri's are clockwise).
            let poly = to_geo(&[ring]).unwrap().orient(Direction::Default);
            let area = poly.geodesic_area_unsigned();
            let expected = std::f64::consts::PI * 1000.0 * 1000.0;
            let rel = (area - expected).abs() / expected;
            assert!(
                rel < 0.005,
                "at ({lon}, {lat}): {area} vs {expected} ({rel})"
            );
        }
    }

    #[test]
    fn planar_circle_is_clockwise_and_closed() {
        let ring = planar_circle(100.0, 200.0, 10.0);
        assert_eq!(ring.first(), ring.last());
        assert!(gp_model::geometry::ring_signed_area(&ring) < 0.0);
        for c in &ring {
            let r = ((c.x - 100.0).powi(2) + (c.y - 200.0).powi(2)).sqrt();
            assert!((r - 10.0).abs() < 1e-9);
        }
    }

    #[test]
    fn geodesic_radius_is_exact_at_every_vertex() {
        use geo::Distance;
        let ring = geodesic_circle(10.0, 50.0, 1524.0);
        for c in &ring {
            let d = Geodesic.distance(geo::Point::new(10.0, 50.0), geo::Point::new(c.x, c.y));
            assert!((d - 1524.0).abs() < 1e-6, "{d}");
        }
    }
}

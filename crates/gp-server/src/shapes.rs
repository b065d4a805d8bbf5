//! Esri rings to and from [geo] polygons (exteriors clockwise, holes after their
//! exterior), for the geometry work of tools and map images.

use geo::algorithm::orient::{Direction, Orient};
use geo::{LineString, MultiPolygon, Polygon as GeoPolygon};
use gp_model::Coord;

/// Rings (the first the exterior) as one geo polygon.
pub(crate) fn to_geo(rings: &[Vec<Coord>]) -> Option<GeoPolygon<f64>> {
    let mut it = rings
        .iter()
        .map(|r| LineString::from(r.iter().map(|c| (c.x, c.y)).collect::<Vec<_>>()));
    let exterior = it.next()?;
    Some(GeoPolygon::new(exterior, it.collect()))
}

/// A geo multipolygon as Esri rings.
pub(crate) fn from_geo(mp: &MultiPolygon<f64>) -> Vec<Vec<Coord>> {
    // Esri: exterior rings clockwise, holes counter-clockwise.
    let oriented = mp.orient(Direction::Reversed);
    let mut rings = Vec::new();
    for poly in &oriented.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            rings.push(ring.coords().map(|c| Coord::xy(c.x, c.y)).collect());
        }
    }
    rings
}

/// Splits Esri rings (clockwise exteriors, counter-clockwise holes) into polygons.
pub(crate) fn split_polygons(rings: &[Vec<Coord>]) -> Vec<GeoPolygon<f64>> {
    let mut polys: Vec<Vec<Vec<Coord>>> = Vec::new();
    for ring in rings {
        if gp_model::geometry::ring_signed_area(ring) <= 0.0 || polys.is_empty() {
            polys.push(vec![ring.clone()]);
        } else if let Some(last) = polys.last_mut() {
            last.push(ring.clone());
        }
    }
    polys.iter().filter_map(|p| to_geo(p)).collect()
}

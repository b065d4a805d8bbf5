//! Geometry as the simple-feature formats need it (GeoJSON, GeoPackage, Shapefile,
//! FlatGeobuf, CSV's WKT): rings closed, rings too short to be a ring dropped, and a
//! geometry that declares Z without giving every coordinate a Z read as 2-D (not
//! padded with zeros). Esri JSON output keeps geometries as they came. Each repair is
//! counted, and the counts become the warnings of the save.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use gp_model::{Coord, Feature, Geometry};

/// What [`fix_ring`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RingFix {
    /// Closed and long enough.
    Kept,
    /// The first position was repeated at the end.
    Closed,
    /// Fewer than 3 distinct positions: not a ring.
    Dropped,
}

fn same_xy(a: &Coord, b: &Coord) -> bool {
    a.x == b.x && a.y == b.y
}

/// True when `ring` needs no repair (the common case, checked without copying).
pub(crate) fn ring_ok(ring: &[Coord]) -> bool {
    ring.len() >= 4 && same_xy(&ring[0], &ring[ring.len() - 1])
}

/// Closes `ring` if open; says to drop it when fewer than 4 positions remain.
pub(crate) fn fix_ring(ring: &mut Vec<Coord>) -> RingFix {
    let mut fix = RingFix::Kept;
    if let (Some(first), Some(last)) = (ring.first().copied(), ring.last())
        && !same_xy(&first, last)
    {
        ring.push(first);
        fix = RingFix::Closed;
    }
    if ring.len() < 4 {
        RingFix::Dropped
    } else {
        fix
    }
}

/// The repairs of one output, counted from any thread.
#[derive(Debug)]
pub(crate) struct Fixes {
    closed: AtomicUsize,
    dropped: AtomicUsize,
    flattened: AtomicUsize,
    /// The first feature (0-based) that needed a repair.
    first: AtomicUsize,
}

impl Default for Fixes {
    fn default() -> Self {
        Fixes {
            closed: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            flattened: AtomicUsize::new(0),
            first: AtomicUsize::new(usize::MAX),
        }
    }
}

impl Fixes {
    /// Counts a ring repair of feature `index`.
    pub(crate) fn ring(&self, fix: RingFix, index: usize) {
        match fix {
            RingFix::Kept => return,
            RingFix::Closed => self.closed.fetch_add(1, Ordering::Relaxed),
            RingFix::Dropped => self.dropped.fetch_add(1, Ordering::Relaxed),
        };
        self.first.fetch_min(index, Ordering::Relaxed);
    }

    fn flattened(&self, index: usize) {
        self.flattened.fetch_add(1, Ordering::Relaxed);
        self.first.fetch_min(index, Ordering::Relaxed);
    }

    /// One sentence per kind of repair made.
    pub(crate) fn warnings(&self) -> Vec<String> {
        let first = self.first.load(Ordering::Relaxed);
        let mut w = Vec::new();
        let n = self.closed.load(Ordering::Relaxed);
        if n > 0 {
            w.push(format!(
                "{n} polygon ring(s) were not closed and were closed (the first in feature {first})"
            ));
        }
        let n = self.dropped.load(Ordering::Relaxed);
        if n > 0 {
            w.push(format!(
                "{n} polygon ring(s) with fewer than 3 distinct positions were dropped (the first in feature {first})"
            ));
        }
        let n = self.flattened.load(Ordering::Relaxed);
        if n > 0 {
            w.push(format!(
                "{n} geometr(y/ies) declared hasZ but had coordinates without Z and were written as 2-D (the first in feature {first})"
            ));
        }
        w
    }
}

/// True when the geometry has Z values but not on every coordinate.
fn partial_z(g: &Geometry) -> bool {
    if !g.dims().has_z {
        return false;
    }
    let missing = |cs: &[Coord]| cs.iter().any(|c| c.z.is_none());
    match g {
        Geometry::Multipoint(m) => missing(&m.points),
        Geometry::Polyline(p) => p.paths.iter().any(|c| missing(c)),
        Geometry::Polygon(p) => p.rings.iter().any(|c| missing(c)),
        _ => false,
    }
}

fn drop_z(g: &mut Geometry) {
    let flat = |cs: &mut Vec<Coord>| cs.iter_mut().for_each(|c| c.z = None);
    match g {
        Geometry::Multipoint(m) => {
            m.has_z = false;
            flat(&mut m.points);
        }
        Geometry::Polyline(p) => {
            p.has_z = false;
            p.paths.iter_mut().for_each(flat);
        }
        Geometry::Polygon(p) => {
            p.has_z = false;
            p.rings.iter_mut().for_each(flat);
        }
        _ => {}
    }
}

/// Feature `index` as a simple-feature format needs it: borrowed when nothing needs
/// repair (nearly always), else a repaired copy, the repairs counted in `fixes`.
pub(crate) fn repaired<'a>(f: &'a Feature, index: usize, fixes: &Fixes) -> Cow<'a, Feature> {
    let Some(g) = &f.geometry else {
        return Cow::Borrowed(f);
    };
    let rings_ok = match g {
        Geometry::Polygon(p) => p.rings.iter().all(|r| ring_ok(r)),
        _ => true,
    };
    let z = partial_z(g);
    if rings_ok && !z {
        return Cow::Borrowed(f);
    }
    let mut f = f.clone();
    if let Some(g) = &mut f.geometry {
        if z {
            drop_z(g);
            fixes.flattened(index);
        }
        if let Geometry::Polygon(p) = g {
            p.rings.retain_mut(|r| {
                let fix = fix_ring(r);
                fixes.ring(fix, index);
                fix != RingFix::Dropped
            });
        }
    }
    Cow::Owned(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(ring: &[(f64, f64)], want: RingFix, len: usize) {
        let mut r: Vec<Coord> = ring.iter().map(|(x, y)| Coord::xy(*x, *y)).collect();
        assert_eq!(fix_ring(&mut r), want);
        assert_eq!(r.len(), len);
        if want != RingFix::Dropped {
            assert!(ring_ok(&r));
        }
    }

    #[test]
    fn rings_are_closed_or_dropped() {
        check(&[(0., 0.), (0., 1.), (1., 1.), (0., 0.)], RingFix::Kept, 4);
        check(&[(0., 0.), (0., 1.), (1., 1.)], RingFix::Closed, 4);
        check(&[(0., 0.), (0., 1.)], RingFix::Dropped, 3);
        check(&[(0., 0.), (0., 1.), (0., 0.)], RingFix::Dropped, 3);
        check(&[], RingFix::Dropped, 0);
    }

    #[test]
    fn partial_z_is_written_as_2d_and_counted() {
        let g = Geometry::from_json(r#"{"hasZ": true, "rings": [[[0,0],[0,1],[1,1]]]}"#).unwrap();
        let f = Feature {
            geometry: Some(g),
            ..Default::default()
        };
        let fixes = Fixes::default();
        let r = repaired(&f, 7, &fixes);
        let Some(Geometry::Polygon(p)) = &r.geometry else {
            panic!("{r:?}")
        };
        assert!(!p.has_z && p.rings[0].len() == 4 && p.rings[0].iter().all(|c| c.z.is_none()));
        let w = fixes.warnings();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("feature 7") && w[1].contains("2-D"), "{w:?}");
    }
}

//! True curves (`curvePaths` / `curveRings`): kept losslessly, densified on request.

use std::f64::consts::{PI, TAU};
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::coord::{Coord, CoordSer, Dims, RawCoord};
use crate::error::{Error, Result};

/// One element of a curve path: the start point or a straight segment's end point
/// (`[x, y]`), or a curved segment object.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CurveElement {
    /// A plain vertex: the path's start, or the end of a straight segment.
    Point(Coord),
    /// A circular arc through `interior` to `end`: `{"c": [end, interior]}`.
    CircularArc {
        /// End point.
        end: Coord,
        /// A point on the arc between start and end.
        interior: Coord,
    },
    /// A circular or elliptic arc around `center`:
    /// `{"a": [end, center, minor, clockwise(, rotation, axis, ratio)]}`.
    Arc {
        /// End point (equal to the start for a full circle).
        end: Coord,
        /// Centre of the circle or ellipse.
        center: Coord,
        /// The arc is the minor one.
        minor: bool,
        /// The arc turns clockwise.
        clockwise: bool,
        /// Elliptic parameters; `None` for a circular arc.
        ellipse: Option<Ellipse>,
    },
    /// A cubic Bézier to `end`: `{"b": [end, control1, control2]}`.
    Bezier {
        /// End point.
        end: Coord,
        /// First control point.
        control1: Coord,
        /// Second control point.
        control2: Coord,
    },
}

/// Elliptic arc parameters of an [`CurveElement::Arc`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ellipse {
    /// Rotation of the major axis, radians counter-clockwise from the x axis.
    pub rotation: f64,
    /// Length of the semi-major axis.
    pub axis: f64,
    /// Minor to major axis ratio (0, 1].
    pub ratio: f64,
}

impl CurveElement {
    /// The point where this element ends.
    pub fn end(&self) -> Coord {
        match self {
            CurveElement::Point(c) => *c,
            CurveElement::CircularArc { end, .. }
            | CurveElement::Arc { end, .. }
            | CurveElement::Bezier { end, .. } => *end,
        }
    }

    pub(crate) fn coords(&self) -> impl Iterator<Item = &Coord> {
        let v: [Option<&Coord>; 3] = match self {
            CurveElement::Point(c) => [Some(c), None, None],
            CurveElement::CircularArc { end, interior } => [Some(end), Some(interior), None],
            CurveElement::Arc { end, center, .. } => [Some(end), Some(center), None],
            CurveElement::Bezier {
                end,
                control1,
                control2,
            } => [Some(end), Some(control1), Some(control2)],
        };
        v.into_iter().flatten()
    }
}

/// Densifies a curve path into plain vertices. Arcs get a vertex at least every
/// `max_angle` radians; Béziers are sampled in 32 steps. Z and M are interpolated.
pub fn densify_path(path: &[CurveElement], max_angle: f64) -> Vec<Coord> {
    let step = if max_angle.is_finite() && max_angle > 1e-6 {
        max_angle
    } else {
        PI / 36.0
    };
    let mut out: Vec<Coord> = Vec::with_capacity(path.len());
    for el in path {
        let Some(s) = out.last().copied() else {
            out.push(el.end());
            continue;
        };
        match el {
            CurveElement::Point(c) => out.push(*c),
            CurveElement::CircularArc { end, interior } => {
                match circle_through(&s, interior, end) {
                    Some((cx, cy, r)) => {
                        let a0 = (s.y - cy).atan2(s.x - cx);
                        let ai = (interior.y - cy).atan2(interior.x - cx);
                        let a1 = (end.y - cy).atan2(end.x - cx);
                        let ccw = ccw_sweep(a0, a1);
                        // The interior point tells the direction.
                        let sweep = if ccw_sweep(a0, ai) < ccw {
                            ccw
                        } else {
                            ccw - TAU
                        };
                        push_arc(&mut out, s, *end, (cx, cy), (r, r), 0.0, a0, sweep, step);
                    }
                    None => out.push(*end),
                }
            }
            CurveElement::Arc {
                end,
                center,
                clockwise,
                ellipse,
                ..
            } => {
                let (rot, a, b) = match ellipse {
                    Some(e) => (e.rotation, e.axis, e.axis * e.ratio),
                    None => {
                        let r = (s.x - center.x).hypot(s.y - center.y);
                        (0.0, r, r)
                    }
                };
                if a <= 0.0 || b <= 0.0 || !a.is_finite() || !b.is_finite() {
                    out.push(*end);
                    continue;
                }
                let param = |p: &Coord| {
                    let (dx, dy) = (p.x - center.x, p.y - center.y);
                    let (sn, cs) = rot.sin_cos();
                    let (u, v) = (dx * cs + dy * sn, -dx * sn + dy * cs);
                    (v / b).atan2(u / a)
                };
                let a0 = param(&s);
                let a1 = param(end);
                let full = (s.x - end.x).abs() < 1e-12 && (s.y - end.y).abs() < 1e-12;
                let sweep = match (full, clockwise) {
                    (true, false) => TAU,
                    (true, true) => -TAU,
                    (false, false) => ccw_sweep(a0, a1),
                    (false, true) => ccw_sweep(a0, a1) - TAU,
                };
                push_arc(
                    &mut out,
                    s,
                    *end,
                    (center.x, center.y),
                    (a, b),
                    rot,
                    a0,
                    sweep,
                    step,
                );
            }
            CurveElement::Bezier {
                end,
                control1,
                control2,
            } => {
                const N: usize = 32;
                for i in 1..=N {
                    let t = i as f64 / N as f64;
                    let u = 1.0 - t;
                    let (b0, b1, b2, b3) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
                    let mut c = lerp(&s, end, t);
                    c.x = b0 * s.x + b1 * control1.x + b2 * control2.x + b3 * end.x;
                    c.y = b0 * s.y + b1 * control1.y + b2 * control2.y + b3 * end.y;
                    if i == N {
                        c = *end;
                    }
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Counter-clockwise sweep from `a0` to `a1`, in (0, 2π].
fn ccw_sweep(a0: f64, a1: f64) -> f64 {
    let s = (a1 - a0).rem_euclid(TAU);
    if s <= 1e-12 { TAU } else { s }
}

fn lerp(a: &Coord, b: &Coord, t: f64) -> Coord {
    let mix = |p: Option<f64>, q: Option<f64>| match (p, q) {
        (Some(p), Some(q)) => Some(p + (q - p) * t),
        (p, q) => p.or(q),
    };
    Coord {
        x: a.x + (b.x - a.x) * t,
        y: a.y + (b.y - a.y) * t,
        z: mix(a.z, b.z),
        m: mix(a.m, b.m),
    }
}

#[allow(clippy::too_many_arguments)] // reason: one arc is described by this many numbers
fn push_arc(
    out: &mut Vec<Coord>,
    start: Coord,
    end: Coord,
    center: (f64, f64),
    radii: (f64, f64),
    rot: f64,
    a0: f64,
    sweep: f64,
    step: f64,
) {
    let n = ((sweep.abs() / step).ceil() as usize).clamp(1, 100_000);
    let (sn, cs) = rot.sin_cos();
    for i in 1..=n {
        if i == n {
            out.push(end);
            break;
        }
        let t = i as f64 / n as f64;
        let ang = a0 + sweep * t;
        let (u, v) = (radii.0 * ang.cos(), radii.1 * ang.sin());
        let mut c = lerp(&start, &end, t);
        c.x = center.0 + u * cs - v * sn;
        c.y = center.1 + u * sn + v * cs;
        out.push(c);
    }
}

fn circle_through(a: &Coord, b: &Coord, c: &Coord) -> Option<(f64, f64, f64)> {
    let d = 2.0 * (a.x * (b.y - c.y) + b.x * (c.y - a.y) + c.x * (a.y - b.y));
    if d.abs() < 1e-12 {
        return None;
    }
    let (a2, b2, c2) = (
        a.x * a.x + a.y * a.y,
        b.x * b.x + b.y * b.y,
        c.x * c.x + c.y * c.y,
    );
    let ux = (a2 * (b.y - c.y) + b2 * (c.y - a.y) + c2 * (a.y - b.y)) / d;
    let uy = (a2 * (c.x - b.x) + b2 * (a.x - c.x) + c2 * (b.x - a.x)) / d;
    Some((ux, uy, (a.x - ux).hypot(a.y - uy)))
}

// ---- serde ----

/// A curve element as written, before hasZ/hasM are applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawCurveElement {
    Point(RawCoord),
    C(RawCoord, RawCoord),
    A {
        end: RawCoord,
        center: RawCoord,
        minor: bool,
        clockwise: bool,
        ellipse: Option<Ellipse>,
    },
    B(RawCoord, RawCoord, RawCoord),
}

impl RawCurveElement {
    pub(crate) fn coords(&self) -> impl Iterator<Item = &RawCoord> {
        let v: [Option<&RawCoord>; 3] = match self {
            RawCurveElement::Point(c) => [Some(c), None, None],
            RawCurveElement::C(a, b) => [Some(a), Some(b), None],
            RawCurveElement::A { end, center, .. } => [Some(end), Some(center), None],
            RawCurveElement::B(a, b, c) => [Some(a), Some(b), Some(c)],
        };
        v.into_iter().flatten()
    }

    pub(crate) fn resolve(&self, dims: Dims, path: &dyn Fn() -> String) -> Result<CurveElement> {
        Ok(match self {
            RawCurveElement::Point(c) => CurveElement::Point(c.resolve(dims, path)?),
            RawCurveElement::C(e, i) => CurveElement::CircularArc {
                end: e.resolve(dims, path)?,
                interior: i.resolve(dims, path)?,
            },
            RawCurveElement::A {
                end,
                center,
                minor,
                clockwise,
                ellipse,
            } => CurveElement::Arc {
                end: end.resolve(dims, path)?,
                center: center.resolve(dims, path)?,
                minor: *minor,
                clockwise: *clockwise,
                ellipse: *ellipse,
            },
            RawCurveElement::B(e, c1, c2) => CurveElement::Bezier {
                end: e.resolve(dims, path)?,
                control1: c1.resolve(dims, path)?,
                control2: c2.resolve(dims, path)?,
            },
        })
    }
}

fn flag(v: &serde_json::Value) -> Option<bool> {
    match v {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        _ => None,
    }
}

fn raw_coord<E: de::Error>(v: &serde_json::Value, what: &str) -> std::result::Result<RawCoord, E> {
    RawCoord::deserialize(v).map_err(|e| E::custom(format!("{what}: {e}")))
}

impl<'de> Deserialize<'de> for RawCurveElement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCurveElement;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a coordinate array or a curve segment object {\"c\"|\"a\"|\"b\": [...]}",
                )
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> std::result::Result<RawCurveElement, A::Error> {
                RawCoord::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(RawCurveElement::Point)
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RawCurveElement, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom("empty curve segment object"));
                };
                let items: Vec<serde_json::Value> = map.next_value()?;
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "curve segment object has a second key `{extra}`"
                    )));
                }
                let need = |n: usize| -> std::result::Result<(), A::Error> {
                    if items.len() < n {
                        Err(de::Error::custom(format!(
                            "curve segment `{key}` needs {n} items, got {}",
                            items.len()
                        )))
                    } else {
                        Ok(())
                    }
                };
                match key.as_str() {
                    "c" => {
                        need(2)?;
                        Ok(RawCurveElement::C(
                            raw_coord(&items[0], "circular arc end")?,
                            raw_coord(&items[1], "circular arc interior point")?,
                        ))
                    }
                    "b" => {
                        need(3)?;
                        Ok(RawCurveElement::B(
                            raw_coord(&items[0], "bezier end")?,
                            raw_coord(&items[1], "bezier control point 1")?,
                            raw_coord(&items[2], "bezier control point 2")?,
                        ))
                    }
                    "a" => {
                        need(4)?;
                        let bad = |what: &str| de::Error::custom(format!("arc {what} must be 0/1"));
                        let minor = flag(&items[2]).ok_or_else(|| bad("minor flag"))?;
                        let clockwise = flag(&items[3]).ok_or_else(|| bad("clockwise flag"))?;
                        let ellipse = if items.len() >= 7 {
                            let num = |i: usize, what: &str| {
                                items[i].as_f64().filter(|f| f.is_finite()).ok_or_else(|| {
                                    de::Error::custom(format!(
                                        "elliptic arc {what} must be a number"
                                    ))
                                })
                            };
                            Some(Ellipse {
                                rotation: num(4, "rotation")?,
                                axis: num(5, "axis")?,
                                ratio: num(6, "ratio")?,
                            })
                        } else {
                            None
                        };
                        Ok(RawCurveElement::A {
                            end: raw_coord(&items[0], "arc end")?,
                            center: raw_coord(&items[1], "arc center")?,
                            minor,
                            clockwise,
                            ellipse,
                        })
                    }
                    other => Err(de::Error::custom(format!(
                        "unknown curve segment `{other}` (expected c, a or b)"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Serialises a curve element with the geometry's dims.
pub(crate) struct CurveSer<'a>(pub(crate) &'a CurveElement, pub(crate) Dims);

impl Serialize for CurveSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let d = self.1;
        match self.0 {
            CurveElement::Point(c) => CoordSer(c, d).serialize(s),
            CurveElement::CircularArc { end, interior } => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("c", &[CoordSer(end, d), CoordSer(interior, d)])?;
                m.end()
            }
            CurveElement::Bezier {
                end,
                control1,
                control2,
            } => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(
                    "b",
                    &[
                        CoordSer(end, d),
                        CoordSer(control1, d),
                        CoordSer(control2, d),
                    ],
                )?;
                m.end()
            }
            CurveElement::Arc {
                end,
                center,
                minor,
                clockwise,
                ellipse,
            } => {
                struct ArcItems<'a>(&'a CurveElement, Dims);
                impl Serialize for ArcItems<'_> {
                    fn serialize<S: Serializer>(
                        &self,
                        s: S,
                    ) -> std::result::Result<S::Ok, S::Error> {
                        let CurveElement::Arc {
                            end,
                            center,
                            minor,
                            clockwise,
                            ellipse,
                        } = self.0
                        else {
                            return s.serialize_unit();
                        };
                        let n = if ellipse.is_some() { 7 } else { 4 };
                        let mut q = s.serialize_seq(Some(n))?;
                        q.serialize_element(&CoordSer(end, self.1))?;
                        q.serialize_element(&CoordSer(center, self.1))?;
                        q.serialize_element(&u8::from(*minor))?;
                        q.serialize_element(&u8::from(*clockwise))?;
                        if let Some(e) = ellipse {
                            q.serialize_element(&e.rotation)?;
                            q.serialize_element(&e.axis)?;
                            q.serialize_element(&e.ratio)?;
                        }
                        q.end()
                    }
                }
                let _ = (end, center, minor, clockwise, ellipse);
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("a", &ArcItems(self.0, d))?;
                m.end()
            }
        }
    }
}

/// Serialises curve paths.
pub(crate) struct CurvePathsSer<'a>(pub(crate) &'a [Vec<CurveElement>], pub(crate) Dims);

impl Serialize for CurvePathsSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        struct One<'a>(&'a [CurveElement], Dims);
        impl Serialize for One<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|e| CurveSer(e, self.1)))
            }
        }
        s.collect_seq(self.0.iter().map(|p| One(p, self.1)))
    }
}

pub(crate) fn check_curve_start(path: &[CurveElement], at: &dyn Fn() -> String) -> Result<()> {
    match path.first() {
        None | Some(CurveElement::Point(_)) => Ok(()),
        Some(_) => Err(Error::Geometry {
            path: at(),
            reason: "a curve path must start with a plain [x, y] point".into(),
        }),
    }
}

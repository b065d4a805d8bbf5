//! Coordinates and the 2/3/4-value rule of Esri JSON.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// One vertex. `z` and `m` are `None` when the geometry has no such dimension, or
/// (for `m`) when the server wrote `null`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Coord {
    /// X (easting or longitude).
    pub x: f64,
    /// Y (northing or latitude).
    pub y: f64,
    /// Z (height), if any.
    pub z: Option<f64>,
    /// M (measure), if any.
    pub m: Option<f64>,
}

impl Coord {
    /// A 2D coordinate.
    pub const fn xy(x: f64, y: f64) -> Self {
        Coord {
            x,
            y,
            z: None,
            m: None,
        }
    }

    /// A 3D coordinate.
    pub const fn xyz(x: f64, y: f64, z: f64) -> Self {
        Coord {
            x,
            y,
            z: Some(z),
            m: None,
        }
    }
}

/// Which optional dimensions a geometry (or a feature set) declares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Dims {
    /// `hasZ`.
    pub has_z: bool,
    /// `hasM`.
    pub has_m: bool,
}

impl Dims {
    /// Combines explicit flags with inherited ones: an explicit `Some` wins.
    pub(crate) fn inherit(own_z: Option<bool>, own_m: Option<bool>, parent: Dims) -> Dims {
        Dims {
            has_z: own_z.unwrap_or(parent.has_z),
            has_m: own_m.unwrap_or(parent.has_m),
        }
    }
}

/// A coordinate as written in the document, before hasZ/hasM are known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RawCoord {
    v: [Option<f64>; 4],
    n: u8,
}

impl RawCoord {
    /// Number of values written.
    pub(crate) fn len(&self) -> u8 {
        self.n
    }

    /// Resolves the 2/3/4-value rule. `path` names the coordinate for errors.
    pub(crate) fn resolve(&self, dims: Dims, path: &dyn Fn() -> String) -> Result<Coord> {
        let (Some(x), Some(y)) = (self.v[0], self.v[1]) else {
            return Err(Error::Geometry {
                path: path(),
                reason: "x and y must be numbers, not null".into(),
            });
        };
        let (z, m) = match self.n {
            2 => (None, None),
            3 if dims.has_z => (self.v[2], None),
            3 if dims.has_m => (None, self.v[2]),
            3 => {
                return Err(Error::Geometry {
                    path: path(),
                    reason: "a coordinate has 3 values but the geometry declares neither hasZ nor \
                             hasM, so the third value is ambiguous"
                        .into(),
                });
            }
            _ => (self.v[2], self.v[3]),
        };
        Ok(Coord { x, y, z, m })
    }
}

impl<'de> Deserialize<'de> for RawCoord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCoord;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a coordinate array of 2 to 4 numbers")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<RawCoord, A::Error> {
                let mut v = [None; 4];
                let mut n = 0u8;
                while let Some(val) = seq.next_element::<Option<f64>>()? {
                    if n >= 4 {
                        return Err(de::Error::invalid_length(
                            5,
                            &"a coordinate of at most 4 values (x, y, z, m)",
                        ));
                    }
                    if val.is_some_and(|f| !f.is_finite()) {
                        return Err(de::Error::custom("coordinate values must be finite"));
                    }
                    v[n as usize] = val;
                    n += 1;
                }
                if n < 2 {
                    return Err(de::Error::invalid_length(
                        n as usize,
                        &"a coordinate of at least 2 values (x, y)",
                    ));
                }
                Ok(RawCoord { v, n })
            }
        }
        d.deserialize_seq(V)
    }
}

/// Serialises a coordinate as `[x, y(, z)(, m)]` following the geometry's dims.
pub(crate) struct CoordSer<'a>(pub(crate) &'a Coord, pub(crate) Dims);

impl Serialize for CoordSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let Dims { has_z, has_m } = self.1;
        let len = 2 + usize::from(has_z) + usize::from(has_m);
        let mut seq = s.serialize_seq(Some(len))?;
        seq.serialize_element(&self.0.x)?;
        seq.serialize_element(&self.0.y)?;
        if has_z {
            seq.serialize_element(&self.0.z)?;
        }
        if has_m {
            seq.serialize_element(&self.0.m)?;
        }
        seq.end()
    }
}

/// Serialises a list of coordinates with one dims setting.
pub(crate) struct CoordsSer<'a>(pub(crate) &'a [Coord], pub(crate) Dims);

impl Serialize for CoordsSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|c| CoordSer(c, self.1)))
    }
}

/// Serialises a list of paths or rings.
pub(crate) struct PathsSer<'a>(pub(crate) &'a [Vec<Coord>], pub(crate) Dims);

impl Serialize for PathsSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|p| CoordsSer(p, self.1)))
    }
}

/// Dims that cover every coordinate: declared flags, or any value actually present.
pub(crate) fn effective_dims<'a>(declared: Dims, coords: impl Iterator<Item = &'a Coord>) -> Dims {
    let mut d = declared;
    if d.has_z && d.has_m {
        return d;
    }
    for c in coords {
        d.has_z |= c.z.is_some();
        d.has_m |= c.m.is_some();
    }
    d
}

/// Checks that a coordinate built in code (not parsed) is finite.
pub(crate) fn check_finite(c: &Coord, path: &dyn Fn() -> String) -> Result<()> {
    let ok = c.x.is_finite()
        && c.y.is_finite()
        && c.z.is_none_or(f64::is_finite)
        && c.m.is_none_or(f64::is_finite);
    if ok {
        Ok(())
    } else {
        Err(Error::Geometry {
            path: path(),
            reason: format!("coordinate ({}, {}) has a non-finite value", c.x, c.y),
        })
    }
}

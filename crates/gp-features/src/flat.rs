//! Flat feature batches: the features of a conversion laid out in a few shared
//! vectors (attribute slots in schema order, one coordinate array, part ends) instead of
//! one `Feature` with its own maps and vectors each.
//!
//! A batch is filled by a byte-level parser for the plain Esri JSON features that make
//! up nearly all real data (2-D points, multipoints, paths and rings of numbers;
//! attributes that are strings, numbers, booleans or null). Anything else (Z/M,
//! curves, `NaN` coordinates, escaped keys, nested attribute values, unknown keys...) is
//! parsed by gp-model's complete serde reader and flattened here, so both paths give the
//! same result and the same errors. The writers of the formats that a conversion
//! benchmarks against GDAL (GeoJSON, FlatGeobuf, GeoPackage) encode these batches in
//! parallel.

use std::collections::HashMap;

use gp_model::geometry::DEFAULT_DENSIFY_ANGLE;
use gp_model::{AttrValue, Coord, Feature, FeatureSet, Geometry};

use crate::repair::{Fixes, RingFix, fix_ring, repaired, ring_ok};

/// The attribute layout of a batch: the feature set's field names, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlatSchema {
    names: Vec<String>,
    lookup: HashMap<String, usize>,
}

impl FlatSchema {
    pub(crate) fn new(fs: &FeatureSet) -> Self {
        let names: Vec<String> = fs
            .fields
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|f| f.name.clone())
            .collect();
        let mut lookup = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            // The first of duplicate names wins, as a lookup by name in a map would.
            lookup.entry(n.clone()).or_insert(i);
        }
        FlatSchema { names, lookup }
    }

    /// The slot of an attribute name.
    pub(crate) fn slot(&self, name: &str) -> Option<usize> {
        if self.names.len() <= 16 {
            self.names.iter().position(|n| n == name)
        } else {
            self.lookup.get(name).copied()
        }
    }

    pub(crate) fn slot_bytes(&self, name: &[u8]) -> Option<usize> {
        if self.names.len() <= 16 {
            self.names.iter().position(|n| n.as_bytes() == name)
        } else {
            std::str::from_utf8(name)
                .ok()
                .and_then(|s| self.lookup.get(s).copied())
        }
    }

    /// Number of slots per feature.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// The geometry kinds a flat batch holds (envelopes become polygons, curves are
/// densified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Point,
    Multipoint,
    Polyline,
    Polygon,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Point => "point",
            Kind::Multipoint => "multipoint",
            Kind::Polyline => "polyline",
            Kind::Polygon => "polygon",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub(crate) kind: Option<Kind>,
    pub(crate) z: bool,
    /// Range in `parts`.
    pub(crate) p0: usize,
    pub(crate) p1: usize,
}

/// One feature's geometry in a batch: parts of coordinates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlatGeom<'a> {
    pub(crate) kind: Kind,
    pub(crate) has_z: bool,
    coords: &'a [Coord],
    /// Absolute end of each part in `coords`; the first part starts at `start`.
    ends: &'a [usize],
    start: usize,
}

impl<'a> FlatGeom<'a> {
    /// The parts (one for a point or multipoint; paths; rings), never empty ones.
    pub(crate) fn parts(&self) -> impl ExactSizeIterator<Item = &'a [Coord]> + Clone + 'a {
        let (coords, ends, start) = (self.coords, self.ends, self.start);
        (0..ends.len()).map(move |i| {
            let s = if i == 0 { start } else { ends[i - 1] };
            &coords[s..ends[i]]
        })
    }

    /// The same coordinates read as another kind (a point as a multipoint of one).
    pub(crate) fn as_kind(&self, kind: Kind) -> FlatGeom<'a> {
        FlatGeom { kind, ..*self }
    }

    /// All coordinates.
    pub(crate) fn coords(&self) -> &'a [Coord] {
        &self.coords[self.start..self.ends.last().copied().unwrap_or(self.start)]
    }

    /// True when there are no coordinates.
    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// `[minx, miny, maxx, maxy]` (infinite when empty).
    pub(crate) fn bbox(&self) -> [f64; 4] {
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for c in self.coords() {
            b[0] = b[0].min(c.x);
            b[1] = b[1].min(c.y);
            b[2] = b[2].max(c.x);
            b[3] = b[3].max(c.y);
        }
        b
    }

    /// A polygon's rings grouped into polygons (exterior first), as Esri's rings are.
    pub(crate) fn polygons(&self) -> Vec<Vec<&'a [Coord]>> {
        let rings: Vec<&'a [Coord]> = self.parts().collect();
        if rings.len() == 1 {
            return vec![rings];
        }
        gp_model::esrijson::group_rings(&rings)
            .into_iter()
            .map(|p| p.into_iter().copied().collect())
            .collect()
    }
}

/// Features laid out flat; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct FlatBatch {
    /// Index of the first feature in the whole input.
    pub(crate) first: usize,
    pub(crate) width: usize,
    /// `width` slots per feature; `None` where the feature has no such key.
    pub(crate) attrs: Vec<Option<Cell>>,
    /// The text of the [`Cell::Text`] values, one after another.
    pub(crate) text: String,
    /// Attributes whose names are not in the schema: (feature in batch, name, value).
    pub(crate) extras: Vec<(usize, String, AttrValue)>,
    pub(crate) slots: Vec<Slot>,
    pub(crate) coords: Vec<Coord>,
    pub(crate) ends: Vec<usize>,
}

/// An attribute slot's value: text read by the fast reader is a range of the
/// batch's text (no allocation per value), the rest as the model has it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Value(AttrValue),
    Text(usize, usize),
}

/// One feature of a batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlatFeature<'a> {
    /// Attribute slots in schema order.
    cells: &'a [Option<Cell>],
    /// The batch's text.
    text: &'a str,
    /// The geometry, `None` when null.
    pub(crate) geometry: Option<FlatGeom<'a>>,
}

impl FlatFeature<'_> {
    /// Attribute slot `k` (schema order), `None` where the feature has no such key.
    /// Text is copied into `scratch` (its room kept from value to value), which the
    /// answer then borrows.
    pub(crate) fn attr<'s>(
        &'s self,
        k: usize,
        scratch: &'s mut AttrValue,
    ) -> Option<&'s AttrValue> {
        match self.cells.get(k)?.as_ref()? {
            Cell::Value(v) => Some(v),
            Cell::Text(from, to) => {
                let t = self.text.get(*from..*to)?;
                if let AttrValue::String(s) = &mut *scratch {
                    s.clear();
                    s.push_str(t);
                } else {
                    *scratch = AttrValue::String(t.to_string());
                }
                Some(scratch)
            }
        }
    }

    /// Number of attribute slots.
    pub(crate) fn width(&self) -> usize {
        self.cells.len()
    }
}

impl FlatBatch {
    pub(crate) fn new(schema: &FlatSchema, first: usize) -> Self {
        FlatBatch {
            first,
            width: schema.len(),
            ..Default::default()
        }
    }

    /// Empties the batch for features from `first` on, keeping its buffers' room.
    pub(crate) fn reuse(&mut self, first: usize) {
        self.first = first;
        self.attrs.clear();
        self.text.clear();
        self.extras.clear();
        self.slots.clear();
        self.coords.clear();
        self.ends.clear();
    }

    /// Number of features.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Feature `i` of the batch.
    pub(crate) fn get(&self, i: usize) -> FlatFeature<'_> {
        let s = self.slots[i];
        FlatFeature {
            cells: &self.attrs[i * self.width..(i + 1) * self.width],
            text: &self.text,
            geometry: s.kind.map(|kind| FlatGeom {
                kind,
                has_z: s.z,
                coords: &self.coords,
                ends: &self.ends[s.p0..s.p1],
                start: if s.p0 == 0 { 0 } else { self.ends[s.p0 - 1] },
            }),
        }
    }

    /// Every feature's attribute slots, as values.
    #[cfg(test)]
    #[cfg(test)]
    pub(crate) fn attr_values(&self) -> Vec<Vec<Option<AttrValue>>> {
        let mut scratch = AttrValue::Null;
        (0..self.len())
            .map(|i| {
                let f = self.get(i);
                (0..f.width())
                    .map(|k| f.attr(k, &mut scratch).cloned())
                    .collect()
            })
            .collect()
    }

    /// Attributes of feature `i` whose names are not in the schema.
    pub(crate) fn extras(&self, i: usize) -> impl Iterator<Item = (&str, &AttrValue)> {
        let from = self.extras.partition_point(|e| e.0 < i);
        self.extras[from..]
            .iter()
            .take_while(move |e| e.0 == i)
            .map(|e| (e.1.as_str(), &e.2))
    }

    pub(crate) fn begin(&mut self) -> usize {
        let i = self.slots.len();
        self.attrs.resize(self.attrs.len() + self.width, None);
        i
    }

    pub(crate) fn set_attr(&mut self, schema: &FlatSchema, i: usize, name: &str, v: AttrValue) {
        match schema.slot(name) {
            Some(k) => self.attrs[i * self.width + k] = Some(Cell::Value(v)),
            None => self.extras.push((i, name.to_string(), v)),
        }
    }

    /// Adds a feature of the full model, repaired as simple features need (see
    /// [`crate::repair`]).
    pub(crate) fn push(&mut self, schema: &FlatSchema, f: &Feature, fixes: &Fixes) {
        let i = self.begin();
        let f = repaired(f, self.first + i, fixes);
        for (k, v) in &f.attributes {
            self.set_attr(schema, i, k, v.clone());
        }
        let p0 = self.ends.len();
        let dims = f.geometry.as_ref().map(Geometry::dims).unwrap_or_default();
        let kind = f.geometry.as_ref().and_then(|g| self.push_geometry(g));
        self.slots.push(Slot {
            kind,
            z: dims.has_z,
            p0,
            p1: self.ends.len(),
        });
    }

    /// Closes the open rings of the last feature's polygon and drops those too short
    /// to be rings (the fast reader's features; the model's are repaired before).
    pub(crate) fn fix_rings(&mut self, fixes: &Fixes) {
        let Some(slot) = self.slots.last().copied() else {
            return;
        };
        if slot.kind != Some(Kind::Polygon) {
            return;
        }
        let start = |ends: &[usize], i: usize| if i == 0 { 0 } else { ends[i - 1] };
        let ok =
            (slot.p0..slot.p1).all(|i| ring_ok(&self.coords[start(&self.ends, i)..self.ends[i]]));
        if ok {
            return;
        }
        let index = self.first + self.slots.len() - 1;
        let from = start(&self.ends, slot.p0);
        let tail = self.coords.split_off(from);
        let ends: Vec<usize> = self.ends.drain(slot.p0..).collect();
        let mut s = from;
        for e in ends {
            let mut ring = tail[s - from..e - from].to_vec();
            s = e;
            let fix = fix_ring(&mut ring);
            fixes.ring(fix, index);
            if fix != RingFix::Dropped {
                self.push_part(&ring);
            }
        }
        if let Some(last) = self.slots.last_mut() {
            last.p1 = self.ends.len();
        }
    }

    fn push_part<'c>(&mut self, cs: impl IntoIterator<Item = &'c Coord>) {
        let before = self.coords.len();
        self.coords.extend(cs);
        if self.coords.len() > before {
            self.ends.push(self.coords.len());
        }
    }

    fn push_geometry(&mut self, g: &Geometry) -> Option<Kind> {
        match g {
            Geometry::Point(p) => {
                self.push_part(p.coord.as_ref());
                Some(Kind::Point)
            }
            Geometry::Multipoint(mp) => {
                self.push_part(&mp.points);
                Some(Kind::Multipoint)
            }
            Geometry::Polyline(pl) => {
                for p in pl.linear_paths(DEFAULT_DENSIFY_ANGLE).iter() {
                    self.push_part(p);
                }
                Some(Kind::Polyline)
            }
            Geometry::Polygon(pg) => {
                for r in pg.linear_rings(DEFAULT_DENSIFY_ANGLE).iter() {
                    self.push_part(r);
                }
                Some(Kind::Polygon)
            }
            Geometry::Envelope(e) => {
                if let Some([x0, y0, x1, y1]) = e.bounds() {
                    // Clockwise, as an Esri exterior ring.
                    let c = Coord::xy;
                    self.push_part(&[c(x0, y0), c(x0, y1), c(x1, y1), c(x1, y0), c(x0, y0)]);
                }
                Some(Kind::Polygon)
            }
            // A geometry type this crate does not know yet: null.
            _ => None,
        }
    }
}

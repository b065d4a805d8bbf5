//! Building a [`FeatureSet`] from any geozero source.

use geozero::error::{GeozeroError, Result as GzResult};
use geozero::{
    ColumnValue, CoordDimensions, FeatureProcessor, GeomProcessor, GeozeroDatasource,
    GeozeroGeometry, PropertyProcessor,
};
use indexmap::IndexMap;

use crate::featureset::{Feature, FeatureSet};
use crate::fields::{AttrValue, Attributes, Field, FieldType};
use crate::geometry::sr::SpatialReference;
use crate::geometry::{
    Coord, Geometry, GeometryType, Multipoint, Point, Polygon, Polyline, ring_signed_area,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Point,
    MultiPoint,
    Line,
    MultiLine,
    Polygon,
    MultiPolygon,
}

/// What a column's values have been so far, to pick its Esri field type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColKind {
    Small,
    Int,
    Big,
    Single,
    Double,
    Date,
    Text,
    Blob,
}

impl ColKind {
    fn merge(self, other: ColKind) -> ColKind {
        use ColKind::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Text, _) | (_, Text) => Text,
            (Blob, _) | (_, Blob) => Text,
            (Date, _) | (_, Date) => Text,
            (Single | Double, Small | Int | Big) | (Small | Int | Big, Single | Double) => Double,
            (Single, Double) | (Double, Single) => Double,
            (Small, Int) | (Int, Small) => Int,
            _ => Big,
        }
    }

    fn field_type(self) -> FieldType {
        match self {
            ColKind::Small => FieldType::SmallInteger,
            ColKind::Int => FieldType::Integer,
            ColKind::Big => FieldType::BigInteger,
            ColKind::Single => FieldType::Single,
            ColKind::Double => FieldType::Double,
            ColKind::Date => FieldType::Date,
            ColKind::Text => FieldType::String,
            ColKind::Blob => FieldType::Blob,
        }
    }
}

/// A geozero `FeatureProcessor` that builds an Esri JSON [`FeatureSet`].
///
/// Field types are inferred from the values (integers narrowed to the smallest Esri
/// type that holds every value, mixed columns widened), polygons are re-oriented to
/// Esri's rule (exterior rings clockwise, holes counter-clockwise), and points mixed
/// with multipoints become multipoints. Geometry collections and curved geozero
/// geometries are refused with an error naming the feature.
///
/// ```
/// use geozero::geojson::GeoJson;
/// use gp_model::esrijson::ToFeatureSet;
/// let mut src = GeoJson(r#"{"type":"FeatureCollection","features":[
///   {"type":"Feature","properties":{"name":"a","n":1},"geometry":{"type":"Point","coordinates":[1,2]}}]}"#);
/// let fs = src.to_feature_set().unwrap();
/// assert_eq!(fs.geometry_type, Some(gp_model::GeometryType::Point));
/// assert_eq!(fs.features[0].attributes["name"].as_str(), Some("a"));
/// ```
#[derive(Debug, Clone)]
pub struct FeatureSetBuilder {
    fs: FeatureSet,
    columns: IndexMap<String, (ColKind, u32)>,
    attrs: Attributes,
    geometry: Option<Geometry>,
    kind: Kind,
    in_polygon: bool,
    ring_index: usize,
    coords: Vec<Coord>,
    parts: Vec<Vec<Coord>>,
    feature_index: u64,
    srid: Option<i32>,
    /// A multipoint was built: points become multipoints.
    saw_multi: bool,
}

impl Default for FeatureSetBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn err(msg: String) -> GeozeroError {
    GeozeroError::Geometry(msg)
}

impl FeatureSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        FeatureSetBuilder {
            fs: FeatureSet::default(),
            columns: IndexMap::new(),
            attrs: Attributes::new(),
            geometry: None,
            kind: Kind::None,
            in_polygon: false,
            ring_index: 0,
            coords: Vec::new(),
            parts: Vec::new(),
            feature_index: 0,
            srid: None,
            saw_multi: false,
        }
    }

    /// The finished feature set.
    pub fn finish(mut self) -> crate::Result<FeatureSet> {
        let features = self.take_features();
        let mut fs = self.schema();
        fs.features = features;
        Ok(fs)
    }

    /// Takes in what `later` built from the features that follow this builder's: its
    /// columns (types widened, columns first seen there added after this one's), its
    /// geometry type, dimensions, spatial reference and multipoints, and its features,
    /// appended. A source processed in consecutive slices, one builder each (in
    /// parallel, say), and absorbed in order gives what one builder over the whole
    /// source gives: column types only widen, in the same way whatever the order.
    ///
    /// Fails, changing nothing, when the two geometry types do not mix (lines after
    /// points, say); one builder over the source names the feature where they meet.
    pub fn absorb(&mut self, later: FeatureSetBuilder) -> crate::Result<()> {
        match (&self.fs.geometry_type, &later.fs.geometry_type) {
            (Some(a), Some(b))
                if a != b
                    && !(matches!(a, GeometryType::Point | GeometryType::Multipoint)
                        && matches!(b, GeometryType::Point | GeometryType::Multipoint)) =>
            {
                return Err(crate::Error::Geometry {
                    path: "features".into(),
                    reason: format!("geometry type {b} does not match the feature set's {a}"),
                });
            }
            (None, Some(b)) => self.fs.geometry_type = Some(b.clone()),
            _ => {}
        }
        self.fs.has_z |= later.fs.has_z;
        self.fs.has_m |= later.fs.has_m;
        self.saw_multi |= later.saw_multi;
        self.srid = self.srid.or(later.srid);
        for (name, (kind, len)) in later.columns {
            self.column(&name, kind, len);
        }
        self.fs.features.extend(later.fs.features);
        Ok(())
    }

    /// The schema of everything processed so far: fields (each column's type widened
    /// over every value seen), geometry type, dimensions and spatial reference; no
    /// features. (It copies the features not taken yet: call it after
    /// [`take_features`](FeatureSetBuilder::take_features).)
    pub fn schema(&self) -> FeatureSet {
        let mut fields = Vec::with_capacity(self.columns.len());
        for (name, (kind, len)) in &self.columns {
            let mut f = Field::new(name.clone(), kind.field_type()).with_alias(name.clone());
            if *kind == ColKind::Text {
                f.length = Some((*len).max(1));
            }
            fields.push(f);
        }
        let mut fs = FeatureSet {
            features: Vec::new(),
            fields: Some(fields),
            ..self.fs.clone()
        };
        // Points mixed with multipoints: everything becomes a multipoint.
        if self.saw_multi {
            fs.geometry_type = Some(GeometryType::Multipoint);
        }
        if fs.spatial_reference.is_none() {
            fs.spatial_reference = self.srid.map(SpatialReference::from_wkid);
        }
        fs
    }

    /// Removes and returns the features built so far, shaped as [`finish`] shapes
    /// them with the columns seen so far: every column in column order (absent values
    /// null), values converted to their column's type, points as multipoints once a
    /// multipoint was seen.
    ///
    /// This streams a source whose schema needs every feature: a first pass over the
    /// whole source (taking and dropping the features as it goes, so memory stays
    /// bounded) settles the columns; a second pass over the same source, through the
    /// same builder, then takes features exactly as `finish` would give them.
    ///
    /// [`finish`]: FeatureSetBuilder::finish
    pub fn take_features(&mut self) -> Vec<Feature> {
        let mut features = std::mem::take(&mut self.fs.features);
        for feature in &mut features {
            if self.saw_multi
                && let Some(Geometry::Point(p)) = &feature.geometry
            {
                feature.geometry = Some(Geometry::Multipoint(Multipoint {
                    has_z: self.fs.has_z,
                    has_m: self.fs.has_m,
                    points: p.coord.into_iter().collect(),
                    spatial_reference: None,
                }));
            }
            // A rectangular table: every column in column order, absent values null.
            if feature.attributes.len() != self.columns.len()
                || feature
                    .attributes
                    .keys()
                    .zip(self.columns.keys())
                    .any(|(a, b)| a != b)
            {
                let mut attrs = Attributes::with_capacity(self.columns.len());
                for name in self.columns.keys() {
                    let v = feature
                        .attributes
                        .swap_remove(name)
                        .unwrap_or(AttrValue::Null);
                    attrs.insert(name.clone(), v);
                }
                feature.attributes = attrs;
            }
            for (name, v) in feature.attributes.iter_mut() {
                let Some((kind, _)) = self.columns.get(name) else {
                    continue;
                };
                let nv = match (kind, &*v) {
                    (ColKind::Text, AttrValue::Int(i)) => Some(AttrValue::String(i.to_string())),
                    (ColKind::Text, AttrValue::UInt(i)) => Some(AttrValue::String(i.to_string())),
                    (ColKind::Text, AttrValue::Float(f)) => Some(AttrValue::String(f.to_string())),
                    (ColKind::Double | ColKind::Single, AttrValue::Int(i)) => {
                        Some(AttrValue::Float(*i as f64))
                    }
                    _ => None,
                };
                if let Some(nv) = nv {
                    *v = nv;
                }
            }
        }
        features
    }

    fn push_coord(&mut self, c: Coord) -> GzResult<()> {
        let finite = c.x.is_finite()
            && c.y.is_finite()
            && c.z.is_none_or(f64::is_finite)
            && c.m.is_none_or(f64::is_finite);
        if !finite {
            return Err(err(format!(
                "feature {}: coordinate ({}, {}) is not finite",
                self.feature_index, c.x, c.y
            )));
        }
        self.fs.has_z |= c.z.is_some();
        self.fs.has_m |= c.m.is_some();
        self.coords.push(c);
        Ok(())
    }

    fn set_geometry(&mut self, g: Geometry) -> GzResult<()> {
        let t = g.geometry_type();
        match &self.fs.geometry_type {
            None => self.fs.geometry_type = Some(t),
            Some(existing) if *existing == t => {}
            Some(GeometryType::Point | GeometryType::Multipoint)
                if matches!(t, GeometryType::Point | GeometryType::Multipoint) => {}
            Some(existing) => {
                return Err(err(format!(
                    "feature {}: geometry type {t} does not match the feature set's {existing}",
                    self.feature_index
                )));
            }
        }
        self.geometry = Some(g);
        self.kind = Kind::None;
        Ok(())
    }

    fn unsupported(&self, what: &str) -> GeozeroError {
        err(format!(
            "feature {}: {what} cannot be stored in an Esri JSON feature set",
            self.feature_index
        ))
    }
}

/// Builds a [`FeatureSet`] from any geozero datasource.
pub trait ToFeatureSet {
    /// Processes the source into a feature set.
    fn to_feature_set(&mut self) -> crate::Result<FeatureSet>;
}

impl<T: GeozeroDatasource> ToFeatureSet for T {
    fn to_feature_set(&mut self) -> crate::Result<FeatureSet> {
        let mut b = FeatureSetBuilder::new();
        self.process(&mut b)?;
        b.finish()
    }
}

/// Converts one geozero geometry (WKT, GeoJSON geometry, geo-types, ...) to Esri JSON.
pub fn geometry_from_geozero<G: GeozeroGeometry>(g: &G) -> crate::Result<Geometry> {
    let mut b = FeatureSetBuilder::new();
    g.process_geom(&mut b)?;
    b.geometry.take().ok_or_else(|| crate::Error::Geometry {
        path: "geometry".into(),
        reason: "the source produced no geometry".into(),
    })
}

impl GeomProcessor for FeatureSetBuilder {
    fn dimensions(&self) -> CoordDimensions {
        CoordDimensions::xyzm()
    }

    fn srid(&mut self, srid: Option<i32>) -> GzResult<()> {
        if self.srid.is_none() {
            self.srid = srid.filter(|s| *s > 0);
        }
        Ok(())
    }

    fn xy(&mut self, x: f64, y: f64, _idx: usize) -> GzResult<()> {
        self.push_coord(Coord::xy(x, y))
    }

    fn coordinate(
        &mut self,
        x: f64,
        y: f64,
        z: Option<f64>,
        m: Option<f64>,
        _t: Option<f64>,
        _tm: Option<u64>,
        _idx: usize,
    ) -> GzResult<()> {
        self.push_coord(Coord { x, y, z, m })
    }

    fn empty_point(&mut self, _idx: usize) -> GzResult<()> {
        if self.kind == Kind::MultiPoint {
            return Ok(());
        }
        self.set_geometry(Geometry::Point(Point::default()))
    }

    fn point_begin(&mut self, _idx: usize) -> GzResult<()> {
        if self.kind != Kind::MultiPoint {
            self.kind = Kind::Point;
            self.coords.clear();
        }
        Ok(())
    }

    fn point_end(&mut self, _idx: usize) -> GzResult<()> {
        if self.kind == Kind::Point {
            let c = self.coords.first().copied();
            self.coords.clear();
            self.set_geometry(Geometry::Point(Point {
                coord: c,
                spatial_reference: None,
            }))?;
        }
        Ok(())
    }

    fn multipoint_begin(&mut self, size: usize, _idx: usize) -> GzResult<()> {
        self.kind = Kind::MultiPoint;
        self.coords.clear();
        self.coords.reserve(size.min(1 << 16));
        Ok(())
    }

    fn multipoint_end(&mut self, _idx: usize) -> GzResult<()> {
        let points = std::mem::take(&mut self.coords);
        self.set_geometry(Geometry::Multipoint(Multipoint {
            has_z: points.iter().any(|c| c.z.is_some()),
            has_m: points.iter().any(|c| c.m.is_some()),
            points,
            spatial_reference: None,
        }))
    }

    fn linestring_begin(&mut self, tagged: bool, size: usize, _idx: usize) -> GzResult<()> {
        if tagged {
            self.kind = Kind::Line;
            self.parts.clear();
        }
        self.coords.clear();
        self.coords.reserve(size.min(1 << 16));
        Ok(())
    }

    fn linestring_end(&mut self, tagged: bool, _idx: usize) -> GzResult<()> {
        let mut part = std::mem::take(&mut self.coords);
        if self.in_polygon {
            let area = ring_signed_area(&part);
            let exterior = self.ring_index == 0;
            // Esri: exterior rings clockwise (negative area), holes counter-clockwise.
            if (exterior && area > 0.0) || (!exterior && area < 0.0) {
                part.reverse();
            }
            self.ring_index += 1;
        }
        self.parts.push(part);
        if tagged && self.kind == Kind::Line {
            self.finish_polyline()?;
        }
        Ok(())
    }

    fn multilinestring_begin(&mut self, _size: usize, _idx: usize) -> GzResult<()> {
        self.kind = Kind::MultiLine;
        self.parts.clear();
        Ok(())
    }

    fn multilinestring_end(&mut self, _idx: usize) -> GzResult<()> {
        self.finish_polyline()
    }

    fn polygon_begin(&mut self, tagged: bool, _size: usize, _idx: usize) -> GzResult<()> {
        if tagged {
            self.kind = Kind::Polygon;
            self.parts.clear();
        }
        self.in_polygon = true;
        self.ring_index = 0;
        Ok(())
    }

    fn polygon_end(&mut self, tagged: bool, _idx: usize) -> GzResult<()> {
        self.in_polygon = false;
        if tagged && self.kind == Kind::Polygon {
            self.finish_polygon()?;
        }
        Ok(())
    }

    fn multipolygon_begin(&mut self, _size: usize, _idx: usize) -> GzResult<()> {
        self.kind = Kind::MultiPolygon;
        self.parts.clear();
        Ok(())
    }

    fn multipolygon_end(&mut self, _idx: usize) -> GzResult<()> {
        self.finish_polygon()
    }

    fn geometrycollection_begin(&mut self, _size: usize, _idx: usize) -> GzResult<()> {
        Err(self.unsupported("a geometry collection"))
    }

    fn circularstring_begin(&mut self, _size: usize, _idx: usize) -> GzResult<()> {
        Err(self.unsupported("a circular string"))
    }

    fn compoundcurve_begin(&mut self, _size: usize, _idx: usize) -> GzResult<()> {
        Err(self.unsupported("a compound curve"))
    }

    fn curvepolygon_begin(&mut self, _size: usize, _idx: usize) -> GzResult<()> {
        Err(self.unsupported("a curve polygon"))
    }

    fn multicurve_begin(&mut self, _size: usize, _idx: usize) -> GzResult<()> {
        Err(self.unsupported("a multicurve"))
    }

    fn multisurface_begin(&mut self, _size: usize, _idx: usize) -> GzResult<()> {
        Err(self.unsupported("a multisurface"))
    }

    fn triangle_begin(&mut self, _tagged: bool, _size: usize, _idx: usize) -> GzResult<()> {
        Err(self.unsupported("a triangle"))
    }

    fn polyhedralsurface_begin(&mut self, _size: usize, _idx: usize) -> GzResult<()> {
        Err(self.unsupported("a polyhedral surface"))
    }

    fn tin_begin(&mut self, _size: usize, _idx: usize) -> GzResult<()> {
        Err(self.unsupported("a TIN"))
    }
}

impl FeatureSetBuilder {
    /// The collected parts and whether any vertex has Z / M.
    fn take_parts(&mut self) -> (Vec<Vec<Coord>>, bool, bool) {
        let parts = std::mem::take(&mut self.parts);
        let z = parts.iter().flatten().any(|c| c.z.is_some());
        let m = parts.iter().flatten().any(|c| c.m.is_some());
        (parts, z, m)
    }

    fn finish_polyline(&mut self) -> GzResult<()> {
        let (paths, has_z, has_m) = self.take_parts();
        self.set_geometry(Geometry::Polyline(Polyline {
            has_z,
            has_m,
            paths,
            curve_paths: None,
            spatial_reference: None,
        }))
    }

    fn finish_polygon(&mut self) -> GzResult<()> {
        let (rings, has_z, has_m) = self.take_parts();
        self.set_geometry(Geometry::Polygon(Polygon {
            has_z,
            has_m,
            rings,
            curve_rings: None,
            spatial_reference: None,
        }))
    }

    fn column(&mut self, name: &str, kind: ColKind, len: u32) {
        match self.columns.get_mut(name) {
            Some((k, l)) => {
                *k = k.merge(kind);
                *l = (*l).max(len);
            }
            None => {
                self.columns.insert(name.to_string(), (kind, len));
            }
        }
    }
}

fn int_kind(v: i64) -> ColKind {
    if i16::try_from(v).is_ok() {
        ColKind::Small
    } else if i32::try_from(v).is_ok() {
        ColKind::Int
    } else {
        ColKind::Big
    }
}

impl PropertyProcessor for FeatureSetBuilder {
    fn property(&mut self, _idx: usize, name: &str, value: &ColumnValue<'_>) -> GzResult<bool> {
        let (v, kind, len) = match value {
            ColumnValue::Byte(v) => (AttrValue::Int((*v).into()), ColKind::Small, 0),
            ColumnValue::UByte(v) => (AttrValue::Int((*v).into()), ColKind::Small, 0),
            ColumnValue::Bool(v) => (AttrValue::Int((*v).into()), ColKind::Small, 0),
            ColumnValue::Short(v) => (AttrValue::Int((*v).into()), ColKind::Small, 0),
            ColumnValue::UShort(v) => (AttrValue::Int((*v).into()), int_kind((*v).into()), 0),
            ColumnValue::Int(v) => (AttrValue::Int((*v).into()), int_kind((*v).into()), 0),
            ColumnValue::UInt(v) => (AttrValue::Int((*v).into()), int_kind((*v).into()), 0),
            ColumnValue::Long(v) => (AttrValue::Int(*v), int_kind(*v), 0),
            ColumnValue::ULong(v) => match i64::try_from(*v) {
                Ok(i) => (AttrValue::Int(i), int_kind(i), 0),
                Err(_) => (AttrValue::String(v.to_string()), ColKind::Text, 20),
            },
            ColumnValue::Float(v) => (AttrValue::Float((*v).into()), ColKind::Single, 0),
            ColumnValue::Double(v) => (AttrValue::Float(*v), ColKind::Double, 0),
            ColumnValue::String(s) | ColumnValue::Json(s) => (
                AttrValue::String((*s).to_string()),
                ColKind::Text,
                s.chars().count() as u32,
            ),
            ColumnValue::DateTime(s) => match parse_datetime(s) {
                Some(ms) => (AttrValue::Int(ms), ColKind::Date, 0),
                None => (
                    AttrValue::String((*s).to_string()),
                    ColKind::Text,
                    s.chars().count() as u32,
                ),
            },
            ColumnValue::Binary(b) => {
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                let n = hex.len() as u32;
                (AttrValue::String(hex), ColKind::Blob, n)
            }
        };
        self.column(name, kind, len);
        self.attrs.insert(name.to_string(), v);
        Ok(false)
    }
}

fn parse_datetime(s: &str) -> Option<i64> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M:%S%.f",
    ] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(n.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc().timestamp_millis())
}

impl FeatureProcessor for FeatureSetBuilder {
    fn feature_begin(&mut self, idx: u64) -> GzResult<()> {
        self.feature_index = idx;
        self.attrs = Attributes::new();
        self.geometry = None;
        self.kind = Kind::None;
        Ok(())
    }

    fn feature_end(&mut self, _idx: u64) -> GzResult<()> {
        self.saw_multi |= matches!(self.geometry, Some(Geometry::Multipoint(_)));
        let f = Feature {
            attributes: std::mem::take(&mut self.attrs),
            geometry: self.geometry.take(),
        };
        self.fs.features.push(f);
        Ok(())
    }
}

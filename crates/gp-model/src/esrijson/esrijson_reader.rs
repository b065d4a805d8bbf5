//! Esri JSON as a geozero source.

use std::io::Read;

use geozero::error::{GeozeroError, Result as GzResult};
use geozero::{
    ColumnValue, CoordDimensions, FeatureProcessor, GeomProcessor, GeozeroDatasource,
    GeozeroGeometry,
};

use crate::featureset::FeatureSet;
use crate::fields::{AttrValue, FieldType};
use crate::geometry::{Coord, DEFAULT_DENSIFY_ANGLE, Geometry, ring_signed_area};

/// Esri JSON text (a feature set) as a geozero datasource.
#[derive(Debug)]
pub struct EsriJson<'a>(pub &'a str);

/// An Esri JSON feature set read from a reader, as a geozero datasource. The
/// document is parsed with serde straight into typed values.
#[derive(Debug)]
pub struct EsriJsonReader<R: Read>(pub R);

impl GeozeroDatasource for EsriJson<'_> {
    fn process<P: FeatureProcessor>(&mut self, processor: &mut P) -> GzResult<()> {
        let mut fs = FeatureSet::from_json(self.0).map_err(to_gz)?;
        fs.process(processor)
    }
}

impl<R: Read> GeozeroDatasource for EsriJsonReader<R> {
    fn process<P: FeatureProcessor>(&mut self, processor: &mut P) -> GzResult<()> {
        let mut fs = FeatureSet::from_reader(&mut self.0).map_err(to_gz)?;
        fs.process(processor)
    }
}

fn to_gz(e: crate::Error) -> GeozeroError {
    GeozeroError::Dataset(e.to_string())
}

impl GeozeroDatasource for FeatureSet {
    fn process<P: FeatureProcessor>(&mut self, processor: &mut P) -> GzResult<()> {
        process_feature_set(self, processor)
    }
}

/// Streams a feature set through a geozero processor.
///
/// Property indices count the properties emitted for the feature (as geozero's text
/// writers expect). Values are emitted with the width of their Esri field type (SmallInteger as `Short`, Integer as `Int`, Single as
/// `Float`, Date as an RFC 3339 `DateTime`, text fields as `String`); `null`s are
/// not emitted.
pub fn process_feature_set<P: FeatureProcessor>(fs: &FeatureSet, p: &mut P) -> GzResult<()> {
    let srid = fs.spatial_reference.as_ref().and_then(|s| s.epsg());
    let types: std::collections::HashMap<&str, &FieldType> = fs
        .fields
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|f| (f.name.as_str(), &f.field_type))
        .collect();
    p.dataset_begin(None)?;
    for (idx, feature) in fs.features.iter().enumerate() {
        let idx = idx as u64;
        p.feature_begin(idx)?;
        p.properties_begin()?;
        let mut i = 0usize;
        for (name, value) in &feature.attributes {
            let mut text = String::new();
            let Some(cv) = column_value(value, types.get(name.as_str()).copied(), &mut text) else {
                continue;
            };
            if p.property(i, name, &cv)? {
                break;
            }
            i += 1;
        }
        p.properties_end()?;
        if let Some(g) = &feature.geometry {
            p.geometry_begin()?;
            let own = g.spatial_reference().and_then(|s| s.epsg());
            p.srid(own.or(srid))?;
            process_geometry(g, 0, p)?;
            p.geometry_end()?;
        }
        p.feature_end(idx)?;
    }
    p.dataset_end()
}

/// The geozero value of an attribute, shaped by its Esri field type (SmallInteger as
/// `Short`, Integer as `Int`, Single as `Float`, Date as an RFC 3339 `DateTime`, text
/// fields as `String`); `text` holds any string that has to be made. `None` for null.
pub fn column_value<'a>(
    v: &'a AttrValue,
    ty: Option<&FieldType>,
    text: &'a mut String,
) -> Option<ColumnValue<'a>> {
    use FieldType as T;
    Some(match (ty, v) {
        (_, AttrValue::Null) => return None,
        (Some(T::Date), AttrValue::Int(ms)) => match chrono::DateTime::from_timestamp_millis(*ms) {
            Some(d) => {
                *text = d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                ColumnValue::DateTime(text)
            }
            None => ColumnValue::Long(*ms),
        },
        (Some(T::SmallInteger), AttrValue::Int(i)) if i16::try_from(*i).is_ok() => {
            ColumnValue::Short(*i as i16)
        }
        (Some(T::Integer), AttrValue::Int(i)) if i32::try_from(*i).is_ok() => {
            ColumnValue::Int(*i as i32)
        }
        (Some(T::Single), AttrValue::Float(f)) => ColumnValue::Float(*f as f32),
        (Some(T::Single), AttrValue::Int(i)) => ColumnValue::Float(*i as f32),
        (Some(T::Double), AttrValue::Int(i)) => ColumnValue::Double(*i as f64),
        (Some(T::String | T::Guid | T::GlobalId | T::Xml), other)
            if !matches!(other, AttrValue::String(_)) =>
        {
            *text = match other {
                AttrValue::Json(j) => j.to_string(),
                AttrValue::Bool(b) => b.to_string(),
                AttrValue::Int(i) => i.to_string(),
                AttrValue::UInt(u) => u.to_string(),
                AttrValue::Float(f) => f.to_string(),
                _ => String::new(),
            };
            ColumnValue::String(text)
        }
        (_, AttrValue::Bool(b)) => ColumnValue::Bool(*b),
        (_, AttrValue::Int(i)) => ColumnValue::Long(*i),
        (_, AttrValue::UInt(u)) => ColumnValue::ULong(*u),
        (_, AttrValue::Float(f)) => ColumnValue::Double(*f),
        (_, AttrValue::String(s)) => ColumnValue::String(s),
        (_, AttrValue::Json(j)) => {
            *text = j.to_string();
            ColumnValue::Json(text)
        }
    })
}

impl GeozeroGeometry for Geometry {
    fn process_geom<P: GeomProcessor>(&self, processor: &mut P) -> GzResult<()> {
        process_geometry(self, 0, processor)
    }

    fn dims(&self) -> CoordDimensions {
        let d = Geometry::dims(self);
        CoordDimensions {
            z: d.has_z,
            m: d.has_m,
            t: false,
            tm: false,
        }
    }

    fn srid(&self) -> Option<i32> {
        self.spatial_reference().and_then(|s| s.epsg())
    }
}

fn coord<P: GeomProcessor>(c: &Coord, i: usize, p: &mut P) -> GzResult<()> {
    if p.multi_dim() {
        // Only the dimensions the processor asked for.
        let d = p.dimensions();
        let z = if d.z { c.z } else { None };
        let m = if d.m { c.m } else { None };
        p.coordinate(c.x, c.y, z, m, None, None, i)
    } else {
        p.xy(c.x, c.y, i)
    }
}

fn line<P: GeomProcessor>(pts: &[Coord], tagged: bool, idx: usize, p: &mut P) -> GzResult<()> {
    p.linestring_begin(tagged, pts.len(), idx)?;
    for (i, c) in pts.iter().enumerate() {
        coord(c, i, p)?;
    }
    p.linestring_end(tagged, idx)
}

/// Even-odd point in ring test.
fn ring_contains(ring: &[Coord], x: f64, y: f64) -> bool {
    let mut inside = false;
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (&ring[i], &ring[j]);
        if (a.y > y) != (b.y > y) && x < (b.x - a.x) * (y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Groups Esri rings into polygons the way GDAL does: a ring inside an odd number of
/// other rings is a hole of the smallest ring around it. For valid Esri data (exterior
/// rings clockwise, holes counter-clockwise) this is the same as Esri's orientation
/// rule; it also reads data whose writers ignored orientation.
pub fn group_rings<R: AsRef<[Coord]>>(rings: &[R]) -> Vec<Vec<&R>> {
    let rings: Vec<(&R, f64)> = rings
        .iter()
        .filter(|r| !r.as_ref().is_empty())
        .map(|r| (r, ring_signed_area(r.as_ref())))
        .collect();
    if rings.len() == 1 {
        return vec![vec![rings[0].0]];
    }
    let contains = |outer: &R, inner: &R| {
        let outer = outer.as_ref();
        inner
            .as_ref()
            .iter()
            .any(|c| ring_contains(outer, c.x, c.y))
    };
    let is_hole: Vec<bool> = rings
        .iter()
        .enumerate()
        .map(|(i, (r, a))| {
            let depth = rings
                .iter()
                .enumerate()
                .filter(|(j, (o, oa))| *j != i && oa.abs() > a.abs() && contains(o, r))
                .count();
            depth % 2 == 1
        })
        .collect();
    let mut polys: Vec<Vec<&R>> = Vec::new();
    let mut shell_area = Vec::new();
    for ((r, a), hole) in rings.iter().zip(&is_hole) {
        if !hole {
            polys.push(vec![*r]);
            shell_area.push(a.abs());
        }
    }
    for ((r, _), hole) in rings.iter().zip(&is_hole) {
        if !hole {
            continue;
        }
        // The smallest exterior that contains the hole.
        let best = polys
            .iter()
            .enumerate()
            .filter(|(_, p)| contains(p[0], r))
            .min_by(|(i, _), (j, _)| shell_area[*i].total_cmp(&shell_area[*j]))
            .map(|(i, _)| i);
        match best {
            Some(i) => polys[i].push(*r),
            None => {
                polys.push(vec![*r]);
                shell_area.push(0.0);
            }
        }
    }
    polys
}

/// Processes one geometry with geozero events (curves are densified).
pub fn process_geometry<P: GeomProcessor>(g: &Geometry, idx: usize, p: &mut P) -> GzResult<()> {
    match g {
        Geometry::Point(pt) => match &pt.coord {
            Some(c) => {
                p.point_begin(idx)?;
                coord(c, 0, p)?;
                p.point_end(idx)
            }
            None => p.empty_point(idx),
        },
        Geometry::Multipoint(mp) => {
            p.multipoint_begin(mp.points.len(), idx)?;
            for (i, c) in mp.points.iter().enumerate() {
                coord(c, i, p)?;
            }
            p.multipoint_end(idx)
        }
        Geometry::Polyline(pl) => {
            let paths = pl.linear_paths(DEFAULT_DENSIFY_ANGLE);
            if paths.len() == 1 {
                line(&paths[0], true, idx, p)
            } else {
                p.multilinestring_begin(paths.len(), idx)?;
                for (i, path) in paths.iter().enumerate() {
                    line(path, false, i, p)?;
                }
                p.multilinestring_end(idx)
            }
        }
        Geometry::Polygon(pg) => {
            let rings = pg.linear_rings(DEFAULT_DENSIFY_ANGLE);
            let polys = group_rings(&rings);
            if polys.len() == 1 {
                p.polygon_begin(true, polys[0].len(), idx)?;
                for (i, r) in polys[0].iter().enumerate() {
                    line(r, false, i, p)?;
                }
                p.polygon_end(true, idx)
            } else {
                p.multipolygon_begin(polys.len(), idx)?;
                for (j, poly) in polys.iter().enumerate() {
                    p.polygon_begin(false, poly.len(), j)?;
                    for (i, r) in poly.iter().enumerate() {
                        line(r, false, i, p)?;
                    }
                    p.polygon_end(false, j)?;
                }
                p.multipolygon_end(idx)
            }
        }
        Geometry::Envelope(e) => match e.bounds() {
            Some([x0, y0, x1, y1]) => {
                let ring = [
                    Coord::xy(x0, y0),
                    Coord::xy(x0, y1),
                    Coord::xy(x1, y1),
                    Coord::xy(x1, y0),
                    Coord::xy(x0, y0),
                ];
                p.polygon_begin(true, 1, idx)?;
                line(&ring, false, 0, p)?;
                p.polygon_end(true, idx)
            }
            None => {
                p.polygon_begin(true, 0, idx)?;
                p.polygon_end(true, idx)
            }
        },
    }
}
